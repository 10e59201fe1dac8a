#pragma once
// Per-column reductions with a fixed summation order. Eigen's vectorised reductions on a
// column block depend on the block's memory alignment, i.e. on the column's position in the
// batch; these plain loops make a trajectory's result independent of batch size and order.
#include "dlogp/core/types.hpp"

namespace dlogp::detail {

/// out(j) = sum_i A(i, j) * B(i, j), summed in increasing i.
template <class Scalar>
void column_dots(const matrix<Scalar>& A, const matrix<Scalar>& B, vector<Scalar>& out) {
  out.resize(A.cols());
  const long D = A.rows();
  for (long j = 0; j < A.cols(); ++j) {
    const Scalar* a = A.data() + j * D;
    const Scalar* b = B.data() + j * D;
    Scalar acc = 0;
    for (long i = 0; i < D; ++i) acc += a[i] * b[i];
    out(j) = acc;
  }
}

template <class Scalar>
void column_squared_norms(const matrix<Scalar>& A, vector<Scalar>& out) {
  column_dots(A, A, out);
}

/// sum_i a[i] b[i] in increasing i, for raw contiguous data.
template <class Scalar>
Scalar dot_fixed_order(const Scalar* a, const Scalar* b, long n) {
  Scalar acc = 0;
  for (long i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

}  // namespace dlogp::detail

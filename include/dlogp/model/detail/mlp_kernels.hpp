#pragma once
// Building blocks of the MLP forward pass that must give the same bits for a column whatever
// batch it is evaluated in (rule 4 of the determinism notes).
//
// Matrix products: every product is one weight matrix times ONE column (Eigen's GEMV) into a
// per-thread buffer. Measured on this project's machine (Eigen 3.4, g++ -O2):
//  - a batched GEMM gives different bits for one column than for several (Eigen switches to
//    GEMV), and splits over OpenMP threads with a thread-dependent blocking (depth 1024: the
//    2-thread result differs from the 1-thread one);
//  - GEMV results do not depend on the alignment of the input or output (checked offsets 0..8);
//  - speed, 256 x 256 weights (in L2): GEMV per column 11 GFLOP/s (float), GEMM on 256 columns
//    11, GEMM on panels of 4 columns 8. Only weights that do not fit in L2 (1024 x 1024 float)
//    make GEMV slower than a full GEMM (6 vs 12 GFLOP/s).
// So the network runs column by column, which also makes batches of one (adaptive solvers)
// as fast per column as big batches.
#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dlogp/core/types.hpp"

namespace dlogp::detail {

/// y (rows(W)) = W x (cols(W)); never parallelised, bit-identical wherever x and y live.
template <class S>
inline void mlp_gemv(const matrix<S>& W, const S* x, S* y) {
  Eigen::Map<vector<S>>(y, W.rows()).noalias() = W * Eigen::Map<const vector<S>>(x, W.cols());
}

/// silu(a) = a sigmoid(a), written with std::exp on scalars (Eigen's array exp takes a SIMD or
/// a scalar path depending on the position, which would change the last bit).
template <class S>
inline S mlp_sigmoid(S a) {
  return S(1) / (S(1) + std::exp(-a));
}
template <class S>
inline S mlp_silu(S a) {
  return a * mlp_sigmoid(a);
}
/// d silu / da = sigmoid(a) (1 + a (1 - sigmoid(a))).
template <class S>
inline S mlp_silu_derivative(S a) {
  const S sg = mlp_sigmoid(a);
  return sg * (S(1) + a * (S(1) - sg));
}

/// Grows (never shrinks) a flat buffer: after the first calls of a given size a forward pass
/// allocates nothing.
template <class S>
S* mlp_reserve(std::vector<S>& v, std::size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

/// Per-thread scratch space of the MLP (the model itself is immutable and shared by threads).
template <class S>
struct mlp_workspace {
  std::vector<double> embedding;
  std::vector<S> time_features, layer_shift, gain;  // per call (depend on t only)
  std::vector<S> h, a, dh, da;          // one column's activations and tangents, ping-pong
  std::vector<S> pre;                   // one column's pre-activations of every layer
  std::vector<S> tangent0, tangent1;    // H x D Jacobians for the trace
  std::vector<S> base_coef, base_in, base_out;  // Gaussian base: per-call coefficients, scratch
  S base_alpha = 0;
  std::uint64_t cached_id = 0;  // which model (never 0) and t the per-call vectors belong to
  double cached_t = 0;
};

template <class S>
mlp_workspace<S>& mlp_thread_workspace() {
  static thread_local mlp_workspace<S> ws;
  return ws;
}

}  // namespace dlogp::detail

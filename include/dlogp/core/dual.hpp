#pragma once
// Forward-mode dual numbers v + d * epsilon (epsilon^2 = 0): evaluating a function on
// dual(x, u) gives f(x) in .v and the directional derivative f'(x) u in .d. Used to get
// exact Jacobian-vector products of a score written as a template on its scalar type
// (docs/notation.md §6). Eigen matrices of duals work (products, array functions) through the
// NumTraits / ScalarBinaryOpTraits specialisations at the bottom.
#include <Eigen/Core>
#include <cmath>
#include <concepts>
#include <limits>
#include <type_traits>

namespace dlogp {

template <class T>
struct dual {
  T v;  ///< value
  T d;  ///< derivative along the seeded direction

  constexpr dual() : v(0), d(0) {}
  /// A constant: zero derivative. Implicit, so literals and plain scalars mix with duals.
  template <class U>
    requires std::is_arithmetic_v<U> || std::same_as<U, T>
  constexpr dual(U value) : v(T(value)), d(0) {}
  constexpr dual(T value, T derivative) : v(value), d(derivative) {}

  constexpr dual& operator+=(const dual& o) { v += o.v; d += o.d; return *this; }
  constexpr dual& operator-=(const dual& o) { v -= o.v; d -= o.d; return *this; }
  constexpr dual& operator*=(const dual& o) { d = d * o.v + v * o.d; v *= o.v; return *this; }
  constexpr dual& operator/=(const dual& o) {
    const T q = v / o.v;
    d = (d - q * o.d) / o.v;
    v = q;
    return *this;
  }
  constexpr dual& operator+=(const T& s) { v += s; return *this; }
  constexpr dual& operator-=(const T& s) { v -= s; return *this; }
  constexpr dual& operator*=(const T& s) { v *= s; d *= s; return *this; }
  constexpr dual& operator/=(const T& s) { v /= s; d /= s; return *this; }
};

// The scalar operand is a non-deduced context so `x * 2` works for dual<double> and
// dual<float> alike (2 converts to T).
template <class T>
using dual_scalar_t = std::type_identity_t<T>;

template <class T> constexpr dual<T> operator+(const dual<T>& a) { return a; }
template <class T> constexpr dual<T> operator-(const dual<T>& a) { return {-a.v, -a.d}; }

template <class T> constexpr dual<T> operator+(dual<T> a, const dual<T>& b) { return a += b; }
template <class T> constexpr dual<T> operator-(dual<T> a, const dual<T>& b) { return a -= b; }
template <class T> constexpr dual<T> operator*(dual<T> a, const dual<T>& b) { return a *= b; }
template <class T> constexpr dual<T> operator/(dual<T> a, const dual<T>& b) { return a /= b; }

template <class T> constexpr dual<T> operator+(dual<T> a, const dual_scalar_t<T>& s) { return a += s; }
template <class T> constexpr dual<T> operator-(dual<T> a, const dual_scalar_t<T>& s) { return a -= s; }
template <class T> constexpr dual<T> operator*(dual<T> a, const dual_scalar_t<T>& s) { return a *= s; }
template <class T> constexpr dual<T> operator/(dual<T> a, const dual_scalar_t<T>& s) { return a /= s; }

template <class T> constexpr dual<T> operator+(const dual_scalar_t<T>& s, const dual<T>& a) { return {s + a.v, a.d}; }
template <class T> constexpr dual<T> operator-(const dual_scalar_t<T>& s, const dual<T>& a) { return {s - a.v, -a.d}; }
template <class T> constexpr dual<T> operator*(const dual_scalar_t<T>& s, const dual<T>& a) { return {s * a.v, s * a.d}; }
template <class T> constexpr dual<T> operator/(const dual_scalar_t<T>& s, const dual<T>& a) {
  const T q = s / a.v;
  return {q, -q * a.d / a.v};
}

// Comparisons look at the value only (branches in a model follow the value path).
#define DLOGP_DUAL_COMPARISON(OP)                                                             \
  template <class T> constexpr bool operator OP(const dual<T>& a, const dual<T>& b) {         \
    return a.v OP b.v;                                                                        \
  }                                                                                           \
  template <class T> constexpr bool operator OP(const dual<T>& a, const dual_scalar_t<T>& s) { \
    return a.v OP s;                                                                          \
  }                                                                                           \
  template <class T> constexpr bool operator OP(const dual_scalar_t<T>& s, const dual<T>& a) { \
    return s OP a.v;                                                                          \
  }
DLOGP_DUAL_COMPARISON(==)
DLOGP_DUAL_COMPARISON(!=)
DLOGP_DUAL_COMPARISON(<)
DLOGP_DUAL_COMPARISON(<=)
DLOGP_DUAL_COMPARISON(>)
DLOGP_DUAL_COMPARISON(>=)
#undef DLOGP_DUAL_COMPARISON

// Elementary functions, found by argument-dependent lookup (so `using std::exp; exp(x)` and
// Eigen's numext functions pick them up).
template <class T> dual<T> exp(const dual<T>& a) {
  const T e = std::exp(a.v);
  return {e, e * a.d};
}
template <class T> dual<T> expm1(const dual<T>& a) { return {std::expm1(a.v), std::exp(a.v) * a.d}; }
template <class T> dual<T> log(const dual<T>& a) { return {std::log(a.v), a.d / a.v}; }
template <class T> dual<T> log1p(const dual<T>& a) { return {std::log1p(a.v), a.d / (T(1) + a.v)}; }
template <class T> dual<T> sqrt(const dual<T>& a) {
  const T r = std::sqrt(a.v);
  return {r, a.d / (T(2) * r)};
}
template <class T> dual<T> tanh(const dual<T>& a) {
  const T th = std::tanh(a.v);
  return {th, (T(1) - th * th) * a.d};
}
template <class T> dual<T> sin(const dual<T>& a) { return {std::sin(a.v), std::cos(a.v) * a.d}; }
template <class T> dual<T> cos(const dual<T>& a) { return {std::cos(a.v), -std::sin(a.v) * a.d}; }
/// x^p for a constant exponent: derivative p x^(p-1) (written so x = 0, p >= 1 stays finite).
template <class T> dual<T> pow(const dual<T>& a, const dual_scalar_t<T>& p) {
  const T r = std::pow(a.v, p);
  return {r, p * std::pow(a.v, p - T(1)) * a.d};
}
/// x^y with both varying: d = x^y (y' log x + y x'/x); needs x > 0 where y' != 0.
template <class T> dual<T> pow(const dual<T>& a, const dual<T>& b) {
  const T r = std::pow(a.v, b.v);
  const T dx = b.v * std::pow(a.v, b.v - T(1)) * a.d;
  return {r, b.d == T(0) ? dx : dx + r * std::log(a.v) * b.d};
}
template <class T> dual<T> pow(const dual_scalar_t<T>& s, const dual<T>& b) {
  const T r = std::pow(s, b.v);
  return {r, r * std::log(s) * b.d};
}
/// |x|; at x = 0 the derivative of the right branch (+1) is taken.
template <class T> dual<T> abs(const dual<T>& a) { return a.v < T(0) ? -a : a; }
/// Value-wise max / min; on ties the first argument (and its derivative) wins.
template <class T> dual<T> max(const dual<T>& a, const dual<T>& b) { return b.v > a.v ? b : a; }
template <class T> dual<T> min(const dual<T>& a, const dual<T>& b) { return b.v < a.v ? b : a; }
template <class T> dual<T> max(const dual<T>& a, const dual_scalar_t<T>& s) { return max(a, dual<T>(s)); }
template <class T> dual<T> max(const dual_scalar_t<T>& s, const dual<T>& a) { return max(dual<T>(s), a); }
template <class T> dual<T> min(const dual<T>& a, const dual_scalar_t<T>& s) { return min(a, dual<T>(s)); }
template <class T> dual<T> min(const dual_scalar_t<T>& s, const dual<T>& a) { return min(dual<T>(s), a); }

template <class T> bool isfinite(const dual<T>& a) { return std::isfinite(a.v) && std::isfinite(a.d); }
template <class T> bool isnan(const dual<T>& a) { return std::isnan(a.v) || std::isnan(a.d); }
template <class T> bool isinf(const dual<T>& a) { return std::isinf(a.v) || std::isinf(a.d); }

}  // namespace dlogp

namespace Eigen {

template <class T>
struct NumTraits<dlogp::dual<T>> : GenericNumTraits<dlogp::dual<T>> {
  using Real = dlogp::dual<T>;
  using NonInteger = dlogp::dual<T>;
  using Nested = dlogp::dual<T>;
  using Literal = typename NumTraits<T>::Literal;
  enum {
    IsComplex = 0,
    IsInteger = 0,
    IsSigned = 1,
    RequireInitialization = 1,
    ReadCost = 2 * NumTraits<T>::ReadCost,
    AddCost = 2 * NumTraits<T>::AddCost,
    MulCost = 3 * NumTraits<T>::MulCost + NumTraits<T>::AddCost,
  };
  static inline Real epsilon() { return Real(NumTraits<T>::epsilon()); }
  static inline Real dummy_precision() { return Real(NumTraits<T>::dummy_precision()); }
  static inline Real highest() { return Real(NumTraits<T>::highest()); }
  static inline Real lowest() { return Real(NumTraits<T>::lowest()); }
  static inline Real infinity() { return Real(NumTraits<T>::infinity()); }
  static inline Real quiet_NaN() { return Real(NumTraits<T>::quiet_NaN()); }
  static inline int digits10() { return NumTraits<T>::digits10(); }
  static inline int digits() { return NumTraits<T>::digits(); }
};

// Mixed dual / plain-scalar expressions (e.g. matrix<double> * matrix<dual<double>>,
// S(2) * dual_matrix) return duals.
template <class T, class BinaryOp>
struct ScalarBinaryOpTraits<dlogp::dual<T>, T, BinaryOp> {
  using ReturnType = dlogp::dual<T>;
};
template <class T, class BinaryOp>
struct ScalarBinaryOpTraits<T, dlogp::dual<T>, BinaryOp> {
  using ReturnType = dlogp::dual<T>;
};

namespace internal {

// Eigen's blocked GEMM kernel cannot mix a real and a dual operand, so plain x dual matrix
// products (a model's `W * X` with W double and X dual) go through this simple kernel
// instead. Each entry is summed in increasing k, so a column's result does not depend on
// the number of columns.
template <class Index, class LhsScalar, int LhsOrder, class RhsScalar, int RhsOrder,
          int ResInnerStride>
struct dlogp_mixed_dual_gemm {
  using ResScalar = typename ScalarBinaryOpTraits<LhsScalar, RhsScalar>::ReturnType;
  using Traits = gebp_traits<LhsScalar, RhsScalar>;
  static void run(Index rows, Index cols, Index depth, const LhsScalar* lhs_ptr, Index lhs_stride,
                  const RhsScalar* rhs_ptr, Index rhs_stride, ResScalar* res_ptr, Index res_incr,
                  Index res_stride, ResScalar alpha, level3_blocking<LhsScalar, RhsScalar>&,
                  GemmParallelInfo<Index>* = 0) {
    const_blas_data_mapper<LhsScalar, Index, LhsOrder> lhs(lhs_ptr, lhs_stride);
    const_blas_data_mapper<RhsScalar, Index, RhsOrder> rhs(rhs_ptr, rhs_stride);
    blas_data_mapper<ResScalar, Index, ColMajor, Unaligned, ResInnerStride> res(res_ptr, res_stride,
                                                                                res_incr);
    for (Index j = 0; j < cols; ++j)
      for (Index i = 0; i < rows; ++i) {
        ResScalar acc(0);
        for (Index k = 0; k < depth; ++k) acc += lhs(i, k) * rhs(k, j);
        res(i, j) += alpha * acc;
      }
  }
};

template <typename Index, class T, int LhsOrder, bool ConjLhs, int RhsOrder, bool ConjRhs,
          int ResInnerStride>
struct general_matrix_matrix_product<Index, T, LhsOrder, ConjLhs, dlogp::dual<T>, RhsOrder, ConjRhs,
                                     ColMajor, ResInnerStride>
    : dlogp_mixed_dual_gemm<Index, T, LhsOrder, dlogp::dual<T>, RhsOrder, ResInnerStride> {};

template <typename Index, class T, int LhsOrder, bool ConjLhs, int RhsOrder, bool ConjRhs,
          int ResInnerStride>
struct general_matrix_matrix_product<Index, dlogp::dual<T>, LhsOrder, ConjLhs, T, RhsOrder, ConjRhs,
                                     ColMajor, ResInnerStride>
    : dlogp_mixed_dual_gemm<Index, dlogp::dual<T>, LhsOrder, T, RhsOrder, ResInnerStride> {};

}  // namespace internal
}  // namespace Eigen

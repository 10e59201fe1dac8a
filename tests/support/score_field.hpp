#pragma once
// The divergence tests' score fields with analytic Jacobians and divergences, and models over
// them that each expose one capability (score only, dual numbers, JVP, VJP, VJP blocks,
// Laplacian). Shared by tests/divergence/exact_test.cpp and hutchinson_test.cpp.
#include <cmath>

#include <dlogp/core/random.hpp>
#include <dlogp/divergence/divergence.hpp>

namespace dlogp::test::score_field {

template <class T> struct base_scalar { using type = T; };
template <class T> struct base_scalar<dual<T>> { using type = T; };

/// Test score fields with analytic Jacobians, written once on the scalar type:
///   linear:    s = -A x                                  (J = -A, A non-symmetric)
///   nonlinear: s_i = -c_i tanh(x_i) + sum_j B_ij sin(x_j) (J_ik = -c_i sech^2 x_i d_ik + B_ik cos x_k)
/// and div s = tr J (laplacian).
/// Plain loops (fixed order) so each column is independent of the batch.
struct field {
  long D = 1;
  bool linear = true;
  matrix<double> A, B;
  vector<double> c;

  template <class T>
  void apply(const matrix<T>& X, matrix<T>& S) const {
    using R = typename base_scalar<T>::type;
    using std::sin;
    using std::tanh;
    for (long j = 0; j < X.cols(); ++j)
      for (long i = 0; i < D; ++i) {
        T acc(0);
        if (linear) {
          for (long k = 0; k < D; ++k) acc -= R(A(i, k)) * X(k, j);
        } else {
          acc = R(-c(i)) * tanh(X(i, j));
          for (long k = 0; k < D; ++k) acc += R(B(i, k)) * sin(X(k, j));
        }
        S(i, j) = acc;
      }
  }
  matrix<double> jacobian(const vector<double>& x) const {
    if (linear) return -A;
    matrix<double> J(D, D);
    for (long i = 0; i < D; ++i)
      for (long k = 0; k < D; ++k) J(i, k) = B(i, k) * std::cos(x(k));
    for (long i = 0; i < D; ++i) {
      const double th = std::tanh(x(i));
      J(i, i) -= c(i) * (1 - th * th);
    }
    return J;
  }
  /// Entrywise bound on the terms making up J (before cancellation): the scale of the
  /// rounding error of a computed J, e.g. 1 - tanh^2 loses digits when |x| is large.
  matrix<double> jacobian_magnitude() const {
    matrix<double> M = linear ? A.cwiseAbs() : B.cwiseAbs();
    if (!linear)
      for (long i = 0; i < D; ++i) M(i, i) += c(i);
    return M;
  }
  template <class T>
  void jvp(const matrix<T>& X, const matrix<T>& V, matrix<T>& JV) const {
    for (long j = 0; j < X.cols(); ++j)
      for (long i = 0; i < D; ++i) {
        T acc(0);
        if (linear) {
          for (long k = 0; k < D; ++k) acc -= T(A(i, k)) * V(k, j);
        } else {
          const T th = std::tanh(X(i, j));
          acc = -T(c(i)) * (1 - th * th) * V(i, j);
          for (long k = 0; k < D; ++k) acc += T(B(i, k)) * std::cos(X(k, j)) * V(k, j);
        }
        JV(i, j) = acc;
      }
  }
  /// (J^T U) per column: (J^T u)_k = sum_i J_ik u_i, the same terms as jvp's, transposed.
  template <class T>
  void vjp(const matrix<T>& X, const matrix<T>& U, matrix<T>& JTU) const {
    for (long j = 0; j < X.cols(); ++j)
      for (long k = 0; k < D; ++k) {
        T acc(0);
        if (linear) {
          for (long i = 0; i < D; ++i) acc -= T(A(i, k)) * U(i, j);
        } else {
          const T th = std::tanh(X(k, j));
          acc = -T(c(k)) * (1 - th * th) * U(k, j);
          const T ck = std::cos(X(k, j));
          for (long i = 0; i < D; ++i) acc += T(B(i, k)) * ck * U(i, j);
        }
        JTU(k, j) = acc;
      }
  }
  template <class T>
  T laplacian(const matrix<T>& X, long j) const {
    T acc(0);
    for (long i = 0; i < D; ++i) {
      if (linear) {
        acc -= T(A(i, i));
      } else {
        const T th = std::tanh(X(i, j));
        acc += -T(c(i)) * (1 - th * th) + T(B(i, i)) * std::cos(X(i, j));
      }
    }
    return acc;
  }
};

inline field make_field(long D, bool linear, std::uint64_t seed = 2024) {
  random_stream rs(seed, std::uint64_t(D), purpose::user);
  std::uint64_t n = 0;
  field f;
  f.D = D;
  f.linear = linear;
  f.A.resize(D, D);
  f.B.resize(D, D);
  f.c.resize(D);
  for (long i = 0; i < D * D; ++i) f.A.data()[i] = rs.normal(n++);
  for (long i = 0; i < D * D; ++i) f.B.data()[i] = rs.normal(n++) / std::sqrt(double(D));
  for (long i = 0; i < D; ++i) f.c(i) = 0.5 + rs.uniform(n++);
  return f;
}

template <class S>
matrix<S> make_points(long D, long N, std::uint64_t seed) {
  random_stream rs(seed, 99, purpose::user);
  matrix<S> X(D, N);
  for (long i = 0; i < X.size(); ++i) X.data()[i] = S(1.5 * rs.normal(std::uint64_t(i)));
  return X;
}

// Models over the same field, each exposing one capability. `calls` counts evaluations of the
// model so the reported cost can be checked against them.
template <class Scalar>
struct fd_model {
  using scalar_type = Scalar;
  field f;
  mutable long calls = 0;
  long dimension() const { return f.D; }
  void score(double, const matrix<Scalar>& X, matrix<Scalar>& S) const {
    ++calls;
    f.apply(X, S);
  }
};

template <class Scalar>
struct dual_model {
  using scalar_type = Scalar;
  field f;
  mutable long calls = 0;
  long dimension() const { return f.D; }
  template <class T>
  void score(double, const matrix<T>& X, matrix<T>& S) const {
    ++calls;
    f.apply(X, S);
  }
};

template <class Scalar>
struct jvp_model : fd_model<Scalar> {
  void score_jvp(double, const matrix<Scalar>& X, const matrix<Scalar>& V, matrix<Scalar>& S,
                 matrix<Scalar>& JV) const {
    ++this->calls;
    this->f.apply(X, S);
    this->f.jvp(X, V, JV);
  }
};

/// Reverse mode: `calls` counts score_vjp calls (each a forward and a reverse pass).
template <class Scalar>
struct vjp_model : fd_model<Scalar> {
  void score_vjp(double, const matrix<Scalar>& X, const matrix<Scalar>& U, matrix<Scalar>& S,
                 matrix<Scalar>& JTU) const {
    ++this->calls;
    this->f.apply(X, S);
    this->f.vjp(X, U, JTU);
  }
};

/// Reverse mode with K cotangent blocks per call (one forward pass): `calls` counts calls.
template <class Scalar>
struct vjp_blocks_model : vjp_model<Scalar> {
  void score_vjp_blocks(double, const matrix<Scalar>& X, const matrix<Scalar>& U,
                        matrix<Scalar>& S, matrix<Scalar>& JTU) const {
    ++this->calls;
    this->f.apply(X, S);
    const long N = X.cols();
    JTU.resize(X.rows(), U.cols());
    matrix<Scalar> out(X.rows(), N);
    for (long k = 0; k < U.cols() / N; ++k) {
      this->f.vjp(X, matrix<Scalar>(U.middleCols(k * N, N)), out);
      JTU.middleCols(k * N, N) = out;
    }
  }
};

template <class Scalar>
struct laplacian_model : fd_model<Scalar> {
  void score_and_laplacian(double, const matrix<Scalar>& X, matrix<Scalar>& S,
                           vector<Scalar>& lap) const {
    ++this->calls;
    this->f.apply(X, S);
    for (long j = 0; j < X.cols(); ++j) lap(j) = this->f.laplacian(X, j);
  }
};

}  // namespace dlogp::test::score_field

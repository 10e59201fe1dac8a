#pragma once
// Internals of gaussian_mixture: the per-call "frame" (everything about p_t that is shared by
// all columns of one call: means alpha mu_k, inverse Cholesky factors of P_k, log-normalisers)
// and the per-column kernels. Kept separate so gaussian_mixture.hpp reads as the API.
//
// Determinism (docs/reproducibility.md, rules 3 and 6): every reduction over the dimension or
// over components runs in a fixed order, the same in every SIMD lane, exp and log come from
// core/vector_math.hpp (the same bits in scalar code and in lanes), contraction is pinned
// off, and a column only ever reads its own data and the frame, so its result does not depend
// on the batch it sits in.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>
#include <type_traits>
#include <vector>

#include "dlogp/core/lane_vector.hpp"
#include "dlogp/core/pinned_fp.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/core/vector_math.hpp"
#include "dlogp/error.hpp"

DLOGP_PINNED_FP_BEGIN
namespace dlogp {

/// How the component covariances of a gaussian_mixture are stored; the oracle uses the
/// cheapest exact path for each (isotropic P_k = (alpha^2 v_k + sigma^2) I needs no
/// factorisation, diagonal is elementwise, full uses a Cholesky factor per component).
enum class covariance_kind { isotropic, diagonal, full };

namespace detail::gmm {

/// v as an ostream prints a double by default (%g: six significant digits).
inline std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// The data of the mixture at t = 0, in double (what the constructors validated).
struct components_data {
  covariance_kind kind = covariance_kind::full;
  std::vector<double> weights;      // normalised
  std::vector<double> log_weights;  // log of the normalised weights
  matrix<double> means;             // D x K
  std::vector<double> variances;    // isotropic: K
  matrix<double> diagonals;         // diagonal: D x K
  std::vector<matrix<double>> covariances;  // full: K of D x D (exactly symmetric)

  long dim() const { return means.rows(); }
  long count() const { return means.cols(); }
};

/// Checks the time once per call and returns alpha(t), sigma^2(t).
template <class Process>
void time_coefficients(const Process& p, double t, double& alpha, double& sigma2) {
  // if/throw rather than require(): the message is only formatted when it is needed (this
  // runs on every call, and formatting costs more than a small model's evaluation).
  if (!(std::isfinite(t) && t >= 0))
    throw invalid_argument("gaussian_mixture: time must be finite and >= 0 (" + num(t) + ")");
  alpha = p.alpha(t);
  sigma2 = p.sigma2(t);
  if (!(std::isfinite(alpha) && std::isfinite(sigma2) && sigma2 >= 0))
    throw invalid_argument("gaussian_mixture: process gives alpha = " + num(alpha) +
                           ", sigma^2 = " + num(sigma2) + " at t = " + num(t));
}

/// P = P_k(t) = alpha^2 S_k + sigma^2 I as a dense double matrix (any kind), in P's storage
/// when it already has the size.
inline void diffused_covariance(const components_data& c, long k, double a2, double s2,
                                matrix<double>& P) {
  const long D = c.dim();
  switch (c.kind) {
    case covariance_kind::isotropic:
      P.setZero(D, D);
      P.diagonal().setConstant(a2 * c.variances[std::size_t(k)] + s2);
      break;
    case covariance_kind::diagonal:
      P.setZero(D, D);
      for (long i = 0; i < D; ++i) P(i, i) = a2 * c.diagonals(i, k) + s2;
      break;
    case covariance_kind::full:
      P.noalias() = a2 * c.covariances[std::size_t(k)];
      P.diagonal().array() += s2;
      break;
  }
}

inline matrix<double> diffused_covariance(const components_data& c, long k, double a2,
                                          double s2) {
  matrix<double> P;
  diffused_covariance(c, k, a2, s2, P);
  return P;
}

/// acc[r] = sum_{m < n} col(m)[r] * coef(m) for r < B (0 when n <= 0), each sum over m in
/// increasing order (one rounded product, one rounded sum per term), for the frame's
/// factorisation kernels. The B sums are held as SIMD vectors: as an array of doubles GCC kept
/// part of them on the stack, and the loop paid a store and a reload per term.
template <long B, class Column, class Coefficient>
inline void block_sums(long n, Column&& col, Coefficient&& coef, double* acc) {
  constexpr int Lanes = simd_register_bytes / int(sizeof(double));
  using V = lanes_t<double, Lanes>;
  constexpr long NV = B / Lanes;
  static_assert(B % Lanes == 0, "a block of sums is a whole number of vectors");
  V sum[NV] = {};
  for (long m = 0; m < n; ++m) {
    const double* c = col(m);
    const double f = coef(m);
    for (long v = 0; v < NV; ++v) {
      V x;
      read_lanes<double, Lanes>(c + v * Lanes, x);
      sum[v] += x * f;
    }
  }
  for (long v = 0; v < NV; ++v) write_lanes<double, Lanes>(acc + v * Lanes, sum[v]);
}

/// A = P_k(t) -> its lower Cholesky factor L (A = L L^T) in A's lower triangle, the strict
/// upper triangle zeroed; throws when P_k(t) is not positive definite. Left-looking by columns:
/// L(r, j) = (A(r, j) - sum_{m<j} L(r, m) L(j, m)) / L(j, j), the sums for 32 rows at a time in
/// registers, over m in increasing order (the frame factors every P_k at every call, so this is
/// a kernel: D^3 / 6 multiply-adds, vectorised over contiguous rows of a column). A template so
/// that it is compiled only where a mixture's code is.
template <class Matrix>
void cholesky_in_place(Matrix& A, long k, double t) {
  constexpr long B = 32;
  const long D = A.rows();
  double* a = A.data();
  for (long j = 0; j < D; ++j) {
    // Blocks of rows aligned to multiples of B (a block starting at j would rarely be full);
    // rows above j in the first block are computed and dropped.
    for (long r0 = j / B * B; r0 < D; r0 += B) {
      const long nr = std::min(B, D - r0);
      double acc[B] = {};
      if (nr == B) {
        block_sums<B>(j, [&](long q) { return a + q * D + r0; }, [&](long q) { return a[q * D + j]; },
                      acc);
      } else {
        for (long m = 0; m < j; ++m)
          for (long r = 0; r < nr; ++r) acc[r] += a[m * D + r0 + r] * a[m * D + j];
      }
      long r = std::max(j - r0, 0L);
      double* out = a + j * D + r0;
      if (r0 + r == j) {  // the pivot
        const double pivot = out[r] - acc[r];
        if (!(pivot > 0 && std::isfinite(pivot)))
          throw invalid_argument("gaussian_mixture: covariance of component " +
                                 std::to_string(k) + " at t = " + num(t) +
                                 " is not positive definite");
        out[r] = std::sqrt(pivot);
        ++r;
      }
      const double ljj = a[j * D + j];
      for (; r < nr; ++r) out[r] = (out[r] - acc[r]) / ljj;
    }
    for (long i = 0; i < j; ++i) a[j * D + i] = 0;
  }
}

/// Lower Cholesky factor of P (double), or throws when P is not positive definite.
template <class Matrix>
Matrix cholesky_or_throw(const Matrix& P, long k, double t) {
  Matrix L = P;
  cholesky_in_place(L, k, t);
  return L;
}

/// sum_{i < n} term(i) in the mixture kernels' one order of summation: four interleaved partial
/// sums (term i into sum i mod 4, the terms past the last multiple of 4 into sum 0) combined as
/// (s0 + s1) + (s2 + s3). The order depends only on n, so a column's sums have the same bits in
/// every batch and lane, and four chains keep the additions' latency off the critical path.
/// V is Scalar, or a lanes_t with one sum per lane.
template <class V, class Term>
inline V sum_in_fours(long n, Term&& term) {
  V s[4] = {};
  long i = 0;
  for (; i + 4 <= n; i += 4)
    for (long t = 0; t < 4; ++t) s[t] += term(i + t);
  for (; i < n; ++i) s[0] += term(i);
  return (s[0] + s[1]) + (s[2] + s[3]);
}

/// sum_i a[i] b[i] in sum_in_fours' order.
template <class Scalar>
inline Scalar dot4(const Scalar* a, const Scalar* b, long n) {
  return sum_in_fours<Scalar>(n, [&](long i) { return a[i] * b[i]; });
}

/// Thrown from the per-coordinate checks below; out of line so the message is only formatted
/// on failure (the checks run D x K times per call).
[[noreturn]] inline void not_positive_definite(long k, double t, double p) {
  throw invalid_argument("gaussian_mixture: covariance of component " + std::to_string(k) +
                         " at t = " + num(t) + " is not positive definite (" + num(p) + ")");
}

/// What a call needs from its frame besides the responsibilities and the score.
struct frame_parts {
  bool covariances = false;  ///< S_k in Scalar (the denoiser)
};

/// Everything about p_t shared by the columns of one call, in the working Scalar.
/// build() reuses the storage of a previous build of the same sizes, so a frame kept per
/// thread makes a call allocation-free, whatever the covariance kind.
template <class Scalar>
struct frame {
  covariance_kind kind;
  long D = 0, K = 0;
  double alpha = 1, sigma2 = 0;
  matrix<Scalar> m;          // D x K: alpha mu_k
  vector<Scalar> c;          // log w_k - (D/2) log 2 pi - (1/2) log det P_k
  vector<Scalar> tr;         // tr P_k^{-1}
  vector<Scalar> ip;         // isotropic: 1 / p_k
  matrix<Scalar> idiag;      // diagonal: D x K, 1 / P_k,ii
  // Full: G_k = L_k^{-1} (P_k = L_k L_k^T), lower triangular with exact zeros above the
  // diagonal, and G_k^T, both column-major: P_k^{-1} y = G_k^T (G_k y), two triangular
  // matrix-vector products instead of two substitutions (no divisions, no chain of dependent
  // rows, so the products run as register tiles; see triangular_times).
  std::vector<matrix<Scalar>> G;
  std::vector<matrix<Scalar>> GT;

  // Only for the denoiser: S_k in Scalar (isotropic v_k, diagonal D x K, full D x D).
  vector<Scalar> v;
  matrix<Scalar> sdiag;
  std::vector<matrix<Scalar>> S;

  // Full covariances: the factorisation's workspace (P_k(t), then its factor; for a Scalar
  // other than double, the inverse in double before its cast), kept so that a build allocates
  // nothing.
  matrix<double> P_, GT_;

  frame() = default;
  frame(const components_data& cd, double alpha_t, double sigma2_t, double t,
        frame_parts parts) {
    build(cd, alpha_t, sigma2_t, t, parts);
  }

  void build(const components_data& cd, double alpha_t, double sigma2_t, double t,
             frame_parts parts) {
    kind = cd.kind;
    D = cd.dim();
    K = cd.count();
    alpha = alpha_t;
    sigma2 = sigma2_t;
    const double a2 = alpha * alpha;
    const double half_log_2pi = 0.5 * std::log(2.0 * std::numbers::pi);
    // c_k from log det P_k (diagonal and full; the isotropic kind's D log p_k is folded in
    // differently, which rounds differently).
    const auto log_normaliser = [&](long k, double logdet) {
      return Scalar(cd.log_weights[std::size_t(k)] - double(D) * half_log_2pi - 0.5 * logdet);
    };
    m.resize(D, K);  // no allocation when the size is unchanged
    for (long j = 0; j < D * K; ++j) m.data()[j] = Scalar(alpha * cd.means.data()[j]);
    c.resize(K);
    tr.resize(K);
    switch (kind) {
      case covariance_kind::isotropic:
        ip.resize(K);
        for (long k = 0; k < K; ++k) {
          const double p = a2 * cd.variances[std::size_t(k)] + sigma2;
          if (!(p > 0 && std::isfinite(p))) not_positive_definite(k, t, p);
          ip[k] = Scalar(1.0 / p);
          tr[k] = Scalar(double(D) / p);
          c[k] = Scalar(cd.log_weights[std::size_t(k)] -
                        double(D) * (half_log_2pi + 0.5 * std::log(p)));
        }
        break;
      case covariance_kind::diagonal:
        idiag.resize(D, K);
        for (long k = 0; k < K; ++k) {
          double logdet = 0, trace = 0;
          for (long i = 0; i < D; ++i) {
            const double p = a2 * cd.diagonals(i, k) + sigma2;
            if (!(p > 0 && std::isfinite(p))) not_positive_definite(k, t, p);
            idiag(i, k) = Scalar(1.0 / p);
            logdet += std::log(p);
            trace += 1.0 / p;
          }
          tr[k] = Scalar(trace);
          c[k] = log_normaliser(k, logdet);
        }
        break;
      case covariance_kind::full:
        G.resize(std::size_t(K));
        GT.resize(std::size_t(K));
        for (long k = 0; k < K; ++k) {
          diffused_covariance(cd, k, a2, sigma2, P_);
          cholesky_in_place(P_, k, t);
          const matrix<double>& L = P_;
          double logdet = 0;
          for (long i = 0; i < D; ++i) logdet += 2.0 * std::log(L(i, i));
          c[k] = log_normaliser(k, logdet);
          // In double the inverse is built in place; no allocation when the size is unchanged.
          matrix<Scalar>& gt = GT[std::size_t(k)];
          const matrix<double>& inverse_t = [&]() -> const matrix<double>& {
            if constexpr (std::is_same_v<Scalar, double>) {
              invert_lower(L, gt);
              return gt;
            } else {
              invert_lower(L, GT_);
              gt = GT_.template cast<Scalar>();
              return GT_;
            }
          }();
          transpose_into(gt, G[std::size_t(k)]);
          double trace = 0;  // tr P^{-1} = |L^{-1}|_F^2, row by row
          for (long i = 0; i < D; ++i)
            trace += dot4(inverse_t.data() + i * D, inverse_t.data() + i * D, i + 1);
          tr[k] = Scalar(trace);
        }
        break;
    }
    if (parts.covariances) {
      switch (kind) {
        case covariance_kind::isotropic:
          v.resize(K);
          for (long k = 0; k < K; ++k) v[k] = Scalar(cd.variances[std::size_t(k)]);
          break;
        case covariance_kind::diagonal:
          sdiag = cd.diagonals.template cast<Scalar>();
          break;
        case covariance_kind::full:
          S.resize(std::size_t(K));
          for (long k = 0; k < K; ++k)
            S[std::size_t(k)] = cd.covariances[std::size_t(k)].template cast<Scalar>();
          break;
      }
    }
  }

  /// out <- A^T for a square A, in tiles of 8 x 8 so that the lines of both sides stay in L1
  /// (Eigen's transposed copy took 9% of a one-point evaluation at D = 64, K = 16; this 6%).
  static void transpose_into(const matrix<Scalar>& A, matrix<Scalar>& out) {
    constexpr long T = 8;
    const long n = A.rows();
    out.resize(n, n);
    const Scalar* a = A.data();
    Scalar* o = out.data();
    for (long j0 = 0; j0 < n; j0 += T)
      for (long i0 = 0; i0 < n; i0 += T)
        for (long j = j0; j < std::min(j0 + T, n); ++j)
          for (long i = i0; i < std::min(i0 + T, n); ++i) o[i * n + j] = a[j * n + i];
  }

  /// GT <- (L^{-1})^T for the lower-triangular L, exact zeros below GT's diagonal: row i of
  /// L^{-1} (column i of GT, contiguous) is (e_i - sum_{m<i} L(i,m) row m) / L(i,i), built 32
  /// entries at a time in registers (four independent sums per m, not one chain of additions;
  /// row m is zero beyond entry m, so entries from c0 on need only m >= c0). D^3 / 6
  /// multiply-adds, once per component and call, against the columns' N D^2 or more.
  static void invert_lower(const matrix<double>& L, matrix<double>& GT) {
    constexpr long B = 32;
    const long D = L.rows();
    GT.resize(D, D);
    for (long i = 0; i < D; ++i) {
      double* gi = GT.data() + i * D;
      const double lii = L(i, i);
      for (long c0 = 0; c0 < D; c0 += B) {
        const long nc = std::min(B, D - c0);
        double acc[B] = {};
        if (nc == B) {
          block_sums<B>(
              i - c0, [&](long q) { return GT.data() + (c0 + q) * D + c0; },
              [&](long q) { return L(i, c0 + q); }, acc);
        } else {
          for (long m = c0; m < i; ++m)
            for (long c = 0; c < nc; ++c) acc[c] += L(i, m) * GT(c0 + c, m);
        }
        for (long c = 0; c < nc; ++c) gi[c0 + c] = ((c0 + c == i ? 1.0 : 0.0) - acc[c]) / lii;
      }
    }
  }

  // The per-column kernels below take W columns at once, stored lane-major: element i of
  // column l at [i * W + l] (W = 1 is one ordinary column). They are written once against
  // lanes_t<Scalar, W> (core/lane_vector.hpp: plain Scalar at W = 1, one SIMD value of W lanes
  // otherwise), so each lane performs exactly the operations a single column does, in the same
  // order: a column's bits do not depend on W or on its lane. Their arrays never overlap
  // (__restrict: without it every 8-lane loop paid for a run-time aliasing check).

  /// Rows of a triangular product computed together (tile_rows W sums held in registers).
  static constexpr long tile_rows = 8;

  /// out[i] = sum_{j in [j0, j1)} A(i, j) y[j] for rows i0 .. i0 + R - 1 of the column-major
  /// D x D matrix A, W lane-major columns; every sum runs over j in increasing order.
  template <int R, int W>
  static void product_rows(const Scalar* __restrict A, long D, long i0, long j0, long j1,
                           const Scalar* __restrict y, Scalar* __restrict out) {
    using V = lanes_t<Scalar, W>;
    V acc[R] = {};
    for (long j = j0; j < j1; ++j) {
      const Scalar* a = A + j * D + i0;  // A(i0 .. i0 + R - 1, j), contiguous
      V yj;
      read_lanes<Scalar, W>(y + j * W, yj);
      for (int r = 0; r < R; ++r) acc[r] += yj * a[r];
    }
    for (int r = 0; r < R; ++r) write_lanes<Scalar, W>(out + (i0 + r) * W, acc[r]);
  }

  /// out <- A y for a triangular A (Lower: G_k, else G_k^T; exact zeros in the other triangle),
  /// W lane-major columns. Rows in tiles of tile_rows, the last D mod tile_rows rows one by one;
  /// a tile's sums also run over the zeros of its rows inside the tile's triangle, so element
  /// i's sum is its nonzero terms in increasing j plus exact zeros: the tiling (a function of D
  /// only) changes no value, and W none at all.
  template <bool Lower, int W>
  static void triangular_times(const matrix<Scalar>& A, const Scalar* __restrict y,
                               Scalar* __restrict out, long D) {
    const Scalar* a = A.data();
    long i0 = 0;
    for (; i0 + tile_rows <= D; i0 += tile_rows)
      product_rows<tile_rows, W>(a, D, i0, Lower ? 0 : i0, Lower ? i0 + tile_rows : D, y, out);
    for (; i0 < D; ++i0) product_rows<1, W>(a, D, i0, Lower ? 0 : i0, Lower ? i0 + 1 : D, y, out);
  }

  /// The elementwise kinds' u_k,i = (x_i - m_k,i) P_k,ii^{-1}, the one expression every kernel
  /// uses for it (so a u formed again from x has the bits of a stored one); d = x_i - m_k,i.
  template <class V>
  static V elementwise_u(const V& d, Scalar precision) {
    return d * precision;
  }

  /// Calls body(precision) with precision(k, i) = P_k,ii^{-1} of an elementwise kind (1 / p_k
  /// or the diagonal's), as a functor of its own per kind, so loops over i see a constant or a
  /// contiguous array and vectorise either way.
  template <class Body>
  void with_precision(Body&& body) const {
    if (kind == covariance_kind::isotropic)
      body([this](long k, long) { return ip[k]; });
    else
      body([this](long k, long i) { return idiag.data()[k * D + i]; });
  }

  /// Calls body(ue) with ue(k, i) = u_k,i of the W lane-major columns x as a lanes_t: formed
  /// from x for the elementwise kinds (their responsibilities need not store K D W values:
  /// at D = 64, K = 16 a stored u of 8 lanes outgrew L1), read from u for full covariances.
  template <int W, class Body>
  void with_u(const Scalar* __restrict x, const Scalar* __restrict u, Body&& body) const {
    using V = lanes_t<Scalar, W>;
    if (kind == covariance_kind::full) {
      body([u, this](long k, long i) {
        V stored;
        read_lanes<Scalar, W>(u + (k * D + i) * W, stored);
        return stored;
      });
      return;
    }
    with_precision([&](auto precision) {
      body([x, precision, this](long k, long i) {
        V d;
        read_lanes<Scalar, W>(x + i * W, d);
        d = d - m.data()[k * D + i];
        return elementwise_u(d, precision(k, i));
      });
    });
  }

  /// u_k of one column x into out (D scalars), as with_u reads it: for the one-column kernels
  /// that need u_k as an array of its own (the gradient of the Laplacian and the Hessian centre
  /// it, the denoiser multiplies it by a covariance).
  void column_u(long k, const Scalar* __restrict x, const Scalar* __restrict u,
                Scalar* __restrict out) const {
    with_u<1>(x, u, [&](auto ue) {
      for (long i = 0; i < D; ++i) out[i] = ue(k, i);
    });
  }

  /// For W columns x: the responsibilities r_k (at [k W + l]; log-sum-exp, so far tails
  /// neither underflow nor give NaN), log p_t(x) into lse[l] (skipped when WithLse is false: a
  /// score alone needs no log) and, for full covariances only, u_k = P_k^{-1} (x - m_k) into u
  /// (element i of component k of lane l at [(k D + i) W + l]); every kernel reads u through
  /// with_u. work holds D W scalars. Isotropic and diagonal compute the differences, u and the
  /// quadratic form in one pass (sum_in_fours' order).
  template <bool WithLse = true, int W = 1>
  void responsibilities(const Scalar* __restrict x, Scalar* __restrict u, Scalar* __restrict r,
                        Scalar* __restrict lse, Scalar* __restrict work) const {
    using V = lanes_t<Scalar, W>;
    for (long k = 0; k < K; ++k) {
      const Scalar* mk = m.data() + k * D;
      Scalar quad[W] = {};  // every kind sets it; initialised for the compiler
      switch (kind) {
        case covariance_kind::isotropic:
        case covariance_kind::diagonal: {
          // The isotropic quadratic form is |x - m_k|^2 / p_k, the diagonal one
          // sum_i (x_i - m_k,i) u_k,i.
          const bool iso = kind == covariance_kind::isotropic;
          with_precision([&](auto precision) {
            const V sum = sum_in_fours<V>(D, [&](long i) {
              V d;
              read_lanes<Scalar, W>(x + i * W, d);
              d = d - mk[i];
              return iso ? d * d : d * elementwise_u(d, precision(k, i));
            });
            const V qv = iso ? sum * ip[k] : sum;
            for (int l = 0; l < W; ++l) quad[l] = lane<Scalar, W>(qv, l);
          });
          break;
        }
        case covariance_kind::full: {
          // The differences into uk (free until the last product), w = G_k (x - m_k) into
          // work, the quadratic form |w|^2 per lane, u_k = G_k^T w.
          Scalar* uk = u + k * D * W;
          for (long i = 0; i < D; ++i)
            for (int l = 0; l < W; ++l) uk[i * W + l] = x[i * W + l] - mk[i];
          triangular_times<true, W>(G[std::size_t(k)], uk, work, D);
          const V qv = sum_in_fours<V>(D, [&](long i) {
            V wi;
            read_lanes<Scalar, W>(work + i * W, wi);
            return wi * wi;
          });
          for (int l = 0; l < W; ++l) quad[l] = lane<Scalar, W>(qv, l);
          triangular_times<false, W>(GT[std::size_t(k)], work, uk, D);
          break;
        }
      }
      // log w_k N(x; m_k, P_k), turned into r_k below.
      for (int l = 0; l < W; ++l) r[k * W + l] = c[k] - Scalar(0.5) * quad[l];
    }
    Scalar mx[W];
    for (int l = 0; l < W; ++l) mx[l] = r[l];
    for (long k = 1; k < K; ++k)
      for (int l = 0; l < W; ++l) mx[l] = r[k * W + l] > mx[l] ? r[k * W + l] : mx[l];
    // The exponentials in a loop of their own that vectorises; then the sums in order.
    for (long k = 0; k < K; ++k)
      for (int l = 0; l < W; ++l) r[k * W + l] = Scalar(vmath::exp(double(r[k * W + l] - mx[l])));
    Scalar sum[W] = {};
    for (long k = 0; k < K; ++k)
      for (int l = 0; l < W; ++l) sum[l] += r[k * W + l];
    // r / sum, not exp(l - lse): exact to eps for huge |lse|.
    for (long k = 0; k < K; ++k)
      for (int l = 0; l < W; ++l) r[k * W + l] /= sum[l];
    if constexpr (WithLse)
      for (int l = 0; l < W; ++l) lse[l] = mx[l] + Scalar(vmath::log(double(sum[l])));
  }

  /// s = -sum_k r_k u_k for W lane-major columns x (u as with_u reads it), summed over k in
  /// increasing order for every i.
  template <int W = 1>
  void score(const Scalar* __restrict x, const Scalar* __restrict u, const Scalar* __restrict r,
             Scalar* __restrict s) const {
    with_u<W>(x, u, [&](auto ue) {
      if constexpr (W == 1) {
        if (D >= 8) {
          // One column, larger D: contiguous axpys over i (the same sums in the same order).
          for (long i = 0; i < D; ++i) s[i] = 0;
          for (long k = 0; k < K; ++k) {
            const Scalar rk = r[k];
            for (long i = 0; i < D; ++i) s[i] += rk * ue(k, i);
          }
          for (long i = 0; i < D; ++i) s[i] = -s[i];
          return;
        }
      }
      // Register sums (all lanes) instead of read-modify-writes of s, four coordinates at a
      // time: each sum is one chain of additions over k, and four chains hide their latency.
      using V = lanes_t<Scalar, W>;
      const auto coordinates = [&]<int B>(long i0, std::integral_constant<int, B>) {
        V acc[B] = {}, rk;
        for (long k = 0; k < K; ++k) {
          read_lanes<Scalar, W>(r + k * W, rk);
          for (int b = 0; b < B; ++b) acc[b] += rk * ue(k, i0 + b);
        }
        for (int b = 0; b < B; ++b) write_lanes<Scalar, W>(s + (i0 + b) * W, -acc[b]);
      };
      long i = 0;
      for (; i + 4 <= D; i += 4) coordinates(i, std::integral_constant<int, 4>{});
      for (; i < D; ++i) coordinates(i, std::integral_constant<int, 1>{});
    });
  }

  /// Lap log p_t = sum_k r_k (|u_k + s|^2 - tr P_k^{-1}) for W lane-major columns x (u as
  /// with_u reads it; the centred form of trace(H), free of the cancellation
  /// sum r |u|^2 - |s|^2 has in the tails); |c_k|^2 in sum_in_fours' order, c_k formed in
  /// registers.
  template <int W = 1>
  void laplacian(const Scalar* __restrict x, const Scalar* __restrict u,
                 const Scalar* __restrict r, const Scalar* __restrict s,
                 Scalar* __restrict lap) const {
    using V = lanes_t<Scalar, W>;
    with_u<W>(x, u, [&](auto ue) {
      V acc = {};
      for (long k = 0; k < K; ++k) {
        const V q = sum_in_fours<V>(D, [&](long i) {
          V si;
          read_lanes<Scalar, W>(s + i * W, si);
          const V ci = ue(k, i) + si;
          return ci * ci;
        });
        V rk;
        read_lanes<Scalar, W>(r + k * W, rk);
        acc += rk * (q - tr[k]);
      }
      write_lanes<Scalar, W>(lap, acc);
    });
  }

  /// out <- P_k^{-1} c (c is not modified; work holds D scalars).
  void apply_precision(long k, const Scalar* cv, Scalar* out, Scalar* work) const {
    switch (kind) {
      case covariance_kind::isotropic:
        for (long i = 0; i < D; ++i) out[i] = cv[i] * ip[k];
        break;
      case covariance_kind::diagonal: {
        const Scalar* id = idiag.data() + k * D;
        for (long i = 0; i < D; ++i) out[i] = cv[i] * id[i];
        break;
      }
      case covariance_kind::full:
        triangular_times<true, 1>(G[std::size_t(k)], cv, work, D);
        triangular_times<false, 1>(GT[std::size_t(k)], work, out, D);
        break;
    }
  }

  /// out <- S_k u (the t = 0 covariance; needs with_covariances).
  void apply_covariance(long k, const Scalar* uk, Scalar* out) const {
    switch (kind) {
      case covariance_kind::isotropic:
        for (long i = 0; i < D; ++i) out[i] = v[k] * uk[i];
        break;
      case covariance_kind::diagonal: {
        const Scalar* sd = sdiag.data() + k * D;
        for (long i = 0; i < D; ++i) out[i] = sd[i] * uk[i];
        break;
      }
      case covariance_kind::full: {
        const Scalar* Sk = S[std::size_t(k)].data();
        for (long i = 0; i < D; ++i) out[i] = 0;
        for (long j = 0; j < D; ++j) {
          const Scalar* col = Sk + j * D;
          const Scalar uj = uk[j];
          for (long i = 0; i < D; ++i) out[i] += col[i] * uj;
        }
        break;
      }
    }
  }
};

}  // namespace detail::gmm
}  // namespace dlogp
DLOGP_PINNED_FP_END

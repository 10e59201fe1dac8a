#pragma once
// The exact Gaussian-mixture oracle, the library's ground truth (docs/notation.md §2):
//   p_0 = sum_k w_k N(mu_k, S_k) in R^D,   p_t = sum_k w_k N(alpha mu_k, alpha^2 S_k + sigma^2 I).
// Score, log density, Laplacian, Hessian, gradient of the Laplacian, denoiser, the posterior
// p(x_s | x_t) and exact sampling from p_t, for any process.
//
// Parameters are given (and stored) in double; evaluation runs in Scalar. Every batched call
// factors what it needs once (per call, shared over the batch) and keeps no cache, so const
// methods may be called from several threads at once. Results are bit-identical per column
// whatever the batch (see detail/gmm_frame.hpp).
#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <numbers>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/pinned_fp.hpp"
#include "dlogp/core/random.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"
#include "dlogp/model/detail/gmm_frame.hpp"
#include "dlogp/process/any_process.hpp"

// The batched kernels run with contraction pinned off (core/pinned_fp.hpp).
DLOGP_PINNED_FP_BEGIN
namespace dlogp {

/// The posterior p(x_s | x_t) ∝ p_s(x_s) N(x_t; a x_s, v I) of a gaussian_mixture, itself a
/// Gaussian mixture (product of Gaussians per component), a = alpha_t / alpha_s,
/// v = sigma_t^2 - a^2 sigma_s^2. Normalised: log_density integrates to 1 over x_s.
/// Single-point evaluation (for mode finding), done in double and returned in Scalar.
template <class Scalar>
class gaussian_mixture_posterior {
 public:
  using scalar_type = Scalar;

  gaussian_mixture_posterior(std::vector<double> log_weights, matrix<double> means,
                             std::vector<matrix<double>> covariances)
      : log_w_(std::move(log_weights)), means_(std::move(means)), cov_(std::move(covariances)) {
    const long D = means_.rows();
    chol_.reserve(cov_.size());
    for (std::size_t k = 0; k < cov_.size(); ++k) {
      Eigen::LLT<matrix<double>> llt(cov_[k]);
      detail::require(llt.info() == Eigen::Success,
                      "gaussian_mixture_posterior: covariance of component " +
                          std::to_string(k) + " is not positive definite");
      chol_.push_back(llt.matrixL());
      double logdet = 0;
      for (long i = 0; i < D; ++i) logdet += 2.0 * std::log(chol_.back()(i, i));
      norm_.push_back(log_w_[k] - 0.5 * double(D) * std::log(2.0 * std::numbers::pi) -
                      0.5 * logdet);
    }
  }

  long dimension() const { return means_.rows(); }
  long components() const { return means_.cols(); }
  /// Normalised log weights (log-space, so far-away components keep their relative size).
  const std::vector<double>& log_weights() const { return log_w_; }
  std::vector<double> weights() const {
    std::vector<double> w(log_w_.size());
    for (std::size_t k = 0; k < w.size(); ++k) w[k] = std::exp(log_w_[k]);
    return w;
  }
  const matrix<double>& means() const { return means_; }           // D x K
  const std::vector<matrix<double>>& covariances() const { return cov_; }

  /// log p(y | x_t).
  Scalar log_density(const vector<Scalar>& y) const { return Scalar(evaluate(y, nullptr, nullptr)); }
  /// grad_y log p(y | x_t); out is resized to D.
  void score(const vector<Scalar>& y, vector<Scalar>& out) const {
    vector<double> g;
    evaluate(y, &g, nullptr);
    out = g.cast<Scalar>();
  }
  /// Hessian of log p(y | x_t); H is resized to D x D.
  void hessian(const vector<Scalar>& y, matrix<Scalar>& H) const {
    vector<double> g;
    matrix<double> h;
    evaluate(y, &g, &h);
    H = h.cast<Scalar>();
  }

 private:
  double evaluate(const vector<Scalar>& y_in, vector<double>* grad, matrix<double>* hess) const {
    const long D = dimension(), K = components();
    detail::require_dimension(D, y_in.size(), "gaussian_mixture_posterior: point");
    const vector<double> y = y_in.template cast<double>();
    matrix<double> U(D, K);
    std::vector<double> l(K);
    for (long k = 0; k < K; ++k) {
      vector<double> d = y - means_.col(k);
      chol_[k].template triangularView<Eigen::Lower>().solveInPlace(d);
      l[k] = norm_[k] - 0.5 * d.squaredNorm();
      chol_[k].template triangularView<Eigen::Lower>().transpose().solveInPlace(d);
      U.col(k) = d;
    }
    double mx = l[0];
    for (long k = 1; k < K; ++k) mx = std::max(mx, l[std::size_t(k)]);
    double sum = 0;
    for (long k = 0; k < K; ++k) sum += std::exp(l[std::size_t(k)] - mx);
    const double lse = mx + std::log(sum);
    if (grad || hess) {
      vector<double> r(K);  // exp(l - max) / sum, exact to eps even when |lse| is huge
      for (long k = 0; k < K; ++k) r(k) = std::exp(l[std::size_t(k)] - mx) / sum;
      const vector<double> s = -(U * r);
      if (grad) *grad = s;
      if (hess) {
        // H = sum_k r_k ((u_k + s)(u_k + s)^T - C_k^{-1}) (centred: no cancellation).
        hess->setZero(D, D);
        const matrix<double> I = matrix<double>::Identity(D, D);
        for (long k = 0; k < K; ++k) {
          const vector<double> c = U.col(k) + s;
          const matrix<double> Ci =
              chol_[k].template triangularView<Eigen::Lower>().transpose().solve(
                  chol_[k].template triangularView<Eigen::Lower>().solve(I));
          *hess += r(k) * (c * c.transpose() - Ci);
        }
      }
    }
    return lse;
  }

  std::vector<double> log_w_;
  matrix<double> means_;
  std::vector<matrix<double>> cov_;
  std::vector<matrix<double>> chol_;
  std::vector<double> norm_;
};

/// Exact Gaussian mixture diffused by a process. Satisfies score_model and has_log_density,
/// has_laplacian, has_hessian, has_grad_laplacian, has_denoiser.
///
/// Weights are NORMALISED to sum 1 on construction (any positive finite weights are accepted;
/// weights() returns the normalised ones). Errors name components by their 0-based index.
template <class Scalar, process Process = any_process>
class gaussian_mixture {
 public:
  using scalar_type = Scalar;
  using process_type = Process;
  using posterior_type = gaussian_mixture_posterior<Scalar>;

  /// Full covariances: means is D x K, covariances K matrices D x D (symmetric to a relative
  /// 1e-12 of their largest entry, positive definite).
  gaussian_mixture(Process p, std::vector<double> weights, matrix<double> means,
                   std::vector<matrix<double>> covariances);

  /// Isotropic components S_k = variances[k] I.
  static gaussian_mixture isotropic(Process p, std::vector<double> weights, matrix<double> means,
                                    std::vector<double> variances);

  /// Diagonal components S_k = diag(diagonals.col(k)); diagonals is D x K.
  static gaussian_mixture diagonal(Process p, std::vector<double> weights, matrix<double> means,
                                   matrix<double> diagonals);

  // ---------------------------------------------------------------- accessors
  long dimension() const { return c_.dim(); }
  long components() const { return c_.count(); }
  const Process& process() const { return process_; }
  covariance_kind kind() const { return c_.kind; }
  /// Normalised weights.
  const std::vector<double>& weights() const { return c_.weights; }
  const std::vector<double>& log_weights() const { return c_.log_weights; }
  /// D x K, one column per component (at t = 0).
  const matrix<double>& means() const { return c_.means; }
  /// S_k (at t = 0) as a dense D x D matrix, whatever the storage kind.
  matrix<double> covariance(long k) const;
  /// P_k(t) = alpha_t^2 S_k + sigma_t^2 I.
  matrix<double> covariance(long k, double t) const;
  /// Exact mean of p_t: alpha_t sum_k w_k mu_k.
  vector<double> marginal_mean(double t) const;
  /// Exact covariance of p_t: sum_k w_k (P_k + m_k m_k^T) - m m^T.
  matrix<double> marginal_covariance(double t) const;
  /// Fixed work of one batched call in units of one column's work (core/parallel_chunks.hpp
  /// sizes chunks by it). Full covariances factorise and invert P_k(t) once per call,
  /// D^3 / 3 multiply-adds per component against D^2 for a column: D / 3 columns' work in
  /// flops, D / 2 as measured (the factorisation runs slower per flop than the column
  /// products). The other kinds build their frame in O(K D): none.
  long call_overhead() const {
    return c_.kind == covariance_kind::full ? dimension() / 2 : 0;
  }

  // ---------------------------------------------------------------- batched evaluation
  /// S(:, j) = grad log p_t(X(:, j)). S is resized to D x N if needed.
  void score(double t, const matrix<Scalar>& X, matrix<Scalar>& S) const;

  /// out(j) = log p_t(X(:, j)).
  void log_density(double t, const matrix<Scalar>& X, vector<Scalar>& out) const;

  /// Score and Laplacian of log p_t: Lap = sum_k r_k (|u_k + s|^2 - tr P_k^{-1}) (the centred
  /// form of trace(H), free of the cancellation sum r |u|^2 - |s|^2 has in the tails).
  void score_and_laplacian(double t, const matrix<Scalar>& X, matrix<Scalar>& S,
                           vector<Scalar>& lap) const;

  /// Hessian of log p_t at ONE point x: H = sum_k r_k (c_k c_k^T - P_k^{-1}), c_k = u_k + s.
  void hessian(double t, const vector<Scalar>& x, matrix<Scalar>& H) const;

  /// G(:, j) = grad Lap log p_t at X(:, j). Centred form of docs/notation.md §2's
  /// G - L g - 2 Hp g + 2|g|^2 g, namely sum_k r_k (c_k tr P_k^{-1} + 2 P_k^{-1} c_k - c_k |c_k|^2)
  /// with c_k = u_k + s (the third cumulant of the log-sum-exp).
  void grad_laplacian(double t, const matrix<Scalar>& X, matrix<Scalar>& G) const;

  /// out(:, j) = E[x_0 | x_t = X(:, j)] = sum_k r_k (mu_k + alpha S_k u_k).
  void denoiser(double t, const matrix<Scalar>& X, matrix<Scalar>& out) const;

  // ---------------------------------------------------------------- posterior
  /// p(x_s | x_t) for 0 <= s < t (needs v = sigma_t^2 - a^2 sigma_s^2 > 0). Per component:
  /// weight ∝ w_k N(x_t; alpha_t mu_k, P_k(t)), mean alpha_s mu_k + a P_k(s) P_k(t)^{-1}
  /// (x_t - alpha_t mu_k), covariance v P_k(s) P_k(t)^{-1} (P_k(s), P_k(t) commute).
  posterior_type posterior(double s, double t, const vector<Scalar>& x_t) const;

  // ---------------------------------------------------------------- sampling
  /// Column j of X (pre-sized D x N) ~ p_t, keyed by trajectory id ids[j]: the component from
  /// random_stream(seed, ids[j], purpose::component).uniform(0), the normals from
  /// random_stream(seed, ids[j], purpose::data) draws 0 .. D-1. Computed in double.
  void sample(double t, std::uint64_t seed, const std::uint64_t* ids, matrix<Scalar>& X) const;

  /// As above with ids first_id, first_id + 1, ... (an integer overload, so a literal 0 is
  /// the first id, not a null pointer).
  template <std::integral Id>
  void sample(double t, std::uint64_t seed, Id first_id, matrix<Scalar>& X) const {
    std::vector<std::uint64_t> ids(X.cols());
    for (std::size_t j = 0; j < ids.size(); ++j) ids[j] = std::uint64_t(first_id) + j;
    sample(t, seed, ids.data(), X);
  }

 private:
  explicit gaussian_mixture(Process p) : process_(std::move(p)) {}

  void set_weights_and_means(std::vector<double> weights, matrix<double> means);

  struct scratch {
    std::vector<Scalar> x, u, r, lse, w, s, c, pc;
    /// Grows only: no allocation once sized. u only where it is stored (full covariances).
    void resize(long D, long K, int W, bool stored_u) {
      const auto grow = [](std::vector<Scalar>& v, long n) {
        if (long(v.size()) < n) v.resize(std::size_t(n));
      };
      for (auto* v : {&x, &w, &s}) grow(*v, D * W);
      for (auto* v : {&c, &pc}) grow(*v, D);
      if (stored_u) grow(u, D * K * W);
      grow(r, K * W);
      grow(lse, W);
    }
  };

  /// Lane-major block (element i of lane l at [i W + l]) -> W consecutive columns.
  template <int W>
  static void store_lanes(const Scalar* src, Scalar* dst, long D) {
    for (long i = 0; i < D; ++i)
      for (int l = 0; l < W; ++l) dst[l * D + i] = src[i * W + l];
  }

  /// run() with blocks of 8 columns (one AVX-512 register of doubles) for bodies that read u
  /// only through frame::with_u, or of 4 when full covariances' stored u (D K W scalars) would
  /// outgrow 32 KiB, the L1 cache of current x86 cores (at D = 64, K = 16 blocks of 8 spilled
  /// to L2 and ran at half the speed of blocks of 4); and never more columns than one SIMD
  /// register of the build holds (core/lane_vector.hpp: a block split over two SSE2 registers
  /// ran 15% slower than blocks of 2). The width changes no bits.
  template <bool WithLse, class Body>
  void run_lanes(double t, const matrix<Scalar>& X, detail::gmm::frame_parts parts,
                 Body&& body) const {
    constexpr int register_lanes = detail::simd_register_bytes / int(sizeof(Scalar));
    if (c_.kind != covariance_kind::full ||
        long(sizeof(Scalar)) * dimension() * components() * 8 <= 32768)
      run<std::min(8, register_lanes), WithLse>(t, X, parts, body);
    else
      run<std::min(4, register_lanes), WithLse>(t, X, parts, body);
  }

  /// The per-call skeleton: check X, build the frame once, then blocks of Lanes columns through
  /// the lane-major kernels and the remaining columns one by one (a column gets the same bits
  /// either way: detail/gmm_frame.hpp). body(frame, first column, integral_constant<int, W>,
  /// x, u, r, lse, scratch) sees the block's data lane-major (W = 1: one ordinary column);
  /// u holds u_k for full covariances only (frame::responsibilities; bodies read it through
  /// frame::with_u).
  /// The frame and scratch are kept per thread (one per body type, so calls never share
  /// them): after the first call of a size, a call allocates nothing.
  template <int Lanes, bool WithLse, class Body>
  void run(double t, const matrix<Scalar>& X, detail::gmm::frame_parts parts,
           Body&& body) const {
    const long D = dimension(), K = components(), N = X.cols();
    if (X.rows() != D) detail::require_dimension(D, X.rows(), "gaussian_mixture: input rows");
    double a, s2;
    detail::gmm::time_coefficients(process_, t, a, s2);
    thread_local detail::gmm::frame<Scalar> f;
    f.build(c_, a, s2, t, parts);
    thread_local scratch sc;
    sc.resize(D, K, Lanes, c_.kind == covariance_kind::full);
    long j0 = 0;
    if constexpr (Lanes > 1) {
      for (; j0 + Lanes <= N; j0 += Lanes) {
        Scalar* xb = sc.x.data();
        const Scalar* x = X.data() + j0 * D;
        for (long i = 0; i < D; ++i)
          for (int l = 0; l < Lanes; ++l) xb[i * Lanes + l] = x[l * D + i];
        f.template responsibilities<WithLse, Lanes>(xb, sc.u.data(), sc.r.data(), sc.lse.data(),
                                                    sc.w.data());
        body(std::as_const(f), j0, std::integral_constant<int, Lanes>{}, xb, sc.u.data(),
             sc.r.data(), sc.lse.data(), sc);
      }
    }
    for (; j0 < N; ++j0) {
      const Scalar* x = X.data() + j0 * D;
      f.template responsibilities<WithLse, 1>(x, sc.u.data(), sc.r.data(), sc.lse.data(),
                                              sc.w.data());
      body(std::as_const(f), j0, std::integral_constant<int, 1>{}, x, sc.u.data(), sc.r.data(),
           sc.lse.data(), sc);
    }
  }
  Process process_;
  detail::gmm::components_data c_;
};

// The members that do work are defined here, out of the class: not inline, so a translation
// unit that sees `extern template class gaussian_mixture<double>` (dlogp/instances.hpp) does
// not compile them again (GCC compiles inline members of an extern template for inlining).

template <class Scalar, process Process>
gaussian_mixture<Scalar, Process>::gaussian_mixture(Process p, std::vector<double> weights,
                                                    matrix<double> means,
                                                    std::vector<matrix<double>> covariances)
    : process_(std::move(p)) {
  c_.kind = covariance_kind::full;
  set_weights_and_means(std::move(weights), std::move(means));
  const long D = c_.dim(), K = c_.count();
  detail::require_dimension(K, long(covariances.size()),
                            "gaussian_mixture: number of covariances");
  for (long k = 0; k < K; ++k) {
    matrix<double>& S = covariances[std::size_t(k)];
    const std::string who = "gaussian_mixture: covariance " + std::to_string(k);
    detail::require_dimension(D, S.rows(), who + " rows");
    detail::require_dimension(D, S.cols(), who + " columns");
    detail::require(S.allFinite(), who + " is not finite");
    const double scale = S.cwiseAbs().maxCoeff();
    const double asym = (S - S.transpose()).cwiseAbs().maxCoeff();
    detail::require(asym <= 1e-12 * scale,
                    who + " is not symmetric (max |S - S^T| = " + detail::gmm::num(asym) + ")");
    S = (0.5 * (S + S.transpose())).eval();  // exactly symmetric from here on
    Eigen::LLT<matrix<double>> llt(S);
    detail::require(llt.info() == Eigen::Success, who + " is not positive definite");
  }
  c_.covariances = std::move(covariances);
}

template <class Scalar, process Process>
auto gaussian_mixture<Scalar, Process>::isotropic(Process p, std::vector<double> weights,
                                                  matrix<double> means,
                                                  std::vector<double> variances)
    -> gaussian_mixture {
  gaussian_mixture g(std::move(p));
  g.c_.kind = covariance_kind::isotropic;
  g.set_weights_and_means(std::move(weights), std::move(means));
  detail::require_dimension(g.c_.count(), long(variances.size()),
                            "gaussian_mixture: number of variances");
  for (std::size_t k = 0; k < variances.size(); ++k)
    detail::require(std::isfinite(variances[k]) && variances[k] > 0,
                    "gaussian_mixture: variance " + std::to_string(k) +
                        " is not finite and positive (" + detail::gmm::num(variances[k]) + ")");
  g.c_.variances = std::move(variances);
  return g;
}

template <class Scalar, process Process>
auto gaussian_mixture<Scalar, Process>::diagonal(Process p, std::vector<double> weights,
                                                 matrix<double> means, matrix<double> diagonals)
    -> gaussian_mixture {
  gaussian_mixture g(std::move(p));
  g.c_.kind = covariance_kind::diagonal;
  g.set_weights_and_means(std::move(weights), std::move(means));
  detail::require_dimension(g.c_.dim(), diagonals.rows(), "gaussian_mixture: diagonals rows");
  detail::require_dimension(g.c_.count(), diagonals.cols(),
                            "gaussian_mixture: diagonals columns");
  for (long k = 0; k < diagonals.cols(); ++k)
    for (long i = 0; i < diagonals.rows(); ++i)
      detail::require(std::isfinite(diagonals(i, k)) && diagonals(i, k) > 0,
                      "gaussian_mixture: diagonal entry " + std::to_string(i) +
                          " of component " + std::to_string(k) +
                          " is not finite and positive (" +
                          detail::gmm::num(diagonals(i, k)) + ")");
  g.c_.diagonals = std::move(diagonals);
  return g;
}

template <class Scalar, process Process>
matrix<double> gaussian_mixture<Scalar, Process>::covariance(long k) const {
  detail::require(k >= 0 && k < components(),
                  "gaussian_mixture: no component " + std::to_string(k));
  return detail::gmm::diffused_covariance(c_, k, 1.0, 0.0);
}

template <class Scalar, process Process>
matrix<double> gaussian_mixture<Scalar, Process>::covariance(long k, double t) const {
  detail::require(k >= 0 && k < components(),
                  "gaussian_mixture: no component " + std::to_string(k));
  double a, s2;
  detail::gmm::time_coefficients(process_, t, a, s2);
  return detail::gmm::diffused_covariance(c_, k, a * a, s2);
}

template <class Scalar, process Process>
vector<double> gaussian_mixture<Scalar, Process>::marginal_mean(double t) const {
  double a, s2;
  detail::gmm::time_coefficients(process_, t, a, s2);
  return a * (c_.means * Eigen::Map<const vector<double>>(c_.weights.data(), components()));
}

template <class Scalar, process Process>
matrix<double> gaussian_mixture<Scalar, Process>::marginal_covariance(double t) const {
  double a, s2;
  detail::gmm::time_coefficients(process_, t, a, s2);
  const vector<double> mean = marginal_mean(t);
  matrix<double> C = matrix<double>::Zero(dimension(), dimension());
  for (long k = 0; k < components(); ++k) {
    const vector<double> d = a * c_.means.col(k) - mean;
    C += c_.weights[std::size_t(k)] *
         (detail::gmm::diffused_covariance(c_, k, a * a, s2) + d * d.transpose());
  }
  return C;
}

template <class Scalar, process Process>
void gaussian_mixture<Scalar, Process>::score(
    double t, const matrix<Scalar>& X, matrix<Scalar>& S) const {
  const long D = dimension();
  S.resize(D, X.cols());
  run_lanes<false>(t, X, {}, [&](const auto& f, long j0, auto width, const Scalar* x,
                                 const Scalar* u, const Scalar* r, const Scalar*, scratch& sc) {
    constexpr int W = decltype(width)::value;
    f.template score<W>(x, u, r, sc.s.data());
    store_lanes<W>(sc.s.data(), S.data() + j0 * D, D);
  });
}

template <class Scalar, process Process>
void gaussian_mixture<Scalar, Process>::log_density(
    double t, const matrix<Scalar>& X, vector<Scalar>& out) const {
  out.resize(X.cols());
  run_lanes<true>(t, X, {}, [&](const auto&, long j0, auto width, const Scalar*, const Scalar*,
                                const Scalar*, const Scalar* lse, scratch&) {
    for (int l = 0; l < decltype(width)::value; ++l) out(j0 + l) = lse[l];
  });
}

template <class Scalar, process Process>
void gaussian_mixture<Scalar, Process>::score_and_laplacian(
    double t, const matrix<Scalar>& X, matrix<Scalar>& S, vector<Scalar>& lap) const {
  const long D = dimension();
  S.resize(D, X.cols());
  lap.resize(X.cols());
  run_lanes<false>(t, X, {}, [&](const auto& f, long j0, auto width, const Scalar* x,
                                 const Scalar* u, const Scalar* r, const Scalar*, scratch& sc) {
    constexpr int W = decltype(width)::value;
    f.template score<W>(x, u, r, sc.s.data());
    f.template laplacian<W>(x, u, r, sc.s.data(), lap.data() + j0);
    store_lanes<W>(sc.s.data(), S.data() + j0 * D, D);
  });
}

template <class Scalar, process Process>
void gaussian_mixture<Scalar, Process>::hessian(
    double t, const vector<Scalar>& x, matrix<Scalar>& H) const {
  const long D = dimension(), K = components();
  detail::require_dimension(D, x.size(), "gaussian_mixture: hessian point");
  double a, s2;
  detail::gmm::time_coefficients(process_, t, a, s2);
  const detail::gmm::frame<Scalar> f(c_, a, s2, t, {});
  vector<Scalar> u(D * K), r(K), w(D), s(D), c(D), pc(D);
  Scalar lse;
  f.responsibilities(x.data(), u.data(), r.data(), &lse, w.data());
  f.score(x.data(), u.data(), r.data(), s.data());
  H.setZero(D, D);
  for (long k = 0; k < K; ++k) {
    f.column_u(k, x.data(), u.data(), c.data());
    for (long i = 0; i < D; ++i) c[i] += s[i];
    for (long jj = 0; jj < D; ++jj)
      for (long i = 0; i < D; ++i) H(i, jj) += r[k] * c[i] * c[jj];
    // Subtract r_k P_k^{-1}, one column at a time by solving with unit vectors.
    for (long jj = 0; jj < D; ++jj) {
      for (long i = 0; i < D; ++i) c[i] = Scalar(i == jj ? 1 : 0);
      f.apply_precision(k, c.data(), pc.data(), w.data());
      for (long i = 0; i < D; ++i) H(i, jj) -= r[k] * pc[i];
    }
  }
}

template <class Scalar, process Process>
void gaussian_mixture<Scalar, Process>::grad_laplacian(
    double t, const matrix<Scalar>& X, matrix<Scalar>& G) const {
  const long D = dimension(), K = components();
  G.resize(D, X.cols());
  run<1, false>(t, X, {}, [&](const auto& f, long j, auto, const Scalar* x, const Scalar* u,
                              const Scalar* r, const Scalar*, scratch& sc) {
    Scalar* s = sc.s.data();
    Scalar* c = sc.c.data();
    Scalar* pc = sc.pc.data();
    Scalar* g = G.data() + j * D;
    f.score(x, u, r, s);
    for (long i = 0; i < D; ++i) g[i] = 0;
    for (long k = 0; k < K; ++k) {
      f.column_u(k, x, u, c);
      for (long i = 0; i < D; ++i) c[i] += s[i];
      const Scalar q = detail::gmm::dot4(c, c, D);
      f.apply_precision(k, c, pc, sc.w.data());
      const Scalar a = f.tr[k] - q;
      const Scalar rk = r[k];
      for (long i = 0; i < D; ++i) g[i] += rk * (c[i] * a + Scalar(2) * pc[i]);
    }
  });
}

template <class Scalar, process Process>
void gaussian_mixture<Scalar, Process>::denoiser(
    double t, const matrix<Scalar>& X, matrix<Scalar>& out) const {
  const long D = dimension(), K = components();
  out.resize(D, X.cols());
  const matrix<Scalar> mu = c_.means.template cast<Scalar>();
  run<1, false>(t, X, {.covariances = true}, [&](const auto& f, long j, auto, const Scalar* x,
                                                  const Scalar* u, const Scalar* r,
                                                  const Scalar*, scratch& sc) {
    Scalar* uk = sc.c.data();
    Scalar* su = sc.pc.data();
    Scalar* o = out.data() + j * D;
    const Scalar alpha = Scalar(f.alpha);
    for (long i = 0; i < D; ++i) o[i] = 0;
    for (long k = 0; k < K; ++k) {
      f.column_u(k, x, u, uk);
      f.apply_covariance(k, uk, su);
      const Scalar* mk = mu.data() + k * D;
      const Scalar rk = r[k];
      for (long i = 0; i < D; ++i) o[i] += rk * (mk[i] + alpha * su[i]);
    }
  });
}

template <class Scalar, process Process>
auto gaussian_mixture<Scalar, Process>::posterior(
    double s, double t, const vector<Scalar>& x_t) const -> posterior_type {
  const long D = dimension(), K = components();
  detail::require_dimension(D, x_t.size(), "gaussian_mixture: posterior x_t");
  detail::require(std::isfinite(s) && std::isfinite(t) && s >= 0 && s < t,
                  "gaussian_mixture: posterior needs 0 <= s < t (s = " + detail::gmm::num(s) +
                      ", t = " + detail::gmm::num(t) + ")");
  double as, s2s, at, s2t;
  detail::gmm::time_coefficients(process_, s, as, s2s);
  detail::gmm::time_coefficients(process_, t, at, s2t);
  detail::require(as > 0, "gaussian_mixture: posterior needs alpha(s) > 0 (" +
                              detail::gmm::num(as) + ")");
  const double a = at / as, v = s2t - a * a * s2s;
  detail::require(v > 0, "gaussian_mixture: posterior needs sigma_t^2 - a^2 sigma_s^2 > 0 (" +
                             detail::gmm::num(v) + ")");
  const vector<double> x = x_t.template cast<double>();
  std::vector<double> logw(static_cast<std::size_t>(K));
  matrix<double> means(D, K);
  std::vector<matrix<double>> covs(static_cast<std::size_t>(K));
  const double log2pi = std::log(2.0 * std::numbers::pi);
  for (long k = 0; k < K; ++k) {
    const matrix<double> Ps = detail::gmm::diffused_covariance(c_, k, as * as, s2s);
    const matrix<double> Pt = detail::gmm::diffused_covariance(c_, k, at * at, s2t);
    Eigen::LLT<matrix<double>> llt(Pt);
    detail::require(llt.info() == Eigen::Success,
                    "gaussian_mixture: covariance of component " + std::to_string(k) +
                        " at t is not positive definite");
    const vector<double> d = x - at * c_.means.col(k);
    const vector<double> y = llt.matrixL().solve(d);
    const matrix<double> Lt = llt.matrixL();
    double logdet = 0;
    for (long i = 0; i < D; ++i) logdet += 2.0 * std::log(Lt(i, i));
    logw[std::size_t(k)] =
        c_.log_weights[std::size_t(k)] - 0.5 * (double(D) * log2pi + logdet + y.squaredNorm());
    means.col(k) = as * c_.means.col(k) + a * (Ps * llt.solve(d));
    const matrix<double> C = v * llt.solve(Ps);
    covs[std::size_t(k)] = 0.5 * (C + C.transpose());
  }
  double mx = logw[0];
  for (long k = 1; k < K; ++k) mx = std::max(mx, logw[std::size_t(k)]);
  double sum = 0;
  for (long k = 0; k < K; ++k) sum += std::exp(logw[std::size_t(k)] - mx);
  const double lse = mx + std::log(sum);
  for (long k = 0; k < K; ++k) logw[std::size_t(k)] -= lse;
  return posterior_type(std::move(logw), std::move(means), std::move(covs));
}

template <class Scalar, process Process>
void gaussian_mixture<Scalar, Process>::sample(
    double t, std::uint64_t seed, const std::uint64_t* ids, matrix<Scalar>& X) const {
  const long D = dimension(), K = components(), N = X.cols();
  detail::require_dimension(D, X.rows(), "gaussian_mixture: sample rows");
  detail::require(N == 0 || ids != nullptr, "gaussian_mixture: sample needs trajectory ids");
  double a, s2;
  detail::gmm::time_coefficients(process_, t, a, s2);
  // Cumulative weights; the last is forced to 1 so a uniform of exactly 1 still finds one.
  vector<double> cum(K);
  double acc = 0;
  for (long k = 0; k < K; ++k) cum[k] = (acc += c_.weights[std::size_t(k)]);
  cum[K - 1] = 1.0;
  // x = alpha mu_k + L_k z with L_k L_k^T = P_k(t): a Cholesky factor for full covariances,
  // elementwise square roots otherwise (D x K).
  const bool full = c_.kind == covariance_kind::full;
  std::vector<matrix<double>> Lk(full ? static_cast<std::size_t>(K) : 0);
  matrix<double> root(D, K);
  for (long k = 0; k < K; ++k) {
    const matrix<double> P = detail::gmm::diffused_covariance(c_, k, a * a, s2);
    if (full) {
      Lk[std::size_t(k)] = detail::gmm::cholesky_or_throw(P, k, t);
    } else {
      for (long i = 0; i < D; ++i) {
        detail::require(P(i, i) > 0, "gaussian_mixture: covariance of component " +
                                         std::to_string(k) + " at t = " +
                                         detail::gmm::num(t) + " is not positive definite");
        root(i, k) = std::sqrt(P(i, i));
      }
    }
  }
  vector<double> z(D);
  for (long j = 0; j < N; ++j) {
    const double uc = random_stream(seed, ids[j], purpose::component).uniform(0);
    long k = 0;
    while (k < K - 1 && uc > cum[k]) ++k;
    random_stream(seed, ids[j], purpose::data).fill_normal(0, z.data(), D);
    Scalar* xj = X.data() + j * D;
    if (full) {
      const double* Lkd = Lk[std::size_t(k)].data();
      for (long i = 0; i < D; ++i) {
        double xi = a * c_.means(i, k);
        for (long l = 0; l <= i; ++l) xi += Lkd[i + l * D] * z(l);  // (L z)_i, fixed order
        xj[i] = Scalar(xi);
      }
    } else {
      for (long i = 0; i < D; ++i) xj[i] = Scalar(a * c_.means(i, k) + root(i, k) * z(i));
    }
  }
}

template <class Scalar, process Process>
void gaussian_mixture<Scalar, Process>::set_weights_and_means(
    std::vector<double> weights, matrix<double> means) {
  const long K = long(weights.size());
  detail::require(K >= 1, "gaussian_mixture: needs at least one component (0)");
  detail::require(means.rows() >= 1, "gaussian_mixture: dimension must be >= 1 (" +
                                         std::to_string(means.rows()) + ")");
  detail::require_dimension(K, means.cols(), "gaussian_mixture: number of means");
  double sum = 0;
  for (long k = 0; k < K; ++k) {
    const double w = weights[std::size_t(k)];
    const std::string who = "gaussian_mixture: weight " + std::to_string(k);
    detail::require(std::isfinite(w), who + " is not finite (" + detail::gmm::num(w) + ")");
    detail::require(w >= 0, who + " is negative (" + detail::gmm::num(w) + ")");
    detail::require(w > 0, who + " is zero (" + detail::gmm::num(w) + ")");
    sum += w;
  }
  detail::require(std::isfinite(sum) && sum > 0,
                  "gaussian_mixture: weights do not sum to a finite positive number (" +
                      detail::gmm::num(sum) + ")");
  for (long k = 0; k < K; ++k)
    for (long i = 0; i < means.rows(); ++i)
      detail::require(std::isfinite(means(i, k)),
                      "gaussian_mixture: mean " + std::to_string(k) + " is not finite (" +
                          detail::gmm::num(means(i, k)) + ")");
  // Normalise: users may pass unnormalised weights (e.g. counts).
  c_.weights.resize(std::size_t(K));
  c_.log_weights.resize(std::size_t(K));
  for (long k = 0; k < K; ++k) {
    c_.weights[std::size_t(k)] = weights[std::size_t(k)] / sum;
    c_.log_weights[std::size_t(k)] = std::log(weights[std::size_t(k)]) - std::log(sum);
  }
  c_.means = std::move(means);
}

}  // namespace dlogp
DLOGP_PINNED_FP_END

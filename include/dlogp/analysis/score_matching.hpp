#pragma once
// Score-matching objectives of a score model on given points, as Monte-Carlo estimates with
// standard errors, and the continuous-time ELBO they connect to. With x_t = a x + sqrt(v) eps the
// forward kernel from the points' time t_d (a = alpha_t / alpha_{t_d},
// v = sigma_t^2 - a^2 sigma_{t_d}^2; t_d = 0: a = alpha_t, v = sigma_t^2) and a weighting lambda(t):
//
//   DSM  (1/2) int lambda E |s(t, x_t) + eps / sqrt(v)|^2 dt      (grad log p(x_t | x) = -eps/sqrt(v))
//   ISM      int lambda E [ |s|^2 / 2 + div s ] dt                (divergence: exact or Hutchinson)
//   SSM      int lambda E [ (u.s)^2 / 2 + u^T J u ] dt            (random projections u, E uu^T = I;
//                                                                  variance-reduced: |s|^2/2 + u^T J u)
// over t in [t_lo, t_hi] (t_lo == t_hi: no integral, the value at that time). All three equal
// ESM = (1/2) int lambda E_{p_t} |s - grad log p_t|^2 up to terms without the model:
//   DSM = ESM + (1/2) int lambda (D / v - F_t) dt,   ISM = SSM = ESM - (1/2) int lambda F_t dt,
// F_t = E_{p_t} |grad log p_t|^2 (Fisher information; Stein's identity E[s.eps] = sqrt(v) E[div s]
// links DSM and ISM per point: DSM integrand = ISM integrand + D / (2 v)).
//
// Likelihood weighting lambda = g^2 and the ELBO (docs/notation.md §3.6; Song et al. 2021).
// Averaging the augmented forward SDE (docs/notation.md §3.3) with s_theta over the forward noise
// from (t_lo, x_{t_lo}) to T:
//   ELBO(x) = E log pi(x_T) + D log(alpha_T / alpha_{t_lo}) - ISM_{g^2}(x)
//           = E log pi(x_T) + D log(alpha_T / alpha_{t_lo}) + (D/2) int_{t_lo}^T g^2 / v dt
//             - DSM_{g^2}(x),
// and with t_d = 0 the middle integral is lambda(t_lo) - lambda(T) (log-SNR). Averaged over data
// x ~ p_0 it gives E_p[log p_{t_lo}] - E_p[ELBO] = KL(p_T || pi) + (DSM_{g^2} - DSM_{g^2}^min),
// i.e. the DSM excess over its minimum is the data-averaged ELBO gap left after the prior
// mismatch (score_matching_elbo below). The bias of the augmented reverse SDE (docs/notation.md
// §3.6) is the same functional, (1/2) int g^2 E |s_theta - grad log q_t|^2, taken under the model's
// marginals q_t instead of the data's p_t; the two coincide only when s_theta is exact (both 0).
// See docs/samplers.md.
//
// Time sampling: uniform in t (weight lambda (t_hi - t_lo)); uniform in log-SNR (density
// g^2 / (sigma^2 |dlambda|), weight lambda sigma^2 |dlambda| / g^2, so the likelihood weighting
// becomes sigma^2 |dlambda|, bounded); or Gauss-Legendre nodes in log-SNR (deterministic in t,
// Monte Carlo over the noise only; batched, one model call per node).
//
// Randomness: term (point j, draw m) has id = first_id + j * samples + m. Its time is
// uniform(0) and its noise normals 2 + n D .. of random_stream(seed, id, purpose::data)
// (n = node), SSM projection k at node n is fill_probe(seed, id, n K + k) (purpose::probe),
// Hutchinson probes of ISM are keyed by (seed, id). Standard errors: from the spread of the
// per-point means when there are >= 2 points (valid for points drawn from the data
// distribution; conservative for fixed points), else from the spread of the draws.
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <numbers>
#include <string>
#include <type_traits>
#include <vector>

#include "dlogp/config.hpp"
#include "dlogp/core/concepts.hpp"
#include "dlogp/core/gauss_legendre.hpp"
#include "dlogp/core/parallel_chunks.hpp"
#include "dlogp/core/random.hpp"
#include "dlogp/core/threads.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/divergence/divergence.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

/// lambda(t) of the objectives.
enum class sm_weighting {
  likelihood,  ///< g^2(t): the ELBO / maximum-likelihood weighting
  sigma2,      ///< sigma^2(t): the epsilon-prediction ("simple") loss
  constant,    ///< 1
  custom,      ///< score_matching_options::weight
};

/// How the time integral is estimated.
enum class time_sampling {
  uniform,        ///< t uniform on [t_lo, t_hi]
  log_snr,        ///< log-SNR uniform (importance sampling for the likelihood weighting)
  log_snr_nodes,  ///< Gauss-Legendre nodes in log-SNR (time_nodes of them)
};

struct score_matching_options {
  std::uint64_t seed = 0;
  std::uint64_t first_id = 0;
  double t_data = 0;  ///< time of the given points; the forward kernel starts there
  double t_min = std::numeric_limits<double>::quiet_NaN();  ///< t_lo; NaN: process t_min
  double t_max = std::numeric_limits<double>::quiet_NaN();  ///< t_hi; NaN: process t_max
  long samples = 1;                                         ///< draws per point
  sm_weighting weighting = sm_weighting::likelihood;
  std::function<double(double)> weight{};  ///< lambda(t) for sm_weighting::custom
  time_sampling time = time_sampling::log_snr;
  int time_nodes = 32;                           ///< log_snr_nodes
  int projections = 1;                           ///< SSM: projections per term
  probe_kind projection = probe_kind::rademacher;  ///< SSM
  bool variance_reduced = false;                 ///< SSM-VR: |s|^2 / 2 instead of (u.s)^2 / 2
  divergence_options divergence{};               ///< ISM and the ELBO
  execution_options execution{.batch_size = 256};  ///< chunks of terms; never changes results
};

struct sm_estimate {
  double value = 0;                ///< estimate of the objective (mean over points)
  double standard_error = 0;       ///< Monte-Carlo standard error of value (see top)
  long terms = 0;                  ///< points * samples
  long score_evals = 0;            ///< score-evaluation equivalents spent
  std::vector<double> per_point;   ///< mean over the draws, one per point
};

enum class sm_objective { dsm, ism, ssm };

constexpr const char* to_string(sm_objective o) {
  return o == sm_objective::dsm ? "dsm" : o == sm_objective::ism ? "ism" : "ssm";
}

namespace detail {

template <process P>
struct sm_setup {
  double t_lo, t_hi, a_d, s2_d;  // kernel from t_data: alpha and sigma^2 there
  std::vector<double> nodes, node_weights;  // log_snr_nodes: times and weights (incl. lambda)
};

template <process P>
double sm_lambda(const P& p, const score_matching_options& opt, double t) {
  switch (opt.weighting) {
    case sm_weighting::likelihood: return p.g2(t);
    case sm_weighting::sigma2: return p.sigma2(t);
    case sm_weighting::constant: return 1.0;
    case sm_weighting::custom: return opt.weight(t);
  }
  return 0;
}

/// Kernel a, v from t_data to t.
template <process P>
void sm_kernel(const P& p, const sm_setup<P>& su, double t, double& a, double& v) {
  a = p.alpha(t) / su.a_d;
  v = p.sigma2(t) - a * a * su.s2_d;
}

template <process P>
sm_setup<P> sm_prepare(const P& p, const score_matching_options& opt, const char* who) {
  const std::string w(who);
  sm_setup<P> su{};
  su.t_lo = std::isnan(opt.t_min) ? p.t_min() : opt.t_min;
  su.t_hi = std::isnan(opt.t_max) ? p.t_max() : opt.t_max;
  const double lo = p.t_min() * (1 - 1e-12), hi = p.t_max() * (1 + 1e-12);
  for (double t : {su.t_lo, su.t_hi})
    require(std::isfinite(t) && t >= lo && t <= hi,
            w + ": time " + std::to_string(t) + " outside the process range [" +
                std::to_string(p.t_min()) + ", " + std::to_string(p.t_max()) + "]");
  require(su.t_lo <= su.t_hi, w + ": need t_min <= t_max (" + std::to_string(su.t_lo) + ", " +
                                  std::to_string(su.t_hi) + ")");
  require(std::isfinite(opt.t_data) && opt.t_data >= 0 && opt.t_data <= su.t_lo,
          w + ": need 0 <= t_data <= t_min (" + std::to_string(opt.t_data) + ")");
  require(opt.samples >= 1, w + ": samples must be >= 1 (" + std::to_string(opt.samples) + ")");
  require_execution_options(w, opt.execution);
  require(opt.weighting != sm_weighting::custom || bool(opt.weight),
          w + ": custom weighting needs options.weight");
  su.a_d = p.alpha(opt.t_data);
  su.s2_d = p.sigma2(opt.t_data);
  require(su.a_d > 0, w + ": alpha(t_data) must be > 0 (" + std::to_string(su.a_d) + ")");
  if (su.t_lo == su.t_hi) {
    // A single time: no integral, lambda(t) times the integrand.
    su.nodes = {su.t_lo};
    su.node_weights = {sm_lambda(p, opt, su.t_lo)};
  } else if (opt.time == time_sampling::log_snr_nodes) {
    require(opt.time_nodes >= 1 && opt.time_nodes <= 512,
            w + ": time_nodes must be in 1..512 (" + std::to_string(opt.time_nodes) + ")");
    std::vector<double> gx, gw;
    gauss_legendre(opt.time_nodes, gx, gw);
    const double l_lo = p.log_snr(su.t_lo), l_hi = p.log_snr(su.t_hi);
    require(std::isfinite(l_lo) && std::isfinite(l_hi),
            w + ": log-SNR time sampling needs a finite log-SNR at both ends");
    for (std::size_t n = 0; n < gx.size(); ++n) {
      const double l = 0.5 * (l_lo + l_hi) + 0.5 * (l_lo - l_hi) * gx[n];
      const double t = p.t_from_log_snr(l);
      // int lambda F dt = int lambda F sigma^2 / g^2 dl over [l_hi, l_lo]
      su.nodes.push_back(t);
      su.node_weights.push_back(0.5 * (l_lo - l_hi) * gw[n] * sm_lambda(p, opt, t) *
                                p.sigma2(t) / p.g2(t));
    }
  }
  return su;
}

/// Evaluates one objective for a batch of columns at one time t: out(j) = integrand (without
/// lambda). eps holds the noise that made X from the points (DSM). Returns evaluations per column.
template <score_model M>
class sm_integrand {
 public:
  using S = scalar_of<M>;
  sm_integrand(const M& model, const score_matching_options& opt)
      : model_(&model), opt_(&opt), div_(model, opt.divergence), jvp_(model) {}

  long operator()(sm_objective kind, const batch_context& ctx, double t, double v, int node,
                  const matrix<S>& X, const matrix<S>& eps, std::vector<double>& out) {
    const long D = X.rows(), n = X.cols();
    out.assign(static_cast<std::size_t>(n), 0.0);
    long evals = 0;
    if (kind == sm_objective::dsm) {
      s_.resize(D, n);
      model_->score(t, X, s_);
      evals = 1;
      const double r = 1.0 / std::sqrt(v);
      for (long j = 0; j < n; ++j) {
        double acc = 0;
        for (long i = 0; i < D; ++i) {
          const double d = double(s_(i, j)) + double(eps(i, j)) * r;
          acc += d * d;
        }
        out[std::size_t(j)] = 0.5 * acc;
      }
    } else if (kind == sm_objective::ism) {
      evals = div_.score_and_divergence(ctx, t, X, s_, lap_);
      for (long j = 0; j < n; ++j) {
        double acc = 0;
        for (long i = 0; i < D; ++i) acc += double(s_(i, j)) * double(s_(i, j));
        out[std::size_t(j)] = 0.5 * acc + double(lap_(j));
      }
    } else {
      const int K = opt_->projections;
      U_.resize(D, n);
      for (int k = 0; k < K; ++k) {
        for (long j = 0; j < n; ++j)
          fill_probe(ctx.seed, ctx.ids[j], node * K + k, opt_->projection, U_.data() + j * D, D);
        evals += jvp_.score_and_jvp(t, X, U_, k == 0 ? &s_ : nullptr, JU_);
        for (long j = 0; j < n; ++j) {
          double us = 0, uju = 0, ss = 0;
          for (long i = 0; i < D; ++i) {
            us += double(U_(i, j)) * double(s_(i, j));
            uju += double(U_(i, j)) * double(JU_(i, j));
            ss += double(s_(i, j)) * double(s_(i, j));
          }
          out[std::size_t(j)] += (opt_->variance_reduced ? 0.5 * ss : 0.5 * us * us) + uju;
        }
      }
      for (auto& o : out) o /= double(K);
    }
    return evals;
  }

 private:
  const M* model_;
  const score_matching_options* opt_;
  divergence_estimator<M> div_;
  score_jvp_engine<M> jvp_;
  matrix<S> s_, U_, JU_;
  vector<S> lap_;
};

/// Per-point means of `lambda-weighted integrand` over draws (and nodes), in chunks of points.
template <score_model M, process P>
sm_estimate sm_run_unguarded(sm_objective kind, const M& model, const P& p,
                   const matrix<scalar_of<M>>& points, const score_matching_options& opt,
                   const char* who) {
  using S = scalar_of<M>;
  require_dimension(model.dimension(), points.rows(), std::string(who) + ": rows of the points");
  require(points.cols() >= 1, std::string(who) + ": needs at least one point");
  if (kind == sm_objective::ssm)
    require(opt.projections >= 1, std::string(who) + ": projections must be >= 1 (" +
                                      std::to_string(opt.projections) + ")");
  const sm_setup<P> su = sm_prepare(p, opt, who);
  if (kind == sm_objective::dsm)
    require(su.t_lo > opt.t_data,
            std::string(who) + ": denoising score matching needs t_min > t_data (the kernel "
                               "score blows up at t_data; use ISM there)");
  const long N = points.cols(), D = points.rows(), Mdraw = opt.samples;
  const bool single = su.t_lo == su.t_hi;
  const bool by_nodes = single || opt.time == time_sampling::log_snr_nodes;
  double l_lo = 0, l_hi = 0;
  if (!single && opt.time == time_sampling::log_snr) {
    l_lo = p.log_snr(su.t_lo);
    l_hi = p.log_snr(su.t_hi);
    require(std::isfinite(l_lo) && std::isfinite(l_hi),
            std::string(who) + ": log-SNR time sampling needs a finite log-SNR at both ends");
  }
  // Terms (point j, draw m) flattened as j * samples + m, in chunks of batch_size terms.
  const long T = N * Mdraw;
  std::vector<double> all(static_cast<std::size_t>(T), 0.0);
  std::vector<long> evals_per_chunk(
      static_cast<std::size_t>(chunk_count(T, chunk_size(T, opt.execution))), 0);
  for_each_chunk(T, opt.execution, [&](long c, long k0, long n) {
      sm_integrand<M> f(model, opt);
      std::vector<double> out;
      long evals = 0;
      if (by_nodes) {
        // Every term at every node: one batched call per node.
        std::vector<std::uint64_t> ids(static_cast<std::size_t>(n));
        for (long j = 0; j < n; ++j) ids[std::size_t(j)] = opt.first_id + std::uint64_t(k0 + j);
        const batch_context ctx{opt.seed, ids.data(), n, true, nullptr};
        matrix<S> X(D, n), E(D, n);
        for (std::size_t q = 0; q < su.nodes.size(); ++q) {
          const double t = su.nodes[q];
          double a, v;
          sm_kernel(p, su, t, a, v);
          for (long j = 0; j < n; ++j) {
            const long point = (k0 + j) / Mdraw;
            random_stream(opt.seed, ids[std::size_t(j)], purpose::data)
                .fill_normal(2 + q * std::uint64_t(D), E.data() + j * D, D);
            for (long i = 0; i < D; ++i)
              X(i, j) = S(a * double(points(i, point)) + std::sqrt(v) * double(E(i, j)));
          }
          evals += n * f(kind, ctx, t, v, int(q), X, E, out);
          for (long j = 0; j < n; ++j)
            all[std::size_t(k0 + j)] += su.node_weights[q] * out[std::size_t(j)];
        }
      } else {
        // One time per term: the model is called on one column at a time.
        matrix<S> X(D, 1), E(D, 1);
        for (long j = 0; j < n; ++j) {
          const long point = (k0 + j) / Mdraw;
          const std::uint64_t id = opt.first_id + std::uint64_t(k0 + j);
          const random_stream rs(opt.seed, id, purpose::data);
          const double u = rs.uniform(0);
          double t, w;
          if (opt.time == time_sampling::uniform) {
            t = su.t_lo + (su.t_hi - su.t_lo) * u;
            w = sm_lambda(p, opt, t) * (su.t_hi - su.t_lo);
          } else {
            t = p.t_from_log_snr(l_hi + (l_lo - l_hi) * u);
            w = sm_lambda(p, opt, t) * p.sigma2(t) * (l_lo - l_hi) / p.g2(t);
          }
          double a, v;
          sm_kernel(p, su, t, a, v);
          rs.fill_normal(2, E.data(), D);
          for (long i = 0; i < D; ++i)
            X(i, 0) = S(a * double(points(i, point)) + std::sqrt(v) * double(E(i, 0)));
          const batch_context ctx{opt.seed, &id, 1, true, nullptr};
          evals += f(kind, ctx, t, v, 0, X, E, out);
          all[std::size_t(k0 + j)] = w * out[0];
        }
      }
      evals_per_chunk[std::size_t(c)] = evals;
  });

  sm_estimate est;
  est.terms = T;
  for (long e : evals_per_chunk) est.score_evals += e;
  est.per_point.assign(static_cast<std::size_t>(N), 0.0);
  for (long j = 0; j < N; ++j) {
    double acc = 0;
    for (long m = 0; m < Mdraw; ++m) acc += all[std::size_t(j * Mdraw + m)];
    est.per_point[std::size_t(j)] = acc / double(Mdraw);
  }
  // Mean and standard error: over the point means (>= 2 points) or over the draws (1 point).
  const std::vector<double>& v = N >= 2 ? est.per_point : all;
  double mean = 0;
  for (double x : v) mean += x;
  mean /= double(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  est.value = mean;
  est.standard_error =
      v.size() >= 2 ? std::sqrt(ss / double(v.size() - 1) / double(v.size())) : 0.0;
  return est;
}

/// sm_run_unguarded with an allocation failure reported as out_of_memory (error.hpp).
template <score_model M, process P>
sm_estimate sm_run(sm_objective kind, const M& model, const P& p,
                   const matrix<scalar_of<M>>& points, const score_matching_options& opt,
                   const char* who) {
  return translating_bad_alloc(who, [&] { return sm_run_unguarded(kind, model, p, points, opt, who); });
}

}  // namespace detail

/// Denoising score matching (see top). Needs t_min > t_data.
template <score_model M, process P>
sm_estimate denoising_score_matching(const M& model, const P& process,
                                     const matrix<scalar_of<M>>& points,
                                     const score_matching_options& opt = {}) {
  return detail::sm_run(sm_objective::dsm, model, process, points, opt,
                        "denoising_score_matching");
}

/// Implicit score matching (Hyvarinen), with the divergence from options.divergence.
template <score_model M, process P>
sm_estimate implicit_score_matching(const M& model, const P& process,
                                    const matrix<scalar_of<M>>& points,
                                    const score_matching_options& opt = {}) {
  return detail::sm_run(sm_objective::ism, model, process, points, opt,
                        "implicit_score_matching");
}

/// Sliced score matching (Song et al. 2019), options.projections per term.
template <score_model M, process P>
sm_estimate sliced_score_matching(const M& model, const P& process,
                                  const matrix<scalar_of<M>>& points,
                                  const score_matching_options& opt = {}) {
  return detail::sm_run(sm_objective::ssm, model, process, points, opt, "sliced_score_matching");
}

/// Any of the three by name (for programs that choose at run time).
template <score_model M, process P>
sm_estimate score_matching(sm_objective kind, const M& model, const P& process,
                           const matrix<scalar_of<M>>& points,
                           const score_matching_options& opt = {}) {
  return detail::sm_run(kind, model, process, points, opt, "score_matching");
}

/// E_{x_T | x} log N(x_T; 0, prior_variance I) for x at t_data, in closed form:
/// -(D/2) log(2 pi v_pi) - (a^2 |x|^2 + D v) / (2 v_pi), a, v the kernel from t_data to t_end.
template <process P, class Scalar>
double expected_prior_log_density(const P& p, double t_data, double t_end,
                                  const Eigen::Ref<const vector<Scalar>>& x,
                                  double prior_variance) {
  detail::require(std::isfinite(prior_variance) && prior_variance > 0,
                  "expected_prior_log_density: prior variance must be positive (" +
                      std::to_string(prior_variance) + ")");
  const double a = p.alpha(t_end) / p.alpha(t_data);
  const double v = p.sigma2(t_end) - a * a * p.sigma2(t_data);
  double xx = 0;
  for (long i = 0; i < x.size(); ++i) xx += double(x(i)) * double(x(i));
  const double D = double(x.size());
  return -0.5 * D * std::log(2 * std::numbers::pi * prior_variance) -
         (a * a * xx + D * v) / (2 * prior_variance);
}

/// Continuous-time ELBO (Song et al. 2021, docs/notation.md §3.6) of every point x (at opt.t_data):
///   ELBO(x) = E log pi(x_T) + D log(alpha_T / alpha_{t_lo}) - ISM_{g^2}(x)   over [t_lo, t_hi],
/// a lower bound of log q_{t_lo}(x) when t_lo = t_data (of its average over the kernel to t_lo
/// otherwise), q the model SDE's marginal started from pi = N(0, prior_variance I) at t_hi.
/// prior_variance NaN: sigma(t_hi)^2 (the usual prior). The weighting is forced to g^2.
/// The same bound as analysis/elbo.hpp's elbo(), which simulates the forward SDE: here the
/// expectation over the forward noise is taken time by time (no Euler-Maruyama O(h) term).
template <score_model M, process P>
sm_estimate score_matching_elbo(const M& model, const P& process,
                                const matrix<scalar_of<M>>& points, score_matching_options opt = {},
                                double prior_variance = std::numeric_limits<double>::quiet_NaN()) {
  opt.weighting = sm_weighting::likelihood;
  sm_estimate est =
      detail::sm_run(sm_objective::ism, model, process, points, opt, "score_matching_elbo");
  const double t_lo = std::isnan(opt.t_min) ? process.t_min() : opt.t_min;
  const double t_hi = std::isnan(opt.t_max) ? process.t_max() : opt.t_max;
  const double vp = std::isnan(prior_variance) ? process.sigma2(t_hi) : prior_variance;
  const double lin =
      double(points.rows()) * (std::log(process.alpha(t_hi)) - std::log(process.alpha(t_lo)));
  // ELBO = prior term + lin - ISM: the point-dependent prior term shifts every per-point value
  // (and, with >= 2 points, the spread they are averaged with).
  double mean = 0;
  for (long j = 0; j < points.cols(); ++j) {
    const double pt = expected_prior_log_density<P, scalar_of<M>>(process, opt.t_data, t_hi,
                                                                  points.col(j), vp);
    est.per_point[std::size_t(j)] = pt + lin - est.per_point[std::size_t(j)];
    mean += est.per_point[std::size_t(j)];
  }
  const long N = points.cols();
  if (N >= 2) {
    mean /= double(N);
    double ss = 0;
    for (double x : est.per_point) ss += (x - mean) * (x - mean);
    est.value = mean;
    est.standard_error = std::sqrt(ss / double(N - 1) / double(N));
  } else {
    est.value = est.per_point[0];  // one point: the draws' standard error stands
  }
  return est;
}

}  // namespace dlogp

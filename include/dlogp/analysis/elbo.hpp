#pragma once
// The forward-SDE ELBO (docs/notation.md §3.3, §3.6): run the augmented forward SDE
// (forward_sde.hpp) of the model's score from a data point x_0 at t0 up to t1 and average
//   log pi(x_t1) - (ell_t1 - ell_t0)
// over forward paths; pi is the prior at t1. With the exact score every path gives log p_t0(x_0)
// (up to the scheme's error); with a learned s_theta the average is Song et al.'s
// continuous-time ELBO, a lower bound of the model SDE's log q_t0(x_0), with gap
//   log q_t0(x_0) - ELBO = (1/2) int g^2 E|s_theta - grad log q_t|^2 dt
// over the forward paths from x_0 (predicted_elbo_gap, given the reference score of q_t).
// Euler-Maruyama adds an O(h) term to the estimate (docs/ground-truth.md S4).
#include <cmath>
#include <concepts>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dlogp/analysis/sde_bias.hpp"
#include "dlogp/core/column_ops.hpp"
#include "dlogp/core/concepts.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/divergence/divergence.hpp"
#include "dlogp/dynamics/forward_sde.hpp"
#include "dlogp/error.hpp"
#include "dlogp/integrate.hpp"
#include "dlogp/process/prior.hpp"
#include "dlogp/scheme/euler_maruyama.hpp"

namespace dlogp {

template <class S>
struct elbo_result {
  std::vector<mc_estimate> estimate;    ///< per data point: ELBO mean and standard error
  long paths_per_point = 0;
  vector<S> samples;                    ///< per path, point-major (path j of point m at m P + j)
  std::vector<trajectory_stats> stats;  ///< per path
};

namespace detail {

/// Repeats each column of x0 `paths` times, point-major.
template <class S>
matrix<S> repeat_columns(const matrix<S>& x0, long paths) {
  matrix<S> X(x0.rows(), x0.cols() * paths);
  for (long m = 0; m < x0.cols(); ++m)
    for (long j = 0; j < paths; ++j) X.col(m * paths + j) = x0.col(m);
  return X;
}

template <class S>
std::vector<mc_estimate> per_point(const vector<S>& samples,
                                   const std::vector<trajectory_stats>& stats, long points,
                                   long paths) {
  std::vector<mc_estimate> out;
  for (long m = 0; m < points; ++m) {
    const vector<S> seg = samples.segment(m * paths, paths);
    const std::vector<trajectory_stats> st(stats.begin() + m * paths,
                                           stats.begin() + (m + 1) * paths);
    out.push_back(summarize_paths(seg, st));
  }
  return out;
}

inline void check_forward_run(const char* who, long D, long rows, long paths, double t0,
                              double t1) {
  require_dimension(D, rows, std::string(who) + ": x0 rows");
  require(paths >= 1, std::string(who) + ": paths must be >= 1 (" + std::to_string(paths) + ")");
  require(t1 > t0, std::string(who) + ": needs t1 > t0 (forward time)");
}

/// The forward noising SDE dx = f x dt + g dW with the log p slot accumulating
/// (1/2) g^2 |s_theta - s_ref|^2 dt.
template <score_model Model, score_model Reference, process Process>
class forward_gap_integrand {
 public:
  using scalar_type = scalar_of<Model>;
  using S = scalar_type;

  forward_gap_integrand(const Model& model, const Reference& reference, Process process)
      : model_(&model), ref_(&reference), process_(std::move(process)) {}

  long dimension() const { return model_->dimension(); }
  const Process& process() const { return process_; }

  long sde_terms(const batch_context&, double t, const matrix<S>& X, const matrix<S>& Z,
                 matrix<S>& drift, vector<S>& dL, matrix<S>& noise_x, vector<S>& noise_l) {
    const double f = process_.f(t), g2 = process_.g2(t), g = std::sqrt(g2);
    drift = S(f) * X;
    noise_x = S(g) * Z;
    noise_l.setZero(X.cols());
    a_.resize(X.rows(), X.cols());
    b_.resize(X.rows(), X.cols());
    model_->score(t, X, a_);
    ref_->score(t, X, b_);
    a_ -= b_;
    column_squared_norms(a_, norms_);
    dL = (S(0.5 * g2) * norms_.array()).matrix();
    return 2;
  }

 private:
  const Model* model_;
  const Reference* ref_;
  Process process_;
  matrix<S> a_, b_;
  vector<S> norms_;
};

}  // namespace detail

/// ELBO of each column of x0 (D x M) at time t0, from `paths` forward paths per point up to
/// t1, with the prior log density `prior(X_t1, out)` (out pre-sized). Euler-Maruyama with opt
/// (seed, grid, ...); path j of point m has trajectory id first_id + m paths + j. The
/// Laplacian of the model's score comes from the divergence options (exact by default).
template <score_model Model, process Process, class Prior, class S = scalar_of<Model>>
  requires std::invocable<const Prior&, const matrix<S>&, vector<S>&>
elbo_result<S> elbo(const Model& model, const Process& process,
                    const std::type_identity_t<matrix<S>>& x0, long paths, double t0, double t1,
                    const Prior& prior, integrate_options opt = {},
                    divergence_options divergence = {}) {
  detail::check_forward_run("elbo", model.dimension(), x0.rows(), paths, t0, t1);
  opt.track_logp = true;
  const matrix<S> X = detail::repeat_columns(x0, paths);
  auto r = integrate(forward_sde<Model, Process>(model, process, divergence), euler_maruyama{}, X,
                     vector<S>::Zero(X.cols()), t0, t1, opt);
  vector<S> lp(X.cols());
  prior(r.x, lp);
  elbo_result<S> out;
  out.samples = lp - r.log_p;
  out.stats = std::move(r.stats);
  out.paths_per_point = paths;
  out.estimate = detail::per_point(out.samples, out.stats, x0.cols(), paths);
  return out;
}

/// As above with the usual prior N(0, sigma(t1)^2 I).
template <score_model Model, process Process, class S = scalar_of<Model>>
elbo_result<S> elbo(const Model& model, const Process& process,
                    const std::type_identity_t<matrix<S>>& x0, long paths, double t0, double t1,
                    integrate_options opt = {}, divergence_options divergence = {}) {
  auto prior = [&](const matrix<S>& X, vector<S>& out) {
    prior_log_density(process, t1, X, out);
  };
  return elbo(model, process, x0, paths, t0, t1, prior, opt, divergence);
}

/// Predicted gap log q_t0(x_0) - ELBO = (1/2) int g^2 E|s_theta - s_ref|^2 dt over forward
/// noising paths from each column of x0, with s_ref the score of the model SDE's marginals q_t.
/// Per point mean and standard error; same path ids and options as elbo().
template <score_model Model, score_model Reference, process Process, class S = scalar_of<Model>>
elbo_result<S> predicted_elbo_gap(const Model& model, const Reference& reference,
                                  const Process& process,
                                  const std::type_identity_t<matrix<S>>& x0, long paths,
                                  double t0, double t1, integrate_options opt = {}) {
  detail::check_forward_run("predicted_elbo_gap", model.dimension(), x0.rows(), paths, t0, t1);
  detail::require_dimension(model.dimension(), reference.dimension(),
                            "predicted_elbo_gap: reference dimension");
  opt.track_logp = true;
  const matrix<S> X = detail::repeat_columns(x0, paths);
  auto r = integrate(
      detail::forward_gap_integrand<Model, Reference, Process>(model, reference, process),
      euler_maruyama{}, X, vector<S>::Zero(X.cols()), t0, t1, opt);
  elbo_result<S> out;
  out.samples = std::move(r.log_p);
  out.stats = std::move(r.stats);
  out.paths_per_point = paths;
  out.estimate = detail::per_point(out.samples, out.stats, x0.cols(), paths);
  return out;
}

}  // namespace dlogp

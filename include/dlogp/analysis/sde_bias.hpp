#pragma once
// The bias of the augmented reverse-SDE log-density estimate with a learned score (docs/notation.md
// §3.6, Theorem 3 of the first paper): with s_theta != grad log q_t, where q_t are the marginals of
// the model's reverse SDE,
//   E[ell_end - log q_end(x_end)] = (1/2) int g^2 E_{q_t} |s_theta - grad log q_t|^2 dt >= 0.
//
//   predicted_sde_bias  Monte Carlo of the right-hand side: runs the model's reverse SDE from
//                       x_T ~ q_T (so x_t ~ q_t) and integrates (1/2) g^2 |s_theta - s_ref|^2
//                       along each path; s_ref is the reference score grad log q_t.
//   measure_sde_bias    the left-hand side: the augmented reverse SDE (reverse_sde.hpp) from
//                       ell_T = log q_T(x_T), minus the reference's log q_end(x_end); and the
//                       prediction on the SAME Brownian paths (same seed and ids: the two runs
//                       have bit-identical x), with the paired difference.
// Both are per path; the driver's threads, batches and determinism apply. With Euler-Maruyama
// the measured bias carries an O(h) discretisation term (docs/ground-truth.md S3: 0.294 at 4000
// steps against the continuous 0.2847).
#include <cmath>
#include <type_traits>
#include <utility>
#include <vector>

#include "dlogp/core/column_ops.hpp"
#include "dlogp/core/concepts.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/dynamics/reverse_sde.hpp"
#include "dlogp/error.hpp"
#include "dlogp/integrate.hpp"
#include "dlogp/scheme/euler_maruyama.hpp"

namespace dlogp {

/// Mean and standard error of a per-path sample, over the paths that finished (status ok).
struct mc_estimate {
  double mean = 0;
  double standard_error = 0;
  long paths = 0;  ///< paths used (status ok)
};

namespace detail {

template <class S>
mc_estimate summarize_paths(const vector<S>& x, const std::vector<trajectory_stats>& stats) {
  mc_estimate e;
  double sum = 0;
  for (long j = 0; j < x.size(); ++j)
    if (stats[std::size_t(j)].status == status::ok) {
      sum += double(x(j));
      ++e.paths;
    }
  if (e.paths == 0) return e;
  e.mean = sum / double(e.paths);
  double ss = 0;
  for (long j = 0; j < x.size(); ++j)
    if (stats[std::size_t(j)].status == status::ok) ss += std::pow(double(x(j)) - e.mean, 2);
  e.standard_error = e.paths > 1 ? std::sqrt(ss / double(e.paths - 1) / double(e.paths)) : 0;
  return e;
}

/// The model's reverse SDE (x exactly as reverse_sde computes it) with the log p slot
/// accumulating (1/2) g^2 |s_theta - s_ref|^2 dt over |dt| (t decreasing: dL = -integrand).
template <score_model Model, score_model Reference, process Process>
class reverse_bias_integrand {
 public:
  using scalar_type = scalar_of<Model>;
  using S = scalar_type;

  reverse_bias_integrand(const Model& model, const Reference& reference, Process process)
      : model_(&model), ref_(&reference), process_(std::move(process)) {}

  long dimension() const { return model_->dimension(); }
  const Process& process() const { return process_; }

  long sde_terms(const batch_context& ctx, double t, const matrix<S>& X, const matrix<S>& Z,
                 matrix<S>& drift, vector<S>& dL, matrix<S>& noise_x, vector<S>& noise_l) {
    const double f = process_.f(t), g2 = process_.g2(t), g = std::sqrt(g2);
    score_.resize(X.rows(), X.cols());
    ref_score_.resize(X.rows(), X.cols());
    model_->score(t, X, score_);
    drift = S(f) * X - S(g2) * score_;
    noise_x = S(g) * Z;
    noise_l.setZero(X.cols());
    if (!ctx.track_logp) {
      dL.setZero(X.cols());
      return 1;
    }
    ref_->score(t, X, ref_score_);
    diff_ = score_ - ref_score_;
    column_squared_norms(diff_, norms_);
    dL = (S(-0.5 * g2) * norms_.array()).matrix();
    return 2;
  }

 private:
  const Model* model_;
  const Reference* ref_;
  Process process_;
  matrix<S> score_, ref_score_, diff_;
  vector<S> norms_;
};

}  // namespace detail

template <class S>
struct sde_bias_prediction {
  mc_estimate bias;                     ///< (1/2) int g^2 E|s_theta - s_ref|^2 dt
  vector<S> samples;                    ///< the integral along each path
  std::vector<trajectory_stats> stats;  ///< per path (score_evals counts model + reference)
};

/// Predicted bias of the reverse-SDE estimate: Monte Carlo over the columns of x_T (draws from
/// q_T, e.g. the reference's p_T), Euler-Maruyama with opt (seed, grid, ...).
template <score_model Model, score_model Reference, process Process, class S = scalar_of<Model>>
sde_bias_prediction<S> predicted_sde_bias(const Model& model, const Reference& reference,
                                          const Process& process,
                                          const std::type_identity_t<matrix<S>>& x_T,
                                          double t_start, double t_end,
                                          integrate_options opt = {}) {
  static_assert(std::is_same_v<scalar_of<Reference>, S>,
                "predicted_sde_bias: model and reference need the same scalar_type");
  detail::require_dimension(model.dimension(), reference.dimension(),
                            "predicted_sde_bias: reference dimension");
  detail::require(t_start > t_end, "predicted_sde_bias: needs t_start > t_end (reverse time)");
  opt.track_logp = true;
  auto r = integrate(detail::reverse_bias_integrand<Model, Reference, Process>(model, reference,
                                                                               process),
                     euler_maruyama{}, x_T, vector<S>::Zero(x_T.cols()), t_start, t_end, opt);
  sde_bias_prediction<S> out;
  out.samples = std::move(r.log_p);
  out.stats = std::move(r.stats);
  out.bias = detail::summarize_paths(out.samples, out.stats);
  return out;
}

template <class S>
struct sde_bias_measurement {
  mc_estimate measured;    ///< E[ell_end - log q_end(x_end)]
  mc_estimate predicted;   ///< (1/2) int g^2 |s_theta - s_ref|^2 on the same paths
  mc_estimate difference;  ///< measured - predicted, paired per path
  vector<S> gap;           ///< ell_end - log q_end(x_end) per path
  vector<S> integral;      ///< the predicted integrand's integral per path
  matrix<S> x;             ///< end points
  std::vector<trajectory_stats> stats;
};

/// Measured bias of the augmented reverse SDE of `model` against the reference density q
/// (reference.log_density at t_start and at t_end), and the prediction on the same paths.
template <score_model Model, score_model Reference, process Process, class S = scalar_of<Model>>
  requires has_log_density<Reference>
sde_bias_measurement<S> measure_sde_bias(const Model& model, const Reference& reference,
                                         const Process& process,
                                         const std::type_identity_t<matrix<S>>& x_T,
                                         double t_start, double t_end,
                                         integrate_options opt = {}) {
  detail::require_dimension(model.dimension(), reference.dimension(),
                            "measure_sde_bias: reference dimension");
  detail::require(t_start > t_end, "measure_sde_bias: needs t_start > t_end (reverse time)");
  opt.track_logp = true;
  vector<S> L0(x_T.cols());
  reference.log_density(t_start, x_T, L0);
  auto est = integrate(reverse_sde<Model, Process>(model, process), euler_maruyama{}, x_T, L0,
                       t_start, t_end, opt);
  auto pred = predicted_sde_bias(model, reference, process, x_T, t_start, t_end, opt);
  sde_bias_measurement<S> out;
  vector<S> lq(x_T.cols());
  reference.log_density(t_end, est.x, lq);
  out.gap = est.log_p - lq;
  out.integral = pred.samples;
  out.x = std::move(est.x);
  out.stats = std::move(est.stats);
  // A path counts only if both runs finished it.
  for (std::size_t j = 0; j < out.stats.size(); ++j) {
    if (pred.stats[j].status != status::ok && out.stats[j].status == status::ok)
      out.stats[j].status = pred.stats[j].status;
    out.stats[j].add_score_evals(pred.stats[j].score_evals);
  }
  out.measured = detail::summarize_paths(out.gap, out.stats);
  out.predicted = detail::summarize_paths(out.integral, out.stats);
  const vector<S> diff = out.gap - out.integral;
  out.difference = detail::summarize_paths(diff, out.stats);
  return out;
}

}  // namespace dlogp

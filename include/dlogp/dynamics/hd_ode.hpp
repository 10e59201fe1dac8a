#pragma once
// High-density ODE (docs/notation.md §4.2, Remark 1 of the first paper): the reverse-SDE drift
// without its noise, i.e. the PF-ODE with the score doubled,
//   dy/ds = f y - g^2 s(s, y),
// with log p tracked by docs/notation.md §3.4 (u = the HD drift, v = the PF-ODE field):
//   d ell/ds = -div v + <u - v, s> = -f D + (1/2) g^2 Lap - (1/2) g^2 |s|^2.
// It drifts towards high density: exact mode of p(x_s | x_t) for Gaussian data, an approximation
// of the mode-tracking ODE (mode_tracking.hpp) otherwise, at the cost of the PF-ODE.
#include <utility>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/time_direction.hpp"
#include "dlogp/divergence/divergence.hpp"
#include "dlogp/dynamics/general.hpp"

namespace dlogp {

template <class Model, process Process>
class hd_ode {
  static_assert(assert_score_model<Model>());
 public:
  using scalar_type = scalar_of<Model>;
  using S = scalar_type;
  /// Sampling only (core/time_direction.hpp): integrate() refuses t_end > t_start.
  static constexpr dynamics_direction direction{time_direction::reverse, "hd_ode", "pf_ode"};

  hd_ode(const Model& model, Process process, divergence_options divergence = {})
      : model_(&model), process_(std::move(process)), div_(model, divergence) {}

  long dimension() const { return model_->dimension(); }
  const Process& process() const { return process_; }
  const Model& model() const { return *model_; }

  long rate(const batch_context& ctx, double t, const matrix<S>& X, matrix<S>& dX,
            vector<S>& dL) {
    const double f = process_.f(t), g2 = process_.g2(t);
    score_.resize(X.rows(), X.cols());
    long evals = 1;
    if (ctx.track_logp)
      evals = div_.score_and_divergence(ctx, t, X, score_, lap_);
    else
      model_->score(t, X, score_);
    dX = S(f) * X - S(g2) * score_;
    // The §3.4 form (not the simplified one) so that general_ode with this drift gives the
    // same numbers.
    if (ctx.track_logp)
      detail::logp_rate_along(f, g2, X, score_, lap_, dX, work_, dots_, dL);
    else
      dL.setZero(X.cols());
    return evals;
  }

 private:
  const Model* model_;
  Process process_;
  divergence_estimator<Model> div_;
  matrix<S> score_, work_;
  vector<S> lap_, dots_;
};

}  // namespace dlogp

#pragma once
// Probability-flow ODE with the instantaneous change of variables (docs/notation.md §3.1):
//   dx/dt = f x - (1/2) g^2 s,   d ell/dt = -f D + (1/2) g^2 div s.
// Sampling (t_max -> t_min) and encoding data (t_min -> t_max) are the same ODE.
#include "dlogp/core/concepts.hpp"
#include "dlogp/divergence/divergence.hpp"
#include "dlogp/dynamics/pf_ode_rates.hpp"

namespace dlogp {

template <class Model, process Process>
class pf_ode {
  static_assert(assert_score_model<Model>());
 public:
  using scalar_type = scalar_of<Model>;
  using S = scalar_type;

  pf_ode(const Model& model, Process process, divergence_options divergence = {})
      : model_(&model), process_(std::move(process)), div_(model, divergence) {}

  long dimension() const { return model_->dimension(); }
  const Process& process() const { return process_; }
  const Model& model() const { return *model_; }

  long rate(const batch_context& ctx, double t, const matrix<S>& X, matrix<S>& dX,
            vector<S>& dL) {
    const double f = process_.f(t), g2 = process_.g2(t);
    score_.resize(X.rows(), X.cols());
    long evals = 1;
    if (ctx.track_logp) {
      evals = div_.score_and_divergence(ctx, t, X, score_, div_s_);
      dL = pf_ode_log_p_rate<S>(f, g2, div_s_, X.rows());
    } else {
      model_->score(t, X, score_);
      dL.setZero(X.cols());
    }
    dX = pf_ode_velocity<S>(f, g2, X, score_);
    return evals;
  }

 private:
  const Model* model_;
  Process process_;
  divergence_estimator<Model> div_;
  matrix<S> score_;
  vector<S> div_s_;
};

}  // namespace dlogp

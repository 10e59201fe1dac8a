#pragma once
// Probability-flow ODE with the instantaneous change of variables (docs/notation.md §3.1):
//   dx/dt = f x - (1/2) g^2 s,   d ell/dt = -f D + (1/2) g^2 div s.
// Sampling (t_max -> t_min) and encoding data (t_min -> t_max) are the same ODE.
#include "dlogp/core/concepts.hpp"
#include "dlogp/divergence/divergence.hpp"

namespace dlogp {

template <score_model Model, process Process>
class pf_ode {
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
      dL = (S(0.5 * g2) * div_s_.array() - S(f * double(X.rows()))).matrix();
    } else {
      model_->score(t, X, score_);
      dL.setZero(X.cols());
    }
    dX = S(f) * X - S(0.5 * g2) * score_;
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

#pragma once
// Reverse SDE, plain or augmented (MATH §3.2, Theorem 1 of the first paper):
//   dx = (f x - g^2 s) dt + g dW-bar,
//   d ell = (-f D - (1/2) g^2 |s|^2) dt + g s^T dW-bar   (the SAME increment as x).
// Tracking log p costs two dot products per trajectory: no divergence, no extra score call.
#include <cmath>

#include "dlogp/core/column_ops.hpp"
#include "dlogp/core/concepts.hpp"

namespace dlogp {

template <score_model Model, process Process>
class reverse_sde {
 public:
  using scalar_type = scalar_of<Model>;
  using S = scalar_type;

  reverse_sde(const Model& model, Process process)
      : model_(&model), process_(std::move(process)) {}

  long dimension() const { return model_->dimension(); }
  const Process& process() const { return process_; }

  long sde_terms(const batch_context& ctx, double t, const matrix<S>& X, const matrix<S>& Z,
                 matrix<S>& drift, vector<S>& dL, matrix<S>& noise_x, vector<S>& noise_l) {
    const double f = process_.f(t), g2 = process_.g2(t), g = std::sqrt(g2);
    score_.resize(X.rows(), X.cols());
    model_->score(t, X, score_);
    drift = S(f) * X - S(g2) * score_;
    noise_x = S(g) * Z;
    if (ctx.track_logp) {
      detail::column_squared_norms(score_, norms_);
      detail::column_dots(score_, Z, s_dot_z_);
      dL = (S(-f * double(X.rows())) - S(0.5 * g2) * norms_.array()).matrix();
      noise_l = S(g) * s_dot_z_;
    } else {
      dL.setZero(X.cols());
      noise_l.setZero(X.cols());
    }
    return 1;
  }

 private:
  const Model* model_;
  Process process_;
  matrix<S> score_;
  vector<S> norms_, s_dot_z_;
};

}  // namespace dlogp

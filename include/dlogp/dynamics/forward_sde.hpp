#pragma once
// Augmented forward SDE (docs/notation.md §3.3, Theorem 2), run with dt > 0:
//   dx = f x dt + g dW,
//   d ell = (-f D + g^2 div s + (1/2) g^2 |s|^2) dt + g s^T dW.
// With a learned score, averaging log p_T(x_T) minus the increments gives the ELBO
// (docs/notation.md §3.6).
#include <cmath>

#include "dlogp/core/column_ops.hpp"
#include "dlogp/core/concepts.hpp"
#include "dlogp/core/time_direction.hpp"
#include "dlogp/divergence/divergence.hpp"

namespace dlogp {

template <class Model, process Process>
class forward_sde {
  static_assert(assert_score_model<Model>());
 public:
  using scalar_type = scalar_of<Model>;
  using S = scalar_type;
  /// The noising process (core/time_direction.hpp): integrate() refuses t_end < t_start.
  static constexpr dynamics_direction direction{time_direction::forward, "forward_sde",
                                                "reverse_sde"};

  forward_sde(const Model& model, Process process, divergence_options divergence = {})
      : model_(&model), process_(std::move(process)), div_(model, divergence) {}

  long dimension() const { return model_->dimension(); }
  const Model& model() const { return *model_; }
  const Process& process() const { return process_; }

  long sde_terms(const batch_context& ctx, double t, const matrix<S>& X, const matrix<S>& Z,
                 matrix<S>& drift, vector<S>& dL, matrix<S>& noise_x, vector<S>& noise_l) {
    const double f = process_.f(t), g2 = process_.g2(t), g = std::sqrt(g2);
    drift = S(f) * X;
    noise_x = S(g) * Z;
    if (!ctx.track_logp) {  // x alone needs no score at all
      dL.setZero(X.cols());
      noise_l.setZero(X.cols());
      return 0;
    }
    score_.resize(X.rows(), X.cols());
    const long evals = div_.score_and_divergence(ctx, t, X, score_, div_s_);
    detail::column_squared_norms(score_, norms_);
    detail::column_dots(score_, Z, s_dot_z_);
    dL = (S(-f * double(X.rows())) + S(g2) * div_s_.array() + S(0.5 * g2) * norms_.array())
             .matrix();
    noise_l = S(g) * s_dot_z_;
    return evals;
  }

 private:
  const Model* model_;
  Process process_;
  divergence_estimator<Model> div_;
  matrix<S> score_;
  vector<S> div_s_, norms_, s_dot_z_;
};

}  // namespace dlogp

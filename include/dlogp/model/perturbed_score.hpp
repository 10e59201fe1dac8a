#pragma once
// A deliberately wrong score for bias tests (docs/notation.md §3.6, docs/ground-truth.md S3/S4):
// s_theta = (1 + delta) s where s is the wrapped model's score. It is the exact score of the
// unnormalised density p^(1 + delta), so the Laplacian, Hessian, gradient of the Laplacian and the
// score JVP scale by the same factor, and are forwarded when the wrapped model has them.
// log_density and denoiser are NOT forwarded: the perturbed model has no known normalised density.
#include <cmath>
#include <string>
#include <utility>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

template <class Model>
class perturbed_score {
  static_assert(assert_score_model<Model>());
 public:
  using scalar_type = scalar_of<Model>;
  using model_type = Model;

  perturbed_score(Model model, double delta) : model_(std::move(model)), delta_(delta) {
    detail::require(std::isfinite(delta), "perturbed_score: delta is not finite (" +
                                              std::to_string(delta) + ")");
  }

  long dimension() const { return model_.dimension(); }
  double delta() const { return delta_; }
  const Model& model() const { return model_; }

  /// The wrapped model's process, when it has one.
  decltype(auto) process() const
    requires requires(const Model& m) { m.process(); }
  {
    return model_.process();
  }

  void score(double t, const matrix<scalar_type>& X, matrix<scalar_type>& S) const {
    model_.score(t, X, S);
    S *= factor();
  }

  void score_and_laplacian(double t, const matrix<scalar_type>& X, matrix<scalar_type>& S,
                           vector<scalar_type>& lap) const
    requires has_laplacian<Model>
  {
    model_.score_and_laplacian(t, X, S, lap);
    S *= factor();
    lap *= factor();
  }

  void hessian(double t, const vector<scalar_type>& x, matrix<scalar_type>& H) const
    requires has_hessian<Model>
  {
    model_.hessian(t, x, H);
    H *= factor();
  }

  void grad_laplacian(double t, const matrix<scalar_type>& X, matrix<scalar_type>& G) const
    requires has_grad_laplacian<Model>
  {
    model_.grad_laplacian(t, X, G);
    G *= factor();
  }

  void score_jvp(double t, const matrix<scalar_type>& X, const matrix<scalar_type>& V,
                 matrix<scalar_type>& S, matrix<scalar_type>& JV) const
    requires has_score_jvp<Model>
  {
    model_.score_jvp(t, X, V, S, JV);
    S *= factor();
    JV *= factor();
  }

 private:
  scalar_type factor() const { return scalar_type(1.0 + delta_); }

  Model model_;
  double delta_;
};

}  // namespace dlogp

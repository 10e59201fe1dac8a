#pragma once
// Euler-Maruyama for SDE dynamics: strong order 1/2, weak order 1. The driver draws Z.
#include <cmath>

#include "dlogp/core/pinned_fp.hpp"
#include "dlogp/scheme/scheme_traits.hpp"

DLOGP_PINNED_FP_BEGIN
namespace dlogp {

struct euler_maruyama {
  static constexpr int order = 1;  // weak order; the strong order is 1/2
  static constexpr bool adaptive = false;
  static constexpr bool stochastic = true;
  static constexpr const char* name = "euler-maruyama";
  static constexpr const char* description = "Euler-Maruyama for SDEs";

  template <class S>
  struct stepper {
    matrix<S> drift, noise_x;
    vector<S> dl, noise_l;

    /// Z holds standard normals (D x N) for this step; the same Z drives x and log p.
    template <sde_dynamics Dyn>
    long step(Dyn& dyn, const batch_context& ctx, double t, double dt, const matrix<S>& Z,
              matrix<S>& X, vector<S>& L) {
      drift.resize(X.rows(), X.cols());
      noise_x.resize(X.rows(), X.cols());
      dl.resize(X.cols());
      noise_l.resize(X.cols());
      const long evals = dyn.sde_terms(ctx, t, X, Z, drift, dl, noise_x, noise_l);
      advance(dt, X, L);
      return evals;
    }

    /// The step from terms already in drift, dl, noise_x and noise_l (for samplers that form
    /// them from a score they hold, sampler/pc.hpp).
    void advance(double dt, matrix<S>& X, vector<S>& L) const {
      const S sq = S(std::sqrt(std::abs(dt)));
      X += S(dt) * drift + sq * noise_x;
      L += S(dt) * dl + sq * noise_l;
    }
  };
};

}  // namespace dlogp
DLOGP_PINNED_FP_END

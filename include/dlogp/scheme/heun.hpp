#pragma once
// Heun (explicit trapezoid), order 2: two rate evaluations per step.
#include "dlogp/scheme/scheme_traits.hpp"

namespace dlogp {

struct heun {
  static constexpr int order = 2;
  static constexpr bool adaptive = false;
  static constexpr bool stochastic = false;
  static constexpr const char* name = "heun";
  static constexpr const char* description = "Heun, order 2";

  template <class S>
  struct stepper {
    matrix<S> k1, k2, Xp;
    vector<S> l1, l2, Lp;

    template <ode_dynamics Dyn>
    long step(Dyn& dyn, const batch_context& ctx, double t, double dt, matrix<S>& X,
              vector<S>& L) {
      k1.resize(X.rows(), X.cols());
      k2.resize(X.rows(), X.cols());
      l1.resize(X.cols());
      l2.resize(X.cols());
      long evals = dyn.rate(ctx, t, X, k1, l1);
      Xp = X + S(dt) * k1;
      Lp = L + S(dt) * l1;
      evals += dyn.rate(ctx, t + dt, Xp, k2, l2);
      X += S(0.5 * dt) * (k1 + k2);
      L += S(0.5 * dt) * (l1 + l2);
      return evals;
    }
  };
};

}  // namespace dlogp

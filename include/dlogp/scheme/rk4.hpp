#pragma once
// Classical Runge-Kutta, order 4: four rate evaluations per step.
#include "dlogp/scheme/scheme_traits.hpp"

namespace dlogp {

struct rk4 {
  static constexpr int order = 4;
  static constexpr bool adaptive = false;
  static constexpr bool stochastic = false;
  static constexpr const char* name = "rk4";
  static constexpr const char* description = "classical Runge-Kutta, order 4";

  template <class S>
  struct stepper {
    matrix<S> k1, k2, k3, k4, Xs;
    vector<S> l1, l2, l3, l4, Ls;

    template <ode_dynamics Dyn>
    long step(Dyn& dyn, const batch_context& ctx, double t, double dt, matrix<S>& X,
              vector<S>& L) {
      for (auto* k : {&k1, &k2, &k3, &k4}) k->resize(X.rows(), X.cols());
      for (auto* l : {&l1, &l2, &l3, &l4}) l->resize(X.cols());
      const S h = S(dt), h2 = S(0.5 * dt);
      long evals = dyn.rate(ctx, t, X, k1, l1);
      Xs = X + h2 * k1;
      Ls = L + h2 * l1;
      evals += dyn.rate(ctx, t + 0.5 * dt, Xs, k2, l2);
      Xs = X + h2 * k2;
      Ls = L + h2 * l2;
      evals += dyn.rate(ctx, t + 0.5 * dt, Xs, k3, l3);
      Xs = X + h * k3;
      Ls = L + h * l3;
      evals += dyn.rate(ctx, t + dt, Xs, k4, l4);
      X += (h / S(6)) * (k1 + S(2) * k2 + S(2) * k3 + k4);
      L += (h / S(6)) * (l1 + S(2) * l2 + S(2) * l3 + l4);
      return evals;
    }
  };
};

}  // namespace dlogp

#pragma once
// Explicit Euler, order 1: one rate evaluation per step.
#include "dlogp/scheme/scheme_traits.hpp"

namespace dlogp {

struct euler {
  static constexpr int order = 1;
  static constexpr bool adaptive = false;
  static constexpr bool stochastic = false;
  static constexpr const char* name = "euler";
  static constexpr const char* description = "explicit Euler, order 1";

  /// Workspace for one batch; the driver keeps one per chunk of trajectories.
  template <class S>
  struct stepper {
    matrix<S> k;
    vector<S> l;

    template <ode_dynamics Dyn>
    long step(Dyn& dyn, const batch_context& ctx, double t, double dt, matrix<S>& X,
              vector<S>& L) {
      k.resize(X.rows(), X.cols());
      l.resize(X.cols());
      const long evals = dyn.rate(ctx, t, X, k, l);
      X += S(dt) * k;
      L += S(dt) * l;
      return evals;
    }
  };
};

}  // namespace dlogp

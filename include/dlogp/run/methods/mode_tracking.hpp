#pragma once
// "mode-tracking": the mode y_s of p(x_s | x_t) (docs/notation.md §4.1) for the fixed (t, x_t) =
// (t_start, x_start), followed from y_{t_start} = x_start down to t_end (default the process's
// t_min: use a process with t_min = 0 to reach argmax p(x_0 | x_t)). log p_s(y_s) is tracked
// from init_logp at t_start. Needs the model's Hessian and the gradient of its Laplacian (the
// mixture has both), so the Laplacian is always exact: the method reads no "divergence".
#include <dlogp/dynamics/mode_tracking.hpp>

#include "common.hpp"

namespace dlogp::runner::methods {

inline run_output run_mode_tracking(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  return sample(ctx, s.t_start, [&](const matrix<double>& X0, const vector<double>& L0) {
    const mode_tracking dyn(*s.model, s.process, s.t_start);  // the anchor time is t_start
    return with_ode_scheme(s.solver.scheme, [&](auto scheme) {
      return integrate(dyn, scheme, X0, L0, s.t_start, s.t_end, ctx.options(), ctx.observer(s.t_start, s.t_end));
    });
  });
}

struct mode_tracking_method {
  static method_definition definition() {
    return {.name = "mode-tracking",
            .summary = "the mode of p(x_s | x_t), x_t = x_start at t = t_start, followed down to t_end",
            .schemes = scheme_names(ode_scheme_list{}),
            .shared_keys = {"solver"},
            .needs = {model_capability::grad_laplacian}};
  }
  static run_output run(const run_context& ctx) { return run_mode_tracking(ctx); }
};

}  // namespace dlogp::runner::methods

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
  // The anchor time is t_start.
  return sample_dynamics(ctx, ode_scheme_list{}, mode_tracking(*s.model, s.process, s.t_start));
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

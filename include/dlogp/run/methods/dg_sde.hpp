#pragma once
// "dg-sde": stochastic density guidance (docs/notation.md §5.3), Euler-Maruyama. The noise is
// phi P dW-bar with phi = phi_tilde g, P = I - s s^T / |s|^2, and phi_tilde = guidance.noise for
// t in the CLOSED window [t_lo, t_hi] = guidance.noise_window, 0 outside; the drift carries the
// Laplacian correction (and the O(1/D) Hessian term with exact_projection_term), so log p keeps
// the DG-ODE's schedule. log p is tracked by docs/notation.md §3.5 along the path actually taken.
// Blow-up of eta: status "eta_blowup", as dg-ode.
#include <cmath>
#include <limits>

#include <dlogp/dynamics/density_guidance.hpp>

#include "common.hpp"

namespace dlogp::runner::methods {

inline run_output run_dg_sde(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  dg_sde_options o;
  o.q = s.guidance.q;
  // The library's window is half-open [t_lo, t_hi); the spec's is closed, so that the default
  // [t_end, t_start] also puts noise on the first step (evaluated at t_start).
  o.noise = noise_window{s.guidance.noise, s.guidance.window_lo,
                         std::nextafter(s.guidance.window_hi, std::numeric_limits<double>::infinity())};
  o.hessian_term = s.guidance.exact_projection_term;
  o.divergence = s.divergence;
  return sample_dynamics(ctx, sde_scheme_list{}, dg_sde(*s.model, s.process, o));
}

struct dg_sde_method {
  static method_definition definition() {
    return {.name = "dg-sde",
            .summary = "stochastic density guidance: projected noise inside noise_window, same log p schedule",
            .schemes = scheme_names(sde_scheme_list{}),
            .shared_keys = {"solver", "divergence", "guidance"}};
  }
  static run_output run(const run_context& ctx) { return run_dg_sde(ctx); }
};

}  // namespace dlogp::runner::methods

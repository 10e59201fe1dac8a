#pragma once
// "dg-ode": density-guided PF-ODE (docs/notation.md §5.2), dx/dt = f x - (1/2) g^2 eta s with
// eta = 1 + sqrt(2D) Phi^{-1}(q) / |sigma s|^2; q = 0.5 is the PF-ODE bit for bit. log p is
// tracked by docs/notation.md §3.4 along the path actually taken. A trajectory whose eta blows up
// (q > 0.5 pulling it onto a mode, docs/ground-truth.md T2) stops with status "eta_blowup"
// (exit 3).
#include <dlogp/dynamics/density_guidance.hpp>

#include "common.hpp"

namespace dlogp::runner::methods {

inline run_output run_dg_ode(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  dg_ode_options o;
  o.q = s.guidance.q;
  o.divergence = s.divergence;
  return sample_dynamics(ctx, ode_scheme_list{}, dg_ode(*s.model, s.process, o));
}

struct dg_ode_method {
  static method_definition definition() {
    return {.name = "dg-ode",
            .summary = "density-guided PF-ODE: log p_0 pushed to the quantile q",
            .schemes = scheme_names(ode_scheme_list{}),
            .shared_keys = {"solver", "divergence", "guidance"}};
  }
  static run_output run(const run_context& ctx) { return run_dg_ode(ctx); }
};

}  // namespace dlogp::runner::methods

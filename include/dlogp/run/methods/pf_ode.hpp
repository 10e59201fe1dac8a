#pragma once
// "pf-ode": probability-flow ODE from t_start (high noise) to t_end, log p tracked from
// init_logp at t_start (docs/notation.md §3.1).
#include <dlogp/dynamics/pf_ode.hpp>

#include "common.hpp"
#include "dpm_schemes.hpp"

namespace dlogp::runner::methods {

inline run_output run_pf_ode(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  return sample(ctx, s.t_start, [&](const matrix<double>& X0, const vector<double>& L0) {
    const pf_ode dyn(*s.model, s.process, s.divergence);
    return with_pf_ode_scheme(s, [&](auto scheme) {
      return integrate(dyn, scheme, X0, L0, s.t_start, s.t_end, ctx.options(), ctx.observer(s.t_start, s.t_end));
    });
  });
}

struct pf_ode_method {
  static method_definition definition() {
    return {.name = "pf-ode",
            .summary = "probability-flow ODE from t_start to t_end, log p by the instantaneous change of variables",
            .schemes = pf_ode_schemes(),
            .shared_keys = {"solver", "divergence"}};
  }
  static run_output run(const run_context& ctx) { return run_pf_ode(ctx); }
};

}  // namespace dlogp::runner::methods

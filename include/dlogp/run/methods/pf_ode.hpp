#pragma once
// "pf-ode": probability-flow ODE from t_start (high noise) to t_end, log p tracked from
// init_logp at t_start (docs/notation.md §3.1).
#include <dlogp/dynamics/pf_ode.hpp>

#include "common.hpp"
#include "dpm_schemes.hpp"

namespace dlogp::runner::methods {

inline run_output run_pf_ode(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  matrix<double> X0 = start_points(ctx);
  const vector<double> L0 = s.track_logp ? high_noise_log_p(s, s.t_start, X0) : vector<double>::Zero(X0.cols());
  const pf_ode dyn(*s.model, s.process, s.divergence);
  auto r = with_pf_ode_scheme(s, [&](auto scheme) {
    return integrate(dyn, scheme, X0, L0, s.t_start, s.t_end, ctx.options(), ctx.observer(s.t_start, s.t_end));
  });
  return finish_sampling(ctx, std::move(X0), std::move(r));
}

inline method_entry pf_ode_method() { return {"pf-ode", pf_ode_schemes(), &run_pf_ode}; }

}  // namespace dlogp::runner::methods

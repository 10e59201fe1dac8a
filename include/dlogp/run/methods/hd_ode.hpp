#pragma once
// "hd-ode": the high-density ODE (docs/notation.md §4.2), dy/dt = f y - g^2 s, from t_start down to
// t_end with log p tracked from init_logp at t_start. From a noisy x_t it heads for a high-density
// point (exact mode of p(x_0 | x_t) for Gaussian data, an approximation otherwise).
#include <dlogp/dynamics/hd_ode.hpp>

#include "common.hpp"

namespace dlogp::runner::methods {

inline run_output run_hd_ode(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  matrix<double> X0 = start_points(ctx);
  const vector<double> L0 = s.track_logp ? high_noise_log_p(s, s.t_start, X0) : vector<double>::Zero(X0.cols());
  const hd_ode dyn(*s.model, s.process, s.divergence);
  auto r = with_ode_scheme(s.solver.scheme, [&](auto scheme) {
    return integrate(dyn, scheme, X0, L0, s.t_start, s.t_end, ctx.options(), ctx.observer(s.t_start, s.t_end));
  });
  return finish_sampling(ctx, std::move(X0), std::move(r));
}

inline method_entry hd_ode_method() { return {"hd-ode", scheme_names(ode_scheme_list{}), &run_hd_ode}; }

}  // namespace dlogp::runner::methods

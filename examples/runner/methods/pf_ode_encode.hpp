#pragma once
// "pf-ode-encode": the likelihood of x_start at t_start (default t_min). The PF-ODE runs up to
// t_end (default T) with ell = 0; log p_{t_start}(x_start) = log p_{t_end}(x_end) - ell_end
// (MATH.md 3.1: encoding and sampling are the same ODE).
#include <dlogp/dynamics/pf_ode.hpp>

#include "common.hpp"
#include "dpm_schemes.hpp"

namespace dlogp::runner::methods {

inline run_output run_pf_ode_encode(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  matrix<double> X0 = start_points(ctx);
  const vector<double> L0 = vector<double>::Zero(X0.cols());
  const pf_ode dyn(*s.model, s.process, s.divergence);
  auto r = with_pf_ode_scheme(s, [&](auto scheme) {
    return integrate(dyn, scheme, X0, L0, s.t_start, s.t_end, ctx.options(), ctx.observer(s.t_start, s.t_end));
  });
  return finish_encoding(ctx, std::move(X0), std::move(r));
}

inline method_entry pf_ode_encode_method() {
  return {"pf-ode-encode", pf_ode_schemes(), &run_pf_ode_encode};
}

}  // namespace dlogp::runner::methods

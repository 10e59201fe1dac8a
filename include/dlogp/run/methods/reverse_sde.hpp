#pragma once
// "reverse-sde": the augmented reverse SDE (docs/notation.md §3.2), Euler-Maruyama from t_start
// down to t_end; log p follows each path with the same Brownian increments as x.
#include <dlogp/dynamics/reverse_sde.hpp>

#include "common.hpp"

namespace dlogp::runner::methods {

inline run_output run_reverse_sde(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  matrix<double> X0 = start_points(ctx);
  const vector<double> L0 = s.track_logp ? high_noise_log_p(s, s.t_start, X0) : vector<double>::Zero(X0.cols());
  const reverse_sde dyn(*s.model, s.process);
  auto r = integrate(dyn, euler_maruyama{}, X0, L0, s.t_start, s.t_end, ctx.options(),
                     ctx.observer(s.t_start, s.t_end));
  return finish_sampling(ctx, std::move(X0), std::move(r));
}

inline method_entry reverse_sde_method() { return {"reverse-sde", scheme_names(sde_scheme_list{}), &run_reverse_sde}; }

}  // namespace dlogp::runner::methods

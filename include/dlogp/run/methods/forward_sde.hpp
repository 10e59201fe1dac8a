#pragma once
// "forward-sde": the augmented forward SDE (docs/notation.md §3.3) from x_start at t_start up to
// t_end. log p_{t_start}(x_start) is estimated as log p_{t_end}(x_end) minus the tracked
// increments: exact path by path with the exact score as the step shrinks, but ONE noisy path per
// trajectory (average several seeds or trajectories for a mean).
#include <dlogp/dynamics/forward_sde.hpp>

#include "common.hpp"

namespace dlogp::runner::methods {

inline run_output run_forward_sde(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  matrix<double> X0 = start_points(ctx);
  const vector<double> L0 = vector<double>::Zero(X0.cols());
  const forward_sde dyn(*s.model, s.process, s.divergence);
  auto r = integrate(dyn, euler_maruyama{}, X0, L0, s.t_start, s.t_end, ctx.options(),
                     ctx.observer(s.t_start, s.t_end));
  return finish_encoding(ctx, std::move(X0), std::move(r));
}

inline method_entry forward_sde_method() { return {"forward-sde", scheme_names(sde_scheme_list{}), &run_forward_sde}; }

}  // namespace dlogp::runner::methods

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
  const forward_sde dyn(*s.model, s.process, s.divergence);
  return encode(ctx, [](matrix<double>&) {}, [&](const matrix<double>& X0, const vector<double>& L0) {
    return integrate_spec(ctx, sde_scheme_list{}, dyn, X0, L0);
  });
}

struct forward_sde_method {
  static method_definition definition() {
    return {.name = "forward-sde",
            .dir = direction::encoding,
            .summary = "augmented forward SDE from x_start: a single-path estimate of log p_{t_start}(x_start)",
            .schemes = scheme_names(sde_scheme_list{}),
            .shared_keys = {"solver", "divergence"}};
  }
  static run_output run(const run_context& ctx) { return run_forward_sde(ctx); }
};

}  // namespace dlogp::runner::methods

#pragma once
// "langevin": unadjusted Langevin dynamics targeting p_{t_end} at the fixed time t_end,
// x' = x + a s + sqrt(2a) z, from x_start (or n prior draws at t_start). log p_{t_end} is
// tracked from init_logp evaluated AT t_end at the start points (use "exact": the prior at a
// small t_end is a poor start) by the trapezoid line integral (docs/samplers.md); logp and
// logp_exact are log p_{t_end} of the final x. Keys: langevin {steps, step_size}. The library
// sampler has no step observer: `record` keeps the final state only.
#include <dlogp/sampler/langevin.hpp>

#include "common.hpp"

namespace dlogp::runner::methods {

/// Progress bar: the samplers report only at the end.
inline void mark_all_done(const run_context& ctx, long n) {
  if (ctx.progress)
    for (long j = 0; j < n; ++j) ctx.progress->update(j, 0, 1, 1.0, true);
}

inline run_output run_langevin(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  const json& k = s.filled.at("langevin");
  matrix<double> X0 = start_points(ctx);
  const vector<double> L0 = s.track_logp ? high_noise_log_p(s, s.t_end, X0) : vector<double>::Zero(X0.cols());
  langevin_options o;
  o.seed = s.seed;
  o.first_id = ctx.first_id();
  o.steps = k.at("steps").get<long>();
  o.step_size = k.at("step_size").get<double>();
  o.track_logp = s.track_logp;
  o.execution.threads = ctx.threads;
  auto r = langevin(*s.model, s.t_end, X0, L0, o);
  mark_all_done(ctx, X0.cols());
  return finish_sampling(ctx, std::move(X0), std::move(r));
}

inline method_entry langevin_method() { return {"langevin", {}, &run_langevin}; }

}  // namespace dlogp::runner::methods

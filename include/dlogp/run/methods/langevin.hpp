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

inline run_output run_langevin(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  const json& k = s.filled.at("langevin");
  langevin_options o;
  o.seed = s.seed;
  o.first_id = ctx.first_id();
  o.steps = k.at("steps").get<long>();
  o.step_size = k.at("step_size").get<double>();
  o.track_logp = s.track_logp;
  o.execution.threads = ctx.threads;
  return sample(ctx, s.t_end, [&](const matrix<double>& X0, const vector<double>& L0) {
    auto r = langevin(*s.model, s.t_end, X0, L0, o);
    mark_all_done(ctx, X0.cols());
    return r;
  });
}

struct langevin_method {
  static method_definition definition() {
    return {
        .name = "langevin",
        .summary = "Langevin dynamics at t_end from x_start (or prior draws at t_start), log p by the trapezoid rule",
        .own_keys = {
            key("langevin",
                object_node("langevin: unadjusted Langevin moves x' = x + a s + sqrt(2a) z at the fixed time t_end.",
                            {key("steps", integer_node("Number of moves.").at_least(0).at_most(1e9).def(1000)),
                             key("step_size", number_node("Step size a.").above(0).def(1e-3))}))}};
  }
  static run_output run(const run_context& ctx) { return run_langevin(ctx); }
};

}  // namespace dlogp::runner::methods

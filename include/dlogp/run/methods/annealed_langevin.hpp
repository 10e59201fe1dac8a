#pragma once
// "annealed-langevin": annealed Langevin dynamics (NCSN) from x_start (or n prior draws) at
// t_start down to t_end: `levels` noise levels equally spaced in log-SNR (a geometric ladder of
// sigma/alpha), `steps_per_level` moves at each with a_i = step_factor sigma(t_i)^2. log p is
// tracked from init_logp at t_start: trapezoid per move, and between levels the Fokker-Planck
// rate at fixed x by `level_nodes` Gauss-Legendre nodes in log-SNR (uses `divergence`).
// levels = 1: every move at t_end (Langevin with a = step_factor sigma(t_end)^2, started with
// init_logp at t_start, so then use t_start close to t_end or accept the mismatch).
// Keys: annealed_langevin {levels, steps_per_level, step_factor, level_nodes}. The library
// sampler has no step observer: `record` keeps the final state only.
#include <dlogp/sampler/langevin.hpp>

#include "common.hpp"
#include "langevin.hpp"

namespace dlogp::runner::methods {

inline annealed_langevin_options annealed_langevin_options_of(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  const json& k = s.filled.at("annealed_langevin");
  annealed_langevin_options o;
  o.seed = s.seed;
  o.first_id = ctx.first_id();
  o.levels = k.at("levels").get<long>();
  o.steps_per_level = k.at("steps_per_level").get<long>();
  o.step_factor = k.at("step_factor").get<double>();
  o.level_nodes = int(k.at("level_nodes").get<long>());
  o.t_start = s.t_start;
  o.t_end = s.t_end;
  o.track_logp = s.track_logp;
  o.divergence = s.divergence;
  o.execution.threads = ctx.threads;
  return o;
}

inline run_output run_annealed_langevin(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  matrix<double> X0 = start_points(ctx);
  const vector<double> L0 = s.track_logp ? high_noise_log_p(s, s.t_start, X0) : vector<double>::Zero(X0.cols());
  const annealed_langevin_options o = annealed_langevin_options_of(ctx);
  auto r = annealed_langevin(*s.model, s.process, X0, L0, o);
  mark_all_done(ctx, X0.cols());
  return finish_sampling(ctx, std::move(X0), std::move(r));
}

inline method_entry annealed_langevin_method() { return {"annealed-langevin", {}, &run_annealed_langevin}; }

}  // namespace dlogp::runner::methods

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
  const annealed_langevin_options o = annealed_langevin_options_of(ctx);
  return sample(ctx, s.t_start, [&](const matrix<double>& X0, const vector<double>& L0) {
    auto r = annealed_langevin(*s.model, s.process, X0, L0, o);
    mark_all_done(ctx, X0.cols());
    return r;
  });
}

/// The level ladder is uniform in log-SNR (finite at both ends when levels >= 2) and
/// a_i = step_factor sigma(t_i)^2 needs sigma(t_end) > 0.
/// Every move is counted in 32 bits (trajectory_stats): levels * steps_per_level is bounded.
inline void check_annealed_langevin(const method_check_input& in) {
  using runner::detail::num;
  const long levels = in.filled["annealed_langevin"].at("levels").get<long>();
  const long moves = in.filled["annealed_langevin"].at("steps_per_level").get<long>();
  if (levels > max_step_count / moves)
    throw spec_error("/annealed_langevin/steps_per_level",
                     "annealed-langevin: levels * steps_per_level must be <= " + std::to_string(max_step_count) +
                         " (got " + std::to_string(levels) + " * " + std::to_string(moves) + ")");
  if (levels >= 2) require_finite_log_snr_at_ends(in, "", "annealed-langevin (levels equally spaced in log-SNR)");
  if (!(in.process.sigma2(in.t_end) > 0))
    throw spec_error("/t_end", "annealed-langevin needs sigma(t_end) > 0 (step size step_factor sigma^2; got t_end = " +
                                   num(in.t_end) + ")");
}

struct annealed_langevin_method {
  static method_definition definition() {
    return {
        .name = "annealed-langevin",
        .summary = "annealed Langevin dynamics (NCSN) on a log-SNR ladder from t_start to t_end, with log p",
        .shared_keys = {"divergence"},
        .own_keys = {key(
            "annealed_langevin",
            object_node(
                "annealed-langevin (NCSN): levels from t_start to t_end equally spaced in log-SNR, steps_per_level "
                "moves "
                "at each with a_i = step_factor sigma(t_i)^2.",
                {key("levels", integer_node("Number of noise levels L (1: every move at t_end).")
                                   .at_least(1)
                                   .at_most(1e6)
                                   .def(10)),
                 key("steps_per_level", integer_node("Moves K per level.").at_least(1).at_most(1e9).def(100)),
                 key("step_factor",
                     number_node("c in a_i = c sigma(t_i)^2 (NCSN's eps / sigma_L^2).").above(0).def(0.2)),
                 key("level_nodes",
                     integer_node("Gauss-Legendre nodes for log p between levels.").at_least(1).at_most(16).def(4))}))},
        .check = &check_annealed_langevin};
  }
  static run_output run(const run_context& ctx) { return run_annealed_langevin(ctx); }
};

}  // namespace dlogp::runner::methods

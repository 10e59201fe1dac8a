#pragma once
// "pc": predictor-corrector sampling from x_start (or n prior draws) at t_start down to t_end on
// the run's grid (solver.steps, solver.grid): at each grid time `corrector_steps` Langevin moves
// with Song et al.'s signal-to-noise step rule (norms averaged over a fixed pilot ensemble of
// `snr_pilot` prior draws, so results never depend on the batch), then one Euler-Maruyama step
// of the reverse SDE. log p from init_logp at t_start: augmented reverse SDE + trapezoid.
// corrector_steps = 0 is reverse-sde with euler-maruyama bit for bit. The summary adds
// "pc": {"corrector_step_sizes": [steps * corrector_steps, step-major], "pilot_score_evals"}
// (pilot evaluations are not in any result's score_evals). Keys: solver, pc {corrector_steps,
// snr, snr_pilot}. No step observer: `record` keeps the final state only.
#include <dlogp/sampler/pc.hpp>

#include "common.hpp"
#include "langevin.hpp"

namespace dlogp::runner::methods {

inline run_output run_pc(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  const json& k = s.filled.at("pc");
  pc_options o;
  o.seed = s.seed;
  o.first_id = ctx.first_id();
  o.grid = s.solver.grid;
  o.corrector_steps = k.at("corrector_steps").get<long>();
  o.snr = k.at("snr").get<double>();
  o.snr_pilot = k.at("snr_pilot").get<long>();
  o.track_logp = s.track_logp;
  o.execution.threads = ctx.threads;
  json extra = json::object();
  run_output out = sample(ctx, s.t_start, [&](const matrix<double>& X0, const vector<double>& L0) {
    pc_result<double> r = predictor_corrector(*s.model, s.process, X0, L0, s.t_start, s.t_end, o);
    mark_all_done(ctx, X0.cols());
    extra["corrector_step_sizes"] = r.corrector_step_sizes;
    extra["pilot_score_evals"] = r.pilot_score_evals;
    return std::move(static_cast<integration_result<double>&>(r));
  });
  out.summary_extra["pc"] = std::move(extra);
  return out;
}

/// pc's step-size table (in the library, and again as numbers in the summary) and its pilot
/// trajectories.
inline method_tables pc_tables(const json& f, double D, double grid_steps) {
  const json& pc = f["pc"];
  double bytes = grid_steps * pc["corrector_steps"].get<double>() * (8.0 + 64.0);  // table + its JSON
  bytes += pc["snr_pilot"].get<double>() * (4.0 * D * 8.0 + 256.0);                // pilot trajectories
  return {bytes, "/pc/corrector_steps"};
}

struct pc_method {
  static method_definition definition() {
    return {
        .name = "pc",
        .summary = "predictor-corrector: reverse-SDE Euler-Maruyama + Langevin corrector (SNR rule), with log p",
        .schemes = scheme_names(sde_scheme_list{}),
        .shared_keys = {"solver"},
        .own_keys = {key(
            "pc",
            object_node(
                "pc: corrector_steps Langevin moves before each reverse-SDE Euler-Maruyama step (solver.steps, "
                "solver.grid).",
                {key("corrector_steps",
                     integer_node("Langevin moves M per step (0: reverse-sde).").at_least(0).at_most(1e6).def(1)),
                 key("snr", number_node("r of the signal-to-noise rule e = 2 a_i (r |z| / |s|)^2.").above(0).def(0.16)),
                 key("snr_pilot", integer_node("Prior draws whose averaged norms set the step sizes.")
                                      .at_least(1)
                                      .at_most(1e6)
                                      .def(64))}))},
        .tables = &pc_tables};
  }
  static run_output run(const run_context& ctx) { return run_pc(ctx); }
};

}  // namespace dlogp::runner::methods

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
  matrix<double> X0 = start_points(ctx);
  const vector<double> L0 = s.track_logp ? high_noise_log_p(s, s.t_start, X0) : vector<double>::Zero(X0.cols());
  pc_options o;
  o.seed = s.seed;
  o.first_id = ctx.first_id();
  o.grid = s.solver.grid;
  o.corrector_steps = k.at("corrector_steps").get<long>();
  o.snr = k.at("snr").get<double>();
  o.snr_pilot = k.at("snr_pilot").get<long>();
  o.track_logp = s.track_logp;
  o.execution.threads = ctx.threads;
  pc_result<double> r = predictor_corrector(*s.model, s.process, X0, L0, s.t_start, s.t_end, o);
  mark_all_done(ctx, X0.cols());
  json extra = json::object();
  extra["corrector_step_sizes"] = r.corrector_step_sizes;
  extra["pilot_score_evals"] = r.pilot_score_evals;
  run_output out = finish_sampling(ctx, std::move(X0), std::move(static_cast<integration_result<double>&>(r)));
  out.summary_extra["pc"] = std::move(extra);
  return out;
}

inline method_entry pc_method() { return {"pc", scheme_names(sde_scheme_list{}), &run_pc}; }

}  // namespace dlogp::runner::methods

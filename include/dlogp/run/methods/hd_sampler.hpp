#pragma once
// "hd-sampler": the high-density sampler (docs/notation.md §4.2, Algorithm 1) through the library's
// sample_high_density: first_phase (PF-ODE, or the augmented reverse SDE by Euler-Maruyama)
// from t_start down to threshold, then the HD-ODE down to t_end, log p tracked through both.
//
// Numerics. Fixed-step schemes: the run's grid (solver.steps, solver.grid over
// [t_end, t_start]) with the threshold inserted, each phase taking its own part, so that
// threshold = t_end reproduces the first phase's method (pf-ode or reverse-sde) bit for bit and
// threshold = t_start the hd-ode. An adaptive scheme (dopri5): each phase adaptive with the same rtol / atol, and
// max_steps per phase; a reverse-SDE first phase still takes its part of the fixed grid.
// solver.scheme is the HD-ODE's (and the PF-ODE phase's) scheme.
#include <cmath>
#include <limits>
#include <vector>

#include <dlogp/high_density.hpp>

#include "common.hpp"

namespace dlogp::runner::methods {

namespace detail {

/// The run's fixed-step grid cut at the threshold into [t_start .. thr] and [thr .. t_end].
inline void split_grid(const run_spec& s, double thr, std::vector<double>& first, std::vector<double>& second) {
  const std::vector<double> all = make_time_grid(s.process, s.solver.grid, s.t_start, s.t_end);
  first.clear();
  second.clear();
  for (double t : all)
    if (t > thr) first.push_back(t);
  first.push_back(thr);
  second.push_back(thr);
  for (double t : all)
    if (t < thr) second.push_back(t);
  // The ends are the run's own (the library checks them exactly).
  first.front() = s.t_start;
  second.back() = s.t_end;
}

}  // namespace detail

inline run_output run_hd_sampler(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  high_density_options o;
  o.threshold = s.filled.at("threshold").get<double>();
  o.first_phase = s.filled.at("first_phase") == "reverse-sde" ? first_phase_kind::reverse_sde : first_phase_kind::pf_ode;
  const bool adaptive = find_scheme(s.solver.scheme)->adaptive;
  for (phase_options* ph : {&o.first, &o.second}) {
    ph->scheme = s.solver.scheme;
    ph->tolerance = s.solver.tolerance;
  }
  // A reverse-SDE first phase always takes the fixed grid (also when the HD-ODE is dopri5).
  if (!adaptive || o.first_phase == first_phase_kind::reverse_sde) {
    std::vector<double> first, second;
    detail::split_grid(s, o.threshold, first, second);
    o.first.grid.times = std::move(first);
    if (!adaptive) o.second.grid.times = std::move(second);
  }
  o.divergence = s.divergence;
  o.t_start = s.t_start;
  o.t_end = s.t_end;
  o.seed = s.seed;
  o.first_id = ctx.first_id();
  o.track_logp = s.track_logp;
  o.execution.threads = ctx.threads;

  // The observer: phase 0 down to the threshold, phase 1 after it (the HD-ODE's step 0 repeats
  // the threshold state). A phase of zero length is skipped, so then there is only one.
  const double thr = o.threshold;
  const bool two = thr < s.t_start && thr > s.t_end;
  step_observer<double> observer;
  if (!two) {
    observer = ctx.observer(s.t_start, s.t_end);
  } else if (auto a = ctx.observer(s.t_start, thr, 0, 2)) {
    auto b = ctx.observer(thr, s.t_end, 1, 2);
    observer = [a, b, thr](const step_view<double>& v) {
      const bool second = v.t < thr || (v.t == thr && v.step == 0);
      (second ? b : a)(v);
    };
  }
  return sample(ctx, s.t_start, [&](const matrix<double>& X0, const vector<double>& L0) {
    return sample_high_density(*s.model, s.process, X0, L0, o, observer);
  });
}

/// threshold: by default where alpha = sigma (log-SNR 0) if that lies inside the run, else the
/// middle of the run; always inside [t_end, t_start].
inline void check_threshold(const method_check_input& in) {
  using runner::detail::num;
  const double lo = std::min(in.t_start, in.t_end), hi = std::max(in.t_start, in.t_end);
  json& thr = in.filled["threshold"];
  if (thr.is_null()) {
    double t0 = std::numeric_limits<double>::quiet_NaN();
    try {
      t0 = in.process.t_from_log_snr(0.0);
    } catch (...) {
    }
    thr = (t0 > lo && t0 < hi) ? t0 : 0.5 * (lo + hi);
  }
  const double t = thr.get<double>();
  if (!(t >= lo && t <= hi))
    throw spec_error("/threshold", "must lie in [t_end, t_start] = [" + num(lo) + ", " + num(hi) + "] (got " + num(t) + ")");
}

struct hd_sampler_method {
  static method_definition definition() {
    return {
        .name = "hd-sampler",
        .summary = "first_phase (pf-ode or reverse-sde) down to threshold, then the HD-ODE",
        .schemes = scheme_names(ode_scheme_list{}),
        .shared_keys = {"solver", "divergence"},
        .own_keys = {key("threshold",
                         number_node("hd-sampler: the time at which the HD-ODE takes over, in [t_end, t_start].")
                             .at_least(0)
                             .computed("the time where alpha = sigma (log-SNR 0) if inside the run, else the middle")),
                     key("first_phase",
                         string_node("hd-sampler: dynamics before threshold.", {"pf-ode", "reverse-sde"}, "first phase")
                             .def("pf-ode"))},
        .check = &check_threshold};
  }
  static run_output run(const run_context& ctx) { return run_hd_sampler(ctx); }
};

}  // namespace dlogp::runner::methods

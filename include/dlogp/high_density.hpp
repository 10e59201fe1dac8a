#pragma once
// The high-density sampler (docs/notation.md §4.2, Algorithm 1 of the first paper) as one call:
//   x_T ~ prior (or given) -> PF-ODE or augmented reverse SDE from T to a threshold t_thr
//   -> HD-ODE from t_thr to t_min,
// with log p tracked through both phases and the statistics of both summed per trajectory.
// t_thr = T gives the HD-ODE from T (cartoon-like global high-density points); t_thr = t_min is
// the plain sampler; in between, a small t_thr keeps the content and removes detail.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/time_grid.hpp"
#include "dlogp/divergence/divergence.hpp"
#include "dlogp/dynamics/hd_ode.hpp"
#include "dlogp/dynamics/pf_ode.hpp"
#include "dlogp/dynamics/reverse_sde.hpp"
#include "dlogp/error.hpp"
#include "dlogp/integrate.hpp"
#include "dlogp/process/prior.hpp"
#include "dlogp/scheme/catalogue.hpp"

namespace dlogp {

/// Dynamics of the first phase (T -> t_thr).
enum class first_phase_kind {
  pf_ode,       ///< deterministic; log p by the instantiated change of variables
                ///< (docs/notation.md §3.1)
  reverse_sde,  ///< stochastic, Euler-Maruyama; log p by the augmented SDE (docs/notation.md §3.2)
};

inline constexpr std::string_view to_string(first_phase_kind k) {
  return k == first_phase_kind::pf_ode ? "pf-ode" : "reverse-sde";
}
/// Numerics of one phase. `scheme` names an entry of ode_scheme_list (scheme/catalogue.hpp); the
/// reverse-SDE phase ignores it (Euler-Maruyama).
struct phase_options {
  std::string scheme = heun::name;
  time_grid_options grid{.steps = 500};  ///< fixed-step schemes; times span the phase
  step_tolerance tolerance{};            ///< adaptive schemes (dopri5)
};

struct high_density_options {
  double threshold = std::numeric_limits<double>::quiet_NaN();  ///< t_thr (required)
  first_phase_kind first_phase = first_phase_kind::pf_ode;
  phase_options first{};   ///< T -> t_thr
  phase_options second{};  ///< t_thr -> t_min (HD-ODE)
  divergence_options divergence{};  ///< Laplacian for the PF-ODE and HD-ODE log p rates
  double t_start = std::numeric_limits<double>::quiet_NaN();  ///< default: process t_max
  double t_end = std::numeric_limits<double>::quiet_NaN();    ///< default: process t_min
  std::uint64_t seed = 0;  ///< prior, Brownian increments and Hutchinson probes
  bool track_logp = true;
  std::uint64_t first_id = 0;     ///< trajectory id of column 0
  execution_options execution{};  ///< never changes results
};

namespace detail {

inline integrate_options phase_integrate_options(const high_density_options& o,
                                                 const phase_options& ph,
                                                 std::uint64_t first_id) {
  return {.seed = o.seed,
          .grid = ph.grid,
          .tolerance = ph.tolerance,
          .track_logp = o.track_logp,
          .first_id = first_id,
          .execution = o.execution};
}

template <class Dyn, class S>
integration_result<S> integrate_ode_phase(const Dyn& dyn, const std::string& scheme,
                                          const matrix<S>& X, const vector<S>& L, double t0,
                                          double t1, const integrate_options& opt,
                                          const step_observer<S>& observer) {
  return with_scheme(ode_scheme_list{}, scheme, [&](auto sch) {
    return integrate(dyn, sch, X, L, t0, t1, opt, observer);
  });
}

inline void add_stats(trajectory_stats& into, const trajectory_stats& more) {
  into.add_score_evals(more.score_evals);
  into.accepted += more.accepted;
  into.rejected += more.rejected;
  into.t_reached = more.t_reached;
  into.status = more.status;
}

}  // namespace detail

/// Algorithm 1 from given start states x_start at t_start (default the process's t_max) with
/// log_p_start = log p_{t_start}(x_start). Returns x and the tracked log p at t_end (default
/// t_min) with per-trajectory stats summed over both phases. A trajectory that fails in the
/// first phase keeps that phase's state and status and does not enter the second. The observer
/// sees both phases (step numbers restart at 0 at the threshold).
template <score_model Model, process Process, class S = scalar_of<Model>>
integration_result<S> sample_high_density(const Model& model, const Process& process,
                                          const std::type_identity_t<matrix<S>>& x_start,
                                          const std::type_identity_t<vector<S>>& log_p_start,
                                          const high_density_options& opt,
                                          const std::type_identity_t<step_observer<S>>& observer = {}) {
  const double t0 = std::isnan(opt.t_start) ? process.t_max() : opt.t_start;
  const double t1 = std::isnan(opt.t_end) ? process.t_min() : opt.t_end;
  const double thr = opt.threshold;
  detail::require(std::isfinite(thr), "high_density: threshold must be set and finite (" +
                                          std::to_string(thr) + ")");
  detail::require(t0 > t1, "high_density: need t_start > t_end (" + std::to_string(t0) + ", " +
                               std::to_string(t1) + ")");
  detail::require(thr <= t0 && thr >= t1, "high_density: threshold " + std::to_string(thr) +
                                              " outside [t_end, t_start] = [" +
                                              std::to_string(t1) + ", " + std::to_string(t0) +
                                              "]");
  for (const phase_options* ph : {&opt.first, &opt.second})
    detail::require(has_scheme(ode_scheme_list{}, ph->scheme),
                    "high_density: unknown ODE scheme \"" + ph->scheme + "\"");
  return detail::translating_bad_alloc("high_density", [&] {
    const long N = x_start.cols();
    integration_result<S> result{x_start, log_p_start,
                                 std::vector<trajectory_stats>(std::size_t(N))};
    for (auto& st : result.stats) st.t_reached = t0;

    // Phase 1: T -> t_thr.
    if (thr < t0) {
      const integrate_options o = detail::phase_integrate_options(opt, opt.first, opt.first_id);
      if (opt.first_phase == first_phase_kind::reverse_sde)
        result = integrate(reverse_sde(model, process), euler_maruyama{}, x_start, log_p_start, t0,
                           thr, o, observer);
      else
        result = detail::integrate_ode_phase(pf_ode(model, process, opt.divergence),
                                             opt.first.scheme, x_start, log_p_start, t0, thr, o,
                                             observer);
    } else {
      // Nothing ran yet, but the dimensions must still be checked here.
      detail::require_dimension(model.dimension(), x_start.rows(), "high_density: x_start rows");
      detail::require_dimension(N, log_p_start.size(),
                                "high_density: log_p size vs number of trajectories");
    }
    if (thr <= t1) return result;

    // Phase 2: HD-ODE t_thr -> t_end, on each contiguous run of trajectories that finished phase
    // 1, keeping their ids (the probes, and so the results, depend on the id only).
    const hd_ode<Model, Process> hd(model, process, opt.divergence);
    long j = 0;
    while (j < N) {
      if (result.stats[std::size_t(j)].status != status::ok) {
        ++j;
        continue;
      }
      long j1 = j;
      while (j1 < N && result.stats[std::size_t(j1)].status == status::ok) ++j1;
      const long n = j1 - j;
      const integrate_options o =
          detail::phase_integrate_options(opt, opt.second, opt.first_id + std::uint64_t(j));
      step_observer<S> shifted;
      if (observer)
        shifted = [&observer, j](const step_view<S>& v) {
          observer({v.ids, v.first_column + j, v.step, v.t, v.X, v.log_p, v.statuses});
        };
      const matrix<S> X = result.x.middleCols(j, n);
      const vector<S> L = result.log_p.segment(j, n);
      const auto r = detail::integrate_ode_phase(hd, opt.second.scheme, X, L, thr, t1, o, shifted);
      result.x.middleCols(j, n) = r.x;
      result.log_p.segment(j, n) = r.log_p;
      for (long k = 0; k < n; ++k)
        detail::add_stats(result.stats[std::size_t(j + k)], r.stats[std::size_t(k)]);
      j = j1;
    }
    return result;
  });
}

/// Algorithm 1 from the prior: x_T = sigma_T z (z from random_stream(seed, id, prior)) and
/// log p_T = the prior log density N(0, sigma_T^2 I) (docs/notation.md §1).
template <score_model Model, process Process, class S = scalar_of<Model>>
integration_result<S> sample_high_density(const Model& model, const Process& process, long n,
                                          const high_density_options& opt,
                                          const std::type_identity_t<step_observer<S>>& observer = {}) {
  detail::require(n >= 0, "high_density: number of samples must be >= 0 (" +
                              std::to_string(n) + ")");
  const double t0 = std::isnan(opt.t_start) ? process.t_max() : opt.t_start;
  return detail::translating_bad_alloc("high_density", [&] {
    matrix<S> X(model.dimension(), n);
    sample_prior(process, t0, opt.seed, opt.first_id, X);
    vector<S> L;
    prior_log_density(process, t0, X, L);
    return sample_high_density<Model, Process, S>(model, process, X, L, opt, observer);
  });
}

}  // namespace dlogp

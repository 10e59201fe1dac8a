#pragma once
// Predictor-corrector sampling (Song et al. 2021, "reverse diffusion + Langevin"): on a grid
// t_0 = t_start > ... > t_N = t_end, at each t_i
//   corrector: M Langevin moves targeting p_{t_i}, x' = x + e s + sqrt(2 e) z   (langevin.hpp)
//   predictor: one Euler-Maruyama step of the reverse SDE to t_{i+1}   (docs/notation.md §3.2)
// with log p carried along: the predictor by the augmented reverse SDE (same increment as x),
// each corrector move by the trapezoid line integral (1/2)(s(x) + s(x')).(x' - x). Tracking log p
// costs no extra evaluation: the score at a corrector's end point is the next move's (or the
// predictor's) score. Score evaluations per step: 1 + M.
//
// Corrector step sizes, signal-to-noise rule: e = 2 a_i (r |z| / |s|)^2 with r = snr and
// a_i = (alpha(t_i) / alpha(t_{i+1}))^2 (Song et al.'s alpha_i = 1 - beta_i for VP, 1 for VE).
// Song et al. average |z| and |s| over the batch. A per-trajectory ratio would make e depend on
// the trajectory's own x and z, which biases the corrector's invariant law by O(1) in low
// dimension (a position-dependent step leaves p / e invariant, not p), and a batch average
// would make a trajectory's result depend on its batch. So the norms are averaged over a fixed
// pilot ensemble: `snr_pilot` trajectories (ids pc_pilot_first_id + j, x_start from the prior
// N(0, sigma(t_start)^2 I), same noise layout) run first with the batch-averaged rule, and the
// step sizes they produce (one per time step and corrector move) are used for every
// trajectory. The result reports them; pass them back as `corrector_step_sizes` to skip the
// pilot or to set your own schedule.
//
// Randomness: predictor noise of step i = normals i*D.. of (seed, id, purpose::brownian), as
// integrate() with euler_maruyama draws them (so M = 0 reproduces the reverse SDE bit for bit);
// corrector move m of step i = normals (i*M + m)*D.. of (seed, id, langevin_noise).
#include <cmath>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/random.hpp"
#include "dlogp/core/time_grid.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/dynamics/reverse_sde.hpp"
#include "dlogp/error.hpp"
#include "dlogp/integrate.hpp"
#include "dlogp/process/prior.hpp"
#include "dlogp/sampler/langevin.hpp"
#include "dlogp/scheme/euler_maruyama.hpp"

namespace dlogp {

/// Trajectory ids of the SNR pilot ensemble (a range no ordinary run reaches).
inline constexpr std::uint64_t pc_pilot_first_id = std::uint64_t(1) << 63;

struct pc_options {
  std::uint64_t seed = 0;
  time_grid_options grid{};             ///< the predictor steps (grid.steps = N)
  long corrector_steps = 1;             ///< Langevin moves M per time step
  double snr = 0.16;                    ///< r of the signal-to-noise rule
  long snr_pilot = 64;                  ///< pilot trajectories for the rule's norms
  std::vector<double> corrector_step_sizes{};  ///< explicit e (N * M, step-major); no pilot
  bool track_logp = true;
  std::uint64_t first_id = 0;
  execution_options execution{};  ///< never changes results
};

template <class S>
struct pc_result : integration_result<S> {
  std::vector<double> corrector_step_sizes;  ///< e of move m at step i at [i * M + m]
  long pilot_score_evals = 0;                ///< total evaluations of the pilot ensemble
};

namespace detail {

/// One chunk of a PC run. With `pilot`, the corrector step sizes are computed from this
/// chunk's averages and written to eps; otherwise they are read from it.
template <score_model M, process P>
void pc_chunk(const M& model, const P& p, const std::vector<double>& times, long n_corr,
              double snr, bool pilot, std::vector<double>& eps, std::uint64_t seed,
              const std::uint64_t* ids, bool track, matrix<scalar_of<M>>& X,
              vector<scalar_of<M>>& L, trajectory_stats* stats) {
  using S = scalar_of<M>;
  const long D = X.rows(), n = X.cols();
  langevin_mover<M> mover(model);
  column_guard<S> guard(n, stats, track);
  guard.start(times.front());
  matrix<S> Z(D, n);
  const reverse_sde<M, P> predictor(model, p);
  euler_maruyama::stepper<S> em;
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const double t = times[i], dt = times[i + 1] - times[i];
    long evals = 0;
    for (long m = 0; m < n_corr; ++m) {
      const std::uint64_t k = std::uint64_t(i) * std::uint64_t(n_corr) + std::uint64_t(m);
      const std::size_t slot = std::size_t(k);
      if (pilot) {
        evals += mover.ensure_score(t, X);
        // Batch-averaged norms in a fixed order (the pilot is a single chunk).
        double zn = 0, sn = 0;
        std::vector<double> z(static_cast<std::size_t>(D));
        for (long j = 0; j < n; ++j) {
          random_stream(seed, ids[j], langevin_noise).fill_normal(k * std::uint64_t(D), z.data(), D);
          double zz = 0, ss = 0;
          for (long r = 0; r < D; ++r) {
            zz += z[std::size_t(r)] * z[std::size_t(r)];
            ss += double(mover.score()(r, j)) * double(mover.score()(r, j));
          }
          zn += std::sqrt(zz);
          sn += std::sqrt(ss);
        }
        const double ai = std::pow(p.alpha(t) / p.alpha(times[i + 1]), 2);
        const double e = 2.0 * ai * std::pow(snr * zn / sn, 2);
        require(std::isfinite(e) && e > 0,
                "pc: signal-to-noise step size is not finite and positive at t = " +
                    std::to_string(t) + " (" + std::to_string(e) + ")");
        eps[slot] = e;
      }
      evals += guard.attempt(X, L, [&] { return mover.move(t, eps[slot], seed, ids, k, track, X, L); });
      guard.check(X, L, evals, t, false);
      evals = 0;
    }
    // Predictor: the Euler-Maruyama step of the reverse SDE through the same code as
    // integrate() (hence the same bits), from the mover's score at (t, X): when log p is
    // tracked, the last corrector move has already evaluated it.
    evals += guard.attempt(X, L, [&] {
      const long e = mover.ensure_score(t, X);
      fill_normal_columns(seed, purpose::brownian, ids, n, std::uint64_t(i) * std::uint64_t(D), D,
                          Z.data());
      predictor.terms_from_score({.track_logp = track}, t, X, mover.score(), Z, em.drift, em.dl,
                                 em.noise_x, em.noise_l);
      em.advance(dt, X, L);
      return e;
    });
    mover.invalidate();
    guard.check(X, L, evals, times[i + 1], true);
  }
}

}  // namespace detail

/// Predictor-corrector sampler from t_start down to t_end (see top). log_p_start is
/// log p_{t_start}(x_start) (e.g. prior_log_density at T) and is carried to t_end.
template <score_model M, process P, class S = scalar_of<M>>
pc_result<S> predictor_corrector(const M& model, const P& process,
                                 const std::type_identity_t<matrix<S>>& x_start,
                                 const std::type_identity_t<vector<S>>& log_p_start,
                                 double t_start, double t_end, const pc_options& opt = {}) {
  detail::require_dimension(model.dimension(), x_start.rows(), "pc: x_start rows");
  detail::require(std::isfinite(t_start) && std::isfinite(t_end) && t_start > t_end,
                  "pc: need finite t_start > t_end (" + std::to_string(t_start) + ", " +
                      std::to_string(t_end) + ")");
  const double lo = process.t_min() * (1 - 1e-12), hi = process.t_max() * (1 + 1e-12);
  for (double t : {t_start, t_end})
    detail::require(t >= lo && t <= hi, "pc: time " + std::to_string(t) +
                                            " outside the process range [" +
                                            std::to_string(process.t_min()) + ", " +
                                            std::to_string(process.t_max()) + "]");
  detail::require(opt.corrector_steps >= 0, "pc: corrector_steps must be >= 0 (" +
                                                std::to_string(opt.corrector_steps) + ")");
  detail::require_time_grid("pc", opt.grid, t_start, t_end);
  const std::vector<double> times = make_time_grid(process, opt.grid, t_start, t_end);
  const long n_steps = long(times.size()) - 1, n_corr = opt.corrector_steps;
  std::vector<double> eps(std::size_t(n_steps * n_corr), 0.0);
  long pilot_evals = 0;
  if (n_corr > 0) {
    if (!opt.corrector_step_sizes.empty()) {
      detail::require(long(opt.corrector_step_sizes.size()) == n_steps * n_corr,
                      "pc: corrector_step_sizes needs steps * corrector_steps = " +
                          std::to_string(n_steps * n_corr) + " entries (" +
                          std::to_string(opt.corrector_step_sizes.size()) + ")");
      for (double e : opt.corrector_step_sizes)
        detail::require(std::isfinite(e) && e > 0,
                        "pc: corrector step sizes must be positive (" + std::to_string(e) + ")");
      eps = opt.corrector_step_sizes;
    } else {
      detail::require(std::isfinite(opt.snr) && opt.snr > 0,
                      "pc: snr must be positive (" + std::to_string(opt.snr) + ")");
      detail::require(opt.snr_pilot >= 1, "pc: snr_pilot must be >= 1 (" +
                                              std::to_string(opt.snr_pilot) + ")");
      const long np = opt.snr_pilot;
      std::vector<std::uint64_t> ids(static_cast<std::size_t>(np));
      for (long j = 0; j < np; ++j) ids[std::size_t(j)] = pc_pilot_first_id + std::uint64_t(j);
      matrix<S> Xp(model.dimension(), np);
      sample_prior(process, t_start, opt.seed, ids.data(), Xp);
      vector<S> Lp = vector<S>::Zero(np);
      std::vector<trajectory_stats> st(static_cast<std::size_t>(np));
      // The step sizes need every pilot trajectory: a model failure there ends the call.
      try {
        detail::pc_chunk(model, process, times, n_corr, opt.snr, true, eps, opt.seed, ids.data(),
                         false, Xp, Lp, st.data());
      } catch (const detail::model_threw_in_chunk& e) {
        std::rethrow_exception(e.error);
      }
      for (const auto& s : st) pilot_evals += s.score_evals;
    }
  }
  pc_result<S> out;
  static_cast<integration_result<S>&>(out) = detail::run_in_chunks<S>(
      x_start, log_p_start, opt.execution, detail::preferred_chunk(model), opt.first_id, "pc",
      [&](const std::uint64_t* ids, matrix<S>& X, vector<S>& L, trajectory_stats* stats) {
        std::vector<double> e = eps;  // read only; a copy per chunk keeps pc_chunk's signature
        detail::pc_chunk(model, process, times, n_corr, opt.snr, false, e, opt.seed, ids,
                         opt.track_logp, X, L, stats);
      });
  out.corrector_step_sizes = std::move(eps);
  out.pilot_score_evals = pilot_evals;
  return out;
}

}  // namespace dlogp

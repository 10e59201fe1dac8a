#pragma once
// Langevin samplers at fixed noise level and annealed over a ladder of levels (Song & Ermon 2019,
// "NCSN"), with log p_t carried along.
//
//   move:   x' = x + a s(t, x) + sqrt(2 a) z,   z ~ N(0, I)            (unadjusted Langevin)
//   log p:  ell' = ell + (1/2) (s(t, x) + s(t, x')) . (x' - x)
// The log-density update is the trapezoid rule for the line integral of the score along the
// move, i.e. the Stratonovich chain rule d log p_t = s o dx. It is exact for Gaussians, has a
// per-move error O(|x' - x|^3 |d^3 log p|), needs no divergence, and costs one evaluation per
// trajectory beyond the moves (the score at the last point), since s(t, x') is the next move's
// score anyway. With a learned score it is the line integral of s_theta along the path.
//
// Annealed Langevin: levels t_0 > ... > t_{L-1} equally spaced in log-SNR (a geometric ladder of
// noise levels sigma/alpha), K moves per level with a_i = step_factor * sigma(t_i)^2 (NCSN's
// alpha_i = eps sigma_i^2 / sigma_L^2 with eps = step_factor sigma_L^2; for VP the rule in x is
// NCSN's rule for the unscaled variable x / alpha). Between levels x stays put and
//   ell += int_{t_i}^{t_{i+1}} d/dt log p_t(x) dt,  d/dt log p_t = -f D - f x.s + g^2 (Lap + |s|^2)/2
// (Fokker-Planck of the forward SDE), by Gauss-Legendre in log-SNR; this needs the divergence
// of the score (divergence_options: exact or Hutchinson).
//
// Randomness: the z of move k of trajectory id are normals k*D .. k*D + D - 1 of
// random_stream(seed, id, langevin_noise) (annealed: k counts all moves of all levels).
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "dlogp/config.hpp"
#include "dlogp/core/column_ops.hpp"
#include "dlogp/core/concepts.hpp"
#include "dlogp/core/gauss_legendre.hpp"
#include "dlogp/core/parallel_chunks.hpp"
#include "dlogp/core/random.hpp"
#include "dlogp/core/status.hpp"
#include "dlogp/core/time_grid.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/divergence/divergence.hpp"
#include "dlogp/error.hpp"
#include "dlogp/integrate.hpp"

namespace dlogp {

/// Purpose of the Langevin (corrector) noise; distinct from purpose::brownian so that a
/// predictor-corrector run with no corrector steps has the reverse SDE's exact noise.
inline constexpr purpose langevin_noise = purpose::langevin;

struct langevin_options {
  std::uint64_t seed = 0;
  long steps = 1000;       ///< Langevin moves K
  double step_size = 1e-3; ///< a
  bool track_logp = true;  ///< false: x only (log p left as given, one evaluation less)
  std::uint64_t first_id = 0;
  std::uint64_t noise_offset = 0;  ///< first move's noise index (continue a run)
  execution_options execution{};   ///< never changes results
};

struct annealed_langevin_options {
  std::uint64_t seed = 0;
  long levels = 10;            ///< L noise levels, geometric in sigma/alpha
  long steps_per_level = 100;  ///< K moves per level
  double step_factor = 0.2;    ///< a_i = step_factor * sigma(t_i)^2
  double t_start = std::numeric_limits<double>::quiet_NaN();  ///< first level; NaN: t_max
  double t_end = std::numeric_limits<double>::quiet_NaN();    ///< last level; NaN: t_min
  bool track_logp = true;
  int level_nodes = 4;  ///< Gauss-Legendre nodes for log p between levels (1..16)
  divergence_options divergence{};
  std::uint64_t first_id = 0;
  execution_options execution{};  ///< never changes results
};

/// The ladder of an annealed run: level times (decreasing) and step sizes.
struct langevin_ladder {
  std::vector<double> times;
  std::vector<double> step_sizes;
};

namespace detail {

/// Thrown by column_guard::attempt when the model threw dlogp::numerical_error: the chunk is back
/// at its state before that call, and run_in_chunks finds out whose state it was. Carries the
/// model's exception for callers that cannot isolate columns (pc's pilot ensemble).
struct model_threw_in_chunk {
  std::exception_ptr error;
};

/// body(ids, X, L, stats) to the end, or false when the model threw in it.
template <class S, class Body>
bool chunk_ran_to_end(Body& body, const std::uint64_t* ids, matrix<S>& X, vector<S>& L,
                      trajectory_stats* stats) {
  try {
    body(ids, X, L, stats);
    return true;
  } catch (const model_threw_in_chunk&) {
    return false;
  }
}

/// Runs `body(ids, X, L, stats)` on chunks of columns (OpenMP over chunks when enabled), as
/// integrate() does: results never depend on the chunking. When the model throws
/// numerical_error for some column's state (column_guard::attempt), that trajectory ends with
/// status model_error at its last good state and the others are unaffected, as in integrate().
template <class S, class Body>
integration_result<S> run_in_chunks(const matrix<S>& x_start, const vector<S>& log_p_start,
                                    const execution_options& execution, long preferred_chunk,
                                    std::uint64_t first_id, const char* who, Body&& body) {
  require_dimension(x_start.cols(), log_p_start.size(),
                    std::string(who) + ": log_p size vs number of trajectories");
  require_execution_options(who, execution);
  return translating_bad_alloc(who, [&] {
    const long N = x_start.cols();
    integration_result<S> result{x_start, log_p_start,
                                 std::vector<trajectory_stats>(std::size_t(N))};
    std::vector<std::uint64_t> ids(static_cast<std::size_t>(N));
    for (long j = 0; j < N; ++j) ids[std::size_t(j)] = first_id + std::uint64_t(j);
    for_each_chunk(N, execution, [&](long, long j0, long n) {
      matrix<S> X = result.x.middleCols(j0, n);
      vector<S> L = result.log_p.segment(j0, n);
      trajectory_stats* stats = result.stats.data() + j0;
      if (!chunk_ran_to_end(body, ids.data() + j0, X, L, stats)) {
        // The model threw for some column's state: find whose. A trajectory already stopped
        // (non-finite) keeps that status.
        const auto mark = [](trajectory_stats& st) {
          if (st.status == status::ok) st.status = status::model_error;
        };
        if (n == 1) {
          mark(stats[0]);
        } else {
          rerun_columns_alone(result, j0, n, X, L, stats,
                              [&](long j, matrix<S>& x, vector<S>& l, trajectory_stats* st) {
                                if (!chunk_ran_to_end(body, ids.data() + j0 + j, x, l, st))
                                  mark(*st);
                              });
        }
      }
      result.x.middleCols(j0, n) = X;
      result.log_p.segment(j0, n) = L;
    }, preferred_chunk);
    return result;
  });
}

/// Freezes trajectories that turn non-finite (they keep their last good state, as in
/// integrate()) and counts evaluations and moves of the live ones.
template <class S>
class column_guard {
 public:
  column_guard(long n, trajectory_stats* stats, bool track)
      : frozen_(std::size_t(n), 0), stats_(stats), track_(track) {}

  void save(const matrix<S>& X, const vector<S>& L) {
    X_prev_ = X;
    L_prev_ = L;
  }
  /// save(X, L), then `call()` (a move or an evaluation that may change X and L; returns the
  /// evaluations it spent). If the model throws numerical_error, X and L go back to the saved
  /// state and model_threw_in_chunk is thrown (run_in_chunks isolates the column).
  template <class F>
  long attempt(matrix<S>& X, vector<S>& L, F&& call) {
    save(X, L);
    try {
      return call();
    } catch (const numerical_error&) {
      X = X_prev_;
      L = L_prev_;
      throw model_threw_in_chunk{std::current_exception()};
    }
  }
  /// After a move that cost `evals` per column and ended at time t (`move`: count it as a step).
  void check(matrix<S>& X, vector<S>& L, long evals, double t, bool move = true) {
    for (long j = 0; j < X.cols(); ++j) {
      if (!frozen_[std::size_t(j)]) {
        if (column_finite(X, L, j, track_)) {
          stats_[j].accepted += move;
          stats_[j].add_score_evals(evals);
          stats_[j].t_reached = t;
          continue;
        }
        frozen_[std::size_t(j)] = 1;
        stats_[j].status = status::non_finite;
      }
      X.col(j) = X_prev_.col(j);
      L(j) = L_prev_(j);
    }
  }
  /// Evaluations that are not a move (e.g. the log p quadrature between levels).
  void count(long evals) {
    for (std::size_t j = 0; j < frozen_.size(); ++j)
      if (!frozen_[j]) stats_[j].add_score_evals(evals);
  }
  void start(double t) {
    for (std::size_t j = 0; j < frozen_.size(); ++j) stats_[j].t_reached = t;
  }

 private:
  std::vector<char> frozen_;
  trajectory_stats* stats_;
  bool track_;
  matrix<S> X_prev_;
  vector<S> L_prev_;
};

/// Langevin mover for one chunk at a fixed time: keeps the score at the current point.
template <score_model M>
class langevin_mover {
 public:
  using S = scalar_of<M>;

  explicit langevin_mover(const M& model) : model_(&model) {}

  /// Forget the cached score (the time or the point changed).
  void invalidate() { have_score_ = false; }
  const matrix<S>& score() const { return score_; }

  /// Score at (t, X) if not cached; returns the evaluations spent (0 or 1).
  long ensure_score(double t, const matrix<S>& X) {
    if (have_score_) return 0;
    score_.resize(X.rows(), X.cols());
    model_->score(t, X, score_);
    have_score_ = true;
    return 1;
  }

  /// One move with step a and noise index k (draws k*D..) of stream (seed, id, langevin_noise).
  /// Returns the evaluations spent. With `track`, ell gets the trapezoid line integral and the
  /// score at the new point is kept; otherwise the next call evaluates it.
  long move(double t, double a, std::uint64_t seed, const std::uint64_t* ids, std::uint64_t k,
            bool track, matrix<S>& X, vector<S>& L) {
    const long D = X.rows(), n = X.cols();
    long evals = ensure_score(t, X);
    Z_.resize(D, n);
    const std::uint64_t first = k * std::uint64_t(D);
    fill_normal_columns(seed, langevin_noise, ids, n, first, D, Z_.data());
    dX_ = S(a) * score_ + S(std::sqrt(2.0 * a)) * Z_;
    X += dX_;
    if (track) {
      new_score_.resize(D, n);
      model_->score(t, X, new_score_);
      ++evals;
      sum_ = score_ + new_score_;
      detail::column_dots(sum_, dX_, dots_);
      L += S(0.5) * dots_;
      score_.swap(new_score_);
    } else {
      have_score_ = false;
    }
    return evals;
  }

 private:
  const M* model_;
  bool have_score_ = false;
  matrix<S> score_, new_score_, sum_, Z_, dX_;
  vector<S> dots_;
};

}  // namespace detail

/// Unadjusted Langevin dynamics targeting p_t at a fixed time t: `steps` moves of step
/// `step_size` from x_start; log_p_start is log p_t(x_start) and is carried along (see top).
/// Score evaluations per trajectory: steps (+1 when log p is tracked).
template <score_model M, class S = scalar_of<M>>
integration_result<S> langevin(const M& model, double t,
                               const std::type_identity_t<matrix<S>>& x_start,
                               const std::type_identity_t<vector<S>>& log_p_start,
                               const langevin_options& opt = {}) {
  detail::require_dimension(model.dimension(), x_start.rows(), "langevin: x_start rows");
  detail::require(std::isfinite(t), "langevin: t is not finite (" + std::to_string(t) + ")");
  detail::require(opt.steps >= 0 && opt.steps <= max_step_count,
                  "langevin: steps must be in [0, " + std::to_string(max_step_count) + "] (" +
                      std::to_string(opt.steps) + ")");
  detail::require(std::isfinite(opt.step_size) && opt.step_size > 0,
                  "langevin: step_size must be positive (" + std::to_string(opt.step_size) + ")");
  return detail::run_in_chunks<S>(
      x_start, log_p_start, opt.execution, detail::preferred_chunk(model), opt.first_id, "langevin",
      [&](const std::uint64_t* ids, matrix<S>& X, vector<S>& L, trajectory_stats* stats) {
        detail::langevin_mover<M> mover(model);
        detail::column_guard<S> guard(X.cols(), stats, opt.track_logp);
        guard.start(t);
        for (long k = 0; k < opt.steps; ++k) {
          const long e = guard.attempt(X, L, [&] {
            return mover.move(t, opt.step_size, opt.seed, ids, opt.noise_offset + std::uint64_t(k),
                              opt.track_logp, X, L);
          });
          guard.check(X, L, e, t);
        }
      });
}

/// Level times (log-SNR grid from t_start to t_end) and step sizes of an annealed run.
template <process P>
langevin_ladder annealed_langevin_ladder(const P& p, const annealed_langevin_options& opt) {
  const double t0 = std::isnan(opt.t_start) ? p.t_max() : opt.t_start;
  const double t1 = std::isnan(opt.t_end) ? p.t_min() : opt.t_end;
  detail::require(opt.levels >= 1, "annealed_langevin: levels must be >= 1 (" +
                                       std::to_string(opt.levels) + ")");
  detail::require(std::isfinite(opt.step_factor) && opt.step_factor > 0,
                  "annealed_langevin: step_factor must be positive (" +
                      std::to_string(opt.step_factor) + ")");
  const double lo = p.t_min() * (1 - 1e-12), hi = p.t_max() * (1 + 1e-12);
  for (double t : {t0, t1})
    detail::require(std::isfinite(t) && t >= lo && t <= hi,
                    "annealed_langevin: time " + std::to_string(t) +
                        " outside the process range [" + std::to_string(p.t_min()) + ", " +
                        std::to_string(p.t_max()) + "]");
  langevin_ladder ladder;
  if (opt.levels == 1) {
    ladder.times = {t1};
  } else {
    detail::require(t0 > t1, "annealed_langevin: need t_start > t_end (" + std::to_string(t0) +
                                 ", " + std::to_string(t1) + ")");
    ladder.times = make_time_grid(p, grid_kind::log_snr, t0, t1, opt.levels - 1);
  }
  for (double t : ladder.times) {
    const double a = opt.step_factor * p.sigma2(t);
    detail::require(std::isfinite(a) && a > 0, "annealed_langevin: step size at t = " +
                                                   std::to_string(t) + " is not positive (" +
                                                   std::to_string(a) + ")");
    ladder.step_sizes.push_back(a);
  }
  return ladder;
}

/// Annealed Langevin dynamics (NCSN): K moves at each level of the ladder, ending at t_end.
/// log_p_start is log p_{t_start}(x_start) (e.g. the prior's log density when t_start = T) and is
/// carried to log p_{t_end}(x_end) (see top). Score evaluations per trajectory: L K, plus
/// with log p tracking L (final scores) and level_nodes * (L - 1) * divergence cost.
template <score_model M, process P, class S = scalar_of<M>>
integration_result<S> annealed_langevin(const M& model, const P& process,
                                        const std::type_identity_t<matrix<S>>& x_start,
                                        const std::type_identity_t<vector<S>>& log_p_start,
                                        const annealed_langevin_options& opt = {}) {
  detail::require_dimension(model.dimension(), x_start.rows(),
                            "annealed_langevin: x_start rows");
  detail::require(opt.steps_per_level >= 1, "annealed_langevin: steps_per_level must be >= 1 (" +
                                                std::to_string(opt.steps_per_level) + ")");
  detail::require(opt.levels <= max_step_count / opt.steps_per_level,
                  "annealed_langevin: levels * steps_per_level must be <= " +
                      std::to_string(max_step_count) + " (" + std::to_string(opt.levels) + " * " +
                      std::to_string(opt.steps_per_level) + ")");
  detail::require(opt.level_nodes >= 1 && opt.level_nodes <= 16,
                  "annealed_langevin: level_nodes must be in 1..16 (" +
                      std::to_string(opt.level_nodes) + ")");
  const langevin_ladder ladder = annealed_langevin_ladder(process, opt);
  std::vector<double> gx, gw;
  detail::gauss_legendre(opt.level_nodes, gx, gw);
  const long K = opt.steps_per_level;
  return detail::run_in_chunks<S>(
      x_start, log_p_start, opt.execution, detail::preferred_chunk(model), opt.first_id,
      "annealed_langevin",
      [&](const std::uint64_t* ids, matrix<S>& X, vector<S>& L, trajectory_stats* stats) {
        const long D = X.rows(), n = X.cols();
        detail::langevin_mover<M> mover(model);
        divergence_estimator<M> div(model, opt.divergence);
        detail::column_guard<S> guard(n, stats, opt.track_logp);
        guard.start(ladder.times.front());
        std::vector<status> flags(std::size_t(n), status::ok);
        const batch_context ctx{opt.seed, ids, n, opt.track_logp, flags.data()};
        matrix<S> s;
        vector<S> lap, xs, ss, jump;
        std::uint64_t k = 0;
        for (std::size_t i = 0; i < ladder.times.size(); ++i) {
          const double t = ladder.times[i];
          if (i > 0 && opt.track_logp) {
            // ell += int d/dt log p_t(x) dt at fixed x, in lambda: dt = -(sigma^2 / g^2) dlambda.
            const double l0 = process.log_snr(ladder.times[i - 1]), l1 = process.log_snr(t);
            const long evals = guard.attempt(X, L, [&] {
              jump.setZero(n);
              long spent = 0;
              for (int q = 0; q < opt.level_nodes; ++q) {
                const double lq = 0.5 * (l0 + l1) + 0.5 * (l1 - l0) * gx[std::size_t(q)];
                const double tq = process.t_from_log_snr(lq);
                const double f = process.f(tq), g2 = process.g2(tq), s2 = process.sigma2(tq);
                detail::require(g2 > 0, "annealed_langevin: needs g^2 > 0 (t = " +
                                            std::to_string(tq) + ")");
                spent += div.score_and_divergence(ctx, tq, X, s, lap);
                detail::column_dots(X, s, xs);
                detail::column_squared_norms(s, ss);
                const double c1 = s2 * f / g2, c2 = -0.5 * s2;
                const S wq = S(0.5 * (l1 - l0) * gw[std::size_t(q)]);
                for (long j = 0; j < n; ++j)
                  jump(j) += wq * (S(c1) * (S(double(D)) + xs(j)) + S(c2) * (lap(j) + ss(j)));
              }
              L += jump;
              return spent;
            });
            guard.check(X, L, 0, t, false);
            guard.count(evals);
          }
          mover.invalidate();  // new level, new score
          for (long m = 0; m < K; ++m, ++k) {
            const long e = guard.attempt(X, L, [&] {
              return mover.move(t, ladder.step_sizes[i], opt.seed, ids, k, opt.track_logp, X, L);
            });
            guard.check(X, L, e, t);
          }
        }
      });
}

}  // namespace dlogp

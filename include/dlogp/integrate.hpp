#pragma once
// The driver: loops, observers, statistics and per-trajectory status. Dynamics own the
// mathematics (dynamics/), schemes own one step (scheme/), this file owns everything else.
//
// Trajectories are processed in chunks of `execution.batch_size` columns, each chunk
// independently (OpenMP over chunks when enabled). Noise and probes are keyed by trajectory id, and every
// per-column computation is independent of the column's neighbours, so results are bit-identical
// whatever the batch size, the thread count or the order of the trajectories.
#include <algorithm>
#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "dlogp/config.hpp"
#include "dlogp/core/parallel_chunks.hpp"
#include "dlogp/core/random.hpp"
#include "dlogp/core/status.hpp"
#include "dlogp/core/threads.hpp"
#include "dlogp/core/time_direction.hpp"
#include "dlogp/core/time_grid.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"
#include "dlogp/scheme/scheme_traits.hpp"
#include "dlogp/scheme/step_size_controller.hpp"

namespace dlogp {

struct integrate_options {
  std::uint64_t seed = 0;
  time_grid_options grid{};        ///< fixed-step schemes
  step_tolerance tolerance{};      ///< adaptive schemes (dopri5)
  bool track_logp = true;          ///< false: x only (log p left as given)
  std::uint64_t first_id = 0;      ///< trajectory id of column 0
  std::uint64_t noise_offset = 0;  ///< Brownian draws start at this step (continue a run)
  execution_options execution{};   ///< never changes results
};

/// What an observer sees: a chunk of trajectories after a step (step 0 = the start state).
/// Observers are called concurrently for different chunks; each trajectory from one thread.
template <class S>
struct step_view {
  const std::uint64_t* ids;
  long first_column;  ///< column of ids[0] in the whole batch
  long step;
  double t;
  const matrix<S>& X;
  const vector<S>& log_p;
  const status* statuses;
};

template <class S>
using step_observer = std::function<void(const step_view<S>&)>;

template <class S>
struct integration_result {
  matrix<S> x;
  vector<S> log_p;
  std::vector<trajectory_stats> stats;

  bool all_ok() const {
    for (const auto& s : stats)
      if (s.status != status::ok) return false;
    return true;
  }
  long total_score_evals() const {
    long n = 0;
    for (const auto& s : stats) n += s.score_evals;
    return n;
  }
};

namespace detail {

template <class S>
bool column_finite(const matrix<S>& X, const vector<S>& L, long j, bool track) {
  for (long i = 0; i < X.rows(); ++i)
    if (!std::isfinite(double(X(i, j)))) return false;
  return !track || std::isfinite(double(L(j)));
}

/// Every check of a run's arguments and options, before any work: a refusal is one
/// dlogp::error naming the option and its value, never a failure later in the run.
template <class Scheme, class Dyn>
void validate_run(const Dyn& dyn, long rows, long cols, long logp_size, double t_start,
                  double t_end, const integrate_options& opt) {
  require_dimension(dyn.dimension(), rows, "integrate: x_start rows");
  require_dimension(cols, logp_size, "integrate: log_p size vs number of trajectories");
  require(std::isfinite(t_start) && std::isfinite(t_end),
          "integrate: t_start and t_end must be finite");
  require(t_start != t_end, "integrate: t_start equals t_end (" + std::to_string(t_start) + ")");
  // Dynamics with a narrower range of their own (mode tracking: below its anchor time).
  if constexpr (requires { dyn.check_times(t_start, t_end); }) dyn.check_times(t_start, t_end);
  check_direction<Dyn>("integrate", t_start, t_end);
  const auto& p = dyn.process();
  // A relative slack of 1e-12 lets times computed from the range itself (grids) pass.
  const double lo = p.t_min() - 1e-12 * std::max(1.0, std::abs(p.t_min()));
  const double hi = p.t_max() + 1e-12 * std::max(1.0, std::abs(p.t_max()));
  for (double t : {t_start, t_end})
    require(t >= lo && t <= hi, "integrate: time " + std::to_string(t) +
                                    " outside the process range [" + std::to_string(p.t_min()) +
                                    ", " + std::to_string(p.t_max()) + "]");
  require_execution_options("integrate", opt.execution);
  if constexpr (Scheme::adaptive) {
    const step_tolerance& tol = opt.tolerance;
    require(tol.rtol > 0 && tol.atol >= 0 && std::isfinite(tol.rtol) && std::isfinite(tol.atol),
            "integrate: need rtol > 0 and atol >= 0, both finite (rtol = " + number(tol.rtol) +
                ", atol = " + number(tol.atol) + ")");
    require(tol.max_steps >= 1,
            "integrate: max_steps must be >= 1 (" + std::to_string(tol.max_steps) + ")");
    require(tol.max_steps <= max_step_count, "integrate: max_steps must be <= " +
                                                 std::to_string(max_step_count) + " (" +
                                                 std::to_string(tol.max_steps) + ")");
    require(std::isfinite(tol.initial_step) && tol.initial_step >= 0,
            "integrate: initial_step must be finite and >= 0 (" + number(tol.initial_step) + ")");
  } else {
    require_time_grid("integrate", opt.grid, t_start, t_end);
  }
}

/// False when the model (or dynamics) threw dlogp::numerical_error: it cannot evaluate at the
/// state it was given, which is about that trajectory. Every other exception propagates: an
/// invalid_argument or dimension_mismatch from inside a step is a run set up wrongly (the same
/// for every trajectory), and running out of memory ends the whole call.
template <class F>
bool model_call_succeeded(F&& call) {
  try {
    call();
    return true;
  } catch (const numerical_error&) {
    return false;
  }
}

/// After the model threw inside a chunk of columns j0 .. j0 + n - 1: runs each column again,
/// alone, from its start state (still in `result`) with `run_alone(j, x, l, stats + j)`, and puts
/// it back into the chunk's X and L. A column's result does not depend on its chunk, so the
/// others get their bits unchanged and the guilty one stops (its status says why).
template <class S, class RunAlone>
void rerun_columns_alone(const integration_result<S>& result, long j0, long n, matrix<S>& X,
                         vector<S>& L, trajectory_stats* stats, RunAlone&& run_alone) {
  for (long j = 0; j < n; ++j) {
    matrix<S> x = result.x.col(j0 + j);
    vector<S> l = result.log_p.segment(j0 + j, 1);
    stats[j] = trajectory_stats{};
    run_alone(j, x, l, stats + j);
    X.col(j) = x;
    L(j) = l(0);
  }
}

/// Fixed-step loop over one chunk (ODE or SDE scheme). The observer sees steps from
/// `observe_from` on. Returns -1 when done; when the model throws numerical_error in the step
/// from times[k] and the chunk has several columns, returns k (the observer has seen steps
/// 0..k) and the caller finds out whose state it was by running each column alone; a chunk of
/// one column stops there with status model_error at its last good state.
template <class Scheme, class Dyn, class S>
long run_fixed(Dyn& dyn, const std::vector<double>& times, const std::uint64_t* ids,
               long first_column, matrix<S>& X, vector<S>& L, trajectory_stats* stats,
               const integrate_options& opt, const step_observer<S>& observer,
               long observe_from = 0) {
  const long n = X.cols(), D = X.rows();
  typename Scheme::template stepper<S> stepper;
  std::vector<status> flags(std::size_t(n), status::ok);
  std::vector<char> frozen(std::size_t(n), 0);
  batch_context ctx{opt.seed, ids, n, opt.track_logp, flags.data()};
  matrix<S> X_prev, Z;
  vector<S> L_prev;
  for (long j = 0; j < n; ++j) stats[j].t_reached = times.front();
  if (observer && observe_from <= 0)
    observer({ids, first_column, 0, times.front(), X, L, flags.data()});
  long n_frozen = 0;
  for (std::size_t k = 0; k + 1 < times.size() && n_frozen < n; ++k) {
    const double t = times[k], dt = times[k + 1] - times[k];
    X_prev = X;
    L_prev = L;
    long evals = 0;
    if constexpr (Scheme::stochastic) {
      Z.resize(D, n);
      const std::uint64_t first_draw = (opt.noise_offset + k) * std::uint64_t(D);
      fill_normal_columns(opt.seed, purpose::brownian, ids, n, first_draw, D, Z.data());
    }
    const bool stepped = model_call_succeeded([&] {
      if constexpr (Scheme::stochastic)
        evals = stepper.step(dyn, ctx, t, dt, Z, X, L);
      else
        evals = stepper.step(dyn, ctx, t, dt, X, L);
    });
    if (!stepped) {
      if (n > 1) return long(k);
      X = X_prev;  // the last good state
      L = L_prev;
      stats[0].status = flags[0] = status::model_error;
      return -1;
    }
    for (long j = 0; j < n; ++j) {
      if (!frozen[std::size_t(j)]) {
        status st = flags[std::size_t(j)];
        if (st == status::ok && !column_finite(X, L, j, opt.track_logp)) st = status::non_finite;
        if (st == status::ok) {
          stats[j].accepted += 1;
          stats[j].add_score_evals(evals);
          stats[j].t_reached = times[k + 1];
          continue;
        }
        frozen[std::size_t(j)] = 1;
        ++n_frozen;
        stats[j].status = st;
        flags[std::size_t(j)] = st;
      }
      // A frozen trajectory keeps its last good state.
      X.col(j) = X_prev.col(j);
      L(j) = L_prev(j);
    }
    if (observer && long(k) + 1 >= observe_from)
      observer({ids, first_column, long(k) + 1, times[k + 1], X, L, flags.data()});
  }
  return -1;
}

/// Adaptive loop: every trajectory gets its own step size, so each runs as a batch of one. The
/// loop owns the trajectory's status (model failures, non-finite values, step limits); step
/// sizes come from step_size_controller, the candidate and its error from the stepper.
template <class Scheme, class Dyn, class S>
void run_adaptive(Dyn& dyn, double t_start, double t_end, const std::uint64_t* ids,
                  long first_column, matrix<S>& X, vector<S>& L, trajectory_stats* stats,
                  const integrate_options& opt, const step_observer<S>& observer) {
  using stepper_type = typename Scheme::template stepper<S>;
  static_assert(adaptive_stepper<stepper_type, Dyn, S>,
                "an adaptive scheme's stepper needs prepare, attempt, accept, reset, rate, "
                "log_p_rate, candidate, candidate_log_p, error_x and error_log_p "
                "(scheme/step_size_controller.hpp)");
  const long D = X.rows();
  const double dir = t_end > t_start ? 1.0 : -1.0;
  const double span = std::abs(t_end - t_start);
  const step_size_controller control{opt.tolerance, Scheme::order};
  stepper_type stepper;
  matrix<S> x(D, 1), x1(D, 1), f1(D, 1);
  vector<S> l(1), dl1(1);
  for (long j = 0; j < X.cols(); ++j) {
    status flag = status::ok;
    batch_context ctx{opt.seed, ids + j, 1, opt.track_logp, &flag};
    trajectory_stats& st = stats[j];
    x = X.col(j);
    l(0) = L(j);
    stepper.reset();
    double t = t_start;
    if (observer) observer({ids + j, first_column + j, 0, t, x, l, &flag});
    // A non-finite start has nothing to integrate from, and would make the step size NaN.
    if (!column_finite(x, l, 0, opt.track_logp)) {
      st.status = status::non_finite;
      st.t_reached = t;
      continue;
    }
    // A model that throws numerical_error at this trajectory's state ends this trajectory
    // (status model_error, at its last good state), not the batch.
    const auto model_call = [&](auto&& call) {
      if (model_call_succeeded([&] { st.add_score_evals(call()); })) return true;
      st.status = status::model_error;
      return false;
    };
    // Initial step: the user's, else the controller's from the rate at the start and at one
    // probe. The extra evaluation pays for itself: without it most first attempts were
    // rejected (6 evaluations each; benchmarks/RESULTS.md, item 4).
    double h = opt.tolerance.initial_step;
    if (h <= 0) {
      if (!model_call([&] { return stepper.prepare(dyn, ctx, t, x, l); })) {
        st.t_reached = t;
        continue;
      }
      // A non-finite rate at the start: no step size will help (and it would make h NaN).
      if (flag != status::ok || !column_finite(stepper.rate(), stepper.log_p_rate(), 0, opt.track_logp)) {
        st.status = flag != status::ok ? flag : status::non_finite;
        st.t_reached = t;
        continue;
      }
      const auto guess = control.first_guess(x, stepper.rate(), span);
      x1 = x + S(dir * guess.h0) * stepper.rate();
      // The probe is a trial state: if the model throws there, keep h0 (the loop shrinks it).
      h = guess.h0;
      if (model_call_succeeded([&] { st.add_score_evals(dyn.rate(ctx, t + dir * guess.h0, x1, f1, dl1)); }))
        h = control.refined(guess, x, stepper.rate(), f1, span);
    }
    h = std::min(h, span);
    long step_index = 0;
    bool just_rejected = false;
    bool model_threw = false;  ///< the last attempt threw in a trial stage
    while (true) {
      const double remaining = std::abs(t_end - t);
      if (remaining <= 0) break;
      if (st.steps() >= opt.tolerance.max_steps) {
        st.status = status::max_steps;
        break;
      }
      const bool last = h >= remaining;
      const double hs = dir * (last ? remaining : h);
      if (!last && step_size_controller::underflow(h, t)) {
        // Shrunk to nothing against a model that kept throwing: that is the model's failure.
        st.status = model_threw ? status::model_error : status::step_underflow;
        break;
      }
      // The rate at the current state (reused after an accepted step): if the model throws
      // there, no step size will help.
      if (!model_call([&] { return stepper.prepare(dyn, ctx, t, x, l); })) break;
      const bool attempted = model_call_succeeded([&] {
        st.add_score_evals(stepper.attempt(dyn, ctx, t, hs, x, l));
      });
      model_threw = !attempted;
      if (!attempted) {
        st.rejected += 1;
        just_rejected = true;
        h = control.after_model_failure(h);
        continue;
      }
      if (flag != status::ok) {
        st.status = flag;
        break;
      }
      // The rate at the current state is part of every attempt: if it is not finite, no
      // step size will help.
      if (!column_finite(stepper.rate(), stepper.log_p_rate(), 0, opt.track_logp)) {
        st.status = status::non_finite;
        break;
      }
      const double err = control.error_norm(x, stepper.candidate(), stepper.error_x(), l,
                                             stepper.candidate_log_p(), stepper.error_log_p(),
                                             opt.track_logp);
      if (err <= 1.0) {
        if (!column_finite(stepper.candidate(), stepper.candidate_log_p(), 0, opt.track_logp)) {
          st.status = status::non_finite;
          break;
        }
        st.accepted += 1;
        t = last ? t_end : t + hs;
        x = stepper.candidate();
        l = stepper.candidate_log_p();
        stepper.accept();
        if (observer) observer({ids + j, first_column + j, ++step_index, t, x, l, &flag});
        h = control.after_accept(last ? remaining : h, err, just_rejected);
        just_rejected = false;
      } else {
        st.rejected += 1;
        just_rejected = true;
        h = control.after_reject(h, err);
      }
    }
    st.t_reached = t;
    X.col(j) = x;
    L(j) = l(0);
  }
}

}  // namespace detail

/// Integrates x and log p from t_start to t_end for every column of x_start.
/// `log_p_start` is the log-density at t_start (see initial_log_p helpers); it is carried along
/// and returned as the estimate at t_end. Never throws mid-batch: a trajectory that cannot
/// finish is returned at its last good state with a status saying why.
/// The start states are taken by value and become the result's states: pass them with
/// std::move when they are not needed afterwards, and a run holds one copy of its states.
template <class Scheme, class Dyn, class S = typename Dyn::scalar_type>
integration_result<S> integrate(const Dyn& dynamics, Scheme,
                                std::type_identity_t<matrix<S>> x_start,
                                std::type_identity_t<vector<S>> log_p_start,
                                double t_start, double t_end, const integrate_options& opt = {},
                                const std::type_identity_t<step_observer<S>>& observer = {}) {
  if constexpr (Scheme::stochastic) {
    static_assert(sde_dynamics<Dyn>, "this scheme needs SDE dynamics (sde_terms)");
  } else {
    static_assert(ode_dynamics<Dyn>, "this scheme needs ODE dynamics (rate)");
  }
  detail::validate_run<Scheme>(dynamics, x_start.rows(), x_start.cols(), log_p_start.size(),
                               t_start, t_end, opt);
  return detail::translating_bad_alloc("integrate", [&] {
    std::vector<double> times;
    if constexpr (!Scheme::adaptive)
      times = make_time_grid(dynamics.process(), opt.grid, t_start, t_end);

    const long N = x_start.cols();
    integration_result<S> result{std::move(x_start), std::move(log_p_start),
                                  std::vector<trajectory_stats>(std::size_t(N))};

    long preferred = detail::default_chunk;
    if constexpr (requires { dynamics.model(); })
      preferred = detail::preferred_chunk(dynamics.model());
    detail::for_each_chunk(N, opt.execution, [&](long, long j0, long n) {
        Dyn dyn = dynamics;  // each chunk owns its workspaces
        matrix<S> X = result.x.middleCols(j0, n);
        vector<S> L = result.log_p.segment(j0, n);
        trajectory_stats* stats = result.stats.data() + j0;
        // Ids per chunk, not for the whole batch: 8 bytes per trajectory less at scale.
        std::vector<std::uint64_t> ids(static_cast<std::size_t>(n));
        for (long j = 0; j < n; ++j) ids[std::size_t(j)] = opt.first_id + std::uint64_t(j0 + j);
        const std::uint64_t* chunk_ids = ids.data();
        if constexpr (Scheme::adaptive) {
          detail::run_adaptive<Scheme>(dyn, t_start, t_end, chunk_ids, j0, X, L, stats, opt,
                                       observer);
        } else {
          const long split_at =
              detail::run_fixed<Scheme>(dyn, times, chunk_ids, j0, X, L, stats, opt, observer);
          if (split_at >= 0) {
            // The model threw for some column's state: find whose (model_error); the observer
            // sees only the steps it has not seen yet.
            detail::rerun_columns_alone(
                result, j0, n, X, L, stats,
                [&](long j, matrix<S>& x, vector<S>& l, trajectory_stats* st) {
                  Dyn alone = dynamics;
                  detail::run_fixed<Scheme>(alone, times, chunk_ids + j, j0 + j, x, l, st, opt,
                                            observer, split_at + 1);
                });
          }
        }
        result.x.middleCols(j0, n) = X;
        result.log_p.segment(j0, n) = L;
    }, preferred);
    return result;
  });
}

}  // namespace dlogp

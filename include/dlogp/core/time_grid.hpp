#pragma once
// Time grids for fixed-step schemes (docs/notation.md §1 "Time grids"). A grid runs from t_start to
// t_end in either direction (sampling: t_max -> t_min; encoding: the reverse), has steps + 1
// points, starts and ends exactly at t_start and t_end, and is strictly monotone.
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/status.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

enum class grid_kind {
  uniform,  ///< equal steps in t
  edm_rho,  ///< Karras et al.'s rho-grid on the noise level sigma/alpha
  log_snr,  ///< equal steps in lambda = log(alpha^2 / sigma^2)
};

inline constexpr std::string_view to_string(grid_kind k) {
  switch (k) {
    case grid_kind::uniform: return "uniform";
    case grid_kind::edm_rho: return "edm-rho";
    case grid_kind::log_snr: return "log-snr";
  }
  return "unknown";
}

inline grid_kind grid_kind_from_string(std::string_view s) {
  for (grid_kind k : {grid_kind::uniform, grid_kind::edm_rho, grid_kind::log_snr})
    if (s == to_string(k)) return k;
  throw invalid_argument("time_grid: unknown grid kind (" + std::string(s) +
                         "); expected uniform, edm-rho or log-snr");
}

/// The time grid of a fixed-step run.
struct time_grid_options {
  long steps = 1000;                       ///< number of steps (<= max_grid_steps)
  grid_kind spacing = grid_kind::uniform;  ///< how the steps are spaced
  std::vector<double> times{};  ///< explicit grid, overriding steps and spacing: finite,
                                ///< strictly monotone from the run's start to its end
};

/// The most steps a grid may have: 10^9 steps already take 8 GB of times and hours of model
/// calls; more is a mistake (e.g. 2^40), refused with a dlogp::error instead of std::bad_alloc.
inline constexpr long max_grid_steps = 1'000'000'000;
static_assert(max_grid_steps <= max_step_count, "a grid's steps must fit trajectory_stats' counters");

namespace detail {

/// steps in [1, max_grid_steps].
inline void require_grid_steps(const char* who, long steps) {
  require(steps >= 1, std::string(who) + ": steps must be >= 1 (" + std::to_string(steps) + ")");
  require(steps <= max_grid_steps, std::string(who) + ": steps must be <= " +
                                       std::to_string(max_grid_steps) + " (" +
                                       std::to_string(steps) + ")");
}

/// An explicit grid: at least two finite times, from t_start to t_end, strictly monotone in
/// the run's direction (a repeated time is a zero step; a step backwards runs the dynamics the
/// wrong way).
inline void require_explicit_times(const char* who, const std::vector<double>& times,
                                   double t_start, double t_end) {
  const std::string w(who);
  require(times.size() - 1 <= std::size_t(max_grid_steps),
          w + ": explicit times must be at most " + std::to_string(max_grid_steps) + " steps");
  require(times.size() >= 2 && times.front() == t_start && times.back() == t_end,
          w + ": explicit times must run from t_start to t_end (" + number(t_start) + " -> " +
              number(t_end) + ")");
  const double dir = t_end > t_start ? 1.0 : -1.0;
  // The messages are formatted only for a time that fails: formatting them for every time
  // allocated a few strings per step of the grid, in every call.
  for (std::size_t i = 1; i < times.size(); ++i) {
    if (!std::isfinite(times[i]))
      require(false, w + ": explicit time " + std::to_string(i) + " is not finite (" +
                         number(times[i]) + ")");
    if (!(dir * (times[i] - times[i - 1]) > 0))
      require(false, w + ": explicit times must be strictly " +
                         (dir > 0 ? "increasing" : "decreasing") + " from t_start to t_end; time " +
                         std::to_string(i) + " (" + number(times[i]) + ") follows " +
                         number(times[i - 1]));
  }
}

/// A grid's explicit times, or else its number of steps, are valid for a run t_start -> t_end.
inline void require_time_grid(const char* who, const time_grid_options& grid, double t_start,
                              double t_end) {
  if (!grid.times.empty())
    require_explicit_times(who, grid.times, t_start, t_end);
  else
    require_grid_steps(who, grid.steps);
}

}  // namespace detail

/// steps + 1 times from t_start to t_end. rho is used by edm_rho only.
template <process P>
std::vector<double> make_time_grid(const P& p, grid_kind kind, double t_start, double t_end,
                                   long steps, double rho = 7.0) {
  const auto range = " (" + std::to_string(t_start) + " -> " + std::to_string(t_end) + ")";
  detail::require_grid_steps("time_grid", steps);
  detail::require(std::isfinite(t_start) && std::isfinite(t_end) && t_start != t_end,
                  "time_grid: need finite t_start != t_end" + range);
  const double n = double(steps);
  std::vector<double> t(std::size_t(steps) + 1);
  switch (kind) {
    case grid_kind::uniform:
      for (long i = 0; i <= steps; ++i) t[std::size_t(i)] = t_start + (t_end - t_start) * (double(i) / n);
      break;
    case grid_kind::log_snr: {
      const double l0 = p.log_snr(t_start), l1 = p.log_snr(t_end);
      detail::require(std::isfinite(l0) && std::isfinite(l1),
                      "time_grid: log-snr grid needs a finite log-SNR at both ends" + range);
      for (long i = 0; i <= steps; ++i)
        t[std::size_t(i)] = p.t_from_log_snr(l0 + (l1 - l0) * (double(i) / n));
      break;
    }
    case grid_kind::edm_rho: {
      detail::require(std::isfinite(rho) && rho > 0,
                      "time_grid: rho must be positive (" + std::to_string(rho) + ")");
      // Noise level sigma/alpha = e^{-lambda/2}; for EDM and VE it is sigma itself.
      const auto level = [&](double u) { return p.sigma(u) / p.alpha(u); };
      const bool down = t_start > t_end;  // sampling direction: high noise first
      const double hi = level(down ? t_start : t_end), lo = level(down ? t_end : t_start);
      detail::require(std::isfinite(hi) && lo >= 0 && hi > lo,
                      "time_grid: edm-rho grid needs noise levels 0 <= low < high, finite" +
                          range);
      const double a = std::pow(hi, 1.0 / rho), b = std::pow(lo, 1.0 / rho);
      for (long i = 0; i <= steps; ++i) {
        const double s = std::pow(a + (double(i) / n) * (b - a), rho);  // i = 0: hi, i = N: lo
        t[std::size_t(down ? i : steps - i)] = p.t_from_log_snr(-2.0 * std::log(s));
      }
      break;
    }
  }
  t.front() = t_start;
  t.back() = t_end;
  const double dir = t_end > t_start ? 1.0 : -1.0;
  for (std::size_t i = 1; i < t.size(); ++i)
    detail::require(dir * (t[i] - t[i - 1]) > 0,
                    "time_grid: " + std::string(to_string(kind)) + " grid with " +
                        std::to_string(steps) + " steps is not strictly monotone" + range);
  return t;
}

/// The times of a run t_start -> t_end: the explicit ones when given, else steps + 1 times of
/// the grid's spacing.
template <process P>
std::vector<double> make_time_grid(const P& p, const time_grid_options& grid, double t_start,
                                   double t_end) {
  if (!grid.times.empty()) return grid.times;
  return make_time_grid(p, grid.spacing, t_start, t_end, grid.steps);
}

}  // namespace dlogp

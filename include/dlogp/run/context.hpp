#pragma once
// What a method gets (run_context) and gives back (run_output), and the trajectory recorder.
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <dlogp/integrate.hpp>

#include "progress.hpp"
#include "run_spec.hpp"

namespace dlogp::runner {

inline constexpr double no_value = std::numeric_limits<double>::quiet_NaN();  ///< written as null

/// Per trajectory: x at the start and end, log p estimate and exact value at the point the
/// contract names (NaN = null), the integrator's statistics. Methods may add fields.
struct run_output {
  matrix<double> x_start, x;  ///< D x n
  vector<double> logp, logp_exact;
  std::vector<trajectory_stats> stats;
  std::vector<json> result_extra;       ///< empty, or one object per trajectory (fields appended)
  json summary_extra = json::object();  ///< fields appended to "summary"
  double bin_width = 0;                 ///< > 0: the summary adds bits per dimension of logp

  long size() const { return long(stats.size()); }
  bool all_ok() const {
    for (const auto& s : stats)
      if (s.status != status::ok) return false;
    return true;
  }
};

/// Keeps every k-th state of each trajectory (record {"every": k}), plus the last one.
/// Observed concurrently; each trajectory is written by one thread at a time.
class trajectory_recorder {
 public:
  trajectory_recorder(long n, long dim, long every)
      : dim_(dim), every_(every), points_(std::size_t(n)), seen_(std::size_t(n), 0) {}

  long dimension() const { return dim_; }
  /// Flat (t, logp, x_0 .. x_{D-1}) per state.
  const std::vector<double>& points(long j) const { return points_[std::size_t(j)]; }
  long stride() const { return dim_ + 2; }

  /// `continued`: a later phase of the same trajectories, whose first state repeats the last.
  void observe(const step_view<double>& v, bool continued, bool track_logp) {
    for (long c = 0; c < v.X.cols(); ++c) {
      if (v.statuses && v.statuses[c] != status::ok) continue;  // frozen: not a new state
      if (continued && v.step == 0) continue;
      const long j = v.first_column + c;
      if (seen_[std::size_t(j)]++ % every_ == 0)
        append(j, v.t, v.X.col(c).data(), track_logp ? v.log_p(c) : no_value);
    }
  }
  /// After the run: the final state, unless it is already the last one stored.
  void finish(long j, double t, const double* x, double logp) {
    auto& p = points_[std::size_t(j)];
    if (!p.empty() && p[p.size() - std::size_t(stride())] == t) return;
    append(j, t, x, logp);
  }
  /// Adds c to every stored log p of trajectory j (encoding: ell_t -> log p_t), or NaN.
  void shift_logp(long j, double c) {
    auto& p = points_[std::size_t(j)];
    for (std::size_t i = 1; i < p.size(); i += std::size_t(stride())) p[i] += c;
  }

 private:
  void append(long j, double t, const double* x, double logp) {
    auto& p = points_[std::size_t(j)];
    p.push_back(t);
    p.push_back(logp);
    p.insert(p.end(), x, x + dim_);
  }
  long dim_, every_;
  std::vector<std::vector<double>> points_;
  std::vector<long> seen_;
};

struct run_context {
  const run_spec& spec;
  int threads = 0;                          ///< --threads (0: OpenMP's default)
  trajectory_recorder* recorder = nullptr;  ///< set when the spec has "record"
  progress_bar* progress = nullptr;         ///< set when a progress bar is shown
  /// The shard of the spec's n trajectories this run computes: global indices [first, first +
  /// count) (count -1: all of them). Noise is keyed by the global index, so a shard's results are
  /// exactly those of the same trajectories in the whole run (dlogp-run-mpi, docs/cli.md).
  long first = 0;
  long count = -1;

  long size() const { return count < 0 ? spec.n - first : count; }
  std::uint64_t first_id() const { return std::uint64_t(first); }

  /// The integrator options of the spec (seed, solver, track_logp) and the thread count.
  integrate_options options() const {
    integrate_options o;
    o.seed = spec.seed;
    o.track_logp = spec.track_logp;
    o.first_id = first_id();
    o.execution.threads = threads;
    if (!spec.solver.scheme.empty()) {
      o.grid = spec.solver.grid;
      o.tolerance = spec.solver.tolerance;
    }
    return o;
  }

  /// The observer for one integrate() call running from t0 to t1: phase `phase` of `phases`
  /// consecutive calls over the same trajectories (columns = trajectory indices). Empty when
  /// nobody listens, so the integrator skips it.
  step_observer<double> observer(double t0, double t1, int phase = 0, int phases = 1) const {
    if (!recorder && !progress) return {};
    trajectory_recorder* rec = recorder;
    progress_bar* bar = progress;
    const bool track = spec.track_logp;
    const double span = std::abs(t1 - t0);
    return [=](const step_view<double>& v) {
      if (rec) rec->observe(v, phase > 0, track);
      if (bar)
        for (long c = 0; c < v.X.cols(); ++c) {
          const bool stopped = v.statuses && v.statuses[c] != status::ok;
          bar->update(v.first_column + c, phase, phases, std::abs(v.t - t0) / span, stopped || v.t == t1);
        }
    };
  }
};

}  // namespace dlogp::runner

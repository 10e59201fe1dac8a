#pragma once
// Per-trajectory outcome and statistics.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dlogp {

enum class status : std::uint8_t {
  ok,              ///< reached the end time
  max_steps,       ///< adaptive solver used its step budget; partial state returned
  step_underflow,  ///< adaptive step size fell below the representable minimum
  non_finite,      ///< a NaN/Inf appeared; the last finite state is returned
  eta_blowup,      ///< density guidance factor eta diverged (docs/notation.md §5.2,
                   ///< docs/ground-truth.md T2)
  model_error,     ///< the model threw dlogp::numerical_error at this trajectory's state
};

inline constexpr std::string_view to_string(status s) {
  switch (s) {
    case status::ok: return "ok";
    case status::max_steps: return "max_steps";
    case status::step_underflow: return "step_underflow";
    case status::non_finite: return "non_finite";
    case status::eta_blowup: return "eta_blowup";
    case status::model_error: return "model_error";
  }
  return "unknown";
}

/// Every status, in the order of the enum (reports list them in this order; dlogp-run's
/// status.npy codes are the indices).
inline constexpr status all_statuses[] = {status::ok,         status::max_steps,  status::step_underflow,
                                          status::non_finite, status::eta_blowup, status::model_error};
static_assert(sizeof(all_statuses) / sizeof(status) == std::size_t(status::model_error) + 1,
              "all_statuses lists every status: add a new one there too");

/// 24 bytes, so that the statistics of many trajectories take no more memory than their states
/// at D = 2 (a call on 10^6 trajectories holds both): hence the narrow fields. The step counters
/// cannot overflow: every step budget is checked against max_step_count.
struct trajectory_stats {
  double t_reached = 0;                 ///< time of the returned state
  std::int64_t score_evals : 56 = 0;    ///< score-evaluation equivalents spent on it
  dlogp::status status : 8 = status::ok;
  std::uint32_t accepted = 0;           ///< steps taken
  std::uint32_t rejected = 0;           ///< attempts an adaptive scheme's error test refused
                                        ///< or the model failed at (retried smaller)

  /// Steps attempted (accepted + rejected). An attempt that ends the trajectory with a failure
  /// status is in neither count; its score evaluations are in score_evals.
  long steps() const { return long(accepted) + long(rejected); }
  /// score_evals += n (n >= 0), written so that narrowing to the bit-field is visibly intended
  /// (no conversion warning); 2^55 evaluations are out of reach.
  void add_score_evals(long n) { score_evals = (score_evals + n) & score_evals_mask; }

  static constexpr std::int64_t score_evals_mask = (std::int64_t(1) << 55) - 1;
};
static_assert(sizeof(trajectory_stats) == 24, "trajectory_stats: keep it at 24 bytes");

/// The largest step budget of one trajectory (max_steps, a fixed grid's steps, Langevin moves):
/// a trajectory's accepted + rejected counts fit in 32 bits even when two phases add up.
inline constexpr long max_step_count = 2147483647;  // 2^31 - 1

}  // namespace dlogp

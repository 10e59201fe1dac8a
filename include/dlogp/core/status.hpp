#pragma once
// Per-trajectory outcome and statistics.
#include <cstddef>
#include <string_view>

namespace dlogp {

enum class status {
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

struct trajectory_stats {
  long score_evals = 0;  ///< score-evaluation equivalents spent on this trajectory
  long steps = 0;        ///< steps attempted (accepted + rejected)
  long accepted = 0;
  long rejected = 0;
  double t_reached = 0;  ///< time of the returned state
  dlogp::status status = status::ok;
};

}  // namespace dlogp

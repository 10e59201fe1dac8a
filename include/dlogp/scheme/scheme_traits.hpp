#pragma once
// What schemes share: the scaled-error term of adaptive schemes. A scheme is a struct with
// order, adaptive, stochastic, name, description and a stepper (scheme/catalogue.hpp).
// The dynamics a scheme steps are the ode_dynamics and sde_dynamics concepts of
// core/concepts.hpp.
#include <concepts>
#include <limits>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/types.hpp"

namespace dlogp {

namespace detail {

/// One term e / sc of an adaptive scheme's scaled error, sc = atol + rtol |x|. With atol = 0
/// (pure relative accuracy, a valid choice) sc is 0 where x is exactly 0, and e / sc would be
/// 0 / 0 = NaN. The limit sc -> 0+ decides: an error of exactly 0 is no error at all (0), any
/// other error is infinitely large against a scale of 0 (inf: reject, or an underflowing step,
/// never a NaN step size). For sc > 0 it is e / sc, bit for bit.
inline double error_ratio(double e, double sc) {
  if (sc > 0) return e / sc;
  return e == 0 ? 0.0 : std::numeric_limits<double>::infinity();
}

}  // namespace detail
}  // namespace dlogp

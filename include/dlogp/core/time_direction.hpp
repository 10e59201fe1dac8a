#pragma once
// Which way in time a dynamics may run (docs/notation.md §1: sampling runs t_max -> t_min, dt < 0).
//
// The reverse SDE, the HD-ODE, mode tracking and density guidance describe sampling, with a
// reverse-time Brownian motion or a drift towards high density; run the other way they still
// produce numbers (log p near -1e5 for the reverse SDE), all of them meaningless. The forward
// SDE is the noising process and only runs forward. The PF-ODE and a general ODE are the same
// ODE both ways (sampling and encoding), so they declare nothing.
//
// A dynamics declares its rule as a static member
//   static constexpr dynamics_direction direction{time_direction::reverse, "reverse_sde",
//                                                 "forward_sde"};
// and integrate() checks it once, at the boundary (detail::check_direction).
#include <string>

#include "dlogp/error.hpp"

namespace dlogp {

enum class time_direction {
  any,      ///< both ways (ODEs that are the same flow run backwards)
  reverse,  ///< from high noise to low noise only: t_end < t_start
  forward,  ///< from low noise to high noise only: t_end > t_start
};

struct dynamics_direction {
  time_direction direction = time_direction::any;
  const char* name = "dynamics";     ///< the dynamics, for messages
  const char* other_way = "pf_ode";  ///< what to use to go the other way
};

/// The dynamics' rule: its `direction` member when it has one, else any.
template <class Dyn>
constexpr dynamics_direction direction_of() {
  if constexpr (requires { Dyn::direction; })
    return Dyn::direction;
  else
    return {};
}

namespace detail {

/// Refuses a run against the dynamics' direction, with the fix in the message.
template <class Dyn>
void check_direction(const char* who, double t_start, double t_end) {
  constexpr dynamics_direction rule = direction_of<Dyn>();
  const std::string ends = " (" + number(t_end) + ") must be ";
  if (rule.direction == time_direction::reverse && !(t_end < t_start))
    throw invalid_argument(std::string(who) + ": " + rule.name +
                           " runs from high noise to low noise: t_end" + ends + "< t_start (" +
                           number(t_start) + "); swap them, or use " + rule.other_way +
                           " to go the other way");
  if (rule.direction == time_direction::forward && !(t_end > t_start))
    throw invalid_argument(std::string(who) + ": " + rule.name +
                           " runs from low noise to high noise: t_end" + ends + "> t_start (" +
                           number(t_start) + "); swap them, or use " + rule.other_way +
                           " to go the other way");
}

}  // namespace detail
}  // namespace dlogp

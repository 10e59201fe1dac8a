#pragma once
// The methods this build implements: ONE line each. Adding a method = a header in this folder
// with run_<name>() and <name>_method(), an #include and a line below (docs/adding-a-method.md).
// A contract method missing here is rejected as "not available in this build".
#include <string_view>
#include <vector>

#include "../catalogue.hpp"
#include "../context.hpp"
#include "annealed_langevin.hpp"
#include "dg_ode.hpp"
#include "dg_sde.hpp"
#include "forward_sde.hpp"
#include "hd_ode.hpp"
#include "hd_sampler.hpp"
#include "langevin.hpp"
#include "mode_tracking.hpp"
#include "objective.hpp"
#include "pc.hpp"
#include "pf_ode.hpp"
#include "pf_ode_encode.hpp"
#include "reverse_sde.hpp"

namespace dlogp::runner {

inline const std::vector<method_entry>& method_registry() {
  static const std::vector<method_entry> r = {
      methods::pf_ode_method(),
      methods::pf_ode_encode_method(),
      methods::reverse_sde_method(),
      methods::forward_sde_method(),
      methods::hd_ode_method(),
      methods::hd_sampler_method(),
      methods::mode_tracking_method(),
      methods::dg_ode_method(),
      methods::dg_sde_method(),
      methods::langevin_method(),
      methods::annealed_langevin_method(),
      methods::pc_method(),
      methods::objective_method(),
  };
  return r;
}

inline const method_entry* find_method_entry(std::string_view name) {
  for (const auto& e : method_registry())
    if (e.name == name) return &e;
  return nullptr;
}

/// What the validator needs to know about this build.
inline build_info current_build() {
  build_info b;
  for (const auto& e : method_registry()) b.methods.push_back({e.name, e.schemes});
  return b;
}

}  // namespace dlogp::runner

#pragma once
// The methods of dlogp-run: ONE line each, in the order --help and the docs list them. A method
// is its own file in this folder (its definition: keys with their schema, checks; and its run
// function; docs/adding-a-method.md) plus its line here; the validator, --schema, --help and
// the dispatch all read this list.
#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../method.hpp"
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

template <class... Methods>
struct method_list {};

using registered_methods = method_list<
    methods::pf_ode_method,
    methods::pf_ode_encode_method,
    methods::reverse_sde_method,
    methods::forward_sde_method,
    methods::hd_ode_method,
    methods::hd_sampler_method,
    methods::mode_tracking_method,
    methods::dg_ode_method,
    methods::dg_sde_method,
    methods::langevin_method,
    methods::annealed_langevin_method,
    methods::pc_method,
    methods::objective_method>;

namespace detail {
template <class... Methods>
std::vector<method_definition> definitions_of(method_list<Methods...>) {
  return {Methods::definition()...};
}
template <class... Methods>
run_output run_method_at(method_list<Methods...>, std::size_t index, const run_context& ctx) {
  run_output out;
  std::size_t i = 0;
  const bool ran = ((i++ == index ? (out = Methods::run(ctx), true) : false) || ...);
  if (!ran) throw std::logic_error("dlogp-run: method index " + std::to_string(index) + " is not registered");
  return out;
}
}  // namespace detail

inline const std::vector<method_definition>& method_catalogue() {
  static const std::vector<method_definition> r = detail::definitions_of(registered_methods{});
  return r;
}

/// Runs the spec's method (validated, so one of the catalogue's).
inline run_output run_method(const run_context& ctx) {
  const auto& all = method_catalogue();
  return detail::run_method_at(registered_methods{}, std::size_t(ctx.spec.method - all.data()), ctx);
}

inline const method_definition* find_method(std::string_view name) {
  for (const auto& m : method_catalogue())
    if (m.name == name) return &m;
  return nullptr;
}

inline std::vector<std::string> method_names() {
  std::vector<std::string> v;
  for (const auto& m : method_catalogue()) v.push_back(m.name);
  return v;
}

/// Methods that read a key (for "only dg-ode and dg-sde use it").
inline std::vector<std::string> methods_using(std::string_view key) {
  std::vector<std::string> v;
  for (const auto& m : method_catalogue())
    if (m.uses(key)) v.push_back(m.name);
  return v;
}

/// Which methods, and per method which schemes, a validation accepts: every one of the catalogue
/// for dlogp-run; tests narrow it to check the "not available in this build" refusals.
struct build_info {
  struct entry {
    std::string method;
    std::vector<std::string> schemes;
  };
  std::vector<entry> methods;

  const entry* find(std::string_view method) const {
    for (const auto& e : methods)
      if (e.method == method) return &e;
    return nullptr;
  }
  bool has_method(std::string_view method) const { return find(method) != nullptr; }
  bool has_scheme(std::string_view method, std::string_view scheme) const {
    const entry* e = find(method);
    return e && std::find(e->schemes.begin(), e->schemes.end(), scheme) != e->schemes.end();
  }
  static build_info everything() {
    build_info b;
    for (const auto& m : method_catalogue()) b.methods.push_back({m.name, m.schemes});
    return b;
  }
};

/// What dlogp-run validates against: every method and scheme of the catalogue.
inline build_info current_build() { return build_info::everything(); }

}  // namespace dlogp::runner

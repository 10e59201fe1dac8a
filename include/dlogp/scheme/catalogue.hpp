#pragma once
// Every integration scheme dlogp offers, by name, in one place. Three lists, by what a scheme
// integrates:
//   ode_scheme_list     any ode_dynamics (pf_ode, hd_ode, mode tracking, DG-ODE, ...)
//   pf_ode_scheme_list  exponential integrators, only for the probability-flow ODE
//   sde_scheme_list     any sde_dynamics
// Everything that offers a choice of scheme by name -- high_density_sampler's phases, dlogp-run's
// schema, validation, catalogue and dispatch -- is generated from these lists, so a new scheme is
// its header plus one entry here. The first scheme of each list is the default of its kind.
//
// A catalogue entry is a scheme type (default constructible, with `name`, `description`, `order`,
// `adaptive`, `stochastic`), or a scheme family: a tag with the same members and
// `with_variant(dpm_prediction, dpm_method, f)`, which calls f with the scheme type of the chosen
// variant (DPM-Solver's prediction and step form are run-time choices under one name).
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "dlogp/error.hpp"
#include "dlogp/scheme/dopri5.hpp"
#include "dlogp/scheme/dpm_solver.hpp"
#include "dlogp/scheme/euler.hpp"
#include "dlogp/scheme/euler_maruyama.hpp"
#include "dlogp/scheme/heun.hpp"
#include "dlogp/scheme/rk4.hpp"

namespace dlogp {

template <class... Schemes>
struct scheme_list {
  static constexpr std::size_t size = sizeof...(Schemes);
};

/// DPM-Solver of one order under one name, its variant picked at run time. Order 1 is DDIM,
/// whose noise and data forms coincide: it has one variant.
template <int Order>
struct dpm_solver_family {
  static constexpr int order = Order;
  static constexpr bool adaptive = false;
  static constexpr bool stochastic = false;
  static constexpr bool has_variants = Order > 1;
  static constexpr const char* name = Order == 1 ? "ddim" : Order == 2 ? "dpm-solver-2" : "dpm-solver-3";
  static constexpr const char* description =
      Order == 1 ? "DDIM = DPM-Solver-1, exponential integrator" : Order == 2 ? "DPM-Solver-2" : "DPM-Solver-3";

  template <class F>
  static decltype(auto) with_variant(dpm_prediction prediction, dpm_method method, F&& f) {
    if constexpr (Order == 1) {
      return f(ddim{});
    } else {
      using P = dpm_prediction;
      using M = dpm_method;
      if (prediction == P::data) {
        if (method == M::multistep) return f(dpm_solver<Order, P::data, M::multistep>{});
        return f(dpm_solver<Order, P::data, M::singlestep>{});
      }
      if (method == M::multistep) return f(dpm_solver<Order, P::noise, M::multistep>{});
      return f(dpm_solver<Order, P::noise, M::singlestep>{});
    }
  }
};

using ode_scheme_list = scheme_list<dopri5, euler, heun, rk4>;
using pf_ode_scheme_list = scheme_list<dpm_solver_family<1>, dpm_solver_family<2>, dpm_solver_family<3>>;
using sde_scheme_list = scheme_list<euler_maruyama>;

/// What the catalogue says about one scheme, for listings and validation.
struct scheme_summary {
  std::string_view name;
  std::string_view description;
  int order = 0;
  bool adaptive = false;
  bool stochastic = false;
  bool has_variants = false;  ///< a family whose variant is a run-time choice (DPM-Solver-2, -3)
};

namespace detail {
template <class S>
constexpr bool has_variants() {
  if constexpr (requires { S::has_variants; }) return S::has_variants;
  else return false;
}
}  // namespace detail

template <class... Schemes>
std::vector<scheme_summary> scheme_summaries(scheme_list<Schemes...>) {
  return {scheme_summary{Schemes::name, Schemes::description, Schemes::order, Schemes::adaptive,
                         Schemes::stochastic, detail::has_variants<Schemes>()}...};
}

template <class... Schemes>
std::vector<std::string> scheme_names(scheme_list<Schemes...>) {
  return {std::string(Schemes::name)...};
}

template <class... Schemes>
constexpr bool has_scheme(scheme_list<Schemes...>, std::string_view name) {
  return ((name == Schemes::name) || ...);
}

/// Every scheme of the three lists, ODE first, then SDE, then the PF-ODE integrators.
inline std::vector<scheme_summary> all_scheme_summaries() {
  std::vector<scheme_summary> all = scheme_summaries(ode_scheme_list{});
  for (auto s : scheme_summaries(sde_scheme_list{})) all.push_back(s);
  for (auto s : scheme_summaries(pf_ode_scheme_list{})) all.push_back(s);
  return all;
}

/// The catalogue's entry of `name`, or nullptr.
inline const scheme_summary* find_scheme(std::string_view name) {
  static const std::vector<scheme_summary> all = all_scheme_summaries();
  for (const auto& s : all)
    if (s.name == name) return &s;
  return nullptr;
}

namespace detail {
template <class First, class... Rest, class F>
decltype(auto) with_known_scheme(scheme_list<First, Rest...>, std::string_view name, F&& f) {
  if constexpr (sizeof...(Rest) == 0) {
    return f(First{});
  } else {
    using result = decltype(f(First{}));
    if (name == First::name) return static_cast<result>(f(First{}));
    return static_cast<result>(with_known_scheme(scheme_list<Rest...>{}, name, std::forward<F>(f)));
  }
}
}  // namespace detail

/// Calls f(Scheme{}) with the entry of `list` named `name`; every call of f must return the same
/// type. An unknown name is an invalid_argument naming the list's schemes.
template <class... Schemes, class F>
decltype(auto) with_scheme(scheme_list<Schemes...> list, std::string_view name, F&& f) {
  if (!has_scheme(list, name)) {
    std::string known;
    for (const auto& n : scheme_names(list)) known += (known.empty() ? "" : ", ") + n;
    throw invalid_argument("unknown scheme \"" + std::string(name) + "\" (known here: " + known + ")");
  }
  return detail::with_known_scheme(list, name, std::forward<F>(f));
}

}  // namespace dlogp

#pragma once
// PF-ODE scheme dispatch including the exponential integrators: "ddim",
// "dpm-solver-2" and "dpm-solver-3" (include/dlogp/scheme/dpm_solver.hpp). The two DPM-Solver
// names take solver.dpm_prediction ("data" = DPM-Solver++, the default; "noise") and
// solver.dpm_method ("multistep", the default; "singlestep"); ddim ignores both (its noise and
// data forms coincide). Every other name goes to with_ode_scheme. pf-ode and pf-ode-encode call
// this instead of with_ode_scheme; the DPM schemes need pf_ode dynamics (a static_assert).
#include <string>
#include <utility>

#include <dlogp/scheme/dpm_solver.hpp>

#include "common.hpp"

namespace dlogp::runner::methods {

namespace detail {

template <int Order, class F>
auto with_dpm_order(bool data, bool multistep, F&& f) {
  if (data) {
    if (multistep) return f(dpm_solver<Order, dpm_prediction::data, dpm_method::multistep>{});
    return f(dpm_solver<Order, dpm_prediction::data, dpm_method::singlestep>{});
  }
  if (multistep) return f(dpm_solver<Order, dpm_prediction::noise, dpm_method::multistep>{});
  return f(dpm_solver<Order, dpm_prediction::noise, dpm_method::singlestep>{});
}

}  // namespace detail

/// True for the schemes this header adds (for method entries and checks).
inline bool is_dpm_scheme(const std::string& name) {
  return name == "ddim" || name == "dpm-solver-2" || name == "dpm-solver-3";
}

/// Calls f(scheme) with the PF-ODE scheme named in the spec (solver.scheme, and for DPM-Solver
/// solver.dpm_prediction / solver.dpm_method, read from the filled spec).
template <class F>
auto with_pf_ode_scheme(const run_spec& s, F&& f) {
  const std::string& name = s.solver.scheme;
  if (name == "ddim") return f(ddim{});
  if (name == "dpm-solver-2" || name == "dpm-solver-3") {
    const json& sv = s.filled.at("solver");
    const bool data = sv.value("dpm_prediction", std::string("data")) == "data";
    const bool multistep = sv.value("dpm_method", std::string("multistep")) == "multistep";
    if (name == "dpm-solver-2") return detail::with_dpm_order<2>(data, multistep, f);
    return detail::with_dpm_order<3>(data, multistep, f);
  }
  return with_ode_scheme(name, std::forward<F>(f));
}

/// The schemes pf-ode and pf-ode-encode implement in this build.
inline std::vector<std::string> pf_ode_schemes() {
  return {"dopri5", "euler", "heun", "rk4", "ddim", "dpm-solver-2", "dpm-solver-3"};
}

}  // namespace dlogp::runner::methods

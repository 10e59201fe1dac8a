#pragma once
// PF-ODE scheme dispatch: the ODE schemes plus the exponential integrators of
// pf_ode_scheme_list (include/dlogp/scheme/catalogue.hpp). A scheme family with variants
// (DPM-Solver-2 and -3) takes solver.dpm_prediction ("data" = DPM-Solver++, the default; "noise")
// and solver.dpm_method ("multistep", the default; "singlestep"); ddim has one variant. pf-ode
// and pf-ode-encode call this instead of with_ode_scheme; the exponential integrators need
// pf_ode dynamics (a static_assert).
#include <string>
#include <utility>
#include <vector>

#include <dlogp/scheme/catalogue.hpp>

#include "common.hpp"

namespace dlogp::runner::methods {

/// Calls f(scheme) with the PF-ODE scheme named in the spec (solver.scheme, and for the DPM-Solver
/// families solver.dpm_prediction / solver.dpm_method, read from the filled spec).
template <class F>
decltype(auto) with_pf_ode_scheme(const run_spec& s, F&& f) {
  const std::string& name = s.solver.scheme;
  if (!has_scheme(pf_ode_scheme_list{}, name)) return with_ode_scheme(name, std::forward<F>(f));
  const json& sv = s.filled.at("solver");
  const auto prediction =
      sv.value("dpm_prediction", std::string("data")) == "data" ? dpm_prediction::data : dpm_prediction::noise;
  const auto method =
      sv.value("dpm_method", std::string("multistep")) == "multistep" ? dpm_method::multistep : dpm_method::singlestep;
  return with_scheme(pf_ode_scheme_list{}, name, [&](auto family) -> decltype(auto) {
    return decltype(family)::with_variant(prediction, method, f);
  });
}

/// The schemes pf-ode and pf-ode-encode take: every ODE scheme, then the exponential integrators.
inline std::vector<std::string> pf_ode_schemes() {
  std::vector<std::string> v = scheme_names(ode_scheme_list{});
  for (auto& n : scheme_names(pf_ode_scheme_list{})) v.push_back(std::move(n));
  return v;
}

}  // namespace dlogp::runner::methods

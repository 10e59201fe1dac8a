#pragma once
// "hd-ode": the high-density ODE (docs/notation.md §4.2), dy/dt = f y - g^2 s, from t_start down to
// t_end with log p tracked from init_logp at t_start. From a noisy x_t it heads for a high-density
// point (exact mode of p(x_0 | x_t) for Gaussian data, an approximation otherwise).
#include <dlogp/dynamics/hd_ode.hpp>

#include "common.hpp"

namespace dlogp::runner::methods {

inline run_output run_hd_ode(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  return sample_dynamics(ctx, ode_scheme_list{}, hd_ode(*s.model, s.process, s.divergence));
}

struct hd_ode_method {
  static method_definition definition() {
    return {.name = "hd-ode",
            .summary = "high-density ODE (reverse-SDE drift without noise) with log p",
            .schemes = scheme_names(ode_scheme_list{}),
            .shared_keys = {"solver", "divergence"}};
  }
  static run_output run(const run_context& ctx) { return run_hd_ode(ctx); }
};

}  // namespace dlogp::runner::methods

#pragma once
// "reverse-sde": the augmented reverse SDE (docs/notation.md §3.2), Euler-Maruyama from t_start
// down to t_end; log p follows each path with the same Brownian increments as x.
#include <dlogp/dynamics/reverse_sde.hpp>

#include "common.hpp"

namespace dlogp::runner::methods {

inline run_output run_reverse_sde(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  return sample_dynamics(ctx, sde_scheme_list{}, reverse_sde(*s.model, s.process));
}

struct reverse_sde_method {
  static method_definition definition() {
    return {.name = "reverse-sde",
            .summary = "augmented reverse SDE: samples with log p tracked along each path (no divergence)",
            .schemes = scheme_names(sde_scheme_list{}),
            .shared_keys = {"solver"}};
  }
  static run_output run(const run_context& ctx) { return run_reverse_sde(ctx); }
};

}  // namespace dlogp::runner::methods

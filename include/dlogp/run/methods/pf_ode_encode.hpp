#pragma once
// "pf-ode-encode": the likelihood of x_start at t_start (default t_min). The PF-ODE runs up to
// t_end (default T) with ell = 0; log p_{t_start}(x_start) = log p_{t_end}(x_end) - ell_end
// (docs/notation.md §3.1: encoding and sampling are the same ODE).
#include <dlogp/dynamics/pf_ode.hpp>

#include "common.hpp"
#include "dpm_schemes.hpp"

namespace dlogp::runner::methods {

/// Uniform dequantisation: x + u w with u uniform on [-1/2, 1/2]^D, drawn from the trajectory's
/// own stream (seed, global index, dequantisation), so a point's draw never depends on the batch.
inline void dequantise(const run_context& ctx, matrix<double>& X) {
  const run_spec& s = ctx.spec;
  for (long j = 0; j < X.cols(); ++j) {
    const random_stream rs(s.seed, ctx.first_id() + std::uint64_t(j), purpose::dequantisation);
    for (long i = 0; i < X.rows(); ++i) X(i, j) += (rs.uniform(std::uint64_t(i)) - 0.5) * s.bin_width;
  }
}

inline run_output run_pf_ode_encode(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  matrix<double> X0 = start_points(ctx);
  if (s.dequantise) dequantise(ctx, X0);
  const vector<double> L0 = vector<double>::Zero(X0.cols());
  const pf_ode dyn(*s.model, s.process, s.divergence);
  auto r = with_pf_ode_scheme(s, [&](auto scheme) {
    return integrate(dyn, scheme, X0, L0, s.t_start, s.t_end, ctx.options(), ctx.observer(s.t_start, s.t_end));
  });
  run_output out = finish_encoding(ctx, std::move(X0), std::move(r));
  out.bin_width = s.bin_width;
  return out;
}

inline method_entry pf_ode_encode_method() {
  return {"pf-ode-encode", pf_ode_schemes(), &run_pf_ode_encode};
}

}  // namespace dlogp::runner::methods

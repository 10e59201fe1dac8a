#pragma once
// "pf-ode-encode": the likelihood of x_start at t_start (default t_min). The PF-ODE runs up to
// t_end (default T) with ell = 0; log p_{t_start}(x_start) = log p_{t_end}(x_end) - ell_end
// (docs/notation.md §3.1: encoding and sampling are the same ODE).
#include <dlogp/analysis/bits_per_dim.hpp>
#include <dlogp/dynamics/pf_ode.hpp>

#include "common.hpp"
#include "dpm_schemes.hpp"

namespace dlogp::runner::methods {

/// The spec's quantisation (null: the data are not quantised).
struct quantisation_settings {
  double bin_width = 0;     ///< the data's bin width in model units (0: not quantised)
  bool dequantise = false;  ///< dequantise "uniform"

  static quantisation_settings of(const json& filled) {
    quantisation_settings q;
    const json& k = filled.at("quantisation");
    if (k.is_null()) return q;
    q.bin_width = dlogp::bin_width(k["range"][0].get<double>(), k["range"][1].get<double>(), k["levels"].get<long>(),
                            k["grid"] == "values" ? quantisation_grid::values : quantisation_grid::bins);
    q.dequantise = k["dequantise"] == "uniform";
    return q;
  }
};

/// Uniform dequantisation: x + u w with u uniform on [-1/2, 1/2]^D, drawn from the trajectory's
/// own stream (seed, global index, dequantisation), so a point's draw never depends on the batch.
inline void dequantise(const run_context& ctx, double bin_width, matrix<double>& X) {
  for (long j = 0; j < X.cols(); ++j) {
    const random_stream rs(ctx.spec.seed, ctx.first_id() + std::uint64_t(j), purpose::dequantisation);
    for (long i = 0; i < X.rows(); ++i) X(i, j) += (rs.uniform(std::uint64_t(i)) - 0.5) * bin_width;
  }
}

inline run_output run_pf_ode_encode(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  const quantisation_settings q = quantisation_settings::of(s.filled);
  run_output out = encode(
      ctx,
      [&](matrix<double>& X0) {
        if (q.dequantise) dequantise(ctx, q.bin_width, X0);
      },
      [&](const matrix<double>& X0, const vector<double>& L0) {
        const pf_ode dyn(*s.model, s.process, s.divergence);
        return with_pf_ode_scheme(s, [&](auto scheme) {
          return integrate(dyn, scheme, X0, L0, s.t_start, s.t_end, ctx.options(), ctx.observer(s.t_start, s.t_end));
        });
      });
  out.bin_width = q.bin_width;
  return out;
}

/// The quantisation must give a bin width (bits_per_dim.hpp's checks, named at the key).
inline void check_quantisation(const method_check_input& in) {
  try {
    (void)quantisation_settings::of(in.filled);
  } catch (const dlogp::error& e) {
    throw spec_error("/quantisation", runner::detail::strip_id(e.what()));
  }
}

struct pf_ode_encode_method {
  static method_definition definition() {
    return {
        .name = "pf-ode-encode",
        .dir = direction::encoding,
        .summary = "probability-flow ODE from data (t_start = t_min) to noise: the likelihood of x_start",
        .schemes = pf_ode_schemes(),
        .shared_keys = {"solver", "divergence"},
        .own_keys = {key(
            "quantisation",
            object_node(
                "pf-ode-encode: the data are quantised (e.g. 8-bit pixels scaled to [-1, 1]); the summary reports "
                "bits per dimension, bpd = -(log p + D ln w) / (D ln 2) with w the bin width (docs/cli.md).",
                {required_key("levels", integer_node("Quantisation levels, e.g. 256.").at_least(1).at_most(1e12)),
                 key("range", array_node("[lo, hi]: the data range in model units.", number_node("Bound."))
                                  .items_between(2, 2)
                                  .def(json::array({-1.0, 1.0}))),
                 key("grid", string_node("\"bins\": levels bins tile [lo, hi], w = (hi - lo) / levels (score_sde's "
                                         "convention); \"values\": levels values run from lo to hi, w = (hi - lo) / "
                                         "(levels - 1).",
                                         {"bins", "values"}, "grid")
                                 .def("bins")),
                 key("dequantise", string_node("\"uniform\": add u w, u uniform on [-1/2, 1/2]^D keyed by (seed, "
                                               "trajectory), to each x_start; \"none\": the points as given.",
                                               {"none", "uniform"}, "dequantisation")
                                       .def("none"))})
                .or_null()
                .def(nullptr))},
        .check = &check_quantisation};
  }
  static run_output run(const run_context& ctx) { return run_pf_ode_encode(ctx); }
};

}  // namespace dlogp::runner::methods

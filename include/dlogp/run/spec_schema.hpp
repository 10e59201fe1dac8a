#pragma once
// The spec's keys: types, ranges, defaults and descriptions (docs/cli.md is the prose version).
// Keys every method reads and sections several methods share are here; a key only one method
// reads is in that method's definition (methods/*.hpp). Regenerate docs/schema.json after a change.
#include <algorithm>
#include <string>
#include <vector>

#include "catalogue.hpp"
#include "methods/registry.hpp"
#include "schema_node.hpp"

namespace dlogp::runner {

inline const node& spec_schema() {
  static const node root = [] {
    auto time = [](std::string d) { return number_node(std::move(d)).at_least(0); };
    auto pos = [](std::string d) { return number_node(std::move(d)).above(0); };

    const node gmm = object_node(
        "Gaussian mixture p_0 = sum_k w_k N(mu_k, S_k), diffused exactly by the process. Give exactly "
        "one of covariances, variances or diagonals.",
        {required_key("type", string_node("Model type.", {"gmm"}, "model type")),
         key("file", string_node("A mixture file instead of the inline keys: *.json with the inline keys, or safetensors "
                                 "(docs/weights-format.md). Relative to the spec's folder.", {})),
         key("weights", array_node("Component weights [K], positive; normalised to sum 1. Required unless file.",
                                   pos("Weight w_k.")).non_empty()),
         key("means", array_node("Component means [K][D]. Required unless file.",
                                 array_node("Mean mu_k [D].", number_node("Coordinate.")).non_empty())
                          .non_empty()),
         key("covariances", array_node("Full covariances [K][D][D], symmetric positive definite.",
                                       array_node("S_k [D][D].", array_node("Row [D].", number_node("Entry."))))),
         key("variances", array_node("Isotropic covariances S_k = v_k I [K].", pos("Variance v_k."))),
         key("diagonals", array_node("Diagonal covariances [K][D].",
                                     array_node("Diagonal of S_k [D].", pos("Variance."))))});
    node model_gmm = gmm;
    model_gmm.exactly_one_of = {{"covariances", "variances", "diagonals", "file"}};
    const std::vector<std::string> parametrisations = {"epsilon", "x0", "v", "score", "velocity"};
    const node mlp = object_node(
        "A network in dlogp's MLP weight format (docs/weights-format.md); its process and parametrisation are "
        "stored in the file and must match the spec's.",
        {required_key("type", string_node("Model type.", {"mlp"}, "model type")),
         required_key("weights", string_node("The weight file (safetensors). Relative to the spec's folder.", {})),
         key("parametrisation", string_node("What the network predicts; checked against the file's (default: the "
                                            "file's).", parametrisations, "parametrisation"))});
    const node torchscript = object_node(
        "A TorchScript module (torch.jit.script or torch.jit.trace, saved with .save()) whose forward is (x, t) -> "
        "a tensor of x's shape. Needs a build with libtorch.",
        {required_key("type", string_node("Model type.", {"torchscript"}, "model type")),
         required_key("path", string_node("The module file (.pt). Relative to the spec's folder.", {})),
         required_key("parametrisation", string_node("What the network predicts: epsilon, x0 (the denoised data), v "
                                                     "(alpha eps - sigma x0), the score, or the PF-ODE velocity.",
                                                     parametrisations, "parametrisation")),
         key("dtype", string_node("The module's floating-point type.", {"float32", "float64"}, "dtype").def("float32")),
         key("input_shape", array_node("Shape of one sample as the module takes it, e.g. [C, H, W] (product D); "
                                       "default [D].",
                                       integer_node("Extent.").at_least(1))
                                .non_empty()),
         key("time_input", string_node("The module's second argument: the process time t, or the noise level sigma(t).",
                                       {"t", "sigma"}, "time input")
                               .def("t")),
         key("dimension", integer_node("D, checked against input_shape and the data; needed when neither gives it.")
                              .at_least(1))});
    const node model = variant_node(
        "The score model: a Gaussian mixture p_0 (exact score, log-density and samples at every t), an MLP weight "
        "file, or a TorchScript module.",
        "type", "model type", {{"gmm", model_gmm}, {"mlp", mlp}, {"torchscript", torchscript}});

    auto vp_like = [&](std::string name, std::string d) {
      return object_node(std::move(d), {required_key("type", string_node("Process type.", {name}, "process type")),
                                        key("beta_min", pos("beta(0).").def(0.1)),
                                        key("beta_max", pos("beta(1); at least beta_min.").def(20.0)),
                                        key("t_min", time("Smallest time of the run range.").def(1e-3)),
                                        key("t_max", pos("Largest time (T).").def(1.0))});
    };
    const node process = variant_node(
        "The forward (noising) process x_t = alpha_t x_0 + sigma_t eps (docs/notation.md section 1).", "type", "process type",
        {{"vp", vp_like("vp", "Variance preserving, linear beta.")},
         {"sub-vp", vp_like("sub-vp", "Sub-VP, linear beta.")},
         {"ve", object_node("Variance exploding, geometric sigma.",
                            {required_key("type", string_node("Process type.", {"ve"}, "process type")),
                             key("sigma_min", pos("sigma(0).").def(0.01)),
                             key("sigma_max", pos("sigma(1); greater than sigma_min.").def(50.0)),
                             key("t_min", time("Smallest time.").def(1e-5)),
                             key("t_max", pos("Largest time (T).").def(1.0))})},
         {"edm", object_node("EDM (Karras et al.): alpha = 1, sigma = t.",
                             {required_key("type", string_node("Process type.", {"edm"}, "process type")),
                              key("t_min", time("Smallest time (= sigma).").def(0.002)),
                              key("t_max", pos("Largest time (= sigma).").def(80.0))})},
         {"rectified-flow", object_node("Rectified flow: alpha = 1 - t, sigma = t.",
                                        {required_key("type", string_node("Process type.", {"rectified-flow"}, "process type")),
                                         key("t_min", time("Smallest time.").def(1e-3)),
                                         key("t_max", pos("Largest time; below 1.").def(0.999).below(1))})}});

    const node solver = object_node(
        "How the dynamics are integrated.",
        {key("scheme", string_node("Integration scheme; the method decides which it takes.", scheme_names(), "scheme")
                           .computed(scheme_names(ode_scheme_list{}).front() + " for ODE methods, " +
                                     scheme_names(sde_scheme_list{}).front() + " for SDE methods")),
         key("steps", integer_node("Fixed-step schemes: number of steps (hd-sampler: of the whole run, the threshold is inserted; a reverse-sde first phase takes its part also with dopri5).").at_least(1).at_most(1e8).def(1000)),
         key("rtol", pos("dopri5: relative tolerance.").def(1e-6)),
         key("atol", number_node("dopri5: absolute tolerance.").at_least(0).def(1e-9)),
         key("max_steps", integer_node("dopri5: attempted steps per trajectory before status max_steps.")
                              .at_least(1).at_most(double(max_step_count)).def(100000)),
         key("grid", string_node("Fixed-step schemes: spacing of the time grid.", {"uniform", "edm-rho", "log-snr"}, "grid")
                         .def("uniform")),
         key("dpm_prediction", string_node("dpm-solver-2, dpm-solver-3: what the solver extrapolates, \"data\" (x0, "
                                           "DPM-Solver++) or \"noise\" (eps, DPM-Solver). Other schemes: must be absent.",
                                           {"data", "noise"}, "prediction")
                                   .def("data")),
         key("dpm_method", string_node("dpm-solver-2, dpm-solver-3: \"multistep\" (1 score evaluation per step) or "
                                       "\"singlestep\" (2 or 3 per step). Other schemes: must be absent.",
                                       {"multistep", "singlestep"}, "dpm method")
                               .def("multistep"))});

    const node divergence = object_node(
        "Divergence of the score for the log-density rate (docs/notation.md section 6).",
        {key("type", string_node("exact trace or Hutchinson's estimator.", {"exact", "hutchinson"}, "divergence type")
                         .def("exact")),
         key("probes", integer_node("Hutchinson: probes per evaluation.").at_least(1).at_most(1e6).def(1)),
         key("probe", string_node("Hutchinson: probe distribution.", {"rademacher", "gaussian"}, "probe").def("rademacher"))});

    const node guidance = object_node(
        "Density guidance (dg-ode, dg-sde; docs/notation.md section 5).",
        {key("q", number_node("Target quantile of log p_0; 0.5 is the PF-ODE.").above(0).below(1).def(0.5)),
         key("noise", number_node("dg-sde: noise amplitude phi_tilde inside noise_window (noise phi P dW with phi = phi_tilde g, 0 outside the window).").at_least(0).def(0.0)),
         key("noise_window", array_node("dg-sde: closed interval [t_lo, t_hi] of times where the noise is on, t_lo < t_hi.", time("Time."))
                                 .items_between(2, 2)
                                 .computed("[t_end, t_start] (the whole run)")),
         key("exact_projection_term", boolean_node("dg-sde: keep the O(1/D) Hessian term of the noise compensation.")
                                          .def(false))});

    const node record = object_node("Store the trajectories: every k-th state plus the last one.",
                                    {key("every", integer_node("k.").at_least(1).def(1))})
                            .or_null()
                            .def(nullptr);

    // The keys several methods share, then those each method owns (methods/*.hpp), then the
    // rest of the keys every method reads.
    std::vector<field> keys = {
        required_key("model", model),
        required_key("process", process),
        required_key("method", string_node("What to integrate (docs/cli.md lists what each does).", method_names(), "method")),
        key("solver", solver),
        key("divergence", divergence),
        key("guidance", guidance)};
    for (const auto& m : method_catalogue())
      for (const auto& k : m.own_keys)
        if (std::none_of(keys.begin(), keys.end(), [&](const field& f) { return f.name == k.name; })) keys.push_back(k);
    const std::vector<field> rest = {
         key("t_start", time("Start time.").computed("process t_max for sampling methods, t_min for pf-ode-encode and forward-sde")),
         key("t_end", time("End time.").computed("the other end of the process range")),
         key("x_start", array_node("Start points [N][D] at t_start; null: n draws (from the prior N(0, sigma(t_start)^2 I) "
                                   "for sampling methods, from the model's p_{t_start} for pf-ode-encode and forward-sde).",
                                   array_node("A point [D].", number_node("Coordinate.")).non_empty())
                            .non_empty()
                            .or_object(object_node(
                                "Start points from an array file: NumPy .npy or safetensors, float32 or float64, "
                                "shape (N, D) or (N, C, H, W) with C H W = D; a row with NaN or Inf gives that "
                                "trajectory status non_finite.",
                                {required_key("file", string_node("Path, relative to the spec's folder.", {})),
                                 key("tensor", string_node("safetensors: the tensor's name (default: the file's only "
                                                           "tensor).", {})
                                                   .or_null()
                                                   .def(nullptr))}))
                            .or_null()
                            .def(nullptr)),
         key("n", integer_node("Number of trajectories.").at_least(1).computed("1, or the number of x_start points")),
         {"seed", std::make_shared<const node>([] {
            node s = integer_node("Seed of every random draw (prior, Brownian, probes, data).").def(std::uint64_t(0));
            s.unsigned64 = true;
            return s;
          }()),
          false},
         key("track_logp", boolean_node("Track log p (false: x only, logp is null).").def(true)),
         key("init_logp", string_node("Log-density at the high-noise end of the run: \"prior\" = log N(x; 0, sigma(t)^2 I), "
                                      "\"exact\" = the model's own log p_t(x).", {"prior", "exact"}, "init_logp").def("prior")),
         key("record", record)};
    keys.insert(keys.end(), rest.begin(), rest.end());
    return object_node("A dlogp-run spec: one run of one method on a batch of trajectories.", std::move(keys));
  }();
  return root;
}

/// The JSON Schema printed by `dlogp-run --schema` (and kept in docs/schema.json).
inline json spec_json_schema() {
  json s = json::object();
  s["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  s["title"] = "dlogp-run spec";
  json body = to_json_schema(spec_schema());
  for (auto it = body.begin(); it != body.end(); ++it) s[it.key()] = it.value();
  // Method-specific keys: "if the method does not read it, it must be absent".
  json rules = json::array();
  std::vector<std::string> specific;
  for (const auto& m : method_catalogue())
    for (const auto& k : m.keys())
      if (std::find(specific.begin(), specific.end(), k) == specific.end()) specific.push_back(k);
  for (const auto& k : specific)
    rules.push_back(json{{"if", json{{"properties", json{{"method", json{{"not", json{{"enum", methods_using(k)}}}}}}}}},
                         {"then", json{{"not", json{{"required", json::array({k})}}}}}});
  // Schemes allowed per method.
  for (const auto& m : method_catalogue()) {
    if (m.schemes.empty()) continue;
    rules.push_back(json{{"if", json{{"properties", json{{"method", json{{"const", m.name}}}}}}},
                         {"then", json{{"properties", json{{"solver", json{{"properties", json{{"scheme", json{{"enum", m.schemes}}}}}}}}}}}});
  }
  s["allOf"] = rules;
  return s;
}

}  // namespace dlogp::runner

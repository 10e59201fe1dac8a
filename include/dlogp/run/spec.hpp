#pragma once
// From spec text to a checked, typed run_spec. Generic checks come from the schema tables
// (spec_schema.hpp); this file adds what relates several keys: the method's keys and schemes,
// dimensions, positive definiteness, time ranges and directions, conflicts, memory. What only
// one method reads is checked by that method's own definition (method.hpp, methods/).
// Every failure is a spec_error naming the JSON pointer; nothing here allocates per trajectory.
#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <dlogp/core/time_grid.hpp>
#include <dlogp/divergence/divergence.hpp>
#include <dlogp/error.hpp>
#include <dlogp/io/gmm_file.hpp>
#include <dlogp/io/npy.hpp>
#include <dlogp/io/safetensors.hpp>
#include <dlogp/io/mlp_weights.hpp>
#include <dlogp/model/any_score_model.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/model/mlp.hpp>
#include <dlogp/process/any_process.hpp>
#include <dlogp/process/edm.hpp>
#include <dlogp/process/rectified_flow.hpp>
#include <dlogp/process/sub_vp.hpp>
#include <dlogp/process/ve.hpp>
#include <dlogp/process/vp.hpp>
#include <dlogp/scheme/step_size_controller.hpp>

#include "catalogue.hpp"
#include "memory.hpp"
#include "methods/registry.hpp"
#include "run_spec.hpp"
#include "spec_schema.hpp"
#include "torch_plugin.hpp"

namespace dlogp::runner {

namespace detail {

inline matrix<double> rows_to_columns(const json& rows, long D) {
  matrix<double> M(D, long(rows.size()));
  for (std::size_t j = 0; j < rows.size(); ++j)
    for (long i = 0; i < D; ++i) M(i, long(j)) = rows[j][std::size_t(i)].get<double>();
  return M;
}

/// Every row of `rows` has `D` entries (pointer of the first bad row).
inline void require_row_lengths(const json& rows, std::size_t D, const std::string& ptr,
                                const std::string& expected_why) {
  for (std::size_t j = 0; j < rows.size(); ++j)
    if (rows[j].size() != D)
      throw spec_error(pointer_append(ptr, j), "has " + std::to_string(rows[j].size()) +
                                                   " coordinates, expected " + std::to_string(D) + " (" +
                                                   expected_why + ")");
}

inline void require_count(const json& a, std::size_t K, const std::string& ptr, const std::string& what) {
  if (a.size() != K)
    throw spec_error(ptr, "has " + std::to_string(a.size()) + " " + what + ", expected " + std::to_string(K) +
                              " (one per weight)");
}

/// A path from the spec: relative ones are relative to the spec's folder (`base`, "" = the
/// working directory, as for a spec read from stdin).
inline std::string resolve_path(const std::string& base, const std::string& path) {
  if (base.empty() || path.empty() || path[0] == '/') return path;
  return base + (base.back() == '/' ? "" : "/") + path;
}

/// A mixture file given as model.file (io/gmm_file.hpp), instead of the inline keys.
inline mixture_type load_mixture_file(const json& m, const any_process& process, const std::string& base) {
  for (const char* inline_key : {"weights", "means"})
    if (m.contains(inline_key))
      throw spec_error(std::string("/model/") + inline_key, "conflicts with \"file\": the file holds the whole mixture");
  const std::string path = resolve_path(base, m["file"].get<std::string>());
  try {
    return load_gaussian_mixture<double, any_process>(path, process);
  } catch (const dlogp::error& e) {
    throw spec_error("/model/file", strip_id(e.what()));
  }
}

inline mixture_type build_mixture(const json& m, const any_process& process, const std::string& base) {
  if (m.contains("file")) return load_mixture_file(m, process, base);
  for (const char* inline_key : {"weights", "means"})
    if (!m.contains(inline_key))
      throw spec_error(std::string("/model/") + inline_key, "required key is missing (or give \"file\")");
  const json& w = m["weights"];
  const std::size_t K = w.size();
  const json& means = m["means"];
  require_count(means, K, "/model/means", "rows");
  const std::size_t D = means[0].size();
  require_row_lengths(means, D, "/model/means", "the dimension of /model/means/0");
  std::vector<double> weights;
  for (const auto& x : w) weights.push_back(x.get<double>());
  const matrix<double> mu = rows_to_columns(means, long(D));
  try {
    if (m.contains("covariances")) {
      const json& c = m["covariances"];
      require_count(c, K, "/model/covariances", "matrices");
      std::vector<matrix<double>> covs;
      for (std::size_t k = 0; k < K; ++k) {
        const std::string p = pointer_append("/model/covariances", k);
        if (c[k].size() != D)
          throw spec_error(p, "has " + std::to_string(c[k].size()) + " rows, expected " + std::to_string(D) +
                                  " (the dimension of the means)");
        require_row_lengths(c[k], D, p, "the dimension of the means");
        matrix<double> S = rows_to_columns(c[k], long(D)).transpose();
        // The library's own criteria (gaussian_mixture), checked here to name the component.
        const double scale = S.cwiseAbs().maxCoeff(), asym = (S - S.transpose()).cwiseAbs().maxCoeff();
        if (!(asym <= 1e-12 * scale))
          throw spec_error(p, "is not symmetric (max |S - S^T| = " + num(asym) + ")");
        if (Eigen::LLT<matrix<double>>(S).info() != Eigen::Success)
          throw spec_error(p, "is not positive definite");
        covs.push_back(std::move(S));
      }
      return mixture_type(process, std::move(weights), mu, std::move(covs));
    }
    if (m.contains("variances")) {
      const json& v = m["variances"];
      require_count(v, K, "/model/variances", "entries");
      std::vector<double> var;
      for (const auto& x : v) var.push_back(x.get<double>());
      return mixture_type::isotropic(process, std::move(weights), mu, std::move(var));
    }
    const json& d = m["diagonals"];
    require_count(d, K, "/model/diagonals", "rows");
    require_row_lengths(d, D, "/model/diagonals", "the dimension of the means");
    return mixture_type::diagonal(process, std::move(weights), mu, rows_to_columns(d, long(D)));
  } catch (const dlogp::error& e) {  // anything the checks above did not anticipate
    throw spec_error("/model", strip_id(e.what()));
  }
}

/// m[key], or null when m lacks it (operator[] of a const json must not be given a missing key).
inline const json& key_or_null(const json& m, const char* key) {
  static const json none;
  const auto it = m.find(key);
  return it == m.end() ? none : *it;
}

/// The spec's parametrisation names: the library's (model/parametrisation.hpp, as the weight
/// files write them), except that flow_velocity is "velocity".
inline parametrisation parametrisation_from_spec(const std::string& name) {
  return name == "velocity" ? parametrisation::flow_velocity : dlogp::detail::parse_parametrisation(name);
}
inline std::string spec_name(parametrisation p) {
  return p == parametrisation::flow_velocity ? "velocity" : std::string(to_string(p));
}

/// Whether two processes are the same: same range and the same alpha and sigma across it (a
/// weight file names its process in its own words, so the numbers are compared).
inline bool same_process(const any_process& a, const any_process& b) {
  const auto close = [](double x, double y) { return std::abs(x - y) <= 1e-12 * std::max(1.0, std::abs(x)); };
  if (!close(a.t_min(), b.t_min()) || !close(a.t_max(), b.t_max())) return false;
  for (int k = 0; k <= 8; ++k) {
    const double t = a.t_min() + (a.t_max() - a.t_min()) * k / 8.0;
    if (!close(a.alpha(t), b.alpha(t)) || !close(a.sigma(t), b.sigma(t))) return false;
  }
  return true;
}

/// An MLP weight file: its process and parametrisation must be the spec's.
inline std::shared_ptr<const any_score_model> load_mlp_model(const json& m, const json& process_spec,
                                                             const any_process& process, const std::string& base) {
  const std::string path = resolve_path(base, m["weights"].get<std::string>());
  loaded_mlp<double> l = [&] {
    try {
      return load_mlp<double>(path);
    } catch (const dlogp::error& e) {
      throw spec_error("/model/weights", strip_id(e.what()));
    }
  }();
  if (!same_process(l.process, process))
    throw spec_error("/process", "differs from the process the weight file \"" + path + "\" was trained for: " +
                                     l.architecture.at("process").dump() + " (the spec's: " + process_spec.dump() + ")");
  const json& declared = key_or_null(m, "parametrisation");
  if (!declared.is_null() && parametrisation_from_spec(declared.get<std::string>()) != l.kind)
    throw spec_error("/model/parametrisation", "is \"" + declared.get<std::string>() +
                                                   "\" but the weight file \"" + path + "\" predicts \"" +
                                                   spec_name(l.kind) + "\"");
  using model = mlp_score_model<double, any_process>;
  return std::make_shared<const any_score_model>(std::make_shared<const model>(std::move(l.network), process, l.kind),
                                                 "mlp");
}

/// A TorchScript module (through the plugin, torch_plugin.hpp). Its dimension: "dimension", else
/// the product of "input_shape", else `data_dimension` (the start points', 0 = none).
inline std::shared_ptr<const any_score_model> load_torchscript_model(const json& m, const any_process& process,
                                                                     const std::string& base, long data_dimension) {
  torch_model_request r;
  r.path = resolve_path(base, m["path"].get<std::string>());
  r.process = process;
  r.kind = parametrisation_from_spec(m["parametrisation"].get<std::string>());
  r.float32 = key_or_null(m, "dtype") != "float64";
  r.options.time = key_or_null(m, "time_input") == "sigma" ? torch_model_options::time_input::sigma : torch_model_options::time_input::t;
  long shape_size = 0;
  if (const json& shape = key_or_null(m, "input_shape"); !shape.is_null()) {
    shape_size = 1;
    for (const auto& d : shape) {
      r.options.input_shape.push_back(d.get<long>());
      if (shape_size > (1L << 40) / d.get<long>())
        throw spec_error("/model/input_shape", "describes more than 2^40 values per sample");
      shape_size *= d.get<long>();
    }
  }
  const json& dimension = key_or_null(m, "dimension");
  r.dimension = !dimension.is_null() ? dimension.get<long>() : shape_size ? shape_size : data_dimension;
  if (r.dimension == 0)
    throw spec_error("/model/dimension", "is needed: neither input_shape nor x_start gives the dimension");
  if (shape_size && shape_size != r.dimension)
    throw spec_error("/model/input_shape", "has " + std::to_string(shape_size) + " values per sample but dimension is " +
                                               std::to_string(r.dimension));
  try {
    return load_torch_model(r);
  } catch (const dlogp::error& e) {
    throw spec_error(e.id() == "unsupported" ? "/model/type" : "/model/path", strip_id(e.what()));
  }
}

inline any_process build_process(const json& p) {
  const std::string type = p["type"].get<std::string>();
  const double t_min = p["t_min"].get<double>(), t_max = p["t_max"].get<double>();
  if (!(t_max > t_min))
    throw spec_error("/process/t_max", "must be greater than t_min (" + num(t_max) + " <= " + num(t_min) + ")");
  try {
    if (type == "vp" || type == "sub-vp") {
      const double b0 = p["beta_min"].get<double>(), b1 = p["beta_max"].get<double>();
      if (!(b1 >= b0))
        throw spec_error("/process/beta_max", "must be at least beta_min (" + num(b1) + " < " + num(b0) + ")");
      if (type == "vp") return vp_process(b0, b1, t_min, t_max);
      return sub_vp_process(b0, b1, t_min, t_max);
    }
    if (type == "ve") {
      const double s0 = p["sigma_min"].get<double>(), s1 = p["sigma_max"].get<double>();
      if (!(s1 > s0))
        throw spec_error("/process/sigma_max", "must be greater than sigma_min (" + num(s1) + " <= " + num(s0) + ")");
      return ve_process(s0, s1, t_min, t_max);
    }
    if (type == "edm") return edm_process(t_min, t_max);
    return rectified_flow_process(t_min, t_max);
  } catch (const dlogp::error& e) {
    throw spec_error("/process", strip_id(e.what()));
  }
}

inline void check_time(double t, const any_process& p, const std::string& ptr) {
  if (!(t >= p.t_min() && t <= p.t_max()))
    throw spec_error(ptr, "must lie in the process range [" + num(p.t_min()) + ", " + num(p.t_max()) + "] (got " +
                              num(t) + ")");
}

/// Start points from an array file (x_start {"file", "tensor"}): .npy, or a safetensors tensor
/// (`tensor`, or the file's only one); float32 or float64; shape (N, D) or (N, d1, d2, ...) with
/// d1 d2 ... = D (D < 0: whatever the file has). Returned as D x N columns.
inline matrix<double> read_points(const std::string& path, const json& tensor_name, long D) {
  tensor t;
  try {
    const bool npy = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
    if (npy) {
      if (!tensor_name.is_null())
        throw spec_error("/x_start/tensor", "applies to safetensors files only (\"" + path + "\" is a .npy file)");
      t = read_npy(path);
    } else {
      tensor_file tf = read_tensor_file(path);
      if (tensor_name.is_null()) {
        if (tf.tensors.size() != 1)
          throw spec_error("/x_start/tensor", "is needed: \"" + path + "\" holds " + std::to_string(tf.tensors.size()) +
                                                  " tensors");
        t = std::move(tf.tensors.begin()->second);
      } else {
        const std::string name = tensor_name.get<std::string>();
        if (!tf.contains(name)) {
          std::vector<std::string> names;
          for (const auto& [k, v] : tf.tensors) names.push_back(k);
          const std::string guess = closest(name, names);
          throw spec_error("/x_start/tensor", "\"" + path + "\" has no tensor \"" + name + "\"" +
                                                  (guess.empty() ? "; it has " + quoted_list(names)
                                                                 : "; did you mean \"" + guess + "\"?"));
        }
        t = std::move(tf.tensors.at(name));
      }
    }
  } catch (const dlogp::error& e) {
    throw spec_error("/x_start/file", strip_id(e.what()));
  }
  if (t.dtype != tensor_dtype::f32 && t.dtype != tensor_dtype::f64)
    throw spec_error("/x_start/file", "\"" + path + "\" holds " + to_string(t.dtype) + " values; expected float32 or float64");
  if (t.shape.size() < 2)
    throw spec_error("/x_start/file", "\"" + path + "\" has " + std::to_string(t.shape.size()) +
                                          " dimension(s); expected (N, D) or (N, C, H, W)");
  long row = 1;
  for (std::size_t i = 1; i < t.shape.size(); ++i) row *= t.shape[i];
  if (D < 0) D = row;
  if (row != D)
    throw spec_error("/x_start/file", "\"" + path + "\" has rows of " + std::to_string(row) +
                                          " values; the model's dimension is " + std::to_string(D));
  if (t.shape[0] < 1) throw spec_error("/x_start/file", "\"" + path + "\" has no rows");
  matrix<double> X(D, t.shape[0]);
  for (long j = 0; j < t.shape[0]; ++j)
    for (long i = 0; i < D; ++i) X(i, j) = t.at<double>(j * D + i);
  return X;
}

/// solver.dpm_prediction / dpm_method are read by the scheme families with variants only
/// (DPM-Solver-2 and -3, scheme/catalogue.hpp). Given with another scheme: an error (never
/// silently ignored); defaulted: removed from the filled spec (so the filled solver of other
/// schemes is unchanged).
inline void check_scheme_variant_keys(const json& doc, json& f) {
  if (!f.contains("solver")) return;
  json& sv = f["solver"];
  const std::string scheme = sv.at("scheme").get<std::string>();
  const scheme_summary* entry = find_scheme(scheme);
  const bool variants = entry && entry->has_variants;
  for (const char* k : {"dpm_prediction", "dpm_method"}) {
    if (variants || !sv.contains(k)) continue;
    if (doc.contains("solver") && doc["solver"].is_object() && doc["solver"].contains(k)) {
      std::string readers;
      for (const auto& e : all_scheme_summaries())
        if (e.has_variants) readers += std::string(readers.empty() ? "" : " and ") + "\"" + std::string(e.name) + "\"";
      throw spec_error(std::string("/solver/") + k, "only schemes " + readers + " read it (scheme is \"" + scheme + "\")");
    }
    sv.erase(k);
  }
}

}  // namespace detail

/// Validates a parsed spec for a build. memory_limit_bytes <= 0 disables the memory check;
/// relative file paths in the spec are relative to `base_dir` ("" = the working directory).
inline run_spec validate_spec(const json& doc, const build_info& build, double memory_limit_bytes,
                              const std::string& base_dir = "") {
  using detail::num;
  if (!doc.is_object()) throw spec_error("/", "the spec must be a JSON object (got " + detail::type_name(doc) + ")");
  run_spec s;
  json f = check(spec_schema(), doc, "/");

  // ---- method: built? its keys only
  const std::string method = f["method"].get<std::string>();
  s.method = find_method(method);
  if (!build.has_method(method)) throw spec_error("/method", "\"" + method + "\" is not available in this build");
  const auto& common = common_keys();
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (std::find(common.begin(), common.end(), it.key()) != common.end() || s.method->uses(it.key())) continue;
    const auto users = methods_using(it.key());
    throw spec_error(pointer_append("/", it.key()),
                     "not used by method \"" + method + "\"" +
                         (users.empty() ? std::string() : " (only " + quoted_list(users, " and ") + " use it)"));
  }
  for (auto it = f.begin(); it != f.end();) {
    if (std::find(common.begin(), common.end(), it.key()) == common.end() && !s.method->uses(it.key()))
      it = f.erase(it);
    else
      ++it;
  }

  // ---- process and model
  s.process = detail::build_process(f["process"]);
  // A start-point file is read before the model when the model's dimension may come from it.
  const auto read_x_start_file = [&](long dim) {
    // The file's real size is checked against the memory limit before its contents are (io/
    // checks every declared shape against that size).
    const std::string path = detail::resolve_path(base_dir, f["x_start"]["file"].get<std::string>());
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(path, ec);
    if (!ec && memory_limit_bytes > 0 && 3.0 * double(bytes) > memory_limit_bytes)
      throw spec_error("/x_start/file", "\"" + path + "\" has " + human_bytes(double(bytes)) +
                                            ", more than this machine's memory allows");
    return detail::read_points(path, f["x_start"]["tensor"], dim);
  };
  const json& model_spec = f["model"];
  const std::string model_kind = model_spec["type"].get<std::string>();
  bool x_start_read = false;
  if (model_kind == "gmm") {
    s.mixture = std::make_shared<const mixture_type>(detail::build_mixture(model_spec, s.process, base_dir));
    s.model = std::make_shared<const any_score_model>(s.mixture, "gmm");
  } else if (model_kind == "mlp") {
    s.model = detail::load_mlp_model(model_spec, f["process"], s.process, base_dir);
  } else {
    long data_dimension = 0;
    if (detail::key_or_null(model_spec, "dimension").is_null() && detail::key_or_null(model_spec, "input_shape").is_null()) {
      if (f["x_start"].is_object()) {
        s.x_start = read_x_start_file(-1);
        x_start_read = true;
        data_dimension = s.x_start.rows();
      } else if (f["x_start"].is_array() && !f["x_start"].empty()) {
        data_dimension = long(f["x_start"][0].size());
      }
    }
    s.model = detail::load_torchscript_model(model_spec, s.process, base_dir, data_dimension);
  }
  const long D = s.model->dimension();
  // What the method needs beyond scores and divergences (mode tracking: the gradient of the
  // Laplacian; an exact initial log p: the log-density; default start points: samples).
  const auto require_capability = [&](model_capability c, const std::string& ptr, const std::string& why) {
    if (!s.model->has(c))
      throw spec_error(ptr, why + " needs the model's " + to_string(c) + ", which model type \"" + model_kind +
                                "\" does not have");
  };
  for (const model_capability c : s.method->needs) require_capability(c, "/method", "method \"" + method + "\"");
  if (f["init_logp"] == "exact") require_capability(model_capability::log_density, "/init_logp", "\"exact\"");
  if (s.encoding() && f["x_start"].is_null())
    require_capability(model_capability::sampling, "/x_start",
                       "method \"" + method + "\" without x_start (start points drawn from the model)");

  // ---- times: defaults by direction, inside the range, not equal, the right way round
  const bool enc = s.encoding();
  const double lo = s.process.t_min(), hi = s.process.t_max();
  if (f["t_start"].is_null()) f["t_start"] = enc ? lo : hi;
  if (f["t_end"].is_null()) f["t_end"] = enc ? hi : lo;
  s.t_start = f["t_start"].get<double>();
  s.t_end = f["t_end"].get<double>();
  detail::check_time(s.t_start, s.process, "/t_start");
  detail::check_time(s.t_end, s.process, "/t_end");
  if (s.t_end == s.t_start) throw spec_error("/t_end", "equals t_start (" + num(s.t_start) + ")");
  if (!enc && !(s.t_end < s.t_start))
    throw spec_error("/t_end", "must be less than t_start: method \"" + method +
                                   "\" runs from high noise (t_start) to low noise (got t_start = " +
                                   num(s.t_start) + ", t_end = " + num(s.t_end) + ")");
  if (enc && !(s.t_end > s.t_start))
    throw spec_error("/t_end", "must be greater than t_start: method \"" + method +
                                   "\" runs from the data end (t_start) towards noise (got t_start = " +
                                   num(s.t_start) + ", t_end = " + num(s.t_end) + ")");
  const double run_lo = std::min(s.t_start, s.t_end), run_hi = std::max(s.t_start, s.t_end);

  // ---- solver
  bool fixed_step = false;
  if (f.contains("solver")) {
    json& sv = f["solver"];
    const auto& allowed = s.method->schemes;
    if (sv["scheme"].is_null()) {
      std::string pick = allowed.empty() ? std::string() : allowed.front();
      if (!build.has_scheme(method, pick))
        for (const auto& a : allowed)
          if (build.has_scheme(method, a)) {
            pick = a;
            break;
          }
      sv["scheme"] = pick;
    }
    const std::string scheme = sv["scheme"].get<std::string>();
    if (std::find(allowed.begin(), allowed.end(), scheme) == allowed.end())
      throw spec_error("/solver/scheme", "method \"" + method + "\" does not take scheme \"" + scheme +
                                             "\"; it takes " + quoted_list(allowed));
    if (!build.has_scheme(method, scheme))
      throw spec_error("/solver/scheme", "\"" + scheme + "\" is not available in this build");
    s.solver.scheme = scheme;
    s.solver.grid.steps = sv["steps"].get<long>();
    s.solver.grid.spacing = grid_kind_from_string(sv["grid"].get<std::string>());
    s.solver.tolerance.rtol = sv["rtol"].get<double>();
    s.solver.tolerance.atol = sv["atol"].get<double>();
    s.solver.tolerance.max_steps = sv["max_steps"].get<long>();
    fixed_step = !find_scheme(scheme)->adaptive;
  }

  // ---- divergence
  if (f.contains("divergence")) {
    const json& d = f["divergence"];
    s.divergence.kind = d["type"] == "exact" ? divergence_kind::exact : divergence_kind::hutchinson;
    s.divergence.probes = int(d["probes"].get<long>());
    s.divergence.probe = d["probe"] == "rademacher" ? probe_kind::rademacher : probe_kind::gaussian;
  }

  // ---- guidance
  if (f.contains("guidance")) {
    json& g = f["guidance"];
    if (g["noise_window"].is_null()) g["noise_window"] = json::array({run_lo, run_hi});
    s.guidance.q = g["q"].get<double>();
    s.guidance.noise = g["noise"].get<double>();
    s.guidance.window_lo = g["noise_window"][0].get<double>();
    s.guidance.window_hi = g["noise_window"][1].get<double>();
    s.guidance.exact_projection_term = g["exact_projection_term"].get<bool>();
    if (!(s.guidance.window_lo < s.guidance.window_hi))
      throw spec_error("/guidance/noise_window", "must be increasing, [t_lo, t_hi] with t_lo < t_hi (got [" +
                                                     num(s.guidance.window_lo) + ", " + num(s.guidance.window_hi) + "])");
    detail::check_time(s.guidance.window_lo, s.process, "/guidance/noise_window/0");
    detail::check_time(s.guidance.window_hi, s.process, "/guidance/noise_window/1");
  }

  // ---- keys that constrain each other: the solver's scheme variants, then the method's own
  detail::check_scheme_variant_keys(doc, f);
  if (s.method->check) s.method->check({doc, f, s.process, s.t_start, s.t_end});

  // ---- start points and their number
  const bool x_start_file = f["x_start"].is_object();
  if (x_start_file) {
    // Read now (if the model did not need it earlier): its number of rows is n.
    if (!x_start_read) s.x_start = read_x_start_file(D);
    s.x_start_given = true;
    if (doc.contains("n") && f["n"].get<long>() != s.x_start.cols())
      throw spec_error("/n", "conflicts with x_start, whose file has " + std::to_string(s.x_start.cols()) +
                                 " points (got " + f["n"].dump() + ")");
    f["n"] = std::int64_t(s.x_start.cols());
  } else if (!f["x_start"].is_null()) {
    const json& xs = f["x_start"];
    detail::require_row_lengths(xs, std::size_t(D), "/x_start", "the model's dimension");
    if (doc.contains("n") && f["n"].get<long>() != long(xs.size()))
      throw spec_error("/n", "conflicts with x_start, which has " + std::to_string(xs.size()) + " points (got " +
                                 f["n"].dump() + ")");
    f["n"] = std::int64_t(xs.size());
  } else if (f["n"].is_null()) {
    f["n"] = 1;
  }
  s.n = f["n"].get<long>();
  s.seed = f["seed"].get<std::uint64_t>();
  s.track_logp = f["track_logp"].get<bool>();
  s.init_exact = f["init_logp"] == "exact";
  if (!f["record"].is_null()) s.record_every = f["record"]["every"].get<long>();

  // ---- memory, before anything per trajectory is allocated (x_start below included)
  const double grid_points = fixed_step ? double(s.solver.grid.steps) + 1 : 0;
  double states = 0;
  if (s.record_every > 0) {
    const double steps = fixed_step ? double(s.solver.grid.steps) : std::min(double(s.solver.tolerance.max_steps), 1e4);
    states = steps / double(s.record_every) + 2;
  }
  const method_tables t =
      s.method->tables ? s.method->tables(f, double(D), fixed_step ? double(s.solver.grid.steps) : 0) : method_tables{};
  const double tables = t.bytes;
  if (memory_limit_bytes > 0 && tables > memory_limit_bytes)
    throw spec_error(t.pointer, "the method's tables need about " + human_bytes(tables) + ", more than the " +
                                    human_bytes(memory_limit_bytes) + " this machine allows");
  const double need = run_memory_bytes(double(s.n), double(D), states, grid_points) + tables;
  if (memory_limit_bytes > 0 && need > memory_limit_bytes)
    throw spec_error("/n", std::to_string(s.n) + " trajectories in dimension " + std::to_string(D) +
                               (states > 0 ? " with recorded states" : "") + (grid_points > 1e6 ? " and " + f["solver"]["steps"].dump() + " steps" : "") +
                               " need about " + human_bytes(need) + ", more than the " + human_bytes(memory_limit_bytes) +
                               " this machine allows");
  if (f["x_start"].is_array()) {
    s.x_start_given = true;
    s.x_start = detail::rows_to_columns(f["x_start"], D);
  }

  // ---- the time grid (fixed-step schemes): a log-SNR grid needs finite log-SNR at both ends, ...
  if (fixed_step) {
    try {
      (void)make_time_grid(s.process, s.solver.grid, s.t_start, s.t_end);
    } catch (const dlogp::error& e) {
      throw spec_error("/solver/grid", detail::strip_id(e.what()));
    }
  }
  s.filled = std::move(f);
  return s;
}

/// Parses and validates spec text (see validate_spec).
inline run_spec parse_spec(std::string_view text, const build_info& build, double memory_limit_bytes,
                           const std::string& base_dir = "") {
  return validate_spec(parse_json_text(text), build, memory_limit_bytes, base_dir);
}

/// The folder relative paths in a spec read from `spec_path` are relative to ("-": stdin, the
/// working directory).
inline std::string spec_folder(const std::string& spec_path) {
  if (spec_path == "-") return "";
  const auto slash = spec_path.rfind('/');
  return slash == std::string::npos ? "" : spec_path.substr(0, slash + 1);
}

/// The default memory limit: 80% of the physical memory (0 = unknown, no limit).
inline double default_memory_limit() { return 0.8 * physical_memory_bytes(); }

}  // namespace dlogp::runner

#pragma once
// Reading and writing MLP weights (opt-in: needs nlohmann_json; not in the umbrella header).
//
// The file is a safetensors file (io/safetensors.hpp, docs/weights-format.md). The
// architecture, parametrisation and process are a JSON document in __metadata__["dlogp"].
// Every width of the network comes from a tensor in the file and must be >= 1, so a small file
// cannot declare a network that needs gigabytes when evaluated (a [0, 2^30] time.weight holds
// no bytes but would make the embedding 2^30 wide); the embedding width is also bounded by
// max_mlp_embedding_dim.
//
// Errors: a file that cannot be opened, read or parsed, or lacks a tensor, throws
// dlogp::error with id "io_error"; tensors of the wrong rank or shape (an extent 0 included)
// throw dlogp::dimension_mismatch; unsupported values (format, version, activation,
// parametrisation, process kind, dtype, an embedding wider than the limit) throw
// dlogp::invalid_argument.
#include <cstdint>
#include <new>
#include <nlohmann/json.hpp>
#include <string>

#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"
#include "dlogp/io/safetensors.hpp"
#include "dlogp/model/mlp.hpp"
#include "dlogp/model/parametrisation.hpp"
#include "dlogp/process/any_process.hpp"
#include "dlogp/process/edm.hpp"
#include "dlogp/process/rectified_flow.hpp"
#include "dlogp/process/sub_vp.hpp"
#include "dlogp/process/ve.hpp"
#include "dlogp/process/vp.hpp"

namespace dlogp {

/// A network read from a weight file, with what its metadata says about it.
template <class Scalar>
struct loaded_mlp {
  mlp<Scalar> network;
  parametrisation kind;
  any_process process;
  nlohmann::json architecture;  ///< the metadata document __metadata__["dlogp"]

  mlp_score_model<Scalar, any_process> score_model() const { return {network, process, kind}; }
};

/// Widest sinusoidal time embedding load_mlp accepts (networks use 16 to 1024); the embedding
/// is evaluated per call in double, so its width is a memory and time cost of every score call.
inline constexpr long max_mlp_embedding_dim = 1L << 16;

namespace detail {
/// An integer of the architecture document; a float or an out-of-range value is refused (a cast
/// would be undefined behaviour).
inline long json_integer(const nlohmann::json& j, const std::string& what) {
  if (!j.is_number_integer() || (j.is_number_unsigned() && j.get<std::uint64_t>() > (std::uint64_t(1) << 62)) ||
      (!j.is_number_unsigned() && j.get<std::int64_t>() < -(std::int64_t(1) << 62)))
    throw error("io_error", "load_mlp: " + what + " is not an integer (" + j.dump() + ")");
  return j.get<long>();
}

inline parametrisation parse_parametrisation(const std::string& s) {
  for (auto p : {parametrisation::score, parametrisation::epsilon, parametrisation::x0,
                 parametrisation::v, parametrisation::flow_velocity})
    if (s == to_string(p)) return p;
  throw invalid_argument("load_mlp: unknown parametrisation (" + s + ")");
}

inline any_process parse_process(const nlohmann::json& j) {
  const std::string kind = j.at("kind").get<std::string>();
  const auto num = [&](const char* k, double def) { return j.contains(k) ? j.at(k).get<double>() : def; };
  if (kind == "vp")
    return vp_process(num("beta_min", 0.1), num("beta_max", 20), num("t_min", 1e-3), num("t_max", 1));
  if (kind == "sub_vp")
    return sub_vp_process(num("beta_min", 0.1), num("beta_max", 20), num("t_min", 1e-3),
                          num("t_max", 1));
  if (kind == "ve")
    return ve_process(num("sigma_min", 0.01), num("sigma_max", 50), num("t_min", 1e-5),
                      num("t_max", 1));
  if (kind == "edm") return edm_process(num("t_min", 0.002), num("t_max", 80));
  if (kind == "rectified_flow") return rectified_flow_process(num("t_min", 1e-3), num("t_max", 0.999));
  throw invalid_argument("load_mlp: unknown process kind (" + kind + ")");
}
}  // namespace detail

/// Builds the network from the tensors and metadata of a weight file (already in memory).
template <class Scalar>
loaded_mlp<Scalar> load_mlp(const tensor_file& f, const std::string& source = "tensor_file") {
  const auto it = f.metadata.find("dlogp");
  if (it == f.metadata.end())
    throw error("io_error", "load_mlp: no __metadata__.dlogp architecture (" + source + ")");
  nlohmann::json a;
  try {
    a = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    throw error("io_error", "load_mlp: __metadata__.dlogp is not JSON (" + source + "): " + e.what());
  }
  try {
    const std::string format = a.at("format").get<std::string>();
    detail::require(format == "dlogp-mlp", "load_mlp: unsupported format (" + format + ")");
    const long version = detail::json_integer(a.at("version"), "version");
    detail::require(version == 1, "load_mlp: unsupported format version (" + std::to_string(version) + ")");
    const std::string act = a.value("activation", std::string("silu"));
    detail::require(act == "silu", "load_mlp: unsupported activation (" + act + ")");
    const auto& te = a.at("time_embedding");
    const std::string tk = te.value("kind", std::string("sinusoidal"));
    detail::require(tk == "sinusoidal", "load_mlp: unsupported time embedding (" + tk + ")");

    mlp_parameters<Scalar> p;
    p.embedding.dim = detail::json_integer(te.at("dim"), "time_embedding.dim");
    detail::require(p.embedding.dim <= max_mlp_embedding_dim,
                    "load_mlp: time_embedding.dim " + std::to_string(p.embedding.dim) +
                        " exceeds the limit of " + std::to_string(max_mlp_embedding_dim));
    p.embedding.scale = te.at("scale").get<double>();
    p.embedding.max_period = te.at("max_period").get<double>();
    // Every extent >= 1: the widths then come from bytes the file really holds.
    const auto non_empty = [&](const std::string& name) -> const tensor& {
      const tensor& t = f.at(name);
      for (long e : t.shape)
        if (e < 1) throw dimension_mismatch("load_mlp: " + name + " has an extent 0 (" + source + ")");
      return t;
    };
    const auto mat = [&](const std::string& name) {
      return non_empty(name).template as_matrix<Scalar>(name);
    };
    const auto vec = [&](const std::string& name) {
      return non_empty(name).template as_vector<Scalar>(name);
    };
    const auto optional = [&](const std::string& name) {
      return f.contains(name) ? mat(name) : matrix<Scalar>();
    };
    p.time_weight = mat("time.weight");
    p.time_bias = vec("time.bias");
    for (long l = 0;; ++l) {
      const std::string n = "hidden." + std::to_string(l);
      if (!f.contains(n + ".weight")) break;
      p.hidden.push_back({mat(n + ".weight"), vec(n + ".bias"), mat(n + ".time_weight"),
                          optional(n + ".time_scale"), false});
    }
    if (a.contains("depth"))
      detail::require_dimension(detail::json_integer(a.at("depth"), "depth"), long(p.hidden.size()),
                                "load_mlp: number of hidden layers");
    if (a.contains("residual")) {
      const auto& r = a.at("residual");
      detail::require_dimension(long(p.hidden.size()), long(r.size()),
                                "load_mlp: entries of \"residual\"");
      for (std::size_t l = 0; l < p.hidden.size(); ++l) p.hidden[l].residual = r.at(l).get<bool>();
    }
    p.out_weight = mat("out.weight");
    p.out_bias = vec("out.bias");
    p.out_time_scale = optional("out.time_scale");
    p.skip_weight = optional("skip.weight");
    if (a.value("gaussian_base", false)) {
      const auto& pr = a.at("process");
      detail::require(pr.at("kind").get<std::string>() == "vp",
                      "load_mlp: the Gaussian base needs a vp process (" +
                          pr.at("kind").get<std::string>() + ")");
      p.base = {vec("base.mean"), mat("base.eigvecs"), vec("base.eigvals"),
                pr.value("beta_min", 0.1), pr.value("beta_max", 20.0)};
    }
    if (a.contains("dimension"))
      detail::require_dimension(detail::json_integer(a.at("dimension"), "dimension"), p.out_weight.rows(),
                                "load_mlp: dimension");
    mlp<Scalar> net(std::move(p));
    return {std::move(net), detail::parse_parametrisation(a.at("parametrisation").get<std::string>()),
            detail::parse_process(a.at("process")), a};
  } catch (const nlohmann::json::exception& e) {
    throw error("io_error", "load_mlp: malformed architecture (" + source + "): " + e.what());
  }
}

/// Reads a weight file written by examples/patches/export.py or save_mlp.
template <class Scalar>
loaded_mlp<Scalar> load_mlp(const std::string& path) {
  try {
    return load_mlp<Scalar>(read_tensor_file(path), path);
  } catch (const std::bad_alloc&) {  // converting a large (real) file's tensors to Scalar
    throw error("io_error", "load_mlp: not enough memory for the network (" + path + ")");
  }
}

/// The tensors and metadata of a network, ready for write_tensor_file. `process` is the JSON
/// description, e.g. {"kind": "vp", "beta_min": 0.1, "beta_max": 20, "t_min": 1e-3, "t_max": 1}.
template <class Scalar>
tensor_file mlp_tensor_file(const mlp<Scalar>& net, parametrisation kind,
                            const nlohmann::json& process,
                            tensor_dtype dtype = sizeof(Scalar) == 4 ? tensor_dtype::f32
                                                                     : tensor_dtype::f64) {
  const auto& p = net.parameters();
  tensor_file f;
  f.tensors["time.weight"] = tensor::from_matrix(p.time_weight, dtype);
  f.tensors["time.bias"] = tensor::from_vector(p.time_bias, dtype);
  for (std::size_t l = 0; l < p.hidden.size(); ++l) {
    const std::string n = "hidden." + std::to_string(l);
    f.tensors[n + ".weight"] = tensor::from_matrix(p.hidden[l].weight, dtype);
    f.tensors[n + ".bias"] = tensor::from_vector(p.hidden[l].bias, dtype);
    f.tensors[n + ".time_weight"] = tensor::from_matrix(p.hidden[l].time_weight, dtype);
    if (p.hidden[l].time_scale.size() > 0)
      f.tensors[n + ".time_scale"] = tensor::from_matrix(p.hidden[l].time_scale, dtype);
  }
  f.tensors["out.weight"] = tensor::from_matrix(p.out_weight, dtype);
  f.tensors["out.bias"] = tensor::from_vector(p.out_bias, dtype);
  if (p.out_time_scale.size() > 0)
    f.tensors["out.time_scale"] = tensor::from_matrix(p.out_time_scale, dtype);
  if (p.skip_weight.size() > 0) f.tensors["skip.weight"] = tensor::from_matrix(p.skip_weight, dtype);
  if (!p.base.empty()) {
    detail::require(process.value("kind", std::string()) == "vp" &&
                        process.value("beta_min", 0.1) == p.base.beta_min &&
                        process.value("beta_max", 20.0) == p.base.beta_max,
                    "save_mlp: the Gaussian base needs the vp process it was built for (" +
                        process.dump() + ")");
    f.tensors["base.mean"] = tensor::from_vector(p.base.mean, dtype);
    f.tensors["base.eigvecs"] = tensor::from_matrix(p.base.eigvecs, dtype);
    f.tensors["base.eigvals"] = tensor::from_vector(p.base.eigvals, dtype);
  }
  nlohmann::json residual = nlohmann::json::array();
  for (const auto& l : p.hidden) residual.push_back(l.residual);
  const nlohmann::json a = {
      {"format", "dlogp-mlp"},
      {"version", 1},
      {"dimension", net.dimension()},
      {"depth", net.depth()},
      {"activation", "silu"},
      {"residual", residual},
      {"parametrisation", std::string(to_string(kind))},
      {"time_embedding",
       {{"kind", "sinusoidal"},
        {"dim", p.embedding.dim},
        {"scale", p.embedding.scale},
        {"max_period", p.embedding.max_period}}},
      {"process", process},
      {"gaussian_base", !p.base.empty()}};
  f.metadata["dlogp"] = a.dump();
  return f;
}

template <class Scalar>
void save_mlp(const std::string& path, const mlp<Scalar>& net, parametrisation kind,
              const nlohmann::json& process) {
  write_tensor_file(path, mlp_tensor_file(net, kind, process));
}

}  // namespace dlogp

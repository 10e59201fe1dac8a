#pragma once
// Reading and writing MLP weights (opt-in: needs nlohmann_json; not in the umbrella header).
//
// The file is a safetensors file (docs/weights-format.md): an unsigned 64-bit little-endian
// header length n, n bytes of JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
// {string: string}}, then the raw little-endian payload. The architecture, parametrisation and
// process are a JSON document in __metadata__["dlogp"]. The same reader serves any tensor file
// (the patches example stores its held-out data this way).
//
// Errors: a file that cannot be opened, read or parsed, or lacks a tensor, throws
// dlogp::error with id "io_error"; tensors of the wrong rank or shape throw
// dlogp::dimension_mismatch; unsupported values (format, version, activation,
// parametrisation, process kind, dtype) throw dlogp::invalid_argument.
#include <bit>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"
#include "dlogp/model/mlp.hpp"
#include "dlogp/model/parametrisation.hpp"
#include "dlogp/process/any_process.hpp"
#include "dlogp/process/edm.hpp"
#include "dlogp/process/rectified_flow.hpp"
#include "dlogp/process/sub_vp.hpp"
#include "dlogp/process/ve.hpp"
#include "dlogp/process/vp.hpp"

namespace dlogp {

static_assert(std::endian::native == std::endian::little,
              "dlogp/io/mlp_weights.hpp: tensor files are little-endian; big-endian hosts are not "
              "supported");

enum class tensor_dtype { f32, f64, u8, i64 };

inline const char* to_string(tensor_dtype d) {
  switch (d) {
    case tensor_dtype::f32: return "F32";
    case tensor_dtype::f64: return "F64";
    case tensor_dtype::u8: return "U8";
    case tensor_dtype::i64: return "I64";
  }
  return "?";
}

inline std::size_t dtype_size(tensor_dtype d) {
  switch (d) {
    case tensor_dtype::f32: return 4;
    case tensor_dtype::f64: return 8;
    case tensor_dtype::u8: return 1;
    case tensor_dtype::i64: return 8;
  }
  return 0;
}

/// One tensor: dtype, shape (row-major, C order) and the raw little-endian bytes.
struct tensor {
  tensor_dtype dtype = tensor_dtype::f64;
  std::vector<long> shape;
  std::vector<unsigned char> bytes;

  long size() const {
    long n = 1;
    for (long s : shape) n *= s;
    return n;
  }
  /// Element k (row-major) converted to T.
  template <class T>
  T at(long k) const {
    const unsigned char* p = bytes.data() + std::size_t(k) * dtype_size(dtype);
    switch (dtype) {
      case tensor_dtype::f32: { float v; std::memcpy(&v, p, 4); return T(v); }
      case tensor_dtype::f64: { double v; std::memcpy(&v, p, 8); return T(v); }
      case tensor_dtype::u8: return T(*p);
      case tensor_dtype::i64: { std::int64_t v; std::memcpy(&v, p, 8); return T(v); }
    }
    return T(0);
  }
  /// All elements (row-major) converted to T.
  template <class T>
  std::vector<T> values() const {
    std::vector<T> v(static_cast<std::size_t>(size()));
    for (long k = 0; k < size(); ++k) v[std::size_t(k)] = at<T>(k);
    return v;
  }

  /// A 2-D tensor [rows, cols] as an Eigen matrix (same rows and columns).
  template <class S>
  matrix<S> as_matrix(const std::string& name = "tensor") const {
    if (shape.size() != 2)
      throw dimension_mismatch("tensor: " + name + " must have rank 2 (" +
                               std::to_string(shape.size()) + ")");
    matrix<S> m(shape[0], shape[1]);
    for (long i = 0; i < shape[0]; ++i)
      for (long j = 0; j < shape[1]; ++j) m(i, j) = at<S>(i * shape[1] + j);
    return m;
  }
  /// A 1-D tensor as an Eigen vector.
  template <class S>
  vector<S> as_vector(const std::string& name = "tensor") const {
    if (shape.size() != 1)
      throw dimension_mismatch("tensor: " + name + " must have rank 1 (" +
                               std::to_string(shape.size()) + ")");
    vector<S> v(shape[0]);
    for (long i = 0; i < shape[0]; ++i) v(i) = at<S>(i);
    return v;
  }

  template <class S>
  static tensor from_matrix(const matrix<S>& m, tensor_dtype d) {
    tensor t;
    t.dtype = d;
    t.shape = {long(m.rows()), long(m.cols())};
    t.bytes.resize(std::size_t(m.size()) * dtype_size(d));
    for (long i = 0; i < m.rows(); ++i)
      for (long j = 0; j < m.cols(); ++j) t.put(i * m.cols() + j, double(m(i, j)));
    return t;
  }
  template <class S>
  static tensor from_vector(const vector<S>& v, tensor_dtype d) {
    tensor t;
    t.dtype = d;
    t.shape = {long(v.size())};
    t.bytes.resize(std::size_t(v.size()) * dtype_size(d));
    for (long i = 0; i < v.size(); ++i) t.put(i, double(v(i)));
    return t;
  }

 private:
  void put(long k, double x) {
    unsigned char* p = bytes.data() + std::size_t(k) * dtype_size(dtype);
    switch (dtype) {
      case tensor_dtype::f32: { const float v = float(x); std::memcpy(p, &v, 4); break; }
      case tensor_dtype::f64: std::memcpy(p, &x, 8); break;
      case tensor_dtype::u8: *p = static_cast<unsigned char>(x); break;
      case tensor_dtype::i64: { const auto v = std::int64_t(x); std::memcpy(p, &v, 8); break; }
    }
  }
};

/// Named tensors plus string metadata: the content of one safetensors file.
struct tensor_file {
  std::map<std::string, tensor> tensors;
  std::map<std::string, std::string> metadata;

  bool contains(const std::string& name) const { return tensors.count(name) != 0; }
  const tensor& at(const std::string& name) const {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw error("io_error", "tensor_file: missing tensor (" + name + ")");
    return it->second;
  }
};

namespace detail {
inline tensor_dtype parse_dtype(const std::string& s, const std::string& where) {
  if (s == "F32") return tensor_dtype::f32;
  if (s == "F64") return tensor_dtype::f64;
  if (s == "U8") return tensor_dtype::u8;
  if (s == "I64") return tensor_dtype::i64;
  throw invalid_argument("read_tensor_file: unsupported dtype of " + where + " (" + s + ")");
}
}  // namespace detail

/// Reads a safetensors file. Throws error("io_error") if it cannot be read or is malformed.
inline tensor_file read_tensor_file(const std::string& path) {
  const auto fail = [&](const std::string& what) {
    throw error("io_error", "read_tensor_file: " + what + " (" + path + ")");
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open file");
  unsigned char len_bytes[8];
  if (!in.read(reinterpret_cast<char*>(len_bytes), 8)) fail("file shorter than 8 bytes");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];
  if (n > (std::uint64_t(1) << 27)) fail("header length " + std::to_string(n) + " is implausible");
  std::string header(std::size_t(n), '\0');
  if (!in.read(header.data(), std::streamsize(n))) fail("truncated header");
  std::vector<unsigned char> payload((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("header is not JSON: ") + e.what());
  }
  if (!h.is_object()) fail("header is not a JSON object");
  tensor_file f;
  try {
    for (auto it = h.begin(); it != h.end(); ++it) {
      if (it.key() == "__metadata__") {
        for (auto m = it->begin(); m != it->end(); ++m) f.metadata[m.key()] = m->get<std::string>();
        continue;
      }
      tensor t;
      t.dtype = detail::parse_dtype(it->at("dtype").get<std::string>(), it.key());
      const auto& shape = it->at("shape");
      if (!shape.is_array()) fail("shape of " + it.key() + " is not an array");
      // Extents are non-negative integers, and the element count must fit in the payload: checked
      // before multiplying, so the count can neither overflow nor wrap to a matching size.
      std::uint64_t count = 1;
      for (const auto& s : shape) {
        if (!s.is_number_unsigned() || s.get<std::uint64_t>() > (std::uint64_t(1) << 32))
          fail("extent " + s.dump() + " in the shape of " + it.key() + " is not an integer in [0, 2^32]");
        const std::uint64_t v = s.get<std::uint64_t>();
        if (v != 0 && count > payload.size() / v)
          fail("shape of " + it.key() + " has more elements than the payload has bytes");
        count *= v;
        t.shape.push_back(long(v));
      }
      const auto off = it->at("data_offsets");
      if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
        fail("data_offsets of " + it.key() + " is not a pair of non-negative integers");
      const auto a = off[0].get<std::uint64_t>(), b = off[1].get<std::uint64_t>();
      if (a > b || b > payload.size()) fail("data_offsets of " + it.key() + " outside the payload");
      if (b - a != std::uint64_t(t.size()) * dtype_size(t.dtype))
        fail("byte count of " + it.key() + " does not match its shape and dtype");
      t.bytes.assign(payload.begin() + std::ptrdiff_t(a), payload.begin() + std::ptrdiff_t(b));
      f.tensors.emplace(it.key(), std::move(t));
    }
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("malformed header: ") + e.what());
  }
  return f;
}

/// Writes a safetensors file (tensors in name order, payload 8-byte aligned).
inline void write_tensor_file(const std::string& path, const tensor_file& f) {
  nlohmann::json h = nlohmann::json::object();
  if (!f.metadata.empty()) h["__metadata__"] = f.metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : f.tensors) {
    detail::require_dimension(long(t.size() * long(dtype_size(t.dtype))), long(t.bytes.size()),
                              "write_tensor_file: bytes of " + name);
    h[name] = {{"dtype", to_string(t.dtype)},
               {"shape", t.shape},
               {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string header = h.dump();
  while (header.size() % 8) header.push_back(' ');
  std::ofstream out(path, std::ios::binary);
  if (!out) throw error("io_error", "write_tensor_file: cannot open file for writing (" + path + ")");
  unsigned char len_bytes[8];
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xFF);
  out.write(reinterpret_cast<const char*>(len_bytes), 8);
  out.write(header.data(), std::streamsize(header.size()));
  for (const auto& [name, t] : f.tensors)
    out.write(reinterpret_cast<const char*>(t.bytes.data()), std::streamsize(t.bytes.size()));
  if (!out) throw error("io_error", "write_tensor_file: write failed (" + path + ")");
}

/// A network read from a weight file, with what its metadata says about it.
template <class Scalar>
struct loaded_mlp {
  mlp<Scalar> network;
  parametrisation kind;
  any_process process;
  nlohmann::json architecture;  ///< the metadata document __metadata__["dlogp"]

  mlp_score_model<Scalar, any_process> score_model() const { return {network, process, kind}; }
};

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
    p.embedding.scale = te.at("scale").get<double>();
    p.embedding.max_period = te.at("max_period").get<double>();
    p.time_weight = f.at("time.weight").template as_matrix<Scalar>("time.weight");
    p.time_bias = f.at("time.bias").template as_vector<Scalar>("time.bias");
    const auto optional = [&](const std::string& name) {
      return f.contains(name) ? f.at(name).template as_matrix<Scalar>(name) : matrix<Scalar>();
    };
    for (long l = 0;; ++l) {
      const std::string n = "hidden." + std::to_string(l);
      if (!f.contains(n + ".weight")) break;
      p.hidden.push_back({f.at(n + ".weight").template as_matrix<Scalar>(n + ".weight"),
                          f.at(n + ".bias").template as_vector<Scalar>(n + ".bias"),
                          f.at(n + ".time_weight").template as_matrix<Scalar>(n + ".time_weight"),
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
    p.out_weight = f.at("out.weight").template as_matrix<Scalar>("out.weight");
    p.out_bias = f.at("out.bias").template as_vector<Scalar>("out.bias");
    p.out_time_scale = optional("out.time_scale");
    p.skip_weight = optional("skip.weight");
    if (a.value("gaussian_base", false)) {
      const auto& pr = a.at("process");
      detail::require(pr.at("kind").get<std::string>() == "vp",
                      "load_mlp: the Gaussian base needs a vp process (" +
                          pr.at("kind").get<std::string>() + ")");
      p.base = {f.at("base.mean").template as_vector<Scalar>("base.mean"),
                f.at("base.eigvecs").template as_matrix<Scalar>("base.eigvecs"),
                f.at("base.eigvals").template as_vector<Scalar>("base.eigvals"),
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
  return load_mlp<Scalar>(read_tensor_file(path), path);
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

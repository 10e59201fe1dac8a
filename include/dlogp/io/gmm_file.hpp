#pragma once
// Gaussian mixtures in files (docs/weights-format.md, "Gaussian-mixture files"), so that large
// mixtures (e.g. K = 64 full covariances in D = 64) need not be written inline in a spec.
// Opt-in: needs nlohmann_json.
//
// Two forms, chosen by the file name: "*.json" is a JSON object with the keys of dlogp-run's
// inline model ({"type": "gmm" (optional), "weights": [K], "means": [K][D], and exactly one of
// "covariances": [K][D][D], "variances": [K], "diagonals": [K][D]}); anything else is a
// safetensors file with the tensors weights [K], means [K, D] and exactly one of covariances
// [K, D, D], variances [K], diagonals [K, D], in F64 or F32. Both are validated like the inline
// form: strict keys and shapes here, values (positive weights and variances, symmetric positive
// definite covariances, finite means) by gaussian_mixture's constructors.
//
// Errors, each one line naming the file: unreadable file, malformed JSON or safetensors, a
// missing, unexpected or non-numeric entry -> dlogp::error id "io_error"; a count or shape that
// does not match K and D -> dlogp::dimension_mismatch; a value gaussian_mixture refuses or an
// unsupported dtype -> dlogp::invalid_argument.
#include <cstdint>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"
#include "dlogp/io/detail/bounded_json.hpp"
#include "dlogp/io/detail/regular_file.hpp"
#include "dlogp/io/safetensors.hpp"
#include "dlogp/model/gaussian_mixture.hpp"

namespace dlogp {

/// Largest JSON mixture file accepted. K = 64 full covariances in D = 64 take about 7 MB; the
/// parsed document takes up to about 8 times the text (16 bytes per number of 2 characters),
/// so this bounds the JSON form to about 0.5 GB of memory. Larger mixtures: safetensors.
inline constexpr std::uint64_t max_gmm_json_bytes = 64'000'000;

namespace detail::gmm_file {

/// What a mixture file holds, before gaussian_mixture validates the values.
struct parts {
  std::vector<double> weights;
  matrix<double> means;  // D x K
  covariance_kind kind = covariance_kind::full;
  std::vector<matrix<double>> covariances;
  std::vector<double> variances;
  matrix<double> diagonals;  // D x K
};

inline bool is_covariance_key(const std::string& k) {
  return k == "covariances" || k == "variances" || k == "diagonals";
}

/// "[3, 4]"; an extent < 0 (not yet known) prints as "any".
inline std::string shape_string(const std::vector<long>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + (s[i] < 0 ? std::string("any") : std::to_string(s[i]));
  return out + "]";
}

inline parts from_tensors(const tensor_file& f, const std::string& path) {
  const auto io_fail = [&](const std::string& what) {
    throw error("io_error", "load_gaussian_mixture: " + what + " (" + path + ")");
  };
  const auto get = [&](const std::string& name, std::vector<long> expected) -> const tensor& {
    if (!f.contains(name)) io_fail("missing tensor " + name);
    const tensor& t = f.at(name);
    if (t.dtype != tensor_dtype::f64 && t.dtype != tensor_dtype::f32)
      throw invalid_argument("load_gaussian_mixture: tensor " + name + " has dtype " +
                             to_string(t.dtype) + ", not F64 or F32 (" + path + ")");
    for (std::size_t i = 0; i < expected.size(); ++i)
      if (expected[i] < 0 && i < t.shape.size()) expected[i] = t.shape[i];  // K or D: the file's
    if (t.shape != expected)
      throw dimension_mismatch("load_gaussian_mixture: tensor " + name + " has shape " +
                               shape_string(t.shape) + ", expected " + shape_string(expected) +
                               " (" + path + ")");
    return t;
  };
  int forms = 0;
  for (const auto& [name, t] : f.tensors) {
    const bool form = is_covariance_key(name);
    forms += form;
    if (!form && name != "weights" && name != "means")
      io_fail("unexpected tensor " + name +
              " (a mixture holds weights, means and one of covariances, variances, diagonals)");
  }
  if (forms != 1)
    io_fail(std::string(forms ? "more than one" : "none") +
            " of the tensors covariances, variances, diagonals (exactly one is needed)");
  parts p;
  const tensor& w = get("weights", {-1});
  const long K = w.shape[0];
  p.weights = w.values<double>();
  const tensor& mu = get("means", {K, -1});
  const long D = mu.shape[1];
  p.means = mu.as_matrix<double>("means").transpose();
  if (f.contains("covariances")) {
    p.kind = covariance_kind::full;
    const tensor& c = get("covariances", {K, D, D});
    for (long k = 0; k < K; ++k) {
      matrix<double> S(D, D);
      for (long i = 0; i < D; ++i)
        for (long j = 0; j < D; ++j) S(i, j) = c.at<double>((k * D + i) * D + j);
      p.covariances.push_back(std::move(S));
    }
  } else if (f.contains("variances")) {
    p.kind = covariance_kind::isotropic;
    p.variances = get("variances", {K}).values<double>();
  } else {
    p.kind = covariance_kind::diagonal;
    p.diagonals = get("diagonals", {K, D}).as_matrix<double>("diagonals").transpose();
  }
  return p;
}

inline parts from_json(const nlohmann::json& j, const std::string& path) {
  const auto io_fail = [&](const std::string& what) {
    throw error("io_error", "load_gaussian_mixture: " + what + " (" + path + ")");
  };
  const auto mismatch = [&](const std::string& what, long expected, std::size_t got) {
    throw dimension_mismatch("load_gaussian_mixture: " + what + " has " + std::to_string(got) +
                             " entries, expected " + std::to_string(expected) + " (" + path + ")");
  };
  if (!j.is_object()) io_fail("not a JSON object");
  int forms = 0;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const bool form = is_covariance_key(key);
    forms += form;
    if (!form && key != "type" && key != "weights" && key != "means")
      io_fail("unexpected key \"" + key.substr(0, 40) +
              "\" (a mixture has type, weights, means and one of covariances, variances, diagonals)");
  }
  if (j.contains("type") && j["type"] != "gmm") io_fail("\"type\" is not \"gmm\"");
  if (forms != 1)
    io_fail(std::string(forms ? "more than one" : "none") +
            " of the keys covariances, variances, diagonals (exactly one is needed)");
  // A list of numbers of the expected length (-1: any non-zero length) at a JSON pointer.
  const auto numbers = [&](const nlohmann::json& a, const std::string& where, long expected) {
    if (!a.is_array()) io_fail(where + " is not an array");
    if (a.empty()) io_fail(where + " is empty");
    if (expected >= 0 && long(a.size()) != expected) mismatch(where, expected, a.size());
    std::vector<double> v;
    v.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_number()) io_fail(where + "/" + std::to_string(i) + " is not a number");
      v.push_back(a[i].get<double>());
    }
    return v;
  };
  const auto rows = [&](const nlohmann::json& a, const std::string& where, long count, long length) {
    if (!a.is_array()) io_fail(where + " is not an array");
    if (long(a.size()) != count) mismatch(where, count, a.size());
    matrix<double> m(length, count);  // one column per row of the JSON
    for (long k = 0; k < count; ++k) {
      const auto v = numbers(a[std::size_t(k)], where + "/" + std::to_string(k), length);
      for (long i = 0; i < length; ++i) m(i, k) = v[std::size_t(i)];
    }
    return m;
  };
  if (!j.contains("weights")) io_fail("missing key \"weights\"");
  if (!j.contains("means")) io_fail("missing key \"means\"");
  parts p;
  p.weights = numbers(j["weights"], "/weights", -1);
  const long K = long(p.weights.size());
  const auto& m = j["means"];
  if (!m.is_array() || m.empty() || !m[0].is_array()) io_fail("/means is not an array of arrays");
  const long D = long(m[0].size());
  p.means = rows(m, "/means", K, D);
  if (j.contains("covariances")) {
    p.kind = covariance_kind::full;
    const auto& c = j["covariances"];
    if (!c.is_array()) io_fail("/covariances is not an array");
    if (long(c.size()) != K) mismatch("/covariances", K, c.size());
    for (long k = 0; k < K; ++k)
      p.covariances.push_back(rows(c[std::size_t(k)], "/covariances/" + std::to_string(k), D, D));
    // rows() stored the JSON rows as columns: S^T, which the symmetry check compares with S.
    for (auto& S : p.covariances) S.transposeInPlace();
  } else if (j.contains("variances")) {
    p.kind = covariance_kind::isotropic;
    p.variances = numbers(j["variances"], "/variances", K);
  } else {
    p.kind = covariance_kind::diagonal;
    p.diagonals = rows(j["diagonals"], "/diagonals", K, D);
  }
  return p;
}

/// gaussian_mixture's own checks, re-thrown with the file's name (same id, one line).
template <class Scalar, class Process>
gaussian_mixture<Scalar, Process> build(parts p, Process process, const std::string& path) {
  using gmm = gaussian_mixture<Scalar, Process>;
  try {
    switch (p.kind) {
      case covariance_kind::isotropic:
        return gmm::isotropic(std::move(process), std::move(p.weights), std::move(p.means),
                              std::move(p.variances));
      case covariance_kind::diagonal:
        return gmm::diagonal(std::move(process), std::move(p.weights), std::move(p.means),
                             std::move(p.diagonals));
      case covariance_kind::full: break;
    }
    return gmm(std::move(process), std::move(p.weights), std::move(p.means),
               std::move(p.covariances));
  } catch (const error& e) {
    const std::string what = e.what();
    const std::string message =
        "load_gaussian_mixture: " + what.substr(what.find("] ") + 2) + " (" + path + ")";
    if (e.id() == "dimension_mismatch") throw dimension_mismatch(message);
    if (e.id() == "invalid_argument") throw invalid_argument(message);
    throw error(e.id(), message);
  }
}

inline bool is_json_path(const std::string& path) {
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
}

}  // namespace detail::gmm_file

/// Reads a mixture file (JSON when the name ends in ".json", else safetensors) and builds the
/// mixture diffused by `process`. Errors: see the header comment; never std::bad_alloc.
template <class Scalar = double, class Process = any_process>
gaussian_mixture<Scalar, Process> load_gaussian_mixture(const std::string& path, Process process) {
  namespace g = detail::gmm_file;
  if (!g::is_json_path(path))
    return g::build<Scalar>(g::from_tensors(read_tensor_file(path), path), std::move(process), path);
  detail::regular_file file(path, "load_gaussian_mixture");
  if (file.size() > max_gmm_json_bytes)
    file.fail("JSON file of " + std::to_string(file.size()) + " bytes exceeds the limit of " +
              std::to_string(max_gmm_json_bytes));
  return file.allocating([&] {
    std::string text(std::size_t(file.size()), '\0');
    file.read(0, text.data(), file.size());
    const nlohmann::json j =
        detail::parse_bounded_json(text, 8, [&](const std::string& m) { file.fail("file is " + m); });
    return g::build<Scalar>(g::from_json(j, path), std::move(process), path);
  }, file.size());
}

/// The tensors of a mixture (weights normalised, as the mixture holds them), ready for
/// write_tensor_file. F64 keeps every value exactly.
template <class Scalar, class Process>
tensor_file gaussian_mixture_tensor_file(const gaussian_mixture<Scalar, Process>& m,
                                         tensor_dtype dtype = tensor_dtype::f64) {
  detail::require(dtype == tensor_dtype::f64 || dtype == tensor_dtype::f32,
                  std::string("save_gaussian_mixture: dtype must be F64 or F32 (") +
                      to_string(dtype) + ")");
  const long K = m.components(), D = m.dimension();
  tensor_file f;
  f.tensors["weights"] =
      tensor::from_vector(vector<double>(Eigen::Map<const vector<double>>(m.weights().data(), K)), dtype);
  f.tensors["means"] = tensor::from_matrix(matrix<double>(m.means().transpose()), dtype);
  switch (m.kind()) {
    case covariance_kind::isotropic: {
      vector<double> v(K);
      for (long k = 0; k < K; ++k) v(k) = m.covariance(k)(0, 0);
      f.tensors["variances"] = tensor::from_vector(v, dtype);
      break;
    }
    case covariance_kind::diagonal: {
      matrix<double> d(K, D);
      for (long k = 0; k < K; ++k) d.row(k) = m.covariance(k).diagonal().transpose();
      f.tensors["diagonals"] = tensor::from_matrix(d, dtype);
      break;
    }
    case covariance_kind::full: {
      tensor c = tensor::from_matrix(matrix<double>(matrix<double>::Zero(K * D, D)), dtype);
      c.shape = {K, D, D};  // K blocks of D x D, row-major, filled below
      for (long k = 0; k < K; ++k) {
        const tensor block = tensor::from_matrix(m.covariance(k), dtype);
        std::copy(block.bytes.begin(), block.bytes.end(),
                  c.bytes.begin() + std::ptrdiff_t(std::size_t(k) * block.bytes.size()));
      }
      f.tensors["covariances"] = std::move(c);
      break;
    }
  }
  return f;
}

/// Writes a mixture as a safetensors mixture file (the format load_gaussian_mixture reads).
template <class Scalar, class Process>
void save_gaussian_mixture(const std::string& path, const gaussian_mixture<Scalar, Process>& m,
                           tensor_dtype dtype = tensor_dtype::f64) {
  write_tensor_file(path, gaussian_mixture_tensor_file(m, dtype));
}

}  // namespace dlogp

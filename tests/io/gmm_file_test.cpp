// Gaussian-mixture files: the safetensors and JSON forms load the mixture bit for bit, and every
// malformed file is refused with a one-line error naming the file and the tensor or key.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <dlogp/io/gmm_file.hpp>
#include <dlogp/process/ve.hpp>
#include <dlogp/process/vp.hpp>

#include "io/support.hpp"

using namespace dlogp;
using namespace dlogp::test::io;

namespace {

using gmm = gaussian_mixture<double, vp_process>;

// Weights that sum to exactly 1 in floating point, so normalising them again on load is exact.
const std::vector<double> weights3 = {0.25, 0.5, 0.25};

matrix<double> random_means(long D, long K, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<double> n01;
  matrix<double> m(D, K);
  for (long k = 0; k < m.size(); ++k) m.data()[k] = n01(g);
  return m;
}

std::vector<matrix<double>> random_covariances(long D, long K, unsigned seed) {
  std::vector<matrix<double>> c;
  for (long k = 0; k < K; ++k) {
    const matrix<double> A = random_means(D, D, seed + unsigned(k));
    c.push_back(A * A.transpose() / double(D) + 0.1 * matrix<double>::Identity(D, D));
  }
  return c;
}

/// log p_t and the score of both mixtures agree exactly at a few points and times.
template <class A, class B>
void check_identical(const A& a, const B& b) {
  REQUIRE(a.dimension() == b.dimension());
  REQUIRE(a.components() == b.components());
  CHECK(a.weights() == b.weights());
  CHECK(a.means() == b.means());
  for (long k = 0; k < a.components(); ++k) CHECK(a.covariance(k) == b.covariance(k));
  const matrix<double> X = random_means(a.dimension(), 5, 99);
  for (double t : {1e-3, 0.1, 0.7}) {
    vector<double> la, lb;
    a.log_density(t, X, la);
    b.log_density(t, X, lb);
    CHECK(la == lb);
    matrix<double> sa(X.rows(), X.cols()), sb(X.rows(), X.cols());
    a.score(t, X, sa);
    b.score(t, X, sb);
    CHECK(sa == sb);
  }
}

std::string json_numbers(const matrix<double>& m) {  // the columns as [[...], ...]
  nlohmann::json j = nlohmann::json::array();
  for (long k = 0; k < m.cols(); ++k) {
    nlohmann::json row = nlohmann::json::array();
    for (long i = 0; i < m.rows(); ++i) row.push_back(m(i, k));
    j.push_back(row);
  }
  return j.dump();
}

}  // namespace

TEST_CASE("gmm file: each covariance kind round-trips bit for bit through safetensors", "[unit]") {
  const scratch_folder s("gmm-round-trip");
  const vp_process vp;
  const long D = 4, K = 3;
  const gmm full(vp, weights3, random_means(D, K, 1), random_covariances(D, K, 10));
  const gmm iso = gmm::isotropic(vp, weights3, random_means(D, K, 2), {0.3, 1.7, 0.05});
  matrix<double> diag = random_means(D, K, 3).cwiseAbs();
  diag.array() += 0.01;
  const gmm dia = gmm::diagonal(vp, weights3, random_means(D, K, 4), diag);
  for (const gmm* m : {&full, &iso, &dia}) {
    INFO("kind " << int(m->kind()));
    const std::string path = s / "mixture.safetensors";
    save_gaussian_mixture(path, *m);
    const auto loaded = load_gaussian_mixture<double>(path, vp);
    CHECK(loaded.kind() == m->kind());
    check_identical(loaded, *m);
    // float32 evaluation of the same file, and another process type
    const auto as_float = load_gaussian_mixture<float>(path, any_process(vp));
    CHECK(as_float.means() == m->means());
    const auto ve = load_gaussian_mixture<double>(path, ve_process{});
    CHECK(ve.weights() == m->weights());
  }
  // F32 storage: the values rounded to float, nothing else lost.
  const std::string path32 = s / "mixture32.safetensors";
  save_gaussian_mixture(path32, iso, tensor_dtype::f32);
  CHECK(read_tensor_file(path32).at("means").dtype == tensor_dtype::f32);
  const auto loaded32 = load_gaussian_mixture<double>(path32, vp);
  CHECK(loaded32.means() == iso.means().cast<float>().cast<double>());
  require_error([&] { save_gaussian_mixture(path32, iso, tensor_dtype::u8); }, "invalid_argument",
                "dtype must be F64 or F32");

  // The patch study's size: K = 64 full covariances in D = 64.
  const long Kp = 64, Dp = 64;
  std::vector<double> w(Kp, 1.0 / 64);  // 2^-6: sums to 1 exactly
  const gmm patches(vp, w, random_means(Dp, Kp, 5), random_covariances(Dp, Kp, 50));
  save_gaussian_mixture(s / "patches.safetensors", patches);
  check_identical(load_gaussian_mixture<double>(s / "patches.safetensors", vp), patches);
}

TEST_CASE("gmm file: the JSON form is the runner's inline model", "[unit]") {
  const scratch_folder s("gmm-json");
  const vp_process vp;
  const long D = 3, K = 3;
  const matrix<double> mu = random_means(D, K, 6);
  const auto cov = random_covariances(D, K, 60);
  const gmm full(vp, weights3, mu, cov);
  std::string covs = "[";
  for (long k = 0; k < K; ++k) covs += (k ? ", " : "") + json_numbers(cov[std::size_t(k)].transpose());
  covs += "]";
  write_bytes(s / "full.json", R"({"type": "gmm", "weights": [0.25, 0.5, 0.25], "means": )" + json_numbers(mu) +
                                   R"(, "covariances": )" + covs + "}");
  check_identical(load_gaussian_mixture<double>(s / "full.json", vp), full);

  // Unnormalised weights are normalised, as inline; "type" may be left out.
  write_bytes(s / "iso.json", R"({"weights": [3, 5, 2], "means": [[-2], [0], [2.5]], "variances": [0.16, 0.09, 0.25]})");
  check_identical(load_gaussian_mixture<double>(s / "iso.json", vp),
                  gmm::isotropic(vp, {3, 5, 2}, (matrix<double>(1, 3) << -2, 0, 2.5).finished(), {0.16, 0.09, 0.25}));
  write_bytes(s / "diag.json", R"({"weights": [1], "means": [[0, 1]], "diagonals": [[0.5, 2]]})");
  check_identical(load_gaussian_mixture<double>(s / "diag.json", vp),
                  gmm::diagonal(vp, {1}, (matrix<double>(2, 1) << 0, 1).finished(),
                                (matrix<double>(2, 1) << 0.5, 2).finished()));
}

TEST_CASE("gmm file: malformed mixture files are refused with the documented error", "[unit]") {
  const scratch_folder s("gmm-bad");
  const vp_process vp;
  const gmm good = gmm::isotropic(vp, weights3, random_means(2, 3, 7), {1, 2, 3});
  const auto with = [&](const std::function<void(tensor_file&)>& change) {
    tensor_file f = gaussian_mixture_tensor_file(good);
    change(f);
    write_tensor_file(s / "bad.safetensors", f);
  };
  // Replaces the variances by three 2 x 2 covariances given row by row.
  const auto covariances = [](std::vector<double> entries) {
    return [entries](tensor_file& f) {
      f.tensors.erase("variances");
      tensor c = tensor::from_vector(vector<double>(Eigen::Map<const vector<double>>(entries.data(), 12)),
                                     tensor_dtype::f64);
      c.shape = {3, 2, 2};
      f.tensors["covariances"] = c;
    };
  };
  struct bad {
    const char* what;
    std::function<void(tensor_file&)> change;
    const char* id;
    const char* fragment;
  };
  const std::vector<bad> cases = {
      {"no weights", [](tensor_file& f) { f.tensors.erase("weights"); }, "io_error", "missing tensor weights"},
      {"no covariance form", [](tensor_file& f) { f.tensors.erase("variances"); }, "io_error",
       "none of the tensors covariances, variances, diagonals"},
      {"two covariance forms",
       [](tensor_file& f) { f.tensors["diagonals"] = tensor::from_matrix(matrix<double>(matrix<double>::Ones(3, 2)), tensor_dtype::f64); },
       "io_error", "more than one of the tensors"},
      {"unexpected tensor", [](tensor_file& f) { f.tensors["extra"] = f.tensors["weights"]; }, "io_error",
       "unexpected tensor extra"},
      {"means of the wrong count",
       [](tensor_file& f) { f.tensors["means"] = tensor::from_matrix(matrix<double>(matrix<double>::Zero(2, 2)), tensor_dtype::f64); },
       "dimension_mismatch", "tensor means has shape [2, 2], expected [3, 2]"},
      {"variances of rank 2",
       [](tensor_file& f) { f.tensors["variances"] = tensor::from_matrix(matrix<double>(matrix<double>::Ones(3, 1)), tensor_dtype::f64); },
       "dimension_mismatch", "tensor variances has shape [3, 1], expected [3]"},
      {"integer weights",
       [](tensor_file& f) { f.tensors["weights"] = tensor::from_vector(vector<double>(vector<double>::Ones(3)), tensor_dtype::i64); },
       "invalid_argument", "tensor weights has dtype I64, not F64 or F32"},
      {"negative variance",
       [](tensor_file& f) { f.tensors["variances"] = tensor::from_vector(vector<double>((vector<double>(3) << 1, -1, 1).finished()), tensor_dtype::f64); },
       "invalid_argument", "load_gaussian_mixture: gaussian_mixture: variance 1 is not finite and positive"},
      {"zero weight",
       [](tensor_file& f) { f.tensors["weights"] = tensor::from_vector(vector<double>((vector<double>(3) << 1, 0, 1).finished()), tensor_dtype::f64); },
       "invalid_argument", "weight 1 is zero"},
      {"NaN mean",
       [](tensor_file& f) { f.tensors["means"] = tensor::from_matrix(matrix<double>(matrix<double>::Constant(3, 2, std::nan(""))), tensor_dtype::f64); },
       "invalid_argument", "mean 0 is not finite"},
      {"asymmetric covariance", covariances({1, 0, 0, 1, /**/ 1, 0.5, 0.25, 1, /**/ 1, 0, 0, 1}), "invalid_argument",
       "covariance 1 is not symmetric"},
      {"indefinite covariance", covariances({1, 0, 0, 1, /**/ 1, 0, 0, 1, /**/ 1, 2, 2, 1}), "invalid_argument",
       "covariance 2 is not positive definite"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    with(c.change);
    require_error([&] { (void)load_gaussian_mixture<double>(s / "bad.safetensors", vp); }, c.id, c.fragment);
    require_error([&] { (void)load_gaussian_mixture<double>(s / "bad.safetensors", vp); }, c.id,
                  s / "bad.safetensors");
  }

  struct bad_json {
    const char* what;
    std::string text;
    const char* id;
    const char* fragment;
  };
  const std::vector<bad_json> json_cases = {
      {"not JSON", "{\"weights\": [1", "io_error", "file is not JSON"},
      {"not an object", "[1, 2]", "io_error", "not a JSON object"},
      {"nested too deep", std::string(50, '[') + std::string(50, ']'), "io_error", "nested deeper than 8 levels"},
      {"unknown key", R"({"weights": [1], "means": [[0]], "variances": [1], "mean": 1})", "io_error",
       "unexpected key \"mean\""},
      {"another model type", R"({"type": "mlp", "weights": [1], "means": [[0]], "variances": [1]})", "io_error",
       "\"type\" is not \"gmm\""},
      {"no weights", R"({"means": [[0]], "variances": [1]})", "io_error", "missing key \"weights\""},
      {"two forms", R"({"weights": [1], "means": [[0]], "variances": [1], "diagonals": [[1]]})", "io_error",
       "more than one of the keys"},
      {"weights a string", R"({"weights": "1", "means": [[0]], "variances": [1]})", "io_error", "/weights is not an array"},
      {"a weight not a number", R"({"weights": [1, null], "means": [[0], [1]], "variances": [1, 1]})", "io_error",
       "/weights/1 is not a number"},
      {"fewer means than weights", R"({"weights": [0.5, 0.5], "means": [[0]], "variances": [1, 1]})",
       "dimension_mismatch", "/means has 1 entries, expected 2"},
      {"means of mixed dimension", R"({"weights": [0.5, 0.5], "means": [[0], [1, 1]], "variances": [1, 1]})",
       "dimension_mismatch", "/means/1 has 2 entries, expected 1"},
      {"covariance of the wrong size", R"({"weights": [1], "means": [[0, 0]], "covariances": [[[1, 0]]]})",
       "dimension_mismatch", "/covariances/0 has 1 entries, expected 2"},
      {"negative variance", R"({"weights": [1], "means": [[0]], "variances": [-1]})", "invalid_argument",
       "variance 0 is not finite and positive"},
      {"asymmetric covariance", R"({"weights": [1], "means": [[0, 0]], "covariances": [[[1, 0.5], [0.4, 1]]]})",
       "invalid_argument", "covariance 0 is not symmetric"},
      {"empty mixture", R"({"weights": [], "means": [], "variances": []})", "io_error", "/weights is empty"},
  };
  for (const auto& c : json_cases) {
    INFO(c.what);
    write_bytes(s / "bad.json", c.text);
    require_error([&] { (void)load_gaussian_mixture<double>(s / "bad.json", vp); }, c.id, c.fragment);
    require_error([&] { (void)load_gaussian_mixture<double>(s / "bad.json", vp); }, c.id, s / "bad.json");
  }
  require_error([&] { (void)load_gaussian_mixture<double>(s / "missing.json", vp); }, "io_error",
                "cannot open file (it does not exist)");
  require_error([&] { (void)load_gaussian_mixture<double>(s / "missing.safetensors", vp); }, "io_error",
                "cannot open file (it does not exist)");
  require_error([&] { (void)load_gaussian_mixture<double>("/dev/zero", vp); }, "io_error", "not a regular file");
}

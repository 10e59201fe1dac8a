// dlogp-run with TorchScript models, through the built program and its plugin: the PF-ODE
// likelihood of a module whose density is known (a Gaussian's exact epsilon), in float64 and
// float32, from a .npy file; image-shaped inputs and sigma as the time input; the modules it
// must refuse before the run, and one that fails during it.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "generated_models.hpp"
#include "reliability/support.hpp"

#ifdef DLOGP_RUN_EXE
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using dlogp::test::model_dir;

using dlogp::test::process_result;

/// Runs dlogp-run on `spec` (written into the models' folder, so relative paths are theirs).
process_result run(const std::string& name, const json& spec, std::vector<std::string> extra = {}) {
  const fs::path dir = fs::path(model_dir()) / name;
  fs::create_directories(dir);
  std::ofstream(dir.parent_path() / (name + ".json")) << spec.dump();
  std::vector<std::string> args{(dir.parent_path() / (name + ".json")).string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return dlogp::test::run_program(DLOGP_RUN_EXE, args, "", dir);
}

/// The Gaussian of make_models.py: data N(0, c^2 I), c = 0.5, under the VP process with beta
/// 0.1 .. 20, so p_t = N(0, v_t I) with v_t = alpha_t^2 c^2 + sigma_t^2.
double gaussian_variance(double t) {
  const double b = 0.1 * t + 0.5 * (20.0 - 0.1) * t * t;
  return std::exp(-b) * 0.25 + -std::expm1(-b);
}
double log_normal(const json& x, double v) {
  double r2 = 0;
  for (const auto& xi : x) r2 += xi.get<double>() * xi.get<double>();
  const double D = double(x.size());
  return -0.5 * D * std::log(2 * M_PI * v) - 0.5 * r2 / v;
}

json encode_spec(const std::string& module, const std::string& dtype, const std::string& points) {
  return json{{"model", {{"type", "torchscript"}, {"path", module}, {"parametrisation", "epsilon"}, {"dtype", dtype}}},
              {"process", {{"type", "vp"}}},
              {"method", "pf-ode-encode"},
              {"x_start", {{"file", points}}}};
}

void require_refused(const process_result& r, const std::string& pointer, const std::string& words) {
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("[dlogp.spec] " + pointer + ": ", 0) == 0);
  CHECK(r.err.find(words) != std::string::npos);
}

}  // namespace

TEST_CASE("dlogp-run torchscript: the PF-ODE likelihood of a Gaussian's epsilon module is the exact one", "[torch]") {
  // dopri5 at rtol 1e-10: the tracked log p has a global error of about steps x rtol x |log p|
  // (~1e-7 here). The run starts from the prior N(0, sigma_T^2 I) at T while the true p_T is
  // N(0, v_T I): that known offset is added back, so what remains is the solver's error.
  json spec = encode_spec("gauss_scripted.pt", "float64", "points_f64.npy");
  spec["solver"] = {{"scheme", "dopri5"}, {"rtol", 1e-10}, {"atol", 1e-12}};
  const process_result r = run("exact64", spec);
  INFO(r.err);
  REQUIRE(r.code == 3);  // the fourth point has a NaN: not every trajectory is ok
  const json doc = json::parse(r.out);
  const double t0 = 1e-3, T = 1.0;
  const double sigma2_T = -std::expm1(-(0.1 * T + 0.5 * 19.9 * T * T));
  for (std::size_t j = 0; j < 6; ++j) {
    const json& out = doc["results"][j];
    if (j == 3) {
      CHECK(out["status"] == "non_finite");
      CHECK(out["logp"].is_null());
      continue;
    }
    REQUIRE(out["status"] == "ok");
    CHECK(out["logp_exact"].is_null());  // a module has no oracle
    const double prior_offset = log_normal(out["x"], gaussian_variance(T)) - log_normal(out["x"], sigma2_T);
    const double exact = log_normal(out["x_start"], gaussian_variance(t0));
    CHECK(std::abs(out["logp"].get<double>() + prior_offset - exact) < 1e-6);
  }
}

TEST_CASE("dlogp-run torchscript: a float32 module and float32 data agree with float64", "[torch]") {
  // Same fixed RK4 grid for both, so the difference is float32 rounding alone: a relative 6e-8
  // per evaluation of the score and divergence, over a log p change of about 10 nats and 400
  // evaluations, bounds it by ~1e-5 even if every rounding adds up; 1e-4 leaves a factor 10.
  json spec64 = encode_spec("gauss_scripted.pt", "float64", "points_f64.npy");
  spec64["solver"] = {{"scheme", "rk4"}, {"steps", 100}};
  json spec32 = encode_spec("gauss_scripted.pt", "float32", "points_f32.npy");
  spec32["solver"] = spec64["solver"];
  const process_result a = run("rk4_64", spec64), b = run("rk4_32", spec32);
  REQUIRE(a.code == 3);
  REQUIRE(b.code == 3);
  const json da = json::parse(a.out), db = json::parse(b.out);
  for (std::size_t j = 0; j < 6; ++j) {
    if (j == 3) continue;
    CHECK(std::abs(da["results"][j]["logp"].get<double>() - db["results"][j]["logp"].get<double>()) < 1e-4);
  }
}

TEST_CASE("dlogp-run torchscript: image-shaped input and sigma as the time input give the same likelihoods", "[torch]") {
  json flat = encode_spec("gauss_scripted.pt", "float64", "points_f64.npy");
  flat["solver"] = {{"scheme", "rk4"}, {"steps", 20}};
  json image = flat, sigma = flat;
  image["model"]["path"] = "gauss_image.pt";
  image["model"]["input_shape"] = {2, 2, 2};
  sigma["model"]["path"] = "gauss_sigma.pt";
  sigma["model"]["time_input"] = "sigma";
  const json a = json::parse(run("flat", flat).out), b = json::parse(run("image", image).out),
             c = json::parse(run("sigma", sigma).out);
  for (std::size_t j = 0; j < 6; ++j) {
    if (j == 3) continue;
    // The same products in the same order: bit for bit.
    CHECK(a["results"][j]["logp"] == b["results"][j]["logp"]);
    // alpha^2 from 1 - sigma^2 instead of exp(-b): rounding of order 1e-16 per evaluation.
    CHECK(std::abs(a["results"][j]["logp"].get<double>() - c["results"][j]["logp"].get<double>()) < 1e-9);
  }
}

TEST_CASE("dlogp-run torchscript: modules it cannot use are refused before the run", "[torch]") {
  json s = encode_spec("one_argument.pt", "float32", "points_f32.npy");
  require_refused(run("one_argument", s), "/model/path",
                  "forward must be forward(x: Tensor[N, 8] float32, t: Tensor[N] float32) -> Tensor[N, 8] float32");
  s["model"]["path"] = "bad_shape.pt";
  require_refused(run("bad_shape", s), "/model/path", "shape [1, 9]; expected forward(x: Tensor[N, 8]");
  s["model"]["path"] = "float64_output.pt";
  require_refused(run("float64_output", s), "/model/path", "returned float64 for float32 input");
  s["model"]["path"] = "no-such-module.pt";
  require_refused(run("missing", s), "/model/path", "no such file");
  s["model"]["path"] = "gauss_image.pt";
  s["model"]["input_shape"] = {2, 2, 3};
  require_refused(run("shape", s), "/x_start/file", "rows of 8 values; the model's dimension is 12");
  json no_dimension = encode_spec("gauss_scripted.pt", "float32", "points_f32.npy");
  no_dimension.erase("x_start");
  no_dimension["method"] = "pf-ode";
  require_refused(run("no_dimension", no_dimension), "/model/dimension", "is needed");
  no_dimension["model"]["dimension"] = 8;
  no_dimension["method"] = "mode-tracking";
  require_refused(run("mode_tracking", no_dimension), "/method", "gradient of the Laplacian");
}

TEST_CASE("dlogp-run torchscript: a module failing mid-run marks its trajectories model_error", "[torch]") {
  // throws.pt raises below t = 0.5: every trajectory of this encoding run meets it at once.
  json s = encode_spec("throws.pt", "float32", "points_f32.npy");
  s["solver"] = {{"scheme", "rk4"}, {"steps", 10}};
  const fs::path out = fs::path(model_dir()) / "throws-output.json";
  const process_result r = run("throws", s, {"-o", out.string()});
  INFO(r.err);
  CHECK(r.code == 3);
  const json doc = json::parse(dlogp::test::slurp(out));
  for (const auto& res : doc["results"]) CHECK(res["status"] == "model_error");
}
#endif

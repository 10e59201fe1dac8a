// dlogp-run on data and model files (docs/cli.md, "Data and model files", "Arrays"): start points
// from .npy and safetensors files, mixtures from files, --arrays output and quantised data. Each
// file form must give exactly (bit for bit) what its inline form gives.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <dlogp/io/gmm_file.hpp>
#include <dlogp/io/npy.hpp>
#include <dlogp/io/safetensors.hpp>

#include <dlogp/run/app.hpp>
#include "io/support.hpp"
#include "support/cli_run.hpp"

using namespace dlogp;
using namespace dlogp::runner;
using namespace dlogp::test;
namespace fs = std::filesystem;

namespace {

// Scratch folders: "cli-" names keep them apart from the io tests' own.
using folder = dlogp::test::io::scratch_folder;

// Five 2-D points (rows), the third with a NaN.
const std::vector<double> points = {-2.1, 0.3, 1.7, 0.9, 0.5, std::nan(""), 0.0, -2.4, 2.2, 1.1};
const std::string encode = R"("process": {"type": "vp"}, "method": "pf-ode-encode", "solver": {"scheme": "heun", "steps": 40})";

}  // namespace

TEST_CASE("cli files: x_start from .npy and safetensors equals the inline points bit for bit", "[cli][files]") {
  const folder f("cli-points");
  write_npy(f / "p.npy", {5, 2}, points.data());
  write_npy(f / "p4.npy", {5, 2, 1, 1}, points.data());  // (N, C, H, W) with C H W = D
  std::vector<float> as_float(points.begin(), points.end());
  write_npy(f / "p32.npy", {5, 2}, as_float.data());
  tensor_file tf;
  tf.tensors["held_out"] = tensor::from_matrix(matrix<double>(Eigen::Map<const matrix<double>>(points.data(), 2, 5).transpose()),
                                              tensor_dtype::f64);
  tf.tensors["other"] = tensor::from_vector(vector<double>(vector<double>::Zero(3)), tensor_dtype::f64);
  write_tensor_file(f / "p.safetensors", tf);

  // Inline JSON has no NaN: the inline run uses the four finite points and is compared row by row.
  const auto inline_run = run_spec_text(spec(gmm2, encode + R"(, "x_start": [[-2.1, 0.3], [1.7, 0.9], [0.0, -2.4], [2.2, 1.1]])"));
  REQUIRE(inline_run.code == 0);
  const json expected = inline_run.doc()["results"];
  for (const std::string& xs : {R"({"file": ")" + f / "p.npy" + "\"}", R"({"file": ")" + f / "p4.npy" + "\"}",
                                R"({"file": ")" + f / "p.safetensors" + R"(", "tensor": "held_out"})"}) {
    INFO(xs);
    const auto r = run_spec_text(spec(gmm2, encode + ", \"x_start\": " + xs));
    CHECK(r.code == 3);  // the NaN row
    const json got = r.doc()["results"];
    REQUIRE(got.size() == 5);
    CHECK(got[2]["status"] == "non_finite");
    CHECK(r.doc()["summary"]["status_counts"]["non_finite"] == 1);
    for (std::size_t j : {0u, 1u, 3u, 4u}) CHECK(got[j] == expected[j < 2 ? j : j - 1]);
  }
  // float32 points: the same as the inline points rounded to float.
  const auto r32 = run_spec_text(spec(gmm2, encode + R"(, "x_start": {"file": ")" + f / "p32.npy" + "\"}"));
  CHECK(r32.code == 3);
  CHECK(r32.doc()["results"][0]["x_start"][0] == double(float(-2.1)));
}

TEST_CASE("cli files: a mixture file equals the inline mixture bit for bit", "[cli][files]") {
  const folder f("cli-model");
  const auto inline_run = run_spec_text(spec(gmm2, encode + ", \"x_start\": [[0.5, -0.5], [1.5, 2.0]]"));
  REQUIRE(inline_run.code == 0);
  const run_spec s = parse_spec(spec(gmm2, encode), build_info::everything(), 0);
  save_gaussian_mixture(f / "mix.safetensors", *s.mixture);
  std::ofstream(f / "mix.json") << R"({"weights": [0.4, 0.35, 0.25], "means": [[-2, 0], [2, 1], [0, -2.5]],
      "covariances": [[[0.5, 0.2], [0.2, 0.3]], [[0.1, 0], [0, 0.1]], [[0.3, -0.1], [-0.1, 0.6]]]})";
  for (const std::string& file : {f / "mix.safetensors", f / "mix.json"}) {
    INFO(file);
    const auto r = run_spec_text("{\"model\": {\"type\": \"gmm\", \"file\": \"" + file + "\"}, " + encode +
                                 ", \"x_start\": [[0.5, -0.5], [1.5, 2.0]]}");
    REQUIRE(r.code == 0);
    CHECK(r.doc()["results"] == inline_run.doc()["results"]);
  }
}

TEST_CASE("cli files: relative paths are relative to the spec's folder", "[cli][files]") {
  const folder f("cli-relative");
  write_npy(f / "p.npy", {5, 2}, points.data());
  std::ofstream(f / "spec.json") << spec(gmm2, encode + R"(, "x_start": {"file": "p.npy"})");
  const auto r = run_args({f / "spec.json"});  // the working directory is elsewhere
  CHECK(r.code == 3);
  CHECK(r.doc()["results"].size() == 5);
  const auto from_stdin = run_spec_text(spec(gmm2, encode + R"(, "x_start": {"file": "p.npy"})"));
  CHECK(from_stdin.code == 2);  // stdin: relative to the working directory, where there is no p.npy
  CHECK_THAT(from_stdin.err, Catch::StartsWith("[dlogp.spec] /x_start/file: "));
}

TEST_CASE("cli files: --arrays writes the results as .npy files equal to the JSON output", "[cli][files]") {
  const folder f("cli-arrays");
  const std::string s = spec(gmm2, R"("process": {"type": "vp"}, "method": "pf-ode", "n": 6, "seed": 3,
      "solver": {"max_steps": 40}, "record": {"every": 5})");
  const auto json_run = run_spec_text(s);
  const auto arrays_run = run_spec_text(s, {"--arrays", f / "out"});
  REQUIRE(json_run.code == arrays_run.code);
  const json res = json_run.doc()["results"];
  const json d = arrays_run.doc();
  CHECK(d.find("results") == d.end());
  CHECK(d["arrays"]["x"] == "x.npy");
  CHECK(without_seconds(d["summary"].dump()) == without_seconds(json_run.doc()["summary"].dump()));
  const tensor x = read_npy(f / "out/x.npy"), x0 = read_npy(f / "out/x_start.npy"), lp = read_npy(f / "out/logp.npy"),
               le = read_npy(f / "out/logp_exact.npy"), st = read_npy(f / "out/status.npy"),
               ev = read_npy(f / "out/score_evals.npy"), steps = read_npy(f / "out/steps.npy"),
               traj = read_npy(f / "out/trajectory.npy");
  CHECK(x.shape == std::vector<long>{6, 2});
  CHECK(st.dtype == tensor_dtype::i8);
  long S = 0;
  for (const auto& r : res) S = std::max(S, long(r["trajectory"].size()));
  CHECK(traj.shape == std::vector<long>{6, S, 4});
  for (long j = 0; j < 6; ++j) {
    const json& r = res[std::size_t(j)];
    for (long i = 0; i < 2; ++i) {
      CHECK(x.at<double>(2 * j + i) == r["x"][std::size_t(i)].get<double>());
      CHECK(x0.at<double>(2 * j + i) == r["x_start"][std::size_t(i)].get<double>());
    }
    CHECK((r["logp"].is_null() ? std::isnan(lp.at<double>(j)) : lp.at<double>(j) == r["logp"].get<double>()));
    CHECK((r["logp_exact"].is_null() ? std::isnan(le.at<double>(j)) : le.at<double>(j) == r["logp_exact"].get<double>()));
    CHECK(std::string(to_string(all_statuses[std::size_t(st.at<int>(j))])) == r["status"].get<std::string>());
    CHECK(ev.at<long>(j) == r["score_evals"].get<long>());
    CHECK(steps.at<long>(j) == r["steps"].get<long>());
    const json& path = r["trajectory"];
    for (long k = 0; k < S; ++k) {
      const double t = traj.at<double>((j * S + k) * 4);
      if (k >= long(path.size())) {
        CHECK(std::isnan(t));
        continue;
      }
      CHECK(t == path[std::size_t(k)]["t"].get<double>());
      CHECK(traj.at<double>((j * S + k) * 4 + 2) == path[std::size_t(k)]["x"][0].get<double>());
    }
  }
}

TEST_CASE("cli files: a failed run leaves an --arrays folder as it was", "[cli][files]") {
  const folder f("cli-arrays-fail");
  // An invalid spec is refused before the folder is made; an existing folder keeps its files.
  const auto bad = run_spec_text("{}", {"--arrays", f / "new"});
  CHECK(bad.code == 2);
  CHECK_FALSE(fs::exists(f / "new"));
  std::ofstream(f / "a_file") << "x";
  const auto not_folder = run_spec_text(spec(gmm1, R"("process": {"type": "vp"}, "method": "pf-ode")"), {"--arrays", f / "a_file"});
  CHECK(not_folder.code == 2);
  CHECK(not_folder.err == "[dlogp.cli] --arrays: \"" + f / "a_file" + "\" exists and is not a folder\n");
  const auto objective = run_spec_text(spec(gmm1, R"("process": {"type": "vp"}, "method": "objective")"), {"--arrays", f / "o"});
  CHECK(objective.code == 2);
  CHECK_THAT(objective.err, Catch::StartsWith("[dlogp.cli] --arrays: method \"objective\""));
  CHECK_FALSE(fs::exists(f / "o"));
}

TEST_CASE("cli files: quantised data give bits per dimension; dequantisation stays inside the bin", "[cli][files]") {
  const std::string base = "{" + gmm2 + ", " + encode + R"(, "x_start": [[0.5, -0.5], [1.5, 2.0], [-1.0, 0.25]], "seed": 7, "quantisation": )";
  const auto plain = run_spec_text(base + R"({"levels": 256}})");
  const auto deq = run_spec_text(base + R"({"levels": 256, "dequantise": "uniform"}})");
  REQUIRE(plain.code == 0);
  REQUIRE(deq.code == 0);
  const double w = 2.0 / 256, D = 2;
  double sum = 0;
  const json plain_doc = plain.doc();
  for (const auto& r : plain_doc["results"]) sum += -(r["logp"].get<double>() + D * std::log(w)) / (D * std::log(2.0));
  const json b = plain.doc()["summary"]["bits_per_dim"];
  CHECK(b["n"] == 3);
  CHECK(b["mean"].get<double>() == Approx(sum / 3).epsilon(1e-14));
  CHECK(b["standard_error"].get<double>() > 0);
  const json given = plain.doc()["results"], moved = deq.doc()["results"];
  for (std::size_t j = 0; j < 3; ++j)
    for (std::size_t i = 0; i < 2; ++i) {
      const double d = moved[j]["x_start"][i].get<double>() - given[j]["x_start"][i].get<double>();
      CHECK(std::abs(d) <= w / 2);
      CHECK(d != 0);
    }
  // Keyed by (seed, trajectory): the same spec gives the same draws.
  CHECK(without_seconds(run_spec_text(base + R"({"levels": 256, "dequantise": "uniform"}})").out) == without_seconds(deq.out));
  const auto bad = run_spec_text(base + R"({"levels": 1, "grid": "values"}})");
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Catch::StartsWith("[dlogp.spec] /quantisation: "));
}

TEST_CASE("cli files: bad data and model files are refused with one line naming the key", "[cli][files]") {
  const folder f("cli-bad");
  write_npy(f / "d3.npy", {4, 3}, std::vector<double>(12, 0.0).data());
  write_npy(f / "ints.npy", {4, 2}, std::vector<std::int64_t>(8, 0).data());
  write_npy(f / "flat.npy", {8}, std::vector<double>(8, 0.0).data());
  tensor_file tf;
  tf.tensors["a"] = tensor::from_vector(vector<double>(vector<double>::Zero(2)), tensor_dtype::f64);
  tf.tensors["data"] = tensor::from_matrix(matrix<double>(matrix<double>::Zero(3, 2)), tensor_dtype::f64);
  write_tensor_file(f / "two.safetensors", tf);
  std::ofstream(f / "truncated.npy") << std::string("\x93NUMPY\x01\x00", 8);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("x_start": {"file": ")" + f / "missing.npy" + "\"}", "[dlogp.spec] /x_start/file: "},
      {R"("x_start": {"file": ")" + f / "truncated.npy" + "\"}", "[dlogp.spec] /x_start/file: "},
      {R"("x_start": {"file": ")" + f / "d3.npy" + "\"}", "[dlogp.spec] /x_start/file: \"" + f / "d3.npy" + "\" has rows of 3 values; the model's dimension is 2"},
      {R"("x_start": {"file": ")" + f / "ints.npy" + "\"}", "[dlogp.spec] /x_start/file: \"" + f / "ints.npy" + "\" holds I64 values"},
      {R"("x_start": {"file": ")" + f / "flat.npy" + "\"}", "[dlogp.spec] /x_start/file: \"" + f / "flat.npy" + "\" has 1 dimension(s)"},
      {R"("x_start": {"file": ")" + f / "d3.npy" + R"(", "tensor": "x"})", "[dlogp.spec] /x_start/tensor: applies to safetensors files only"},
      {R"("x_start": {"file": ")" + f / "two.safetensors" + "\"}", "[dlogp.spec] /x_start/tensor: is needed"},
      {R"("x_start": {"file": ")" + f / "two.safetensors" + R"(", "tensor": "dta"})", "[dlogp.spec] /x_start/tensor: \"" + f / "two.safetensors" + "\" has no tensor \"dta\"; did you mean \"data\"?"},
      {R"("x_start": {"file": ")" + f / "two.safetensors" + R"(", "tensor": "data"}, "n": 4)", "[dlogp.spec] /n: conflicts with x_start"},
      {R"("x_start": {"path": "p.npy"})", "[dlogp.spec] /x_start/path: unknown key"},
      {R"("x_start": "p.npy")", "[dlogp.spec] /x_start: must be an array or an object"},
  };
  for (const auto& [rest, expected] : cases) {
    INFO(rest);
    const auto r = run_spec_text(spec(gmm2, encode + ", " + rest));
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::StartsWith(expected));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  const std::string model_cases[][2] = {
      {R"({"type": "gmm", "file": ")" + f / "missing.safetensors" + "\"}", "[dlogp.spec] /model/file: "},
      {R"({"type": "gmm", "file": ")" + f / "two.safetensors" + "\"}", "[dlogp.spec] /model/file: "},
      {R"({"type": "gmm", "file": "m.json", "weights": [1]})", "[dlogp.spec] /model/weights: conflicts with \"file\""},
      {R"({"type": "gmm", "file": "m.json", "variances": [1]})", "[dlogp.spec] /model/file: conflicts with \"variances\""},
      {R"({"type": "gmm", "means": [[0]], "variances": [1]})", "[dlogp.spec] /model/weights: required key is missing"},
  };
  for (const auto& [model, expected] : model_cases) {
    INFO(model);
    const auto r = run_spec_text("{\"model\": " + model + ", " + encode + "}");
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::StartsWith(expected));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

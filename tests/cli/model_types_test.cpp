// dlogp-run in-process with the model types besides inline mixtures: an MLP weight file (the
// same numbers as the library called directly, bit for bit), what a model without an oracle
// gives (null exact values) and refuses (methods needing more than scores and divergences), and
// a TorchScript spec in a program without the TorchScript plugin. The plugin itself is tested
// through the built program in tests/torch/runner_test.cpp.
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/io/mlp_weights.hpp>
#include <dlogp/process/prior.hpp>
#include <dlogp/scheme/rk4.hpp>

#include <dlogp/run/app.hpp>
#include "support/cli_run.hpp"

using namespace dlogp::runner;
using namespace dlogp::test;

namespace {

const std::string weights = std::string(DLOGP_SOURCE_DIR) + "/examples/patches/data/model.safetensors";
const std::string mlp_model = R"("model": {"type": "mlp", "weights": ")" + weights + R"("})";
constexpr long mlp_dimension = 256;  // examples/patches: 16 x 16 patches

/// n points in the MLP's dimension, as spec rows and as D x n columns.
json mlp_points(long n, dlogp::matrix<double>& X) {
  std::mt19937 g(5);
  std::normal_distribution<double> n01;
  X.resize(mlp_dimension, n);
  json rows = json::array();
  for (long j = 0; j < n; ++j) {
    json row = json::array();
    for (long i = 0; i < mlp_dimension; ++i) row.push_back(X(i, j) = 0.5 * n01(g));
    rows.push_back(row);
  }
  return rows;
}

void require_refused(const cli_run& r, const std::string& pointer, const std::string& words) {
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("[dlogp.spec] " + pointer + ": ", 0) == 0);
  CHECK(r.err.find(words) != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

}  // namespace

TEST_CASE("cli model types: an MLP weight file gives the library's own numbers, bit for bit", "[cli]") {
  // pf-ode-encode with the exact divergence and with Hutchinson: the runner's result is the
  // library's pf_ode + rk4 on the same network, process and seed, to the last bit.
  dlogp::matrix<double> X0;
  const json rows = mlp_points(2, X0);
  for (const std::string divergence : {"exact", "hutchinson"}) {
    INFO(divergence);
    const cli_run r = run_spec_text(spec(mlp_model, R"("process": {"type": "vp"}, "method": "pf-ode-encode", "seed": 11,
        "solver": {"scheme": "rk4", "steps": 4}, "divergence": {"type": ")" + divergence +
                                                        R"("}, "x_start": )" + rows.dump()));
    REQUIRE(r.code == 0);
    const json doc = r.doc();

    const auto loaded = dlogp::load_mlp<double>(weights);
    const auto model = loaded.score_model();
    dlogp::divergence_options div;
    div.kind = divergence == "exact" ? dlogp::divergence_kind::exact : dlogp::divergence_kind::hutchinson;
    const dlogp::pf_ode dyn(model, loaded.process, div);
    dlogp::integrate_options o;
    o.seed = 11;
    o.grid.steps = 4;
    dlogp::vector<double> L = dlogp::vector<double>::Zero(2);
    const double t0 = loaded.process.t_min(), t1 = loaded.process.t_max();
    const auto res = dlogp::integrate(dyn, dlogp::rk4{}, X0, L, t0, t1, o);
    dlogp::vector<double> prior;
    dlogp::prior_log_density(loaded.process, t1, res.x, prior);
    for (long j = 0; j < 2; ++j) {
      const json& out = doc["results"][std::size_t(j)];
      CHECK(out["status"] == "ok");
      CHECK(out["logp"].get<double>() == prior(j) - res.log_p(j));
      CHECK(out["logp_exact"].is_null());
      CHECK(out["score_evals"].get<long>() == res.stats[std::size_t(j)].score_evals);
      for (long i = 0; i < mlp_dimension; ++i) CHECK(out["x"][std::size_t(i)].get<double>() == res.x(i, j));
    }
    CHECK(doc["summary"]["mean_abs_error"].is_null());
  }
}

TEST_CASE("cli model types: a weight file must match the spec's process and parametrisation", "[cli]") {
  dlogp::matrix<double> X0;
  const json rows = mlp_points(1, X0);
  const std::string rest = R"("method": "pf-ode-encode", "x_start": )" + rows.dump();
  require_refused(run_spec_text(spec(mlp_model, R"("process": {"type": "vp", "beta_max": 10}, )" + rest)), "/process",
                  "\"beta_max\":20.0");
  require_refused(run_spec_text(spec(mlp_model, R"("process": {"type": "ve"}, )" + rest)), "/process",
                  "\"type\":\"ve\"");
  const std::string declared = R"("model": {"type": "mlp", "weights": ")" + weights + R"(", "parametrisation": "x0"})";
  require_refused(run_spec_text(spec(declared, R"("process": {"type": "vp"}, )" + rest)), "/model/parametrisation",
                  "is \"x0\" but the weight file");
  const std::string missing = R"("model": {"type": "mlp", "weights": "no-such-file.safetensors"})";
  require_refused(run_spec_text(spec(missing, R"("process": {"type": "vp"}, )" + rest)), "/model/weights",
                  "no-such-file.safetensors");
}

TEST_CASE("cli model types: what a model without an oracle cannot do is refused before the run", "[cli]") {
  dlogp::matrix<double> X0;
  const json rows = mlp_points(1, X0);
  const std::string vp = R"("process": {"type": "vp"}, )";
  require_refused(run_spec_text(spec(mlp_model, vp + R"("method": "mode-tracking", "x_start": )" + rows.dump())),
                  "/method", "needs the model's gradient of the Laplacian, which model type \"mlp\" does not have");
  require_refused(run_spec_text(spec(mlp_model, vp + R"("method": "pf-ode", "init_logp": "exact")")), "/init_logp",
                  "exact log-density");
  require_refused(run_spec_text(spec(mlp_model, vp + R"("method": "pf-ode-encode")")), "/x_start",
                  "sampling from its marginals");
  require_refused(run_spec_text(spec(mlp_model, vp + R"("method": "objective")")), "/x_start",
                  "sampling from its marginals");
  require_refused(run_spec_text(spec(mlp_model, vp + R"("method": "pf-ode")"), {"--check-model"}), "/x_start",
                  "--check-model");
}

TEST_CASE("cli model types: a sampling method on an MLP has null exact values and a normal summary", "[cli]") {
  const cli_run r = run_spec_text(spec(mlp_model, R"("process": {"type": "vp"}, "method": "reverse-sde", "n": 2,
      "solver": {"scheme": "euler-maruyama", "steps": 5})"));
  REQUIRE(r.code == 0);
  const json doc = r.doc();
  for (const auto& out : doc["results"]) {
    CHECK(out["status"] == "ok");
    CHECK(out["logp"].is_number());
    CHECK(out["logp_exact"].is_null());
  }
  CHECK(doc["summary"]["mean_abs_error"].is_null());
  CHECK(doc["summary"]["mean_logp"].is_number());
}

TEST_CASE("cli model types: --check-model on an MLP checks its Laplacian and JVPs at x_start", "[cli]") {
  dlogp::matrix<double> X0;
  const json rows = mlp_points(1, X0);
  const cli_run r = run_spec_text(spec(mlp_model, R"("process": {"type": "vp"}, "method": "pf-ode-encode", "x_start": )" +
                                                      rows.dump()),
                                  {"--check-model"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  std::vector<std::string> names;
  const json doc = r.doc();
  for (const auto& c : doc["checks"]) names.push_back(c["check"].get<std::string>());
  // No log-density, no analytic Hessian, no gradient of the Laplacian: only what it has.
  CHECK(names.size() == 2);
}

TEST_CASE("cli model types: a TorchScript spec without the TorchScript plugin is refused with exit 2", "[cli]") {
  // This test program has no libdlogp-run-torch.so beside it, as a build without libtorch.
  const std::string torch_model =
      R"("model": {"type": "torchscript", "path": "model.pt", "parametrisation": "epsilon", "dimension": 2})";
  const cli_run r = run_spec_text(spec(torch_model, R"("process": {"type": "vp"}, "method": "pf-ode")"));
  require_refused(r, "/model/type", "needs libtorch");
}

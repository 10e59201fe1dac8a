// dlogp-run in-process (run_cli with string streams): the output contract, logp / logp_exact
// semantics per method against the oracle and docs/ground-truth.md, exit statuses, records,
// determinism across threads and the round trip of the filled spec.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <dlogp/run/app.hpp>
#include "support/cli_run.hpp"

using namespace dlogp::runner;
using namespace dlogp::test;

namespace {

struct error_stats {
  double mean = 0, rms = 0, rms_se = 0;
};
/// Mean and RMS of logp - logp_exact over the results, with the delta-method s.e. of the RMS.
error_stats errors(const json& doc) {
  std::vector<double> e;
  for (const auto& r : doc["results"]) e.push_back(r["logp"].get<double>() - r["logp_exact"].get<double>());
  const double n = double(e.size());
  double m = 0, m2 = 0, m4 = 0;
  for (double v : e) {
    m += v / n;
    m2 += v * v / n;
    m4 += v * v * v * v / n;
  }
  const double var_sq = (m4 - m2 * m2) * n / (n - 1);  // variance of e^2
  return {m, std::sqrt(m2), std::sqrt(var_sq / n) / (2 * std::sqrt(m2))};
}

}  // namespace

TEST_CASE("cli run: the output document has the contract's fields", "[cli][unit]") {
  const auto r = run_spec_text(spec(gmm2, R"("process": {"type": "vp"}, "method": "pf-ode", "n": 3, "init_logp": "exact")"));
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  const json d = r.doc();
  std::vector<std::string> top;
  for (auto it = d.begin(); it != d.end(); ++it) top.push_back(it.key());
  CHECK(top == std::vector<std::string>{"dlogp_version", "spec", "results", "summary"});
  CHECK(d["dlogp_version"] == dlogp::version_string);
  CHECK(d["spec"]["solver"]["scheme"] == "dopri5");
  REQUIRE(d["results"].size() == 3);
  for (const auto& res : d["results"]) {
    std::vector<std::string> keys;
    for (auto it = res.begin(); it != res.end(); ++it) keys.push_back(it.key());
    CHECK(keys == std::vector<std::string>{"x_start", "x", "logp", "logp_exact", "score_evals", "steps", "status"});
    CHECK(res["x"].size() == 2);
    CHECK(res["status"] == "ok");
    CHECK(res["score_evals"].get<long>() > 0);
    CHECK(res["steps"].get<long>() > 0);
  }
  std::vector<std::string> sum;
  for (auto it = d["summary"].begin(); it != d["summary"].end(); ++it) sum.push_back(it.key());
  CHECK(sum == std::vector<std::string>{"n", "status_counts", "mean_logp", "mean_abs_error", "seconds", "score_evals"});
  CHECK(d["summary"]["n"] == 3);
  CHECK(d["summary"]["status_counts"] ==
        json::parse(R"({"ok": 3, "max_steps": 0, "step_underflow": 0, "non_finite": 0, "eta_blowup": 0, "model_error": 0})"));
  long evals = 0;
  double mean = 0;
  for (const auto& res : d["results"]) {
    evals += res["score_evals"].get<long>();
    mean += res["logp"].get<double>() / 3;
  }
  CHECK(d["summary"]["score_evals"] == evals);
  CHECK(d["summary"]["mean_logp"].get<double>() == Approx(mean).epsilon(1e-14));
}

TEST_CASE("cli run: pf-ode sampling reports log p_{t_end} of the final x", "[cli][ground-truth]") {
  // Exact start (init_logp exact) and dopri5 at rtol 1e-10: the only error is the solver's,
  // ~1e-8 here (pf_ode_test bounds the same runs by 1e-6).
  const auto r = run_spec_text(spec(gmm2, R"("process": {"type": "vp"}, "method": "pf-ode", "n": 6, "seed": 4,
      "init_logp": "exact", "solver": {"rtol": 1e-10, "atol": 1e-12})"));
  REQUIRE(r.code == 0);
  const json d = r.doc();
  dlogp::vp_process p;
  for (const auto& res : d["results"]) {
    CHECK(std::abs(res["logp"].get<double>() - res["logp_exact"].get<double>()) <= 1e-6);
    // logp_exact is the oracle's log p at t_end = t_min of x.
    const auto m = validate_spec(d["spec"], build_info::everything(), 0).model;
    dlogp::matrix<double> X(2, 1);
    X << res["x"][0].get<double>(), res["x"][1].get<double>();
    dlogp::vector<double> lp;
    m->log_density(p.t_min(), X, lp);
    CHECK(res["logp_exact"].get<double>() == lp(0));
  }
  CHECK(d["summary"]["mean_abs_error"].get<double>() <= 1e-6);
}

TEST_CASE("cli run: pf-ode-encode gives log p_{t_start}(x_start) (docs/ground-truth.md GMM1)", "[cli][ground-truth]") {
  // docs/ground-truth.md GMM1: log p_0.3(0.5) = -1.3414216439. Exact log p_T at the far end, dopri5
  // at rtol 1e-10: |error| <= 1e-6 (the requirement pf_ode_test applies to the same run).
  const auto r = run_spec_text(spec(gmm1, R"("process": {"type": "vp"}, "method": "pf-ode-encode", "t_start": 0.3,
      "x_start": [[0.5], [-1.0]], "init_logp": "exact", "solver": {"rtol": 1e-10, "atol": 1e-12},
      "record": {"every": 5})"));
  REQUIRE(r.code == 0);
  const json d = r.doc();
  const json& a = d["results"][0];
  CHECK(a["x_start"] == json::array({0.5}));
  CHECK(a["logp"].get<double>() == Approx(-1.3414216439).margin(1e-6));
  CHECK(a["logp_exact"].get<double>() == Approx(-1.3414216439).margin(1e-9));
  CHECK(d["spec"]["t_end"] == 1.0);
  // The record: starts at x_start with logp itself, ends at t_end with the exact log p_T there.
  const json& path = a["trajectory"];
  REQUIRE(path.size() >= 2);
  CHECK(path.front()["t"] == 0.3);
  CHECK(path.front()["logp"] == a["logp"]);
  CHECK(path.front()["x"] == a["x_start"]);
  CHECK(path.back()["t"] == 1.0);
  CHECK(path.back()["x"] == a["x"]);
  const auto m = validate_spec(d["spec"], build_info::everything(), 0).model;
  dlogp::matrix<double> X(1, 1);
  X << a["x"][0].get<double>();
  dlogp::vector<double> lp;
  m->log_density(1.0, X, lp);
  CHECK(path.back()["logp"].get<double>() == Approx(lp(0)).margin(1e-12));
  // Every recorded state estimates log p_t(x_t) there.
  for (const auto& s : path) {
    X << s["x"][0].get<double>();
    m->log_density(s["t"].get<double>(), X, lp);
    CHECK(std::abs(s["logp"].get<double>() - lp(0)) <= 1e-6);
  }
}

TEST_CASE("cli run: init_logp prior differs from exact by the prior's error only", "[cli][unit]") {
  // At T = 1 the VP marginal of GMM1 is N(alpha_T mean, ~1): the Gaussian prior is off by
  // ~1e-3 nats, far more than the solver's 1e-7 and far less than 0.1.
  const std::string s0 = R"("process": {"type": "vp"}, "method": "pf-ode-encode", "x_start": [[0.5]],
      "solver": {"rtol": 1e-10, "atol": 1e-12}, "init_logp": )";
  const double prior = run_spec_text(spec(gmm1, s0 + "\"prior\"")).doc()["results"][0]["logp"].get<double>();
  const double exact = run_spec_text(spec(gmm1, s0 + "\"exact\"")).doc()["results"][0]["logp"].get<double>();
  CHECK(std::abs(prior - exact) > 1e-5);
  CHECK(std::abs(prior - exact) < 0.1);
}

TEST_CASE("cli run: reverse-sde tracks log p along each path (docs/ground-truth.md S1)", "[cli][statistical]") {
  // S1: GMM1, 1000 Euler-Maruyama steps to t = 1e-3: RMS error 0.26 (100 paths, relative
  // s.e. ~7%); mean ~0. 400 paths here; bounds are 5 standard errors.
  const auto r = run_spec_text(spec(gmm1, R"("process": {"type": "vp"}, "method": "reverse-sde", "n": 400, "seed": 11,
      "init_logp": "exact", "solver": {"steps": 1000})"));
  REQUIRE(r.code == 0);
  const error_stats e = errors(r.doc());
  INFO("mean " << e.mean << " rms " << e.rms << " +- " << e.rms_se);
  CHECK(std::abs(e.rms - 0.26) <= 5 * std::hypot(e.rms_se, 0.26 * 0.07));
  CHECK(std::abs(e.mean) <= 5 * e.rms / std::sqrt(400.0) + 0.02);
}

TEST_CASE("cli run: forward-sde estimates log p_{t_start}(x_start) (docs/ground-truth.md S2)", "[cli][statistical]") {
  // S2: GMM1, x_0 = 0.2 at t = 0, 2000 steps to T: RMS 0.18, mean 0.02 (100 paths). A sign
  // error in "log p_T(x_T) minus the increments" would give errors of several nats.
  std::string xs = "[";
  for (int i = 0; i < 300; ++i) xs += std::string(i ? "," : "") + "[0.2]";
  xs += "]";
  const auto r = run_spec_text(spec(gmm1, R"("process": {"type": "vp", "t_min": 0}, "method": "forward-sde", "seed": 2,
      "init_logp": "exact", "solver": {"steps": 2000}, "x_start": )" + xs));
  REQUIRE(r.code == 0);
  const json d = r.doc();
  CHECK(d["spec"]["t_start"] == 0.0);
  CHECK(d["spec"]["t_end"] == 1.0);
  // log p_0(0.2) of GMM1 by hand (three Gaussians): -0.6303273612.
  for (const auto& res : d["results"]) CHECK(res["logp_exact"].get<double>() == Approx(-0.6303273612).margin(1e-9));
  const error_stats e = errors(d);
  INFO("mean " << e.mean << " rms " << e.rms << " +- " << e.rms_se);
  CHECK(std::abs(e.rms - 0.18) <= 5 * std::hypot(e.rms_se, 0.18 * 0.07));
  CHECK(std::abs(e.mean) <= 0.02 + 5 * e.rms / std::sqrt(300.0));
}

TEST_CASE("cli run: track_logp false leaves logp null and the exact value in place", "[cli][unit]") {
  const auto r = run_spec_text(spec(gmm1, R"("process": {"type": "vp"}, "method": "pf-ode", "n": 2, "track_logp": false,
      "record": {"every": 100}, "solver": {"scheme": "euler", "steps": 200})"));
  REQUIRE(r.code == 0);
  const json d = r.doc();
  for (const auto& res : d["results"]) {
    CHECK(res["logp"].is_null());
    CHECK(res["logp_exact"].is_number());
    CHECK(res["trajectory"].size() == 3);  // steps 0, 100, 200
    for (const auto& s : res["trajectory"]) CHECK(s["logp"].is_null());
  }
  CHECK(d["summary"]["mean_logp"].is_null());
  CHECK(d["summary"]["mean_abs_error"].is_null());
}

TEST_CASE("cli run: record keeps every k-th state and the last one", "[cli][unit]") {
  const auto r = run_spec_text(spec(gmm1, R"("process": {"type": "vp"}, "method": "reverse-sde", "n": 2,
      "solver": {"steps": 10}, "record": {"every": 4})"));
  REQUIRE(r.code == 0);
  const json d = r.doc();  // not r.doc()["results"] in the loop: the temporary would die first
  for (const auto& res : d["results"]) {
    const json& p = res["trajectory"];
    REQUIRE(p.size() == 4);  // steps 0, 4, 8 and the last, 10
    CHECK(p[0]["t"] == 1.0);
    CHECK(p[0]["x"] == res["x_start"]);
    CHECK(p[1]["t"].get<double>() == Approx(1.0 - 4 * 0.0999).epsilon(1e-12));
    CHECK(p[3]["t"] == 0.001);
    CHECK(p[3]["x"] == res["x"]);
    CHECK(p[3]["logp"] == res["logp"]);
  }
}

TEST_CASE("cli run: trajectories that fail give exit 3 and still every result", "[cli][unit]") {
  // dopri5 with a budget of 2 steps cannot cross [t_min, T]: status max_steps, no logp.
  const auto r = run_spec_text(spec(gmm1, R"("process": {"type": "vp"}, "method": "pf-ode", "n": 3,
      "solver": {"max_steps": 2}, "record": {})"));
  CHECK(r.code == 3);
  CHECK(r.err.empty());
  const json d = r.doc();
  REQUIRE(d["results"].size() == 3);
  for (const auto& res : d["results"]) {
    CHECK(res["status"] == "max_steps");
    CHECK(res["steps"] == 2);
    CHECK(res["logp"].is_null());
    CHECK(res["logp_exact"].is_null());
    CHECK(res["x"].size() == 1);
    CHECK(res["trajectory"].back()["x"] == res["x"]);
  }
  CHECK(d["summary"]["mean_logp"].is_null());
  CHECK(d["summary"]["status_counts"]["max_steps"] == 3);
  CHECK(d["summary"]["status_counts"]["ok"] == 0);
}

TEST_CASE("cli run: a non-finite objective point is marked non_finite and left out of the summary", "[cli][unit]") {
  // The point 1e200 overflows every objective's integrand; the summary is the other point's.
  const std::string rest = R"("process": {"type": "vp"}, "method": "objective",
      "objective": {"objectives": ["dsm", "ism"], "samples": 4}, "seed": 3, "x_start": )";
  const auto both = run_spec_text(spec(gmm1, rest + "[[0.25], [1e200]]"));
  const auto alone = run_spec_text(spec(gmm1, rest + "[[0.25]]"));
  CHECK(both.code == 3);
  REQUIRE(alone.code == 0);
  const json d = both.doc(), a = alone.doc();
  CHECK(d["results"][0]["status"] == "ok");
  CHECK(d["results"][1]["status"] == "non_finite");
  CHECK(d["summary"]["status_counts"]["non_finite"] == 1);
  for (const char* name : {"dsm", "ism"}) {
    const json& s = d["summary"]["objectives"][name];
    CHECK(s["points"] == 1);
    CHECK(s["terms"] == 4);
    CHECK(s["value"] == a["summary"]["objectives"][name]["value"]);  // the same numbers, bit for bit
    CHECK(s["standard_error"] == a["summary"]["objectives"][name]["standard_error"]);
  }
}

TEST_CASE("cli run: output is identical with 1 and 2 threads apart from seconds", "[cli][repro]") {
  // More trajectories than one batch (64) so that both threads work.
  for (const std::string method : {"pf-ode", "reverse-sde", "forward-sde", "pf-ode-encode"}) {
    INFO(method);
    const std::string s = spec(gmm2, R"("process": {"type": "vp"}, "method": ")" + method +
                                         R"(", "n": 150, "seed": 9, "solver": {"steps": 40}, "record": {"every": 7})" +
                                         (method.find("pf") == 0 ? R"(, "divergence": {"type": "hutchinson"})" : ""));
    const auto one = run_spec_text(s, {"--threads", "1"});
    const auto two = run_spec_text(s, {"--threads=2"});
    REQUIRE(one.code == 0);
    REQUIRE(two.code == 0);
    CHECK(one.out != without_seconds(one.out));  // the placeholder really replaced something
    CHECK(without_seconds(one.out) == without_seconds(two.out));
  }
}

TEST_CASE("cli run: the output's spec runs again to the same output", "[cli][repro]") {
  const auto a = run_spec_text(spec(gmm1, R"("process": {"type": "ve"}, "method": "reverse-sde", "n": 5,
      "solver": {"steps": 50, "grid": "log-snr"}, "seed": 77)"));
  REQUIRE(a.code == 0);
  const auto b = run_spec_text(a.doc()["spec"].dump());
  REQUIRE(b.code == 0);
  CHECK(without_seconds(a.out) == without_seconds(b.out));
}

TEST_CASE("cli run: numbers round-trip and non-finite ones are null", "[cli][unit]") {
  const auto r = run_spec_text(spec(gmm1, R"("process": {"type": "vp"}, "method": "pf-ode", "n": 4, "seed": 5)"));
  REQUIRE(r.code == 0);
  const json d = r.doc();
  // Re-running from the printed x_start reproduces x exactly: the text held every bit.
  json xs = json::array();
  for (const auto& res : d["results"]) xs.push_back(res["x_start"]);
  const auto again = run_spec_text(spec(gmm1, R"("process": {"type": "vp"}, "method": "pf-ode", "x_start": )" + xs.dump()));
  REQUIRE(again.code == 0);
  for (std::size_t j = 0; j < 4; ++j) CHECK(again.doc()["results"][j]["x"] == d["results"][j]["x"]);
  CHECK(number_or_null(std::nan("")).is_null());
  CHECK(number_or_null(INFINITY).is_null());
  CHECK(number_or_null(0.1).dump() == "0.1");
}

TEST_CASE("cli run: invalid specs and command lines give exit 2, one line, no output", "[cli][unit]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-"}, "[dlogp.spec] /: invalid JSON"},
      {{}, "[dlogp.cli] SPEC: missing spec file"},
      {{"a.json", "b.json"}, "[dlogp.cli] b.json: only one spec file"},
      {{"/nonexistent/spec.json"}, "[dlogp.cli] /nonexistent/spec.json: cannot open the spec file"},
      {{"-", "--thread", "2"}, "[dlogp.cli] --thread: unknown option; did you mean \"--threads\"?"},
      {{"-", "--threads", "two"}, "[dlogp.cli] --threads: must be an integer"},
      {{"-", "--threads", "-1"}, "[dlogp.cli] --threads: must be an integer"},
      {{"-", "--threads"}, "[dlogp.cli] --threads: needs a value"},
      {{"-", "--progress=yes"}, "[dlogp.cli] --progress: takes no value"},
  };
  for (const auto& [args, expected] : cases) {
    INFO(expected);
    const auto r = run_args(args, "");
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::StartsWith(expected));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  const auto r = run_spec_text(spec(gmm1, R"("process": {"type": "vp"}, "method": "langevin", "langevin": {"steps": -1})"));
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::StartsWith("[dlogp.spec] /langevin/steps: "));
}

TEST_CASE("cli run: --output writes the file, and an invalid spec leaves none", "[cli][unit]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("dlogp-cli-run-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string file = (dir / "out.json").string();
  const std::string good = spec(gmm1, R"("process": {"type": "vp"}, "method": "pf-ode")");
  const auto r = run_args({"-", "--output", file}, good);
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  REQUIRE(fs::exists(file));
  std::ifstream f(file);
  const json d = json::parse(f);
  CHECK(d["results"].size() == 1);
  fs::remove(file);
  const auto bad = run_args({"-", "--output=" + file}, "{}");
  CHECK(bad.code == 2);
  CHECK_FALSE(fs::exists(file));
  const auto unwritable = run_args({"-", "-o", (dir / "no" / "such" / "dir.json").string()}, good);
  CHECK(unwritable.code == 2);
  CHECK_THAT(unwritable.err, Catch::StartsWith("[dlogp.cli] --output: cannot write"));
  fs::remove_all(dir);
}

TEST_CASE("cli run: --help, --version, --schema and --check", "[cli][unit]") {
  const auto h = run_args({"--help"});
  CHECK(h.code == 0);
  CHECK_THAT(h.out, Catch::Contains("Usage: dlogp-run SPEC.json"));
  CHECK_THAT(h.out, Catch::Contains("pf-ode-encode"));
  const auto v = run_args({"--version"});
  CHECK(v.out == std::string("dlogp-run ") + dlogp::version_string + "\n");
  const auto s = run_args({"--schema"});
  CHECK(s.code == 0);
  CHECK(json::parse(s.out) == spec_json_schema());
  const auto c = run_args({"--check", "-"}, spec(gmm1, R"("process": {"type": "edm"}, "method": "pf-ode-encode")"));
  CHECK(c.code == 0);
  CHECK(json::parse(c.out)["t_end"] == 80.0);
}

TEST_CASE("cli run: a forced progress bar goes to stderr only", "[cli][unit]") {
  const auto r = run_spec_text(spec(gmm1, R"("process": {"type": "vp"}, "method": "reverse-sde", "n": 100,
      "solver": {"steps": 100})"), {"--progress"});
  CHECK(r.code == 0);
  CHECK_THAT(r.err, Catch::Contains("100/100 trajectories"));
  CHECK(r.doc()["results"].size() == 100);
  const auto quiet = run_spec_text(spec(gmm1, R"("process": {"type": "vp"}, "method": "pf-ode")"), {"--no-progress"});
  CHECK(quiet.err.empty());
}

TEST_CASE("cli run: every example spec runs", "[cli][unit]") {
  namespace fs = std::filesystem;
  int count = 0;
  for (const auto& e : fs::directory_iterator(fs::path(DLOGP_SOURCE_DIR) / "examples" / "specs")) {
    if (e.path().extension() != ".json") continue;
    INFO(e.path());
    const auto r = run_args({e.path().string(), "--no-progress"});
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    ++count;
  }
  CHECK(count >= 5);
}

TEST_CASE("cli run: shards written in order are the whole run's results (dlogp-run-mpi)", "[cli][repro]") {
  // dlogp-run-mpi runs trajectories [first, first + count) on each rank and concatenates the
  // result lines: every example spec (bar objective, which it refuses), with a record, split
  // unevenly, must give the whole run's lines and summary rows byte for byte.
  namespace fs = std::filesystem;
  int count = 0;
  for (const auto& e : fs::directory_iterator(fs::path(DLOGP_SOURCE_DIR) / "examples" / "specs")) {
    if (e.path().extension() != ".json" || e.path().stem() == "objective") continue;
    INFO(e.path());
    std::ifstream f(e.path());
    json text = json::parse(f);
    text["record"] = {{"every", 25}};
    const run_spec s = parse_spec(text.dump(), current_build(), default_memory_limit(), spec_folder(e.path().string()));
    const run_result whole = execute(s, 1, nullptr);
    std::ostringstream a, b;
    write_results(a, whole.output, whole.recorder.get(), true);
    const long cut = s.n / 3;  // may be 0: an empty first shard writes nothing
    long first = 0;
    for (const long size : {cut, s.n - cut}) {
      if (size == 0) continue;
      const run_result part = execute(s, 1, nullptr, first, size);
      write_results(b, part.output, part.recorder.get(), first == 0);
      for (long j = 0; j < size; ++j) {
        CHECK(part.output.stats[std::size_t(j)].status == whole.output.stats[std::size_t(first + j)].status);
        CHECK(part.output.stats[std::size_t(j)].score_evals == whole.output.stats[std::size_t(first + j)].score_evals);
      }
      first += size;
    }
    CHECK(a.str() == b.str());
    ++count;
  }
  CHECK(count >= 10);
}

TEST_CASE("cli run: --check-model compares the model's members with finite differences", "[cli][unit]") {
  const auto r = run_args({"--check-model", "-"}, spec(gmm2, R"("process": {"type": "vp"}, "method": "pf-ode", "n": 3, "seed": 2)"));
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  const json d = r.doc();
  CHECK(d["passed"] == true);
  CHECK(d["points"] == 3);
  std::vector<std::string> names;
  for (const auto& c : d["checks"]) {
    names.push_back(c["check"].get<std::string>());
    CHECK(c["passed"] == true);
    CHECK(c["worst_error_over_tolerance"].get<double>() <= 1.0);
  }
  // The mixture has every optional member: score, Laplacian, Hessian (and its symmetry), grad Laplacian.
  CHECK(names.size() == 5);
  const auto bad = run_args({"--check-model", "-"}, "{}");
  CHECK(bad.code == 2);
}

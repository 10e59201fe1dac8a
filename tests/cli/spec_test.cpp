// The dlogp-run spec validator, in-process: defaults, every rejection path (JSON pointer and
// message), the method's keys and schemes, and the schema's agreement with the validator.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <dlogp/run/methods/registry.hpp>
#include <dlogp/run/spec.hpp>

using namespace dlogp::runner;

namespace {

const char* base_spec = R"({
  "model": {"type": "gmm", "weights": [0.3, 0.5, 0.2], "means": [[-2], [0], [2.5]], "variances": [0.16, 0.09, 0.25]},
  "process": {"type": "vp"},
  "method": "pf-ode"
})";

const double one_gb = 1e9;  // a fixed memory limit, so the huge-n cases do not depend on the machine

/// The base spec with an RFC 7386 merge patch applied (null deletes a key).
json patched(const std::string& patch) {
  json s = json::parse(base_spec);
  s.merge_patch(json::parse(patch));
  return s;
}

run_spec validate(const json& doc, const build_info& b = build_info::everything()) {
  return validate_spec(doc, b, one_gb);
}

/// Runs the validator and returns the error line ("" when the spec is accepted).
std::string error_of(const json& doc, const build_info& b = build_info::everything()) {
  try {
    validate(doc, b);
  } catch (const spec_error& e) {
    return e.what();
  }
  return "";
}

std::string error_of_text(const std::string& text) {
  try {
    parse_spec(text, build_info::everything(), one_gb);
  } catch (const spec_error& e) {
    return e.what();
  }
  return "";
}

struct bad_case {
  const char* what;
  const char* patch;    ///< merge patch on base_spec
  const char* pointer;  ///< expected JSON pointer
  const char* fragment; ///< expected part of the message
};

}  // namespace

TEST_CASE("cli spec: defaults are filled in for every key the method reads", "[cli][unit]") {
  const run_spec s = validate(json::parse(base_spec));
  const json& f = s.filled;
  std::vector<std::string> keys;
  for (auto it = f.begin(); it != f.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"model", "process", "method", "solver", "divergence", "t_start", "t_end",
                                         "x_start", "n", "seed", "track_logp", "init_logp", "record"});
  CHECK(f["process"] == json::parse(R"({"type":"vp","beta_min":0.1,"beta_max":20.0,"t_min":0.001,"t_max":1.0})"));
  CHECK(f["solver"] == json::parse(R"({"scheme":"dopri5","steps":1000,"rtol":1e-6,"atol":1e-9,"max_steps":100000,"grid":"uniform"})"));
  CHECK(f["divergence"] == json::parse(R"({"type":"exact","probes":1,"probe":"rademacher"})"));
  CHECK(f["t_start"] == 1.0);
  CHECK(f["t_end"] == 0.001);
  CHECK(f["x_start"].is_null());
  CHECK(f["n"] == 1);
  CHECK(f["seed"] == 0);
  CHECK(f["track_logp"] == true);
  CHECK(f["init_logp"] == "prior");
  CHECK(f["record"].is_null());
  CHECK(s.t_start == 1.0);
  CHECK(s.t_end == 0.001);
  CHECK(s.dimension() == 1);
}

TEST_CASE("cli spec: defaults follow the method and the process", "[cli][unit]") {
  SECTION("encoding methods run from t_min to t_max") {
    const run_spec s = validate(patched(R"({"method": "pf-ode-encode", "process": {"type": "edm"}})"));
    CHECK(s.filled["t_start"] == 0.002);
    CHECK(s.filled["t_end"] == 80.0);
  }
  SECTION("SDE methods default to euler-maruyama and reverse-sde has no divergence key") {
    const run_spec s = validate(patched(R"({"method": "reverse-sde"})"));
    CHECK(s.filled["solver"]["scheme"] == "euler-maruyama");
    CHECK_FALSE(s.filled.contains("divergence"));
  }
  SECTION("dg-ode fills guidance, with the noise window spanning the run") {
    const run_spec s = validate(patched(R"({"method": "dg-ode", "t_start": 0.8, "t_end": 0.01})"));
    CHECK(s.filled["guidance"] == json::parse(R"({"q":0.5,"noise":0.0,"noise_window":[0.01,0.8],"exact_projection_term":false})"));
    CHECK_FALSE(s.filled.contains("threshold"));
  }
  SECTION("hd-sampler fills threshold (log-SNR 0) and first_phase") {
    const run_spec s = validate(patched(R"({"method": "hd-sampler"})"));
    const double t0 = s.process.t_from_log_snr(0.0);
    CHECK(s.filled["threshold"] == t0);
    CHECK(std::abs(s.process.log_snr(s.filled["threshold"].get<double>())) < 1e-9);
    CHECK(s.filled["first_phase"] == "pf-ode");
  }
  SECTION("x_start sets n") {
    const run_spec s = validate(patched(R"({"x_start": [[0.1], [0.2], [0.3]]})"));
    CHECK(s.n == 3);
    CHECK(s.filled["n"] == 3);
    CHECK(s.x_start(0, 2) == 0.3);
  }
  SECTION("integers may be written as whole floats and are echoed as integers") {
    const run_spec s = validate(patched(R"({"n": 4.0, "solver": {"steps": 1e3}})"));
    CHECK(s.filled["n"].is_number_integer());
    CHECK(s.filled["solver"]["steps"].dump() == "1000");
  }
  SECTION("the largest seed is accepted") {
    const run_spec s = validate(patched(R"({"seed": 18446744073709551615})"));
    CHECK(s.seed == 18446744073709551615ull);
  }
}

TEST_CASE("cli spec: the filled spec validates to itself", "[cli][unit]") {
  for (const char* patch : {R"({})", R"({"method": "reverse-sde", "record": {}})",
                            R"({"method": "dg-sde", "guidance": {"q": 0.7, "noise": 0.5}})",
                            R"({"method": "hd-sampler", "first_phase": "reverse-sde", "process": {"type": "ve"}})",
                            R"({"method": "forward-sde", "x_start": [[1], [2]]})"}) {
    INFO(patch);
    const run_spec a = validate(patched(patch));
    const run_spec b = validate(a.filled);
    CHECK(a.filled == b.filled);
  }
}

TEST_CASE("cli spec: bad inputs are rejected with the JSON pointer and a message", "[cli][unit]") {
  const std::vector<bad_case> cases = {
      // types
      {"method not a string", R"({"method": 3})", "/method", "must be a string"},
      {"model not an object", R"({"model": [1]})", "/model", "must be an object"},
      {"weights not an array", R"({"model": {"weights": 1}})", "/model/weights", "must be an array"},
      {"weight a string", R"({"model": {"weights": [0.3, "a", 0.2]}})", "/model/weights/1", "must be a number"},
      {"n a float", R"({"n": 2.5})", "/n", "must be an integer"},
      {"n a string", R"({"n": "4"})", "/n", "must be an integer"},
      {"track_logp a number", R"({"track_logp": 1})", "/track_logp", "must be true or false"},
      {"seed negative", R"({"seed": -1})", "/seed", "must not be negative"},
      {"solver a number", R"({"solver": 5})", "/solver", "must be an object"},
      // missing and unknown keys
      {"no model", R"({"model": null})", "/model", "required key is missing"},
      {"no method", R"({"method": null})", "/method", "required key is missing"},
      {"no process type", R"({"process": {"type": null}})", "/process/type", "required key is missing"},
      {"no weights", R"({"model": {"weights": null}})", "/model/weights", "required key is missing"},
      {"unknown top-level key", R"({"sed": 1})", "/sed", "did you mean \"seed\"?"},
      {"unknown solver key", R"({"solver": {"stpes": 10}})", "/solver/stpes", "did you mean \"steps\"?"},
      {"key one level too high", R"({"steps": 10})", "/steps", "belongs inside \"solver\""},
      {"unknown key without a close match", R"({"solver": {"zzzzzz": 1}})", "/solver/zzzzzz", "expected \"scheme\""},
      {"key of another process type", R"({"process": {"type": "edm", "beta_min": 1}})", "/process/beta_min",
       "for process type \"edm\""},
      // unknown names
      {"unknown method", R"({"method": "pf-od"})", "/method", "unknown method \"pf-od\"; did you mean \"pf-ode\"?"},
      {"unknown process", R"({"process": {"type": "vpp"}})", "/process/type", "did you mean \"vp\"?"},
      {"unknown model type", R"({"model": {"type": "unet"}})", "/model/type", "unknown model type \"unet\""},
      {"unknown scheme", R"({"solver": {"scheme": "rk45"}})", "/solver/scheme", "unknown scheme \"rk45\""},
      {"unknown grid", R"({"solver": {"grid": "log_snr"}})", "/solver/grid", "did you mean \"log-snr\"?"},
      {"unknown divergence", R"({"divergence": {"type": "hutchison"}})", "/divergence/type", "did you mean \"hutchinson\"?"},
      {"unknown init_logp", R"({"init_logp": "gaussian"})", "/init_logp", "unknown init_logp \"gaussian\""},
      // the mixture
      {"empty mixture", R"({"model": {"weights": [], "means": [], "variances": []}})", "/model/weights", "must not be empty"},
      {"negative weight", R"({"model": {"weights": [0.3, -0.5, 0.2]}})", "/model/weights/1", "must be positive"},
      {"zero weight", R"({"model": {"weights": [0.3, 0, 0.2]}})", "/model/weights/1", "must be positive"},
      {"means of mixed dimension", R"({"model": {"means": [[-2], [0, 1], [2.5]]}})", "/model/means/1",
       "has 2 coordinates, expected 1"},
      {"fewer means than weights", R"({"model": {"means": [[-2], [0]]}})", "/model/means", "has 2 rows, expected 3"},
      {"empty mean", R"({"model": {"means": [[], [], []]}})", "/model/means/0", "must not be empty"},
      {"variance zero", R"({"model": {"variances": [0.16, 0, 0.25]}})", "/model/variances/1", "must be positive"},
      {"too few variances", R"({"model": {"variances": [0.16, 0.09]}})", "/model/variances", "has 2 entries, expected 3"},
      {"two covariance forms", R"({"model": {"diagonals": [[1], [1], [1]]}})", "/model/diagonals",
       "conflicts with \"variances\""},
      {"no covariance form", R"({"model": {"variances": null}})", "/model", "needs one of \"covariances\""},
      {"covariance of the wrong size", R"({"model": {"variances": null, "covariances": [[[1]], [[1, 0], [0, 1]], [[1]]]}})",
       "/model/covariances/1", "has 2 rows, expected 1"},
      {"indefinite covariance", R"({"model": {"variances": null, "covariances": [[[1]], [[-1]], [[1]]]}})",
       "/model/covariances/1", "not positive definite"},
      {"diagonal entry zero", R"({"model": {"variances": null, "diagonals": [[1], [0], [1]]}})", "/model/diagonals/1/0",
       "must be positive"},
      // the process
      {"t_max below t_min", R"({"process": {"t_min": 0.5, "t_max": 0.4}})", "/process/t_max", "greater than t_min"},
      {"negative t_min", R"({"process": {"t_min": -0.1}})", "/process/t_min", "must not be negative"},
      {"beta_max below beta_min", R"({"process": {"beta_min": 5, "beta_max": 1}})", "/process/beta_max", "at least beta_min"},
      {"sigma_max below sigma_min", R"({"process": {"type": "ve", "sigma_min": 5, "sigma_max": 1}})", "/process/sigma_max",
       "greater than sigma_min"},
      {"rectified flow reaching 1", R"({"process": {"type": "rectified-flow", "t_max": 1}})", "/process/t_max",
       "must be in (0, 1) (got 1)"},
      // times
      {"t_start outside the range", R"({"t_start": 2})", "/t_start", "must lie in the process range [0.001, 1.0]"},
      {"t_end outside the range", R"({"t_end": 0})", "/t_end", "must lie in the process range"},
      {"t_start equal to t_end", R"({"t_start": 0.5, "t_end": 0.5})", "/t_end", "equals t_start"},
      {"sampling upwards", R"({"t_start": 0.2, "t_end": 0.7})", "/t_end", "must be less than t_start"},
      {"encoding downwards", R"({"method": "pf-ode-encode", "t_start": 0.7, "t_end": 0.2})", "/t_end",
       "must be greater than t_start"},
      {"non-finite time", R"({"t_start": "inf"})", "/t_start", "must be a number"},
      // solver and divergence
      {"steps zero", R"({"solver": {"steps": 0}})", "/solver/steps", "must be in [1, 100000000] (got 0)"},
      {"steps absurd", R"({"solver": {"steps": 1e12}})", "/solver/steps", "must be in [1, 100000000]"},
      {"rtol zero", R"({"solver": {"rtol": 0}})", "/solver/rtol", "must be positive"},
      {"max_steps zero", R"({"solver": {"max_steps": 0}})", "/solver/max_steps", "must be in [1, "},
      {"SDE scheme for an ODE", R"({"solver": {"scheme": "euler-maruyama"}})", "/solver/scheme",
       "does not take scheme \"euler-maruyama\""},
      {"ODE scheme for an SDE", R"({"method": "reverse-sde", "solver": {"scheme": "heun"}})", "/solver/scheme",
       "it takes \"euler-maruyama\""},
      {"log-SNR grid down to t = 0", R"({"process": {"t_min": 0}, "t_end": 0, "solver": {"scheme": "euler", "grid": "log-snr"}})",
       "/solver/grid", "finite log-SNR"},
      {"probes zero", R"({"divergence": {"type": "hutchinson", "probes": 0}})", "/divergence/probes", "must be in [1, "},
      // guidance and the high-density sampler
      {"q one", R"({"method": "dg-ode", "guidance": {"q": 1}})", "/guidance/q", "must be in (0, 1)"},
      {"q zero", R"({"method": "dg-ode", "guidance": {"q": 0}})", "/guidance/q", "must be in (0, 1)"},
      {"negative noise", R"({"method": "dg-sde", "guidance": {"noise": -1}})", "/guidance/noise", "must not be negative"},
      {"noise window reversed", R"({"method": "dg-sde", "guidance": {"noise_window": [0.5, 0.1]}})",
       "/guidance/noise_window", "must be increasing"},
      {"noise window of three", R"({"method": "dg-sde", "guidance": {"noise_window": [0.1, 0.2, 0.3]}})",
       "/guidance/noise_window", "must have 2 items"},
      {"noise window outside", R"({"method": "dg-sde", "guidance": {"noise_window": [0.1, 5]}})",
       "/guidance/noise_window/1", "must lie in the process range"},
      {"threshold outside the run", R"({"method": "hd-sampler", "t_end": 0.1, "threshold": 0.05})", "/threshold",
       "must lie in [t_end, t_start]"},
      {"unknown first phase", R"({"method": "hd-sampler", "first_phase": "pf_ode"})", "/first_phase",
       "did you mean \"pf-ode\"?"},
      // keys the method does not read
      {"guidance for pf-ode", R"({"guidance": {"q": 0.7}})", "/guidance", "not used by method \"pf-ode\""},
      {"threshold for dg-ode", R"({"method": "dg-ode", "threshold": 0.5})", "/threshold", "only \"hd-sampler\" use"},
      {"divergence for reverse-sde", R"({"method": "reverse-sde", "divergence": {}})", "/divergence",
       "not used by method \"reverse-sde\""},
      // start points and their number
      {"n zero", R"({"n": 0})", "/n", "must be at least 1"},
      {"huge n", R"({"n": 1e13})", "/n", "need about"},
      {"huge record", R"({"n": 100000, "solver": {"scheme": "euler", "steps": 100000}, "record": {"every": 1}})", "/n",
       "with recorded states"},
      {"empty x_start", R"({"x_start": []})", "/x_start", "must not be empty"},
      {"x_start of the wrong dimension", R"({"x_start": [[0.1], [0.2, 0.3]]})", "/x_start/1",
       "has 2 coordinates, expected 1 (the model's dimension)"},
      {"null in x_start", R"({"x_start": [[0.1], [null]]})", "/x_start/1/0", "must be a number"},
      {"n conflicting with x_start", R"({"x_start": [[0.1], [0.2]], "n": 3})", "/n", "conflicts with x_start"},
      {"record every zero", R"({"record": {"every": 0}})", "/record/every", "must be at least 1"},
      {"record not an object", R"({"record": 5})", "/record", "must be an object"},
  };
  CHECK(cases.size() >= 70);
  for (const auto& c : cases) {
    INFO(c.what << ": " << c.patch);
    const std::string e = error_of(patched(c.patch));
    REQUIRE_FALSE(e.empty());
    CHECK(e.rfind(std::string("[dlogp.spec] ") + c.pointer + ": ", 0) == 0);
    CHECK_THAT(e, Catch::Contains(c.fragment));
    CHECK(e.find('\n') == std::string::npos);
  }
}

TEST_CASE("cli spec: full covariances are checked for symmetry per component", "[cli][unit]") {
  const json doc = json::parse(R"({
    "model": {"type": "gmm", "weights": [1, 1], "means": [[0, 0], [1, 1]],
              "covariances": [[[1, 0], [0, 1]], [[1, 0.5], [0.4, 1]]]},
    "process": {"type": "vp"}, "method": "pf-ode"})");
  CHECK_THAT(error_of(doc), Catch::StartsWith("[dlogp.spec] /model/covariances/1: is not symmetric"));
}

TEST_CASE("cli spec: malformed JSON is rejected with its line and column", "[cli][unit]") {
  CHECK_THAT(error_of_text("{\n  \"method\": \"pf-ode\",\n}"),
             Catch::StartsWith("[dlogp.spec] /: invalid JSON: parse error at line 3, column 1"));
  CHECK_THAT(error_of_text(""), Catch::StartsWith("[dlogp.spec] /: invalid JSON:"));
  CHECK_THAT(error_of_text("{\"n\": 1e999}"), Catch::StartsWith("[dlogp.spec] /: invalid JSON:"));
  CHECK_THAT(error_of_text("{\"n\": NaN}"), Catch::StartsWith("[dlogp.spec] /: invalid JSON:"));
  CHECK_THAT(error_of_text("{} {}"), Catch::StartsWith("[dlogp.spec] /: invalid JSON:"));
  CHECK_THAT(error_of_text("[1, 2]"), Catch::StartsWith("[dlogp.spec] /: the spec must be a JSON object"));
}

TEST_CASE("cli spec: duplicate keys are rejected at the second one", "[cli][unit]") {
  CHECK(error_of_text(R"({"method": "pf-ode", "method": "pf-ode"})") == "[dlogp.spec] /method: duplicate key");
  CHECK(error_of_text(R"({"x_start": [[1], {"a": 1, "a": 2}]})") == "[dlogp.spec] /x_start/1/a: duplicate key");
  CHECK(error_of_text(R"({"a": {"b": 1}, "c": {"b": 2, "d/~": 1, "d/~": 2}})") ==
        "[dlogp.spec] /c/d~1~0: duplicate key");
}

TEST_CASE("cli spec: methods and schemes missing from the build are refused by name", "[cli][unit]") {
  build_info b;
  b.methods.push_back({"pf-ode", {"dopri5", "euler"}});
  CHECK(error_of(patched(R"({"method": "hd-ode"})"), b) == "[dlogp.spec] /method: \"hd-ode\" is not available in this build");
  CHECK(error_of(patched(R"({"method": "langevin"})"), b) ==
        "[dlogp.spec] /method: \"langevin\" is not available in this build");
  CHECK(error_of(patched(R"({"solver": {"scheme": "ddim"}})"), b) ==
        "[dlogp.spec] /solver/scheme: \"ddim\" is not available in this build");
  CHECK(error_of(patched(R"({"solver": {"scheme": "euler"}})"), b).empty());
}

TEST_CASE("cli spec: every key of the schema is accepted by the validator", "[cli][unit]") {
  // A spec that sets every optional key the contract has (for the method that reads it).
  const json full = patched(R"({
    "method": "hd-sampler", "solver": {"scheme": "rk4", "steps": 10, "rtol": 1e-5, "atol": 1e-8,
    "max_steps": 10, "grid": "log-snr"}, "divergence": {"type": "hutchinson", "probes": 2, "probe": "gaussian"},
    "threshold": 0.5, "first_phase": "reverse-sde", "t_start": 0.9, "t_end": 0.01, "x_start": [[0.1]], "n": 1,
    "seed": 3, "track_logp": false, "init_logp": "exact", "record": {"every": 2}})");
  CHECK(error_of(full).empty());
  const json dg = patched(R"({"method": "dg-sde", "guidance": {"q": 0.3, "noise": 0.2, "noise_window": [0.1, 0.5],
    "exact_projection_term": true}})");
  CHECK(error_of(dg).empty());
  // The sampler methods' keys (every sub-key set).
  const std::vector<json> sampler_specs = {
      patched(R"({"method": "pf-ode", "solver": {"scheme": "dpm-solver-3", "steps": 10, "grid": "log-snr",
        "dpm_prediction": "noise", "dpm_method": "singlestep"}})"),
      patched(R"({"method": "langevin", "langevin": {"steps": 10, "step_size": 0.01}})"),
      patched(R"({"method": "annealed-langevin", "annealed_langevin": {"levels": 3, "steps_per_level": 5,
        "step_factor": 0.1, "level_nodes": 2}})"),
      patched(R"({"method": "pc", "pc": {"corrector_steps": 2, "snr": 0.1, "snr_pilot": 8}})"),
      patched(R"({"method": "objective", "objective": {"objectives": ["ism"], "weighting": "sigma2",
        "time_sampling": "log-snr-nodes", "time_nodes": 4, "samples": 2, "t_data": 0, "projections": 2,
        "projection": "gaussian", "variance_reduced": true, "elbo": true}})"),
      patched(R"({"method": "pf-ode-encode", "quantisation": {"levels": 256, "range": [-1, 1], "grid": "values",
        "dequantise": "uniform"}})")};
  for (const auto& s : sampler_specs) {
    INFO(s.dump());
    CHECK(error_of(s).empty());
  }
  // ... and every top-level key of the schema appears in one of them.
  const json schema = spec_json_schema();
  for (auto it = schema["properties"].begin(); it != schema["properties"].end(); ++it) {
    INFO(it.key());
    bool found = full.contains(it.key()) || dg.contains(it.key());
    for (const auto& s : sampler_specs) found = found || s.contains(it.key());
    CHECK(found);
  }
}

TEST_CASE("cli spec: the schema lists every method, scheme and key of the contract", "[cli][unit]") {
  const json s = spec_json_schema();
  const auto& props = s["properties"];
  for (const char* k : {"model", "process", "method", "solver", "divergence", "guidance", "threshold", "first_phase",
                        "t_start", "t_end", "x_start", "n", "seed", "track_logp", "init_logp", "record"})
    CHECK(props.contains(k));
  const std::vector<std::string> methods = props["method"]["enum"];
  for (const char* m : {"pf-ode", "pf-ode-encode", "reverse-sde", "forward-sde", "hd-ode", "hd-sampler",
                        "mode-tracking", "dg-ode", "dg-sde"})
    CHECK(std::find(methods.begin(), methods.end(), m) != methods.end());
  const std::vector<std::string> schemes = props["solver"]["properties"]["scheme"]["enum"];
  CHECK(schemes.size() == 8);
  CHECK(props["guidance"]["properties"]["q"]["exclusiveMinimum"] == 0.0);
  CHECK(props["guidance"]["properties"]["q"]["exclusiveMaximum"] == 1.0);
  CHECK(s["required"] == json::array({"model", "process", "method"}));
  CHECK(props["process"]["oneOf"].size() == 5);
  CHECK(s["additionalProperties"] == false);
}

TEST_CASE("cli spec: every scheme of the library's catalogue reaches the schema and the methods", "[cli][unit]") {
  // The runner's scheme vocabulary is generated from include/dlogp/scheme/catalogue.hpp: a scheme
  // added there appears in the schema, and in every method of its kind, with nothing else to edit.
  const json s = spec_json_schema();
  const std::vector<std::string> in_schema = s["properties"]["solver"]["properties"]["scheme"]["enum"];
  const auto all = dlogp::all_scheme_summaries();
  CHECK(in_schema.size() == all.size());
  for (const auto& e : all) {
    INFO(e.name);
    CHECK(std::find(in_schema.begin(), in_schema.end(), std::string(e.name)) != in_schema.end());
  }
  const auto takes = [](const std::string& method) { return find_method(method)->schemes; };
  const std::vector<std::string> ode = dlogp::scheme_names(dlogp::ode_scheme_list{});
  const std::vector<std::string> sde = dlogp::scheme_names(dlogp::sde_scheme_list{});
  for (const char* m : {"hd-ode", "hd-sampler", "mode-tracking", "dg-ode"}) CHECK(takes(m) == ode);
  for (const char* m : {"reverse-sde", "forward-sde", "dg-sde", "pc"}) CHECK(takes(m) == sde);
  std::vector<std::string> pf = ode;
  for (const auto& n : dlogp::scheme_names(dlogp::pf_ode_scheme_list{})) pf.push_back(n);
  CHECK(takes("pf-ode") == pf);
  CHECK(takes("pf-ode-encode") == pf);
  // ... and this build dispatches every one of them (the registry takes the same lists).
  const build_info build = current_build();
  for (const auto& m : method_catalogue())
    for (const auto& sc : m.schemes) CHECK(build.has_scheme(m.name, sc));
}

TEST_CASE("cli spec: docs/schema.json is the schema dlogp-run prints", "[cli][unit]") {
  std::ifstream f(std::string(DLOGP_SOURCE_DIR) + "/docs/schema.json");
  REQUIRE(f);
  std::stringstream text;
  text << f.rdbuf();
  INFO("regenerate with: dlogp-run --schema > docs/schema.json");
  CHECK(text.str() == spec_json_schema().dump(2) + "\n");
}

TEST_CASE("cli spec: suggestions pick the closest name and only plausible ones", "[cli][unit]") {
  CHECK(edit_distance("stpes", "steps") == 1);
  CHECK(edit_distance("Steps", "steps") == 0);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(closest("thresold", method_definition{}.keys()).empty());
  CHECK(closest("thresold", std::vector<std::string>{"threshold", "t_start"}) == "threshold");
  CHECK(closest("xyz", std::vector<std::string>{"n", "seed"}).empty());
  // Long words get no suggestion (and no table of their size); the distance itself stays exact.
  const std::string long_word(max_suggestion_length + 1, 's');
  CHECK(closest(long_word, std::vector<std::string>{long_word}).empty());
  CHECK(edit_distance(std::string(300, 'a'), std::string(299, 'a') + "b") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("ab", "ba") == 1);
}

TEST_CASE("cli spec: error lines escape control characters and shorten huge echoes", "[cli][unit]") {
  CHECK(printable("a\nb\x1b[0m\x7f") == "a\\x0ab\\x1b[0m\\x7f");
  const std::string huge(10000, 'k');
  const std::string p = printable(huge);
  CHECK(p.size() < 2100);
  CHECK_THAT(p, Catch::Contains("[... 7952 bytes ...]"));
  CHECK(std::string(spec_error("/a\nb", "bad\rvalue").what()) == "[dlogp.spec] /a\\x0ab: bad\\x0dvalue");
}

TEST_CASE("cli spec: nesting, key counts and string lengths are bounded while parsing", "[cli][unit]") {
  auto refused = [](const std::string& text) -> std::string {
    try {
      (void)parse_json_text(text);
    } catch (const spec_error& e) {
      return e.what();
    }
    return "accepted";
  };
  CHECK(refused(std::string(max_spec_depth, '[') + std::string(max_spec_depth, ']')) == "accepted");
  CHECK_THAT(refused(std::string(max_spec_depth + 1, '[')), Catch::StartsWith("[dlogp.spec] /0/0/") &&
                                                              Catch::Contains("nested deeper than 64 levels"));
  CHECK_THAT(refused(R"({"a": {"b": [1, )" + std::string(max_spec_depth, '[')),
             Catch::StartsWith("[dlogp.spec] /a/b/1/0/0/"));
  std::string keys = "{\"o\": {";
  for (std::size_t i = 0; i <= max_object_keys; ++i) keys += (i ? ",\"k" : "\"k") + std::to_string(i) + "\": 0";
  CHECK_THAT(refused(keys + "}}"), Catch::StartsWith("[dlogp.spec] /o: has more than 1024 keys"));
  CHECK_THAT(refused(R"({"a": [0, ")" + std::string(max_string_bytes + 1, 'x') + "\"]}"),
             Catch::StartsWith("[dlogp.spec] /a/1: has a string longer than 4096 bytes"));
  CHECK(refused(R"({"a": ")" + std::string(max_string_bytes, 'x') + "\"}") == "accepted");
  CHECK_THAT(refused(R"({"a": 1, "b": 2, "a": 3})"), Catch::StartsWith("[dlogp.spec] /a: duplicate key"));
}

TEST_CASE("cli spec: every registered method's own keys reach the schema and are refused elsewhere", "[cli][unit]") {
  const json schema = spec_json_schema();
  const auto& catalogue = method_catalogue();
  REQUIRE(catalogue.size() == method_names().size());
  for (const auto& m : catalogue) {
    INFO(m.name);
    // The method is in the schema's enum, with its schemes.
    const std::vector<std::string> names = schema["properties"]["method"]["enum"];
    CHECK(std::find(names.begin(), names.end(), m.name) != names.end());
    for (const auto& k : m.own_keys) {
      INFO(k.name);
      REQUIRE(schema["properties"].contains(k.name));
      // The method reads it ...
      CHECK(m.uses(k.name));
      CHECK(methods_using(k.name) == std::vector<std::string>{m.name});
      // ... and pf-ode (which owns no key) refuses it, naming the method that reads it.
      json doc = patched("{}");
      // A value of the right type, so that only the method check can refuse it.
      doc[k.name] = k.value->default_value ? *k.value->default_value
                    : k.value->type == node_type::number ? json(0.5)
                                                          : json::object();
      const std::string e = error_of(doc);
      CHECK(e.find("/" + k.name + ": not used by method \"pf-ode\"") != std::string::npos);
      CHECK(e.find("only \"" + m.name + "\"") != std::string::npos);
    }
  }
}

// dlogp-run in-process: the high-density and density-guidance methods (hd-ode, hd-sampler,
// mode-tracking, dg-ode, dg-sde) against the oracle, docs/ground-truth.md and the methods they
// reduce to (q = 0.5 is the PF-ODE; a threshold at either end is one of the phases).
#include <catch2/catch.hpp>
#include <cmath>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <dlogp/core/normal_quantile.hpp>

#include <dlogp/run/app.hpp>
#include "support/cli_run.hpp"

using namespace dlogp::runner;
using namespace dlogp::test;

namespace {

// The process of docs/ground-truth.md with t_min = 0, so that the oracle's s -> 0 end is reachable.
const std::string vp0 = R"("process": {"type": "vp", "t_min": 0})";

/// A centred Gaussian N(0, diag(c_i^2)) in dimension D as a one-component mixture
/// (docs/ground-truth.md T1 shape: c_i^2 = lo + (hi - lo) (i + 0.5) / D), and the c_i^2.
std::string diagonal_gaussian(long D, double lo, double hi, std::vector<double>& c2) {
  json mean = json::array(), diag = json::array();
  c2.clear();
  for (long i = 0; i < D; ++i) {
    c2.push_back(lo + (hi - lo) * (double(i) + 0.5) / double(D));
    mean.push_back(0.0);
    diag.push_back(c2.back());
  }
  return R"("model": {"type": "gmm", "weights": [1], "means": [)" + mean.dump() + R"(], "diagonals": [)" +
         diag.dump() + "]}";
}

/// The model's exact log p_t at the given rows (the oracle behind logp_exact).
std::vector<double> exact_log_p(const json& filled_spec, double t, const json& rows) {
  const run_spec s = validate_spec(filled_spec, build_info::everything(), 0);
  dlogp::matrix<double> X(s.dimension(), long(rows.size()));
  for (std::size_t j = 0; j < rows.size(); ++j)
    for (long i = 0; i < s.dimension(); ++i) X(i, long(j)) = rows[j][std::size_t(i)].get<double>();
  dlogp::vector<double> lp;
  s.model->log_density(t, X, lp);
  return std::vector<double>(lp.data(), lp.data() + lp.size());
}


}  // namespace

TEST_CASE("cli methods: mode-tracking ends in the docs/ground-truth.md modes M1, M5, M6", "[cli][ground-truth]") {
  // RK4 with 4000 steps from the anchor t_start = t: the reference's own integrator, so the
  // end points agree to the 8 printed decimals (mode_tracking_test: 3e-14 to the Newton mode),
  // and the tracked log p equals the exact log p_0 of the end point to RK4's error (~1e-14).
  const auto run = [](const std::string& t, const std::string& x) {
    return run_spec_text(spec(gmm1, vp0 + R"(, "method": "mode-tracking", "t_start": )" + t +
                                        R"(, "x_start": [[)" + x +
                                        R"(]], "init_logp": "exact", "solver": {"scheme": "rk4", "steps": 4000})"));
  };
  const struct {
    const char *t, *x;
    double mode;
  } cases[] = {{"0.3", "0.05", 0.00443023}, {"0.3", "-1.2", -1.99107600}, {"0.3", "1.3", 2.43866312}};
  for (const auto& c : cases) {
    INFO("x_t = " << c.x << ", t = " << c.t);
    const auto r = run(c.t, c.x);
    REQUIRE(r.code == 0);
    const json d = r.doc();
    CHECK(d["spec"]["t_end"] == 0.0);  // the default t_end is the process's t_min
    CHECK_FALSE(d["spec"].contains("divergence"));
    const json& res = d["results"][0];
    CHECK(std::abs(res["x"][0].get<double>() - c.mode) <= 5e-9);
    CHECK(std::abs(res["logp"].get<double>() - res["logp_exact"].get<double>()) <= 1e-10);
    CHECK(res["logp_exact"].get<double>() == Approx(exact_log_p(d["spec"], 0.0, json::array({res["x"]}))[0]).epsilon(1e-15));
  }
}

TEST_CASE("cli methods: mode-tracking refuses a divergence setting it would ignore", "[cli][unit]") {
  const auto r = run_spec_text(spec(gmm1, vp0 + R"(, "method": "mode-tracking", "divergence": {"type": "hutchinson"})"));
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::StartsWith("[dlogp.spec] /divergence: not used by method \"mode-tracking\""));
}

TEST_CASE("cli methods: hd-ode end point and log p match docs/ground-truth.md M1 and the oracle", "[cli][ground-truth]") {
  // M1: x_t = 0.05, t = 0.3 -> HD-ODE y_0 = -0.00622210, log p_0 = -0.408325 (8 / 6 printed
  // decimals); RK4 at 4000 steps is the reference's integrator.
  const auto r = run_spec_text(spec(gmm1, vp0 + R"(, "method": "hd-ode", "t_start": 0.3, "x_start": [[0.05]],
      "init_logp": "exact", "solver": {"scheme": "rk4", "steps": 4000})"));
  REQUIRE(r.code == 0);
  const json res = r.doc()["results"][0];
  CHECK(std::abs(res["x"][0].get<double>() + 0.00622210) <= 5e-9);
  CHECK(std::abs(res["logp"].get<double>() + 0.408325) <= 5e-7);
  CHECK(std::abs(res["logp"].get<double>() - res["logp_exact"].get<double>()) <= 1e-10);

  // From the prior on GMM2 with dopri5 at rtol 1e-10 and the exact p_T: only the solver's error
  // remains (hd_ode_test: 1.3e-11 on GMM2); 1e-7 leaves the global-error factor of the adaptive
  // solver over the run.
  const auto p = run_spec_text(spec(gmm2, R"("process": {"type": "vp"}, "method": "hd-ode", "n": 8, "seed": 2,
      "init_logp": "exact", "solver": {"rtol": 1e-10, "atol": 1e-12})"));
  REQUIRE(p.code == 0);
  const json pd = p.doc();
  for (const auto& res2 : pd["results"])
    CHECK(std::abs(res2["logp"].get<double>() - res2["logp_exact"].get<double>()) <= 1e-7);
}

TEST_CASE("cli methods: hd-sampler reduces to its phases at either end of the run", "[cli][unit]") {
  const std::string common = R"("process": {"type": "vp"}, "n": 5, "seed": 11, "solver": {"steps": 60)";
  const auto results_of = [](const cli_run& r) {
    REQUIRE(r.code == 0);
    return r.doc()["results"].dump();
  };
  SECTION("threshold = t_end with a PF-ODE first phase is pf-ode") {
    const auto a = run_spec_text(spec(gmm2, common + R"(, "scheme": "heun"}, "method": "hd-sampler", "threshold": 0.001)"));
    const auto b = run_spec_text(spec(gmm2, common + R"(, "scheme": "heun"}, "method": "pf-ode")"));
    CHECK(results_of(a) == results_of(b));
  }
  SECTION("threshold = t_end with a reverse-SDE first phase is reverse-sde (same Brownian paths)") {
    const auto a = run_spec_text(spec(gmm2, common + R"(, "scheme": "rk4"}, "method": "hd-sampler", "threshold": 0.001,
        "first_phase": "reverse-sde")"));
    const auto b = run_spec_text(spec(gmm2, common + R"(}, "method": "reverse-sde")"));
    CHECK(results_of(a) == results_of(b));
  }
  SECTION("threshold = t_start is hd-ode") {
    const auto a = run_spec_text(spec(gmm2, common + R"(, "scheme": "rk4"}, "method": "hd-sampler", "threshold": 1)"));
    const auto b = run_spec_text(spec(gmm2, common + R"(, "scheme": "rk4"}, "method": "hd-ode")"));
    CHECK(results_of(a) == results_of(b));
  }
}

TEST_CASE("cli methods: hd-sampler tracks log p through both phases", "[cli][ground-truth]") {
  // dopri5 at rtol 1e-10 in both phases from the exact p_T: |ell - log p_0| is the solver's
  // error only (high_density_test: 2e-10); the record joins the phases without repeating the
  // threshold state.
  const auto r = run_spec_text(spec(gmm2, R"("process": {"type": "vp"}, "method": "hd-sampler", "n": 6, "seed": 5,
      "init_logp": "exact", "solver": {"rtol": 1e-10, "atol": 1e-12}, "record": {"every": 1})"));
  REQUIRE(r.code == 0);
  const json d = r.doc();
  const double thr = d["spec"]["threshold"].get<double>();
  CHECK(thr > 0.001);
  CHECK(thr < 1);
  for (const auto& res : d["results"]) {
    CHECK(std::abs(res["logp"].get<double>() - res["logp_exact"].get<double>()) <= 1e-7);
    const json& tr = res["trajectory"];
    int at_threshold = 0;
    for (std::size_t k = 1; k < tr.size(); ++k) CHECK(tr[k]["t"].get<double>() < tr[k - 1]["t"].get<double>());
    for (const auto& st : tr) at_threshold += st["t"].get<double>() == thr;
    CHECK(at_threshold == 1);
    CHECK(tr.front()["t"] == 1.0);
    CHECK(tr.back()["x"] == res["x"]);
  }
}

TEST_CASE("cli methods: dg-ode with q = 0.5 is pf-ode bit for bit", "[cli][unit]") {
  for (const std::string solver : {R"({"scheme": "heun", "steps": 50})", R"({"rtol": 1e-7})"})
    for (const std::string div : {R"({"type": "exact"})", R"({"type": "hutchinson", "probes": 2})"}) {
      INFO(solver << " " << div);
      const std::string rest = R"("process": {"type": "edm"}, "n": 7, "seed": 3, "solver": )" + solver +
                               R"(, "divergence": )" + div + R"(, "record": {"every": 5})";
      const auto a = run_spec_text(spec(gmm2, rest + R"(, "method": "dg-ode", "guidance": {"q": 0.5})"));
      const auto b = run_spec_text(spec(gmm2, rest + R"(, "method": "pf-ode")"));
      REQUIRE(a.code == 0);
      REQUIRE(b.code == 0);
      CHECK(a.doc()["results"].dump() == b.doc()["results"].dump());
    }
}

TEST_CASE("cli methods: dg-ode shifts log p_0 by k ln(T / t_min) for Gaussian data (docs/ground-truth.md T1)", "[cli][ground-truth]") {
  // For Gaussian data the DG-ODE changes log p by exactly sum_i (1/2) ln((c_i^2 + T^2) /
  // (c_i^2 + sigma_min^2)) + sqrt(2D) Phi^{-1}(q) ln(T / sigma_min) along EVERY path (EDM).
  // dopri5 at rtol 1e-9: the change of the exact log p between the start and the end point is
  // this number to the solver's error (~1e-6 on a change of ~400 nats), and the tracked log p
  // equals the exact one to the same accuracy. |z_T|^2 ~ chi^2_16 >> 2 k ln(T / t_min) at q = 0.3.
  const long D = 16;
  std::vector<double> c2;
  const std::string model = diagonal_gaussian(D, 0.2, 2.0, c2);
  for (double q : {0.3, 0.5}) {
    INFO("q = " << q);
    const auto r = run_spec_text(spec(model, R"("process": {"type": "edm"}, "method": "dg-ode", "n": 4, "seed": 1,
        "init_logp": "exact", "solver": {"rtol": 1e-9, "atol": 1e-10}, "guidance": {"q": )" + json(q).dump() + "}"));
    REQUIRE(r.code == 0);
    const json d = r.doc();
    double predicted = 0;
    for (double c : c2) predicted += 0.5 * std::log((c + 80.0 * 80.0) / (c + 0.002 * 0.002));
    predicted += std::sqrt(2.0 * D) * dlogp::normal_quantile(q) * std::log(80.0 / 0.002);
    json starts = json::array();
    for (const auto& res : d["results"]) starts.push_back(res["x_start"]);
    const auto start = exact_log_p(d["spec"], 80.0, starts);
    for (std::size_t j = 0; j < starts.size(); ++j) {
      const json& res = d["results"][j];
      CHECK(std::abs(res["logp_exact"].get<double>() - start[j] - predicted) <= 1e-4);
      CHECK(std::abs(res["logp"].get<double>() - res["logp_exact"].get<double>()) <= 1e-4);
    }
  }
}

TEST_CASE("cli methods: dg-ode reports the eta blow-up of docs/ground-truth.md T2 with exit 3", "[cli][ground-truth]") {
  // Isotropic data c^2 = 1, D = 128, q = 0.7, sigma in [0.01, 80]: 2 k ln(T / sigma_min) = 151 >
  // D, so w = |x|^2 / (c^2 + sigma^2) (~ chi^2_128 / 6401 * 6400 at T, sd 16) reaches 0 for every
  // typical draw: each trajectory must stop with status eta_blowup, no logp, and exit 3.
  json mean = json::array();
  for (int i = 0; i < 128; ++i) mean.push_back(0.0);
  const std::string model =
      R"("model": {"type": "gmm", "weights": [1], "means": [)" + mean.dump() + R"(], "variances": [1]})";
  for (const std::string solver : {R"({"scheme": "heun", "steps": 128, "grid": "edm-rho"})", R"({})"}) {
    INFO(solver);
    const auto r = run_spec_text(spec(model, R"("process": {"type": "edm", "t_min": 0.01}, "method": "dg-ode", "n": 4,
        "seed": 6, "guidance": {"q": 0.7}, "solver": )" + solver));
    CHECK(r.code == 3);
    CHECK(r.err.empty());
    const json d = r.doc();
    REQUIRE(d["results"].size() == 4);
    for (const auto& res : d["results"]) {
      CHECK(res["status"] == "eta_blowup");
      CHECK(res["logp"].is_null());
      CHECK(res["logp_exact"].is_null());
      CHECK(res["x"].size() == 128);
    }
    CHECK(d["summary"]["mean_logp"].is_null());
  }
}

TEST_CASE("cli methods: dg-sde noise is on exactly inside the closed noise window", "[cli][unit]") {
  // Outside the window phi_tilde = 0: the DG-SDE drift is the DG-ODE's, so paths with and
  // without noise agree bit for bit until the first step that starts inside the window, at
  // t_hi itself (the window is closed), and differ from then on.
  const std::string rest = R"("process": {"type": "vp"}, "method": "dg-sde", "n": 3, "seed": 8,
      "solver": {"steps": 10}, "record": {"every": 1}, "guidance": {"q": 0.4)";
  const auto quiet = run_spec_text(spec(gmm2, rest + R"(, "noise": 0})"));
  REQUIRE(quiet.code == 0);
  // The window's top is the grid's 5th time exactly (read back from the record: numbers
  // round-trip), so step 5 -> 6 is the first noisy one.
  const json t5 = quiet.doc()["results"][0]["trajectory"][5]["t"];
  const auto noisy = run_spec_text(spec(gmm2, rest + R"(, "noise": 0.8, "noise_window": [0.2, )" + t5.dump() + "]}"));
  REQUIRE(noisy.code == 0);
  const json qd = quiet.doc(), nd = noisy.doc();
  for (std::size_t j = 0; j < 3; ++j) {
    const json& a = qd["results"][j]["trajectory"];
    const json& b = nd["results"][j]["trajectory"];
    REQUIRE(a.size() == 11);
    REQUIRE(b.size() == 11);
    for (std::size_t k = 0; k < 11; ++k) {
      INFO("step " << k << " t = " << a[k]["t"]);
      if (k <= 5) CHECK(a[k]["x"] == b[k]["x"]);
      else CHECK(a[k]["x"] != b[k]["x"]);
    }
  }
}

TEST_CASE("cli methods: dg-sde keeps the DG-ODE's log p schedule (docs/ground-truth.md T4, small)", "[cli][statistical]") {
  // Gaussian data (D = 64), EDM, projected noise phi_tilde = 0.5 for sigma < 1 ("late") with the
  // Laplacian correction: the exact change of log p follows the DG-ODE prediction up to the
  // O(1) s^T H s term per unit log-SNR that only exact_projection_term removes and the
  // Euler-Maruyama error (T4 at D = 512: 0.1-0.8 of 2300 nats). Here the change is ~500 nats;
  // 1.5 nats is three times T4's worst deviation; without projection T4 is off by 60-350.
  const long D = 64;
  std::vector<double> c2;
  const std::string model = diagonal_gaussian(D, 0.05, 1.05, c2);
  const double q = 0.3;
  for (const char* exact_term : {"false", "true"}) {
    INFO("exact_projection_term " << exact_term);
    const auto r = run_spec_text(spec(model, R"("process": {"type": "edm", "t_min": 0.01}, "method": "dg-sde", "n": 4,
        "seed": 12, "init_logp": "exact", "solver": {"steps": 2000, "grid": "log-snr"},
        "guidance": {"q": 0.3, "noise": 0.5, "noise_window": [0.01, 1], "exact_projection_term": )" +
                                             std::string(exact_term) + "}"));
    REQUIRE(r.code == 0);
    const json d = r.doc();
    double predicted = 0;
    for (double c : c2) predicted += 0.5 * std::log((c + 80.0 * 80.0) / (c + 0.01 * 0.01));
    predicted += std::sqrt(2.0 * D) * dlogp::normal_quantile(q) * std::log(80.0 / 0.01);
    json starts = json::array();
    for (const auto& res : d["results"]) starts.push_back(res["x_start"]);
    const auto start = exact_log_p(d["spec"], 80.0, starts);
    for (std::size_t j = 0; j < starts.size(); ++j) {
      const double change = d["results"][j]["logp_exact"].get<double>() - start[j];
      INFO("change " << change << " predicted " << predicted);
      CHECK(std::abs(change - predicted) <= 1.5);
    }
  }
}

TEST_CASE("cli methods: output is identical with 1 and 2 threads apart from seconds", "[cli][repro]") {
  // More trajectories than one batch (64) so that both threads work.
  for (const std::string rest :
       {R"("method": "hd-ode", "divergence": {"type": "hutchinson"})",
        R"("method": "hd-sampler", "first_phase": "reverse-sde", "solver": {"scheme": "heun", "steps": 40})",
        R"("method": "mode-tracking", "solver": {"scheme": "rk4", "steps": 40})",
        R"("method": "dg-ode", "guidance": {"q": 0.3}, "divergence": {"type": "hutchinson"})",
        R"("method": "dg-sde", "guidance": {"q": 0.3, "noise": 0.5}, "solver": {"steps": 40})"}) {
    INFO(rest);
    const std::string s = spec(gmm2, R"("process": {"type": "vp"}, "n": 150, "seed": 9, "record": {"every": 7}, )" + rest);
    const auto one = run_spec_text(s, {"--threads", "1"});
    const auto two = run_spec_text(s, {"--threads=2"});
    REQUIRE(one.code == 0);
    REQUIRE(two.code == 0);
    CHECK(without_seconds(one.out) == without_seconds(two.out));
  }
}

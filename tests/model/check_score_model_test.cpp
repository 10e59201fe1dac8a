// check_score_model: the exact mixture passes every check, and a model with one wrong member
// fails exactly the checks that compare that member.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <dlogp/model/check_score_model.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/edm.hpp>
#include <dlogp/process/vp.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

using gmm = gaussian_mixture<double, vp_process>;

enum class flaw { none, score_factor, laplacian_sign, hessian_skew, jvp_factor };

/// GMM2 with every optional member check_score_model looks at (score_jvp = H V from the exact
/// Hessian), one of them optionally wrong.
struct mixture_with {
  using scalar_type = double;
  gmm base = test::gmm2<double>();
  flaw bad = flaw::none;

  long dimension() const { return base.dimension(); }
  void score(double t, const matrix<double>& X, matrix<double>& S) const {
    base.score(t, X, S);
    if (bad == flaw::score_factor) S *= 1.1;
  }
  void log_density(double t, const matrix<double>& X, vector<double>& out) const {
    base.log_density(t, X, out);
  }
  void score_and_laplacian(double t, const matrix<double>& X, matrix<double>& S, vector<double>& lap) const {
    base.score_and_laplacian(t, X, S, lap);
    if (bad == flaw::laplacian_sign) lap = -lap;
  }
  void hessian(double t, const vector<double>& x, matrix<double>& H) const {
    base.hessian(t, x, H);
    if (bad == flaw::hessian_skew) {
      H(0, 1) += 0.05;
      H(1, 0) -= 0.05;
    }
  }
  void grad_laplacian(double t, const matrix<double>& X, matrix<double>& G) const {
    base.grad_laplacian(t, X, G);
  }
  void score_jvp(double t, const matrix<double>& X, const matrix<double>& V, matrix<double>& S,
                 matrix<double>& JV) const {
    base.score(t, X, S);
    matrix<double> H;
    for (long j = 0; j < X.cols(); ++j) {
      base.hessian(t, vector<double>(X.col(j)), H);
      JV.col(j) = H * V.col(j);
    }
    if (bad == flaw::jvp_factor) JV *= 2.0;
  }
};

/// Only a score (off by a factor when asked) and the exact log-density.
struct score_and_density {
  using scalar_type = double;
  gmm base = test::gmm2<double>();
  double factor = 1.0;
  long dimension() const { return base.dimension(); }
  void score(double t, const matrix<double>& X, matrix<double>& S) const {
    base.score(t, X, S);
    S *= factor;
  }
  void log_density(double t, const matrix<double>& X, vector<double>& out) const {
    base.log_density(t, X, out);
  }
};

matrix<double> points2() {
  matrix<double> P(2, 4);
  P << 0.1, -1.5, 2.0, 0.0,  //
      0.3, 0.7, -2.2, 0.0;
  return P;
}

const std::vector<std::string> all_checks = {
    "score vs gradient of log_density",           "score_and_laplacian vs divergence of score",
    "hessian vs Jacobian of score",               "hessian symmetry",
    "score_jvp vs directional derivative of score", "grad_laplacian vs gradient of the Laplacian"};

/// Every check present; exactly those in `failing` fail.
void expect_failing(const score_model_report& r, const std::vector<std::string>& failing) {
  INFO(to_string(r));
  REQUIRE(r.checks.size() == all_checks.size());
  for (const auto& name : all_checks) {
    INFO(name);
    const auto* c = r.find(name);
    REQUIRE(c != nullptr);
    const bool should_fail = std::find(failing.begin(), failing.end(), name) != failing.end();
    CHECK(c->passed == !should_fail);
    if (!should_fail) CHECK(c->worst_ratio <= 1.0);
    if (should_fail) CHECK(c->max_abs_error > 1e3 * c->tolerance);  // not a near miss
  }
  CHECK(r.passed() == failing.empty());
}

}  // namespace

TEST_CASE("check_score_model: the exact mixture passes every check", "[unit]") {
  SECTION("GMM2 (D = 2) under VP, every optional member") {
    const auto r = check_score_model(mixture_with{}, vp_process{}, points2());
    expect_failing(r, {});
    CHECK(r.times.size() == 4);
    for (const auto& c : r.checks) {
      // The FD step is cbrt(eps) times the points' scale (2.2 here), except for the symmetry.
      if (c.name != "hessian symmetry") CHECK(c.fd_step == Approx(std::cbrt(2.220446049250313e-16) * 2.2));
      // eps^(2/3) ~ 4e-11 relative to the member's size; the gradient of the Laplacian is ~0
      // at some points, where only the absolute error means anything.
      if (c.name != "grad_laplacian vs gradient of the Laplacian") CHECK(c.max_rel_error < 1e-5);
    }
    CHECK_THAT(to_string(r), Catch::Contains("all checks passed"));
  }
  SECTION("the oracle itself, double and float, VP and EDM") {
    CHECK(check_score_model(test::gmm2<double>(), vp_process{}, points2()).passed());
    CHECK(check_score_model(test::gmm2<float>(), vp_process{}, matrix<float>(points2().cast<float>())).passed());
    const edm_process edm;
    CHECK(check_score_model(test::gmm2<double>(edm), edm, points2()).passed());
    CHECK(check_score_model(test::random_mixture<double>(5, 3, 7), vp_process{},
                            matrix<double>(matrix<double>::Ones(5, 2)))
              .passed());
  }
}

TEST_CASE("check_score_model: a wrong member fails exactly its check", "[unit]") {
  const vp_process p;
  SECTION("a score off by 10%") {
    const auto r = check_score_model(score_and_density{.factor = 1.1}, p, points2());
    REQUIRE(r.checks.size() == 1);
    CHECK_FALSE(r.checks[0].passed);
    CHECK(r.checks[0].max_rel_error == Approx(0.1 / 1.1).epsilon(1e-3));
    CHECK(check_score_model(score_and_density{}, p, points2()).passed());
  }
  SECTION("a Laplacian with a sign error") {
    // grad_laplacian is compared with the Laplacian's differences, so it fails with it.
    expect_failing(check_score_model(mixture_with{.bad = flaw::laplacian_sign}, p, points2()),
                   {"score_and_laplacian vs divergence of score", "grad_laplacian vs gradient of the Laplacian"});
  }
  SECTION("a non-symmetric Hessian") {
    expect_failing(check_score_model(mixture_with{.bad = flaw::hessian_skew}, p, points2()),
                   {"hessian vs Jacobian of score", "hessian symmetry"});
  }
  SECTION("a JVP off by a factor 2") {
    expect_failing(check_score_model(mixture_with{.bad = flaw::jvp_factor}, p, points2()),
                   {"score_jvp vs directional derivative of score"});
  }
}

#include <catch2/catch.hpp>
#include <Eigen/Cholesky>
#include <cmath>
#include <dlogp/dynamics/hd_ode.hpp>
#include <dlogp/dynamics/mode_tracking.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/rk4.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

// The mode cases of docs/ground-truth.md run down to t = 0 exactly.
const vp_process vp0(0.1, 20.0, 0.0, 1.0);

struct mode_case {
  const char* id;
  double xt, t, y0;  // docs/ground-truth.md M1-M7: mode-tracking y_0
};
const mode_case gmm1_cases[] = {
    {"M1", 0.05, 0.3, 0.00443023},  {"M2", 0.15, 0.5, 0.00408931},
    {"M3", -0.50, 0.3, -0.04431385}, {"M4", 0.40, 0.6, 0.00596853},
    {"M5", -1.20, 0.3, -1.99107600}, {"M6", 1.30, 0.3, 2.43866312},
    {"M7", -1.00, 0.5, -0.02727043},
};

// Newton on log p(y | x_t) = log p_0(y) + log N(x_t; alpha_t y, sigma_t^2 I) + const, from y:
// the local mode the mode-tracking ODE must arrive at (quadratic convergence, run to 1e-14).
template <class M>
vector<double> newton_mode(const M& m, double t, const vector<double>& x_t, vector<double> y) {
  const auto post = m.posterior(0.0, t, x_t);
  vector<double> g;
  matrix<double> H;
  for (int it = 0; it < 100; ++it) {
    post.score(y, g);
    post.hessian(y, H);
    const vector<double> step = H.ldlt().solve(g);
    y -= step;
    if (step.norm() < 1e-14) break;
  }
  return y;
}

template <class M>
integration_result<double> track(const M& m, const matrix<double>& X, double t, long steps) {
  return integrate(mode_tracking(m, vp0, t), rk4{}, X, test::exact_log_p(m, t, X), t, 0.0,
                   {.grid = {.steps = steps}});
}

}  // namespace

TEST_CASE("mode_tracking: GMM1 M1-M7 arrive at the Newton mode of p(x_0 | x_t)",
          "[ground-truth]") {
  const auto m = test::gmm1(vp0);
  for (const auto& c : gmm1_cases) {
    matrix<double> X(1, 1);
    X << c.xt;
    // RK4, 4000 steps (the reference of docs/ground-truth.md M1-M7): error O(h^4) with h <= 1.5e-4.
    const auto r = track(m, X, c.t, 4000);
    REQUIRE(r.all_ok());
    const vector<double> y = r.x.col(0);
    const vector<double> mode = newton_mode(m, c.t, X.col(0), y);
    const double exact = test::exact_log_p(m, 0.0, r.x)(0);
    INFO(c.id << ": tracked y0 " << y(0) << " Newton " << mode(0) << " table " << c.y0
              << "; log p tracked " << r.log_p(0) << " exact " << exact);
    CHECK(std::abs(y(0) - mode(0)) <= 1e-6);  // requirement of issue 3
    CHECK(std::abs(y(0) - c.y0) <= 1e-6);
    CHECK(std::abs(mode(0) - c.y0) <= 0.5e-8 + 1e-12);  // the table's "true mode", 8 decimals
    // log p_0(y_0) tracked along the mode curve (docs/notation.md §3.4) to RK4 accuracy.
    CHECK(std::abs(r.log_p(0) - exact) <= 1e-8);
  }
}

TEST_CASE("mode_tracking: M6 follows the local mode, not the global one", "[ground-truth]") {
  const auto m = test::gmm1(vp0);
  matrix<double> X(1, 1);
  X << 1.3;
  const auto r = track(m, X, 0.3, 4000);
  vector<double> start(1);
  start << 0.0;
  const vector<double> global = newton_mode(m, 0.3, X.col(0), start);
  CHECK(std::abs(global(0) - 0.11521131) <= 1e-7);  // docs/ground-truth.md M6: the global mode
  CHECK(std::abs(r.x(0) - 2.43866312) <= 1e-6);
  // The global mode really is higher in p(x_0 | x_t): the ODE stays on its own branch.
  const auto post = m.posterior(0.0, 0.3, X.col(0));
  CHECK(post.log_density(global) > post.log_density(r.x.col(0)));
}

TEST_CASE("mode_tracking: GMM2 cases match docs/ground-truth.md and the Newton mode",
          "[ground-truth]") {
  const auto m = test::gmm2(vp0);
  struct {
    double x1, x2, t, y1, y2;
  } cases[] = {{0.3, 0.2, 0.4, 1.968639, 0.987003}, {-0.8, 0.1, 0.3, -1.812428, 0.085562}};
  for (const auto& c : cases) {
    matrix<double> X(2, 1);
    X << c.x1, c.x2;
    // dopri5 at a tight tolerance (the brief's alternative to RK4 with many steps).
    const auto r = integrate(mode_tracking(m, vp0, c.t), dopri5{}, X,
                             test::exact_log_p(m, c.t, X), c.t, 0.0,
                             {.tolerance = {.rtol = 1e-11, .atol = 1e-12}});
    REQUIRE(r.all_ok());
    const vector<double> y = r.x.col(0);
    const vector<double> mode = newton_mode(m, c.t, X.col(0), y);
    const double exact = test::exact_log_p(m, 0.0, r.x)(0);
    INFO("x_t = (" << c.x1 << ", " << c.x2 << "): y0 = (" << y(0) << ", " << y(1)
                   << ") Newton (" << mode(0) << ", " << mode(1) << "); log p " << r.log_p(0)
                   << " exact " << exact << "; steps " << r.stats[0].steps());
    CHECK((y - mode).cwiseAbs().maxCoeff() <= 1e-6);
    // The table prints 6 decimals: half a unit of the last digit.
    CHECK(std::abs(y(0) - c.y1) <= 0.5e-6 + 1e-10);
    CHECK(std::abs(y(1) - c.y2) <= 0.5e-6 + 1e-10);
    CHECK(std::abs(r.log_p(0) - exact) <= 1e-8);
  }
}

TEST_CASE("mode_tracking: single Gaussian equals the closed form and the HD-ODE",
          "[ground-truth]") {
  matrix<double> mu(1, 1);
  mu << 1.0;
  const auto m = gaussian_mixture<double, vp_process>::isotropic(vp0, {1.0}, mu, {0.25});
  matrix<double> X(1, 1);
  X << 0.7;
  const vector<double> L = test::exact_log_p(m, 0.5, X);
  const integrate_options opt{.tolerance = {.rtol = 1e-12, .atol = 1e-14}};
  const auto half = integrate(mode_tracking(m, vp0, 0.5), dopri5{}, X, L, 0.5, 0.25, opt);
  const auto end = integrate(mode_tracking(m, vp0, 0.5), dopri5{}, X, L, 0.5, 0.0, opt);
  REQUIRE(end.all_ok());
  // docs/ground-truth.md single Gaussian: closed form y_0.25 = 0.8287054326, y_0 = 1.0312968896,
  // log p_0 = -0.2277503432.
  CHECK(std::abs(half.x(0) - 0.8287054326) <= 1e-8);
  CHECK(std::abs(end.x(0) - 1.0312968896) <= 1e-8);
  CHECK(std::abs(end.log_p(0) - (-0.2277503432)) <= 1e-8);
  // grad Lap = 0 for one Gaussian, so the correction vanishes: the same numbers as the HD-ODE.
  const auto hd = integrate(hd_ode(m, vp0), dopri5{}, X, L, 0.5, 0.0, opt);
  CHECK(end.x == hd.x);
  CHECK(end.log_p == hd.log_p);
}

TEST_CASE("mode_tracking: the end point converges at RK4's order", "[convergence]") {
  // Measured in the asymptotic range: the error ratio per halving is still 9.4 from 25 steps,
  // 13.6 from 50 and 15.5 from 200.
  const auto m = test::gmm2(vp0);
  matrix<double> X(2, 1);
  X << 0.3, 0.2;
  const vector<double> ref = track(m, X, 0.4, 4000).x.col(0);
  std::vector<double> steps{100, 200, 400, 800}, err;
  for (double n : steps) err.push_back((track(m, X, 0.4, long(n)).x.col(0) - ref).norm());
  INFO("errors " << err[0] << " " << err[1] << " " << err[2] << " " << err[3]);
  const double order = test::fitted_order(steps, err);
  CHECK(order >= 4 - 0.2);
  CHECK(order <= 4 + 0.2);
}

TEST_CASE("mode_tracking: start at s = t is regular and batches do not matter",
          "[unit][repro]") {
  const auto m = test::gmm2(vp0);
  mode_tracking dyn(m, vp0, 0.4);
  double a, v;
  dyn.posterior_coefficients(0.4, a, v);
  CHECK(a == 1.0);
  CHECK(v == 0.0);
  dyn.posterior_coefficients(0.0, a, v);
  CHECK(a == Approx(vp0.alpha(0.4)));
  CHECK(v == Approx(vp0.sigma2(0.4)));
  matrix<double> X(2, 7);
  m.sample(0.4, 12, 0, X);
  const vector<double> L = test::exact_log_p(m, 0.4, X);
  const auto r1 = integrate(dyn, rk4{}, X, L, 0.4, 0.0, {.grid = {.steps = 80},
                                                         .execution = {.batch_size = 7}});
  const auto r2 = integrate(dyn, rk4{}, X, L, 0.4, 0.0, {.grid = {.steps = 80},
                                                         .execution = {.batch_size = 3}});
  CHECK(r1.x == r2.x);
  CHECK(r1.log_p == r2.log_p);
  CHECK(r1.stats[0].score_evals == 80 * 4 * 3);  // RK4: 4 rates x (score, Hessian, grad Lap)
}

TEST_CASE("mode_tracking: invalid anchors and directions are rejected", "[unit]") {
  const auto m = test::gmm2(vp0);
  CHECK_THROWS_WITH(mode_tracking(m, vp0, 1.5), Catch::Contains("[dlogp.invalid_argument]"));
  matrix<double> X = matrix<double>::Zero(2, 1);
  // Integrating forward from the anchor leaves the posterior's range s <= t.
  CHECK_THROWS_WITH(integrate(mode_tracking(m, vp0, 0.3), rk4{}, X, vector<double>::Zero(1),
                              0.3, 0.5, {.grid = {.steps = 4}}),
                    Catch::Contains("after the anchor time"));
}

#include <catch2/catch.hpp>
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/process/edm.hpp>
#include <dlogp/process/ve.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/euler.hpp>
#include <dlogp/scheme/heun.hpp>
#include <dlogp/scheme/rk4.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

// Encodes X (at t0) to t1 with the PF-ODE and returns the estimate of log p_t0(X):
// exact log p_t1(x_t1) minus the log p change accumulated along the path.
template <class M, class P>
vector<double> encode(const M& m, const P& p, const matrix<double>& X, double t0, double t1,
                      integrate_options opt) {
  const auto r = integrate(pf_ode(m, p), dopri5{}, X, vector<double>::Zero(X.cols()), t0, t1, opt);
  REQUIRE(r.all_ok());
  return test::exact_log_p(m, t1, r.x) - r.log_p;
}

template <class M, class P>
void check_encoding(const M& m, const P& p, std::uint64_t seed) {
  const long n = 6;
  matrix<double> X(m.dimension(), n);
  m.sample(p.t_min(), seed, 0, X);
  integrate_options opt{.tolerance = {.rtol = 1e-10, .atol = 1e-12}};
  const vector<double> est = encode(m, p, X, p.t_min(), p.t_max(), opt);
  const vector<double> exact = test::exact_log_p(m, p.t_min(), X);
  INFO("process " << p.name() << ", D = " << m.dimension());
  // docs/ground-truth.md requirement: |error| <= 1e-6 at rtol 1e-10.
  CHECK((est - exact).cwiseAbs().maxCoeff() <= 1e-6);
}

}  // namespace

TEST_CASE("pf_ode: encoding with dopri5 reproduces the exact log p of the oracle",
          "[ground-truth]") {
  const vp_process vp;
  const ve_process ve;
  const edm_process edm;
  check_encoding(test::gmm1(vp), vp, 1);
  check_encoding(test::gmm2(vp), vp, 2);
  check_encoding(test::gmm1(ve), ve, 3);
  check_encoding(test::gmm2(ve), ve, 4);
  check_encoding(test::gmm1(edm), edm, 5);
  check_encoding(test::gmm2(edm), edm, 6);
  for (long D : {1L, 2L, 5L}) {
    check_encoding(test::random_mixture(D, 3, 10 + D, vp), vp, 7);
    check_encoding(test::random_mixture(D, 3, 20 + D, ve), ve, 8);
    check_encoding(test::random_mixture(D, 3, 30 + D, edm), edm, 9);
  }
}

TEST_CASE("pf_ode: GMM1 point value at t = 0.3 by encoding to T", "[ground-truth]") {
  const vp_process p(0.1, 20.0, 0.3, 1.0);
  const auto m = test::gmm1(p);
  matrix<double> X(1, 1);
  X << 0.5;
  const vector<double> est =
      encode(m, p, X, 0.3, 1.0, {.tolerance = {.rtol = 1e-10, .atol = 1e-12}});
  CHECK(est(0) == Approx(-1.3414216439).margin(1e-6));  // docs/ground-truth.md GMM1 table
}

namespace {
template <class Scheme>
double log_p_error(long steps) {
  const vp_process p(0.1, 20.0, 0.05, 1.0);
  const auto m = test::gmm2(p);
  matrix<double> X(2, 8);
  m.sample(1.0, 42, 0, X);
  const auto r = integrate(pf_ode(m, p), Scheme{}, X, test::exact_log_p(m, 1.0, X), 1.0, 0.05,
                           {.grid = {.steps = steps}});
  return (r.log_p - test::exact_log_p(m, 0.05, r.x)).cwiseAbs().mean();
}
template <class Scheme>
double observed_order(std::vector<double> steps) {
  std::vector<double> err;
  for (double n : steps) err.push_back(log_p_error<Scheme>(long(n)));
  for (std::size_t i = 0; i < err.size(); ++i) INFO("steps " << steps[i] << " error " << err[i]);
  return test::fitted_order(steps, err);
}
}  // namespace

TEST_CASE("pf_ode: log p error converges at the scheme's order", "[convergence]") {
  // The fitted slope of log error vs log steps must be within 0.2 of the order (DESIGN.md),
  // measured in the asymptotic range (RK4 is pre-asymptotic below ~100 steps here).
  CHECK(observed_order<euler>({200, 400, 800, 1600}) >= 1 - 0.2);
  CHECK(observed_order<heun>({50, 100, 200, 400}) >= 2 - 0.2);
  CHECK(observed_order<rk4>({100, 200, 400, 800}) >= 4 - 0.2);
  CHECK(observed_order<euler>({200, 400, 800, 1600}) <= 1 + 0.2);
  CHECK(observed_order<heun>({50, 100, 200, 400}) <= 2 + 0.2);
  CHECK(observed_order<rk4>({100, 200, 400, 800}) <= 4 + 0.2);
}

TEST_CASE("pf_ode: sampling then encoding the same point gives the same log p",
          "[ground-truth]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  matrix<double> X(2, 5);
  m.sample(p.t_max(), 3, 0, X);
  const integrate_options opt{.tolerance = {.rtol = 1e-10, .atol = 1e-12}};
  const auto down = integrate(pf_ode(m, p), dopri5{}, X, test::exact_log_p(m, p.t_max(), X),
                              p.t_max(), p.t_min(), opt);
  REQUIRE(down.all_ok());
  const vector<double> back = encode(m, p, down.x, p.t_min(), p.t_max(), opt);
  // Each run is within ~1e-7 of the exact value at this tolerance, so they agree to 1e-6.
  CHECK((down.log_p - back).cwiseAbs().maxCoeff() <= 1e-6);
}

TEST_CASE("pf_ode: without log p tracking the path of x is unchanged", "[unit]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  matrix<double> X(2, 4);
  m.sample(1.0, 5, 0, X);
  const vector<double> L0 = vector<double>::Zero(4);
  const auto a = integrate(pf_ode(m, p), heun{}, X, L0, 1.0, p.t_min(), {.grid = {.steps = 50}});
  const auto b = integrate(pf_ode(m, p), heun{}, X, L0, 1.0, p.t_min(),
                           {.grid = {.steps = 50}, .track_logp = false});
  CHECK(a.x == b.x);
  CHECK(b.log_p == L0);
}

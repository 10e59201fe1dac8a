// Numerical edge cases, part 3 (issue 7, item 2): the smallest and a large dimension, D = 1
// and D = 512, in double and float: PF-ODE sampling and encoding with the exact divergence
// against the oracle, the augmented reverse SDE against the exact log p, and float against
// double on the same grid.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/vp.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>
#include <dlogp/scheme/heun.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

/// Two diagonal components in dimension D with spread-out variances (0.05 .. 1.05) and means
/// +-0.5 per coordinate: log p ~ -D/2 log(2 pi e c^2), |s|^2 ~ D / c^2.
template <class S>
gaussian_mixture<S, vp_process> diagonal_pair(long D, const vp_process& p) {
  matrix<double> mu(D, 2), diag(D, 2);
  for (long i = 0; i < D; ++i) {
    mu(i, 0) = 0.5;
    mu(i, 1) = -0.5;
    diag(i, 0) = 0.05 + (double(i) + 0.5) / double(D);
    diag(i, 1) = 1.05 - (double(i) + 0.5) / double(D);
  }
  return gaussian_mixture<S, vp_process>::diagonal(p, {0.6, 0.4}, mu, diag);
}

}  // namespace

TEST_CASE("numerics: PF-ODE log p is exact in D = 1 and D = 512 (double, dopri5)", "[ground-truth]") {
  // docs/ground-truth.md requirement at rtol 1e-10: 1e-6 for |log p| ~ 1; dopri5 controls the error
  // relative to |ell|, and |log p| ~ 500 at D = 512, so the bound is 1e-6 (1 + |log p|).
  const vp_process p;
  const integrate_options opt{.tolerance = {.rtol = 1e-10, .atol = 1e-12}};
  for (long D : {1L, 512L}) {
    INFO("D = " << D);
    const auto m = diagonal_pair<double>(D, p);
    const long n = 4;
    matrix<double> XT(D, n), X0(D, n);
    m.sample(p.t_max(), 5, 0, XT);
    m.sample(p.t_min(), 6, 0, X0);
    const auto s = integrate(pf_ode(m, p), dopri5{}, XT, test::exact_log_p(m, p.t_max(), XT), p.t_max(), p.t_min(), opt);
    REQUIRE(s.all_ok());
    const vector<double> exact = test::exact_log_p(m, p.t_min(), s.x);
    for (long j = 0; j < n; ++j) CHECK(std::abs(s.log_p(j) - exact(j)) <= 1e-6 * (1 + std::abs(exact(j))));
    const auto e = integrate(pf_ode(m, p), dopri5{}, X0, vector<double>::Zero(n), p.t_min(), p.t_max(), opt);
    REQUIRE(e.all_ok());
    const vector<double> est = test::exact_log_p(m, p.t_max(), e.x) - e.log_p;
    const vector<double> exact0 = test::exact_log_p(m, p.t_min(), X0);
    for (long j = 0; j < n; ++j) CHECK(std::abs(est(j) - exact0(j)) <= 1e-6 * (1 + std::abs(exact0(j))));
  }
}

TEST_CASE("numerics: float in D = 512 differs from double by rounding only (Heun)", "[unit]") {
  // Same grid and start. Per step the state is rounded once; the rate of ell sums D terms
  // (Laplacian, |s|^2) whose rounding is at most D eps_f of their magnitude, itself ~|d ell|.
  // Over N steps: |ell_f - ell_d| <= N eps_f (1 + |ell|) + N D eps_f max|d ell| h, which the
  // bound below takes as (N + D) eps_f (1 + |ell|) (the total change of ell is ~|ell|).
  constexpr double eps_f = std::numeric_limits<float>::epsilon();
  const vp_process p;
  const long D = 512, N = 200;
  const auto md = diagonal_pair<double>(D, p);
  const auto mf = diagonal_pair<float>(D, p);
  matrix<double> XT(D, 3);
  md.sample(p.t_max(), 5, 0, XT);
  const matrix<float> XTf = XT.cast<float>();
  const vector<float> LTf = test::exact_log_p(mf, p.t_max(), XTf);
  const auto rf =
      integrate(pf_ode(mf, p), heun{}, XTf, LTf, p.t_max(), p.t_min(), {.grid = {.steps = N}});
  const auto rd = integrate(pf_ode(md, p), heun{}, XTf.cast<double>().eval(), LTf.cast<double>().eval(), p.t_max(),
                            p.t_min(), {.grid = {.steps = N}});
  REQUIRE(rf.all_ok());
  REQUIRE(rd.all_ok());
  const double dl = (rf.log_p.cast<double>() - rd.log_p).cwiseAbs().maxCoeff();
  const double dx = (rf.x.cast<double>() - rd.x).cwiseAbs().maxCoeff();
  const double bound_l = double(N + D) * eps_f * (1 + rd.log_p.cwiseAbs().maxCoeff());
  const double bound_x = double(N) * eps_f * (1 + rd.x.cwiseAbs().maxCoeff());
  INFO("|ell_f - ell_d| = " << dl << " (bound " << bound_l << "), |x_f - x_d| = " << dx << " (bound " << bound_x << ")");
  CHECK(dl <= bound_l);
  CHECK(dx <= bound_x);
}

TEST_CASE("numerics: the augmented reverse SDE in D = 1 and D = 512, float against double", "[unit]") {
  // Both types finish every path, and on the same Brownian path (noise keyed by seed and
  // trajectory, drawn in double) they differ by rounding only, bounded as in the Heun case.
  // (The estimator's statistics against the exact log p are in tests/dynamics.)
  constexpr double eps_f = std::numeric_limits<float>::epsilon();
  const vp_process p;
  for (long D : {1L, 512L}) {
    INFO("D = " << D);
    const auto md = diagonal_pair<double>(D, p);
    const auto mf = diagonal_pair<float>(D, p);
    const long n = 16, N = 500;
    matrix<double> XT(D, n);
    md.sample(p.t_max(), 9, 0, XT);
    const matrix<float> XTf = XT.cast<float>();
    const vector<float> LTf = test::exact_log_p(mf, p.t_max(), XTf);
    const integrate_options opt{.seed = 9, .grid = {.steps = N}};
    const auto rf = integrate(reverse_sde(mf, p), euler_maruyama{}, XTf, LTf, p.t_max(), p.t_min(), opt);
    const auto rd = integrate(reverse_sde(md, p), euler_maruyama{}, XTf.cast<double>().eval(), LTf.cast<double>().eval(),
                              p.t_max(), p.t_min(), opt);
    REQUIRE(rf.all_ok());
    REQUIRE(rd.all_ok());
    const double dl = (rf.log_p.cast<double>() - rd.log_p).cwiseAbs().maxCoeff();
    const double dx = (rf.x.cast<double>() - rd.x).cwiseAbs().maxCoeff();
    const double bound_l = double(N + D) * eps_f * (1 + rd.log_p.cwiseAbs().maxCoeff());
    const double bound_x = double(N) * eps_f * (1 + rd.x.cwiseAbs().maxCoeff());
    INFO("|ell_f - ell_d| = " << dl << " (bound " << bound_l << "), |x_f - x_d| = " << dx << " (bound " << bound_x << ")");
    CHECK(dl <= bound_l);
    CHECK(dx <= bound_x);
  }
}

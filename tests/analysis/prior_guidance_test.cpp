#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/analysis/prior_guidance.hpp>
#include <dlogp/core/normal_quantile.hpp>
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/process/edm.hpp>
#include <dlogp/process/prior.hpp>
#include <dlogp/scheme/heun.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

TEST_CASE("chi_quantile: matches 40-digit reference values", "[ground-truth]") {
  // mpmath: sqrt(2 x) with gammainc(D/2, 0, x, regularized) = q, 40 digits.
  struct row {
    long D;
    double q[4];
  };
  const double qs[4] = {0.01, 0.5, 0.9, 0.999};
  const row rows[] = {
      {1, {0.012533469508069263161, 0.6744897501960817432, 1.6448536269514727149,
           3.2905267314918947932}},
      {2, {0.14177683769573534386, 1.177410022515474691, 2.1459660262893472396,
           3.716922188849838447}},
      {3, {0.33886841384100265169, 1.5381722544550523344, 2.5002777108094059071,
           4.0331422236561570223}},
      {10, {1.599441202478917653, 3.0564387390543209513, 3.9983970753422252966,
            5.439512702905878755}},
      {256, {14.363771725737489359, 15.979162770815780049, 16.893568796117087643,
             18.21143581778935032}},
      {3072, {53.782884200627045628, 55.419611682685142387, 56.328245385981616136,
              57.618869299481549534}},
      {196608, {441.76029745710168415, 443.40425497928548002, 444.31075698328876663,
                445.59117037546761815}},
  };
  for (const auto& r : rows)
    for (int i = 0; i < 4; ++i) {
      const double got = chi_quantile(r.D, qs[i]);
      INFO("D = " << r.D << " q = " << qs[i] << " got " << got << " relative error "
                  << (got - r.q[i]) / r.q[i]);
      // A few ulp: the Halley iteration stops at 4 eps relative and P(a, x) is accurate to
      // rounding (observed <= 5.4e-16 relative over this table).
      CHECK(std::abs(got - r.q[i]) <= 4e-15 * r.q[i]);
    }
}

TEST_CASE("chi_quantile: closed forms, inverse of chi_cdf", "[unit]") {
  for (double q : {1e-8, 0.01, 0.3, 0.5, 0.77, 0.99, 0.999999}) {
    // chi_1 is |N(0, 1)|; chi_2 is Rayleigh. The reference's argument 0.5 + 0.5 q is rounded
    // (half an ulp of ~1, 1.1e-16), which moves it by 1.1e-16 / phi(x).
    const double x1 = normal_quantile(0.5 + 0.5 * q);
    const double phi1 = std::exp(-0.5 * x1 * x1) / std::sqrt(2 * std::numbers::pi);
    CHECK(std::abs(chi_quantile(1, q) - x1) <= 1e-14 * x1 + 1.2e-16 / phi1);
    const double r2 = std::sqrt(-2 * std::log1p(-q));
    CHECK(std::abs(chi_quantile(2, q) - r2) <= 1e-14 * r2);
    for (long D : {1L, 5L, 64L, 1000L, 50000L}) {
      const double r = chi_quantile(D, q);
      INFO("D " << D << " q " << q << " r " << r);
      // P(chi_D <= r) = q to the condition of the CDF: |dq| <= f(r) |dr| with dr ~ 1e-15 r.
      CHECK(std::abs(chi_cdf(D, r) - q) <= 1e-13 * std::max(q, 1e-3));
    }
  }
  CHECK(chi_quantile(7, 0.0) == 0.0);
  CHECK(chi_cdf(7, 0.0) == 0.0);
  CHECK_THROWS_WITH(chi_quantile(0, 0.5), Catch::StartsWith("[dlogp.invalid_argument] chi_quantile"));
  CHECK_THROWS_WITH(chi_quantile(3, 1.0), Catch::StartsWith("[dlogp.invalid_argument] chi_quantile"));
}

TEST_CASE("prior_guidance: rescales latents to the chi quantile norm", "[unit]") {
  const edm_process p;
  matrix<double> X(50, 4);
  sample_prior(p, 80.0, 3, 0, X);
  matrix<double> Y = X;
  rescale_to_chi_quantile(Y, 80.0, 0.9);
  const double target = 80.0 * chi_quantile(50, 0.9);
  for (long j = 0; j < 4; ++j) {
    CHECK(std::abs(Y.col(j).norm() - target) <= 1e-13 * target);
    // Direction unchanged.
    CHECK((Y.col(j).normalized() - X.col(j).normalized()).cwiseAbs().maxCoeff() <= 1e-14);
  }
  CHECK_THROWS_WITH(rescale_to_chi_quantile(Y, 80.0, 1.0),
                    Catch::StartsWith("[dlogp.invalid_argument] prior_guidance: q_norm"));
  matrix<double> Z = matrix<double>::Zero(3, 1);
  CHECK_THROWS_WITH(rescale_to_chi_quantile(Z, 1.0, 0.5),
                    Catch::StartsWith("[dlogp.invalid_argument] prior_guidance: column 0"));
}

TEST_CASE("prior_guidance: a larger latent norm lowers log p_0 (score alignment)",
          "[ground-truth]") {
  // Isotropic Gaussian data: SA = |s_T|^2 > 0, so log p_0 falls monotonically with q_norm,
  // and exactly: Psi(x_T) = sqrt(P_0 / P_T) x_T, log p_0 = const - r^2 / (2 P_T) for |x_T| = r.
  const edm_process p(0.002, 80.0);
  const long D = 32;
  const auto m = gaussian_mixture<double, edm_process>::isotropic(p, {1.0}, matrix<double>::Zero(D, 1), {0.7});
  matrix<double> X(D, 3);
  sample_prior(p, 80.0, 9, 0, X);
  const integrate_options opt{.grid = {.steps = 256, .spacing = grid_kind::edm_rho}};
  const integrate_options half{.grid = {.steps = 128, .spacing = grid_kind::edm_rho}};
  double previous = std::numeric_limits<double>::infinity();
  for (double qn : {0.1, 0.5, 0.9}) {
    const auto r = prior_guidance(m, p, heun{}, X, qn, 80.0, 0.002, opt);
    REQUIRE(r.all_ok());
    const vector<double> lp = test::exact_log_p(m, 0.002, r.x);
    const double rr = 80.0 * chi_quantile(D, qn), P0 = 0.7 + 0.002 * 0.002, PT = 0.7 + 6400;
    const double expected = -0.5 * D * std::log(2 * std::numbers::pi * P0) - rr * rr / (2 * PT);
    // Heun's error at N steps, from the N/2 run: e(N) ~ |x(N/2) - x(N)| / 3 (order 2); allow
    // twice that estimate for the end point's log p and for the tracked log p.
    const auto h = prior_guidance(m, p, heun{}, X, qn, 80.0, 0.002, half);
    const vector<double> lph = test::exact_log_p(m, 0.002, h.x);
    INFO("q_norm " << qn << " log p_0 " << lp.transpose() << " expected " << expected
                   << " tracked " << r.log_p.transpose());
    for (long j = 0; j < 3; ++j) {
      CHECK(std::abs(lp(j) - expected) <= 2 * std::abs(lph(j) - lp(j)) / 3);
      CHECK(std::abs(r.log_p(j) - lp(j)) <= 2 * std::abs(h.log_p(j) - r.log_p(j)) / 3 +
                                                2 * std::abs(lph(j) - lp(j)) / 3);
    }
    CHECK(lp.maxCoeff() < previous);
    previous = lp.minCoeff();
    // One call = rescale + PF-ODE from the model's exact log p_T.
    matrix<double> Y = X;
    rescale_to_chi_quantile(Y, 80.0, qn);
    const auto s = integrate(pf_ode(m, p), heun{}, Y, test::exact_log_p(m, 80.0, Y), 80.0, 0.002, opt);
    CHECK(s.x == r.x);
    CHECK(s.log_p == r.log_p);
  }
}

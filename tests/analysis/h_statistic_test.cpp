#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/analysis/h_statistic.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/edm.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

TEST_CASE("h_statistic: isotropic data, mean 0 and sd sigma^2 / (c^2 + sigma^2) (T6)",
          "[statistical]") {
  // x ~ p_sigma = N(0, (c^2 + sigma^2) I): h = sigma^2 (chi^2_D - D) / ((c^2 + sigma^2)
  // sqrt(2D)), mean 0, sd sigma^2 / (c^2 + sigma^2). Bounds: 5 standard errors (the sd's by the
  // delta method from the sample fourth moment).
  const edm_process p(0.002, 80.0);
  const long D = 64, n = 4000;
  const double c2 = 0.5;
  const auto m = gaussian_mixture<double, edm_process>::isotropic(p, {1.0}, matrix<double>::Zero(D, 1), {c2});
  std::uint64_t seed = 17;  // a fresh sample per sigma (the same z would repeat one check)
  for (double sigma : {0.1, 0.7, 3.0}) {
    matrix<double> X(D, n);
    m.sample(sigma, seed++, 0, X);
    const vector<double> h = h_statistic(m, p, sigma, X);
    const auto e = test::summarize(h);
    const double sd = sigma * sigma / (c2 + sigma * sigma);
    INFO("sigma " << sigma << " mean " << e.mean << " +- " << e.mean_se << " sd " << e.rms
                  << " +- " << e.rms_se << " expected sd " << sd);
    CHECK(std::abs(e.mean) <= 5 * e.mean_se);
    CHECK(std::abs(e.rms - sd) <= 5 * e.rms_se);
  }
}

TEST_CASE("h_statistic: mixture data, mean 0 and sd <= 1", "[statistical]") {
  const edm_process p(0.002, 80.0);
  const auto m = test::random_mixture(6, 4, 3, p);
  const long n = 4000;
  std::uint64_t seed = 21;
  for (double sigma : {0.05, 0.5, 5.0}) {
    matrix<double> X(6, n);
    m.sample(sigma, seed++, 0, X);
    const auto e = test::summarize(h_statistic(m, p, sigma, X));
    INFO("sigma " << sigma << " mean " << e.mean << " +- " << e.mean_se << " sd " << e.rms);
    CHECK(std::abs(e.mean) <= 5 * e.mean_se);
    CHECK(e.rms <= 1 + 5 * e.rms_se);
    // Hutchinson adds zero-mean probe noise: still mean 0.
    const auto eh = test::summarize(h_statistic(
        m, p, sigma, X, {.kind = divergence_kind::hutchinson, .probes = 2}, 5));
    CHECK(std::abs(eh.mean) <= 5 * eh.mean_se);
  }
}

TEST_CASE("h_statistic: closed form at one point", "[unit]") {
  // Isotropic Gaussian at sigma = 1, c^2 = 1: h = (|x|^2 / 2 - D) / (2 sqrt(2D)).
  const edm_process p;
  const long D = 3;
  const auto m = gaussian_mixture<double, edm_process>::isotropic(p, {1.0}, matrix<double>::Zero(D, 1), {1.0});
  matrix<double> X(3, 1);
  X << 1.0, -2.0, 0.5;
  const vector<double> h = h_statistic(m, p, 1.0, X);
  const double expected = (X.squaredNorm() / 2 - 3.0) / (2 * std::sqrt(6.0));
  CHECK(std::abs(h(0) - expected) <= 1e-15);
  CHECK_THROWS_WITH(h_statistic(m, p, 1.0, matrix<double>::Zero(2, 1)),
                    Catch::StartsWith("[dlogp.dimension_mismatch] h_statistic"));
}

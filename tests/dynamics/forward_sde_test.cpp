#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/dynamics/forward_sde.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

TEST_CASE("forward_sde: augmented log p tracks the exact value (docs/ground-truth.md S2)",
          "[statistical]") {
  // GMM1, x_0 = 0.2 at t = 0, 2000 steps up to T: RMS 0.18, mean 0.02 over 100 paths.
  const vp_process p(0.1, 20.0, 0.0, 1.0);
  const auto m = test::gmm1(p);
  auto errors = [&](long steps, long paths, std::uint64_t seed) {
    matrix<double> X = matrix<double>::Constant(1, paths, 0.2);
    const vector<double> L0 = test::exact_log_p(m, 0.0, X);
    const auto r = integrate(forward_sde(m, p), euler_maruyama{}, X, L0, 0.0, 1.0,
                             {.seed = seed, .grid = {.steps = steps}});
    REQUIRE(r.all_ok());
    return vector<double>(r.log_p - test::exact_log_p(m, 1.0, r.x));
  };
  const long n = 1000;
  const auto e = test::summarize(errors(2000, n, 5));
  INFO("mean " << e.mean << " rms " << e.rms);
  // The reference RMS 0.18 itself comes from 100 paths (relative s.e. ~ 1/sqrt(200) = 7%).
  CHECK(std::abs(e.rms - 0.18) <= 5 * std::hypot(e.rms_se, 0.18 * 0.07));
  // Mean error: the O(h) bias (docs/ground-truth.md S2: 0.02 at this step) plus 5 standard errors.
  CHECK(std::abs(e.mean) <= 0.02 + 5 * e.mean_se);
  // Strong order 1/2: four times the steps halves the RMS (5 sigma on the ratio).
  const auto e4 = test::summarize(errors(8000, n, 6));
  CHECK(test::rms_ratio_sigmas(e, e4, 2.0) <= 5);
}

#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

// docs/ground-truth.md S1: x_T ~ p_T, ell_T = exact log p_T(x_T), augmented reverse SDE to
// t = 1e-3; the error of ell against the exact log p at the end point, over many paths.
template <class M>
test::error_summary s1_errors(const M& m, long paths, long steps, std::uint64_t seed) {
  const vp_process& p = m.process();
  matrix<double> X(m.dimension(), paths);
  m.sample(p.t_max(), seed, 0, X);
  const auto r = integrate(reverse_sde(m, p), euler_maruyama{}, X,
                           test::exact_log_p(m, p.t_max(), X), p.t_max(), p.t_min(),
                           {.seed = seed, .grid = {.steps = steps}});
  REQUIRE(r.all_ok());
  return test::summarize(r.log_p - test::exact_log_p(m, p.t_min(), r.x));
}

}  // namespace

TEST_CASE("reverse_sde: augmented log p error shrinks like sqrt(h) (docs/ground-truth.md S1)",
          "[statistical]") {
  const auto m = test::gmm1();
  const auto e250 = s1_errors(m, 1000, 250, 11);
  const auto e1000 = s1_errors(m, 1000, 1000, 12);
  const auto e4000 = s1_errors(m, 1000, 4000, 13);
  INFO("RMS " << e250.rms << " / " << e1000.rms << " / " << e4000.rms
              << " (docs/ground-truth.md S1: 0.55 / 0.26 / 0.14 over 100 paths)");
  // Strong order 1/2: RMS halves when the steps are multiplied by 4. The ratio's standard
  // error follows from the two independent RMS standard errors; allow 5 of them.
  CHECK(test::rms_ratio_sigmas(e250, e1000, 2.0) <= 5);
  CHECK(test::rms_ratio_sigmas(e1000, e4000, 2.0) <= 5);
  // The S1 reference RMS values came from 100 paths (relative s.e. ~ 1/sqrt(200) = 7%).
  CHECK(std::abs(e1000.rms - 0.26) <= 5 * std::hypot(e1000.rms_se, 0.26 * 0.07));
  // The mean error is O(h): consistent with zero at 5 sigma at the finest step.
  INFO("mean error at 4000 steps " << e4000.mean << " +- " << e4000.mean_se);
  CHECK(std::abs(e4000.mean) <= 5 * e4000.mean_se);
}

TEST_CASE("reverse_sde: augmented log p on the 2-D mixture (docs/ground-truth.md S1, GMM2)",
          "[statistical]") {
  const auto e = s1_errors(test::gmm2(), 400, 2000, 21);
  INFO("RMS " << e.rms << " +- " << e.rms_se << " mean " << e.mean << " +- " << e.mean_se);
  CHECK(std::abs(e.rms - 0.26) <= 5 * std::hypot(e.rms_se, 0.26 / std::sqrt(120.0)));
  CHECK(std::abs(e.mean) <= 5 * e.mean_se);
}

TEST_CASE("reverse_sde: plain and augmented runs give the same x", "[unit]") {
  const auto m = test::gmm2();
  const auto& p = m.process();
  matrix<double> X(2, 9);
  m.sample(1.0, 4, 0, X);
  const vector<double> L0 = vector<double>::Zero(9);
  const auto a = integrate(reverse_sde(m, p), euler_maruyama{}, X, L0, 1.0, p.t_min(),
                           {.seed = 9, .grid = {.steps = 100}});
  const auto b = integrate(reverse_sde(m, p), euler_maruyama{}, X, L0, 1.0, p.t_min(),
                           {.seed = 9, .grid = {.steps = 100}, .track_logp = false});
  CHECK(a.x == b.x);
  CHECK(a.total_score_evals() == b.total_score_evals());
  CHECK(a.stats[0].score_evals == 100);  // one score call per step, tracked or not
}

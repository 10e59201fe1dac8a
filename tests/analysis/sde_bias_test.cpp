#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/analysis/sde_bias.hpp>
#include <dlogp/core/time_grid.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/model/perturbed_score.hpp>
#include <dlogp/process/vp.hpp>
#include <numbers>
#include <vector>

#include "support/oracle.hpp"
#include "support/perturbed_gaussian.hpp"

using namespace dlogp;

namespace {

using namespace test::perturbed_gaussian;

/// Exact expectations of the Euler-Maruyama estimates on the driver's uniform grid (the model
/// is linear: x_{n+1} = (1 - h (f + g^2 k)) x_n + g sqrt(h) z, E x^2 by recursion).
struct em_expectations {
  double measured, predicted;
};
em_expectations em_expected(const vp_process& p, const variance_ode_gaussian& q, long steps) {
  const auto grid = make_time_grid(p, grid_kind::uniform, p.t_max(), t_lo, steps);
  double m = P(p, p.t_max());  // E x^2, x_T ~ N(0, P_T)
  double ell = -0.5 * std::log(2 * std::numbers::pi * m) - 0.5, pred = 0;
  for (std::size_t i = 0; i + 1 < grid.size(); ++i) {
    const double s = grid[i], h = s - grid[i + 1], k = (1 + delta) / P(p, s);
    const double f = p.f(s), g2 = p.g2(s), c = k - 1 / q.variance(s);
    ell += h * (f + 0.5 * g2 * k * k * m);  // ell += h (f D + g^2 |s|^2 / 2) + noise (mean 0)
    pred += h * 0.5 * g2 * c * c * m;
    m = std::pow(1 - h * (f + g2 * k), 2) * m + g2 * h;
  }
  const double V = q.variance(t_lo);
  const double logq = -0.5 * std::log(2 * std::numbers::pi * V) - m / (2 * V);
  return {ell - logq, pred};
}

/// The continuous-time prediction (1/2) int g^2 (k - 1/V)^2 V dt (docs/ground-truth.md S3: 0.2847),
/// by Simpson on 20000 intervals.
double predicted_continuous(const vp_process& p, const variance_ode_gaussian& q) {
  auto integrand = [&](double s) {
    const double V = q.variance(s), c = (1 + delta) / P(p, s) - 1 / V;
    return 0.5 * p.g2(s) * c * c * V;
  };
  const long n = 20000;
  const double a = t_lo, b = p.t_max(), h = (b - a) / n;
  double sum = integrand(a) + integrand(b);
  for (long i = 1; i < n; ++i) sum += integrand(a + i * h) * (i % 2 ? 4 : 2);
  return sum * h / 3;
}

struct s3_problem {
  vp_process p{0.1, 20.0, t_lo, 1.0};
  gaussian_mixture<double, vp_process> data =
      gaussian_mixture<double, vp_process>::isotropic(p, {1.0}, matrix<double>::Zero(1, 1), {tau2});
  perturbed_score<gaussian_mixture<double, vp_process>> model{data, delta};
  variance_ode_gaussian q{p};

  matrix<double> start(long paths, std::uint64_t seed) const {
    matrix<double> X(1, paths);
    data.sample(p.t_max(), seed, 0, X);  // x_T ~ p_T = q_T
    return X;
  }
};

}  // namespace

TEST_CASE("sde_bias: the S3 reference quantities", "[ground-truth]") {
  const s3_problem s;
  // docs/ground-truth.md S3: V(1e-3) = 0.15630, predicted bias 0.2847.
  CHECK(std::abs(s.q.variance(t_lo) - 0.15630) <= 5e-6);
  const double cont = predicted_continuous(s.p, s.q);
  CHECK(std::abs(cont - 0.2847) <= 5e-5);
  // The Euler-Maruyama expectation tends to it at first order: 0.2938 at 4000 steps (the
  // reference's measured 0.293 +- 0.005), and halving h halves the excess.
  const double e2000 = em_expected(s.p, s.q, 2000).measured;
  const double e4000 = em_expected(s.p, s.q, 4000).measured;
  CHECK(std::abs(e4000 - 0.293) <= 0.005);
  CHECK(std::abs((e2000 - cont) / (e4000 - cont) - 2) <= 0.1);
}

TEST_CASE("sde_bias: measured bias matches the prediction (docs/ground-truth.md S3)", "[statistical]") {
  // 2000 paths x 4000 steps (the reference used 20k paths; see the [.slow] case). The measured
  // mean is compared with the exact expectation of the Euler-Maruyama estimate on this grid
  // (em_expected, 0.2938), which carries the O(h) term; and that with the continuous 0.2847.
  const s3_problem s;
  const long paths = 2000, steps = 4000;
  const auto r = measure_sde_bias(s.model, s.q, s.p, s.start(paths, 31), 1.0, t_lo,
                                  {.seed = 31, .grid = {.steps = steps}});
  REQUIRE(r.measured.paths == paths);
  const auto em = em_expected(s.p, s.q, steps);
  const double cont = predicted_continuous(s.p, s.q);
  INFO("measured " << r.measured.mean << " +- " << r.measured.standard_error << " (EM expectation "
                   << em.measured << "), predicted on the same paths " << r.predicted.mean
                   << " +- " << r.predicted.standard_error << " (EM expectation " << em.predicted
                   << ", continuous " << cont << "), paired difference " << r.difference.mean
                   << " +- " << r.difference.standard_error);
  CHECK(std::abs(r.measured.mean - em.measured) <= 3 * r.measured.standard_error);
  CHECK(std::abs(r.predicted.mean - em.predicted) <= 3 * r.predicted.standard_error);
  CHECK(std::abs(r.difference.mean - (em.measured - em.predicted)) <=
        3 * r.difference.standard_error);
  // Within 3 standard errors of the continuous prediction once the O(h) term of this grid
  // (em.measured - cont = 0.009) is allowed for.
  CHECK(std::abs(r.measured.mean - cont) <= 3 * r.measured.standard_error + (em.measured - cont));
  // The bias is there: the estimate overshoots log q by far more than its error.
  CHECK(r.measured.mean > 10 * r.measured.standard_error);
  // predicted_sde_bias alone gives the same per-path numbers as the paired run (paths keyed
  // by seed and id: the first 100 ids are the same paths).
  const auto alone = predicted_sde_bias(s.model, s.q, s.p, s.start(100, 31), 1.0, t_lo,
                                        {.seed = 31, .grid = {.steps = steps}});
  CHECK(alone.samples == r.integral.head(100));
}

TEST_CASE("sde_bias: S3 with the reference's 20k paths", "[statistical][.slow]") {
  const s3_problem s;
  const long paths = 20000, steps = 4000;
  const auto r = measure_sde_bias(s.model, s.q, s.p, s.start(paths, 51), 1.0, t_lo,
                                  {.seed = 51, .grid = {.steps = steps}});
  const auto em = em_expected(s.p, s.q, steps);
  const double cont = predicted_continuous(s.p, s.q);
  INFO("measured " << r.measured.mean << " +- " << r.measured.standard_error << " EM expectation "
                   << em.measured << " continuous " << cont);
  CHECK(std::abs(r.measured.mean - em.measured) <= 3 * r.measured.standard_error);
  // docs/ground-truth.md S3: 0.293 +- 0.005 with this setup.
  CHECK(std::abs(r.measured.mean - 0.293) <= 3 * std::hypot(r.measured.standard_error, 0.005));
  CHECK(std::abs(r.predicted.mean - em.predicted) <= 3 * r.predicted.standard_error);
}

TEST_CASE("sde_bias: argument errors", "[unit]") {
  const s3_problem s;
  CHECK_THROWS_WITH(measure_sde_bias(s.model, s.q, s.p, s.start(4, 1), t_lo, 1.0),
                    Catch::StartsWith("[dlogp.invalid_argument] measure_sde_bias"));
  CHECK_THROWS_WITH(predicted_sde_bias(s.model, s.q, s.p, s.start(4, 1), t_lo, 1.0),
                    Catch::StartsWith("[dlogp.invalid_argument] predicted_sde_bias"));
}

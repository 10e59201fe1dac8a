#include <Eigen/Cholesky>
#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/process/prior.hpp>
#include <dlogp/sampler/langevin.hpp>
#include <sstream>
#include <vector>

#include "support/gmm2_samples.hpp"
#include "support/oracle.hpp"

using namespace dlogp;

namespace {



}  // namespace

TEST_CASE("langevin: log p error at fixed Langevin time shrinks like the step size",
          "[convergence]") {
  // Exact samples of p_t, Langevin for a total time of 1 with steps a, a/4, a/16. The trapezoid
  // rule's per-move error is O(a^{3/2}) with zero mean at leading order, so over 1/a moves the
  // RMS error is O(a): a ratio of 4 per refinement. Checked as in the reverse-SDE test: the
  // ratio within 5 of its standard errors.
  const auto m = test::gmm2();
  const double t = 0.07;
  const long N = 1000;
  matrix<double> X(2, N);
  m.sample(t, 5, 0, X);
  const vector<double> L = test::exact_log_p(m, t, X);
  std::vector<test::error_summary> e;
  for (double a : {0.01, 0.0025, 0.000625}) {
    const auto r = langevin(m, t, X, L, {.seed = 1, .steps = long(std::lround(1 / a)),
                                         .step_size = a, .execution = {.batch_size = 250}});
    REQUIRE(r.all_ok());
    e.push_back(test::summarize(r.log_p - test::exact_log_p(m, t, r.x)));
  }
  INFO("RMS " << e[0].rms << " / " << e[1].rms << " / " << e[2].rms << ", mean " << e[2].mean
              << " +- " << e[2].mean_se);
  CHECK(test::rms_ratio_sigmas(e[0], e[1], 4.0) <= 5);
  CHECK(test::rms_ratio_sigmas(e[1], e[2], 4.0) <= 5);
  CHECK(e[2].rms < 0.01);
}

TEST_CASE("langevin: from a point mass the samples reach p_t", "[statistical]") {
  // GMM2 at t = 0.3 (components overlap enough to mix). All chains start at the origin;
  // 2000 moves of a = 0.01 (Langevin time 20, many relaxation times of the widest component,
  // variance ~0.9). Unadjusted-Langevin bias: each component's covariance grows by ~a/2 =
  // 0.005, 1/20 of the covariance standard error here.
  const auto m = test::gmm2();
  const double t = 0.3;
  const long N = 2000;
  const matrix<double> X = matrix<double>::Zero(2, N);
  const auto r = langevin(m, t, X, vector<double>::Zero(N),
                          {.seed = 2, .steps = 2000, .step_size = 0.01, .track_logp = false,
                           .execution = {.batch_size = 250}});
  REQUIRE(r.all_ok());
  CHECK(r.stats[0].score_evals == 2000);
  test::check_gmm2_samples(m, t, r.x, "langevin");
}

namespace {
void annealed_samples(long N) {
  // GMM2 sampled from the prior at T = 1 down to t = 0.07 (sigma^2 = 0.05): 20 levels, 1000
  // moves each, a_i = 0.05 sigma(t_i)^2. Biases: unadjusted Langevin adds ~a_L / 2 = 0.0013 to
  // the covariance (< 1/50 of its standard error at N = 1000). The component weights carry an
  // annealing bias (mass redistributed between basins while they separate, O(a / v) at those
  // levels): with 32000 samples it is -0.008 +- 0.003 on component 1 at step_factor 0.1 (500
  // moves per level) and consistent with 0 (|d| < 0.004, se 0.0027) at 0.05 (1000 moves), i.e.
  // below a third of the weight standard error (0.015) at N = 1000. Fewer levels make it
  // visible (5 levels: -0.05 on component 1).
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  matrix<double> X(2, N);
  sample_prior(p, 1.0, 7, 0, X);
  vector<double> L;
  prior_log_density(p, 1.0, X, L);
  const annealed_langevin_options opt{.seed = 3, .levels = 20, .steps_per_level = 1000,
                                      .step_factor = 0.05, .t_end = 0.07, .track_logp = false,
                                      .execution = {.batch_size = 250}};
  const auto r = annealed_langevin(m, p, X, L, opt);
  REQUIRE(r.all_ok());
  CHECK(r.stats[0].score_evals == 20 * 1000);
  test::check_gmm2_samples(m, 0.07, r.x, "annealed langevin");
}
}  // namespace

TEST_CASE("annealed_langevin: samples of GMM2 have the right weights and moments",
          "[statistical]") {
  annealed_samples(1000);
}

TEST_CASE("annealed_langevin: samples of GMM2, many samples", "[statistical][.slow]") {
  annealed_samples(16000);
}

TEST_CASE("annealed_langevin: the ladder is geometric in sigma/alpha, steps proportional to "
          "sigma^2",
          "[unit]") {
  const vp_process p;
  const auto ladder = annealed_langevin_ladder(p, {.levels = 6, .step_factor = 0.3,
                                                   .t_start = 0.9, .t_end = 0.01});
  REQUIRE(ladder.times.size() == 6);
  CHECK(ladder.times.front() == 0.9);
  CHECK(ladder.times.back() == 0.01);
  const double r0 = p.sigma(0.9) / p.alpha(0.9), r5 = p.sigma(0.01) / p.alpha(0.01);
  for (std::size_t i = 0; i < 6; ++i) {
    const double t = ladder.times[i];
    CHECK(p.sigma(t) / p.alpha(t) == Approx(r0 * std::pow(r5 / r0, i / 5.0)).epsilon(1e-10));
    CHECK(ladder.step_sizes[i] == Approx(0.3 * p.sigma2(t)).epsilon(1e-14));
  }
  const auto one = annealed_langevin_ladder(p, {.levels = 1, .t_end = 0.2});
  CHECK(one.times == std::vector<double>{0.2});
}

TEST_CASE("annealed_langevin: log p between levels follows the exact change of p_t",
          "[ground-truth]") {
  // Moves made negligible (a = 1e-12 sigma^2): ell changes only by the quadrature of
  // d/dt log p_t(x) between levels. Gauss-Legendre in log-SNR converges geometrically for this
  // analytic integrand: 8 nodes give < 1e-5 over 9 level gaps (4 nodes: ~1e-3).
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  matrix<double> X(2, 200);
  m.sample(1.0, 5, 0, X);
  auto max_error = [&](int nodes) {
    const auto r = annealed_langevin(m, p, X, test::exact_log_p(m, 1.0, X),
                                     {.seed = 1, .levels = 10, .steps_per_level = 1,
                                      .step_factor = 1e-12, .t_end = 0.07, .level_nodes = nodes});
    REQUIRE(r.all_ok());
    return (r.log_p - test::exact_log_p(m, 0.07, r.x)).cwiseAbs().maxCoeff();
  };
  const double e4 = max_error(4), e8 = max_error(8);
  INFO("max |ell - log p| after 9 level changes: 4 nodes " << e4 << ", 8 nodes " << e8);
  CHECK(e8 < 1e-5);
  CHECK(e4 > 10 * e8);  // the nodes matter: the test would see a wrong weight or sign
}

TEST_CASE("annealed_langevin: log p of the samples is tracked with an error O(step)",
          "[convergence]") {
  // Same Langevin time per level (step_factor x moves fixed), steps 4x smaller: the RMS of
  // ell - log p_{t_end}(x_end) shrinks 4x (first order, as for plain Langevin), checked within 5
  // standard errors of the ratio; level changes are integrated with 8 nodes (error < 1e-5).
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  matrix<double> X(2, 500);
  m.sample(1.0, 8, 0, X);
  const vector<double> L = test::exact_log_p(m, 1.0, X);
  std::vector<test::error_summary> e;
  for (long K : {50L, 200L}) {
    const auto r = annealed_langevin(m, p, X, L,
                                     {.seed = 4, .levels = 10, .steps_per_level = K,
                                      .step_factor = 1.0 / K, .t_end = 0.07, .level_nodes = 8});
    REQUIRE(r.all_ok());
    // 10 levels x (K moves + the final score) + 9 x 8 quadrature nodes (exact Laplacian: 1).
    CHECK(r.stats[0].score_evals == 10 * (K + 1) + 9 * 8);
    e.push_back(test::summarize(r.log_p - test::exact_log_p(m, 0.07, r.x)));
  }
  INFO("ell - log p: RMS " << e[0].rms << " -> " << e[1].rms << ", mean " << e[0].mean
                           << " -> " << e[1].mean);
  CHECK(test::rms_ratio_sigmas(e[0], e[1], 4.0) <= 5);
  CHECK(e[1].rms < 0.02);
}

TEST_CASE("langevin: tracking log p does not change the samples", "[unit]") {
  const auto m = test::gmm2();
  matrix<double> X(2, 7);
  m.sample(0.2, 1, 0, X);
  const vector<double> L = test::exact_log_p(m, 0.2, X);
  const auto a = langevin(m, 0.2, X, L, {.seed = 6, .steps = 50, .step_size = 0.01});
  const auto b = langevin(m, 0.2, X, L,
                          {.seed = 6, .steps = 50, .step_size = 0.01, .track_logp = false});
  CHECK(a.x == b.x);
  CHECK(b.log_p == L);
  CHECK(a.stats[0].score_evals == 51);
  CHECK(b.stats[0].score_evals == 50);
}

TEST_CASE("langevin: float follows double", "[unit]") {
  const auto md = test::gmm2();
  const auto mf = test::gmm2<float>();
  matrix<double> X(2, 6);
  md.sample(0.3, 2, 0, X);
  const langevin_options opt{.seed = 3, .steps = 20, .step_size = 0.01};
  const auto d = langevin(md, 0.3, X, test::exact_log_p(md, 0.3, X), opt);
  const matrix<float> Xf = X.cast<float>();
  const auto f = langevin(mf, 0.3, Xf, test::exact_log_p(mf, 0.3, Xf), opt);
  // The same noise; float rounding (~1e-7 relative) over 20 contracting moves.
  CHECK((f.x.cast<double>() - d.x).cwiseAbs().maxCoeff() <= 1e-5);
  CHECK((f.log_p.cast<double>() - d.log_p).cwiseAbs().maxCoeff() <= 1e-4);
}

TEST_CASE("langevin: results do not depend on batch size or threads", "[repro]") {
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  matrix<double> X(2, 23);
  m.sample(1.0, 1, 0, X);
  const vector<double> L = test::exact_log_p(m, 1.0, X);
  annealed_langevin_options o1{.seed = 6, .levels = 4, .steps_per_level = 20, .t_end = 0.1,
                               .execution = {.batch_size = 23, .threads = 1}};
  annealed_langevin_options o2 = o1;
  o2.execution.batch_size = 3;
  o2.execution.threads = 2;
  const auto a = annealed_langevin(m, p, X, L, o1);
  const auto b = annealed_langevin(m, p, X, L, o2);
  CHECK(a.x == b.x);
  CHECK(a.log_p == b.log_p);
  // A trajectory's noise depends on its id only: the last column alone, with first_id = 22.
  o1.first_id = 22;
  const auto c = annealed_langevin(m, p, matrix<double>(X.rightCols(1)),
                                   vector<double>(L.tail(1)), o1);
  CHECK(c.x.col(0) == a.x.col(22));
  CHECK(c.log_p(0) == a.log_p(22));
}

TEST_CASE("langevin: invalid settings are rejected", "[unit]") {
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  matrix<double> X(2, 2);
  X.setZero();
  const vector<double> L = vector<double>::Zero(2);
  CHECK_THROWS_WITH(langevin(m, 0.3, X, L, {.step_size = -1}),
                    Catch::Contains("[dlogp.invalid_argument] langevin: step_size must be positive"));
  CHECK_THROWS_AS(langevin(m, 0.3, X, vector<double>::Zero(3)), dimension_mismatch);
  CHECK_THROWS_WITH(annealed_langevin(m, p, X, L, {.levels = 0}),
                    Catch::Contains("annealed_langevin: levels must be >= 1"));
  CHECK_THROWS_WITH(annealed_langevin(m, p, X, L, {.t_start = 0.1, .t_end = 0.5}),
                    Catch::Contains("annealed_langevin: need t_start > t_end"));
  CHECK_THROWS_WITH(annealed_langevin(m, p, X, L, {.t_end = 2.0}),
                    Catch::Contains("outside the process range"));
}

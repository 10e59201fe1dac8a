#include <Eigen/Cholesky>
#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/process/prior.hpp>
#include <dlogp/sampler/pc.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>
#include <sstream>
#include <vector>

#include "support/gmm2_samples.hpp"
#include "support/oracle.hpp"

using namespace dlogp;

namespace {


void pc_samples(long N, long steps) {
  // GMM2 from the prior at T = 1 to t_min = 1e-3, one corrector move per step (snr 0.16, pilot
  // of 64). Biases: Euler-Maruyama's weak error is O(h); with 500 steps its effect on the
  // moments, measured by the [.slow] case (4000 samples, 500 vs 2000 steps), is below a third
  // of the standard errors at N = 2000; the corrector (e ~ 0.06 at most) adds an O(e)
  // unadjusted-Langevin bias of ~e/2 to the covariance, 1/10 of its standard error.
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  matrix<double> X(2, N);
  sample_prior(p, 1.0, 7, 0, X);
  vector<double> L;
  prior_log_density(p, 1.0, X, L);
  const auto r = predictor_corrector(m, p, X, L, 1.0, p.t_min(),
                                     {.seed = 3, .grid = {.steps = steps}, .track_logp = false,
                                      .execution = {.batch_size = 250}});
  REQUIRE(r.all_ok());
  CHECK(r.stats[0].score_evals == 2 * steps);
  test::check_gmm2_samples(m, p.t_min(), r.x, "pc, " + std::to_string(steps) + " steps");
}

}  // namespace

TEST_CASE("pc: samples of GMM2 have the right weights and moments", "[statistical]") {
  pc_samples(2000, 500);
}

TEST_CASE("pc: samples of GMM2, more samples and steps", "[statistical][.slow]") {
  pc_samples(16000, 500);
  pc_samples(16000, 2000);
}

TEST_CASE("pc: without corrector moves it is the reverse SDE, bit for bit", "[repro]") {
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  matrix<double> X(2, 9);
  m.sample(1.0, 4, 0, X);
  const vector<double> L = test::exact_log_p(m, 1.0, X);
  const auto a = predictor_corrector(m, p, X, L, 1.0, p.t_min(),
                                     {.seed = 9, .grid = {.steps = 100}, .corrector_steps = 0});
  const auto b = integrate(reverse_sde(m, p), euler_maruyama{}, X, L, 1.0, p.t_min(),
                           {.seed = 9, .grid = {.steps = 100}});
  CHECK(a.x == b.x);
  CHECK(a.log_p == b.log_p);
  CHECK(a.stats[0].score_evals == 100);
  CHECK(a.pilot_score_evals == 0);
}

TEST_CASE("pc: log p error shrinks like sqrt(h) when the corrector steps scale with h",
          "[statistical]") {
  // Corrector steps e_i = 2 h sigma(t_i)^2 (total corrector time fixed as h -> 0): the
  // augmented reverse SDE has strong order 1/2 and each corrector move's trapezoid error is
  // O(e^{3/2}), so the RMS error of ell halves when the steps are multiplied by 4 (as in
  // docs/ground-truth.md S1), checked within 5 standard errors of the ratio.
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  const long N = 500;
  matrix<double> X(2, N);
  m.sample(1.0, 7, 0, X);
  const vector<double> L = test::exact_log_p(m, 1.0, X);
  std::vector<test::error_summary> e;
  for (long S : {250L, 1000L}) {
    const auto t = make_time_grid(p, grid_kind::uniform, 1.0, p.t_min(), S);
    std::vector<double> eps;
    for (long i = 0; i < S; ++i)
      eps.push_back(2.0 * (t[std::size_t(i)] - t[std::size_t(i + 1)]) * p.sigma2(t[std::size_t(i)]));
    const auto r = predictor_corrector(m, p, X, L, 1.0, p.t_min(),
                                       {.seed = 3,
                                        .grid = {.steps = S},
                                        .corrector_step_sizes = eps,
                                        .execution = {.batch_size = 250}});
    REQUIRE(r.all_ok());
    CHECK(r.corrector_step_sizes == eps);
    e.push_back(test::summarize(r.log_p - test::exact_log_p(m, p.t_min(), r.x)));
  }
  INFO("RMS " << e[0].rms << " -> " << e[1].rms);
  CHECK(test::rms_ratio_sigmas(e[0], e[1], 2.0) <= 5);
}

TEST_CASE("pc: the SNR rule's step sizes come from the pilot and are reported", "[unit]") {
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  matrix<double> X(2, 5);
  m.sample(1.0, 4, 0, X);
  const vector<double> L = test::exact_log_p(m, 1.0, X);
  const pc_options opt{.seed = 2, .grid = {.steps = 40}, .corrector_steps = 2, .snr = 0.1,
                       .snr_pilot = 4096};
  const auto a = predictor_corrector(m, p, X, L, 1.0, 0.01, opt);
  REQUIRE(a.all_ok());
  REQUIRE(a.corrector_step_sizes.size() == 80);
  // e = 2 alpha_i (r <|z|> / <|s|>)^2 with alpha_i = (alpha(t_i) / alpha(t_{i+1}))^2. At T the
  // pilot starts from N(0, I) ~ p_T, where s ~ -x, so <|s|> and <|z|> estimate the same number
  // (E|z| for D = 2) with relative standard errors ~0.52 / sqrt(4096): the ratio squared is 1
  // within 5 x 2.3%.
  const auto t = make_time_grid(p, grid_kind::uniform, 1.0, 0.01, 40);
  const double a0 = std::pow(p.alpha(t[0]) / p.alpha(t[1]), 2);
  CHECK(a.corrector_step_sizes.front() == Approx(2 * a0 * 0.01).epsilon(0.12));
  for (double e : a.corrector_step_sizes) CHECK((e > 0 && std::isfinite(e)));
  CHECK(a.stats[0].score_evals == 40 * 3);
  CHECK(a.pilot_score_evals == 4096 * 40 * 3);
  // Passing the reported schedule back skips the pilot and reproduces the run.
  pc_options again = opt;
  again.corrector_step_sizes = a.corrector_step_sizes;
  const auto b = predictor_corrector(m, p, X, L, 1.0, 0.01, again);
  CHECK(b.x == a.x);
  CHECK(b.log_p == a.log_p);
  CHECK(b.pilot_score_evals == 0);
}

TEST_CASE("pc: results do not depend on batch size, threads or the other trajectories",
          "[repro]") {
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  matrix<double> X(2, 21);
  m.sample(1.0, 4, 0, X);
  const vector<double> L = test::exact_log_p(m, 1.0, X);
  pc_options o1{.seed = 5, .grid = {.steps = 30}, .execution = {.batch_size = 21, .threads = 1}};
  pc_options o2 = o1;
  o2.execution.batch_size = 4;
  o2.execution.threads = 2;
  const auto a = predictor_corrector(m, p, X, L, 1.0, 0.05, o1);
  const auto b = predictor_corrector(m, p, X, L, 1.0, 0.05, o2);
  CHECK(a.x == b.x);
  CHECK(a.log_p == b.log_p);
  o1.first_id = 20;
  const auto c = predictor_corrector(m, p, matrix<double>(X.rightCols(1)),
                                     vector<double>(L.tail(1)), 1.0, 0.05, o1);
  CHECK(c.x.col(0) == a.x.col(20));
  CHECK(c.log_p(0) == a.log_p(20));
}

TEST_CASE("pc: invalid settings are rejected", "[unit]") {
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  matrix<double> X(2, 2);
  X.setZero();
  const vector<double> L = vector<double>::Zero(2);
  CHECK_THROWS_WITH(predictor_corrector(m, p, X, L, 0.1, 0.5),
                    Catch::Contains("[dlogp.invalid_argument] pc: need finite t_start > t_end"));
  CHECK_THROWS_WITH(predictor_corrector(m, p, X, L, 1.0, 0.1, {.grid = {.steps = 10},
                                                               .corrector_step_sizes = {0.1}}),
                    Catch::Contains("pc: corrector_step_sizes needs steps * corrector_steps = 10"));
  CHECK_THROWS_WITH(predictor_corrector(m, p, X, L, 1.0, 0.1, {.snr = 0}),
                    Catch::Contains("pc: snr must be positive"));
}

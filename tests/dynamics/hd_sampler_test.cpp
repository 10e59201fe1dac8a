#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/dynamics/hd_ode.hpp>
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/high_density.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/process/prior.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>
#include <dlogp/scheme/rk4.hpp>
#include <limits>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

using mat = matrix<double>;
using vec = vector<double>;

struct start_state {
  mat X;
  vec L;
};

// x_T ~ p_T (exact) with ell_T = exact log p_T(x_T), so only integrator error remains.
template <class M>
start_state exact_start(const M& m, long n, std::uint64_t seed) {
  const double T = m.process().t_max();
  mat X(m.dimension(), n);
  m.sample(T, seed, 0, X);
  return {X, test::exact_log_p(m, T, X)};
}

bool same_stats(const trajectory_stats& a, const trajectory_stats& b) {
  return a.score_evals == b.score_evals && a.steps() == b.steps() && a.accepted == b.accepted &&
         a.rejected == b.rejected && a.t_reached == b.t_reached && a.status == b.status;
}

}  // namespace

TEST_CASE("hd_sampler: threshold = T is the HD-ODE from T", "[unit]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  const auto s = exact_start(m, 6, 1);
  const high_density_options opt{.threshold = p.t_max(),
                                 .second = {.scheme = "rk4", .grid = {.steps = 200}}};
  const auto r = sample_high_density(m, p, s.X, s.L, opt);
  const auto ref =
      integrate(hd_ode(m, p), rk4{}, s.X, s.L, p.t_max(), p.t_min(), {.grid = {.steps = 200}});
  CHECK(r.x == ref.x);
  CHECK(r.log_p == ref.log_p);
  for (std::size_t j = 0; j < 6; ++j) CHECK(same_stats(r.stats[j], ref.stats[j]));
}

TEST_CASE("hd_sampler: threshold = t_min is the plain sampler", "[unit]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  const auto s = exact_start(m, 5, 2);
  const auto pf = sample_high_density(
      m, p, s.X, s.L, {.threshold = p.t_min(),
                       .first = {.scheme = "heun", .grid = {.steps = 100}}});
  const auto pf_ref =
      integrate(pf_ode(m, p), heun{}, s.X, s.L, p.t_max(), p.t_min(), {.grid = {.steps = 100}});
  CHECK(pf.x == pf_ref.x);
  CHECK(pf.log_p == pf_ref.log_p);
  const auto sde = sample_high_density(m, p, s.X, s.L,
                                       {.threshold = p.t_min(),
                                        .first_phase = first_phase_kind::reverse_sde,
                                        .first = {.grid = {.steps = 300}},
                                        .seed = 9});
  const auto sde_ref = integrate(reverse_sde(m, p), euler_maruyama{}, s.X, s.L, p.t_max(),
                                 p.t_min(), {.seed = 9, .grid = {.steps = 300}});
  CHECK(sde.x == sde_ref.x);
  CHECK(sde.log_p == sde_ref.log_p);
}

TEST_CASE("hd_sampler: PF-ODE then HD-ODE tracks the exact log p to solver accuracy",
          "[ground-truth]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  const auto s = exact_start(m, 8, 3);
  const phase_options tight{.scheme = "dopri5", .tolerance = {.rtol = 1e-10, .atol = 1e-12}};
  for (double thr : {0.7, 0.3, 0.1}) {
    const auto r = sample_high_density(
        m, p, s.X, s.L, {.threshold = thr, .first = tight, .second = tight});
    REQUIRE(r.all_ok());
    const vec err = r.log_p - test::exact_log_p(m, p.t_min(), r.x);
    INFO("threshold " << thr << ": max |ell - log p_0(x_0)| " << err.cwiseAbs().maxCoeff());
    // dopri5 at rtol 1e-10 in both phases: each within ~1e-7 (as pf_ode's encoding check).
    CHECK(err.cwiseAbs().maxCoeff() <= 1e-6);
    // One call = the two phases run by hand, stats summed.
    const integrate_options o{.tolerance = {.rtol = 1e-10, .atol = 1e-12}};
    const auto a = integrate(pf_ode(m, p), dopri5{}, s.X, s.L, p.t_max(), thr, o);
    const auto b = integrate(hd_ode(m, p), dopri5{}, a.x, a.log_p, thr, p.t_min(), o);
    CHECK(r.x == b.x);
    CHECK(r.log_p == b.log_p);
    for (std::size_t j = 0; j < 8; ++j) {
      CHECK(r.stats[j].score_evals == a.stats[j].score_evals + b.stats[j].score_evals);
      CHECK(r.stats[j].steps() == a.stats[j].steps() + b.stats[j].steps());
      CHECK(r.stats[j].rejected == a.stats[j].rejected + b.stats[j].rejected);
      CHECK(r.stats[j].t_reached == p.t_min());
    }
  }
}

TEST_CASE("hd_sampler: reverse-SDE then HD-ODE tracks the exact log p statistically",
          "[statistical]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  const auto run = [&](long steps, std::uint64_t seed) {
    const auto s = exact_start(m, 400, seed);
    const auto r = sample_high_density(
        m, p, s.X, s.L,
        {.threshold = 0.3,
         .first_phase = first_phase_kind::reverse_sde,
         .first = {.grid = {.steps = steps}},
         .second = {.scheme = "rk4", .grid = {.steps = 400}},
         .seed = seed});
    REQUIRE(r.all_ok());
    return test::summarize(r.log_p - test::exact_log_p(m, p.t_min(), r.x));
  };
  const auto coarse = run(250, 41), fine = run(1000, 42);
  INFO("RMS " << coarse.rms << " -> " << fine.rms << "; mean " << coarse.mean << " +- "
              << coarse.mean_se << " -> " << fine.mean << " +- " << fine.mean_se);
  // The SDE phase dominates the error (the HD phase with RK4 is accurate to ~1e-6), so it
  // converges with strong order 1/2: the RMS halves for 4x the steps (5 standard errors)...
  CHECK(test::rms_ratio_sigmas(coarse, fine, 2.0) <= 5);
  // ... and the mean is consistent with 0 (5 standard errors).
  CHECK(std::abs(fine.mean) <= 5 * fine.mean_se);
}

TEST_CASE("hd_sampler: HD points are denser than PF-ODE samples", "[unit]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  const auto s = exact_start(m, 64, 5);
  const phase_options ph{.scheme = "rk4", .grid = {.steps = 300}};
  const auto pf = sample_high_density(m, p, s.X, s.L, {.threshold = p.t_min(), .first = ph});
  const auto hd = sample_high_density(m, p, s.X, s.L, {.threshold = 0.5, .first = ph, .second = ph});
  const vec gain = test::exact_log_p(m, p.t_min(), hd.x) - test::exact_log_p(m, p.t_min(), pf.x);
  const auto g = test::summarize(gain);
  INFO("mean log p_0 gain " << g.mean << " +- " << g.mean_se << ", min " << gain.minCoeff());
  // Same x_T, same first phase down to 0.5: the HD-ODE must raise log p_0 on average,
  // significantly (5 standard errors).
  CHECK(g.mean > 5 * g.mean_se);
}

TEST_CASE("hd_sampler: the prior overload samples x_T from N(0, sigma_T^2 I)", "[unit]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  const high_density_options opt{.threshold = 0.4,
                                 .first = {.grid = {.steps = 50}},
                                 .second = {.grid = {.steps = 50}},
                                 .seed = 12,
                                 .first_id = 100};
  const auto r = sample_high_density(m, p, 5, opt);
  mat X(2, 5);
  sample_prior(p, p.t_max(), 12, 100, X);
  vec L;
  prior_log_density(p, p.t_max(), X, L);
  const auto ref = sample_high_density(m, p, X, L, opt);
  CHECK(r.x == ref.x);
  CHECK(r.log_p == ref.log_p);
}

namespace {
/// The oracle, except that its score is NaN where x_0 > 50 during the first phase (t > 0.5).
struct faulty_model {
  using scalar_type = double;
  const gaussian_mixture<double, vp_process>* m;
  long dimension() const { return 2; }
  void poison(double t, const mat& X, mat& S) const {
    for (long j = 0; j < X.cols(); ++j)
      if (t > 0.5 && X(0, j) > 50) S.col(j).setConstant(std::numeric_limits<double>::quiet_NaN());
  }
  void score(double t, const mat& X, mat& S) const {
    m->score(t, X, S);
    poison(t, X, S);
  }
  void score_and_laplacian(double t, const mat& X, mat& S, vec& lap) const {
    m->score_and_laplacian(t, X, S, lap);
    poison(t, X, S);
  }
};
}  // namespace

TEST_CASE("hd_sampler: a trajectory failing in the first phase keeps its state and status",
          "[unit]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  const faulty_model bad{&m};
  auto s = exact_start(m, 6, 7);
  s.X(0, 2) = 100.0;
  const high_density_options opt{.threshold = 0.5,
                                 .first = {.grid = {.steps = 40}},
                                 .second = {.grid = {.steps = 40}},
                                 .execution = {.batch_size = 4}};
  const auto r = sample_high_density(bad, p, s.X, s.L, opt);
  const auto clean = sample_high_density(m, p, s.X, s.L, opt);
  CHECK(r.stats[2].status == status::non_finite);
  CHECK(r.stats[2].t_reached == p.t_max());
  CHECK(r.x.col(2) == s.X.col(2));
  for (long j : {0L, 1L, 3L, 4L, 5L}) {
    CHECK(r.stats[std::size_t(j)].status == status::ok);
    CHECK(r.x.col(j) == clean.x.col(j));  // ids, and so results, unchanged by the failure
    CHECK(r.log_p(j) == clean.log_p(j));
  }
}

TEST_CASE("hd_sampler: observers see both phases", "[unit]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  const auto s = exact_start(m, 3, 8);
  long calls = 0, at_threshold = 0;
  const auto r = sample_high_density(
      m, p, s.X, s.L, {.threshold = 0.5, .first = {.grid = {.steps = 10}},
                       .second = {.grid = {.steps = 20}}},
      [&](const step_view<double>& v) {
        ++calls;
        if (v.t == 0.5) ++at_threshold;
      });
  CHECK(r.all_ok());
  CHECK(calls == (10 + 1) + (20 + 1));  // one chunk: start + every step, per phase
  CHECK(at_threshold == 2);             // end of phase 1 and start of phase 2
}

TEST_CASE("hd_sampler: invalid thresholds are rejected", "[unit]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  const auto s = exact_start(m, 2, 9);
  CHECK_THROWS_WITH(sample_high_density(m, p, s.X, s.L, {}),
                    Catch::Contains("[dlogp.invalid_argument]") &&
                        Catch::Contains("threshold must be set"));
  CHECK_THROWS_WITH(sample_high_density(m, p, s.X, s.L, {.threshold = 1.5}),
                    Catch::Contains("outside [t_end, t_start]"));
  CHECK_THROWS_WITH(sample_high_density(m, p, mat::Zero(3, 2), s.L, {.threshold = 1.0}),
                    Catch::Contains("[dlogp.dimension_mismatch]"));
}

#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>
#include <string>
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/process/edm.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/dpm_solver.hpp>
#include <dlogp/scheme/heun.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

// GMM2 under VP, sampled with the PF-ODE from T = 1 to t_min = 1e-3; 16 start points from the
// exact p_T. The reference end point is dopri5 at rtol 1e-11 (its own error, measured by its log p
// against the oracle, is ~1e-11, far below every error measured here).
struct pf_case {
  vp_process p{};
  gaussian_mixture<double, vp_process> m = test::gmm2(p);
  matrix<double> x_T;
  vector<double> log_p_T;
  matrix<double> x_ref;
  vector<double> log_p_ref;

  explicit pf_case(long n = 16) : x_T(2, n) {
    m.sample(p.t_max(), 42, 0, x_T);
    log_p_T = test::exact_log_p(m, p.t_max(), x_T);
    const auto r = integrate(pf_ode(m, p), dopri5{}, x_T, log_p_T, p.t_max(), p.t_min(),
                             {.tolerance = {.rtol = 1e-11, .atol = 1e-13}});
    REQUIRE(r.all_ok());
    x_ref = r.x;
    log_p_ref = r.log_p;
  }

  struct errors {
    double x, log_p, log_p_exact;
    long evals;
  };
  // Mean end-point errors of x and of log p against the reference, of log p against the oracle's
  // exact log p at the solver's own end point, and the score evaluations per trajectory.
  template <class Scheme>
  errors run(long steps, grid_kind grid = grid_kind::log_snr) const {
    const auto r = integrate(pf_ode(m, p), Scheme{}, x_T, log_p_T, p.t_max(), p.t_min(),
                             {.grid = {.steps = steps, .spacing = grid}});
    REQUIRE(r.all_ok());
    const double ex = (r.x - x_ref).colwise().norm().mean();
    const double el = (r.log_p - log_p_ref).cwiseAbs().mean();
    const double ee = (r.log_p - test::exact_log_p(m, p.t_min(), r.x)).cwiseAbs().mean();
    return {ex, el, ee, r.stats[0].score_evals};
  }
};

template <class Scheme>
void check_order(const pf_case& c, std::vector<long> steps) {
  std::vector<double> evals, ex, el, ee;
  std::ostringstream log;
  for (long n : steps) {
    const auto e = c.run<Scheme>(n);
    evals.push_back(double(e.evals));
    ex.push_back(e.x);
    el.push_back(e.log_p);
    ee.push_back(e.log_p_exact);
    log << "\n  evals " << e.evals << ": x error " << e.x << ", log p error " << e.log_p
        << ", vs exact log p at own end point " << e.log_p_exact;
  }
  const double ox = test::fitted_order(evals, ex), ol = test::fitted_order(evals, el),
               oe = test::fitted_order(evals, ee);
  INFO(Scheme::name << " (" << to_string(Scheme::prediction) << " prediction): fitted order x "
                    << ox << ", log p " << ol << ", log p vs exact " << oe << log.str());
  // DESIGN.md: fitted slope of log error vs log evaluations within 0.2 of the order, in the
  // asymptotic range (third-order variants need >= ~60 steps on this problem). Both components
  // of the solution (x, ell) are checked against the reference.
  CHECK(std::abs(ox - Scheme::order) <= 0.2);
  CHECK(std::abs(ol - Scheme::order) <= 0.2);
  // ell - log p_0(x_end) combines the errors of ell and of x (through the score), which can
  // partly cancel (3M shows ~h^4 here), so only a lower bound holds for it.
  CHECK(oe >= Scheme::order - 0.2);
}

}  // namespace

TEST_CASE("dpm_solver: DDIM, DPM-Solver-2 and -3 converge at their order", "[convergence]") {
  const pf_case c;
  const std::vector<long> one = {40, 80, 160, 320}, two = {80, 160, 320, 640},
                          three_s = {56, 112, 224, 448}, three_m = {160, 320, 640, 1280};
  using P = dpm_prediction;
  using K = dpm_method;
  check_order<ddim>(c, one);
  check_order<dpm_solver<1, P::data>>(c, one);
  check_order<dpm_solver<2, P::noise, K::singlestep>>(c, {40, 80, 160, 320});
  check_order<dpm_solver<2, P::data, K::singlestep>>(c, {40, 80, 160, 320});
  check_order<dpm_solver<2, P::noise, K::multistep>>(c, two);
  check_order<dpm_solver<2, P::data, K::multistep>>(c, two);
  check_order<dpm_solver<3, P::noise, K::singlestep>>(c, three_s);
  check_order<dpm_solver<3, P::data, K::singlestep>>(c, three_s);
  check_order<dpm_solver<3, P::noise, K::multistep>>(c, three_m);
  check_order<dpm_solver<3, P::data, K::multistep>>(c, three_m);
}

TEST_CASE("dpm_solver: at 20 score evaluations DPM-Solver beats Heun on the PF-ODE end point",
          "[convergence]") {
  const pf_case c(32);
  using P = dpm_prediction;
  using K = dpm_method;
  // Heun at 10 steps = 20 evaluations, on each grid it might be run with.
  const double heun_lsnr = c.run<heun>(10, grid_kind::log_snr).x;
  const double heun_unif = c.run<heun>(10, grid_kind::uniform).x;
  const double heun_edm = c.run<heun>(10, grid_kind::edm_rho).x;
  const double best_heun = std::min({heun_lsnr, heun_unif, heun_edm});
  const auto s2n = c.run<dpm_solver<2, P::noise, K::singlestep>>(10);
  const auto s2d = c.run<dpm_solver<2, P::data, K::singlestep>>(10);
  const auto m2n = c.run<dpm_solver<2, P::noise, K::multistep>>(20);
  const auto m2d = c.run<dpm_solver<2, P::data, K::multistep>>(20);
  const auto m3n = c.run<dpm_solver<3, P::noise, K::multistep>>(19);
  const auto m3d = c.run<dpm_solver<3, P::data, K::multistep>>(19);
  INFO("Heun x error: log-snr " << heun_lsnr << ", uniform " << heun_unif << ", edm-rho "
                                << heun_edm);
  INFO("DPM (log-snr grid) x error: 2S noise " << s2n.x << ", 2S data " << s2d.x << ", 2M noise "
                                               << m2n.x << ", 2M data " << m2d.x << ", 3M noise "
                                               << m3n.x << ", 3M data " << m3d.x);
  for (const auto& e : {s2n, s2d, m2n, m2d, m3n, m3d}) REQUIRE(e.evals == 20);
  // Every second-order variant beats Heun on the same (log-SNR) grid ...
  for (const auto& e : {s2n, s2d, m2n, m2d}) CHECK(e.x < heun_lsnr);
  // ... and DPM-Solver-3 (multistep, both forms) beats Heun on its best grid.
  CHECK(m3n.x < best_heun);
  CHECK(m3d.x < best_heun);
}

TEST_CASE("dpm_solver: score evaluations per step", "[unit]") {
  const pf_case c(2);
  using P = dpm_prediction;
  using K = dpm_method;
  CHECK(c.run<ddim>(12).evals == 12);
  CHECK(c.run<dpm_solver<2, P::noise, K::singlestep>>(12).evals == 24);
  CHECK(c.run<dpm_solver<3, P::data, K::singlestep>>(12).evals == 36);
  CHECK(c.run<dpm_solver<2, P::data, K::multistep>>(12).evals == 12);
  CHECK(c.run<dpm_solver<3, P::noise, K::multistep>>(12).evals == 13);  // 2S warm-up step
}

TEST_CASE("dpm_solver: DDIM noise and data forms are the same method", "[unit]") {
  const pf_case c(8);
  const auto a = integrate(pf_ode(c.m, c.p), ddim{}, c.x_T, c.log_p_T, 1.0, c.p.t_min(),
                           {.grid = {.steps = 15, .spacing = grid_kind::log_snr}});
  const auto b = integrate(pf_ode(c.m, c.p), dpm_solver<1, dpm_prediction::data>{}, c.x_T,
                           c.log_p_T, 1.0, c.p.t_min(),
                           {.grid = {.steps = 15, .spacing = grid_kind::log_snr}});
  // Algebraically identical updates: they differ by rounding only (values are O(1)).
  CHECK((a.x - b.x).cwiseAbs().maxCoeff() <= 1e-12);
  CHECK((a.log_p - b.log_p).cwiseAbs().maxCoeff() <= 1e-12);
}

TEST_CASE("dpm_solver: encoding data reproduces the exact log p at the solver's order",
          "[convergence]") {
  // Encoding runs t_min -> T (h < 0 in every formula). log p_tmin(x) = exact log p_T(x_T) minus
  // the accumulated change, as in the pf_ode tests.
  const edm_process p(0.01, 80.0);
  const auto m = test::gmm2(p);
  matrix<double> X(2, 8);
  m.sample(p.t_min(), 7, 0, X);
  const vector<double> exact = test::exact_log_p(m, p.t_min(), X);
  auto error = [&](long steps) {
    const auto r = integrate(pf_ode(m, p), dpm_solver_3{}, X, vector<double>::Zero(8), p.t_min(),
                             p.t_max(), {.grid = {.steps = steps, .spacing = grid_kind::log_snr}});
    REQUIRE(r.all_ok());
    return (test::exact_log_p(m, p.t_max(), r.x) - r.log_p - exact).cwiseAbs().mean();
  };
  std::vector<double> steps = {100, 200, 400}, err;
  for (double n : steps) err.push_back(error(long(n)));
  INFO("encoding log p error " << err[0] << " / " << err[1] << " / " << err[2]);
  CHECK(err[2] <= 1e-4);
  CHECK(std::abs(test::fitted_order(steps, err) - 3) <= 0.2);
}

TEST_CASE("dpm_solver: float works and follows double", "[unit]") {
  const vp_process p;
  const auto md = test::gmm2(p);
  const auto mf = test::gmm2<float>(p);
  matrix<double> X(2, 4);
  md.sample(1.0, 3, 0, X);
  const matrix<float> Xf = X.cast<float>();
  const auto rd = integrate(pf_ode(md, p), dpm_solver_2{}, X, test::exact_log_p(md, 1.0, X), 1.0,
                            p.t_min(), {.grid = {.steps = 30, .spacing = grid_kind::log_snr}});
  const auto rf = integrate(pf_ode(mf, p), dpm_solver_2{}, Xf, test::exact_log_p(mf, 1.0, Xf),
                            1.0, p.t_min(), {.grid = {.steps = 30, .spacing = grid_kind::log_snr}});
  REQUIRE(rf.all_ok());
  // Float rounding (~1e-7 relative) amplified by at most the ODE's growth: 1e-4 is generous
  // yet far below the discretisation error of 30 steps, so a wrong float path would show.
  CHECK((rf.x.cast<double>() - rd.x).cwiseAbs().maxCoeff() <= 1e-4);
  CHECK((rf.log_p.cast<double>() - rd.log_p).cwiseAbs().maxCoeff() <= 1e-3);
}

TEST_CASE("dpm_solver: results do not depend on batch size or threads", "[repro]") {
  const pf_case c(13);
  const integrate_options base{.grid = {.steps = 25, .spacing = grid_kind::log_snr},
                               .execution = {.batch_size = 13, .threads = 1}};
  integrate_options other = base;
  other.execution.batch_size = 4;
  other.execution.threads = 2;
  const auto a = integrate(pf_ode(c.m, c.p), dpm_solver_3{}, c.x_T, c.log_p_T, 1.0, c.p.t_min(),
                           base);
  const auto b = integrate(pf_ode(c.m, c.p), dpm_solver_3{}, c.x_T, c.log_p_T, 1.0, c.p.t_min(),
                           other);
  CHECK(a.x == b.x);
  CHECK(a.log_p == b.log_p);
}

TEST_CASE("dpm_solver: a grid point with infinite log-SNR is rejected", "[unit]") {
  const vp_process p(0.1, 20.0, 0.0, 1.0);  // sigma(0) = 0
  const auto m = test::gmm2(p);
  matrix<double> X(2, 2);
  m.sample(1.0, 1, 0, X);
  CHECK_THROWS_WITH(integrate(pf_ode(m, p), dpm_solver_2{}, X, vector<double>::Zero(2), 1.0, 0.0,
                              {.grid = {.steps = 10}}),
                    Catch::Contains("[dlogp.invalid_argument] dpm_solver: log-SNR is not finite"));
}

TEST_CASE("dpm_solver: scheme names", "[unit]") {
  CHECK(std::string(ddim::name) == "ddim");
  CHECK(std::string(dpm_solver_2::name) == "dpm-solver++-2m");
  CHECK(std::string(dpm_solver<3, dpm_prediction::noise, dpm_method::singlestep>::name) ==
        "dpm-solver-3s");
}

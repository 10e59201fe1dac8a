#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/divergence/divergence.hpp>
#include <dlogp/dynamics/forward_sde.hpp>
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>
#include <dlogp/scheme/heun.hpp>
#include <dlogp/scheme/rk4.hpp>
#include <limits>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

// Score of N(0, I) everywhere, except NaN where x_0 > 2: only those trajectories must fail.
struct poisoned_model {
  using scalar_type = double;
  long dimension() const { return 2; }
  void score(double, const matrix<double>& X, matrix<double>& S) const {
    S = -X;
    for (long j = 0; j < X.cols(); ++j)
      if (X(0, j) > 2.0) S.col(j).setConstant(std::numeric_limits<double>::quiet_NaN());
  }
};

// dx/dt = -k x (k per coordinate), d ell/dt = 1: exact solution for scheme checks.
struct linear_dynamics {
  using scalar_type = double;
  vp_process p{0.1, 20.0, 0.0, 1.0};
  double k = 3.0;
  long dimension() const { return 1; }
  const vp_process& process() const { return p; }
  long rate(const batch_context&, double t, const matrix<double>& X, matrix<double>& dX,
            vector<double>& dL) {
    dX = -k * X;
    dL.setConstant(X.cols(), std::cos(t));
    return 1;
  }
};

template <class Scheme, class Dyn>
integration_result<double> run_batches(const Dyn& dyn, const matrix<double>& X,
                                       const vector<double>& L, double t0, double t1,
                                       integrate_options opt) {
  return integrate(dyn, Scheme{}, X, L, t0, t1, opt);
}

}  // namespace

TEST_CASE("integrate: results are bit-identical across batch sizes and threads", "[repro]") {
  const auto m = test::gmm2();
  const auto& p = m.process();
  matrix<double> X(2, 64);
  m.sample(1.0, 17, 0, X);
  const vector<double> L = test::exact_log_p(m, 1.0, X);
  const divergence_options hutch{.kind = divergence_kind::hutchinson, .probes = 2};

  auto same = [](const integration_result<double>& a, const integration_result<double>& b) {
    CHECK(a.x == b.x);  // exact equality of every bit
    CHECK(a.log_p == b.log_p);
  };
  for (int threads : {1, 2}) {
    for (long bs : {1L, 7L, 64L}) {
      INFO("threads " << threads << " batch " << bs);
      const integrate_options base{.seed = 3, .grid = {.steps = 40},
                                   .execution = {.batch_size = 64, .threads = 1}};
      integrate_options o = base;
      o.execution.batch_size = bs;
      o.execution.threads = threads;
      same(run_batches<euler_maruyama>(reverse_sde(m, p), X, L, 1.0, p.t_min(), base),
           run_batches<euler_maruyama>(reverse_sde(m, p), X, L, 1.0, p.t_min(), o));
      same(run_batches<heun>(pf_ode(m, p, hutch), X, L, 1.0, p.t_min(), base),
           run_batches<heun>(pf_ode(m, p, hutch), X, L, 1.0, p.t_min(), o));
      same(run_batches<dopri5>(pf_ode(m, p), X, L, 1.0, p.t_min(), base),
           run_batches<dopri5>(pf_ode(m, p), X, L, 1.0, p.t_min(), o));
    }
  }
}

TEST_CASE("integrate: a trajectory run alone equals the same trajectory in a batch",
          "[repro]") {
  const auto m = test::gmm1();
  const auto& p = m.process();
  matrix<double> X(1, 10);
  m.sample(1.0, 2, 0, X);
  const vector<double> L = test::exact_log_p(m, 1.0, X);
  const auto all = integrate(reverse_sde(m, p), euler_maruyama{}, X, L, 1.0, p.t_min(),
                             {.seed = 8, .grid = {.steps = 30}});
  // Trajectory 6 alone: same id, so the same Brownian increments.
  const auto one = integrate(reverse_sde(m, p), euler_maruyama{}, matrix<double>(X.col(6)),
                             vector<double>(L.segment(6, 1)), 1.0, p.t_min(),
                             {.seed = 8, .grid = {.steps = 30}, .first_id = 6});
  CHECK(one.x(0, 0) == all.x(0, 6));
  CHECK(one.log_p(0) == all.log_p(6));
}

TEST_CASE("integrate: a non-finite score marks only its own trajectories", "[unit]") {
  const poisoned_model m;
  const vp_process p;
  matrix<double> X(2, 4);
  X << 0.0, 3.0, -1.0, 5.0,  //
      0.0, 0.0, 1.0, 1.0;
  const vector<double> L = vector<double>::Zero(4);
  for (int which = 0; which < 2; ++which) {
    const auto r = which == 0
                       ? integrate(pf_ode(m, p), heun{}, X, L, 1.0, 0.5, {.grid = {.steps = 10}})
                       : integrate(pf_ode(m, p), dopri5{}, X, L, 1.0, 0.5, {});
    CHECK(r.stats[0].status == status::ok);
    CHECK(r.stats[1].status == status::non_finite);
    CHECK(r.stats[2].status == status::ok);
    CHECK(r.stats[3].status == status::non_finite);
    CHECK(r.x.col(1).allFinite());  // the last good state is returned
    CHECK(r.stats[1].t_reached == 1.0);
    CHECK(r.stats[0].t_reached == 0.5);
    CHECK_FALSE(r.all_ok());
  }
}

TEST_CASE("integrate: dopri5 reports max_steps with its partial state", "[unit]") {
  const auto m = test::gmm2();
  const auto& p = m.process();
  matrix<double> X(2, 3);
  m.sample(1.0, 1, 0, X);
  const auto r = integrate(pf_ode(m, p), dopri5{}, X, vector<double>::Zero(3), 1.0, p.t_min(),
                           {.tolerance = {.rtol = 1e-12, .atol = 1e-14, .max_steps = 5}});
  for (const auto& s : r.stats) {
    CHECK(s.status == status::max_steps);
    CHECK(s.steps() == 5);
    CHECK(s.t_reached < 1.0);
    CHECK(s.t_reached > p.t_min());
  }
  CHECK(r.x.allFinite());
}

TEST_CASE("integrate: dopri5 meets its tolerance on a linear ODE", "[unit]") {
  const linear_dynamics dyn;
  matrix<double> X = matrix<double>::Constant(1, 1, 1.0);
  for (double rtol : {1e-4, 1e-7, 1e-10}) {
    const auto r = integrate(dyn, dopri5{}, X, vector<double>::Zero(1), 0.0, 1.0,
                             {.tolerance = {.rtol = rtol, .atol = rtol * 1e-3}});
    // Global error of a well-conditioned, decaying problem stays within a small multiple
    // of the local tolerance.
    CHECK(std::abs(r.x(0, 0) - std::exp(-3.0)) <= 10 * rtol * std::exp(-3.0) + 10 * rtol * 1e-3);
    CHECK(std::abs(r.log_p(0) - std::sin(1.0)) <= 10 * rtol);
    CHECK(r.stats[0].status == status::ok);
    CHECK(r.stats[0].accepted + r.stats[0].rejected == r.stats[0].steps());
  }
}

TEST_CASE("integrate: observers see every step of every trajectory", "[unit]") {
  const auto m = test::gmm1();
  const auto& p = m.process();
  matrix<double> X(1, 5);
  m.sample(1.0, 1, 0, X);
  std::vector<long> seen(5, 0);
  const auto r = integrate(pf_ode(m, p), rk4{}, X, vector<double>::Zero(5), 1.0, p.t_min(),
                           {.grid = {.steps = 12}, .execution = {.batch_size = 2, .threads = 1}},
                           [&](const step_view<double>& v) {
                             for (long j = 0; j < v.X.cols(); ++j) ++seen[v.first_column + j];
                           });
  for (long c : seen) CHECK(c == 13);
  CHECK(r.stats[0].score_evals == 12 * 4);
}

TEST_CASE("integrate: invalid runs are rejected with stable ids", "[unit]") {
  const auto m = test::gmm1();
  const auto& p = m.process();
  matrix<double> X(1, 2);
  X.setZero();
  const vector<double> L = vector<double>::Zero(2);
  CHECK_THROWS_WITH(integrate(pf_ode(m, p), heun{}, X, L, 1.0, 1.0, {}),
                    Catch::Contains("[dlogp.invalid_argument] integrate: t_start equals t_end"));
  CHECK_THROWS_WITH(integrate(pf_ode(m, p), heun{}, X, L, 2.0, 0.5, {}),
                    Catch::Contains("outside the process range"));
  CHECK_THROWS_WITH(integrate(pf_ode(m, p), heun{}, X, L, 1.0, 0.5, {.grid = {.steps = 0}}),
                    Catch::Contains("steps must be >= 1"));
  CHECK_THROWS_WITH(integrate(pf_ode(m, p), heun{}, matrix<double>(2, 2), L, 1.0, 0.5, {}),
                    Catch::Contains("[dlogp.dimension_mismatch]"));
  CHECK_THROWS_WITH(integrate(pf_ode(m, p), heun{}, X, vector<double>(3), 1.0, 0.5, {}),
                    Catch::Contains("[dlogp.dimension_mismatch]"));
}

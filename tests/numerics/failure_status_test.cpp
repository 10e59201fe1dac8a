// Failing trajectories fail alone (issue 7, item 2): dopri5 running out of steps or of step
// size, a model that returns NaN for some inputs, a NaN start, and density guidance blowing up
// each mark ONLY the affected trajectories, return their last good state with finite values,
// and leave every other trajectory of the batch bit-identical to a run without the fault.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <dlogp/core/normal_quantile.hpp>
#include <dlogp/error.hpp>
#include <dlogp/dynamics/density_guidance.hpp>
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/edm.hpp>
#include <dlogp/process/vp.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/euler.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>
#include <dlogp/scheme/heun.hpp>
#include <dlogp/scheme/rk4.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

enum class fault {
  none,
  nan_score,    ///< NaN score and Laplacian where x > threshold and t < 0.5
  oscillating,  ///< score + A sin(w t) where x > threshold: needs ~w steps per unit time
  superlinear,  ///< score + c (x - threshold)^2 where x > threshold: blows up in finite time
  throws,       ///< throws dlogp::numerical_error where x > threshold and t < 0.5
};

/// GMM1 (D = 1) whose score misbehaves in one region only: a stand-in for a learned model that
/// is fine on most inputs. Exactly the oracle's values elsewhere, so unaffected trajectories
/// must be bit-identical to runs with the plain oracle.
struct faulty_gmm1 {
  using scalar_type = double;
  gaussian_mixture<double, vp_process> base = test::gmm1<double>();
  fault kind = fault::none;
  double threshold = 1.0;

  long dimension() const { return 1; }

  void score_and_laplacian(double t, const matrix<double>& X, matrix<double>& S, vector<double>& lap) const {
    base.score_and_laplacian(t, X, S, lap);
    for (long j = 0; j < X.cols(); ++j) {
      const double x = X(0, j);
      if (!(x > threshold)) continue;
      switch (kind) {
        case fault::none: break;
        case fault::nan_score:
          if (t < 0.5) S(0, j) = lap(j) = std::numeric_limits<double>::quiet_NaN();
          break;
        case fault::oscillating: S(0, j) += 1e3 * std::sin(1e4 * t); break;
        case fault::throws:
          if (t < 0.5) throw numerical_error("faulty_gmm1: no score at x = " + std::to_string(x));
          break;
        case fault::superlinear:
          S(0, j) += 50.0 * (x - threshold) * (x - threshold);
          lap(j) += 100.0 * (x - threshold);
          break;
      }
    }
  }
  void score(double t, const matrix<double>& X, matrix<double>& S) const {
    vector<double> lap;
    score_and_laplacian(t, X, S, lap);
  }
};

/// Sampling starts at T = 1. For the ODEs, columns 1 and 4 enter the fault region (x > 1) and
/// the others never do (checked: they match the fault-free run bit for bit).
matrix<double> starts() {
  matrix<double> X(1, 6);
  X << -2.0, 2.2, -0.5, 0.3, 3.0, -1.2;
  return X;
}
const std::vector<long> hard = {1, 4}, easy = {0, 2, 3, 5};

/// Runs the batch with `kind` and without a fault; checks the contract and returns the faulty
/// run. `hard` says which columns meet the fault. For single-stage schemes (euler,
/// euler-maruyama) the model is evaluated at the step states only, so which stochastic paths
/// meet a region can be read off the fault-free run's observer: pass by_observer = true.
template <class Scheme, class Make>
integration_result<double> check_isolated(fault kind, status expected, Make make_dyn, Scheme scheme,
                                          integrate_options opt, bool by_observer = false,
                                          double threshold = 1.0) {
  const vp_process p;
  faulty_gmm1 bad, good;
  bad.kind = kind;
  bad.threshold = threshold;
  const matrix<double> X = starts();
  const long n = X.cols();
  const vector<double> L = test::exact_log_p(good.base, 1.0, X);
  std::vector<char> meets(std::size_t(n), 0);
  for (long j : hard) meets[std::size_t(j)] = 1;
  step_observer<double> watch;
  if (by_observer) {
    std::fill(meets.begin(), meets.end(), 0);
    watch = [&](const step_view<double>& v) {
      if (v.t == 1e-3) return;  // the final state is not evaluated
      for (long c = 0; c < v.X.cols(); ++c)
        if (v.X(0, c) > bad.threshold && ((kind != fault::nan_score && kind != fault::throws) || v.t < 0.5)) meets[std::size_t(v.first_column + c)] = 1;
    };
  }
  const auto ref = integrate(make_dyn(good, p), scheme, X, L, 1.0, 1e-3, opt, watch);
  REQUIRE(ref.all_ok());
  const auto r = integrate(make_dyn(bad, p), scheme, X, L, 1.0, 1e-3, opt);
  long n_hard = 0;
  for (long j = 0; j < n; ++j) {
    INFO("column " << j << " status " << to_string(r.stats[j].status) << " at t = " << r.stats[j].t_reached);
    const auto& st = r.stats[j];
    if (meets[std::size_t(j)]) {
      ++n_hard;
      CHECK(st.status == expected);
      // The last good state: finite, strictly inside the run, with its tracked log p.
      CHECK(std::isfinite(r.x(0, j)));
      CHECK(std::isfinite(r.log_p(j)));
      CHECK(st.t_reached < 1.0);
      CHECK(st.t_reached > 1e-3);
      // Every attempted step was accepted or rejected, except that an adaptive attempt that
      // produced a non-finite value counts as attempted but is neither.
      CHECK(st.accepted + st.rejected <= st.steps());
      CHECK(st.steps() <= st.accepted + st.rejected + 1);
    } else {
      // Unaffected: bit-identical to the run without any fault.
      CHECK(st.status == status::ok);
      CHECK(r.x(0, j) == ref.x(0, j));
      CHECK(r.log_p(j) == ref.log_p(j));
      CHECK(st.steps() == ref.stats[j].steps());
      CHECK(st.score_evals == ref.stats[j].score_evals);
    }
  }
  // The seeds give both kinds, so the test can fail either way.
  CHECK(n_hard >= 1);
  CHECK(n_hard <= n - 2);
  return r;
}

auto make_pf = [](const faulty_gmm1& m, const vp_process& p) { return pf_ode(m, p); };
auto make_rsde = [](const faulty_gmm1& m, const vp_process& p) { return reverse_sde(m, p); };

}  // namespace

TEST_CASE("dopri5: trajectories that run out of steps stop alone with status max_steps", "[unit]") {
  // The oscillating term needs ~1e4 / (2 pi) periods x several steps each: far more than 2000;
  // the smooth trajectories need ~100 steps at rtol 1e-8.
  const auto r = check_isolated(fault::oscillating, status::max_steps, make_pf, dopri5{},
                                {.tolerance = {.rtol = 1e-8, .atol = 1e-10, .max_steps = 2000}});
  for (long j : hard) {
    CHECK(r.stats[j].steps() == 2000);
    // The returned log p is the tracked value at the returned state: the fault only adds an
    // x-independent term to the score, whose effect on x and ell is bounded, so just finite.
    CHECK(r.stats[j].accepted > 0);
  }
  for (long j : easy) CHECK(r.stats[j].steps() < 2000);
}

TEST_CASE("dopri5: a trajectory blowing up in finite time stops alone with step_underflow", "[unit]") {
  // dx/dt gains -(1/2) g^2 50 (x - 1)^2: backwards in time x - 1 grows like 1 / (t - t*), so the
  // step size shrinks geometrically towards t* until it is below 16 eps t.
  const auto r = check_isolated(fault::superlinear, status::step_underflow, make_pf, dopri5{},
                                {.tolerance = {.rtol = 1e-8, .atol = 1e-10}});
  for (long j : hard) {
    CHECK(r.stats[j].steps() < 100000);  // stopped by the step size, not the budget
    CHECK(r.x(0, j) > 1e3);            // it was running away
  }
}

namespace {
/// check_isolated for every scheme (as SECTIONs), 1 and 2 threads: a fault that hits some
/// inputs only.
void check_isolated_every_scheme(fault kind, status expected) {
  const integrate_options fixed{.grid = {.steps = 200}};
  SECTION("euler") { check_isolated(kind, expected, make_pf, euler{}, fixed); }
  SECTION("heun") { check_isolated(kind, expected, make_pf, heun{}, fixed); }
  SECTION("rk4") { check_isolated(kind, expected, make_pf, rk4{}, fixed); }
  SECTION("dopri5") {
    check_isolated(kind, expected, make_pf, dopri5{}, {.tolerance = {.rtol = 1e-8, .atol = 1e-10}});
  }
  SECTION("euler-maruyama, augmented reverse SDE") {
    check_isolated(kind, expected, make_rsde, euler_maruyama{}, {.seed = 3, .grid = {.steps = 200}},
                   true, 2.0);
  }
  SECTION("in a batch of one column per chunk, with 2 threads") {
    check_isolated(kind, expected, make_pf, heun{}, {.grid = {.steps = 200},
                                                     .execution = {.batch_size = 1, .threads = 2}});
  }
}
}  // namespace

TEST_CASE("integrate: a model returning NaN for some inputs marks only those trajectories", "[unit]") {
  check_isolated_every_scheme(fault::nan_score, status::non_finite);
}

namespace {
/// Integrates starts() from T = 1 with column 2's x and column 4's log p made non-finite, and
/// checks that exactly those two are non_finite (unchanged, no accepted step) and the others
/// are bit-identical to the clean run.
template <class Scheme>
void check_non_finite_starts(Scheme scheme, integrate_options opt) {
  const vp_process p;
  const auto m = test::gmm1<double>();
  const matrix<double> X0 = starts();
  const vector<double> L0 = test::exact_log_p(m, 1.0, X0);
  const auto ref = integrate(pf_ode(m, p), scheme, X0, L0, 1.0, 1e-3, opt);
  matrix<double> X = X0;
  vector<double> L = L0;
  X(0, 2) = std::numeric_limits<double>::quiet_NaN();
  L(4) = std::numeric_limits<double>::infinity();
  const auto r = integrate(pf_ode(m, p), scheme, X, L, 1.0, 1e-3, opt);
  for (long j = 0; j < X.cols(); ++j) {
    INFO("column " << j << " status " << to_string(r.stats[j].status));
    if (j == 2 || j == 4) {
      CHECK(r.stats[j].status == status::non_finite);
      CHECK(r.stats[j].accepted == 0);
      CHECK(r.stats[j].t_reached == 1.0);
    } else {
      CHECK(r.stats[j].status == status::ok);
      CHECK(r.x(0, j) == ref.x(0, j));
      CHECK(r.log_p(j) == ref.log_p(j));
    }
  }
  // Without log p tracking a non-finite log p is not looked at.
  opt.track_logp = false;
  const auto u = integrate(pf_ode(m, p), scheme, X0, L, 1.0, 1e-3, opt);
  CHECK(u.all_ok());
}
}  // namespace

TEST_CASE("integrate: a NaN start marks only that trajectory non_finite (fixed step)", "[unit]") {
  // Documented behaviour: integrate does not refuse non-finite starts (one bad column must not
  // lose a batch); the trajectory is returned unchanged with status non_finite.
  check_non_finite_starts(heun{}, {.grid = {.steps = 100}});
  check_non_finite_starts(euler{}, {.grid = {.steps = 100},
                                    .execution = {.batch_size = 1, .threads = 2}});
}

TEST_CASE("integrate: a NaN start marks only that trajectory non_finite (dopri5)", "[unit]") {
  // Regression: run_adaptive's initial-step heuristic used to turn a NaN start (or a NaN rate
  // at the start) into a NaN step size; the next rate was then evaluated at t = NaN, the
  // oracle threw "time must be finite" and the WHOLE batch was lost.
  check_non_finite_starts(dopri5{}, {});
}

TEST_CASE("dopri5: a model returning NaN at the start marks only those trajectories", "[unit]") {
  // The same regression for a NaN rate at a finite start: a model that fails on part of the
  // support (fault::nan_score, applied from t < 0.5 on, so starting at 0.45).
  const vp_process p;
  faulty_gmm1 bad, good;
  bad.kind = fault::nan_score;
  bad.threshold = 2.0;  // columns 1 (2.2) and 4 (3.0) fail at once
  const matrix<double> X = starts();
  const vector<double> L = test::exact_log_p(good.base, 1.0, X);
  // t < 0.5 in the fault: start below 0.5 so the fault applies from the first evaluation.
  const auto ref = integrate(pf_ode(good, p), dopri5{}, X, L, 0.45, 1e-3);
  const auto r = integrate(pf_ode(bad, p), dopri5{}, X, L, 0.45, 1e-3);
  for (long j = 0; j < X.cols(); ++j) {
    INFO("column " << j << " status " << to_string(r.stats[j].status));
    if (j == 1 || j == 4) {
      CHECK(r.stats[j].status == status::non_finite);
      CHECK(r.stats[j].t_reached == 0.45);
      CHECK(r.x(0, j) == X(0, j));
    } else {
      CHECK(r.stats[j].status == status::ok);
      CHECK(r.x(0, j) == ref.x(0, j));
    }
  }
}

TEST_CASE("dg_ode: trajectories whose guidance blows up stop alone; the rest are unaffected", "[unit]") {
  // docs/ground-truth.md T2 geometry: isotropic N(0, I) in D = 128 under EDM, q = 0.7, 80 -> 0.01.
  // The radial variable w = |x|^2 / (1 + sigma^2) falls by 2 k ln(80 / sigma) = 150.8 in total
  // (k = sqrt(2D) Phi^{-1}(q)), so a path starting with w_T = 100 breaks down and one with
  // w_T = 400 keeps w > 249 throughout.
  const long D = 128;
  const edm_process p(0.01, 80.0);
  const auto m = gaussian_mixture<double, edm_process>::isotropic(p, {1.0}, matrix<double>::Zero(D, 1), {1.0});
  const std::vector<double> w_T = {400.0, 100.0, 300.0, 60.0, 500.0};
  const long n = long(w_T.size());
  matrix<double> X(D, n);
  for (long j = 0; j < n; ++j) {
    vector<double> z(D);
    random_stream(11, std::uint64_t(j), purpose::user).fill_normal(0, z.data(), D);
    X.col(j) = z * std::sqrt(w_T[std::size_t(j)] * (1 + 80.0 * 80.0) / z.squaredNorm());
  }
  const vector<double> L = test::exact_log_p(m, 80.0, X);
  const integrate_options opt{.grid = {.steps = 128, .spacing = grid_kind::edm_rho}};
  const auto r = integrate(dg_ode(m, p, {.q = 0.7}), heun{}, X, L, 80.0, 0.01, opt);
  for (long j = 0; j < n; ++j) {
    INFO("w_T = " << w_T[std::size_t(j)] << ": " << to_string(r.stats[j].status) << " at " << r.stats[j].t_reached);
    if (w_T[std::size_t(j)] < 150.8) {
      CHECK(r.stats[j].status == status::eta_blowup);
      CHECK(r.x.col(j).allFinite());
      CHECK(std::isfinite(r.log_p(j)));
      CHECK(r.stats[j].t_reached > 0.01);
    } else {
      CHECK(r.stats[j].status == status::ok);
      // Alone, with the same trajectory id: bit for bit the same.
      const auto alone = integrate(dg_ode(m, p, {.q = 0.7}), heun{}, X.col(j), L.segment(j, 1), 80.0, 0.01,
                                   {.grid = {.steps = 128, .spacing = grid_kind::edm_rho},
                                    .first_id = std::uint64_t(j)});
      CHECK((alone.x.col(0).array() == r.x.col(j).array()).all());
      CHECK(alone.log_p(0) == r.log_p(j));
    }
  }
}

TEST_CASE("integrate: a model throwing for some inputs marks only those trajectories model_error", "[unit]") {
  // A model may throw dlogp::numerical_error at a state it cannot handle (documented): the
  // trajectory stops at its last good state with status model_error, and the others of its
  // chunk (found by running the chunk's columns alone) are bit-identical to a fault-free run.
  check_isolated_every_scheme(fault::throws, status::model_error);
  SECTION("the observer sees every step of every trajectory once") {
    const integrate_options fixed{.grid = {.steps = 200}};
    const vp_process p;
    faulty_gmm1 bad;
    bad.kind = fault::throws;
    const matrix<double> X = starts();
    const vector<double> L = test::exact_log_p(bad.base, 1.0, X);
    std::vector<std::vector<int>> seen(std::size_t(X.cols()), std::vector<int>(201, 0));
    const auto r = integrate(pf_ode(bad, p), heun{}, X, L, 1.0, 1e-3, fixed, [&](const step_view<double>& v) {
      for (long c = 0; c < v.X.cols(); ++c) seen[std::size_t(v.first_column + c)][std::size_t(v.step)] += 1;
    });
    for (long j = 0; j < X.cols(); ++j) {
      INFO("column " << j);
      const long last = r.stats[j].status == status::ok ? 200 : r.stats[j].accepted;
      for (long k = 0; k <= last; ++k) CHECK(seen[std::size_t(j)][std::size_t(k)] >= 1);
      for (long k = 0; k <= 200; ++k) CHECK(seen[std::size_t(j)][std::size_t(k)] <= 1);
    }
  }
}

namespace {
/// GMM2 (D = 2) PF-ODE from t = 1 with dopri5 and the given tolerances; column 1 of the batch
/// has a coordinate exactly 0 (the case that made the automatic first step 0 / 0 = NaN with
/// atol = 0). Checks: no throw, every status ok or step_underflow with a finite state, and the
/// other columns bit-identical to a run without column 1.
void check_first_step_safe(double rtol, double atol) {
  const vp_process p;
  const auto m = test::gmm2<double>();
  matrix<double> X(2, 4);
  X << 0.8, 0.0, -1.1, 0.4,  //
      -0.3, 0.7, 0.9, -1.6;
  const vector<double> L = test::exact_log_p(m, 1.0, X);
  const integrate_options opt{.tolerance = {.rtol = rtol, .atol = atol, .max_steps = 20000}};
  const auto r = integrate(pf_ode(m, p), dopri5{}, X, L, 1.0, 1e-3, opt);
  matrix<double> Xo(2, 3);
  Xo << X.col(0), X.col(2), X.col(3);
  const vector<double> Lo = test::exact_log_p(m, 1.0, Xo);
  const auto ref = integrate(pf_ode(m, p), dopri5{}, Xo, Lo, 1.0, 1e-3, opt);
  for (long j = 0; j < 4; ++j) {
    INFO("rtol " << rtol << " atol " << atol << " column " << j << ": " << to_string(r.stats[j].status));
    CHECK((r.stats[j].status == status::ok || r.stats[j].status == status::step_underflow));
    CHECK(r.x.col(j).allFinite());
    CHECK(std::isfinite(r.log_p(j)));
    CHECK(std::isfinite(r.stats[j].t_reached));
  }
  for (long k = 0; k < 3; ++k) {
    const long j = k == 0 ? 0 : k + 1;
    CHECK((r.x.col(j).array() == ref.x.col(k).array()).all());
    CHECK(r.log_p(j) == ref.log_p(k));
    CHECK(r.stats[j].steps() == ref.stats[k].steps());
  }
}
}  // namespace

TEST_CASE("dopri5: the automatic first step is finite for every valid tolerance", "[unit]") {
  // atol = 0 is pure relative accuracy (documented as valid): at a zero coordinate the scale is
  // 0, and the first-step heuristic divided by it. rtol = 1e-300 overflows the scaled norms.
  SECTION("atol = 0 with a zero coordinate") {
    check_first_step_safe(1e-6, 0.0);
    // It integrates, to the same accuracy as with a small atol.
    const vp_process p;
    const auto m = test::gmm2<double>();
    matrix<double> X(2, 1);
    X << 0.0, 0.7;
    const auto r = integrate(pf_ode(m, p), dopri5{}, X, test::exact_log_p(m, 1.0, X), 1.0, 1e-3,
                             {.tolerance = {.rtol = 1e-6, .atol = 0.0}});
    CHECK(r.all_ok());
  }
  SECTION("rtol = 1e-300, atol = 0") { check_first_step_safe(1e-300, 0.0); }
  SECTION("rtol = 1e-300 with the default atol") { check_first_step_safe(1e-300, 1e-9); }
}

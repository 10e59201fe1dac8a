#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/dynamics/general.hpp>
#include <dlogp/dynamics/hd_ode.hpp>
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>
#include <dlogp/scheme/rk4.hpp>
#include <limits>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

using mat = matrix<double>;
using vec = vector<double>;

// The same expressions as pf_ode / hd_ode / reverse_sde use for their drifts.
auto pf_drift(const vp_process& p) {
  return [p](double t, const mat& X, const mat& S, mat& U) {
    U = double(p.f(t)) * X - double(0.5 * p.g2(t)) * S;
  };
}
auto hd_drift(const vp_process& p) {
  return [p](double t, const mat& X, const mat& S, mat& U) {
    U = double(p.f(t)) * X - double(p.g2(t)) * S;
  };
}

/// A model with nothing but the score (forwarding to the oracle).
struct score_only {
  using scalar_type = double;
  const gaussian_mixture<double, vp_process>* m;
  long dimension() const { return m->dimension(); }
  void score(double t, const mat& X, mat& S) const { m->score(t, X, S); }
};

// Start x_T ~ p_T with the exact ell_T, run to t_min, return ell - exact log p at the end.
template <class Dyn, class Scheme>
vec tracked_errors(const Dyn& dyn, Scheme scheme, long paths, integrate_options opt,
                   std::uint64_t sample_seed) {
  const auto& m = dyn.model();
  const vp_process& p = dyn.process();
  mat X(m.dimension(), paths);
  m.sample(p.t_max(), sample_seed, 0, X);
  const auto r = integrate(dyn, scheme, X, test::exact_log_p(m, p.t_max(), X), p.t_max(),
                           p.t_min(), opt);
  REQUIRE(r.all_ok());
  return r.log_p - test::exact_log_p(m, p.t_min(), r.x);
}

}  // namespace

TEST_CASE("general: the PF-ODE drift reproduces pf_ode bit for bit", "[unit]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  mat X(2, 6);
  m.sample(1.0, 1, 0, X);
  const vec L = test::exact_log_p(m, 1.0, X);
  for (auto kind : {divergence_kind::exact, divergence_kind::hutchinson}) {
    const divergence_options div{.kind = kind, .probes = 2};
    const integrate_options opt{.seed = 4, .grid = {.steps = 50}};
    const auto ref = integrate(pf_ode(m, p, div), rk4{}, X, L, 1.0, p.t_min(), opt);
    const auto a = integrate(general_ode(m, p, pf_drift(p), div), rk4{}, X, L, 1.0, p.t_min(), opt);
    // The drift without the score argument, evaluating the model itself.
    const auto own = [&m, p](double t, const mat& Y, mat& U) {
      mat S(2, Y.cols());
      m.score(t, Y, S);
      U = double(p.f(t)) * Y - double(0.5 * p.g2(t)) * S;
    };
    const auto b = integrate(general_ode(m, p, own, div), rk4{}, X, L, 1.0, p.t_min(), opt);
    INFO("divergence " << to_string(kind));
    CHECK(a.x == ref.x);
    CHECK(a.log_p == ref.log_p);
    CHECK(b.x == ref.x);
    CHECK(b.log_p == ref.log_p);
    CHECK(a.total_score_evals() == ref.total_score_evals());
  }
}

TEST_CASE("general: the HD drift reproduces hd_ode bit for bit", "[unit]") {
  const vp_process p(0.1, 20.0, 0.0, 1.0);
  const auto m = test::gmm1(p);
  mat X(1, 5);
  m.sample(0.6, 2, 0, X);
  const vec L = test::exact_log_p(m, 0.6, X);
  const auto ref = integrate(hd_ode(m, p), rk4{}, X, L, 0.6, 0.0, {.grid = {.steps = 100}});
  const auto a =
      integrate(general_ode(m, p, hd_drift(p)), rk4{}, X, L, 0.6, 0.0, {.grid = {.steps = 100}});
  CHECK(a.x == ref.x);
  CHECK(a.log_p == ref.log_p);
}

TEST_CASE("general: the reverse-SDE drift and noise reproduce reverse_sde", "[unit]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  mat X(2, 8);
  m.sample(1.0, 3, 0, X);
  const vec L = test::exact_log_p(m, 1.0, X);
  const integrate_options opt{.seed = 7, .grid = {.steps = 400}};
  const auto ref = integrate(reverse_sde(m, p), euler_maruyama{}, X, L, 1.0, p.t_min(), opt);
  REQUIRE(ref.all_ok());
  const auto g = [p](double t) { return std::sqrt(p.g2(t)); };
  const auto iso = integrate(general_sde(m, p, hd_drift(p), isotropic_diffusion{g}),
                             euler_maruyama{}, X, L, 1.0, p.t_min(), opt);
  const auto mtx = integrate(
      general_sde(m, p, hd_drift(p),
                  matrix_diffusion{[g](double t) -> mat { return g(t) * mat::Identity(2, 2); }}),
      euler_maruyama{}, X, L, 1.0, p.t_min(), opt);
  const auto op = integrate(
      general_sde(m, p, hd_drift(p),
                  operator_diffusion{[g](double t, const mat&, const mat& Z, mat& GZ) {
                    GZ = g(t) * Z;
                  }}),
      euler_maruyama{}, X, L, 1.0, p.t_min(), opt);
  // x: the same drift and noise expressions, so the same numbers.
  CHECK(iso.x == ref.x);
  CHECK(mtx.x == ref.x);
  CHECK(op.x == ref.x);
  // log p: reverse_sde's rate -f D - (1/2) g^2 |s|^2 is reached here as
  // -f D + (1/2) g^2 Lap + <u - v, s> - (1/2) tr(g^2 H): equal up to rounding. Per step the
  // difference is a few eps x h x |g^2 Lap| (|Lap| <= D / sigma^2 ~ 2e3 at t_min, g^2 <= 20),
  // so over 400 steps of h = 2.5e-3 at most ~400 x 4 eps x 2.5e-3 x 4e4 ~ 4e-11.
  for (const auto* r : {&iso, &mtx, &op}) {
    INFO("max |diff| " << (r->log_p - ref.log_p).cwiseAbs().maxCoeff());
    CHECK((r->log_p - ref.log_p).cwiseAbs().maxCoeff() <= 1e-10);
  }
  CHECK(iso.stats[0].score_evals == 400);  // one score + analytic Laplacian per step
  CHECK(mtx.stats[0].score_evals == 800);  // ... plus one Hessian per step
}

TEST_CASE("general: Hutchinson probes through G = g I cancel against the Laplacian's",
          "[unit]") {
  // With the same probe z in z^T H z (Laplacian) and (G z)^T H (G z) = g^2 z^T H z, the two
  // estimates cancel: the estimator reduces to reverse_sde's (no divergence) up to the finite-
  // difference error of the JVPs, relative eps^(2/3) ~ 4e-11 of |g^2 z^T H z| <= 4e4 per step:
  // over 300 steps of h = 3.3e-3 at most ~300 x 4e-11 x 4e4 x 3.3e-3 ~ 2e-6.
  const vp_process p;
  const auto m = test::gmm2(p);
  mat X(2, 6);
  m.sample(1.0, 9, 0, X);
  const vec L = test::exact_log_p(m, 1.0, X);
  const integrate_options opt{.seed = 2, .grid = {.steps = 300}};
  const auto ref = integrate(reverse_sde(m, p), euler_maruyama{}, X, L, 1.0, p.t_min(), opt);
  const auto op = integrate(
      general_sde(m, p, hd_drift(p),
                  operator_diffusion{[p](double t, const mat&, const mat& Z, mat& GZ) {
                    GZ = std::sqrt(p.g2(t)) * Z;
                  }},
                  {.kind = divergence_kind::hutchinson, .probes = 3}),
      euler_maruyama{}, X, L, 1.0, p.t_min(), opt);
  CHECK(op.x == ref.x);
  INFO("max |diff| " << (op.log_p - ref.log_p).cwiseAbs().maxCoeff());
  CHECK((op.log_p - ref.log_p).cwiseAbs().maxCoeff() <= 2e-6);
}

TEST_CASE("general: a deterministic drift that is not the PF-ODE tracks the exact log p",
          "[ground-truth]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  // Too much score, plus a rotation of the score and a swirl of x: nothing here preserves the
  // marginals, yet ell must follow log p_t(x_t) along the path (docs/notation.md §3.4).
  const auto drift = [p](double t, const mat& X, const mat& S, mat& U) {
    const double f = p.f(t), g2 = p.g2(t);
    U = f * X - 0.8 * g2 * S;
    U.row(0) += 0.5 * g2 * S.row(1) - 0.3 * X.row(1);
    U.row(1) += -0.5 * g2 * S.row(0) + 0.3 * X.row(0);
  };
  const vec e = tracked_errors(general_ode(m, p, drift), dopri5{}, 8,
                               {.tolerance = {.rtol = 1e-10, .atol = 1e-12}}, 31);
  INFO("max |error| " << e.cwiseAbs().maxCoeff());
  // dopri5 at rtol 1e-10 (same bound as pf_ode's encoding check).
  CHECK(e.cwiseAbs().maxCoeff() <= 1e-6);
  // The same with Hutchinson: unbiased, one fixed probe per trajectory.
  const vec h = tracked_errors(general_ode(m, p, drift, {.kind = divergence_kind::hutchinson}),
                               rk4{}, 300, {.seed = 8, .grid = {.steps = 800}}, 32);
  const auto s = test::summarize(h);
  INFO("Hutchinson: mean " << s.mean << " +- " << s.mean_se << " RMS " << s.rms);
  CHECK(std::abs(s.mean) <= 5 * s.mean_se);
}

namespace {

// Projection on the plane orthogonal to the score, scaled by g: G = g (I - s s^T / |s|^2).
struct score_projection {
  const gaussian_mixture<double, vp_process>* m;
  vp_process p;
  void operator()(double t, const mat& X, const mat& Z, mat& GZ) const {
    mat S(X.rows(), X.cols());
    m->score(t, X, S);
    const double g = std::sqrt(p.g2(t));
    for (long j = 0; j < X.cols(); ++j) {
      double ss = 0, sz = 0;
      for (long i = 0; i < X.rows(); ++i) {
        ss += S(i, j) * S(i, j);
        sz += S(i, j) * Z(i, j);
      }
      const double c = ss > 0 ? sz / ss : 0.0;
      for (long i = 0; i < X.rows(); ++i) GZ(i, j) = g * (Z(i, j) - c * S(i, j));
    }
  }
};

// With exact traces: RMS halving and a zero mean. With Hutchinson the fixed probe per trajectory
// adds an error that does not shrink with h, so only the mean (unbiasedness) is checked.
template <class Dyn>
void check_sde_statistics(const Dyn& dyn, long paths, long steps, std::uint64_t seed) {
  const bool hutchinson = dyn.divergence().kind == divergence_kind::hutchinson;
  const auto coarse = test::summarize(
      tracked_errors(dyn, euler_maruyama{}, paths, {.seed = seed, .grid = {.steps = steps}}, seed));
  const auto fine = test::summarize(tracked_errors(
      dyn, euler_maruyama{}, paths, {.seed = seed + 1, .grid = {.steps = 4 * steps}}, seed + 1));
  INFO("RMS " << coarse.rms << " -> " << fine.rms << "; mean " << coarse.mean << " +- "
              << coarse.mean_se << " -> " << fine.mean << " +- " << fine.mean_se);
  // Path by path the estimate converges with strong order 1/2: the RMS error halves when the
  // steps are multiplied by 4 (5 standard errors of the ratio).
  if (!hutchinson) CHECK(test::rms_ratio_sigmas(coarse, fine, 2.0) <= 5);
  // The mean error is O(h) and must be consistent with 0 at the fine step (5 standard errors).
  // Dropping -(1/2) tr(G G^T H) would shift it by ~(1/2) int tr(G G^T H) dt, a few nats here.
  CHECK(std::abs(fine.mean) <= 5 * fine.mean_se);
}

}  // namespace

TEST_CASE("general: SDE with G = c(t) I tracks the exact log p", "[statistical]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  // c = g/2 and the drift that keeps the marginals: f x - (g^2 + c^2)/2 s.
  const auto drift = [p](double t, const mat& X, const mat& S, mat& U) {
    U = p.f(t) * X - 0.625 * p.g2(t) * S;
  };
  const auto c = [p](double t) { return 0.5 * std::sqrt(p.g2(t)); };
  check_sde_statistics(general_sde(m, p, drift, isotropic_diffusion{c}), 400, 500, 100);
}

TEST_CASE("general: SDE with a constant projection G = g e1 e1^T tracks the exact log p",
          "[statistical]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  const auto G = [p](double t) -> mat {
    mat g = mat::Zero(2, 2);
    g(0, 0) = std::sqrt(p.g2(t));
    return g;
  };
  const auto drift = [p](double t, const mat& X, const mat& S, mat& U) {
    U = p.f(t) * X - 0.5 * p.g2(t) * S;
    U.row(0) -= 0.5 * p.g2(t) * S.row(0);
  };
  check_sde_statistics(general_sde(m, p, drift, matrix_diffusion{G}), 400, 500, 200);
}

TEST_CASE("general: SDE with the state-dependent projection g P(x) tracks the exact log p",
          "[statistical]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  const score_projection G{&m, p};
  const auto drift = hd_drift(p);
  SECTION("exact trace with the model's Hessian") {
    check_sde_statistics(general_sde(m, p, drift, operator_diffusion{G}), 400, 500, 300);
  }
  SECTION("Hutchinson probes through G") {
    check_sde_statistics(general_sde(m, p, drift, operator_diffusion{G},
                                     {.kind = divergence_kind::hutchinson, .probes = 1}),
                         400, 500, 400);
  }
  SECTION("exact trace by Jacobian-vector products (no Hessian)") {
    const score_only so{&m};
    const auto own = [&m, p](double t, const mat& X, const mat& S, mat& U) {
      (void)m;
      U = p.f(t) * X - p.g2(t) * S;
    };
    const auto dyn = general_sde(so, p, own, operator_diffusion{G},
                                 {.kind = divergence_kind::exact});
    // score_only has no log_density / sample: run it by hand.
    const long paths = 200;
    mat X(2, paths);
    m.sample(1.0, 500, 0, X);
    const auto r = integrate(dyn, euler_maruyama{}, X, test::exact_log_p(m, 1.0, X), 1.0,
                             p.t_min(), {.seed = 500, .grid = {.steps = 2000}});
    REQUIRE(r.all_ok());
    const auto e = test::summarize(r.log_p - test::exact_log_p(m, p.t_min(), r.x));
    INFO("mean " << e.mean << " +- " << e.mean_se << " RMS " << e.rms);
    CHECK(std::abs(e.mean) <= 5 * e.mean_se);
  }
}

TEST_CASE("general: default estimator is exact with an analytic Laplacian/Hessian",
          "[unit]") {
  using gmm = gaussian_mixture<double, vp_process>;
  using op = operator_diffusion<score_projection>;
  STATIC_REQUIRE(default_general_divergence<gmm>().kind == divergence_kind::exact);
  STATIC_REQUIRE(default_general_divergence<gmm, op>().kind == divergence_kind::exact);
  STATIC_REQUIRE(default_general_divergence<score_only>().kind == divergence_kind::hutchinson);
  STATIC_REQUIRE(default_general_divergence<score_only, op>().kind ==
                 divergence_kind::hutchinson);
  STATIC_REQUIRE(ode_dynamics<decltype(general_ode(std::declval<const gmm&>(), vp_process{},
                                                   pf_drift(vp_process{})))>);
  STATIC_REQUIRE(!sde_dynamics<decltype(general_ode(std::declval<const gmm&>(), vp_process{},
                                                    pf_drift(vp_process{})))>);
}

TEST_CASE("general: results do not depend on the batch", "[repro]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  const auto dyn = general_sde(m, p, hd_drift(p), operator_diffusion{score_projection{&m, p}},
                               {.kind = divergence_kind::hutchinson, .probes = 2});
  mat X(2, 11);
  m.sample(1.0, 6, 0, X);
  const vec L = test::exact_log_p(m, 1.0, X);
  const auto a = integrate(dyn, euler_maruyama{}, X, L, 1.0, 0.01,
                           {.seed = 5, .grid = {.steps = 100}, .execution = {.batch_size = 11}});
  const auto b = integrate(dyn, euler_maruyama{}, X, L, 1.0, 0.01,
                           {.seed = 5, .grid = {.steps = 100},
                            .execution = {.batch_size = 3, .threads = 2}});
  CHECK(a.x == b.x);
  CHECK(a.log_p == b.log_p);
  const auto c = integrate(dyn, euler_maruyama{}, mat(X.col(7)), vec(L.segment(7, 1)), 1.0, 0.01,
                           {.seed = 5, .grid = {.steps = 100}, .first_id = 7});
  CHECK(c.x.col(0) == a.x.col(7));
  CHECK(c.log_p(0) == a.log_p(7));
}

TEST_CASE("general: a diffusion matrix of the wrong size is rejected", "[unit]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  const auto dyn = general_sde(m, p, hd_drift(p),
                               matrix_diffusion{[](double) -> mat { return mat::Identity(3, 3); }});
  mat X = mat::Zero(2, 2);
  CHECK_THROWS_WITH(integrate(dyn, euler_maruyama{}, X, vec::Zero(2), 1.0, 0.5,
                              {.grid = {.steps = 3}}),
                    Catch::Contains("[dlogp.dimension_mismatch]") &&
                        Catch::Contains("rows of G"));
}

TEST_CASE("general: float instantiation tracks log p to float accuracy", "[unit]") {
  const vp_process p;
  const auto m = test::gmm2<float>(p);
  const auto drift = [p](double t, const matrix<float>& X, const matrix<float>& S,
                         matrix<float>& U) {
    U = float(p.f(t)) * X - float(0.8 * p.g2(t)) * S;
  };
  matrix<float> X(2, 3);
  m.sample(1.0, 4, 0, X);
  const auto r = integrate(general_ode(m, p, drift), rk4{}, X, test::exact_log_p(m, 1.0, X), 1.0,
                           0.05, {.grid = {.steps = 400}});
  REQUIRE(r.all_ok());
  // RK4 error at 400 steps is ~1e-7; float rounding of O(10) rates over 400 steps ~1e-4.
  CHECK((r.log_p - test::exact_log_p(m, 0.05, r.x)).cwiseAbs().maxCoeff() <= 1e-3f);
}

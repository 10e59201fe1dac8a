#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/analysis/score_alignment.hpp>
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/edm.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/rk4.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

/// docs/ground-truth.md T5's 2-D mixture under EDM.
gaussian_mixture<double, edm_process> t5_mixture(edm_process p) {
  matrix<double> mu(2, 3);
  mu << -2.0, 1.5, 0.5, 0.5, -1.0, 2.0;
  return gaussian_mixture<double, edm_process>::isotropic(p, {0.3, 0.5, 0.2}, mu,
                                                          {0.09, 0.09, 0.09});
}

/// The mixture seen through score and Laplacian only: score_alignment then takes the central
/// difference of the Laplacian instead of grad_laplacian.
struct laplacian_only {
  using scalar_type = double;
  const gaussian_mixture<double, edm_process>* m;
  long dimension() const { return m->dimension(); }
  void score(double t, const matrix<double>& X, matrix<double>& S) const { m->score(t, X, S); }
  void score_and_laplacian(double t, const matrix<double>& X, matrix<double>& S,
                           vector<double>& lap) const {
    m->score_and_laplacian(t, X, S, lap);
  }
};

}  // namespace

TEST_CASE("score_alignment: w matches <s, v> at the end (docs/ground-truth.md T5)", "[ground-truth]") {
  const edm_process p(0.002, 80.0);
  const auto m = t5_mixture(p);
  matrix<double> X(2, 3);
  X << 15.0, -3.0, 0.5, -7.0, 22.0, 0.5;
  // RK4 from 20 to 0.05, 3000 geometric steps.
  const auto r = score_alignment(m, p, rk4{}, X, 20.0, 0.05,
                                 {.grid = {.steps = 3000, .spacing = grid_kind::log_snr}});
  REQUIRE(r.all_ok());
  for (long j = 0; j < 3; ++j) {
    INFO("x_T = " << X.col(j).transpose() << " SA " << r.alignment(j) << " check "
                  << r.check(j) << " relative difference "
                  << (r.alignment(j) - r.check(j)) / r.check(j));
    // "To 5 digits": both sides are integrals of the same flow, so they differ only by RK4's
    // error (O(h^4), h ~ 2e-3 in log-SNR) and the central-difference JVP (~1e-10 relative).
    CHECK(std::abs(r.alignment(j) - r.check(j)) <= 1e-5 * std::abs(r.check(j)));
  }
  // The Laplacian-only route (central difference of Lap along v) gives the same answer to its
  // O(eps^(2/3)) difference error integrated over the run.
  const laplacian_only lo{&m};
  const auto q = score_alignment(lo, p, rk4{}, X, 20.0, 0.05,
                                 {.grid = {.steps = 3000, .spacing = grid_kind::log_snr}});
  REQUIRE(q.all_ok());
  CHECK((q.alignment - r.alignment).cwiseAbs().maxCoeff() <=
        1e-6 * r.alignment.cwiseAbs().maxCoeff());
  CHECK((q.x - r.x).cwiseAbs().maxCoeff() <= 1e-9);
}

TEST_CASE("score_alignment: Gaussian data gives SA = |s_T(x_T)|^2", "[ground-truth]") {
  // For Gaussian p_0 the PF-ODE map is linear, x_0 = A x_T with A = P_0^{1/2} P_T^{-1/2}, so
  // <s_0(x_0), A s_T> = |s_T|^2 exactly (T5). Full covariance, D = 3.
  const edm_process p(0.002, 80.0);
  matrix<double> mu(3, 1), C(3, 3);
  mu << 0.3, -1.0, 2.0;
  C << 0.5, 0.1, -0.2, 0.1, 0.3, 0.05, -0.2, 0.05, 0.8;
  const gaussian_mixture<double, edm_process> m(p, {1.0}, mu, {C});
  matrix<double> X(3, 4);
  m.sample(20.0, 6, 0, X);
  matrix<double> S(3, 4);
  m.score(20.0, X, S);
  const auto r = score_alignment(m, p, rk4{}, X, 20.0, 0.05,
                                 {.grid = {.steps = 3000, .spacing = grid_kind::log_snr}});
  REQUIRE(r.all_ok());
  for (long j = 0; j < 4; ++j) {
    const double expected = S.col(j).squaredNorm();
    // RK4 at this step size: ~1e-12 relative; 1e-8 leaves room for the difference JVP.
    CHECK(std::abs(r.alignment(j) - expected) <= 1e-8 * expected);
    CHECK(std::abs(r.check(j) - expected) <= 1e-8 * expected);
  }
}

TEST_CASE("score_alignment: w is the derivative of log p_0 along the latent direction",
          "[ground-truth]") {
  // With v_T = z and x_T = c z, w_end = d/dc log p_0(Psi(c z)). Compare with a central
  // difference of the oracle's exact log p_0 at PF-ODE end points (dopri5, rtol 1e-11: the
  // end points are accurate to ~1e-10, so a step of 1e-4 in c gives ~1e-6 absolute).
  const edm_process p(0.002, 80.0);
  const auto m = t5_mixture(p);
  matrix<double> Z(2, 3);
  Z << 0.8, -0.3, 0.1, -0.6, 1.1, 0.9;
  const double c = 20.0, dc = 1e-4;
  const matrix<double> X = c * Z;
  const auto r = score_alignment(m, p, dopri5{}, X, Z, 20.0, 0.05,
                                 {.tolerance = {.rtol = 1e-11, .atol = 1e-13}});
  REQUIRE(r.all_ok());
  const integrate_options opt{.tolerance = {.rtol = 1e-11, .atol = 1e-13}, .track_logp = false};
  const vector<double> L0 = vector<double>::Zero(3);
  const auto up = integrate(pf_ode(m, p), dopri5{}, matrix<double>((c + dc) * Z), L0, 20.0, 0.05, opt);
  const auto dn = integrate(pf_ode(m, p), dopri5{}, matrix<double>((c - dc) * Z), L0, 20.0, 0.05, opt);
  const vector<double> fd =
      (test::exact_log_p(m, 0.05, up.x) - test::exact_log_p(m, 0.05, dn.x)) / (2 * dc);
  for (long j = 0; j < 3; ++j) {
    INFO("column " << j << " w " << r.alignment(j) << " finite difference " << fd(j));
    CHECK(std::abs(r.alignment(j) - fd(j)) <= 1e-5 * std::max(1.0, std::abs(fd(j))));
    CHECK(std::abs(r.alignment(j) - r.check(j)) <= 1e-7 * std::max(1.0, std::abs(r.check(j))));
  }
}

TEST_CASE("score_alignment: latent scaling derivative for a zero-mean Gaussian",
          "[ground-truth]") {
  // p_0 = N(0, 0.3 I): p_T = N(0, P_T I), s_T = -x / P_T exactly, so
  // d/dc log p_0(Psi(c z)) = -(P_T / c) SA (docs/notation.md §5.4 with sigma_T^2 = P_T). For this
  // data Psi(c z) = c A z, log p_0 = const - c^2 |A z|^2_{P_0^{-1}} / 2, the derivative is
  // -c |z|^2 / P_T (A^T P_0^{-1} A = P_T^{-1}).
  const edm_process p(0.002, 80.0);
  const auto m = gaussian_mixture<double, edm_process>::isotropic(p, {1.0}, matrix<double>::Zero(4, 1), {0.3});
  matrix<double> Z(4, 2);
  Z << 1.0, -0.5, 0.2, 0.7, -0.4, 1.2, 0.9, -0.1;
  const double c = 7.0, T = 10.0, PT = 0.3 + T * T;
  const matrix<double> X = c * Z;
  const auto r = score_alignment(m, p, rk4{}, X, T, 0.01,
                                 {.grid = {.steps = 2000, .spacing = grid_kind::log_snr}});
  REQUIRE(r.all_ok());
  for (long j = 0; j < 2; ++j) {
    const double expected = -c * Z.col(j).squaredNorm() / PT;
    CHECK(std::abs(latent_scaling_derivative(r.alignment(j), std::sqrt(PT), c) - expected) <=
          1e-8 * std::abs(expected));
  }
  CHECK_THROWS_WITH(latent_scaling_derivative(1.0, 1.0, 0.0),
                    Catch::StartsWith("[dlogp.invalid_argument] latent_scaling_derivative"));
}

TEST_CASE("score_alignment: dimension errors", "[unit]") {
  const edm_process p;
  const auto m = t5_mixture(p);
  CHECK_THROWS_WITH(score_alignment(m, p, rk4{}, matrix<double>::Zero(3, 2), 20.0, 0.05),
                    Catch::StartsWith("[dlogp.dimension_mismatch] score_alignment"));
  CHECK_THROWS_WITH(score_alignment(m, p, rk4{}, matrix<double>::Ones(2, 2),
                                    matrix<double>::Ones(2, 3), 20.0, 0.05),
                    Catch::StartsWith("[dlogp.dimension_mismatch] score_alignment"));
}

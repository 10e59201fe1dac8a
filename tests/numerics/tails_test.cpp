// Numerical edge cases, part 2 (issue 7, item 2): far tails (|x| = 1e3 sigma, where the
// density itself underflows to 0) and components with tiny variance (1e-8), in float and
// double.
//   - the oracle's log p, score and Laplacian against an independent long-double evaluation,
//     within a few epsilons of the size of the terms that are summed (a derived rounding
//     bound, not a fitted one);
//   - dopri5 runs through the tails and onto tiny components with the exact log p.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/vp.hpp>
#include <dlogp/scheme/dopri5.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

using ld = long double;

/// A 1-D isotropic mixture evaluated independently in long double (docs/notation.md §2 written
/// out).
struct reference_1d {
  std::vector<double> w, mu, var;

  struct values {
    ld log_p, score, lap;
    ld log_p_size, score_size, lap_size;  ///< sums of the magnitudes of what is summed
  };

  values at(const vp_process& p, double t, ld x) const {
    const ld a = p.alpha(t), s2 = p.sigma2(t);
    const std::size_t K = w.size();
    ld wsum = 0;
    for (double v : w) wsum += v;
    std::vector<ld> l(K), u(K), P(K), r(K);
    ld mx = -std::numeric_limits<ld>::infinity();
    for (std::size_t k = 0; k < K; ++k) {
      P[k] = a * a * var[k] + s2;
      const ld d = x - a * mu[k];
      u[k] = d / P[k];
      l[k] = std::log(w[k] / wsum) - 0.5L * std::log(2 * std::numbers::pi_v<ld> * P[k]) - 0.5L * d * u[k];
      mx = std::max(mx, l[k]);
    }
    ld sum = 0;
    for (std::size_t k = 0; k < K; ++k) sum += std::exp(l[k] - mx);
    values v{mx + std::log(sum), 0, 0, 0, 0, 0};
    for (std::size_t k = 0; k < K; ++k) {
      r[k] = std::exp(l[k] - mx) / sum;
      v.score -= r[k] * u[k];
      v.score_size += r[k] * std::abs(u[k]);
    }
    for (std::size_t k = 0; k < K; ++k) {
      const ld c = -u[k] - v.score;
      v.lap += r[k] * (c * c - 1 / P[k]);
      v.lap_size += r[k] * (c * c + 1 / P[k] + 2 * std::abs(c) * (std::abs(u[k]) + std::abs(v.score)));
    }
    // log p = l_max + log(sum): the terms are the quadratic form, log det, log w.
    v.log_p_size = 1 + std::abs(mx) + std::abs(0.5L * std::log(P[0])) + 0.5L * std::abs(x) * v.score_size;
    return v;
  }
};

/// Checks the oracle in Scalar at x (rounded to Scalar first, so both sides see the same input).
/// Bound: the long-double reference is exact to ~1e-19; the oracle computes each quantity as
/// sums of at most ~10 products per term, so its error is at most c eps sum|terms| (Higham,
/// Accuracy and Stability, 3.1) with c = 32 covering the term count and the exp/log calls.
template <class S, class Model>
void check_point(const Model& m, const reference_1d& ref, const vp_process& p, double t, double x) {
  const S xs = S(x);
  const auto v = ref.at(p, t, ld(xs));
  matrix<S> X(1, 1), Sc;
  X(0, 0) = xs;
  vector<S> lp, lap;
  m.log_density(t, X, lp);
  m.score_and_laplacian(t, X, Sc, lap);
  const ld eps = std::numeric_limits<S>::epsilon(), c = 32;
  INFO((sizeof(S) == 4 ? "float" : "double") << ", t = " << t << ", x = " << x << ": log p " << double(v.log_p)
                                             << ", score " << double(v.score) << ", Laplacian " << double(v.lap));
  CHECK(std::isfinite(double(lp(0))));
  CHECK(std::abs(ld(lp(0)) - v.log_p) <= c * eps * v.log_p_size);
  CHECK(std::abs(ld(Sc(0, 0)) - v.score) <= c * eps * v.score_size);
  CHECK(std::abs(ld(lap(0)) - v.lap) <= c * eps * v.lap_size);
}

const reference_1d gmm1_ref{{0.3, 0.5, 0.2}, {-2.0, 0.0, 2.5}, {0.16, 0.09, 0.25}};

}  // namespace

TEST_CASE("numerics: the oracle is exact in the far tails where the density underflows", "[ground-truth]") {
  const vp_process p(0.1, 20.0, 0.0, 1.0);
  const auto md = test::gmm1<double>(p);
  const auto mf = test::gmm1<float>(p);
  for (double t : {0.0, 1e-5, 1e-3, 0.3, 1.0}) {
    const double widest = std::sqrt(p.alpha(t) * p.alpha(t) * 0.25 + p.sigma2(t));
    for (double x : {-1e3 * widest, 1e3 * widest, 2.5 * p.alpha(t) + 1e3 * widest, 40.0 * widest}) {
      check_point<double>(md, gmm1_ref, p, t, x);
      check_point<float>(mf, gmm1_ref, p, t, x);
    }
    // Where the naive density exp(log p) is 0 in double, log p is still a finite number.
    matrix<double> X(1, 1);
    X << 1e3 * widest;
    vector<double> lp;
    md.log_density(t, X, lp);
    CHECK(std::exp(lp(0)) == 0.0);
    CHECK(lp(0) < -4e5);
  }
}

TEST_CASE("numerics: the oracle is exact near components of variance 1e-8", "[ground-truth]") {
  const vp_process p(0.1, 20.0, 0.0, 1.0);
  const reference_1d ref{{0.5, 0.5}, {0.0, 1.0}, {1e-8, 0.25}};
  matrix<double> mu(1, 2);
  mu << 0.0, 1.0;
  const auto md = gaussian_mixture<double, vp_process>::isotropic(p, {0.5, 0.5}, mu, {1e-8, 0.25});
  const auto mf = gaussian_mixture<float, vp_process>::isotropic(p, {0.5, 0.5}, mu, {1e-8, 0.25});
  for (double t : {0.0, 1e-5, 1e-3}) {
    const double narrow = std::sqrt(p.alpha(t) * p.alpha(t) * 1e-8 + p.sigma2(t));
    // On the spike, inside it, where the two components trade places, and in its tail.
    for (double k : {0.0, 0.5, 3.0, 30.0, -1e3}) {
      check_point<double>(md, ref, p, t, k * narrow + 1e-7);
      check_point<float>(mf, ref, p, t, k * narrow + 1e-7);
    }
  }
}

TEST_CASE("numerics: a full covariance with eigenvalues 1e-8 and 1 is factored and evaluated exactly", "[ground-truth]") {
  // S = R diag(1e-8, 1) R^T (rotated by 30 degrees), so P = alpha^2 S + sigma^2 I has condition
  // number kappa = 1e8 at t = 0, beyond float's 1/eps. Any method that factors P from its
  // entries (Cholesky, backward stable) changes the small eigenvalue by ~eps |P|, i.e. log p by
  // ~kappa eps (1 + q): that is the double bound. The oracle factors in double and only
  // evaluates in float, so float adds the triangular solve's sqrt(kappa) eps_f (cond(L)).
  // The reference is log N(x; 0, P) in long double from the same stored entries.
  const vp_process p(0.1, 20.0, 0.0, 1.0);
  const double c = std::cos(std::numbers::pi / 6), s = std::sin(std::numbers::pi / 6);
  matrix<double> R(2, 2), E = matrix<double>::Zero(2, 2);
  R << c, -s, s, c;
  E(0, 0) = 1e-8;
  E(1, 1) = 1.0;
  matrix<double> S = R * E * R.transpose();
  S = (0.5 * (S + S.transpose())).eval();
  const matrix<double> mu = matrix<double>::Zero(2, 1);
  const gaussian_mixture<double, vp_process> md(p, {1.0}, mu, {S});
  const gaussian_mixture<float, vp_process> mf(p, {1.0}, mu, {S});
  for (double t : {0.0, 1e-5, 1e-3}) {
    const double a2 = p.alpha(t) * p.alpha(t), s2 = p.sigma2(t);
    const double sd_n = std::sqrt(a2 * 1e-8 + s2), sd_w = std::sqrt(a2 + s2);
    const double kappa = (sd_w * sd_w) / (sd_n * sd_n);
    const ld p11 = ld(a2) * S(0, 0) + ld(s2), p12 = ld(a2) * S(0, 1), p22 = ld(a2) * S(1, 1) + ld(s2);
    const ld det = p11 * p22 - p12 * p12;
    auto exact_at = [&](double x0, double x1) {  // {log p, quadratic form}
      const ld q = (p22 * x0 * x0 - 2 * p12 * x0 * x1 + p11 * x1 * x1) / det;
      return std::pair<double, double>{double(-std::log(2 * std::numbers::pi_v<ld>) - 0.5L * std::log(det) - 0.5L * q),
                                       double(q)};
    };
    // Points 1 and 3 standard deviations out along the narrow and the wide direction.
    for (const auto& z : std::vector<std::pair<double, double>>{{1, 0}, {3, 0}, {0, 1}, {1, 3}}) {
      const matrix<double> X = R.col(0) * (z.first * sd_n) + R.col(1) * (z.second * sd_w);
      const auto [exact, q] = exact_at(X(0, 0), X(1, 0));
      vector<double> lp;
      md.log_density(t, X, lp);
      INFO("t = " << t << ", z = (" << z.first << ", " << z.second << "), kappa " << kappa << ", exact " << exact
                  << ", double " << lp(0));
      constexpr double eps_d = std::numeric_limits<double>::epsilon(), eps_f = std::numeric_limits<float>::epsilon();
      CHECK(std::abs(lp(0) - exact) <= 32 * kappa * eps_d * (1 + std::abs(exact) + q));
      // float, against the exact value at the float-rounded point.
      const matrix<float> Xf = X.cast<float>();
      const auto [exact_f, q_f] = exact_at(double(Xf(0, 0)), double(Xf(1, 0)));
      vector<float> lpf;
      mf.log_density(t, Xf, lpf);
      INFO("float " << lpf(0) << " vs " << exact_f);
      CHECK(std::isfinite(double(lpf(0))));
      CHECK(std::abs(double(lpf(0)) - exact_f) <=
            32 * (std::sqrt(kappa) * eps_f + kappa * eps_d) * (1 + std::abs(exact_f) + q_f));
    }
  }
}

TEST_CASE("numerics: dopri5 tracks log p through the far tails (sampling and encoding)", "[ground-truth]") {
  // Start points 1e3 standard deviations out, log p ~ -5e5. dopri5 controls the error relative
  // to |ell|, so the docs/ground-truth.md requirement (1e-6 at rtol 1e-10 for |log p| ~ 1) scales
  // to 1e-6 (1 + |log p|).
  const vp_process p;
  const auto m = test::gmm1<double>(p);
  const integrate_options opt{.tolerance = {.rtol = 1e-10, .atol = 1e-12}};
  matrix<double> X0(1, 4);
  X0 << 2.5 + 1e3 * 0.5, -2.0 - 1e3 * 0.5, -1e3 * 0.5, 40.0;
  const auto e = integrate(pf_ode(m, p), dopri5{}, X0, vector<double>::Zero(4), p.t_min(), p.t_max(), opt);
  REQUIRE(e.all_ok());
  const vector<double> exact0 = test::exact_log_p(m, p.t_min(), X0);
  const vector<double> est = test::exact_log_p(m, p.t_max(), e.x) - e.log_p;
  for (long j = 0; j < 4; ++j) CHECK(std::abs(est(j) - exact0(j)) <= 1e-6 * (1 + std::abs(exact0(j))));
  CHECK(exact0.maxCoeff() < -1e3);

  matrix<double> XT(1, 3);
  XT << 1e3, -1e3, 300.0;
  const auto s = integrate(pf_ode(m, p), dopri5{}, XT, test::exact_log_p(m, p.t_max(), XT), p.t_max(), p.t_min(), opt);
  REQUIRE(s.all_ok());
  const vector<double> exact = test::exact_log_p(m, p.t_min(), s.x);
  for (long j = 0; j < 3; ++j) CHECK(std::abs(s.log_p(j) - exact(j)) <= 1e-6 * (1 + std::abs(exact(j))));
}

TEST_CASE("numerics: sampling onto a component of variance 1e-8 down to t = 1e-5", "[ground-truth]") {
  // Half the mass in a near-point mass: at t = 1e-5 it has standard deviation sigma ~ 1e-3 and
  // log p ~ +5; the score changes on that scale, so dopri5 must resolve it (~200 steps).
  const vp_process p(0.1, 20.0, 1e-5, 1.0);
  matrix<double> mu(1, 2);
  mu << 0.0, 1.0;
  const auto m = gaussian_mixture<double, vp_process>::isotropic(p, {0.5, 0.5}, mu, {1e-8, 0.25});
  matrix<double> XT(1, 12);
  m.sample(1.0, 3, 0, XT);
  const auto r = integrate(pf_ode(m, p), dopri5{}, XT, test::exact_log_p(m, 1.0, XT), 1.0, 1e-5,
                           {.tolerance = {.rtol = 1e-10, .atol = 1e-12}});
  REQUIRE(r.all_ok());
  const vector<double> exact = test::exact_log_p(m, 1e-5, r.x);
  int on_spike = 0;
  for (long j = 0; j < r.x.cols(); ++j) {
    INFO("x_end = " << r.x(0, j) << ", exact " << exact(j) << ", tracked " << r.log_p(j));
    CHECK(std::abs(r.log_p(j) - exact(j)) <= 1e-6 * (1 + std::abs(exact(j))));
    if (std::abs(r.x(0, j)) < 0.01) ++on_spike;
  }
  CHECK(on_spike >= 3);  // the draw reaches the spike (about half the paths should)
}

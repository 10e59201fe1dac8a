#include <Eigen/Eigenvalues>
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/vp.hpp>
#include <limits>
#include <numbers>
#include <vector>

#include "support/oracle.hpp"

using namespace dlogp;
using Catch::Matchers::Contains;

static_assert(score_model<gaussian_mixture<double, vp_process>>);
static_assert(has_log_density<gaussian_mixture<double, vp_process>>);
static_assert(has_laplacian<gaussian_mixture<double, vp_process>>);
static_assert(has_hessian<gaussian_mixture<double, vp_process>>);
static_assert(has_grad_laplacian<gaussian_mixture<double, vp_process>>);
static_assert(has_denoiser<gaussian_mixture<double, vp_process>>);
static_assert(score_model<gaussian_mixture<float>>);  // any_process by default
static_assert(has_log_density<gaussian_mixture<float>> && has_laplacian<gaussian_mixture<float>> &&
              has_hessian<gaussian_mixture<float>> && has_grad_laplacian<gaussian_mixture<float>> &&
              has_denoiser<gaussian_mixture<float>>);

namespace {

constexpr double eps_d = std::numeric_limits<double>::epsilon();
constexpr double eps_f = std::numeric_limits<float>::epsilon();

/// Everything the oracle gives at one point, evaluated through the batched API.
template <class S>
struct point_values {
  double log_p;
  vector<double> score;
  double lap;
  vector<double> grad_lap;
};

template <class M>
point_values<typename M::scalar_type> evaluate_at(const M& m, double t, const vector<double>& x) {
  using S = typename M::scalar_type;
  matrix<S> X = x.cast<S>();
  matrix<S> sc, G;
  vector<S> lp, lap;
  m.log_density(t, X, lp);
  m.score_and_laplacian(t, X, sc, lap);
  m.grad_laplacian(t, X, G);
  return {double(lp(0)), sc.col(0).template cast<double>(), double(lap(0)),
          G.col(0).template cast<double>()};
}

/// Tolerance for a reference printed with `decimals` digits after the point: half a unit in the
/// last printed place (the reference's own rounding) plus 100 eps relative for the double
/// arithmetic of both computations (a few dozen operations, mild cancellation).
double printed_tol(double ref, int decimals) {
  return 0.5 * std::pow(10.0, -decimals) + 100 * eps_d * (1 + std::abs(ref));
}

vector<double> vec(std::initializer_list<double> v) {
  vector<double> out(long(v.size()));
  long i = 0;
  for (double x : v) out(i++) = x;
  return out;
}

/// Central differences of a batched function F(X) -> matrix (one column per point), along each
/// coordinate, with step h: column j of the result is the derivative along e_j.
template <class F>
matrix<double> central_difference(F&& f, const vector<double>& x, double h) {
  const long D = x.size();
  matrix<double> Xs(D, 2 * D);
  for (long j = 0; j < D; ++j) {
    Xs.col(2 * j) = x;
    Xs.col(2 * j + 1) = x;
    Xs(j, 2 * j) += h;
    Xs(j, 2 * j + 1) -= h;
  }
  const matrix<double> V = f(Xs);  // rows: output components, 2D columns
  matrix<double> J(V.rows(), D);
  for (long j = 0; j < D; ++j) J.col(j) = (V.col(2 * j) - V.col(2 * j + 1)) / (2 * h);
  return J;
}

/// Smallest standard deviation over the components of p_t: the length scale of the mixture.
template <class M>
double length_scale(const M& m, double t) {
  double lmin = std::numeric_limits<double>::infinity();
  for (long k = 0; k < m.components(); ++k) {
    Eigen::SelfAdjointEigenSolver<matrix<double>> es(m.covariance(k, t));
    lmin = std::min(lmin, es.eigenvalues().minCoeff());
  }
  return std::sqrt(lmin);
}

/// Per-component Gaussian quantities computed independently of the oracle's code (Eigen LDLT):
/// logit_k = log w_k N(x; m_k, P_k) and u_k = P_k^{-1}(x - m_k).
template <class M>
void component_terms(const M& m, double t, const vector<double>& x, std::vector<double>& logit,
                     std::vector<vector<double>>& u, std::vector<double>& trinv) {
  const double a = m.process().alpha(t);
  const long D = m.dimension();
  logit.clear();
  u.clear();
  trinv.clear();
  for (long k = 0; k < m.components(); ++k) {
    const matrix<double> P = m.covariance(k, t);
    Eigen::LDLT<matrix<double>> ldlt(P);
    const vector<double> d = x - a * m.means().col(k);
    const vector<double> uk = ldlt.solve(d);
    const double logdet = ldlt.vectorD().array().log().sum();
    logit.push_back(std::log(m.weights()[k]) -
                    0.5 * (D * std::log(2 * std::numbers::pi) + logdet + d.dot(uk)));
    u.push_back(uk);
    trinv.push_back(ldlt.solve(matrix<double>::Identity(D, D)).trace());
  }
}

}  // namespace

// ------------------------------------------------------------------------------ ground truth

TEST_CASE("gaussian_mixture: GMM1 point values (docs/ground-truth.md)", "[ground-truth]") {
  const auto m = test::gmm1();
  struct row {
    double x, t, log_p, score, d2, d3;
    int score_dec, d3_dec;
  };
  // Decimals as printed in docs/ground-truth.md; -1.20184e-5 has 10 decimals, 4.5e-7 has 8.
  const row rows[] = {
      {0.00, 0.0, -0.4081103381, -1.20184e-5, -11.1107451300, -0.0024958598, 10, 10},
      {1.00, 0.0, -5.4391428718, -4.1269727343, 62.5195668773, 310.4675373421, 10, 10},
      {0.50, 0.3, -1.3414216439, -0.5141000905, -0.5649168462, 0.9381951011, 10, 10},
      {-1.00, 0.5, -1.3854377244, 0.8571187433, -0.9188669872, 0.0395464772, 10, 10},
      {0.30, 1.0, -0.9641670539, -0.3006368101, -0.9999315029, 4.5e-7, 10, 8},
  };
  for (const row& r : rows) {
    INFO("x = " << r.x << ", t = " << r.t);
    const auto v = evaluate_at(m, r.t, vec({r.x}));
    CHECK(std::abs(v.log_p - r.log_p) <= printed_tol(r.log_p, 10));
    CHECK(std::abs(v.score(0) - r.score) <= printed_tol(r.score, r.score_dec));
    CHECK(std::abs(v.lap - r.d2) <= printed_tol(r.d2, 10));
    CHECK(std::abs(v.grad_lap(0) - r.d3) <= printed_tol(r.d3, r.d3_dec));
    // In 1-D the Hessian is the second derivative too.
    matrix<double> H;
    m.hessian(r.t, vec({r.x}), H);
    CHECK(std::abs(H(0, 0) - r.d2) <= printed_tol(r.d2, 10));
  }
  // log p_t(x_t) of the mode-tracking table (6 decimals).
  CHECK(std::abs(evaluate_at(m, 0.3, vec({0.05})).log_p + 1.178375) <= printed_tol(1.178375, 6));
  CHECK(std::abs(evaluate_at(m, 0.3, vec({-0.5})).log_p + 1.188202) <= printed_tol(1.188202, 6));
}

TEST_CASE("gaussian_mixture: GMM2 point values (docs/ground-truth.md)", "[ground-truth]") {
  const auto m = test::gmm2();
  {
    const auto v = evaluate_at(m, 0.0, vec({0.0, 0.0}));
    CHECK(std::abs(v.log_p + 6.7175058691) <= printed_tol(6.7175058691, 10));
    CHECK(std::abs(v.score(0) + 4.174516) <= printed_tol(4.174516, 6));
    CHECK(std::abs(v.score(1) - 1.050534) <= printed_tol(1.050534, 6));
    CHECK(std::abs(v.lap - 10.9486770325) <= printed_tol(10.9486770325, 10));
    CHECK(std::abs(v.grad_lap(0) - 33.812134) <= printed_tol(33.812134, 6));
    CHECK(std::abs(v.grad_lap(1) + 67.998811) <= printed_tol(67.998811, 6));
  }
  {
    const auto v = evaluate_at(m, 0.4, vec({0.3, 0.2}));
    CHECK(std::abs(v.log_p + 2.2786075184) <= printed_tol(2.2786075184, 10));
    CHECK(std::abs(v.score(0) + 0.112072) <= printed_tol(0.112072, 6));
    CHECK(std::abs(v.score(1) + 0.134349) <= printed_tol(0.134349, 6));
    CHECK(std::abs(v.lap + 1.1657373567) <= printed_tol(1.1657373567, 10));
    CHECK(std::abs(v.grad_lap(0) + 0.39638) <= printed_tol(0.39638, 5));
    CHECK(std::abs(v.grad_lap(1) + 0.32227) <= printed_tol(0.32227, 5));
  }
}

TEST_CASE("gaussian_mixture: single Gaussian closed forms (docs/ground-truth.md)", "[ground-truth]") {
  // p_0 = N(1, 0.25), x_t = 0.7 at t = 0.5. The posterior p(x_s | x_t) is Gaussian, so its
  // mean is the mode curve y_s.
  matrix<double> mu(1, 1);
  mu << 1.0;
  const auto m = gaussian_mixture<double, vp_process>::isotropic(vp_process{}, {1.0}, mu, {0.25});
  CHECK(std::abs(m.covariance(0, 0.5)(0, 0) - 0.9407021407) <= printed_tol(0.9407021407, 10));
  const auto post25 = m.posterior(0.25, 0.5, vec({0.7}));
  CHECK(std::abs(post25.means()(0, 0) - 0.8287054326) <= printed_tol(0.8287054326, 10));
  const auto post0 = m.posterior(0.0, 0.5, vec({0.7}));
  CHECK(std::abs(post0.means()(0, 0) - 1.0312968896) <= printed_tol(1.0312968896, 10));
  // log p_0 at the HD-ODE and PF-ODE end points (inputs printed to 10 decimals; the slope
  // |d log p / dy| <= 1 there, so input rounding adds < 1e-10).
  vector<double> lp(2);
  m.log_density(0.0, vec({1.0312968896, 1.2159078155}).transpose().eval(), lp);
  CHECK(std::abs(lp(0) + 0.2277503432) <= printed_tol(0.2277503432, 10) + 1e-10);
  CHECK(std::abs(lp(1) + 0.3190237223) <= printed_tol(0.3190237223, 10) + 1e-10);
}

TEST_CASE("gaussian_mixture: posterior modes by Newton are the true modes (docs/ground-truth.md M1-M7)",
          "[ground-truth]") {
  const auto m = test::gmm1();
  struct row {
    double x_t, t, global_mode, local_mode;  // local_mode: another local maximum (or NaN)
  };
  const row rows[] = {{0.05, 0.3, 0.00443023, NAN},   {0.15, 0.5, 0.00408931, NAN},
                      {-0.50, 0.3, -0.04431385, NAN}, {0.40, 0.6, 0.00596853, NAN},
                      {-1.20, 0.3, -1.99107600, NAN}, {1.30, 0.3, 0.11521131, 2.43866312},
                      {-1.00, 0.5, -0.02727043, NAN}};
  for (const row& r : rows) {
    INFO("x_t = " << r.x_t << ", t = " << r.t);
    const auto post = m.posterior(0.0, r.t, vec({r.x_t}));
    // Newton from each component's posterior mean, using the posterior's own score and
    // Hessian; converged when the step is below 1e-14. The global mode is the local maximum
    // with the largest density.
    std::vector<double> maxima;
    double best_y = NAN, best_lp = -std::numeric_limits<double>::infinity();
    for (long k = 0; k < post.components(); ++k) {
      vector<double> y = post.means().col(k);
      for (int it = 0; it < 100; ++it) {
        vector<double> g;
        matrix<double> H;
        post.score(y, g);
        post.hessian(y, H);
        if (H(0, 0) >= 0) break;  // not in a concave region: no local maximum from here
        const double step = g(0) / H(0, 0);
        y(0) -= step;
        if (std::abs(step) < 1e-14) break;
      }
      vector<double> g;
      post.score(y, g);
      if (std::abs(g(0)) > 1e-9) continue;
      maxima.push_back(y(0));
      const double lp = post.log_density(y);
      if (lp > best_lp) best_lp = lp, best_y = y(0);
    }
    CHECK(std::abs(best_y - r.global_mode) <= printed_tol(r.global_mode, 8));
    if (!std::isnan(r.local_mode)) {
      bool found = false;
      for (double y : maxima) found = found || std::abs(y - r.local_mode) <= printed_tol(r.local_mode, 8);
      CHECK(found);
    }
  }
}

// ------------------------------------------------------------------------------ derivatives

TEST_CASE("gaussian_mixture: Hessian and grad Laplacian match central differences", "[unit]") {
  // Central differences have error c h^2 + O(h^4); c h^2 is estimated by Richardson:
  // FD(2h) - FD(h) = 3 c h^2 + O(h^4). Allowed: |FD(2h) - FD(h)| (three times the estimated
  // truncation error, margin for the h^4 term) + roundoff 1e3 eps M / h, M the size of the
  // differenced values plus their natural scale. h = 1e-4 of the smallest component std, so a
  // real error of relative size > 1e-7 cannot hide.
  for (long D : {1L, 2L, 5L}) {
    const auto m = test::random_mixture(D, 3, 100 + D);
    for (double t : {0.0, 0.05, 0.3, 0.8}) {
      const double ell = length_scale(m, t);
      const double h = 1e-4 * ell;
      matrix<double> X(D, 4);
      m.sample(t, 7, 1000 * D, X);
      for (long j = 0; j < X.cols(); ++j) {
        INFO("D = " << D << ", t = " << t << ", point " << j);
        const vector<double> x = X.col(j);
        auto score_of = [&](const matrix<double>& P) {
          matrix<double> S;
          m.score(t, P, S);
          return S;
        };
        auto lap_of = [&](const matrix<double>& P) {
          matrix<double> S;
          vector<double> L;
          m.score_and_laplacian(t, P, S, L);
          return matrix<double>(L.transpose());
        };
        matrix<double> H;
        m.hessian(t, x, H);
        const matrix<double> J1 = central_difference(score_of, x, h);
        const matrix<double> J2 = central_difference(score_of, x, 2 * h);
        const double M1 = score_of(x).cwiseAbs().maxCoeff() + 1 / ell;
        const matrix<double> tolH =
            (J2 - J1).cwiseAbs().array() + 1e3 * eps_d * M1 / h;
        CHECK(((H - J1).cwiseAbs().array() <= tolH.array()).all());
        CHECK((H - H.transpose()).cwiseAbs().maxCoeff() <= 100 * eps_d * H.cwiseAbs().maxCoeff());

        matrix<double> G;
        m.grad_laplacian(t, matrix<double>(x), G);
        const matrix<double> g1 = central_difference(lap_of, x, h).transpose();
        const matrix<double> g2 = central_difference(lap_of, x, 2 * h).transpose();
        const double M2 = lap_of(x).cwiseAbs().maxCoeff() + 1 / (ell * ell);
        const matrix<double> tolG = (g2 - g1).cwiseAbs().array() + 1e3 * eps_d * M2 / h;
        CHECK(((G - g1).cwiseAbs().array() <= tolG.array()).all());

        // Laplacian = trace(Hessian), up to rounding of sums of terms of size M2.
        matrix<double> S;
        vector<double> L;
        m.score_and_laplacian(t, matrix<double>(x), S, L);
        CHECK(std::abs(L(0) - H.trace()) <= 100 * eps_d * D * M2);
      }
    }
  }
}

TEST_CASE("gaussian_mixture: derivatives agree with independently computed component terms",
          "[unit]") {
  // log p = logsumexp_k logit_k and s = -sum r_k u_k from a plain Eigen LDLT per component.
  const auto m = test::random_mixture(4, 3, 77);
  for (double t : {0.0, 0.2, 0.9}) {
    matrix<double> X(4, 5);
    m.sample(t, 3, 0, X);
    matrix<double> S;
    vector<double> lp;
    m.score(t, X, S);
    m.log_density(t, X, lp);
    for (long j = 0; j < X.cols(); ++j) {
      std::vector<double> logit, tr;
      std::vector<vector<double>> u;
      component_terms(m, t, X.col(j), logit, u, tr);
      const double mx = *std::max_element(logit.begin(), logit.end());
      double sum = 0;
      for (double l : logit) sum += std::exp(l - mx);
      const double lse = mx + std::log(sum);
      vector<double> s = vector<double>::Zero(4);
      double umax = 0;
      for (std::size_t k = 0; k < u.size(); ++k) {
        s -= std::exp(logit[k] - mx) / sum * u[k];
        umax = std::max(umax, u[k].cwiseAbs().maxCoeff());
      }
      CHECK(std::abs(lp(j) - lse) <= 100 * eps_d * (1 + std::abs(mx)));
      CHECK((S.col(j) - s).cwiseAbs().maxCoeff() <= 100 * eps_d * (1 + umax));
    }
  }
}

TEST_CASE("gaussian_mixture: denoiser is Tweedie's formula", "[unit]") {
  // E[x_0 | x_t] = (x + sigma^2 s) / alpha; the oracle computes it as
  // sum_k r_k (mu_k + alpha S_k u_k), a different route. Rounding: both are sums over K = 3
  // components of D-term products of size (|x| + sigma^2 |u|) / alpha and |mu|; 1e3 eps of
  // that size bounds them (the 1 / alpha amplification at t = 1 is inside the scale).
  for (long D : {1L, 2L, 5L}) {
    const auto m = test::random_mixture(D, 3, 300 + D);
    for (double t : {0.0, 0.05, 0.3, 0.7, 1.0}) {
      INFO("D = " << D << ", t = " << t);
      const double a = m.process().alpha(t), s2 = m.process().sigma2(t);
      matrix<double> X(D, 6), S, Den;
      m.sample(t, 11, 0, X);
      m.score(t, X, S);
      m.denoiser(t, X, Den);
      const matrix<double> tweedie = (X + s2 * S) / a;
      const double scale = (X.cwiseAbs().maxCoeff() + s2 * S.cwiseAbs().maxCoeff()) / a +
                           m.means().cwiseAbs().maxCoeff();
      CHECK((Den - tweedie).cwiseAbs().maxCoeff() <= 1e3 * eps_d * scale);
    }
  }
  // At t = 0 the posterior of x_0 is a point mass at x.
  const auto m = test::gmm2();
  matrix<double> X(2, 3), Den;
  X << 0.1, -2, 3, 0.4, 0.2, -1;
  m.denoiser(0.0, X, Den);
  CHECK((Den - X).cwiseAbs().maxCoeff() <= 100 * eps_d * 3);
}

TEST_CASE("gaussian_mixture: isotropic and diagonal factories equal the full covariances",
          "[unit]") {
  const long D = 3;
  matrix<double> mu(D, 2);
  mu << 0.5, -1.0, 1.0, 0.3, -0.2, 2.0;
  const std::vector<double> w{2.0, 3.0};  // unnormalised on purpose
  const std::vector<double> var{0.3, 0.05};
  matrix<double> diag(D, 2);
  diag << 0.3, 0.1, 0.02, 0.4, 0.7, 0.05;
  using gm = gaussian_mixture<double, vp_process>;
  const gm iso = gm::isotropic(vp_process{}, w, mu, var);
  const gm dia = gm::diagonal(vp_process{}, w, mu, diag);
  std::vector<matrix<double>> iso_full, dia_full;
  for (int k = 0; k < 2; ++k) {
    iso_full.push_back(var[k] * matrix<double>::Identity(D, D));
    dia_full.push_back(diag.col(k).asDiagonal());
  }
  const gm isoF(vp_process{}, w, mu, iso_full);
  const gm diaF(vp_process{}, w, mu, dia_full);
  CHECK(iso.kind() == covariance_kind::isotropic);
  CHECK(dia.kind() == covariance_kind::diagonal);
  CHECK(isoF.kind() == covariance_kind::full);
  CHECK(iso.weights()[0] == Approx(0.4).epsilon(1e-15));
  CHECK(iso.covariance(1) == iso_full[1]);
  CHECK(dia.covariance(0) == dia_full[0]);

  auto compare = [&](const gm& a, const gm& b) {
    for (double t : {0.0, 0.1, 0.5}) {
      INFO("t = " << t);
      matrix<double> X(D, 5);
      a.sample(t, 5, 0, X);
      matrix<double> Sa, Sb, Ga, Gb, Da, Db, Ha, Hb;
      vector<double> La, Lb, lpa, lpb;
      a.score_and_laplacian(t, X, Sa, La);
      b.score_and_laplacian(t, X, Sb, Lb);
      a.log_density(t, X, lpa);
      b.log_density(t, X, lpb);
      a.grad_laplacian(t, X, Ga);
      b.grad_laplacian(t, X, Gb);
      a.denoiser(t, X, Da);
      b.denoiser(t, X, Db);
      a.hessian(t, X.col(0), Ha);
      b.hessian(t, X.col(0), Hb);
      // Same mathematics by different operation orders: 1e3 eps of each quantity's scale.
      auto close = [](const auto& p, const auto& q) {
        const double scale = 1 + p.cwiseAbs().maxCoeff();
        return (p - q).cwiseAbs().maxCoeff() <= 1e3 * eps_d * scale;
      };
      CHECK(close(Sa, Sb));
      CHECK(close(La, Lb));
      CHECK(close(lpa, lpb));
      CHECK(close(Ga, Gb));
      CHECK(close(Da, Db));
      CHECK(close(Ha, Hb));
      // Sampling: a diagonal Cholesky factor is the elementwise square root.
      matrix<double> Xb(D, 5);
      b.sample(t, 5, 0, Xb);
      CHECK(close(X, Xb));
    }
  };
  compare(iso, isoF);
  compare(dia, diaF);
}

// ------------------------------------------------------------------------------ float

TEST_CASE("gaussian_mixture: float instantiation agrees with double", "[unit]") {
  // Inputs are float-representable, and the per-call constants are rounded from double, so the
  // difference is float arithmetic only: each output is a short fixed-order combination
  // (K = 3, D <= 2: fewer than 16 rounded operations) of terms bounded by B_n = the n-th power
  // of U = max_k (|u_k| + sqrt(tr P_k^{-1})) (n = derivative order) times B_0 = 1 + max |logit_k|
  // (the logits' rounding, relative eps_f of B_0, moves the responsibilities by that much).
  // Hence |float - double| <= 16 eps_f B_0 U^n; we allow 64 eps_f B_0 U^n (4x margin).
  auto check = [](const auto& md, const auto& mf, double t, const vector<double>& x) {
    INFO("t = " << t << ", x = " << x.transpose());
    std::vector<double> logit, tr;
    std::vector<vector<double>> u;
    component_terms(md, t, x, logit, u, tr);
    double U = 0, B0 = 1;
    for (std::size_t k = 0; k < u.size(); ++k) {
      U = std::max(U, u[k].norm() + std::sqrt(tr[k]));
      B0 = std::max(B0, 1 + std::abs(logit[k]));
    }
    const auto d = evaluate_at(md, t, x);
    const auto f = evaluate_at(mf, t, x);
    CHECK(std::abs(f.log_p - d.log_p) <= 64 * eps_f * B0);
    CHECK((f.score - d.score).cwiseAbs().maxCoeff() <= 64 * eps_f * B0 * U);
    CHECK(std::abs(f.lap - d.lap) <= 64 * eps_f * B0 * U * U);
    CHECK((f.grad_lap - d.grad_lap).cwiseAbs().maxCoeff() <= 64 * eps_f * B0 * U * U * U);
  };
  const auto g1d = test::gmm1<double>();
  const auto g1f = test::gmm1<float>();
  for (double t : {0.0, 0.3, 0.5, 1.0})
    for (double x : {0.0, 1.0, 0.5, -1.0, double(0.3f), -2.25})
      check(g1d, g1f, t, vec({x}));
  const auto g2d = test::gmm2<double>();
  const auto g2f = test::gmm2<float>();
  for (double t : {0.0, 0.4, 0.9})
    for (auto x : {vec({0, 0}), vec({double(0.3f), double(0.2f)}), vec({-2, 0.5}), vec({1.5, -3})})
      check(g2d, g2f, t, x);
}

// ------------------------------------------------------------------------------ tails

TEST_CASE("gaussian_mixture: far tails give finite values equal to the dominant component",
          "[unit]") {
  // At |x| = 1e3 sigma (t > 0; 1e3 at t = 0) log p ~ -5e5: a naive sum of densities underflows.
  // Expected values come from independently computed component logits with an explicit
  // log-sum-exp. For t <= 0.5 one component dominates by > 100 nats (checked), so the
  // responsibilities are exactly one-hot and log p, the score and the Laplacian are that
  // component's Gaussian values. At t = 1 the diffused components are nearly identical and
  // share the tail. Rounding: quad ~ 1e6 computed with relative 64 eps; the Laplacian's centred
  // form has no cancellation against |s|^2 ~ 1e6.
  auto check = [](const auto& m, double t, const vector<double>& dir) {
    using S = typename std::decay_t<decltype(m)>::scalar_type;
    const double sd = m.process().sigma(t) > 0 ? m.process().sigma(t) : 1.0;
    for (double sign : {1.0, -1.0}) {
      const vector<double> x = sign * 1e3 * sd * dir.normalized();
      INFO("t = " << t << ", x = " << x.transpose());
      std::vector<double> logit, tr;
      std::vector<vector<double>> u;
      component_terms(m, t, x, logit, u, tr);
      const auto k = std::max_element(logit.begin(), logit.end()) - logit.begin();
      if (t <= 0.5)
        for (std::size_t i = 0; i < logit.size(); ++i)
          if (long(i) != k) REQUIRE(logit[i] < logit[k] - 100);  // one-hot premise
      // r_i = exp(logit_i - max) / sum (not exp(logit_i - lse): at |lse| ~ 5e5 one ulp of lse
      // is 6e-11, which would move r by that much and the score by 6e-8).
      double sum = 0;
      for (double l : logit) sum += std::exp(l - logit[k]);
      const double lse = logit[k] + std::log(sum);
      std::vector<double> r;
      for (double l : logit) r.push_back(std::exp(l - logit[k]) / sum);
      vector<double> s = vector<double>::Zero(x.size());
      for (std::size_t i = 0; i < u.size(); ++i) s -= r[i] * u[i];
      double lap = 0, umax = 0, cmax = 0, trmax = 0;
      for (std::size_t i = 0; i < u.size(); ++i) {
        lap += r[i] * ((u[i] + s).squaredNorm() - tr[i]);
        umax = std::max(umax, u[i].cwiseAbs().maxCoeff());
        cmax = std::max(cmax, (u[i] + s).norm());
        trmax = std::max(trmax, tr[i]);
      }
      const auto v = evaluate_at(m, t, x);
      const double e = std::numeric_limits<S>::epsilon();
      REQUIRE(std::isfinite(v.log_p));
      REQUIRE(v.score.allFinite());
      REQUIRE(std::isfinite(v.lap));
      REQUIRE(v.grad_lap.allFinite());
      CHECK(std::abs(v.log_p - lse) <= 64 * e * std::abs(lse));
      CHECK((v.score - s).cwiseAbs().maxCoeff() <= 64 * e * umax);
      CHECK(std::abs(v.lap - lap) <= 64 * e * (trmax + cmax * (umax + cmax)) * x.size());
      if (t <= 0.5) {
        CHECK((v.score + u[k]).cwiseAbs().maxCoeff() <= 64 * e * umax);
        CHECK(std::abs(v.lap + tr[k]) <= 64 * e * tr[k]);
      }
      matrix<S> Xs = x.cast<S>(), Den;
      m.denoiser(t, Xs, Den);
      CHECK(Den.allFinite());
    }
  };
  for (double t : {0.0, 0.3, 0.5, 1.0}) {
    check(test::gmm1<double>(), t, vec({1.0}));
    check(test::gmm1<float>(), t, vec({1.0}));
    check(test::gmm2<double>(), t, vec({1.0, 1.0}));
    check(test::gmm2<double>(), t, vec({-0.3, 1.0}));
    check(test::gmm2<float>(), t, vec({1.0, -2.0}));
    check(test::random_mixture(5, 4, 9), t, vec({1, -1, 0.5, 2, 0.1}));
  }
}

// ------------------------------------------------------------------------------ posterior

TEST_CASE("gaussian_mixture: posterior equals p_s(y) N(x_t; a y, v) / p_t(x_t)", "[unit]") {
  auto check = [](const auto& m, double s, double t, const vector<double>& xt) {
    INFO("s = " << s << ", t = " << t);
    const long D = m.dimension();
    const auto& p = m.process();
    const double a = p.alpha(t) / p.alpha(s), v = p.sigma2(t) - a * a * p.sigma2(s);
    const auto post = m.posterior(s, t, xt);
    double wsum = 0;
    for (double w : post.weights()) wsum += w;
    CHECK(std::abs(wsum - 1) <= 100 * eps_d);
    vector<double> lpt;
    m.log_density(t, matrix<double>(xt), lpt);
    matrix<double> Y(D, 4);
    m.sample(s, 1, 0, Y);
    vector<double> lps;
    matrix<double> Ss;
    m.log_density(s, Y, lps);
    m.score(s, Y, Ss);
    for (long j = 0; j < Y.cols(); ++j) {
      const vector<double> y = Y.col(j);
      const vector<double> r = xt - a * y;
      const double expected = lps(j) - 0.5 * D * std::log(2 * std::numbers::pi * v) -
                              0.5 * r.squaredNorm() / v - lpt(0);
      const double got = post.log_density(y);
      CHECK(std::abs(got - expected) <= 1e3 * eps_d * (1 + std::abs(lps(j)) + r.squaredNorm() / v));
      vector<double> g;
      post.score(y, g);
      const vector<double> g_expected = Ss.col(j) + (a / v) * r;
      CHECK((g - g_expected).cwiseAbs().maxCoeff() <=
            1e3 * eps_d * (1 + Ss.col(j).cwiseAbs().maxCoeff() + (a / v) * r.cwiseAbs().maxCoeff()));
      matrix<double> H, Hs;
      post.hessian(y, H);
      m.hessian(s, y, Hs);
      const matrix<double> H_expected = Hs - (a * a / v) * matrix<double>::Identity(D, D);
      CHECK((H - H_expected).cwiseAbs().maxCoeff() <= 1e4 * eps_d * (1 + H_expected.cwiseAbs().maxCoeff()));
    }
  };
  check(test::gmm1(), 0.0, 0.3, vec({0.05}));
  check(test::gmm1(), 0.1, 0.5, vec({-1.0}));
  check(test::gmm2(), 0.0, 0.4, vec({0.3, 0.2}));
  check(test::gmm2(), 0.2, 0.6, vec({-0.8, 0.1}));
  check(test::random_mixture(3, 3, 5), 0.05, 0.3, vec({0.5, -1, 2}));
  using gm = gaussian_mixture<double, vp_process>;
  matrix<double> mu(2, 2);
  mu << 1, -1, 0, 0.5;
  check(gm::isotropic(vp_process{}, {1, 1}, mu, {0.2, 0.6}), 0.1, 0.3, vec({0.2, 0.1}));
  matrix<double> dg(2, 2);
  dg << 0.2, 0.6, 0.05, 0.3;
  check(gm::diagonal(vp_process{}, {1, 3}, mu, dg), 0.0, 0.7, vec({-0.4, 0.3}));
}

// ------------------------------------------------------------------------------ sampling

TEST_CASE("gaussian_mixture: sample moments match the exact mean and covariance",
          "[statistical]") {
  // For n iid samples the sample mean of x_i has standard error sqrt(C_ii / n); the sample
  // mean of z_ij = (x_i - m_i)(x_j - m_j) (exact mean m, so E z_ij = C_ij) has standard error
  // sd(z_ij) / sqrt(n), with sd estimated from the same samples. Bounds: 5 standard errors.
  auto check = [](const auto& m, double t, std::uint64_t seed) {
    INFO("D = " << m.dimension() << ", t = " << t);
    const long D = m.dimension(), n = 20000;
    matrix<double> X(D, n);
    m.sample(t, seed, 0, X);
    const vector<double> mean = m.marginal_mean(t);
    const matrix<double> C = m.marginal_covariance(t);
    const matrix<double> Z = X.colwise() - mean;
    for (long i = 0; i < D; ++i) {
      CHECK(std::abs(Z.row(i).mean()) <= 5 * std::sqrt(C(i, i) / n));
      for (long j = 0; j <= i; ++j) {
        const Eigen::ArrayXd z = (Z.row(i).array() * Z.row(j).array()).transpose();
        const double sd = std::sqrt((z - z.mean()).square().sum() / (n - 1));
        CHECK(std::abs(z.mean() - C(i, j)) <= 5 * sd / std::sqrt(double(n)));
      }
    }
  };
  check(test::gmm1(), 0.0, 1);
  check(test::gmm1(), 0.5, 2);
  check(test::gmm2(), 0.0, 3);
  check(test::gmm2(), 0.4, 4);
  check(test::random_mixture(3, 3, 31), 0.2, 5);
  // One strongly correlated component: the covariance check then resolves the Cholesky
  // factor's orientation (L z, not L^T z) to ~1% of the entries.
  check(test::random_mixture(3, 1, 32), 0.0, 6);
  check(test::random_mixture(4, 1, 33), 0.1, 7);

  // Component frequencies: means 40 apart with unit-scale covariances, so each sample is
  // closest to the mean of its own component (the chance of crossing is far below 1e-30).
  // count_k ~ Binomial(n, w_k): within 5 sqrt(n w_k (1 - w_k)).
  matrix<double> mu(2, 3);
  mu << 0, 40, 0, 0, 0, 40;
  std::vector<matrix<double>> cov(3, matrix<double>::Identity(2, 2));
  cov[1](0, 1) = cov[1](1, 0) = 0.6;
  const gaussian_mixture<double, vp_process> m(vp_process{}, {0.2, 0.5, 0.3}, mu, cov);
  const long n = 20000;
  matrix<double> X(2, n);
  m.sample(0.0, 17, 0, X);
  std::vector<double> count(3, 0.0);
  for (long j = 0; j < n; ++j) {
    long best = 0;
    for (long k = 1; k < 3; ++k)
      if ((X.col(j) - mu.col(k)).norm() < (X.col(j) - mu.col(best)).norm()) best = k;
    count[best] += 1;
  }
  for (long k = 0; k < 3; ++k) {
    const double w = m.weights()[k];
    CHECK(std::abs(count[k] - n * w) <= 5 * std::sqrt(n * w * (1 - w)));
  }
}

TEST_CASE("gaussian_mixture: samples are keyed by trajectory id, not batch position", "[repro]") {
  const auto m = test::random_mixture(3, 4, 8);
  std::vector<std::uint64_t> ids(64);
  for (std::size_t j = 0; j < ids.size(); ++j) ids[j] = 100 + j;
  matrix<double> X64(3, 64), X7(3, 7), X1(3, 1), Xf(3, 64);
  m.sample(0.3, 42, ids.data(), X64);
  const std::uint64_t ids7[7] = {137, 100, 163, 101, 120, 121, 150};
  m.sample(0.3, 42, ids7, X7);
  for (int j = 0; j < 7; ++j) CHECK(X7.col(j) == X64.col(long(ids7[j] - 100)));
  const std::uint64_t id1 = 150;
  m.sample(0.3, 42, &id1, X1);
  CHECK(X1.col(0) == X64.col(50));
  m.sample(0.3, 42, 100, Xf);  // first_id overload
  CHECK(Xf == X64);
  matrix<double> Xo(3, 64);
  m.sample(0.3, 43, ids.data(), Xo);
  CHECK((Xo - X64).cwiseAbs().minCoeff() > 0);  // another seed, other draws
  // float samples are the double ones rounded.
  const auto mf = test::random_mixture<float>(3, 4, 8);
  matrix<float> F(3, 64);
  mf.sample(0.3, 42, 100, F);
  CHECK(F == X64.cast<float>());
}

TEST_CASE("gaussian_mixture: a column's results do not depend on its batch", "[repro]") {
  auto check = [](const auto& m, double t) {
    using S = typename std::decay_t<decltype(m)>::scalar_type;
    const long D = m.dimension();
    matrix<S> X(D, 64);
    m.sample(t, 9, 0, X);
    auto all = [&](const matrix<S>& P) {
      matrix<S> S1, S2, G, Den;
      vector<S> L, lp;
      m.score(t, P, S1);
      m.score_and_laplacian(t, P, S2, L);
      m.grad_laplacian(t, P, G);
      m.denoiser(t, P, Den);
      m.log_density(t, P, lp);
      // One stacked matrix: rows = score, score (from score_and_laplacian), G, denoiser, L, lp.
      matrix<S> out(4 * D + 2, P.cols());
      out << S1, S2, G, Den, L.transpose(), lp.transpose();
      return out;
    };
    const matrix<S> ref = all(X);
    CHECK(ref.topRows(D) == ref.middleRows(D, D));  // score() == score_and_laplacian()'s score
    for (long first : {0L, 1L, 13L, 57L}) {
      const matrix<S> sub = X.middleCols(first, 7);
      CHECK(all(sub) == ref.middleCols(first, 7));
    }
    for (long j : {0L, 3L, 33L, 63L}) CHECK(all(X.col(j)) == ref.col(j));
  };
  for (double t : {0.0, 0.3}) {
    check(test::gmm1<double>(), t);
    check(test::gmm2<double>(), t);
    check(test::gmm2<float>(), t);
    check(test::random_mixture<double>(5, 3, 4), t);
    check(test::random_mixture<float>(7, 2, 4), t);
    using gm = gaussian_mixture<double, vp_process>;
    matrix<double> mu = matrix<double>::Zero(6, 2), dg = matrix<double>::Constant(6, 2, 0.3);
    mu(0, 1) = 1;
    dg(2, 0) = 0.1;
    check(gm::diagonal(vp_process{}, {1, 2}, mu, dg), t);
    check(gm::isotropic(vp_process{}, {1, 2}, mu, {0.1, 0.7}), t);
  }
}

// The frame's own factorisation kernels (blocks of 32 rows, tails one by one) on random SPD
// matrices of every block arrangement up to 70. Bounds (Higham, Accuracy and Stability, thms
// 10.3 and 8.5): the computed factor has |L L^T - P| <= gamma_{D+1} |L| |L^T| and the computed
// inverse |L G - I| <= gamma_D |L| |G|, elementwise, gamma_n = n eps / (1 - n eps); forming
// the residuals' products in double adds as much again, hence the factors 2.
TEST_CASE("gaussian_mixture: the frame's Cholesky factor and triangular inverse are backward stable",
          "[unit]") {
  for (long D : {1L, 2L, 7L, 31L, 32L, 33L, 40L, 64L, 70L}) {
    const matrix<double> A = matrix<double>::Random(D, D);
    const matrix<double> P = (A * A.transpose() / double(D) + 0.01 * matrix<double>::Identity(D, D)).eval();
    matrix<double> L = P;
    detail::gmm::cholesky_in_place(L, 0, 0.0);
    CHECK(L.isLowerTriangular(0.0));
    const double g1 = double(D + 1) * eps_d / (1 - double(D + 1) * eps_d);
    const matrix<double> absLLT = L.cwiseAbs() * L.cwiseAbs().transpose();
    const matrix<double> r1 = (L * L.transpose() - P).cwiseAbs();
    INFO("D = " << D);
    CHECK((r1.array() <= 2 * g1 * absLLT.array()).all());
    matrix<double> GT;
    detail::gmm::frame<double>::invert_lower(L, GT);
    const matrix<double> G = GT.transpose();
    CHECK(G.isLowerTriangular(0.0));
    const double g2 = double(D) * eps_d / (1 - double(D) * eps_d);
    const matrix<double> r2 = (L * G - matrix<double>::Identity(D, D)).cwiseAbs();
    CHECK((r2.array() <= 2 * g2 * (L.cwiseAbs() * G.cwiseAbs()).array()).all());
  }
  matrix<double> indefinite(2, 2);
  indefinite << 1, 2, 2, 1;
  REQUIRE_THROWS_WITH(detail::gmm::cholesky_in_place(indefinite, 3, 0.5),
                      Contains("[dlogp.invalid_argument]") &&
                          Contains("covariance of component 3 at t = 0.5 is not positive definite"));
}

// ------------------------------------------------------------------------------ errors

TEST_CASE("gaussian_mixture: invalid parameters are rejected", "[unit]") {
  using gm = gaussian_mixture<double, vp_process>;
  const vp_process p;
  matrix<double> mu(1, 3);
  mu << -2, 0, 2.5;
  const std::vector<double> var{0.16, 0.09, 0.25};
  REQUIRE_THROWS_WITH(gm::isotropic(p, {0.3, 0.5, -0.1}, mu, var),
                      Contains("[dlogp.invalid_argument]") &&
                          Contains("gaussian_mixture: weight 2 is negative (-0.1)"));
  REQUIRE_THROWS_WITH(gm::isotropic(p, {0.3, 0.0, 0.2}, mu, var),
                      Contains("[dlogp.invalid_argument]") && Contains("weight 1 is zero"));
  REQUIRE_THROWS_WITH(gm::isotropic(p, {0.3, NAN, 0.2}, mu, var),
                      Contains("[dlogp.invalid_argument]") && Contains("weight 1 is not finite"));
  REQUIRE_THROWS_WITH(gm::isotropic(p, {1e308, 1e308, 1e308}, mu, var),
                      Contains("[dlogp.invalid_argument]") && Contains("do not sum"));
  REQUIRE_THROWS_WITH(gm::isotropic(p, {}, matrix<double>(1, 0), {}),
                      Contains("[dlogp.invalid_argument]") && Contains("at least one component"));
  REQUIRE_THROWS_WITH(gm::isotropic(p, {0.5, 0.5}, mu, var),
                      Contains("[dlogp.dimension_mismatch]") && Contains("number of means"));
  REQUIRE_THROWS_WITH(gm::isotropic(p, {0.3, 0.5, 0.2}, mu, {0.1, 0.2}),
                      Contains("[dlogp.dimension_mismatch]") && Contains("number of variances"));
  REQUIRE_THROWS_WITH(gm::isotropic(p, {0.3, 0.5, 0.2}, mu, {0.1, -0.2, 0.3}),
                      Contains("[dlogp.invalid_argument]") && Contains("variance 1"));
  matrix<double> bad_mu = mu;
  bad_mu(0, 1) = INFINITY;
  REQUIRE_THROWS_WITH(gm::isotropic(p, {0.3, 0.5, 0.2}, bad_mu, var),
                      Contains("[dlogp.invalid_argument]") && Contains("mean 1 is not finite"));
  REQUIRE_THROWS_WITH(gm::diagonal(p, {0.3, 0.5, 0.2}, mu, matrix<double>::Ones(2, 3)),
                      Contains("[dlogp.dimension_mismatch]") && Contains("diagonals rows"));
  REQUIRE_THROWS_WITH(gm::diagonal(p, {0.3, 0.5, 0.2}, mu, matrix<double>::Zero(1, 3)),
                      Contains("[dlogp.invalid_argument]") && Contains("diagonal entry 0"));

  matrix<double> mu2(2, 1);
  mu2 << 0, 0;
  matrix<double> S(2, 2);
  S << 1, 0.5, 0.5001, 1;
  REQUIRE_THROWS_WITH(gm(p, {1.0}, mu2, {S}),
                      Contains("[dlogp.invalid_argument]") && Contains("covariance 0 is not symmetric"));
  S << 1, 2, 2, 1;
  REQUIRE_THROWS_WITH(gm(p, {1.0}, mu2, {S}), Contains("[dlogp.invalid_argument]") &&
                                                  Contains("covariance 0 is not positive definite"));
  S << 1, 0, 0, NAN;
  REQUIRE_THROWS_WITH(gm(p, {1.0}, mu2, {S}),
                      Contains("[dlogp.invalid_argument]") && Contains("covariance 0 is not finite"));
  REQUIRE_THROWS_WITH(gm(p, {1.0}, mu2, {matrix<double>::Identity(3, 3)}),
                      Contains("[dlogp.dimension_mismatch]") && Contains("covariance 0 rows"));
  REQUIRE_THROWS_WITH(gm(p, {1.0}, mu2, {}),
                      Contains("[dlogp.dimension_mismatch]") && Contains("number of covariances"));
  // Symmetric up to 1e-12 relative is accepted (and symmetrised).
  S << 1, 0.5, 0.5 + 1e-14, 1;
  CHECK_NOTHROW(gm(p, {1.0}, mu2, {S}));

  const auto m = test::gmm2();
  matrix<double> X(3, 2), Out;
  vector<double> lp;
  REQUIRE_THROWS_WITH(m.score(0.1, X, Out),
                      Contains("[dlogp.dimension_mismatch]") && Contains("gaussian_mixture"));
  REQUIRE_THROWS_WITH(m.log_density(0.1, X, lp), Contains("[dlogp.dimension_mismatch]"));
  matrix<double> X2 = matrix<double>::Zero(2, 2);
  REQUIRE_THROWS_WITH(m.score(-0.1, X2, Out),
                      Contains("[dlogp.invalid_argument]") && Contains("time must be finite"));
  REQUIRE_THROWS_WITH(m.score(NAN, X2, Out), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(m.posterior(0.3, 0.3, vec({0, 0})),
                      Contains("[dlogp.invalid_argument]") && Contains("0 <= s < t"));
  REQUIRE_THROWS_WITH(m.posterior(0.1, 0.3, vec({0})), Contains("[dlogp.dimension_mismatch]"));
  REQUIRE_THROWS_WITH(m.sample(0.3, 1, static_cast<const std::uint64_t*>(nullptr), X2),
                      Contains("[dlogp.invalid_argument]") && Contains("trajectory ids"));
  REQUIRE_THROWS_WITH(m.sample(0.3, 1, 0, X), Contains("[dlogp.dimension_mismatch]"));
  REQUIRE_THROWS_WITH(m.covariance(3), Contains("[dlogp.invalid_argument]"));
  vector<double> x3(3);
  matrix<double> H;
  REQUIRE_THROWS_WITH(m.hessian(0.1, x3, H), Contains("[dlogp.dimension_mismatch]"));
}

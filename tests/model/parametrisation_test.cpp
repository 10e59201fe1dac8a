#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/divergence/divergence.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/model/parametrisation.hpp>
#include <dlogp/model/perturbed_score.hpp>
#include <dlogp/process/rectified_flow.hpp>
#include <dlogp/process/vp.hpp>
#include <limits>

#include "support/oracle.hpp"

using namespace dlogp;
using Catch::Matchers::Contains;

namespace {

constexpr double eps_d = std::numeric_limits<double>::epsilon();

constexpr parametrisation all_kinds[] = {parametrisation::score, parametrisation::epsilon,
                                         parametrisation::x0, parametrisation::v,
                                         parametrisation::flow_velocity};

/// What an ideal network of each parametrisation predicts, computed from the oracle's
/// DENOISER (the mixture formula sum_k r_k (mu_k + alpha S_k u_k), not the score):
///   eps = (x - alpha D) / sigma,  v = alpha eps - sigma D,
///   u = alpha' D + sigma' eps with alpha' = f alpha, sigma' = (g^2 + 2 f sigma^2) / (2 sigma)
/// (the PF-ODE field is E[d x_t / dt | x_t] for x_t = alpha x_0 + sigma eps).
template <class M, class P>
matrix<double> ideal_output(const M& m, const P& p, parametrisation kind, double t,
                            const matrix<double>& X) {
  matrix<double> D;
  m.denoiser(t, X, D);
  const double a = p.alpha(t), s = p.sigma(t), f = p.f(t), g2 = p.g2(t);
  const matrix<double> eps = (X - a * D) / s;
  switch (kind) {
    case parametrisation::score: {
      matrix<double> S;
      m.score(t, X, S);
      return S;
    }
    case parametrisation::epsilon: return eps;
    case parametrisation::x0: return D;
    case parametrisation::v: return a * eps - s * D;
    case parametrisation::flow_velocity:
      return f * a * D + ((g2 + 2 * f * s * s) / (2 * s)) * eps;
  }
  return {};
}

/// A "network" that predicts the ideal output of one parametrisation.
template <class M, class P>
struct ideal_net {
  using scalar_type = double;
  const M* m;
  P p;
  parametrisation kind;
  long dimension() const { return m->dimension(); }
  void evaluate(double t, const matrix<double>& X, matrix<double>& out) const {
    out = ideal_output(*m, p, kind, t, X);
  }
};

}  // namespace

TEST_CASE("parametrisation: from_score then to_score is the identity", "[unit]") {
  // Two affine maps with coefficients of size c = max(|a|, |b|) each: the round trip is exact
  // up to ~ 8 eps of the terms' size (|s| + |x| / sigma^2 covers both maps' terms).
  auto check = [](const auto& p, double t) {
    const auto m = test::gmm2(p);
    matrix<double> X(2, 9), S;
    m.sample(t, 3, 0, X);
    m.score(t, X, S);
    for (parametrisation kind : all_kinds) {
      INFO(p.name() << ", t = " << t << ", " << to_string(kind));
      matrix<double> R = S;
      from_score(kind, p, t, X, R);
      if (kind != parametrisation::score) CHECK((R - S).cwiseAbs().maxCoeff() > 1e-6);
      to_score(kind, p, t, X, R);
      const double scale = S.cwiseAbs().maxCoeff() + X.cwiseAbs().maxCoeff() / p.sigma2(t);
      CHECK((R - S).cwiseAbs().maxCoeff() <= 64 * eps_d * scale);
    }
  };
  for (double t : {0.01, 0.3, 0.9}) {
    check(vp_process{}, t);
    check(rectified_flow_process{}, t);  // alpha^2 + sigma^2 != 1 tests the v normalisation
  }
}

TEST_CASE("parametrisation: each adapter turns the oracle's exact prediction into its score",
          "[ground-truth]") {
  // Rounding: the ideal outputs and the maps involve terms of size |x| / sigma^2 and |s|
  // (divided and multiplied by alpha, sigma); 1e3 eps of that size.
  auto check = [](const auto& p, double t) {
    for (long D : {1L, 2L, 5L}) {
      const auto m = test::random_mixture(D, 3, 40 + D, p);
      matrix<double> X(D, 12), S;
      m.sample(t, 8, 0, X);
      m.score(t, X, S);
      for (parametrisation kind : all_kinds) {
        INFO(p.name() << ", D = " << D << ", t = " << t << ", " << to_string(kind));
        matrix<double> R = ideal_output(m, p, kind, t, X);
        to_score(kind, p, t, X, R);
        const double scale = S.cwiseAbs().maxCoeff() +
                             X.cwiseAbs().maxCoeff() / (p.sigma2(t) * std::min(1.0, p.alpha(t)));
        CHECK((R - S).cwiseAbs().maxCoeff() <= 1e3 * eps_d * scale);
      }
    }
  };
  for (double t : {0.02, 0.3, 0.7}) {
    check(vp_process{}, t);
    check(rectified_flow_process{}, t);
  }
}

TEST_CASE("parametrisation: parametrised_score_model wraps a network into a score model",
          "[unit]") {
  const vp_process p;
  const auto m = test::gmm2(p);
  using net = ideal_net<std::decay_t<decltype(m)>, vp_process>;
  static_assert(score_model<parametrised_score_model<net, vp_process>>);
  static_assert(score_model<parametrised_score_model<const net&, vp_process>>);
  for (parametrisation kind : all_kinds) {
    INFO(to_string(kind));
    const net n{&m, p, kind};
    const parametrised_score_model model(n, p, kind);
    const parametrised_score_model<const net&, vp_process> by_ref(n, p, kind);
    CHECK(model.dimension() == 2);
    CHECK(model.kind() == kind);
    matrix<double> X(2, 5), S, Sm, Sr;
    m.sample(0.4, 1, 0, X);
    m.score(0.4, X, S);
    model.score(0.4, X, Sm);
    by_ref.score(0.4, X, Sr);
    CHECK(Sm == Sr);
    CHECK((Sm - S).cwiseAbs().maxCoeff() <= 1e3 * eps_d * (1 + X.cwiseAbs().maxCoeff() / p.sigma2(0.4)));
  }
  const net n{&m, p, parametrisation::epsilon};
  const parametrised_score_model model(n, p, parametrisation::epsilon);
  matrix<double> X3(3, 2), S;
  REQUIRE_THROWS_WITH(model.score(0.4, X3, S), Contains("[dlogp.dimension_mismatch]") &&
                                                   Contains("parametrised_score_model"));
}

namespace {
/// A linear "network" raw(t, x) = A x + t c with its exact JVP (A v) and Jacobian trace (tr A).
struct linear_net {
  using scalar_type = double;
  matrix<double> A;
  vector<double> c;
  long dimension() const { return A.rows(); }
  void evaluate(double t, const matrix<double>& X, matrix<double>& out) const {
    out = A * X;
    out.colwise() += t * c;
  }
  void evaluate_jvp(double t, const matrix<double>& X, const matrix<double>& V, matrix<double>& out,
                    matrix<double>& JV) const {
    evaluate(t, X, out);
    JV = A * V;
  }
  void evaluate_and_trace(double t, const matrix<double>& X, matrix<double>& out, vector<double>& tr) const {
    evaluate(t, X, out);
    tr = vector<double>::Constant(X.cols(), A.trace());
  }
};
}  // namespace

TEST_CASE("parametrisation: parametrised_score_model forwards the network's JVP and trace", "[unit]") {
  // score = a raw + b x, so J_score = a A + b I, div = a tr(A) + b D, JV = a A V + b V: the
  // adapter must give these through the network's own derivatives (route laplacian / jvp,
  // not finite differences). Tolerance: a few ulps of the terms (D = 3 sums).
  const vp_process p;
  const double t = 0.3;
  linear_net n{matrix<double>(3, 3), vector<double>(3)};
  n.A << 0.5, -0.2, 0.1, 0.3, 1.2, -0.4, 0.0, 0.7, -0.9;
  n.c << 0.1, -0.3, 0.2;
  using model_t = parametrised_score_model<linear_net, vp_process>;
  STATIC_REQUIRE(exact_divergence_route_v<model_t> == divergence_route::laplacian);
  STATIC_REQUIRE(score_jvp_route_v<model_t> == divergence_route::jvp);
  matrix<double> X(3, 4), V(3, 4);
  X << 0.2, -1.0, 0.5, 2.0, 1.1, 0.3, -0.7, 0.0, -0.4, 0.9, 1.5, -2.2;
  V << 1.0, 0.0, -0.5, 0.25, 0.0, 2.0, 1.0, -1.0, 0.5, 0.5, 0.0, 3.0;
  for (parametrisation kind : all_kinds) {
    INFO(to_string(kind));
    const model_t m(n, p, kind);
    const auto c = to_score_coefficients(kind, p, t);
    const matrix<double> J = c.scale * n.A + c.shift * matrix<double>::Identity(3, 3);
    matrix<double> S, S2, JV;
    vector<double> lap;
    m.score(t, X, S);
    m.score_jvp(t, X, V, S2, JV);
    CHECK(S2 == S);
    const double tol = 16 * eps_d * (std::abs(c.scale) + std::abs(c.shift)) * 10;
    CHECK((JV - J * V).cwiseAbs().maxCoeff() <= tol);
    m.score_and_laplacian(t, X, S2, lap);
    CHECK(S2 == S);
    for (long j = 0; j < X.cols(); ++j) CHECK(std::abs(lap(j) - J.trace()) <= tol);
    // The divergence estimator takes the exact route through them.
    exact_divergence<model_t> est(m);
    vector<double> div;
    CHECK(est.score_and_divergence(t, X, S2, div) == 1);
    for (long j = 0; j < X.cols(); ++j) CHECK(std::abs(div(j) - J.trace()) <= tol);
  }
}

TEST_CASE("parametrisation: singular maps are rejected", "[unit]") {
  const vp_process vp;
  const rectified_flow_process rf;
  matrix<double> X = matrix<double>::Ones(2, 3), out = matrix<double>::Ones(2, 3);
  // sigma(0) = 0: eps, x0 and v cannot give a score at t = 0.
  for (parametrisation kind : {parametrisation::epsilon, parametrisation::x0, parametrisation::v})
    REQUIRE_THROWS_WITH(to_score(kind, vp, 0.0, X, out),
                        Contains("[dlogp.invalid_argument]") && Contains("sigma > 0"));
  // Rectified flow: g^2(0) = 0 for the velocity; alpha(1) = 0 for x0 / v predictions.
  REQUIRE_THROWS_WITH(to_score(parametrisation::flow_velocity, rf, 0.0, X, out),
                      Contains("[dlogp.invalid_argument]") && Contains("g^2"));
  REQUIRE_THROWS_WITH(from_score(parametrisation::x0, rf, 1.0, X, out),
                      Contains("[dlogp.invalid_argument]") && Contains("alpha > 0"));
  REQUIRE_THROWS_WITH(from_score(parametrisation::v, rf, 1.0, X, out),
                      Contains("[dlogp.invalid_argument]") && Contains("alpha > 0"));
  matrix<double> bad(2, 4);
  REQUIRE_THROWS_WITH(to_score(parametrisation::epsilon, vp, 0.5, X, bad),
                      Contains("[dlogp.dimension_mismatch]"));
  // The score parametrisation is the identity everywhere, even at t = 0.
  CHECK_NOTHROW(to_score(parametrisation::score, vp, 0.0, X, out));
  CHECK(out == X);
}

TEST_CASE("parametrisation: float maps agree with double", "[unit]") {
  // One affine map per element: two roundings of terms of the result's size.
  const vp_process p;
  matrix<double> X(2, 4), R(2, 4);
  X << 0.5, -1, 2, 0.25, 1.5, 0.75, -0.5, 3;
  R << 0.1, 0.2, -0.3, 0.4, 1, -2, 0.5, 0.125;
  for (parametrisation kind : all_kinds) {
    matrix<double> d = R;
    matrix<float> f = R.cast<float>();
    to_score(kind, p, 0.3, X, d);
    to_score(kind, p, 0.3, matrix<float>(X.cast<float>()), f);
    const auto c = to_score_coefficients(kind, p, 0.3);
    const double scale = std::abs(c.scale) * R.cwiseAbs().maxCoeff() +
                         std::abs(c.shift) * X.cwiseAbs().maxCoeff();
    CHECK((f.cast<double>() - d).cwiseAbs().maxCoeff() <=
          4 * std::numeric_limits<float>::epsilon() * scale);
  }
}

// ------------------------------------------------------------------------------ perturbed_score

TEST_CASE("perturbed_score: scales the score and its derivatives by 1 + delta", "[unit]") {
  const auto m = test::gmm2();
  using pm = perturbed_score<std::decay_t<decltype(m)>>;
  static_assert(score_model<pm> && has_laplacian<pm> && has_hessian<pm> && has_grad_laplacian<pm>);
  static_assert(!has_log_density<pm> && !has_denoiser<pm>);  // no known density / denoiser
  const pm w(m, 0.3);
  CHECK(w.dimension() == 2);
  CHECK(w.delta() == 0.3);
  CHECK(w.process().beta_max() == 20.0);  // forwarded from the wrapped model
  matrix<double> X(2, 6), S, Sw, Sl, G, Gw, H, Hw;
  vector<double> L, Lw;
  m.sample(0.3, 2, 0, X);
  m.score_and_laplacian(0.3, X, S, L);
  w.score(0.3, X, Sw);
  CHECK(Sw == 1.3 * S);  // elementwise: exactly the same rounding
  w.score_and_laplacian(0.3, X, Sl, Lw);
  CHECK(Sl == Sw);
  CHECK(Lw == 1.3 * L);
  m.grad_laplacian(0.3, X, G);
  w.grad_laplacian(0.3, X, Gw);
  CHECK(Gw == 1.3 * G);
  m.hessian(0.3, X.col(0), H);
  w.hessian(0.3, X.col(0), Hw);
  CHECK(Hw == 1.3 * H);
  REQUIRE_THROWS_WITH(pm(m, NAN), Contains("[dlogp.invalid_argument]") && Contains("delta"));
}

TEST_CASE("perturbed_score: the docs/ground-truth.md S3 model score -(1 + 0.3) x / P_t", "[ground-truth]") {
  // Data N(0, 0.25): P_t = 0.25 alpha^2 + sigma^2; the perturbed oracle is -(1.3) x / P_t.
  const vp_process p;
  matrix<double> mu = matrix<double>::Zero(1, 1);
  const auto m = gaussian_mixture<double, vp_process>::isotropic(p, {1.0}, mu, {0.25});
  const perturbed_score w(m, 0.3);
  matrix<double> X(1, 5), S;
  X << -2, -0.5, 0, 0.7, 3;
  for (double t : {0.001, 0.3, 1.0}) {
    const double P = 0.25 * p.alpha(t) * p.alpha(t) + p.sigma2(t);
    w.score(t, X, S);
    const matrix<double> expected = -1.3 * X / P;
    CHECK((S - expected).cwiseAbs().maxCoeff() <= 8 * eps_d * expected.cwiseAbs().maxCoeff());
    vector<double> L;
    w.score_and_laplacian(t, X, S, L);
    CHECK(std::abs(L(0) + 1.3 / P) <= 8 * eps_d * 1.3 / P);
  }
}

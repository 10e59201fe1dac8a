// Exact divergence of a score field through each route (laplacian, jvp, dual, finite
// differences) against analytic traces, its cost accounting and batch invariance.
#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/core/random.hpp>
#include <dlogp/divergence/divergence.hpp>
#include <dlogp/divergence/exact.hpp>
#include <limits>
#include <string>

#include "support/score_field.hpp"

using namespace dlogp;
using namespace dlogp::test::score_field;

namespace {

template <class Scalar>
struct costly_laplacian_model : laplacian_model<Scalar> {
  long laplacian_cost() const { return 3; }
};

static_assert(exact_divergence_route_v<fd_model<double>> == divergence_route::finite_difference);
static_assert(exact_divergence_route_v<dual_model<double>> == divergence_route::dual);
static_assert(exact_divergence_route_v<jvp_model<float>> == divergence_route::jvp);
static_assert(exact_divergence_route_v<laplacian_model<double>> == divergence_route::laplacian);
static_assert(score_jvp_route_v<laplacian_model<double>> == divergence_route::finite_difference);
static_assert(!has_dual_score<fd_model<double>>);
static_assert(has_dual_score<dual_model<float>>);

/// Sum over i of the magnitudes of the terms making up J_ii (c_i + |B_ii|, or |A_ii|): the
/// scale of the rounding error of a computed trace (1 - tanh^2 x cancels for large |x|, so
/// |J_ii| itself would be too small a scale).
double diagonal_scale(const field& f) {
  double s = 0;
  for (long i = 0; i < f.D; ++i) s += f.linear ? std::abs(f.A(i, i)) : f.c(i) + std::abs(f.B(i, i));
  return s;
}

/// Worst-case error of the central-difference trace at x in scalar type S (step as in
/// exact.hpp: h_i = cbrt(eps) max(1, |x_i|)). Per coordinate:
///   truncation  h^2/6 |d^3 s_i/dx_i^3| + h^4/120 max|d^5 s_i/dx_i^5|   (Taylor with remainder)
///   rounding    (D + 3) eps M_i / h   (each s_i is a sum of D + 1 terms of size <= M_i, each
///                                     rounded; the difference of two such, over 2h)
///   asymmetry   eps (1 + |x_i|) max|d^2 s_i|   (x + h and x - h round differently)
/// plus D eps |div| for the final sum.
template <class S>
double fd_error_bound(const field& f, const vector<double>& x) {
  const double eps = double(std::numeric_limits<S>::epsilon());
  const double h0 = std::cbrt(eps);
  const long D = f.D;
  double bound = 0, trace_abs = 0;
  for (long i = 0; i < D; ++i) {
    const double h = h0 * std::max(1.0, std::abs(x(i))) * (1 + 4 * eps);
    double third = 0, fifth = 0, second = 0, M = 0;
    if (f.linear) {
      for (long k = 0; k < D; ++k) M += std::abs(f.A(i, k)) * (std::abs(x(k)) + h);
      trace_abs += std::abs(f.A(i, i));
    } else {
      const double th = std::tanh(x(i)), sech2 = 1 - th * th;
      third = std::abs(-f.c(i) * (4 * sech2 * th * th - 2 * sech2 * sech2) -
                       f.B(i, i) * std::cos(x(i)));
      fifth = 16 * f.c(i) + std::abs(f.B(i, i));  // |tanh^(5)| <= 16, |sin^(5)| <= 1
      second = 0.77 * f.c(i) + std::abs(f.B(i, i));  // |tanh''| <= 4 / (3 sqrt 3) < 0.77
      M = f.c(i);
      for (long k = 0; k < D; ++k) M += std::abs(f.B(i, k));
      trace_abs += f.c(i) * sech2 + std::abs(f.B(i, i));
      // Third derivative varies over [x - h, x + h]: bound its change by h * fourth (<= 16c + |B|).
      third += h * fifth;
    }
    bound += h * h / 6 * third + std::pow(h, 4) / 120 * fifth + (D + 3) * eps * M / h +
             eps * (1 + std::abs(x(i))) * second;
  }
  return bound + D * eps * trace_abs;
}

template <class Model>
Model make_model(long D, bool linear) {
  Model m;
  m.f = make_field(D, linear, 2024);
  return m;
}

/// Runs the exact estimator on N points and checks score and divergence against the field.
template <class Model>
void check_exact_route(long D, bool linear) {
  using S = scalar_of<Model>;
  const Model m = make_model<Model>(D, linear);
  const long N = 7;
  const matrix<S> X = make_points<S>(D, N, 5 + std::uint64_t(D));
  exact_divergence<Model> est(m);
  matrix<S> score;
  vector<S> div;
  m.calls = 0;
  const long cost = est.score_and_divergence(0.5, X, score, div);
  REQUIRE(score.rows() == D);
  REQUIRE(score.cols() == N);
  REQUIRE(div.size() == N);

  // Cost is honest: the number of model calls per column (each call evaluates all columns).
  const long expected_cost = Model::route_cost(D);
  CHECK(cost == expected_cost);
  CHECK(est.cost() == expected_cost);
  CHECK(m.calls == expected_cost);
  constexpr divergence_route route = exact_divergence<Model>::route;

  const double eps = double(std::numeric_limits<S>::epsilon());
  matrix<S> direct(D, N);
  m.f.apply(X, direct);
  for (long j = 0; j < N; ++j) {
    vector<double> x = X.col(j).template cast<double>();
    // Reference trace in double from the analytic Jacobian at the (rounded) point.
    const matrix<double> J = m.f.jacobian(x);
    double ref = 0;
    for (long i = 0; i < D; ++i) ref += J(i, i);
    const double scale = diagonal_scale(m.f);
    double tol;
    if constexpr (route == divergence_route::finite_difference) {
      tol = fd_error_bound<S>(m.f, x);
    } else if constexpr (std::is_same_v<S, double>) {
      tol = 1e-12 * scale;  // the brief's requirement; the rounding bound below is ~1e-14
    } else {
      // Each J_ii to ~5 eps of its term magnitudes (coefficient rounding, tanh / cos to 1 ulp,
      // 1 - tanh^2 to 3 eps absolute), then a D-term sum: |err| <= (D + 6) eps scale.
      tol = (D + 6) * eps * scale;
    }
    INFO("D = " << D << " column " << j << " route " << to_string(route) << " div "
                << div(j) << " ref " << ref << " tol " << tol);
    CHECK(std::abs(double(div(j)) - ref) <= tol);
    for (long i = 0; i < D; ++i) {
      if constexpr (route == divergence_route::dual) {
        // The value part of the dual pass runs the same operations as the plain score; allow
        // for a compiler contracting them differently: (D + 2) eps times the sum of |terms|.
        double M = m.f.linear ? 0.0 : m.f.c(i);
        for (long k = 0; k < D; ++k) M += std::abs(m.f.linear ? m.f.A(i, k) * x(k) : m.f.B(i, k));
        CHECK(std::abs(double(score(i, j)) - double(direct(i, j))) <= (D + 2) * eps * M);
      } else {
        CHECK(score(i, j) == direct(i, j));  // the model's own score call
      }
    }
  }
}

}  // namespace

// Costs per route, for check_exact_route.
template <class S> struct fd_cost : fd_model<S> { static long route_cost(long D) { return 2 * D + 1; } };
template <class S> struct dual_cost : dual_model<S> { static long route_cost(long D) { return D; } };
template <class S> struct jvp_cost : jvp_model<S> { static long route_cost(long D) { return D; } };
template <class S> struct lap_cost : laplacian_model<S> { static long route_cost(long) { return 1; } };

TEMPLATE_TEST_CASE("exact divergence: every route gives the analytic trace of the linear field",
                   "[unit]", double, float) {
  using S = TestType;
  for (long D : {1L, 2L, 5L, 16L}) {
    check_exact_route<dual_cost<S>>(D, true);
    check_exact_route<jvp_cost<S>>(D, true);
    check_exact_route<lap_cost<S>>(D, true);
    check_exact_route<fd_cost<S>>(D, true);
  }
}

TEMPLATE_TEST_CASE("exact divergence: every route gives the analytic trace of the nonlinear field",
                   "[unit]", double, float) {
  using S = TestType;
  for (long D : {1L, 2L, 5L, 16L}) {
    check_exact_route<dual_cost<S>>(D, false);
    check_exact_route<jvp_cost<S>>(D, false);
    check_exact_route<lap_cost<S>>(D, false);
    check_exact_route<fd_cost<S>>(D, false);
  }
}

TEST_CASE("exact divergence: finite differences are O(h^2) and visibly inexact", "[unit]") {
  // The bound is not vacuous: the measured finite-difference error on the nonlinear field is
  // above the pure-rounding level of the dual route and within the derived bound.
  const long D = 5;
  fd_cost<double> fd = make_model<fd_cost<double>>(D, false);
  dual_cost<double> du = make_model<dual_cost<double>>(D, false);
  const matrix<double> X = make_points<double>(D, 64, 11);
  exact_divergence<fd_cost<double>> e_fd(fd);
  exact_divergence<dual_cost<double>> e_du(du);
  matrix<double> s1, s2;
  vector<double> d1, d2;
  e_fd.score_and_divergence(0.1, X, s1, d1);
  e_du.score_and_divergence(0.1, X, s2, d2);
  double max_err = 0, max_ratio = 0;
  for (long j = 0; j < X.cols(); ++j) {
    const vector<double> x = X.col(j);
    max_err = std::max(max_err, std::abs(d1(j) - d2(j)));
    max_ratio = std::max(max_ratio, std::abs(d1(j) - d2(j)) / fd_error_bound<double>(fd.f, x));
  }
  INFO("max finite-difference error " << max_err << ", max error / bound " << max_ratio);
  CHECK(max_err > 1e-13);  // eps^(2/3) ~ 4e-11 scale: finite differences are visibly inexact
  CHECK(max_ratio <= 1.0);
}

TEST_CASE("exact divergence: the laplacian route reports the model's own cost", "[unit]") {
  const costly_laplacian_model<double> m = make_model<costly_laplacian_model<double>>(3, false);
  exact_divergence<costly_laplacian_model<double>> est(m);
  matrix<double> score;
  vector<double> div;
  CHECK(est.score_and_divergence(0.2, make_points<double>(3, 4, 1), score, div) == 3);
  CHECK(est.cost() == 3);
}

TEST_CASE("exact divergence: routes are named and the estimator reports the one in use",
          "[unit]") {
  CHECK(std::string(to_string(divergence_route::laplacian)) == "laplacian");
  CHECK(std::string(to_string(divergence_route::jvp)) == "jvp");
  CHECK(std::string(to_string(divergence_route::dual)) == "dual");
  CHECK(std::string(to_string(divergence_route::finite_difference)) == "finite-difference");
  CHECK(std::string(to_string(divergence_route::vjp)) == "vjp");
  const dual_model<double> m = make_model<dual_model<double>>(4, false);
  divergence_estimator<dual_model<double>> est(m);
  STATIC_REQUIRE(divergence_estimator<dual_model<double>>::exact_route == divergence_route::dual);
  CHECK(est.route() == divergence_route::dual);
  CHECK(est.description() == "exact (dual)");
  CHECK(est.cost() == 4);
  const laplacian_model<float> lm = make_model<laplacian_model<float>>(4, false);
  divergence_estimator<laplacian_model<float>> lest(lm);
  CHECK(lest.description() == "exact (laplacian)");
  CHECK(lest.cost() == 1);
}

TEST_CASE("exact divergence: the estimator's exact kind matches exact_divergence bit for bit",
          "[unit]") {
  const fd_model<double> m = make_model<fd_model<double>>(5, false);
  const matrix<double> X = make_points<double>(5, 9, 3);
  std::vector<std::uint64_t> ids(9);
  for (std::size_t j = 0; j < ids.size(); ++j) ids[j] = j;
  divergence_estimator<fd_model<double>> est(m, {});
  exact_divergence<fd_model<double>> ex(m);
  matrix<double> s1, s2;
  vector<double> d1, d2;
  const batch_context ctx{1, ids.data(), 9};
  CHECK(est.score_and_divergence(ctx, 0.3, X, s1, d1) == 11);
  ex.score_and_divergence(0.3, X, s2, d2);
  CHECK((d1.array() == d2.array()).all());
  CHECK((s1.array() == s2.array()).all());
}

TEST_CASE("exact divergence: wrong dimensions and zero probes are rejected", "[unit]") {
  const dual_model<double> m = make_model<dual_model<double>>(3, true);
  exact_divergence<dual_model<double>> est(m);
  matrix<double> score;
  vector<double> div;
  CHECK_THROWS_AS(est.score_and_divergence(0.1, make_points<double>(4, 2, 1), score, div),
                  dimension_mismatch);
  divergence_options o;
  o.probes = 0;
  CHECK_THROWS_WITH(divergence_estimator<dual_model<double>>(m, o),
                    Catch::Matchers::Contains("divergence: probes must be >= 1 (0)"));
  CHECK_THROWS_AS(divergence_estimator<dual_model<double>>(m, o), invalid_argument);
}

TEMPLATE_TEST_CASE("exact divergence: a column's result does not depend on the batch",
                   "[repro]", fd_model<double>, dual_model<double>, jvp_model<double>,
                   fd_model<float>, dual_model<float>) {
  using S = scalar_of<TestType>;
  const long D = 5, N = 64;
  const TestType m = make_model<TestType>(D, false);
  const matrix<S> X = make_points<S>(D, N, 17);
  exact_divergence<TestType> est(m);
  matrix<S> s_all, s_part;
  vector<S> d_all, d_part;
  est.score_and_divergence(0.4, X, s_all, d_all);
  for (long width : {1L, 7L}) {
    for (long j0 = 0; j0 < N; j0 += width) {
      const long w = std::min(width, N - j0);
      est.score_and_divergence(0.4, X.middleCols(j0, w), s_part, d_part);
      for (long j = 0; j < w; ++j) {
        CHECK(d_part(j) == d_all(j0 + j));
        CHECK((s_part.col(j).array() == s_all.col(j0 + j).array()).all());
      }
    }
  }
}

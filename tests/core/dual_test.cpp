// Forward-mode dual numbers: every rule against its analytic derivative, in double and float,
// and Eigen matrices of duals (products, mixed real x dual products, array functions).
#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/core/dual.hpp>
#include <dlogp/core/random.hpp>
#include <dlogp/core/types.hpp>
#include <limits>

using namespace dlogp;

namespace {

// A value computed by a handful of correctly rounded operations has a relative error of a few
// eps; 64 eps leaves room for the ~10 operations of the longest expression below (each at
// most eps/2, plus libm's <= 1 ulp) without hiding a wrong rule (those are O(1) off).
template <class T>
void check_close(T got, T want) {
  const T tol = 64 * std::numeric_limits<T>::epsilon() * std::max(T(1), std::abs(want));
  INFO("got " << got << " want " << want);
  CHECK(std::abs(got - want) <= tol);
}

template <class T>
void check_rule(dual<T> r, T value, T derivative) {
  check_close(r.v, value);
  check_close(r.d, derivative);
}

}  // namespace

TEMPLATE_TEST_CASE("dual: arithmetic follows the sum, product and quotient rules", "[unit]", double,
                   float) {
  using T = TestType;
  for (T x0 : {T(-1.7), T(0.3), T(2.5)}) {
    const dual<T> x(x0, T(1));
    const dual<T> y(T(1.25) * x0 + T(0.5), T(-0.75));  // y' = -0.75 along the same direction
    const T y0 = y.v, yd = y.d;
    check_rule(x + y, x0 + y0, T(1) + yd);
    check_rule(x - y, x0 - y0, T(1) - yd);
    check_rule(x * y, x0 * y0, y0 + x0 * yd);
    check_rule(x / y, x0 / y0, (y0 - x0 * yd) / (y0 * y0));
    check_rule(-x, -x0, T(-1));
    check_rule(+x, x0, T(1));
    // Scalar on either side; integer literals convert.
    check_rule(x + 2, x0 + 2, T(1));
    check_rule(3 + x, 3 + x0, T(1));
    check_rule(x - T(0.5), x0 - T(0.5), T(1));
    check_rule(T(0.5) - x, T(0.5) - x0, T(-1));
    check_rule(x * 3, 3 * x0, T(3));
    check_rule(T(-2) * x, -2 * x0, T(-2));
    check_rule(x / 4, x0 / 4, T(0.25));
    check_rule(T(2) / x, 2 / x0, -2 / (x0 * x0));
    // Compound assignment and a composite: f = (x^2 + 3) / (x - 5) * 2 - 1 / x.
    dual<T> a = x;
    a *= x;
    a += T(3);
    a /= (x - T(5));
    a *= T(2);
    a -= T(1) / x;
    const T f = (x0 * x0 + 3) / (x0 - 5) * 2 - 1 / x0;
    const T fd = 2 * (2 * x0 * (x0 - 5) - (x0 * x0 + 3)) / ((x0 - 5) * (x0 - 5)) + 1 / (x0 * x0);
    check_rule(a, f, fd);
    dual<T> zero = 0;
    CHECK(zero.v == 0);
    CHECK(zero.d == 0);
  }
}

TEMPLATE_TEST_CASE("dual: elementary functions have their analytic derivatives", "[unit]", double,
                   float) {
  using T = TestType;
  for (T x0 : {T(0.2), T(0.9), T(1.7)}) {
    const T u = T(-1.5);  // seed derivative: every rule must scale with it
    const dual<T> x(x0, u);
    check_rule(exp(x), std::exp(x0), std::exp(x0) * u);
    check_rule(expm1(x), std::expm1(x0), std::exp(x0) * u);
    check_rule(log(x), std::log(x0), u / x0);
    check_rule(log1p(x), std::log1p(x0), u / (1 + x0));
    check_rule(sqrt(x), std::sqrt(x0), u / (2 * std::sqrt(x0)));
    const T th = std::tanh(x0);
    check_rule(tanh(x), th, (1 - th * th) * u);
    check_rule(sin(x), std::sin(x0), std::cos(x0) * u);
    check_rule(cos(x), std::cos(x0), -std::sin(x0) * u);
    check_rule(pow(x, T(2.5)), std::pow(x0, T(2.5)), T(2.5) * std::pow(x0, T(1.5)) * u);
    check_rule(pow(x, 3), x0 * x0 * x0, 3 * x0 * x0 * u);
    // x^y with y = 2x: d = x^y (y' log x + y x'/x).
    const dual<T> y = T(2) * x;
    const T p = std::pow(x0, 2 * x0);
    check_rule(pow(x, y), p, p * (2 * u * std::log(x0) + 2 * x0 * u / x0));
    check_rule(pow(T(3), x), std::pow(T(3), x0), std::pow(T(3), x0) * std::log(T(3)) * u);
    check_rule(abs(x), x0, u);
    check_rule(abs(-x), x0, u);
    check_rule(abs(x - T(5)), 5 - x0, -u);
  }
  // abs at 0 takes the right branch; max / min carry the winner's derivative.
  check_rule(abs(dual<T>(0, 2)), T(0), T(2));
  const dual<T> a(1, 2), b(3, -4);
  check_rule(max(a, b), T(3), T(-4));
  check_rule(min(a, b), T(1), T(2));
  check_rule(max(a, T(0.5)), T(1), T(2));
  check_rule(max(T(5), a), T(5), T(0));
  check_rule(min(a, T(0.5)), T(0.5), T(0));
  check_rule(min(T(5), b), T(3), T(-4));
  // Derivatives of exp and tanh through ADL-qualified std calls, as generic model code does.
  using std::exp;
  using std::tanh;
  check_rule(exp(a) * tanh(a), std::exp(T(1)) * std::tanh(T(1)),
             T(2) * (std::exp(T(1)) * std::tanh(T(1)) +
                     std::exp(T(1)) * (1 - std::tanh(T(1)) * std::tanh(T(1)))));
  CHECK(isfinite(a));
  CHECK(isnan(dual<T>(std::numeric_limits<T>::quiet_NaN(), 0)));
  CHECK(isinf(dual<T>(1, std::numeric_limits<T>::infinity())));
}

TEST_CASE("dual: comparisons look at the value only", "[unit]") {
  const dual<double> a(1, 100), b(2, -100), c(1, -7);
  CHECK(a < b);
  CHECK(a <= b);
  CHECK(b > a);
  CHECK(b >= a);
  CHECK(a == c);
  CHECK(a != b);
  CHECK(a < 1.5);
  CHECK(1.5 < b);
  CHECK(a == 1.0);
  CHECK(2.0 == b);
  CHECK(a >= 1);
  CHECK_FALSE(a > 1);
}

TEMPLATE_TEST_CASE("dual: Eigen matrices of duals give value and directional derivative",
                   "[unit]", double, float) {
  using T = TestType;
  using D = dual<T>;
  // Sizes past Eigen's coefficient-product threshold, so the blocked GEMM path is used;
  // one column takes the GEMV path.
  for (long N : {1L, 3L, 40L}) {
    const long R = 17, K = 13;
    random_stream rs(7, std::uint64_t(N), purpose::user);
    std::uint64_t n = 0;
    matrix<T> A(R, K), X(K, N), U(K, N);
    for (long i = 0; i < A.size(); ++i) A.data()[i] = T(rs.normal(n++));
    for (long i = 0; i < X.size(); ++i) X.data()[i] = T(rs.normal(n++));
    for (long i = 0; i < U.size(); ++i) U.data()[i] = T(rs.normal(n++));
    matrix<D> Xd(K, N);
    for (long i = 0; i < X.size(); ++i) Xd.data()[i] = D(X.data()[i], U.data()[i]);

    // Reference in double with fixed-order sums; tolerance: K products summed in T, so the
    // error is at most K eps sum |a||x| (standard dot-product bound), times 2 for safety.
    const T eps = std::numeric_limits<T>::epsilon();
    auto check_product = [&](const matrix<D>& P, const matrix<T>& Lhs) {
      REQUIRE(P.rows() == R);
      REQUIRE(P.cols() == N);
      for (long j = 0; j < N; ++j)
        for (long i = 0; i < R; ++i) {
          double v = 0, d = 0, sv = 0, sd = 0;
          for (long k = 0; k < K; ++k) {
            v += double(Lhs(i, k)) * double(X(k, j));
            d += double(Lhs(i, k)) * double(U(k, j));
            sv += std::abs(double(Lhs(i, k)) * double(X(k, j)));
            sd += std::abs(double(Lhs(i, k)) * double(U(k, j)));
          }
          CHECK(std::abs(double(P(i, j).v) - v) <= 2 * K * double(eps) * sv);
          CHECK(std::abs(double(P(i, j).d) - d) <= 2 * K * double(eps) * sd);
        }
    };
    const matrix<D> Ad = A.template cast<D>();
    check_product(Ad * Xd, A);          // dual x dual
    check_product(A * Xd, A);           // real x dual (mixed kernel)
    const matrix<T> Aneg = -A;
    matrix<D> acc = matrix<D>::Zero(R, N);
    acc.noalias() -= A * Xd;            // accumulate into an existing matrix
    check_product(acc, Aneg);
    const matrix<D> XtAt = Xd.transpose() * A.transpose();  // dual x real
    check_product(XtAt.transpose(), A);

    // Array functions and scalar mixing.
    const matrix<D> E = (T(2) * Xd).array().exp().matrix();
    const matrix<D> M = Xd.cwiseMax(D(0));
    const matrix<D> Tn = Xd.array().tanh().matrix();
    for (long i = 0; i < X.size(); ++i) {
      const T x = X.data()[i], u = U.data()[i];
      check_rule(E.data()[i], std::exp(2 * x), 2 * std::exp(2 * x) * u);
      check_rule(M.data()[i], std::max(x, T(0)), x > 0 ? u : T(0));
      check_rule(Tn.data()[i], std::tanh(x), (1 - std::tanh(x) * std::tanh(x)) * u);
    }
  }
}

TEST_CASE("dual: the mixed real x dual product sums each column in a fixed order", "[repro]") {
  // Column j of W * X must not depend on how many columns X has (batch invariance of models
  // written with matrix products on the dual route).
  using D = dual<double>;
  const long R = 24, K = 24, N = 64;
  random_stream rs(3, 0, purpose::user);
  std::uint64_t n = 0;
  matrix<double> W(R, K);
  matrix<D> X(K, N);
  for (long i = 0; i < W.size(); ++i) W.data()[i] = rs.normal(n++);
  for (long i = 0; i < X.size(); ++i) {
    const double v = rs.normal(n++);
    X.data()[i] = D(v, rs.normal(n++));
  }
  const matrix<D> full = W * X;
  for (long j : {0L, 5L, 63L}) {
    const matrix<D> part = W * X.middleCols(j == 63 ? 57 : j, 7);
    const long pj = j == 63 ? 6 : 0;
    for (long i = 0; i < R; ++i) {
      CHECK(part(i, pj).v == full(i, j).v);
      CHECK(part(i, pj).d == full(i, j).d);
    }
  }
}

TEST_CASE("dual: NumTraits describe the underlying scalar", "[unit]") {
  using NT = Eigen::NumTraits<dual<double>>;
  CHECK(NT::epsilon().v == std::numeric_limits<double>::epsilon());
  CHECK(NT::epsilon().d == 0);
  CHECK(NT::highest().v == std::numeric_limits<double>::max());
  CHECK(NT::digits10() == std::numeric_limits<double>::digits10);
  STATIC_REQUIRE(NT::IsComplex == 0);
  STATIC_REQUIRE(NT::RequireInitialization == 1);
}

#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/core/normal_quantile.hpp>
#include <limits>

using namespace dlogp;

TEST_CASE("normal_quantile: matches 40-digit reference values to 1e-15", "[ground-truth]") {
  // mpmath (50 digits): root of ncdf(x) = p for the exact value of the double p (the decimal
  // literal differs by up to half an ulp, which near p = 1/2 moves x by 3e-10 relative).
  struct row {
    double p, x;
  };
  const row rows[] = {
      {0.7, 0.524400512708040656314},       {0.3, -0.524400512708040815969},
      {0.975, 1.9599639845400538556},       {0.9, 1.28155156554460059349},
      {0.1, -1.28155156554460043533},       {0.99, 2.32634787404084076764},
      {1e-10, -6.3613409024040561991},      {1e-300, -37.0470962993611992365},
      {0.999999, 4.75342430881708776569},   {0.02425, -1.9729610513118848376},
      {0.97575, 1.9729610513118849594},     {0.0001, -3.71901648545568055229},
      {0.4999999, -2.5066282747031065135e-7},
  };
  for (const auto& r : rows) {
    INFO("p = " << r.p);
    // "Accurate to ~1e-15": Halley after a 1.2e-9 start leaves only rounding, a few ulp.
    CHECK(std::abs(normal_quantile(r.p) - r.x) <= 1e-15 * std::abs(r.x));
  }
  CHECK(normal_quantile(0.5) == 0.0);
}

TEST_CASE("normal_quantile: inverts normal_cdf across the range", "[unit]") {
  // Round trip in the lower half where Phi(x) keeps full relative precision.
  for (double lp = -300; lp < std::log10(0.5); lp += 0.37) {
    const double p = std::pow(10.0, lp);
    const double x = normal_quantile(p);
    INFO("p = " << p << " x = " << x);
    // Relative error of Phi at x is a few ulp times (1 + |x| * x * ...): allow 1e-13 (x^2 grows
    // to 1400 at p = 1e-300, and d log Phi / d x ~ |x|, so an ulp of x is |x|^2 ulp of Phi).
    CHECK(std::abs(normal_cdf(x) / p - 1) <= 4e-16 * (4 + x * x));
  }
  // Symmetry where 1 - p is exact.
  for (double p : {0.5 + 0x1p-20, 0.75, 0.875, 0.984375, 1 - 0x1p-40}) {
    CHECK(normal_quantile(p) == -normal_quantile(1 - p));
  }
  // Smallest subnormal still gives a finite value.
  const double tiny = std::numeric_limits<double>::denorm_min();
  CHECK(std::isfinite(normal_quantile(tiny)));
  CHECK(normal_quantile(tiny) < -38);
}

TEST_CASE("normal_quantile: endpoints and invalid p", "[unit]") {
  CHECK(normal_quantile(0.0) == -std::numeric_limits<double>::infinity());
  CHECK(normal_quantile(1.0) == std::numeric_limits<double>::infinity());
  CHECK_THROWS_WITH(normal_quantile(1.5), Catch::StartsWith("[dlogp.invalid_argument] normal_quantile"));
  CHECK_THROWS_WITH(normal_quantile(-0.1), Catch::StartsWith("[dlogp.invalid_argument]"));
  CHECK_THROWS_WITH(normal_quantile(std::nan("")), Catch::StartsWith("[dlogp.invalid_argument]"));
}

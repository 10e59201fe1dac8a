#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/analysis/bits_per_dim.hpp>
#include <numbers>

using namespace dlogp;

TEST_CASE("bits_per_dim: a uniform density over 256 bins costs 8 bits per dimension", "[unit]") {
  // p = 1 on [0, 1]^D: log p = 0, bin width 1/256, -log2 P(bin) = 8 per dimension exactly.
  for (long D : {1L, 3L, 3072L})
    CHECK(bits_per_dim(0.0, D, bin_width(0.0, 1.0, 256)) == Approx(8.0).epsilon(1e-14));
  // The same data scaled to [-1, 1]: log p = -D ln 2, width 2/256, still 8 bits.
  CHECK(bits_per_dim(-3 * std::numbers::ln2, 3, bin_width(-1.0, 1.0, 256)) ==
        Approx(8.0).epsilon(1e-14));
}

TEST_CASE("bits_per_dim: rescaling the data does not change it", "[unit]") {
  // x' = c x: log p' = log p - D ln c and width' = c width.
  const long D = 5;
  const double log_p = -7.3, w = 1.0 / 255, c = 0.37;
  CHECK(bits_per_dim(log_p - D * std::log(c), D, c * w) ==
        Approx(bits_per_dim(log_p, D, w)).epsilon(1e-13));
}

TEST_CASE("bits_per_dim: matches the exact bits of a quantised Gaussian", "[ground-truth]") {
  // Standard normal quantised into bins of width h centred on x: P = Phi(x + h/2) - Phi(x - h/2)
  // = h p(x) (1 + h^2 (x^2 - 1) / 24 + O(h^4)), so the density formula differs from the exact
  // -log2 P by ~h^2 |x^2 - 1| / (24 ln 2): < 2e-5 for h = 0.01 and |x| <= 2.
  const double h = 0.01;
  for (double x : {-2.0, -0.5, 0.0, 1.3, 2.0}) {
    const double P = 0.5 * (std::erfc(-(x + h / 2) / std::sqrt(2.0)) -
                            std::erfc(-(x - h / 2) / std::sqrt(2.0)));
    const double log_p = -0.5 * std::log(2 * std::numbers::pi) - 0.5 * x * x;
    const double predicted = h * h * std::abs(x * x - 1) / (24 * std::numbers::ln2);
    INFO("x = " << x);
    CHECK(std::abs(bits_per_dim(log_p, 1, h) - (-std::log2(P))) <= 1.5 * predicted + 1e-12);
  }
}

TEST_CASE("bits_per_dim: bin width from a data range", "[unit]") {
  CHECK(bin_width(-1.0, 1.0, 256) == 2.0 / 256);
  CHECK(bin_width(-1.0, 1.0, 256, quantisation_grid::values) == 2.0 / 255);
  CHECK(bin_width(0.0, 255.0, 256, quantisation_grid::values) == 1.0);
}

TEST_CASE("bits_per_dim: batches and their mean", "[unit]") {
  vector<float> lp(3);
  lp << -1.0f, -2.0f, -3.0f;
  const vector<double> b = bits_per_dim(lp, 2, 0.5);
  for (long j = 0; j < 3; ++j) CHECK(b(j) == Approx(bits_per_dim(double(lp(j)), 2, 0.5)));
  const bpd_summary s = mean_bits_per_dim(lp, 2, 0.5);
  CHECK(s.mean == Approx(bits_per_dim(-2.0, 2, 0.5)));
  // Per-point bpd spacing 1 / (2 ln 2): sample sd of (-1, 0, 1) / (2 ln 2) over sqrt(3).
  CHECK(s.standard_error == Approx(1.0 / (2 * std::numbers::ln2) / std::sqrt(3.0)));
  CHECK(s.points == 3);
}

TEST_CASE("bits_per_dim: invalid arguments are rejected", "[unit]") {
  CHECK_THROWS_WITH(bits_per_dim(0.0, 0, 0.1),
                    Catch::Contains("[dlogp.invalid_argument] bits_per_dim: dimension must be >= 1"));
  CHECK_THROWS_WITH(bits_per_dim(0.0, 2, 0.0), Catch::Contains("bin width must be positive"));
  CHECK_THROWS_WITH(bin_width(1.0, 1.0, 10), Catch::Contains("need a finite data range"));
  CHECK_THROWS_WITH(bin_width(0.0, 1.0, 1, quantisation_grid::values),
                    Catch::Contains("need at least 2 quantisation levels"));
}

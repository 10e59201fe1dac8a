#pragma once
// Gauss-Legendre quadrature nodes and weights on [-1, 1], used for integrals over log-SNR
// (score-matching time nodes, log p between annealed-Langevin levels).
#include <cmath>
#include <cstddef>
#include <numbers>
#include <vector>

namespace dlogp::detail {

/// The n nodes x and weights w: Newton on P_n from the Chebyshev guess, to machine precision.
inline void gauss_legendre(int n, std::vector<double>& x, std::vector<double>& w) {
  x.assign(std::size_t(n), 0.0);
  w.assign(std::size_t(n), 0.0);
  for (int i = 0; i < n; ++i) {
    double z = std::cos(std::numbers::pi * (i + 0.75) / (n + 0.5)), dp = 1;
    for (int it = 0; it < 100; ++it) {
      double p0 = 1, p1 = z;
      for (int k = 2; k <= n; ++k) {
        const double p2 = ((2.0 * k - 1) * z * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      if (n == 1) p0 = 1;
      dp = n * (z * p1 - p0) / (z * z - 1);
      const double dz = p1 / dp;
      z -= dz;
      if (std::abs(dz) < 1e-16) break;
    }
    x[std::size_t(i)] = z;
    w[std::size_t(i)] = 2.0 / ((1 - z * z) * dp * dp);
  }
}

}  // namespace dlogp::detail

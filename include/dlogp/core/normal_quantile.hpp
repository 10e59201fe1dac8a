#pragma once
// Standard normal CDF and quantile Phi^{-1} (density guidance's q, docs/notation.md §5.2).
//
// The quantile starts from Acklam's rational approximation (relative error < 1.2e-9) and takes
// one Halley step on Phi(x) - p, which cubes the error: the result is within a few ulp of the
// exact quantile of the double p. The residual is formed without cancellation: erf(x/sqrt 2)/2
// against p - 1/2 (exact for p in [1/4, 3/4]) in the centre, erfc outside, and the Halley
// factor in log space so that p down to the smallest subnormal works.
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "dlogp/error.hpp"

namespace dlogp {

/// Phi(x) = P(N(0, 1) <= x), accurate in relative terms in the lower tail.
inline double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

namespace detail {

// Acklam's rational approximation to Phi^{-1}, published coefficients.
inline double acklam_central(double q) {  // q = p - 1/2, |q| <= 1/2 - p_low
  constexpr double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                           -2.759285104469687e+02, 1.383577518672690e+02,
                           -3.066479806614716e+01, 2.506628277459239e+00};
  constexpr double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                           -1.556989798598866e+02, 6.680131188771972e+01,
                           -1.328068155288572e+01};
  const double r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
}

inline double acklam_lower_tail(double p) {  // 0 < p < p_low
  constexpr double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                           -2.400758277161838e+00, -2.549732539343734e+00,
                           4.374664141464968e+00,  2.938163982698783e+00};
  constexpr double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                           3.754408661907416e+00};
  const double q = std::sqrt(-2.0 * std::log(p));
  return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
         ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
}

/// One Halley step on Phi(x) - p given the residual e = Phi(x) - p.
inline double normal_halley(double x, double e) {
  if (e == 0) return x;
  // u = e / phi(x) = e sqrt(2 pi) exp(x^2 / 2), in log space (exp(x^2/2) alone overflows
  // for |x| > 37.6 while e is tiny there).
  const double log_u = std::log(std::abs(e)) + 0.5 * x * x + 0.5 * std::log(2.0 * std::numbers::pi);
  const double u = std::copysign(std::exp(log_u), e);
  return x - u / (1.0 + 0.5 * x * u);
}

}  // namespace detail

/// Phi^{-1}(p): the standard normal quantile, p in [0, 1] (0 and 1 give -inf and +inf).
/// Phi^{-1}(1/2) is exactly 0, and Phi^{-1}(1 - p) = -Phi^{-1}(p) whenever 1 - p is exact.
inline double normal_quantile(double p) {
  detail::require(p >= 0.0 && p <= 1.0,
                  "normal_quantile: p must be in [0, 1] (" + std::to_string(p) + ")");
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (p == 0.0) return -inf;
  if (p == 1.0) return inf;
  constexpr double p_low = 0.02425;
  if (p < 0.25 || p > 0.75) {
    // Work in the lower tail (1 - p is exact for p >= 1/2); there the erfc residual has no
    // cancellation beyond the last bit of p.
    const bool upper = p > 0.5;
    const double pl = upper ? 1.0 - p : p;
    double x = pl < p_low ? detail::acklam_lower_tail(pl) : detail::acklam_central(pl - 0.5);
    x = detail::normal_halley(x, normal_cdf(x) - pl);
    return upper ? -x : x;
  }
  const double q = p - 0.5;  // exact (Sterbenz) for p in [1/4, 3/4]
  double x = detail::acklam_central(q);
  x = detail::normal_halley(x, 0.5 * std::erf(x / std::numbers::sqrt2) - q);
  return x;
}

}  // namespace dlogp

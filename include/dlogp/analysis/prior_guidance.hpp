#pragma once
// Prior guidance (docs/notation.md §5.4): rescale each latent x_T to the norm sigma_T
// chi_D^{-1}(q_norm) before a plain PF-ODE. Under the prior N(0, sigma_T^2 I), |x_T| / sigma_T is
// chi_D distributed, so q_norm = 0.5 gives the median norm; with score alignment (SA > 0), a larger
// q_norm gives a lower log p_0 (more detail), a smaller one a higher log p_0.
//
// chi_D's CDF is the regularised lower incomplete gamma P(D/2, r^2/2). It is evaluated by its
// power series below a + 1 and by Legendre's continued fraction (modified Lentz) above, with
// the prefactor x^a e^{-x} / Gamma(a + 1) formed as a (log1p(d) - d) - (1/2) log(2 pi a) - the
// Stirling tail, d = x/a - 1, so that no digits cancel for the large a of images
// (D = 196608: a ln x and lgamma(a) are both ~1e6). The quantile inverts whichever of P and
// Q = 1 - P is below 1/2 by Halley's method from the Wilson-Hilferty guess.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/normal_quantile.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/divergence/divergence.hpp"
#include "dlogp/dynamics/pf_ode.hpp"
#include "dlogp/error.hpp"
#include "dlogp/integrate.hpp"
#include "dlogp/process/prior.hpp"

namespace dlogp {

namespace detail {

/// log(1 + d) - d without cancellation for small |d|.
inline double log1pmx(double d) {
  if (std::abs(d) > 0.25) return std::log1p(d) - d;
  // -d^2/2 + d^3/3 - d^4/4 + ...: |d| <= 1/4, 60 terms reach below 1e-36 relative.
  double term = d, sum = 0;
  for (int n = 2; n < 60; ++n) {
    term *= -d;
    const double c = term / n;
    sum += c;
    if (std::abs(c) <= 1e-17 * std::abs(sum)) break;
  }
  return sum;
}

/// log(x^a e^{-x} / Gamma(a + 1)), accurate in absolute terms for every a > 0, x > 0.
inline double log_gamma_prefactor(double a, double x) {
  if (a < 10) return a * std::log(x) - x - std::lgamma(a + 1);
  // lgamma(a + 1) = a ln a - a + (1/2) ln(2 pi a) + 1/(12a) - 1/(360a^3) + 1/(1260a^5) - ...
  const double ia = 1.0 / a, ia2 = ia * ia;
  const double stirling = ia * (1.0 / 12 - ia2 * (1.0 / 360 - ia2 * (1.0 / 1260 - ia2 / 1680)));
  return a * log1pmx((x - a) / a) - 0.5 * std::log(2 * std::numbers::pi * a) - stirling;
}

/// Regularised incomplete gamma: p = P(a, x), q = Q(a, x) = 1 - P, each to full relative
/// precision (the smaller one is computed directly).
inline void incomplete_gamma(double a, double x, double& p, double& q) {
  if (x <= 0) {
    p = 0;
    q = 1;
    return;
  }
  if (std::isinf(x)) {
    p = 1;
    q = 0;
    return;
  }
  const double lp = log_gamma_prefactor(a, x);
  constexpr double eps = 1e-17;
  if (x < a + 1) {
    // P = prefactor * sum_n x^n / ((a+1)...(a+n)); terms shrink once n > x - a.
    double term = 1, sum = 1;
    for (long n = 1; n < 100000000; ++n) {
      term *= x / (a + double(n));
      sum += term;
      if (term <= eps * sum) break;
    }
    p = std::exp(lp + std::log(sum));
    q = 1 - p;
  } else {
    // Q = x^a e^{-x} / Gamma(a) * 1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / ...)).
    constexpr double tiny = 1e-300;
    double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (long i = 1; i < 100000000; ++i) {
      const double an = -double(i) * (double(i) - a);
      b += 2;
      d = an * d + b;
      if (std::abs(d) < tiny) d = tiny;
      c = b + an / c;
      if (std::abs(c) < tiny) c = tiny;
      d = 1 / d;
      const double delta = d * c;
      h *= delta;
      if (std::abs(delta - 1) <= eps) break;
    }
    q = std::exp(lp + std::log(a) + std::log(h));  // Gamma(a + 1) = a Gamma(a)
    p = 1 - q;
  }
}

}  // namespace detail

/// P(chi_D <= r): the CDF of the norm of a D-dimensional standard normal vector.
inline double chi_cdf(long D, double r) {
  detail::require(D >= 1, "chi_cdf: D must be >= 1 (" + std::to_string(D) + ")");
  if (!(r > 0)) return 0;
  double p, q;
  detail::incomplete_gamma(0.5 * double(D), 0.5 * r * r, p, q);
  return p;
}

/// chi_D^{-1}(q): the norm r with P(chi_D <= r) = q, q in [0, 1) (q = 0 gives 0).
inline double chi_quantile(long D, double q) {
  detail::require(D >= 1, "chi_quantile: D must be >= 1 (" + std::to_string(D) + ")");
  detail::require(q >= 0 && q < 1, "chi_quantile: q must be in [0, 1) (" + std::to_string(q) + ")");
  if (q == 0) return 0;
  const double a = 0.5 * double(D);
  const bool lower = q <= 0.5;  // solve for the smaller tail: full relative precision
  const double target = lower ? q : 1 - q;
  // Wilson-Hilferty: (x / a)^(1/3) is nearly normal with mean 1 - 1/(9a), sd 1/(3 sqrt a).
  const double z = normal_quantile(q);
  double x = a * std::pow(1 - 1 / (9 * a) + z / (3 * std::sqrt(a)), 3);
  if (!(x > 0) || x < 1e-3 * a) {
    // Left tail of small a: P ~ x^a / Gamma(a + 1).
    x = std::exp((std::log(q) + std::lgamma(a + 1)) / a);
  }
  for (int it = 0; it < 200; ++it) {
    double p, qq;
    detail::incomplete_gamma(a, x, p, qq);
    const double f = lower ? p - target : target - qq;  // increasing in x either way
    // f' = x^(a-1) e^{-x} / Gamma(a) = exp(prefactor) a / x;  f''/f' = (a - 1)/x - 1.
    const double dens = std::exp(detail::log_gamma_prefactor(a, x) + std::log(a / x));
    if (!(dens > 0) || !std::isfinite(dens)) break;
    const double step = f / dens;
    const double halley = step / (1 - 0.5 * step * ((a - 1) / x - 1));
    double xn = x - (std::isfinite(halley) && std::abs(halley) < std::abs(4 * step) ? halley : step);
    if (!(xn > 0)) xn = 0.5 * x;
    const bool done = std::abs(xn - x) <= 4 * std::numeric_limits<double>::epsilon() * x;
    x = xn;
    if (done) break;
  }
  return std::sqrt(2 * x);
}

/// Rescales every column of X (in place) to the norm sigma_T * chi_D^{-1}(q_norm).
template <class S>
void rescale_to_chi_quantile(matrix<S>& X, double sigma_T, double q_norm) {
  detail::require(std::isfinite(sigma_T) && sigma_T > 0,
                  "prior_guidance: sigma_T must be finite and positive (" +
                      std::to_string(sigma_T) + ")");
  detail::require(q_norm > 0 && q_norm < 1,
                  "prior_guidance: q_norm must be in (0, 1) (" + std::to_string(q_norm) + ")");
  const long D = X.rows();
  const double target = sigma_T * chi_quantile(D, q_norm);
  for (long j = 0; j < X.cols(); ++j) {
    S* x = X.data() + j * D;
    double n2 = 0;
    for (long i = 0; i < D; ++i) n2 += double(x[i]) * double(x[i]);
    detail::require(n2 > 0, "prior_guidance: column " + std::to_string(j) + " is zero");
    const S scale = S(target / std::sqrt(n2));
    for (long i = 0; i < D; ++i) x[i] *= scale;
  }
}

/// Prior guidance in one call: rescale each column of x_T to norm sigma(t_start) *
/// chi_D^{-1}(q_norm), then run the PF-ODE from t_start to t_end with log p tracked. The
/// starting log p is the model's exact log density when it has one, else the usual prior
/// N(0, sigma(t_start)^2 I) (prior_log_density). The rescaled latents are in result.x only at
/// the end; call rescale_to_chi_quantile yourself to keep them.
template <class Scheme, score_model Model, process Process, class S = scalar_of<Model>>
integration_result<S> prior_guidance(const Model& model, const Process& process, Scheme scheme,
                                     const std::type_identity_t<matrix<S>>& x_T, double q_norm,
                                     double t_start, double t_end, integrate_options opt = {},
                                     divergence_options divergence = {}) {
  detail::require_dimension(model.dimension(), x_T.rows(), "prior_guidance: x_T rows");
  matrix<S> X = x_T;
  rescale_to_chi_quantile(X, process.sigma(t_start), q_norm);
  vector<S> L(X.cols());
  if constexpr (has_log_density<Model>)
    model.log_density(t_start, X, L);
  else
    prior_log_density(process, t_start, X, L);
  return integrate(pf_ode<Model, Process>(model, process, divergence), scheme, X, L, t_start,
                   t_end, opt);
}

}  // namespace dlogp

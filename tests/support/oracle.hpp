#pragma once
// The docs/ground-truth.md mixtures and small helpers shared by the tests.
#include <cmath>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/any_process.hpp>
#include <dlogp/process/vp.hpp>
#include <vector>

namespace dlogp::test {

/// GMM1 (D = 1): w = (0.3, 0.5, 0.2), mu = (-2, 0, 2.5), var = (0.16, 0.09, 0.25).
template <class S = double, class P = vp_process>
gaussian_mixture<S, P> gmm1(P p = P{}) {
  matrix<double> mu(1, 3);
  mu << -2.0, 0.0, 2.5;
  return gaussian_mixture<S, P>::isotropic(p, {0.3, 0.5, 0.2}, mu, {0.16, 0.09, 0.25});
}

/// GMM2 (D = 2): full covariances.
template <class S = double, class P = vp_process>
gaussian_mixture<S, P> gmm2(P p = P{}) {
  matrix<double> mu(2, 3);
  mu << -2.0, 2.0, 0.0, 0.0, 1.0, -2.5;
  matrix<double> S1(2, 2), S2(2, 2), S3(2, 2);
  S1 << 0.5, 0.2, 0.2, 0.3;
  S2 << 0.1, 0.0, 0.0, 0.1;
  S3 << 0.3, -0.1, -0.1, 0.6;
  return gaussian_mixture<S, P>(p, {0.4, 0.35, 0.25}, mu, {S1, S2, S3});
}

/// A random mixture with full covariances in dimension D (deterministic in `seed`).
template <class S = double, class P = vp_process>
gaussian_mixture<S, P> random_mixture(long D, int K, std::uint64_t seed, P p = P{}) {
  random_stream rs(seed, 0, purpose::user);
  std::uint64_t n = 0;
  std::vector<double> w;
  matrix<double> mu(D, K);
  std::vector<matrix<double>> cov;
  for (int k = 0; k < K; ++k) {
    w.push_back(0.5 + rs.uniform(n++));
    for (long i = 0; i < D; ++i) mu(i, k) = 2.0 * rs.normal(n++);
    matrix<double> A(D, D);
    for (long i = 0; i < D; ++i)
      for (long j = 0; j < D; ++j) A(i, j) = 0.4 * rs.normal(n++);
    cov.push_back(A * A.transpose() + 0.05 * matrix<double>::Identity(D, D));
  }
  return gaussian_mixture<S, P>(p, w, mu, cov);
}

/// Exact log p_t at every column.
template <class M>
vector<typename M::scalar_type> exact_log_p(const M& m, double t,
                                            const matrix<typename M::scalar_type>& X) {
  vector<typename M::scalar_type> out(X.cols());
  m.log_density(t, X, out);
  return out;
}

/// Mean and RMS of a sample of errors with their standard errors (the RMS one by the delta
/// method from the sample variance of the squared errors, so heavy tails are accounted for).
struct error_summary {
  double mean, mean_se, rms, rms_se;
};
inline error_summary summarize(const vector<double>& e) {
  const double n = double(e.size());
  const double mean = e.mean();
  const double ms = e.squaredNorm() / n;
  const double var = (e.array() - mean).square().sum() / (n - 1);
  const double ms_var = (e.array().square() - ms).square().sum() / (n - 1);
  const double rms = std::sqrt(ms);
  return {mean, std::sqrt(var / n), rms, std::sqrt(ms_var / n) / (2 * rms)};
}

/// |a.rms / b.rms - expected| measured in standard errors of the ratio.
inline double rms_ratio_sigmas(const error_summary& a, const error_summary& b, double expected) {
  const double ratio = a.rms / b.rms;
  const double se = ratio * std::hypot(a.rms_se / a.rms, b.rms_se / b.rms);
  return std::abs(ratio - expected) / se;
}

/// Least-squares slope of log(err) against log(steps), negated: the observed order.
inline double fitted_order(const std::vector<double>& steps, const std::vector<double>& err) {
  const double n = double(steps.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const double x = std::log(steps[i]), y = std::log(err[i]);
    sx += x; sy += y; sxx += x * x; sxy += x * y;
  }
  return -(n * sxy - sx * sy) / (n * sxx - sx * sx);
}

}  // namespace dlogp::test

#pragma once
// Statistical check that samples follow the docs/ground-truth.md GMM2 mixture at time t (shared by
// the Langevin and predictor-corrector sampler tests).
#include <Eigen/Cholesky>
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/oracle.hpp"

namespace dlogp::test {

// Index of the most responsible component of p_t for every column.
inline std::vector<int> most_responsible(const gaussian_mixture<double, vp_process>& m, double t, const matrix<double>& X) {
  const long K = m.components();
  std::vector<Eigen::LLT<matrix<double>>> chol;
  std::vector<double> norm;
  for (long k = 0; k < K; ++k) {
    chol.emplace_back(m.covariance(k, t));
    const matrix<double> L = chol.back().matrixL();
    norm.push_back(std::log(m.weights()[std::size_t(k)]) -
                   L.diagonal().array().log().sum());
  }
  std::vector<int> out;
  const double a = m.process().alpha(t);
  for (long j = 0; j < X.cols(); ++j) {
    int best = 0;
    double best_l = -1e300;
    for (long k = 0; k < K; ++k) {
      const vector<double> y =
          chol[std::size_t(k)].matrixL().solve(vector<double>(X.col(j) - a * m.means().col(k)));
      const double l = norm[std::size_t(k)] - 0.5 * y.squaredNorm();
      if (l > best_l) best_l = l, best = int(k);
    }
    out.push_back(best);
  }
  return out;
}

// Samples X of p_t checked against the exact mixture: mean, second moments about the exact
// mean, and the fraction assigned to each component, each within 5 standard errors (derived:
// sqrt(C_ii / N) for means, the sample spread of the centred products for second moments,
// binomial sqrt(p (1 - p) / N) for weights). The truth of a weight is the probability under p_t
// of being assigned to component k, w_k + E[1{argmax = k} - r_k], the small correction from
// 400k exact draws (its own standard error is added in quadrature).
inline void check_gmm2_samples(const gaussian_mixture<double, vp_process>& m, double t, const matrix<double>& X, const std::string& what) {
  const long N = X.cols();
  const vector<double> mu = m.marginal_mean(t);
  const matrix<double> C = m.marginal_covariance(t);
  std::ostringstream log;
  log << what << ", " << N << " samples at t = " << t;
  for (int i = 0; i < 2; ++i) {
    const double mean = X.row(i).mean(), se = std::sqrt(C(i, i) / double(N));
    log << "\n  mean[" << i << "] " << mean << " (exact " << mu(i) << ", se " << se << ")";
    INFO(log.str());
    CHECK(std::abs(mean - mu(i)) <= 5 * se);
  }
  for (auto [a, b] : {std::pair{0, 0}, std::pair{0, 1}, std::pair{1, 1}}) {
    vector<double> y = ((X.row(a).array() - mu(a)) * (X.row(b).array() - mu(b))).transpose();
    const auto s = test::summarize(y);
    log << "\n  C[" << a << b << "] " << s.mean << " (exact " << C(a, b) << ", se " << s.mean_se
        << ")";
    INFO(log.str());
    CHECK(std::abs(s.mean - C(a, b)) <= 5 * s.mean_se);
  }
  const long n_ref = 400000;
  matrix<double> R(2, n_ref);
  m.sample(t, 12345, 0, R);
  const auto ar = most_responsible(m, t, R), as = most_responsible(m, t, X);
  for (int k = 0; k < 3; ++k) {
    double ref = 0, got = 0;
    for (int c : ar) ref += c == k;
    for (int c : as) got += c == k;
    ref /= double(n_ref);
    got /= double(N);
    const double se = std::sqrt(ref * (1 - ref) * (1.0 / double(N) + 1.0 / double(n_ref)));
    log << "\n  weight[" << k << "] " << got << " (exact assignment probability " << ref
        << ", w_k " << m.weights()[std::size_t(k)] << ", se " << se << ")";
    INFO(log.str());
    CHECK(std::abs(got - ref) <= 5 * se);
  }
}

}  // namespace dlogp::test

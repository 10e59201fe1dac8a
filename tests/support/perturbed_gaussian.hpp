#pragma once
// docs/ground-truth.md S3 / S4: data N(0, tau2), VP linear, a learned score perturbed to
// -(1 + delta) x / P_t. The model's SDE is linear, so its marginals are q_t = N(0, V_t) with
//   dV/dt = 2 (f + g^2 (1 + delta) / P) V - g^2,  V_T = P_T  (integrated from T downwards).
// Shared by the SDE-bias (S3) and ELBO (S4) tests.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include <dlogp/core/types.hpp>
#include <dlogp/process/vp.hpp>

namespace dlogp::test::perturbed_gaussian {

constexpr double tau2 = 0.25, delta = 0.3, t_lo = 1e-3;

/// Variance of the data's marginal p_t = N(0, P_t).
inline double P(const vp_process& p, double t) { return p.alpha(t) * p.alpha(t) * tau2 + p.sigma2(t); }

/// q_t = N(0, V_t): V by RK4 on a fine uniform grid (h = 5e-5: error ~1e-15) and cubic Hermite
/// interpolation with dV/dt from the ODE (error ~h^4 |V''''| / 384, below 1e-14).
struct variance_ode_gaussian {
  using scalar_type = double;
  vp_process p;
  std::vector<double> t, V, dV;

  explicit variance_ode_gaussian(vp_process proc, long n = 20000) : p(proc) {
    auto rhs = [&](double s, double v) {
      return 2 * (p.f(s) + p.g2(s) * (1 + delta) / P(p, s)) * v - p.g2(s);
    };
    t.resize(std::size_t(n) + 1);
    V.resize(t.size());
    dV.resize(t.size());
    const double T = p.t_max();
    for (long i = 0; i <= n; ++i) t[std::size_t(i)] = T + (t_lo - T) * double(i) / double(n);
    V[0] = P(p, T);
    for (std::size_t i = 0; i + 1 < t.size(); ++i) {
      const double s = t[i], h = t[i + 1] - t[i];
      const double k1 = rhs(s, V[i]), k2 = rhs(s + h / 2, V[i] + h / 2 * k1),
                   k3 = rhs(s + h / 2, V[i] + h / 2 * k2), k4 = rhs(s + h, V[i] + h * k3);
      V[i + 1] = V[i] + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
    }
    for (std::size_t i = 0; i < t.size(); ++i) dV[i] = rhs(t[i], V[i]);
  }
  double variance(double s) const {
    const double T = p.t_max(), n = double(t.size() - 1);
    const double u = (T - s) / (T - t_lo) * n;
    std::size_t i = std::size_t(std::clamp(std::floor(u), 0.0, n - 1));
    const double h = t[i + 1] - t[i], th = (s - t[i]) / h;
    const double h00 = (1 + 2 * th) * (1 - th) * (1 - th), h10 = th * (1 - th) * (1 - th);
    const double h01 = th * th * (3 - 2 * th), h11 = th * th * (th - 1);
    return h00 * V[i] + h10 * h * dV[i] + h01 * V[i + 1] + h11 * h * dV[i + 1];
  }
  long dimension() const { return 1; }
  void score(double s, const matrix<double>& X, matrix<double>& S) const {
    S = X * (-1.0 / variance(s));
  }
  double log_q(double s, double x) const {
    const double v = variance(s);
    return -0.5 * std::log(2 * std::numbers::pi * v) - x * x / (2 * v);
  }
  void log_density(double s, const matrix<double>& X, vector<double>& out) const {
    const double v = variance(s);
    out.resize(X.cols());
    for (long j = 0; j < X.cols(); ++j)
      out(j) = -0.5 * std::log(2 * std::numbers::pi * v) - X(0, j) * X(0, j) / (2 * v);
  }
};

}  // namespace dlogp::test::perturbed_gaussian

// Bring your own score model: the minimum is scalar_type, dimension() and a batched score().
// Writing score() as a template on the scalar lets dlogp differentiate it with dual numbers,
// so the PF-ODE gets an exact divergence without any extra code (see docs/concepts.md).
#include <cmath>
#include <numbers>
#include <cstdio>
#include <dlogp/dlogp.hpp>

// Data N(0, c^2 I) under the VP process: p_t = N(0, (alpha^2 c^2 + sigma^2) I).
struct gaussian_score {
  using scalar_type = double;
  dlogp::vp_process process;
  double c2 = 0.25;
  long dimension() const { return 3; }
  template <class T>
  void score(double t, const dlogp::matrix<T>& X, dlogp::matrix<T>& S) const {
    const double a = process.alpha(t), P = a * a * c2 + process.sigma2(t);
    for (long j = 0; j < X.cols(); ++j)
      for (long i = 0; i < X.rows(); ++i) S(i, j) = -X(i, j) / T(P);
  }
};

int main() {
  using namespace dlogp;
  const gaussian_score model;
  const vp_process& p = model.process;
  matrix<double> x(3, 2);
  x << 0.1, -0.4, 0.3, 0.2, -0.2, 0.5;
  std::printf("divergence route: %s\n",
              divergence_estimator<gaussian_score>(model, {}).description().c_str());
  for (auto kind : {divergence_kind::exact, divergence_kind::hutchinson}) {
    const auto r = integrate(pf_ode(model, p, {.kind = kind, .probes = 8}), dopri5{}, x,
                             vector<double>::Zero(2), p.t_min(), p.t_max(),
                             {.tolerance = {.rtol = 1e-8}});
    vector<double> log_p_T(2);
    prior_log_density(p, p.t_max(), r.x, log_p_T);
    for (long j = 0; j < 2; ++j) {
      const double P0 = p.alpha(p.t_min()) * p.alpha(p.t_min()) * model.c2 + p.sigma2(p.t_min());
      const double exact = -1.5 * std::log(2 * std::numbers::pi * P0) - x.col(j).squaredNorm() / (2 * P0);
      std::printf("%-10s log p = %.6f  exact = %.6f\n", to_string(kind), log_p_T(j) - r.log_p(j),
                  exact);
    }
  }
}

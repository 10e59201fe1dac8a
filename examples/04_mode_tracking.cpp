// The most likely clean point given a noisy one: the mode-tracking ODE follows argmax p(x_s | x_t)
// exactly; the HD-ODE is its cheap approximation; the PF-ODE lands elsewhere
// (docs/ground-truth.md, M1-M7).
#include <cstdio>
#include <dlogp/dlogp.hpp>

int main() {
  using namespace dlogp;
  const vp_process process(0.1, 20.0, /*t_min=*/0.0, 1.0);  // integrate down to t = 0
  matrix<double> means(1, 3);
  means << -2.0, 0.0, 2.5;
  const auto model =
      gaussian_mixture<double>::isotropic(process, {0.3, 0.5, 0.2}, means, {0.16, 0.09, 0.25});
  const double xs[] = {0.05, -0.5, -1.2, 1.3};
  for (double x : xs) {
    const double t = 0.3;
    matrix<double> x_t(1, 1);
    x_t << x;
    vector<double> l_t(1);
    model.log_density(t, x_t, l_t);
    const integrate_options opt{.grid = {.steps = 2000}};
    const auto mt = integrate(mode_tracking(model, process, t), rk4{}, x_t, l_t, t, 0.0, opt);
    const auto hd = integrate(hd_ode(model, process), rk4{}, x_t, l_t, t, 0.0, opt);
    const auto pf = integrate(pf_ode(model, process), rk4{}, x_t, l_t, t, 0.0, opt);
    std::printf("x_t = %+.2f at t = %.1f: mode %+.6f (log p0 %.4f) | HD-ODE %+.6f (%.4f) | "
                "PF-ODE %+.6f (%.4f)\n",
                x, t, mt.x(0, 0), mt.log_p(0), hd.x(0, 0), hd.log_p(0), pf.x(0, 0), pf.log_p(0));
  }
}

// Score alignment (SA): does scaling a latent up lower the log-density of the sample it maps to?
// SA > 0 means yes (more detail). Computed with a tangent ODE beside the PF-ODE, and checked
// against <s(x_0), v_0> at the end.
#include <cstdio>
#include <dlogp/dlogp.hpp>

int main() {
  using namespace dlogp;
  const edm_process edm(0.05, 20.0);
  matrix<double> means(2, 3);
  means << -2.0, 1.5, 0.5, 0.5, -1.0, 2.0;
  const auto model =
      gaussian_mixture<double>::isotropic(edm, {0.3, 0.5, 0.2}, means, {0.09, 0.09, 0.09});
  matrix<double> x_T(2, 3);
  x_T << 15.0, -3.0, 0.5, -7.0, 22.0, 0.5;
  const auto sa = score_alignment(model, edm, rk4{}, x_T, 20.0, 0.05,
                                  {.grid = {.steps = 3000, .spacing = grid_kind::log_snr}});
  for (long j = 0; j < 3; ++j)
    std::printf("x_T = (%+5.1f, %+5.1f): SA = %.6f (check %.6f), d/dc log p_0 = %+.5f\n",
                x_T(0, j), x_T(1, j), sa.alignment(j), sa.check(j),
                latent_scaling_derivative(double(sa.alignment(j)), 20.0, 1.0));
}

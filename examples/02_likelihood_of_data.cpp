// The likelihood of given data under a diffusion model: encode each point with the PF-ODE from
// t_min to T (adaptive Dormand-Prince, exact divergence) and add the log p change to log p_T.
#include <cstdio>
#include <dlogp/dlogp.hpp>

int main() {
  using namespace dlogp;
  const vp_process process;
  matrix<double> means(2, 3);
  means << -2.0, 2.0, 0.0, 0.0, 1.0, -2.5;
  const auto model =
      gaussian_mixture<double>::isotropic(process, {0.4, 0.35, 0.25}, means, {0.3, 0.1, 0.4});

  matrix<double> data(2, 5);  // points at which we want log p_{t_min}
  data << -2.0, 2.1, 0.0, 0.5, 4.0,  //
      0.1, 0.9, -2.0, 0.5, 4.0;
  const auto r = integrate(pf_ode(model, process), dopri5{}, data, vector<double>::Zero(5),
                           process.t_min(), process.t_max(),
                           {.tolerance = {.rtol = 1e-8, .atol = 1e-10}});
  vector<double> log_p_T(5), exact(5);
  // The usual N(0, sigma_T^2 I) prior; the small gap to the exact value below is its error.
  prior_log_density(process, process.t_max(), r.x, log_p_T);
  model.log_density(process.t_min(), data, exact);
  for (long j = 0; j < data.cols(); ++j) {
    const double log_p = log_p_T(j) - r.log_p(j);  // log p_tmin(x) = log p_T(x_T) - delta
    std::printf("x = (%+.2f, %+.2f)  PF-ODE log p = %9.5f  exact = %9.5f  (%ld evals, %s)\n",
                data(0, j), data(1, j), log_p, exact(j), r.stats[j].score_evals,
                std::string(to_string(r.stats[j].status)).c_str());
  }
}

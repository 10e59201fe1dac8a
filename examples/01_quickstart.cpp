// Track log p_t(x_t) along reverse-SDE samples of a 2-D mixture; compare with the exact value.
#include <cstdio>
#include <dlogp/dlogp.hpp>

int main() {
  using namespace dlogp;
  const vp_process process;  // VP, linear beta from 0.1 to 20, t in [1e-3, 1]
  matrix<double> means(2, 2);
  means << -2.0, 2.0, 0.0, 1.0;  // one column per component
  const auto model = gaussian_mixture<double>::isotropic(process, {0.6, 0.4}, means, {0.2, 0.1});
  matrix<double> x(2, 4);
  sample_prior(process, process.t_max(), /*seed=*/1, /*first_id=*/0, x);
  vector<double> log_p(4), exact(4);
  prior_log_density(process, process.t_max(), x, log_p);  // log N(x_T; 0, sigma_T^2 I)
  const auto r = integrate(reverse_sde(model, process), euler_maruyama{}, x, log_p,
                           process.t_max(), process.t_min(), {.seed = 1, .grid = {.steps = 2000}});
  model.log_density(process.t_min(), r.x, exact);
  for (long j = 0; j < r.x.cols(); ++j)
    std::printf("x = (%+.3f, %+.3f)  tracked log p = %7.3f  exact = %7.3f\n", r.x(0, j),
                r.x(1, j), r.log_p(j), exact(j));
}

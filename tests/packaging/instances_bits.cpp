// Calls every entry point dlogp/instances.hpp lists and prints the results as hex floats. Built
// twice, once header-only and once linking dlogp::instances; "packaging: compiled instances
// give the header-only bits" compares the two outputs byte for byte.
#include <cstdio>
#include <dlogp/dlogp.hpp>

namespace {

using namespace dlogp;

template <class M>
void print(const char* what, const M& m) {
  std::printf("%s", what);
  for (long i = 0; i < m.size(); ++i) std::printf(" %a", double(m.data()[i]));
  std::printf("\n");
}

template <class R>
void print_run(const char* what, const R& r) {
  print(what, r.x);
  print("  log p", r.log_p);
}

}  // namespace

int main() {
  const vp_process vp;
  const edm_process edm;
  matrix<double> means(2, 3);
  means << -2.0, 2.0, 0.0, 0.0, 1.0, -2.5;
  const auto vp_model =
      gaussian_mixture<double>::isotropic(vp, {0.4, 0.35, 0.25}, means, {0.3, 0.1, 0.4});
  const auto edm_model =
      gaussian_mixture<double>::isotropic(edm, {0.4, 0.35, 0.25}, means, {0.3, 0.1, 0.4});
  const auto float_model =
      gaussian_mixture<float>::isotropic(vp, {0.4, 0.35, 0.25}, means, {0.3, 0.1, 0.4});

  const long n = 9;  // one block of 8 columns and a remainder
  const auto prior = [&](const auto& process, matrix<double>& x, vector<double>& log_p) {
    x.resize(2, n);
    sample_prior(process, process.t_max(), 3, 0, x);
    prior_log_density(process, process.t_max(), x, log_p);
  };
  matrix<double> x_vp, x_edm;
  vector<double> l_vp, l_edm;
  prior(vp, x_vp, l_vp);
  prior(edm, x_edm, l_edm);
  const integrate_options fixed{.seed = 4, .grid = {.steps = 40}};
  const integrate_options adaptive{.tolerance = {.rtol = 1e-6, .atol = 1e-8}};

  print_run("reverse_sde vp", integrate(reverse_sde(vp_model, vp), euler_maruyama{}, x_vp, l_vp,
                                        vp.t_max(), vp.t_min(), fixed));
  print_run("reverse_sde edm", integrate(reverse_sde(edm_model, edm), euler_maruyama{}, x_edm,
                                         l_edm, edm.t_max(), edm.t_min(), fixed));
  print_run("pf_ode dopri5", integrate(pf_ode(vp_model, vp), dopri5{}, x_vp, l_vp, vp.t_max(),
                                       vp.t_min(), adaptive));
  print_run("pf_ode rk4", integrate(pf_ode(vp_model, vp), rk4{}, x_vp, l_vp, vp.t_max(),
                                    vp.t_min(), fixed));
  print_run("pf_ode heun edm", integrate(pf_ode(edm_model, edm), heun{}, x_edm, l_edm,
                                         edm.t_max(), edm.t_min(), fixed));
  print_run("hd_ode rk4", integrate(hd_ode(vp_model, vp), rk4{}, x_vp, l_vp, 0.5, vp.t_min(),
                                    fixed));
  print_run("mode_tracking rk4", integrate(mode_tracking(vp_model, vp, 0.5), rk4{}, x_vp, l_vp,
                                           0.5, vp.t_min(), fixed));
  print_run("dg_ode heun", integrate(dg_ode(edm_model, edm, {.q = 0.7}), heun{}, x_edm, l_edm,
                                     edm.t_max(), edm.t_min(), fixed));
  print_run("sample_high_density",
            sample_high_density(vp_model, vp, n,
                                {.threshold = 0.3,
                                 .first = {.scheme = "heun", .grid = {.steps = 30}},
                                 .second = {.scheme = "heun", .grid = {.steps = 30}},
                                 .seed = 5}));
  const auto sa = score_alignment(edm_model, edm, rk4{}, x_edm, edm.t_max(), edm.t_min(), fixed);
  print("score_alignment", sa.alignment);

  matrix<double> s;
  vector<double> lap, log_p;
  vp_model.score_and_laplacian(0.2, x_vp, s, lap);
  print("score", s);
  print("laplacian", lap);
  vp_model.log_density(0.2, x_vp, log_p);
  print("log_density", log_p);
  const matrix<float> xf = x_vp.cast<float>();
  matrix<float> sf;
  float_model.score(0.2, xf, sf);
  print("float score", sf);
}

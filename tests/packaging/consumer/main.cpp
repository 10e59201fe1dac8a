// Downstream smoke program: includes dlogp like a user would, computes a little and checks
// the version macros against the CMake project version. Exit code 0 means success.
#if __has_include(<dlogp/dlogp.hpp>)
#include <dlogp/dlogp.hpp>
#else
#include <dlogp/core/random.hpp>
#include <dlogp/process/vp.hpp>
#endif
#include <dlogp/version.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

static_assert(__cplusplus >= 202002L, "dlogp::dlogp must carry cxx_std_20 to its consumers");

int main() {
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "consumer: FAILED %s\n", what);
      ++failures;
    }
  };

  const std::string expected = std::to_string(DLOGP_VERSION_MAJOR) + "." +
                               std::to_string(DLOGP_VERSION_MINOR) + "." +
                               std::to_string(DLOGP_VERSION_PATCH);
  check(expected == DLOGP_VERSION_STRING, "DLOGP_VERSION_STRING matches the numeric macros");
  check(std::strcmp(dlogp::version_string, DLOGP_VERSION_STRING) == 0,
        "dlogp::version_string matches DLOGP_VERSION_STRING");
#ifdef DLOGP_EXPECTED_VERSION
  check(std::strcmp(DLOGP_VERSION_STRING, DLOGP_EXPECTED_VERSION) == 0,
        "version.hpp matches project(VERSION) in CMakeLists.txt");
#endif

  // VP process: alpha^2 + sigma^2 = 1 at every time.
  const dlogp::vp_process vp;
  for (double t : {vp.t_min(), 0.25, 0.5, vp.t_max()}) {
    const double a = vp.alpha(t);
    check(std::abs(a * a + vp.sigma2(t) - 1.0) < 1e-12, "vp alpha^2 + sigma^2 == 1");
  }

  // Philox normals: reproducible and roughly standard (mean of 4096 draws within 5 / 64).
  const dlogp::random_stream a(42, 7, dlogp::purpose::prior);
  const dlogp::random_stream b(42, 7, dlogp::purpose::prior);
  double sum = 0.0;
  bool same = true;
  for (unsigned n = 0; n < 4096; ++n) {
    const double z = a.normal(n);
    same = same && z == b.normal(n);
    sum += z;
  }
  check(same, "random_stream is a pure function of (seed, trajectory, purpose, n)");
  check(std::abs(sum / 4096.0) < 5.0 / 64.0, "random_stream normals have mean ~ 0");

#ifdef CONSUMER_CALLS_INSTANCES
  // Calls into the compiled instances (declared extern): the program links only if they exist.
  const auto model = dlogp::gaussian_mixture<double>::isotropic(
      vp, {0.5, 0.5}, dlogp::matrix<double>::Identity(2, 2), {0.1, 0.2});
  dlogp::matrix<double> x(2, 3);
  dlogp::sample_prior(vp, vp.t_max(), 1, 0, x);
  dlogp::vector<double> log_p(3);
  dlogp::prior_log_density(vp, vp.t_max(), x, log_p);
  const auto r = dlogp::integrate(dlogp::reverse_sde(model, vp), dlogp::euler_maruyama{}, x,
                                  log_p, vp.t_max(), vp.t_min(), {.grid = {.steps = 50}});
  check(r.log_p.allFinite(), "the compiled reverse SDE instance runs");
#endif

  std::printf("dlogp %s consumer: %s\n", DLOGP_VERSION_STRING, failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}

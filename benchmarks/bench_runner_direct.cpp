// Benchmark 9's baseline: what dlogp-run computes for an MLP spec, as a direct library call.
//
//   bench_runner_direct WEIGHTS N STEPS PROBES SEED
//
// The spec it mirrors (benchmarks/run.py writes it): {"model": {"type": "mlp", "weights":
// WEIGHTS}, "process": {"type": "vp"}, "method": "pf-ode", "n": N, "seed": SEED, "solver":
// {"scheme": "rk4", "steps": STEPS}, "divergence": {"type": "hutchinson", "probes": PROBES}}:
// prior draws keyed by (seed, trajectory), the PF-ODE from t_max to t_min with log p tracked
// from the prior. Prints one JSON line with the mean log p (run.py checks it equals the
// runner's summary bit for bit: the same computation, or the comparison means nothing). The
// process's whole CPU time is what run.py compares, as for dlogp-run: loading, computing and
// writing included.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/io/mlp_weights.hpp>
#include <dlogp/process/prior.hpp>
#include <dlogp/scheme/rk4.hpp>

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: bench_runner_direct WEIGHTS N STEPS PROBES SEED\n");
    return 2;
  }
  const std::string weights = argv[1];
  const long n = std::atol(argv[2]), steps = std::atol(argv[3]);
  const int probes = std::atoi(argv[4]);
  const std::uint64_t seed = std::strtoull(argv[5], nullptr, 10);

  const auto loaded = dlogp::load_mlp<double>(weights);
  const auto model = loaded.score_model();
  const auto& process = loaded.process;
  const double T = process.t_max(), t_min = process.t_min();
  dlogp::matrix<double> X(model.dimension(), n);
  dlogp::sample_prior(process, T, seed, std::uint64_t(0), X);
  dlogp::vector<double> L;
  dlogp::prior_log_density(process, T, X, L);
  const dlogp::pf_ode dyn(model, process,
                          dlogp::divergence_options{.kind = dlogp::divergence_kind::hutchinson, .probes = probes});
  dlogp::integrate_options o;
  o.seed = seed;
  o.grid.steps = steps;
  const auto r = dlogp::integrate(dyn, dlogp::rk4{}, X, L, T, t_min, o);
  double sum = 0;
  for (long j = 0; j < n; ++j) sum += r.log_p(j);
  std::printf("{\"mean_logp\": %.17g, \"n\": %ld}\n", sum / double(n), n);
  return 0;
}

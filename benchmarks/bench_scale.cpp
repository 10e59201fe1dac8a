// Benchmark 5: memory at scale. Runs the augmented reverse SDE on n trajectories in D = 2 and
// prints the bytes the states need (n (D + 1) doubles: x and log p); benchmarks/run.py runs it
// under /usr/bin/time -v for the peak resident memory.
//
//   bench_scale --mixture m.json --n 1000000 --steps 20 --mode single
//     one integrate() call over all n columns (what a user writes first);
//   bench_scale --mixture m.json --n 1000000 --steps 20 --mode shards --shard 65536
//     the same trajectories in shards of `shard` columns (first_id = shard start), each result
//     written back into one n-column state: bit-identical to the single call (noise is keyed
//     by trajectory id), which the program checks on the first shard when --check 1.
//   --n 1 gives the program's fixed footprint (libraries, runtime), subtracted by run.py.
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/process/prior.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>

#include "bench_common.hpp"

int main(int argc, char** argv) {
  using namespace dlogp;
  const bench::args a(argc, argv);
  const auto model = bench::load_mixture(a.str("mixture", "mixture.json"));
  const vp_process& p = model.process();
  const long N = a.num("n", 1000000), steps = a.num("steps", 20), D = model.dimension();
  const std::string mode = a.str("mode", "single");
  const long shard = a.num("shard", 65536);
  const int threads = int(a.num("threads", 0));
  const std::uint64_t seed = 5;

  // The start states: prior draws keyed by trajectory id, exact prior log-density.
  matrix<double> X(D, N);
  sample_prior(p, p.t_max(), seed, std::uint64_t(0), X);
  vector<double> L;
  prior_log_density(p, p.t_max(), X, L);
  const reverse_sde dyn(model, p);
  integrate_options opt{.seed = seed, .grid = {.steps = steps}, .execution = {.threads = threads}};

  const double t0 = bench::now();
  bool ok = true;
  long evals = 0;
  if (mode == "single") {
    // The start states move into the run: one copy of the states in memory.
    auto r = integrate(dyn, euler_maruyama{}, std::move(X), std::move(L), p.t_max(), p.t_min(), opt);
    ok = r.all_ok();
    evals = r.total_score_evals();
    X = std::move(r.x);  // keep only the final states
    L = std::move(r.log_p);
  } else {
    for (long j0 = 0; j0 < N; j0 += shard) {
      const long n = std::min(shard, N - j0);
      opt.first_id = std::uint64_t(j0);
      auto r = integrate(dyn, euler_maruyama{}, matrix<double>(X.middleCols(j0, n)),
                         vector<double>(L.segment(j0, n)), p.t_max(), p.t_min(), opt);
      ok = ok && r.all_ok();
      evals += r.total_score_evals();
      X.middleCols(j0, n) = r.x;
      L.segment(j0, n) = r.log_p;
    }
  }
  const double secs = bench::now() - t0;
  double checksum = 0;
  for (long j = 0; j < N; ++j) checksum += X(0, j) + L(j);
  bench::json out{{"mode", mode},
                  {"N", N},
                  {"D", D},
                  {"steps", steps},
                  {"shard", mode == "single" ? N : shard},
                  {"state_bytes", double(N) * double(D + 1) * sizeof(double)},
                  {"seconds", secs},
                  {"traj_steps_per_s", double(N) * double(steps) / secs},
                  {"score_evals", evals},
                  {"all_ok", ok},
                  {"checksum", checksum}};
  std::cout << out.dump() << "\n";
  return ok ? 0 : 1;
}

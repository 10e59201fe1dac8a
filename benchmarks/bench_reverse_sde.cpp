// Benchmarks 1-3: the (augmented) reverse SDE with Euler-Maruyama on an isotropic mixture.
//
//   bench_reverse_sde --mixture m.json --n 4096 --steps 1000 --window 200
//                     --configs "track=1,threads=1;track=0,threads=1" --reps 5
//                     [--dump out.bin]
//
// Runs the first `window` steps of the `steps`-step uniform grid from t_max down (the cost of a
// step does not depend on t), for every configuration in turn, `reps` rounds interleaved
// (a b a b ...), so that a shared machine's load affects all configurations alike. Prints one
// JSON object: per configuration the wall and CPU times of every round, trajectory-steps per
// second (from the median wall and CPU times), a checksum of the result and its mean log p and
// mean |x|. --dump writes the last configuration's final states (N x D doubles, trajectory-major,
// then N log p) for bench_reverse_sde_limit's agreement check (benchmarks/run.py, item 1).
#include <algorithm>
#include <cmath>
#include <sstream>

#include <dlogp/core/time_grid.hpp>
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/process/prior.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>

#include "bench_common.hpp"

namespace {

struct config {
  std::string text;
  bool track = true;
  int threads = 1;
  long batch = 0;  // execution.batch_size; 0: the call's own choice
};

std::vector<config> parse_configs(const std::string& s) {
  std::vector<config> out;
  std::stringstream all(s);
  std::string one;
  while (std::getline(all, one, ';')) {
    config c;
    c.text = one;
    std::stringstream items(one);
    std::string kv;
    while (std::getline(items, kv, ',')) {
      const auto eq = kv.find('=');
      const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
      if (k == "track") c.track = v == "1";
      else if (k == "threads") c.threads = std::stoi(v);
      else if (k == "batch") c.batch = std::stol(v);
      else throw std::invalid_argument("unknown config key " + k);
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dlogp;
  const bench::args a(argc, argv);
  const auto model = bench::load_mixture(a.str("mixture", "mixture.json"));
  const vp_process& p = model.process();
  const long N = a.num("n", 4096), steps = a.num("steps", 1000);
  const long window = std::min(a.num("window", steps), steps);
  const long reps = a.num("reps", 3);
  const auto configs = parse_configs(a.str("configs", "track=1,threads=1"));
  const long D = model.dimension();

  auto [X0, L0, grid] = bench::start_at_prior(p, D, N, steps, window);

  const reverse_sde dyn(model, p);
  std::vector<std::vector<double>> times(configs.size()), cpu(configs.size());
  std::vector<double> checksum(configs.size()), mean_lp(configs.size()), mean_ax(configs.size());
  const std::string dump = a.str("dump", "");
  for (long r = 0; r < reps; ++r) {
    for (std::size_t c = 0; c < configs.size(); ++c) {
      integrate_options opt{.seed = 7, .grid = {.times = grid}, .track_logp = configs[c].track,
                            .execution = {.batch_size = configs[c].batch,
                                          .threads = configs[c].threads}};
      const double t0 = bench::now(), c0 = bench::cpu_now();
      const auto res = integrate(dyn, euler_maruyama{}, X0, L0, grid.front(), grid.back(), opt);
      times[c].push_back(bench::now() - t0);
      cpu[c].push_back(bench::cpu_now() - c0);
      double cs = 0, slp = 0, sax = 0;
      for (long j = 0; j < N; ++j) {
        const double lj = configs[c].track ? res.log_p(j) : 0.0;
        cs += res.x(0, j) + lj;
        slp += lj;
        for (long i = 0; i < D; ++i) sax += std::abs(res.x(i, j));
      }
      checksum[c] = cs;
      mean_lp[c] = slp / double(N);
      mean_ax[c] = sax / double(N * D);
      if (!res.all_ok()) throw std::runtime_error("a trajectory failed");
      if (!dump.empty() && r + 1 == reps && c + 1 == configs.size()) {
        std::ofstream o(dump, std::ios::binary);
        o.write(reinterpret_cast<const char*>(res.x.data()), std::streamsize(8 * N * D));
        o.write(reinterpret_cast<const char*>(res.log_p.data()), std::streamsize(8 * N));
      }
    }
  }
  bench::json out;
  out["D"] = D;
  out["K"] = model.components();
  out["N"] = N;
  out["steps"] = steps;
  out["window"] = window;
  for (std::size_t c = 0; c < configs.size(); ++c) {
    const double med = bench::median(times[c]), cmed = bench::median(cpu[c]);
    out["configs"].push_back({{"config", configs[c].text},
                              {"seconds", times[c]},
                              {"cpu_seconds", cpu[c]},
                              {"median_seconds", med},
                              {"median_cpu_seconds", cmed},
                              {"traj_steps_per_s", double(N) * double(window) / med},
                              {"traj_steps_per_cpu_s", double(N) * double(window) / cmed},
                              {"checksum", checksum[c]},
                              {"mean_log_p", mean_lp[c]},
                              {"mean_abs_x", mean_ax[c]}});
  }
  std::cout << out.dump() << "\n";
}

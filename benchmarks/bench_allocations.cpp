// Are steps allocation-free? Counts calls of the global operator new during integrate() runs of
// w and 2w steps (same chunks, same trajectories); the difference divided by w steps and by the
// number of chunks is the heap allocations per step per chunk, which should be 0 (allocations
// when a chunk starts, sizing its workspaces, are paid once and cancel in the difference).
//
//   bench_allocations --mixture m.json --n 256 --window 20
#include <atomic>
#include <cstdlib>
#include <new>

#include <dlogp/core/time_grid.hpp>
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/process/prior.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>
#include <dlogp/scheme/heun.hpp>

#include "bench_common.hpp"

// The replaced operator new uses malloc, so free is the matching release; GCC cannot see that
// through the inlined standard library and warns.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

int main(int argc, char** argv) {
  using namespace dlogp;
  const bench::args a(argc, argv);
  const auto model = bench::load_mixture(a.str("mixture", "mixture.json"));
  const vp_process& p = model.process();
  const long N = a.num("n", 256), w = a.num("window", 20), D = model.dimension();
  const long bs = 64, chunks = (N + bs - 1) / bs;
  const bench::prior_start start = bench::start_at_prior(p, D, N, 1000, 1000);
  const matrix<double>& X0 = start.X;
  const vector<double>& L0 = start.L;
  const std::vector<double>& grid = start.grid;

  // Allocations of a run over the first `steps` steps of the grid.
  auto count = [&](auto&& dyn, auto scheme, long steps) {
    std::vector<double> times(grid.begin(), grid.begin() + steps + 1);
    const integrate_options opt{.seed = 3, .grid = {.times = times},
                                .execution = {.batch_size = bs, .threads = 1}};
    const long before = g_allocations.load();
    const auto r = integrate(dyn, scheme, X0, L0, times.front(), times.back(), opt);
    const long used = g_allocations.load() - before;
    if (!r.all_ok()) throw std::runtime_error("a trajectory failed");
    return used;
  };
  bench::json out;
  auto per_step = [&](const char* name, auto&& dyn, auto scheme) {
    count(dyn, scheme, w);  // warm-up: per-thread model buffers are sized once per thread
    const long a1 = count(dyn, scheme, w), a2 = count(dyn, scheme, 2 * w);
    out["runs"].push_back({{"run", name},
                           {"allocations_w_steps", a1},
                           {"allocations_2w_steps", a2},
                           {"per_step_per_chunk", double(a2 - a1) / double(w * chunks)}});
  };
  per_step("reverse_sde + euler_maruyama (augmented)", reverse_sde(model, p), euler_maruyama{});
  per_step("pf_ode + heun (exact Laplacian)", pf_ode(model, p), heun{});

  // dopri5 on encoding runs: allocations per attempted step of each single-column solve.
  {
    matrix<double> Xd(D, 16);
    model.sample(p.t_min(), 2, 0, Xd);
    const vector<double> Ld = vector<double>::Zero(16);
    const pf_ode ode(model, p);
    const integrate_options serial{.execution = {.threads = 1}};
    integrate(ode, dopri5{}, Xd, Ld, p.t_min(), p.t_max(), serial);  // warm-up
    const long before = g_allocations.load();
    const auto r = integrate(ode, dopri5{}, Xd, Ld, p.t_min(), p.t_max(), serial);
    const long used = g_allocations.load() - before;
    long steps = 0;
    for (const auto& s : r.stats) steps += s.steps();
    out["runs"].push_back({{"run", "pf_ode + dopri5 (16 encodings)"},
                           {"allocations", used},
                           {"attempted_steps", steps},
                           {"per_attempted_step", double(used) / double(steps)}});
  }
  out["D"] = D;
  out["N"] = N;
  out["window"] = w;
  std::cout << out.dump() << "\n";
}

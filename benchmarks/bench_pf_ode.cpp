// Benchmark 4: likelihood by PF-ODE encoding with the mixture's exact Laplacian.
//
//   bench_pf_ode --mode cost --mixture m.json --n 4096 --reps 7
//     Cost of one PF-ODE rate with log p (score + exact Laplacian) against a score evaluation
//     alone and against the rate without log p, on the same points, in chunks of --batch
//     columns like the driver. The four are interleaved, `reps` rounds of `calls` each; times
//     are CPU times (bench_common.hpp says why), ratios are taken per round, then the median.
//   bench_pf_ode --mode encode --mixture m.json --n 200 --rtol 1e-6 --atol 1e-9 --points out.json
//     Encodes n points x_0 ~ p_{t_min} (oracle samples) with dopri5 from t_min to t_max and
//     reports log p_{t_min}(x_0) = log p_T(x_T) - ell_T against the exact value, the score
//     evaluations and the CPU time (one thread). Writes the points to --points so the scipy baseline solves
//     the same problems.
//   bench_pf_ode --mode steps --mixture m.json --n 4096 --steps 1000 --window 20 --reps 3
//                [--batch 0] [--dump out.bin]
//     Sampling throughput: Heun on the PF-ODE with log p (exact Laplacian), the first `window`
//     steps of the `steps`-step uniform grid from t_max down (a step costs the same at every t),
//     in chunks of --batch trajectories (execution.batch_size; 0, the default: the call's own
//     choice), one thread, CPU time per round. --dump writes the start and final states (x as N x D
//     doubles, trajectory-major, then N log p; start first) for the PyTorch baseline's check.
//   bench_pf_ode --mode values --mixture m.json --n 64 --t 0.5 --out v.json
//     Points x ~ p_t with their score and Laplacian of log p_t, for the baselines' check that
//     they compute the same function.
#include <cmath>

#include <dlogp/core/time_grid.hpp>
#include <dlogp/process/prior.hpp>
#include <dlogp/scheme/heun.hpp>

#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/scheme/dopri5.hpp>

#include "bench_common.hpp"

namespace {

using namespace dlogp;
using model_t = gaussian_mixture<double, vp_process>;

bench::json cost(const model_t& m, const bench::args& a) {
  const long N = a.num("n", 4096), reps = a.num("reps", 7), bs = a.num("batch", 64);
  const long calls = a.num("calls", 5);
  const long D = m.dimension();
  const vp_process& p = m.process();
  const double t = a.real("t", 0.5);
  matrix<double> X(D, N);
  m.sample(t, 3, 0, X);
  // One chunk of bs columns at a time, as the driver hands them to the dynamics.
  std::vector<matrix<double>> chunks;
  for (long j0 = 0; j0 < N; j0 += bs) chunks.push_back(X.middleCols(j0, std::min(bs, N - j0)));
  pf_ode ode(m, p);
  std::vector<std::uint64_t> ids(static_cast<std::size_t>(bs));
  matrix<double> S, dX;
  vector<double> lap, dL;
  std::vector<double> t_score, t_lap, t_rate, t_rate_plain;
  double sink = 0;
  for (long r = 0; r < reps; ++r) {
    double t0 = bench::cpu_now();
    for (long c = 0; c < calls; ++c)
      for (const auto& C : chunks) {
        m.score(t, C, S);
        sink += S(0, 0);
      }
    t_score.push_back(bench::cpu_now() - t0);
    t0 = bench::cpu_now();
    for (long c = 0; c < calls; ++c)
      for (const auto& C : chunks) {
        m.score_and_laplacian(t, C, S, lap);
        sink += lap(0);
      }
    t_lap.push_back(bench::cpu_now() - t0);
    t0 = bench::cpu_now();
    for (long c = 0; c < calls; ++c)
      for (const auto& C : chunks) {
        batch_context ctx{0, ids.data(), C.cols(), true, nullptr};
        ode.rate(ctx, t, C, dX, dL);
        sink += dL(0);
      }
    t_rate.push_back(bench::cpu_now() - t0);
    t0 = bench::cpu_now();
    for (long c = 0; c < calls; ++c)
      for (const auto& C : chunks) {
        batch_context ctx{0, ids.data(), C.cols(), false, nullptr};
        ode.rate(ctx, t, C, dX, dL);
        sink += dX(0, 0);
      }
    t_rate_plain.push_back(bench::cpu_now() - t0);
  }
  // Paired ratios per round (same load), then their median.
  std::vector<double> r_lap, r_rate, r_rate_plain;
  for (long r = 0; r < reps; ++r) {
    r_lap.push_back(t_lap[r] / t_score[r]);
    r_rate.push_back(t_rate[r] / t_score[r]);
    r_rate_plain.push_back(t_rate[r] / t_rate_plain[r]);
  }
  const double evals = double(N) * double(calls);
  return {{"D", D},
          {"K", m.components()},
          {"N", N},
          {"batch", bs},
          {"score_ns_per_column", 1e9 * bench::median(t_score) / evals},
          {"score_laplacian_ns_per_column", 1e9 * bench::median(t_lap) / evals},
          {"rate_logp_ns_per_column", 1e9 * bench::median(t_rate) / evals},
          {"rate_plain_ns_per_column", 1e9 * bench::median(t_rate_plain) / evals},
          {"ratio_laplacian_vs_score", bench::median(r_lap)},
          {"ratio_rate_logp_vs_score", bench::median(r_rate)},
          {"ratio_rate_logp_vs_rate_plain", bench::median(r_rate_plain)},
          {"sink", sink}};
}

bench::json encode(const model_t& m, const bench::args& a) {
  const long N = a.num("n", 200), D = m.dimension();
  const vp_process& p = m.process();
  const double rtol = a.real("rtol", 1e-6), atol = a.real("atol", 1e-9);
  const long reps = a.num("reps", 3);
  matrix<double> X0(D, N);
  m.sample(p.t_min(), 5, 0, X0);
  const vector<double> L0 = vector<double>::Zero(N);
  pf_ode ode(m, p);
  std::vector<double> secs;
  integration_result<double> r;
  for (long k = 0; k < reps; ++k) {
    const double t0 = bench::cpu_now();
    r = integrate(ode, dopri5{}, X0, L0, p.t_min(), p.t_max(),
                  {.tolerance = {.rtol = rtol, .atol = atol}, .execution = {.threads = 1}});
    secs.push_back(bench::cpu_now() - t0);
  }
  if (!r.all_ok()) throw std::runtime_error("an encoding failed");
  vector<double> lp_T, lp_0;
  m.log_density(p.t_max(), r.x, lp_T);
  m.log_density(p.t_min(), X0, lp_0);
  double se = 0, maxe = 0;
  for (long j = 0; j < N; ++j) {
    const double e = (lp_T(j) - r.log_p(j)) - lp_0(j);
    se += e * e;
    maxe = std::max(maxe, std::abs(e));
  }
  long evals = r.total_score_evals(), steps = 0, rejected = 0;
  for (const auto& s : r.stats) {
    steps += s.steps();
    rejected += s.rejected;
  }
  if (a.str("points", "") != "") {
    bench::json pts;
    for (long j = 0; j < N; ++j) {
      std::vector<double> col(X0.col(j).data(), X0.col(j).data() + D);
      pts.push_back(col);
    }
    std::ofstream(a.str("points", "")) << pts.dump();
  }
  return {{"D", D},
          {"K", m.components()},
          {"N", N},
          {"rtol", rtol},
          {"atol", atol},
          {"seconds", secs},
          {"median_seconds", bench::median(secs)},
          {"score_evals", evals},
          {"steps", steps},
          {"rejected", rejected},
          {"rms_error", std::sqrt(se / double(N))},
          {"max_error", maxe}};
}

bench::json steps(const model_t& m, const bench::args& a) {
  const long N = a.num("n", 4096), n_steps = a.num("steps", 1000);
  const long window = std::min(a.num("window", n_steps), n_steps), reps = a.num("reps", 3);
  const long batch = a.num("batch", 0);
  const long D = m.dimension();
  const vp_process& p = m.process();
  auto [X0, L0, grid] = bench::start_at_prior(p, D, N, n_steps, window);
  const pf_ode ode(m, p);
  std::vector<double> secs, cpu;
  integration_result<double> r;
  for (long k = 0; k < reps; ++k) {
    const double t0 = bench::now(), c0 = bench::cpu_now();
    r = integrate(ode, heun{}, X0, L0, grid.front(), grid.back(),
                  {.grid = {.times = grid}, .execution = {.batch_size = batch, .threads = 1}});
    secs.push_back(bench::now() - t0);
    cpu.push_back(bench::cpu_now() - c0);
  }
  if (!r.all_ok()) throw std::runtime_error("a trajectory failed");
  double cs = 0, slp = 0;
  for (long j = 0; j < N; ++j) {
    cs += r.x(0, j) + r.log_p(j);
    slp += r.log_p(j);
  }
  if (const std::string dump = a.str("dump", ""); !dump.empty()) {
    std::ofstream o(dump, std::ios::binary);
    for (const auto* v : {&X0, &r.x}) o.write(reinterpret_cast<const char*>(v->data()), std::streamsize(8 * N * D));
    o.write(reinterpret_cast<const char*>(L0.data()), std::streamsize(8 * N));
    o.write(reinterpret_cast<const char*>(r.log_p.data()), std::streamsize(8 * N));
  }
  const double med = bench::median(secs), cmed = bench::median(cpu);
  return {{"D", D},
          {"K", m.components()},
          {"N", N},
          {"steps", n_steps},
          {"window", window},
          {"scheme", "heun"},
          {"seconds", secs},
          {"cpu_seconds", cpu},
          {"median_seconds", med},
          {"median_cpu_seconds", cmed},
          {"traj_steps_per_s", double(N) * double(window) / med},
          {"traj_steps_per_cpu_s", double(N) * double(window) / cmed},
          {"score_evals", r.total_score_evals()},
          {"checksum", cs},
          {"mean_log_p", slp / double(N)}};
}

bench::json values(const model_t& m, const bench::args& a) {
  const long N = a.num("n", 64), D = m.dimension();
  const double t = a.real("t", 0.5);
  matrix<double> X(D, N), S;
  vector<double> lap;
  m.sample(t, 11, 0, X);
  m.score_and_laplacian(t, X, S, lap);
  bench::json x, s;
  for (long j = 0; j < N; ++j) {
    x.push_back(std::vector<double>(X.col(j).data(), X.col(j).data() + D));
    s.push_back(std::vector<double>(S.col(j).data(), S.col(j).data() + D));
  }
  std::ofstream(a.str("out", "values.json"))
      << bench::json{{"t", t}, {"x", x}, {"score", s},
                     {"laplacian", std::vector<double>(lap.data(), lap.data() + N)}}.dump();
  return {{"D", D}, {"K", m.components()}, {"N", N}, {"t", t}};
}

}  // namespace

int main(int argc, char** argv) {
  const bench::args a(argc, argv);
  const auto m = bench::load_mixture(a.str("mixture", "mixture.json"));
  const std::string mode = a.str("mode", "cost");
  bench::json out = mode == "cost"    ? cost(m, a)
                    : mode == "steps" ? steps(m, a)
                    : mode == "values" ? values(m, a)
                                       : encode(m, a);
  out["mode"] = mode;
  std::cout << out.dump() << "\n";
}

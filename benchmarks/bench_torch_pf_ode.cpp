// Benchmark: PF-ODE likelihoods of a TorchScript epsilon-model through dlogp (torch_score_model,
// pf_ode, rk4, integrate), against eager PyTorch (baselines/pf_ode_torch_eager.py writes the
// module and the points, and runs the same computation). One thread: torch::set_num_threads(1)
// and integrate's threads = 1. Built only when CMake finds Torch.
//
//   bench_torch_pf_ode --model DIR/model.pt --points DIR/points.npy --dtype float32 --steps 50
//                      --reps 3 [--divergence exact|hutchinson --probes 1]
//     Integrates from t_min = 1e-3 to t_max = 1 (VP, beta 0.1..20), fixed-step RK4 on the
//     uniform grid, and prints one JSON line: per-point log-likelihoods
//     log N(x_1; 0, I) - (ell_1 - ell_0), wall and CPU seconds per repetition, and the share
//     of the wall time spent inside the model's calls (the rest is dlogp's driver and RK4).
//   bench_torch_pf_ode --mode overhead --model DIR/model.pt --points DIR/points.npy [--n 1]
//     CPU microseconds per call of the adapter's score, score_vjp and score_and_laplacian on the
//     first n points (one batch), for the per-call overhead comparison with Python.
//
// torch first: glog's CHECK must not meet anything else named CHECK.
#include <dlogp/model/torch_score_model.hpp>

#include <cmath>
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/io/npy.hpp>
#include <dlogp/scheme/rk4.hpp>

#include "bench_common.hpp"

namespace {

using namespace dlogp;

/// The model with the wall time spent inside its calls accumulated (two clock reads per call).
template <class M>
struct timed_model {
  using scalar_type = scalar_of<M>;
  using S = scalar_type;
  const M* m;
  mutable double seconds = 0;
  mutable long calls = 0;

  long dimension() const { return m->dimension(); }
  long laplacian_cost() const { return m->laplacian_cost(); }
  template <class F>
  void timed(F&& f) const {
    const double t0 = bench::now();
    f();
    seconds += bench::now() - t0;
    ++calls;
  }
  void score(double t, const matrix<S>& X, matrix<S>& out) const {
    timed([&] { m->score(t, X, out); });
  }
  void score_and_laplacian(double t, const matrix<S>& X, matrix<S>& out, vector<S>& lap) const {
    timed([&] { m->score_and_laplacian(t, X, out, lap); });
  }
  void score_vjp(double t, const matrix<S>& X, const matrix<S>& U, matrix<S>& out,
                 matrix<S>& jtu) const {
    timed([&] { m->score_vjp(t, X, U, out, jtu); });
  }
  void score_vjp_blocks(double t, const matrix<S>& X, const matrix<S>& U, matrix<S>& out,
                        matrix<S>& jtu) const {
    timed([&] { m->score_vjp_blocks(t, X, U, out, jtu); });
  }
};

std::string ode_description(const divergence_options& o) {
  return o.kind == divergence_kind::exact
             ? "exact"
             : "hutchinson, " + std::to_string(o.probes) + " probe(s)";
}

template <class S>
bench::json pf_ode_run(const bench::args& a) {
  const vp_process p;
  const matrix<double> P = read_npy(a.str("points", "points.npy")).as_columns<double>("points");
  const long D = P.rows(), N = P.cols();
  const matrix<S> X0 = P.cast<S>();
  const torch_score_model<S, vp_process> model(a.str("model", "model.pt"), D, p,
                                               parametrisation::epsilon);
  const timed_model<torch_score_model<S, vp_process>> tm{&model};
  divergence_options div;
  const std::string kind = a.str("divergence", "exact");
  if (kind == "hutchinson") {
    div.kind = divergence_kind::hutchinson;
    div.probes = int(a.num("probes", 1));
  } else if (kind != "exact") {
    throw std::invalid_argument("--divergence must be exact or hutchinson");
  }
  pf_ode ode(tm, p, div);
  const long steps = a.num("steps", 50), reps = a.num("reps", 3);
  std::vector<double> wall, cpu, model_share;
  integration_result<S> r;
  const vector<S> L0 = vector<S>::Zero(N);
  for (long k = 0; k < reps; ++k) {
    tm.seconds = 0;
    const double w0 = bench::now(), c0 = bench::cpu_now();
    r = integrate(ode, rk4{}, X0, L0, p.t_min(), p.t_max(),
                  {.grid = {.steps = steps}, .execution = {.batch_size = N, .threads = 1}});
    cpu.push_back(bench::cpu_now() - c0);
    wall.push_back(bench::now() - w0);
    model_share.push_back(tm.seconds / wall.back());
  }
  if (!r.all_ok()) throw std::runtime_error("a trajectory failed");
  std::vector<double> ll(static_cast<std::size_t>(N));
  double mean = 0;
  for (long j = 0; j < N; ++j) {
    const double x2 = r.x.col(j).template cast<double>().squaredNorm();
    ll[std::size_t(j)] = -0.5 * double(D) * std::log(2 * M_PI) - 0.5 * x2 - double(r.log_p(j));
    mean += ll[std::size_t(j)] / double(N);
  }
  return {{"side", "dlogp"},
          {"D", D},
          {"N", N},
          {"steps", steps},
          {"dtype", std::is_same_v<S, float> ? "float32" : "float64"},
          {"divergence", ode_description(div)},
          {"threads", torch::get_num_threads()},
          {"seconds", wall},
          {"cpu_seconds", cpu},
          {"median_seconds", bench::median(wall)},
          {"median_cpu_seconds", bench::median(cpu)},
          {"model_share_of_wall", bench::median(model_share)},
          {"score_evals_per_trajectory", double(r.total_score_evals()) / double(N)},
          {"log_likelihood", ll},
          {"mean_log_likelihood", mean}};
}

template <class F>
double us_per_call(F&& f, long calls, long reps = 5) {
  for (long i = 0; i < calls / 10 + 1; ++i) f();  // warm-up
  std::vector<double> v;
  for (long r = 0; r < reps; ++r) {
    const double t0 = bench::cpu_now();  // one thread: CPU time, robust to a shared machine
    for (long i = 0; i < calls; ++i) f();
    v.push_back(1e6 * (bench::cpu_now() - t0) / double(calls));
  }
  return bench::median(v);
}

template <class S>
bench::json overhead(const bench::args& a) {
  const vp_process p;
  const matrix<double> P = read_npy(a.str("points", "points.npy")).as_columns<double>("points");
  const long D = P.rows(), N = std::min(a.num("n", P.cols()), long(P.cols()));
  const long calls = a.num("calls", 2000);
  const matrix<S> X = P.leftCols(N).cast<S>();
  const torch_score_model<S, vp_process> m(a.str("model", "model.pt"), D, p,
                                           parametrisation::epsilon);
  matrix<S> s, jtu, U = matrix<S>::Ones(D, N);
  vector<S> lap;
  return {{"mode", "overhead"},
          {"D", D},
          {"N", N},
          {"dtype", std::is_same_v<S, float> ? "float32" : "float64"},
          {"score_us", us_per_call([&] { m.score(0.5, X, s); }, calls)},
          {"score_vjp_us", us_per_call([&] { m.score_vjp(0.5, X, U, s, jtu); }, calls)},
          {"score_and_laplacian_us",
           us_per_call([&] { m.score_and_laplacian(0.5, X, s, lap); }, std::max(1L, calls / D))}};
}

}  // namespace

int main(int argc, char** argv) {
  const bench::args a(argc, argv);
  torch::set_num_threads(int(a.num("threads", 1)));
  const bool f32 = a.str("dtype", "float32") == "float32";
  bench::json out;
  if (a.str("mode", "pf_ode") == "overhead")
    out = f32 ? overhead<float>(a) : overhead<double>(a);
  else
    out = f32 ? pf_ode_run<float>(a) : pf_ode_run<double>(a);
  std::cout << out.dump() << "\n";
}

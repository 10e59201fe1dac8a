// Benchmark 6: the MLP score network's batched evaluation against Eigen's own matrix-product
// rate, measured in the same run on the same layer shapes, one thread.
//
//   bench_mlp --dim 32 --widths 128,256,512 --depth 4 --n 1024 --reps 5
//
// For each width H: a random network D -> H -> ... -> H -> D (`depth` hidden layers, no
// optional parts), evaluated on N columns (mlp::evaluate), against Eigen GEMMs Y = W X of the
// same weight shapes on the same N columns (Eigen::setNbThreads(1)). Rates are in GFLOP/s
// (2 flops per weight per column); the runs are interleaved `reps` times and the ratio taken
// per round, then the median. Times are CPU times (bench_common.hpp says why). Double and
// float. Also: the MLP on batches of one column (N calls; what an adaptive solver pays), and
// a check that every column of the N-column call has the same bits as that column alone.
// The PyTorch baseline of the same network is baselines/mlp_torch.py (run.py runs both).
#include <Eigen/Core>
#include <random>
#include <sstream>

#include <dlogp/model/mlp.hpp>

#include "bench_common.hpp"

namespace {

template <class S>
dlogp::mlp<S> make_network(long D, long H, long L, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<double> n01;
  auto mat = [&](long r, long c) {
    dlogp::matrix<S> m(r, c);
    for (long k = 0; k < m.size(); ++k) m.data()[k] = S(n01(g) / std::sqrt(double(c)));
    return m;
  };
  auto vec = [&](long r) {
    dlogp::vector<S> v(r);
    for (long k = 0; k < r; ++k) v(k) = S(0.3 * n01(g));
    return v;
  };
  dlogp::mlp_parameters<S> p;
  const long E = 64, Tw = 128;
  p.embedding = {E, 1000.0, 10000.0};
  p.time_weight = mat(Tw, E);
  p.time_bias = vec(Tw);
  long in = D;
  for (long l = 0; l < L; ++l) {
    p.hidden.push_back({mat(H, in), vec(H), mat(H, Tw)});
    in = H;
  }
  p.out_weight = mat(D, H);
  p.out_bias = vec(D);
  return dlogp::mlp<S>(std::move(p));
}

template <class S>
bench::json run(long D, long H, long L, long N, long reps) {
  using namespace dlogp;
  const auto net = make_network<S>(D, H, L, 11);
  std::mt19937 g(3);
  std::normal_distribution<double> n01;
  matrix<S> X(D, N);
  for (long k = 0; k < X.size(); ++k) X.data()[k] = S(n01(g));
  matrix<S> out;
  // The GEMM reference: the same weights, batched over all N columns.
  std::vector<matrix<S>> W;
  for (long l = 0; l < L; ++l) W.push_back(net.parameters().hidden[std::size_t(l)].weight);
  W.push_back(net.parameters().out_weight);
  std::vector<matrix<S>> acts(W.size() + 1);
  acts[0] = X;
  for (std::size_t l = 0; l < W.size(); ++l) acts[l + 1].resize(W[l].rows(), N);
  const double flops = 2.0 * double(net.forward_macs()) * double(N);
  double sink = 0;
  net.evaluate(0.5, X, out);  // warm-up (per-thread buffers)
  // Bits: every column of the N-column call equals the same column evaluated alone.
  bool same_bits = true;
  matrix<S> one;
  std::vector<matrix<S>> cols;
  for (long j = 0; j < N; ++j) {
    cols.emplace_back(X.col(j));
    net.evaluate(0.5, cols.back(), one);
    same_bits = same_bits && (one.col(0).array() == out.col(j).array()).all();
  }
  std::vector<double> t_mlp, t_gemm, t_single, ratio;
  for (long r = 0; r < reps; ++r) {
    double t0 = bench::cpu_now();
    net.evaluate(0.5, X, out);
    t_mlp.push_back(bench::cpu_now() - t0);
    sink += double(out(0, 0));
    t0 = bench::cpu_now();
    for (std::size_t l = 0; l < W.size(); ++l) acts[l + 1].noalias() = W[l] * acts[l];
    t_gemm.push_back(bench::cpu_now() - t0);
    sink += double(acts.back()(0, 0));
    ratio.push_back(t_gemm.back() / t_mlp.back());
    t0 = bench::cpu_now();
    for (long j = 0; j < N; ++j) {
      net.evaluate(0.5, cols[std::size_t(j)], one);
      sink += double(one(0, 0));
    }
    t_single.push_back(bench::cpu_now() - t0);
  }
  return {{"scalar", sizeof(S) == 8 ? "double" : "float"},
          {"D", D},
          {"width", H},
          {"depth", L},
          {"N", N},
          {"mlp_gflops", flops / bench::median(t_mlp) / 1e9},
          {"gemm_gflops", flops / bench::median(t_gemm) / 1e9},
          {"ratio_mlp_vs_gemm", bench::median(ratio)},
          {"mlp_batch_of_one_gflops", flops / bench::median(t_single) / 1e9},
          {"same_bits_as_single_column", same_bits},
          {"mlp_seconds", t_mlp},
          {"gemm_seconds", t_gemm},
          {"sink", sink}};
}

}  // namespace

int main(int argc, char** argv) {
  Eigen::setNbThreads(1);
  const bench::args a(argc, argv);
  const long D = a.num("dim", 32), L = a.num("depth", 4), N = a.num("n", 1024);
  const long reps = a.num("reps", 5);
  std::vector<long> widths;
  std::stringstream ws(a.str("widths", "128,256,512"));
  for (std::string w; std::getline(ws, w, ',');) widths.push_back(std::stol(w));
  bench::json out;
  for (long H : widths) {
    out["runs"].push_back(run<double>(D, H, L, N, reps));
    out["runs"].push_back(run<float>(D, H, L, N, reps));
  }
  std::cout << out.dump() << "\n";
}

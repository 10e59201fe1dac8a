// Benchmark 6: the MLP score network's batched evaluation against Eigen's own matrix-product
// rate, measured in the same run on the same layer shapes, one thread.
//
//   bench_mlp --dim 32 --widths 128,256,512 --depth 4 --n 1024 --reps 5
//
// For each width H: a random network D -> H -> ... -> H -> D (`depth` hidden layers, no
// optional parts), evaluated on N columns (mlp::evaluate), against Eigen GEMMs Y = W X of the
// same weight shapes on the same N columns (Eigen::setNbThreads(1)). Rates are in GFLOP/s
// (2 flops per weight per column); the runs are interleaved `reps` times
// and the ratio taken per round, then the median. Times are CPU times (bench_common.hpp says
// why). Double and float. Also times a prototype kernel (fixed_order_block) that would keep
// the MLP's per-column bit-identity while reusing each weight for 4 columns.
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

/// A prototype for the remedy (not used by the library): Y = W X for C columns at once, every
/// output summed over k in increasing order, so a column gets the same bits whatever C is
/// (C = 1 is a plain matrix-vector product). Rows in register blocks of R; each loaded weight
/// serves C columns instead of one.
template <class S, int C>
void fixed_order_block(const dlogp::matrix<S>& W, const S* X, long ldx, S* Y, long ldy) {
  constexpr int R = 8;
  const long H = W.rows(), n = W.cols();
  long i0 = 0;
  for (; i0 + R <= H; i0 += R) {
    S acc[C][R] = {};
    for (long k = 0; k < n; ++k) {
      const S* w = W.data() + k * H + i0;
      for (int c = 0; c < C; ++c) {
        const S xk = X[c * ldx + k];
        for (int r = 0; r < R; ++r) acc[c][r] += w[r] * xk;
      }
    }
    for (int c = 0; c < C; ++c)
      for (int r = 0; r < R; ++r) Y[c * ldy + i0 + r] = acc[c][r];
  }
  for (; i0 < H; ++i0)
    for (int c = 0; c < C; ++c) {
      S acc = 0;
      for (long k = 0; k < n; ++k) acc += W(i0, k) * X[c * ldx + k];
      Y[c * ldy + i0] = acc;
    }
}

/// All layers' products on N columns, C at a time (only the matrix products: an upper bound
/// for what a blocked MLP could reach; the activations cost the same in both).
template <class S, int C>
void blocked_products(const std::vector<dlogp::matrix<S>>& W, std::vector<dlogp::matrix<S>>& acts) {
  const long N = acts[0].cols();
  for (std::size_t l = 0; l < W.size(); ++l) {
    const long in = W[l].cols(), out = W[l].rows();
    for (long j = 0; j + C <= N; j += C)
      fixed_order_block<S, C>(W[l], acts[l].data() + j * in, in, acts[l + 1].data() + j * out, out);
  }
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
  // The prototype's bits: a column alone (C = 1) equals the same column in blocks of 4.
  std::vector<matrix<S>> blocked(acts.size()), single(acts.size());
  blocked[0] = single[0] = X;
  for (std::size_t l = 0; l < W.size(); ++l) {
    blocked[l + 1].resize(W[l].rows(), N);
    single[l + 1].resize(W[l].rows(), N);
  }
  blocked_products<S, 4>(W, blocked);
  blocked_products<S, 1>(W, single);
  const bool same_bits = blocked.back() == single.back();
  std::vector<double> t_mlp, t_gemm, t_block, ratio, ratio_block;
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
    blocked_products<S, 4>(W, blocked);
    t_block.push_back(bench::cpu_now() - t0);
    sink += double(blocked.back()(0, 0));
    ratio_block.push_back(t_gemm.back() / t_block.back());
  }
  return {{"scalar", sizeof(S) == 8 ? "double" : "float"},
          {"D", D},
          {"width", H},
          {"depth", L},
          {"N", N},
          {"mlp_gflops", flops / bench::median(t_mlp) / 1e9},
          {"gemm_gflops", flops / bench::median(t_gemm) / 1e9},
          {"ratio_mlp_vs_gemm", bench::median(ratio)},
          {"fixed_order_block4_gflops", flops / bench::median(t_block) / 1e9},
          {"ratio_fixed_order_block4_vs_gemm", bench::median(ratio_block)},
          {"fixed_order_block4_same_bits_as_single_column", same_bits},
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

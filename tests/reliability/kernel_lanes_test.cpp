// The vectorised kernels keep the reproducibility promise: the mixture's lane-major kernels
// (blocks of 8 or 4 columns, the rest one by one), the normals generated across columns and
// the augmented reverse SDE built on both give every column the bits it gets alone, for batch
// sizes 1, 7, 61, 64 and 4096 and 1-4 threads; and the version-2 random streams have the
// fingerprint docs/reproducibility.md states, whatever the compiler or instruction set.
#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <tuple>
#include <vector>

#include <dlogp/core/random.hpp>
#include <dlogp/core/vector_math.hpp>
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/vp.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {
using gm = gaussian_mixture<double, vp_process>;

/// Isotropic, diagonal and full mixtures with K components in dimension D.
std::vector<gm> mixtures(long D, int K) {
  random_stream rs(11, std::uint64_t(D), purpose::user);
  std::uint64_t n = 0;
  std::vector<double> w(static_cast<std::size_t>(K)), var(static_cast<std::size_t>(K));
  matrix<double> mu(D, K), dg(D, K);
  for (int k = 0; k < K; ++k) {
    w[std::size_t(k)] = 0.5 + rs.uniform(n++);
    var[std::size_t(k)] = 0.05 + rs.uniform(n++);
    for (long i = 0; i < D; ++i) {
      mu(i, k) = 2 * rs.normal(n++);
      dg(i, k) = 0.05 + rs.uniform(n++);
    }
  }
  return {gm::isotropic(vp_process{}, w, mu, var), gm::diagonal(vp_process{}, w, mu, dg),
          test::random_mixture<double>(D, K, 5)};
}

/// Score, score_and_laplacian's score and Laplacian, and log p of every column, stacked.
matrix<double> evaluate(const gm& m, double t, const matrix<double>& X) {
  const long D = m.dimension();
  matrix<double> S1, S2;
  vector<double> lap, lp;
  m.score(t, X, S1);
  m.score_and_laplacian(t, X, S2, lap);
  m.log_density(t, X, lp);
  matrix<double> out(2 * D + 2, X.cols());
  out << S1, S2, lap.transpose(), lp.transpose();
  return out;
}

bool same_bits(const matrix<double>& a, const matrix<double>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (long i = 0; i < a.size(); ++i)
    if (std::bit_cast<std::uint64_t>(a.data()[i]) != std::bit_cast<std::uint64_t>(b.data()[i]))
      return false;
  return true;
}
}  // namespace

// D = 2, K = 8 runs blocks of 8 columns; D = 40, K = 16 blocks of 4 (a block of 8 would not
// fit 32 KiB); builds with narrower SIMD registers use narrower blocks; the columns left over
// go one by one. D = 13 gives the full covariances' triangular products a tile of 8 rows and 5
// rows one by one.
TEST_CASE("kernels: a mixture column has the same bits in every batch and lane", "[repro]") {
  for (const auto& [D, K] : std::vector<std::pair<long, int>>{{2, 8}, {13, 5}, {40, 16}})
    for (const gm& m : mixtures(D, K)) {
      const long N = 4096;
      matrix<double> X(D, N);
      m.sample(0.4, 3, 0, X);
      const matrix<double> all = evaluate(m, 0.4, X);
      for (long size : {1L, 7L, 61L, 64L})
        for (long first : {0L, 5L, 1000L, N - size}) {
          INFO("D = " << D << ", K = " << K << ", kind " << int(m.kind()) << ", batch of " << size
                      << " from column " << first);
          CHECK(same_bits(evaluate(m, 0.4, X.middleCols(first, size)),
                          all.middleCols(first, size)));
        }
    }
}

TEST_CASE("kernels: normals generated across columns are the single draws at any batch size",
          "[repro]") {
  for (long D : {1L, 2L, 3L, 64L})
    for (long n : {1L, 7L, 61L, 64L, 4096L})
      for (std::uint64_t first : {std::uint64_t(0), std::uint64_t(5 * D + 1)}) {
        std::vector<std::uint64_t> ids(static_cast<std::size_t>(n));
        for (long j = 0; j < n; ++j) ids[std::size_t(j)] = std::uint64_t(1000 + 3 * j);
        std::vector<double> Z(static_cast<std::size_t>(D * n));
        fill_normal_columns(99, purpose::brownian, ids.data(), n, first, D, Z.data());
        long differ = 0;
        for (long j = 0; j < n; ++j) {
          const random_stream rs(99, ids[std::size_t(j)], purpose::brownian);
          for (long i = 0; i < D; ++i)
            differ += std::bit_cast<std::uint64_t>(Z[std::size_t(j * D + i)]) !=
                      std::bit_cast<std::uint64_t>(rs.normal(first + std::uint64_t(i)));
        }
        INFO("D = " << D << ", n = " << n << ", first draw " << first);
        CHECK(differ == 0);
      }
}

TEST_CASE("kernels: the augmented reverse SDE is bit-identical for batch sizes 1 to 4096 and 1-4 threads",
          "[repro]") {
  // Isotropic (the benchmark's model) at two sizes, full covariances at D = 13.
  for (const auto& [D, K, kind] : std::vector<std::tuple<long, int, int>>{
           {2, 8, 0}, {40, 16, 0}, {13, 5, 2}}) {
    const gm m = mixtures(D, K)[std::size_t(kind)];
    const long N = 4096;
    matrix<double> XT(D, N);
    m.sample(1.0, 8, 0, XT);
    const vector<double> LT = test::exact_log_p(m, 1.0, XT);
    integrate_options opt{.seed = 17, .grid = {.steps = 12},
                          .execution = {.batch_size = N, .threads = 1}};
    const auto ref = integrate(reverse_sde(m, vp_process{}), euler_maruyama{}, XT, LT, 1.0, 1e-3, opt);
    // 0: the call's own choice, 64 for the isotropic mixtures, 20 call_overhead() = 120 for
    // the full covariances (fewer with 3 or 4 threads).
    for (long bs : {0L, 1L, 7L, 61L, 64L})
      for (int threads : {1, 2, 3, 4}) {
        if (bs == 1 && threads > 2) continue;  // batches of one: the slowest arrangement
        integrate_options o = opt;
        o.execution.batch_size = bs;
        o.execution.threads = threads;
        const auto r = integrate(reverse_sde(m, vp_process{}), euler_maruyama{}, XT, LT, 1.0, 1e-3, o);
        INFO("D = " << D << ", kind " << kind << ", batch_size " << bs << ", threads " << threads);
        CHECK(same_bits(r.x, ref.x));
        CHECK(same_bits(r.log_p.transpose(), ref.log_p.transpose()));
      }
  }
}

// The first 64 normals of 4 trajectories and a sweep of the vector math, hashed (FNV-1a over the
// bits): the same value from GCC and Clang, at -O0 to -O3, for x86-64, x86-64-v3 and the AVX-512
// host when this was written. A change here means the random streams changed: bump
// random_streams_version and say so in docs/reproducibility.md.
TEST_CASE("random: version 2 streams have their documented fingerprint", "[repro]") {
  std::uint64_t h = 1469598103934665603ull;
  const auto mix = [&](double v) {
    h ^= std::bit_cast<std::uint64_t>(v);
    h *= 1099511628211ull;
  };
  const std::vector<std::uint64_t> ids{0, 1, 2, 1u << 20};
  std::vector<double> Z(64 * ids.size());
  fill_normal_columns(2026, purpose::brownian, ids.data(), long(ids.size()), 0, 64, Z.data());
  for (double z : Z) mix(z);
  for (int i = 0; i < 20000; ++i) {
    // Inputs from integers by one rounding each (no product to contract).
    mix(vmath::exp(double(i - 10000) / 13.0));
    mix(vmath::log(double(i + 1) / 7.0));
    const vmath::sin_cos sc = vmath::sincos_turns(double(i) / 20000.0);
    mix(sc.sin);
    mix(sc.cos);
  }
  CHECK(random_streams_version == 2);
  CHECK(h == 0x5d7c3855c492bb9dull);
}

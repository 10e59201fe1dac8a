#pragma once
// Building blocks of the MLP that must give the same bits for a column whatever batch it is
// evaluated in, wherever it sits in it and on whatever thread (rule 4 of the determinism notes).
//
// Matrix products: one fixed-order blocked kernel, Y = W X for any number of columns. Every
// output element is y(i, j) = sum_k W(i, k) x(k, j) accumulated from zero with k increasing,
// one multiply-add per term; so y(i, j) depends only on row i of W and column j of X, never
// on how many columns are multiplied together or which register tile computes it. Why not
// Eigen's products: its GEMM gives a column different bits depending on how many columns it
// is batched with (it switches to GEMV for one column, changes the order of its k-blocks with
// the shape, and splits over threads with a thread-dependent blocking), and its GEMV, which is
// batch-independent, reads every weight once per column (about a quarter of GEMM's rate).
//
// The multiply-add rule (mlp_madd): one fused rounding when the build's instruction set has
// FMA (EIGEN_VECTORIZE_FMA: std::fma in scalar code, the FMA instruction in SIMD lanes), else
// a rounded product then a rounded sum (contraction pinned off, core/pinned_fp.hpp). Scalar
// code and every lane apply the same rule, so they give the same bits; builds with and without
// FMA differ in the last bits (docs/reproducibility.md).
//
// Layout: lanes run over rows. W is packed once (at model construction) into panels of MR
// rows (MR = 2 SIMD vectors), k-major, the last panel zero-padded; a register tile holds MR
// rows x NC columns (NC up to 12 with AVX-512's 32 registers, 6 otherwise), and per k loads MR
// weights and broadcasts x(k, j) of each column. X and Y stay column-major (the network's own
// layout), except that X's full tiles are copied k-major once per call when its column
// stride is a multiple of 4 KiB (mlp_pack_tiles says why). Column remainders use narrower
// tiles; one or two columns alone use tiles of four or two panels (a matrix-vector product
// vectorised over rows with enough independent sums), so a batch of one pays for no padding
// of columns. Padded rows are computed and never stored.
//
// SiLU and its derivative use vmath::exp and vmath::expf (core/vector_math.hpp,
// core/vector_math_float.hpp: the same bits in scalar code and in every lane, unlike libm) in
// the scalar type's own arithmetic, so the elementwise loops vectorise at full width.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dlogp/core/pinned_fp.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/core/vector_math.hpp"
#include "dlogp/core/vector_math_float.hpp"

namespace dlogp::detail {

template <class S>
using mlp_packet = typename Eigen::internal::packet_traits<S>::type;
template <class S>
inline constexpr int mlp_lanes = Eigen::internal::unpacket_traits<mlp_packet<S>>::size;
/// Rows per panel (two vectors; one row without SIMD).
template <class S>
inline constexpr int mlp_panel_rows = 2 * mlp_lanes<S>;
/// Widest register tile in columns: 2 x NC accumulators, 2 weights and a broadcast fit the
/// vector registers.
#if defined(__AVX512F__)
inline constexpr int mlp_tile_columns = 12;
#else
inline constexpr int mlp_tile_columns = 6;
#endif

template <class S>
using mlp_aligned_vector = std::vector<S, Eigen::aligned_allocator<S>>;

/// A weight matrix (rows x cols) packed for mlp_product: panel p holds rows
/// [p MR, p MR + MR) as cols consecutive groups of MR values (zeros past the last row).
template <class S>
struct mlp_packed {
  long rows = 0, cols = 0;
  mlp_aligned_vector<S> data;

  mlp_packed() = default;
  explicit mlp_packed(const matrix<S>& W) : rows(W.rows()), cols(W.cols()) {
    constexpr long MR = mlp_panel_rows<S>;
    const long panels = (rows + MR - 1) / MR;
    data.assign(std::size_t(panels * MR * cols), S(0));
    for (long p = 0; p < panels; ++p)
      for (long k = 0; k < cols; ++k)
        for (long r = 0; r < MR && p * MR + r < rows; ++r)
          data[std::size_t((p * cols + k) * MR + r)] = W(p * MR + r, k);
  }
};

}  // namespace dlogp::detail

DLOGP_PINNED_FP_BEGIN
namespace dlogp::detail {

/// a b + c by the rule in the header comment (the scalar twin of the SIMD kernel's pmadd).
template <class S>
inline S mlp_madd(S a, S b, S c) {
#ifdef EIGEN_VECTORIZE_FMA
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

/// Y (rows(W) x n, column stride ldy) = W X (cols(W) x n, column stride ldx), one element at a
/// time in scalar code: the definition every path of mlp_product reproduces bit for bit.
template <class S>
inline void mlp_product_scalar(const matrix<S>& W, const S* X, long ldx, S* Y, long ldy, long n) {
  for (long j = 0; j < n; ++j)
    for (long i = 0; i < W.rows(); ++i) {
      S acc = 0;
      for (long k = 0; k < W.cols(); ++k) acc = mlp_madd(W(i, k), X[j * ldx + k], acc);
      Y[j * ldy + i] = acc;
    }
}

/// sigmoid in the scalar type's own arithmetic (vmath::exp, vmath::expf).
inline double mlp_sigmoid(double a) { return 1.0 / (1.0 + vmath::exp(-a)); }
inline float mlp_sigmoid(float a) { return 1.0f / (1.0f + vmath::expf(-a)); }
/// silu(a) = a sigmoid(a) and d silu / da = sigmoid(a) (1 + a (1 - sigmoid(a))).
template <class S>
inline S mlp_silu(S a) {
  return a * mlp_sigmoid(a);
}
template <class S>
inline S mlp_silu_derivative(S a) {
  const S sg = mlp_sigmoid(a);
  return sg * (S(1) + a * (S(1) - sg));
}
/// a[i] = silu(a[i]) for i < n.
template <class S>
inline void mlp_silu_n(S* a, long n) {
  for (long i = 0; i < n; ++i) a[i] = mlp_silu(a[i]);
}
/// da[i] *= gain[i] silu'(a[i]) for i < n.
template <class S>
inline void mlp_silu_tangent_n(const S* a, const S* gain, S* da, long n) {
  for (long i = 0; i < n; ++i) da[i] *= gain[i] * mlp_silu_derivative(a[i]);
}

}  // namespace dlogp::detail
DLOGP_PINNED_FP_END

namespace dlogp::detail {

/// One register tile: rows [0, rows) of Y[:, 0..NC) (rows <= NP MR) = NP consecutive panels
/// (each K x MR) times NC columns of X, x(k, c) at X[c cs + k ks] (column-major: cs = ldx,
/// ks = 1; packed by mlp_pack_tiles: cs = 1, ks = NC). Per element: acc = 0, then
/// acc = madd(w_k, x_k, acc) for k = 0, 1, ... NP > 1 gives narrow tiles (a batch of one)
/// enough independent chains.
template <class S, int NC, int NP = 1>
inline void mlp_tile(const S* panel, long K, const S* X, long cs, long ks, S* Y, long ldy,
                     long rows) {
  using P = mlp_packet<S>;
  namespace ei = Eigen::internal;
  constexpr int L = mlp_lanes<S>, V = 2 * NP;  // vectors of rows
  P acc[NC][V];
#pragma GCC unroll 16
  for (int c = 0; c < NC; ++c)
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v) acc[c][v] = ei::pset1<P>(S(0));
  for (long k = 0; k < K; ++k) {
    P w[V];
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v) w[v] = ei::pload<P>(panel + (v / 2) * K * 2 * L + k * 2 * L + (v % 2) * L);
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) {
      const P x = ei::pset1<P>(X[c * cs + k * ks]);
#pragma GCC unroll 16
      for (int v = 0; v < V; ++v) acc[c][v] = ei::pmadd(w[v], x, acc[c][v]);
    }
  }
  if (rows == V * L) {
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c)
#pragma GCC unroll 16
      for (int v = 0; v < V; ++v) ei::pstoreu(Y + c * ldy + v * L, acc[c][v]);
  } else {
    alignas(64) S tmp[V * L];
    for (int c = 0; c < NC; ++c) {
      for (int v = 0; v < V; ++v) ei::pstore(tmp + v * L, acc[c][v]);
      std::copy(tmp, tmp + rows, Y + c * ldy);
    }
  }
}

/// The first `tiles` NC-column tiles of X (K x n, column stride ldx) copied k-major into out:
/// x(k, c) of tile t at out[(t K + k) NC + c]. A tile then reads its NC values per k from one
/// cache line instead of NC lines ldx apart. Needed when ldx is a multiple of 4 KiB (a width
/// of 512 doubles): those NC lines then all fall into one L1 set, more than its ways hold, and
/// the product ran 20-25% slower than at width 256; at other widths the copy only costs time.
/// Copies only: the sums are unchanged.
template <class S, int NC>
inline void mlp_pack_tiles(const S* X, long ldx, long K, long tiles, S* out) {
  for (long t = 0; t < tiles; ++t)
    for (int c = 0; c < NC; ++c) {
      const S* x = X + (t * NC + c) * ldx;
      S* o = out + t * K * NC + c;
      for (long k = 0; k < K; ++k) o[k * NC] = x[k];
    }
}

/// Y (rows(W) x n, column stride ldy) = W X (cols(W) x n, column stride ldx), every element
/// summed in the fixed order of mlp_product_scalar (same bits). Panels outer (a panel is
/// reused by every column tile from cache), tiles of mlp_tile_columns (X packed for them once
/// per call when its stride calls for it, mlp_pack_tiles), then narrower ones; one or two
/// columns alone take several panels per tile.
template <class S>
inline void mlp_product(const matrix<S>& W, const mlp_packed<S>& Wp, const S* X, long ldx, S* Y,
                        long ldy, long n) {
  if constexpr (mlp_lanes<S> == 1) {
    (void)Wp;
    mlp_product_scalar(W, X, ldx, Y, ldy, n);
  } else {
    constexpr long MR = mlp_panel_rows<S>;
    constexpr int NC = mlp_tile_columns;
    const long K = Wp.cols, rows = Wp.rows;
    const bool pack = (ldx * long(sizeof(S))) % 4096 == 0;
    const long tiles = pack ? n / NC : 0;
    // Grows, never shrinks: a thread's calls allocate only when a product is larger than before.
    static thread_local mlp_aligned_vector<S> packed;
    if (packed.size() < std::size_t(tiles * K * NC)) packed.resize(std::size_t(tiles * K * NC));
    mlp_pack_tiles<S, NC>(X, ldx, K, tiles, packed.data());
    long i0 = 0;
    if (n == 1)
      for (; i0 + 4 * MR <= rows; i0 += 4 * MR)
        mlp_tile<S, 1, 4>(Wp.data.data() + i0 * K, K, X, ldx, 1, Y + i0, ldy, 4 * MR);
    if (n == 2)
      for (; i0 + 2 * MR <= rows; i0 += 2 * MR)
        mlp_tile<S, 2, 2>(Wp.data.data() + i0 * K, K, X, ldx, 1, Y + i0, ldy, 2 * MR);
    for (; i0 < rows; i0 += MR) {
      const S* panel = Wp.data.data() + i0 * K;
      const long r = std::min(MR, rows - i0);
      for (long t = 0; t < tiles; ++t)
        mlp_tile<S, NC>(panel, K, packed.data() + t * K * NC, 1, NC, Y + t * NC * ldy + i0, ldy, r);
      long j = tiles * NC;
      for (; j + NC <= n; j += NC)
        mlp_tile<S, NC>(panel, K, X + j * ldx, ldx, 1, Y + j * ldy + i0, ldy, r);
      const S* x = X + j * ldx;
      S* y = Y + j * ldy + i0;
      if constexpr (NC > 6) {
        if (n - j >= 6) {
          mlp_tile<S, 6>(panel, K, x, ldx, 1, y, ldy, r);
          j += 6;
          x += 6 * ldx;
          y += 6 * ldy;
        }
      }
      switch (n - j) {
        case 0: break;
        case 1: mlp_tile<S, 1>(panel, K, x, ldx, 1, y, ldy, r); break;
        case 2: mlp_tile<S, 2>(panel, K, x, ldx, 1, y, ldy, r); break;
        case 3: mlp_tile<S, 3>(panel, K, x, ldx, 1, y, ldy, r); break;
        case 4: mlp_tile<S, 4>(panel, K, x, ldx, 1, y, ldy, r); break;
        default: mlp_tile<S, 5>(panel, K, x, ldx, 1, y, ldy, r); break;
      }
    }
  }
}

/// Grows (never shrinks) a flat buffer: after the first calls of a given size a forward pass
/// allocates nothing.
template <class S>
S* mlp_reserve(std::vector<S>& v, std::size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

/// Columns the network processes together (every layer on a block before the next block):
/// a hidden layer's block of activations stays in L2 while each weight panel serves all its
/// columns.
inline constexpr long mlp_block_columns = 64;

/// Per-thread scratch space of the MLP (the model itself is immutable and shared by threads).
template <class S>
struct mlp_workspace {
  std::vector<double> embedding;
  std::vector<S> time_features, layer_shift, gain;  // per call (depend on t only)
  std::vector<S> input;                 // a block's x and v side by side (forward mode)
  std::vector<S> h, a;                  // a block's activations (and tangents), ping-pong
  std::vector<S> factor;                // gain silu'(a) of one layer (trace)
  std::vector<S> pre;                   // a block's pre-activations of every layer (trace)
  std::vector<S> tangent0, tangent1;    // H x D Jacobians for the trace
  std::vector<S> base_coef, base_in, base_out;  // Gaussian base: per-call coefficients, scratch
  S base_alpha = 0;
  std::uint64_t cached_id = 0;  // which model (never 0) and t the per-call vectors belong to
  double cached_t = 0;
};

template <class S>
mlp_workspace<S>& mlp_thread_workspace() {
  static thread_local mlp_workspace<S> ws;
  return ws;
}

}  // namespace dlogp::detail

#pragma once
// Counter-based random numbers: Philox-4x32-10 (Salmon et al., SC'11) with our own uniform,
// normal (Box-Muller) and Rademacher sampling, so results do not depend on the standard library.
// Draw n of stream (seed, trajectory, purpose) is a pure function of those four numbers.
//
// Normals are generated several Philox blocks at a time (fill_normal, fill_normal_columns) by
// loops over the same scalar code the single draws use, with the transcendental functions of
// core/vector_math.hpp and contraction pinned off: a draw has the same bits whichever call,
// batch, lane or instruction set produced it.
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "dlogp/core/pinned_fp.hpp"
#include "dlogp/core/vector_math.hpp"

DLOGP_PINNED_FP_BEGIN
namespace dlogp {

/// Version of the random streams: which values a (seed, trajectory, purpose, draw) gives.
/// 2: normals from core/vector_math.hpp's log and sincos_turns (1 used libm's log, cos, sin;
/// the Philox blocks and uniforms are unchanged, the normals differ in their last bits).
inline constexpr int random_streams_version = 2;

/// Why a random number is drawn. Different purposes never share draws, so e.g. adding
/// Hutchinson probes never shifts the Brownian increments.
enum class purpose : std::uint32_t {
  prior = 1,     ///< x_T drawn from the prior
  brownian = 2,  ///< Brownian increments of SDEs
  probe = 3,     ///< Hutchinson probe vectors
  data = 4,      ///< draws from a model's p_t (e.g. the oracle's sample())
  component = 5, ///< mixture component choices
  langevin = 6,  ///< Langevin and corrector moves
  dequantisation = 7,  ///< uniform dequantisation of quantised data
  user = 64,     ///< first value free for users
};

using philox_counter = std::array<std::uint32_t, 4>;
using philox_key = std::array<std::uint32_t, 2>;

namespace detail {
inline void mulhilo(std::uint32_t m, std::uint32_t x, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t p = std::uint64_t(m) * x;
  hi = std::uint32_t(p >> 32);
  lo = std::uint32_t(p);
}

/// How many Philox blocks the batched generators compute at once: 16 independent counters
/// keep the multiplier busy (one vector of 8 is bound by the rounds' latency).
inline constexpr int normal_lanes = 16;

/// Counters of `normal_lanes` blocks, one array per 32-bit word.
struct philox_lanes {
  std::uint32_t w0[normal_lanes], w1[normal_lanes], w2[normal_lanes], w3[normal_lanes];
};

#if defined(__GNUC__)
// The rounds on explicit vectors of words: compilers do not vectorise them reliably from
// loops (the counters end up in scalar registers). GCC and Clang vector extensions.
using word_lanes = std::uint32_t __attribute__((vector_size(4 * normal_lanes)));
using pair_lanes = std::uint64_t __attribute__((vector_size(4 * normal_lanes)));
/// lo is the wrapped 32-bit product; hi, the upper word of the 64-bit product, from the even
/// and the odd words multiplied in place as 64-bit lanes (one 32 x 32 -> 64-bit multiply each,
/// pmuludq; widening the words to twice as many 64-bit lanes and narrowing back, the obvious
/// form, spent as much time in shuffles as the rounds took). Integer arithmetic: the scalar
/// generator's bits in every lane.
inline void mulhilo(std::uint32_t m, const word_lanes& x, word_lanes& hi, word_lanes& lo) {
  constexpr std::uint64_t low_word = 0xFFFFFFFFu;
  const pair_lanes pairs = (pair_lanes)x;  // word 2 i in the low half of lane i, 2 i + 1 above
  const pair_lanes even = (pairs & low_word) * std::uint64_t(m);
  const pair_lanes odd = (pairs >> 32) * std::uint64_t(m);
  hi = (word_lanes)((even >> 32) | (odd & ~low_word));
  lo = x * m;
}
#endif

/// Ten Philox-4x32 rounds on the counter words c0..c3: one counter (Word = uint32) or one per
/// lane of a vector of words (the batched generators below); integer arithmetic, so every
/// lane gives the scalar bits exactly.
template <class Word>
inline void philox_rounds(Word& c0, Word& c1, Word& c2, Word& c3, philox_key k) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    Word hi0, lo0, hi1, lo1;
    mulhilo(M0, c0, hi0, lo0);
    mulhilo(M1, c2, hi1, lo1);
    const Word next0 = hi1 ^ c1 ^ k[0];
    const Word next2 = hi0 ^ c3 ^ k[1];
    c0 = next0;
    c1 = lo1;
    c2 = next2;
    c3 = lo0;
    k[0] += W0;
    k[1] += W1;
  }
}
}  // namespace detail

/// Philox-4x32 with 10 rounds: one 128-bit block per counter value.
inline philox_counter philox4x32_10(philox_counter c, philox_key k) {
  detail::philox_rounds(c[0], c[1], c[2], c[3], k);
  return c;
}

namespace detail {
/// 53 random bits -> (0, 1]; never 0, so the log in Box-Muller is finite. The 53-bit integer
/// becomes a double through the exponent-bits trick (exact), which vectorises without AVX-512.
inline double to_open_unit(std::uint32_t a, std::uint32_t b) {
  const std::uint64_t bits = ((std::uint64_t(a) << 32) | b) >> 11;
  const double half = vmath::detail::from_bits(vmath::detail::two52_bits | (bits >> 1)) - 0x1p52;
  const double whole = 2.0 * half + double(std::uint32_t(bits & 1u));
  return (whole + 1.0) * 0x1p-53;
}

/// The two standard normals of one Philox block: Box-Muller on u1 (words 0-1) and u2 (2-3).
inline std::array<double, 2> box_muller(double u1, double u2) {
  const double rad = std::sqrt(-2.0 * vmath::log(u1));
  const vmath::sin_cos sc = vmath::sincos_turns(u2);
  return {rad * sc.cos, rad * sc.sin};
}
inline std::array<double, 2> box_muller(const philox_counter& r) {
  return box_muller(to_open_unit(r[0], r[1]), to_open_unit(r[2], r[3]));
}

#if defined(__GNUC__)
inline void philox_rounds(philox_lanes& c, philox_key key) {
  word_lanes v0, v1, v2, v3;
  std::memcpy(&v0, c.w0, sizeof v0);
  std::memcpy(&v1, c.w1, sizeof v1);
  std::memcpy(&v2, c.w2, sizeof v2);
  std::memcpy(&v3, c.w3, sizeof v3);
  philox_rounds(v0, v1, v2, v3, key);
  std::memcpy(c.w0, &v0, sizeof v0);
  std::memcpy(c.w1, &v1, sizeof v1);
  std::memcpy(c.w2, &v2, sizeof v2);
  std::memcpy(c.w3, &v3, sizeof v3);
}
#else
inline void philox_rounds(philox_lanes& c, philox_key key) {
  for (int l = 0; l < normal_lanes; ++l) philox_rounds(c.w0[l], c.w1[l], c.w2[l], c.w3[l], key);
}
#endif

/// The normals of `normal_lanes` counters: z0[l], z1[l] from the block of counter l. Every
/// lane is computed (fixed trip counts vectorise without a scalar tail; lanes never interact).
inline void normal_pairs(philox_lanes c, philox_key key, double* z0, double* z1) {
  philox_rounds(c, key);
  for (int l = 0; l < normal_lanes; ++l) {
    const std::array<double, 2> z =
        box_muller(to_open_unit(c.w0[l], c.w1[l]), to_open_unit(c.w2[l], c.w3[l]));
    z0[l] = z[0];
    z1[l] = z[1];
  }
}

/// Counter words of block b of trajectory traj for a purpose (already shifted into place).
inline void set_counter(philox_lanes& c, int l, std::uint64_t traj, std::uint64_t b,
                        std::uint32_t purpose_bits) {
  c.w0[l] = std::uint32_t(b);
  c.w1[l] = (std::uint32_t(b >> 32) & 0x00FFFFFFu) | purpose_bits;
  c.w2[l] = std::uint32_t(traj);
  c.w3[l] = std::uint32_t(traj >> 32);
}

/// The Philox key of a seed: its low and high 32-bit halves.
inline philox_key key_of(std::uint64_t seed) { return {std::uint32_t(seed), std::uint32_t(seed >> 32)}; }

/// Draws 2 b0 .. 2 (b0 + blocks) - 1 of every trajectory ids[j], j < n, into out: trajectory j's
/// at out + 2 blocks j, in order. The common case (even first draw and even count) where every
/// block fills two consecutive outputs, so blocks are generated in order with no bookkeeping.
template <class Scalar>
void fill_normal_blocks(philox_key key, std::uint32_t purpose_bits, const std::uint64_t* ids,
                        long n, std::uint64_t b0, long blocks, Scalar* out) {
  philox_lanes c{};
  double z0[normal_lanes], z1[normal_lanes];
  const long total = n * blocks;
  if (total <= 0) return;
  // Lane l of the group starting at g0 draws block m[l] of trajectory j[l], (j, m) = the
  // quotient and remainder of g0 + l by blocks, advanced by normal_lanes per group without a
  // division; every lane is set (lanes past the end take the last trajectory and are not
  // written out), so the loop has no branch per lane and vectorises.
  long j[normal_lanes], m[normal_lanes];
  for (int l = 0; l < normal_lanes; ++l) {
    j[l] = l / blocks;
    m[l] = l % blocks;
  }
  const long carry_j = normal_lanes / blocks, carry_m = normal_lanes % blocks;
  for (long g0 = 0; g0 < total; g0 += normal_lanes) {
    const int used = int(total - g0 < normal_lanes ? total - g0 : normal_lanes);
    for (int l = 0; l < normal_lanes; ++l) {
      set_counter(c, l, ids[j[l] < n ? j[l] : n - 1], b0 + std::uint64_t(m[l]), purpose_bits);
      m[l] += carry_m;
      j[l] += carry_j;
      const long wrap = m[l] >= blocks ? 1 : 0;
      m[l] -= wrap * blocks;
      j[l] += wrap;
    }
    normal_pairs(c, key, z0, z1);
    Scalar* o = out + 2 * g0;
    for (int l = 0; l < used; ++l) {
      o[2 * l] = Scalar(z0[l]);
      o[2 * l + 1] = Scalar(z1[l]);
    }
  }
}

/// Queues Philox blocks of any (trajectory, block) and writes their normals through pointers,
/// `normal_lanes` blocks at a time: the general case of fill_normal_blocks (odd first draws or
/// counts, where blocks straddle outputs).
template <class Scalar>
class normal_batch {
 public:
  normal_batch(philox_key key, std::uint32_t purpose_bits) : key_(key), purpose_(purpose_bits) {}

  /// Block b of trajectory traj; its first and second normal go to first / second (or nowhere
  /// when null). Written by the next flush(), at the latest when the batch is full.
  void add(std::uint64_t traj, std::uint64_t b, Scalar* first, Scalar* second) {
    set_counter(c_, used_, traj, b, purpose_);
    out0_[used_] = first;
    out1_[used_] = second;
    if (++used_ == normal_lanes) flush();
  }

  void flush() {
    double z0[normal_lanes], z1[normal_lanes];
    normal_pairs(c_, key_, z0, z1);
    for (int l = 0; l < used_; ++l) {
      if (out0_[l]) *out0_[l] = Scalar(z0[l]);
      if (out1_[l]) *out1_[l] = Scalar(z1[l]);
    }
    used_ = 0;
  }

 private:
  philox_key key_;
  std::uint32_t purpose_;
  int used_ = 0;
  philox_lanes c_{};
  Scalar* out0_[normal_lanes];
  Scalar* out1_[normal_lanes];
};

/// Draws first .. first + count - 1 of trajectory traj, draw first + i going to out[i].
template <class Scalar>
void queue_normals(normal_batch<Scalar>& batch, std::uint64_t traj, std::uint64_t first,
                   Scalar* out, long count) {
  if (count <= 0) return;
  const std::uint64_t last = first + std::uint64_t(count) - 1;
  for (std::uint64_t b = first / 2; b <= last / 2; ++b) {
    const std::uint64_t d0 = 2 * b, d1 = 2 * b + 1;
    batch.add(traj, b, d0 >= first && d0 <= last ? out + (d0 - first) : nullptr,
              d1 >= first && d1 <= last ? out + (d1 - first) : nullptr);
  }
}

/// Column j of the D x n column-major Z gets draws first .. first + D - 1 of (key, ids[j],
/// purpose): the aligned fast path when every block fills two outputs, else the queue.
template <class Scalar>
void fill_normal_columns(philox_key key, std::uint32_t purpose_bits, const std::uint64_t* ids,
                         long n, std::uint64_t first, long D, Scalar* Z) {
  if (first % 2 == 0 && D % 2 == 0) {
    fill_normal_blocks(key, purpose_bits, ids, n, first / 2, D / 2, Z);
    return;
  }
  normal_batch<Scalar> batch(key, purpose_bits);
  for (long j = 0; j < n; ++j) queue_normals(batch, ids[j], first, Z + j * D, D);
  batch.flush();
}
}  // namespace detail

/// A stream of random numbers for one (seed, trajectory, purpose). Cheap to construct.
/// Block b of the stream is Philox(counter = {b_lo, b_hi | purpose << 24, traj_lo, traj_hi},
/// key = seed); normal draw n comes from block n / 2, Rademacher draw n from bit n % 128 of
/// block n / 128, so any draw can be reached directly by its index.
class random_stream {
 public:
  random_stream(std::uint64_t seed, std::uint64_t trajectory, purpose p)
      : key_(detail::key_of(seed)),
        trajectory_(trajectory),
        purpose_(std::uint32_t(p)) {}

  philox_counter block(std::uint64_t b) const {
    return philox4x32_10({std::uint32_t(b), (std::uint32_t(b >> 32) & 0x00FFFFFFu) | (purpose_ << 24),
                          std::uint32_t(trajectory_), std::uint32_t(trajectory_ >> 32)},
                         key_);
  }

  /// Two standard normals from block b (Box-Muller on two 53-bit uniforms in (0, 1]).
  std::array<double, 2> normal_pair(std::uint64_t b) const { return detail::box_muller(block(b)); }

  /// Standard normal draw number n.
  double normal(std::uint64_t n) const { return normal_pair(n / 2)[n % 2]; }

  /// Writes `count` normals, draws first .. first + count - 1, into out (any scalar type).
  template <class Scalar>
  void fill_normal(std::uint64_t first, Scalar* out, long count) const {
    detail::fill_normal_columns(key_, purpose_ << 24, &trajectory_, 1, first, count, out);
  }

  /// Rademacher (+1 / -1 with probability 1/2) draw number n.
  double rademacher(std::uint64_t n) const {
    const philox_counter r = block(n / 128);
    const unsigned bit = unsigned(n % 128);
    return ((r[bit / 32] >> (bit % 32)) & 1u) ? 1.0 : -1.0;
  }

  template <class Scalar>
  void fill_rademacher(std::uint64_t first, Scalar* out, long count) const {
    for (long i = 0; i < count; ++i) out[i] = Scalar(rademacher(first + std::uint64_t(i)));
  }

  /// Uniform in (0, 1], draw number n (one block per draw).
  double uniform(std::uint64_t n) const {
    const philox_counter r = block(n);
    return detail::to_open_unit(r[0], r[1]);
  }

 private:
  philox_key key_;
  std::uint64_t trajectory_;
  std::uint32_t purpose_;
};

/// Column j of the D x n column-major array Z gets draws first .. first + D - 1 of stream
/// (seed, ids[j], p): the values random_stream::fill_normal gives column by column, generated
/// across columns so that small D still fills every lane.
template <class Scalar>
void fill_normal_columns(std::uint64_t seed, purpose p, const std::uint64_t* ids, long n,
                         std::uint64_t first, long D, Scalar* Z) {
  detail::fill_normal_columns(detail::key_of(seed), std::uint32_t(p) << 24, ids, n, first, D, Z);
}

}  // namespace dlogp
DLOGP_PINNED_FP_END

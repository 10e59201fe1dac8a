#pragma once
// Counter-based random numbers: Philox-4x32-10 (Salmon et al., SC'11) with our own uniform,
// normal (Box-Muller) and Rademacher sampling, so results do not depend on the standard library.
// Draw n of stream (seed, trajectory, purpose) is a pure function of those four numbers.
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace dlogp {

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

namespace detail {
inline std::uint32_t mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t& hi) {
  const std::uint64_t p = std::uint64_t(a) * b;
  hi = std::uint32_t(p >> 32);
  return std::uint32_t(p);
}
}  // namespace detail

using philox_counter = std::array<std::uint32_t, 4>;
using philox_key = std::array<std::uint32_t, 2>;

/// Philox-4x32 with 10 rounds: one 128-bit block per counter value.
inline philox_counter philox4x32_10(philox_counter c, philox_key k) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, hi1;
    const std::uint32_t lo0 = detail::mulhilo32(M0, c[0], hi0);
    const std::uint32_t lo1 = detail::mulhilo32(M1, c[2], hi1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k[0] += W0;
    k[1] += W1;
  }
  return c;
}

/// A stream of random numbers for one (seed, trajectory, purpose). Cheap to construct.
/// Block b of the stream is Philox(counter = {b_lo, b_hi | purpose << 24, traj_lo, traj_hi},
/// key = seed); normal draw n comes from block n / 2, Rademacher draw n from bit n % 128 of
/// block n / 128, so any draw can be reached directly by its index.
class random_stream {
 public:
  random_stream(std::uint64_t seed, std::uint64_t trajectory, purpose p)
      : key_{std::uint32_t(seed), std::uint32_t(seed >> 32)},
        traj_lo_(std::uint32_t(trajectory)),
        traj_hi_(std::uint32_t(trajectory >> 32)),
        purpose_(std::uint32_t(p)) {}

  philox_counter block(std::uint64_t b) const {
    return philox4x32_10({std::uint32_t(b), (std::uint32_t(b >> 32) & 0x00FFFFFFu) | (purpose_ << 24),
                          traj_lo_, traj_hi_},
                         key_);
  }

  /// Two standard normals from block b (Box-Muller on two 53-bit uniforms in (0, 1]).
  std::array<double, 2> normal_pair(std::uint64_t b) const {
    const philox_counter r = block(b);
    const double u1 = to_open_unit(r[0], r[1]);
    const double u2 = to_open_unit(r[2], r[3]);
    const double rad = std::sqrt(-2.0 * std::log(u1));
    const double ang = 2.0 * std::numbers::pi * u2;
    return {rad * std::cos(ang), rad * std::sin(ang)};
  }

  /// Standard normal draw number n.
  double normal(std::uint64_t n) const { return normal_pair(n / 2)[n % 2]; }

  /// Writes `count` normals, draws first .. first + count - 1, into out (any scalar type).
  template <class Scalar>
  void fill_normal(std::uint64_t first, Scalar* out, long count) const {
    long i = 0;
    std::uint64_t n = first;
    if (count > 0 && (n & 1u)) out[i++] = Scalar(normal(n++));
    for (; i + 1 < count; i += 2, n += 2) {
      const auto z = normal_pair(n / 2);
      out[i] = Scalar(z[0]);
      out[i + 1] = Scalar(z[1]);
    }
    if (i < count) out[i] = Scalar(normal(n));
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
    return to_open_unit(r[0], r[1]);
  }

 private:
  // 53 random bits -> (0, 1]; never 0, so log() in Box-Muller is finite.
  static double to_open_unit(std::uint32_t a, std::uint32_t b) {
    const std::uint64_t bits = ((std::uint64_t(a) << 32) | b) >> 11;
    return (double(bits) + 1.0) * 0x1.0p-53;
  }

  philox_key key_;
  std::uint32_t traj_lo_, traj_hi_, purpose_;
};

}  // namespace dlogp

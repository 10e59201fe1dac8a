#pragma once
// exp, log and the sine and cosine of 2 pi u, written once in plain IEEE double arithmetic:
// no libm, no tables, no branches (selects only). Why: libm's results may differ between
// its scalar and vector variants and between machines, so the library kept them scalar and
// paid for it (benchmarks/RESULTS.md); these functions give the same bits in scalar code, in
// every SIMD lane of a loop the compiler vectorises, and under every instruction set, because
// each is a fixed sequence of correctly rounded operations with contraction pinned off
// (core/pinned_fp.hpp). Accuracy against long double over the whole range is measured by
// tests/core/vector_math_test.cpp and stated in docs/reproducibility.md (1.5, 1 and 2 ulp).
//
// Range reductions: exp by n = round(x / ln 2) with ln 2 in two parts (n ln2_hi exact);
// log by the binary exponent and a mantissa in [sqrt(1/2), sqrt(2)); the sine and cosine of
// 2 pi u by the exact quadrant q = round(4u) (exact for |u| < 2^50: u - q/4 is representable).
// The polynomials are truncated Taylor series whose first omitted term is below 2^-60 of the
// result on the reduced range.
#include <bit>
#include <cstdint>
#include <limits>

#include "dlogp/core/pinned_fp.hpp"

DLOGP_PINNED_FP_BEGIN
namespace dlogp::vmath {

namespace detail {
inline double from_bits(std::uint64_t b) { return std::bit_cast<double>(b); }
inline std::uint64_t to_bits(double x) { return std::bit_cast<std::uint64_t>(x); }

// 0x1.8p52: adding it rounds |x| < 2^51 to an integer (round to nearest even) held in the
// low mantissa bits.
inline constexpr double round_magic = 0x1.8p52;
inline constexpr std::uint64_t round_magic_bits = 0x4338000000000000u;
// 2^52: an integer m < 2^52 ORed into its mantissa bits gives 2^52 + m exactly.
inline constexpr std::uint64_t two52_bits = 0x4330000000000000u;

inline constexpr double ln2_hi = 0x1.62e42ff000000p-1;   // 32 significant bits: n ln2_hi exact
inline constexpr double ln2_lo = -0x1.718432a1b0e26p-35;  // ln 2 - ln2_hi
inline constexpr double inv_ln2 = 0x1.71547652b82fep+0;
inline constexpr double two_pi = 0x1.921fb54442d18p+2;
inline constexpr double sqrt2 = 0x1.6a09e667f3bcdp+0;

/// 2^n for -1022 <= n <= 1023, built from its exponent bits.
inline double pow2(std::int64_t n) { return from_bits(std::uint64_t(n + 1023) << 52); }
}  // namespace detail

/// e^x, at most 1.5 ulp (measured); +inf above 709.78, 0 below -745.13 (subnormal results in
/// between), NaN for NaN.
inline double exp(double x) {
  using namespace detail;
  // Clamp so n stays in [-1077, 1024]: the result then over- or underflows on its own.
  // Comparisons are false for NaN, which passes through.
  double xc = x > 710.0 ? 710.0 : x;
  xc = xc < -746.0 ? -746.0 : xc;
  const double shifted = xc * inv_ln2 + round_magic;
  const double n = shifted - round_magic;
  const std::int64_t ni = std::int64_t(to_bits(shifted) - round_magic_bits);
  const double r = (xc - n * ln2_hi) - n * ln2_lo;  // |r| <= ln(2)/2 + tiny
  // e^r = sum_{k <= 13} r^k / k!; the first omitted term is below 2^-60 e^r.
  double p = 1.0 / 6227020800.0;   // 1/13!
  p = p * r + 1.0 / 479001600.0;   // 1/12!
  p = p * r + 1.0 / 39916800.0;    // 1/11!
  p = p * r + 1.0 / 3628800.0;     // 1/10!
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // Scale by 2^n as 2^(n/2) 2^(n - n/2): both factors are normal numbers for every n in range,
  // so only the final product rounds (once, and only when the result is subnormal).
  const std::int64_t n1 = ni >> 1;
  return p * pow2(n1) * pow2(ni - n1);
}

/// Natural logarithm, at most 1 ulp (measured); -inf at 0, NaN below 0 and for NaN, +inf at +inf.
inline double log(double x) {
  using namespace detail;
  // Subnormals: scale into the normal range first.
  // Both sides of every select are computed first: a conditional floating-point operation
  // would not be if-converted (it might trap), and the loop would not vectorise.
  const bool tiny = x < 0x1p-1022;
  const double x_scaled = x * 0x1p54;
  const double xs = tiny ? x_scaled : x;
  const std::uint64_t bits = to_bits(xs);
  // Mantissa m in [1, 2) and biased exponent as an exact double (no integer conversion,
  // which would not vectorise without AVX-512).
  double m = from_bits((bits & 0x000FFFFFFFFFFFFFu) | 0x3FF0000000000000u);
  double e = from_bits(two52_bits | ((bits >> 52) & 0x7FFu)) - 0x1p52 - (tiny ? 1077.0 : 1023.0);
  const bool high = m > sqrt2;  // m in [sqrt(1/2), sqrt(2)): f small on both sides of 1
  const double m_half = m * 0.5, e_next = e + 1.0;
  m = high ? m_half : m;
  e = high ? e_next : e;
  const double f = m - 1.0;  // exact
  const double s = f / (2.0 + f);
  const double z = s * s;
  // log(1 + f) = 2 atanh(s) = 2s + s R, R = sum_{k=1..10} 2 s^{2k} / (2k + 1); |s| <= 0.172.
  double R = 2.0 / 21.0;
  R = R * z + 2.0 / 19.0;
  R = R * z + 2.0 / 17.0;
  R = R * z + 2.0 / 15.0;
  R = R * z + 2.0 / 13.0;
  R = R * z + 2.0 / 11.0;
  R = R * z + 2.0 / 9.0;
  R = R * z + 2.0 / 7.0;
  R = R * z + 2.0 / 5.0;
  R = R * z + 2.0 / 3.0;
  R = R * z;
  // 2s = f - s f = f - hfsq + s hfsq with hfsq = f^2 / 2: f is exact, so the rounding errors
  // sit in the small correction terms only.
  const double hfsq = 0.5 * f * f;
  const double y = e * ln2_hi - ((hfsq - (s * (hfsq + R) + e * ln2_lo)) - f);
  constexpr double inf = std::numeric_limits<double>::infinity();
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  const double finite_or_special = x == inf ? inf : y;
  return x > 0 ? finite_or_special : (x == 0 ? -inf : nan);
}

/// sin(2 pi u) and cos(2 pi u), at most 2 ulp (measured), for |u| < 2^50 (u in turns: the
/// reduction is exact, so u = 1/4 gives exactly (1, 0)).
struct sin_cos {
  double sin, cos;
};
inline sin_cos sincos_turns(double u) {
  using namespace detail;
  const double shifted = 4.0 * u + round_magic;
  const double q = shifted - round_magic;  // the nearest quarter turn
  const std::uint64_t quadrant = (to_bits(shifted) - round_magic_bits) & 3u;
  const double v = u - 0.25 * q;  // exact, |v| <= 1/8
  const double a = v * two_pi;    // |a| <= pi/4
  const double z = a * a;
  // sin a = a sum_{k <= 8} (-1)^k a^{2k} / (2k+1)!, cos a = sum_{k <= 8} (-1)^k a^{2k} / (2k)!.
  double ps = -1.0 / 355687428096000.0;  // -1/17!
  ps = ps * z + 1.0 / 1307674368000.0;    // 1/15!
  ps = ps * z - 1.0 / 6227020800.0;       // -1/13!
  ps = ps * z + 1.0 / 39916800.0;         // 1/11!
  ps = ps * z - 1.0 / 362880.0;
  ps = ps * z + 1.0 / 5040.0;
  ps = ps * z - 1.0 / 120.0;
  ps = ps * z + 1.0 / 6.0;
  const double sn = a - (a * z) * ps;
  double pc = 1.0 / 20922789888000.0;     // 1/16!
  pc = pc * z - 1.0 / 87178291200.0;      // -1/14!
  pc = pc * z + 1.0 / 479001600.0;        // 1/12!
  pc = pc * z - 1.0 / 3628800.0;
  pc = pc * z + 1.0 / 40320.0;
  pc = pc * z - 1.0 / 720.0;
  pc = pc * z + 1.0 / 24.0;
  const double cs = (1.0 - 0.5 * z) + (z * z) * pc;
  // Rotate by the quadrant: (sin, cos)(a + q pi/2).
  const bool swap = (quadrant & 1u) != 0;
  const double s0 = swap ? cs : sn, c0 = swap ? sn : cs;
  const double s0_neg = -s0, c0_neg = -c0;
  const bool neg_sin = quadrant == 2u || quadrant == 3u;
  const bool neg_cos = quadrant == 1u || quadrant == 2u;
  return {neg_sin ? s0_neg : s0, neg_cos ? c0_neg : c0};
}

/// out[i] = exp(in[i]) for i < n (in == out allowed). A plain loop over the scalar function:
/// the compiler may vectorise it, and the bits are the same either way.
inline void exp_n(const double* in, double* out, long n) {
  for (long i = 0; i < n; ++i) out[i] = vmath::exp(in[i]);
}

}  // namespace dlogp::vmath
DLOGP_PINNED_FP_END

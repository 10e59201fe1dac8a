#pragma once
// e^x in float arithmetic, written like core/vector_math.hpp's double functions (plain IEEE
// operations with contraction pinned off, no libm, no tables, selects only): the same bits in
// scalar code and in every SIMD lane. Why a float version: float kernels (the MLP's SiLU) then
// run 16 lanes per AVX-512 vector instead of widening to 8 doubles. Accuracy against long
// double over the whole range: tests/core/vector_math_float_test.cpp (at most 1.5 ulp; 1.21
// the largest seen over every 7th float of the finite range while writing it).
//
// Reduction: n = round(x / ln 2), ln 2 in two parts (ln2_hi has 13 significant bits, so
// n ln2_hi is exact for |n| <= 151); e^r by its Taylor series to r^7 / 7! (first omitted term
// below 2^-27 e^r on |r| <= ln(2)/2).
#include <bit>
#include <cstdint>

#include "dlogp/core/pinned_fp.hpp"

DLOGP_PINNED_FP_BEGIN
namespace dlogp::vmath {

namespace detail {
inline constexpr float round_magic_f = 0x1.8p23f;  // adding it rounds |x| < 2^22 to an integer
inline constexpr std::uint32_t round_magic_f_bits = 0x4B400000u;
inline constexpr float ln2_hi_f = 0x1.62ep-1f;
inline constexpr float ln2_lo_f = 0x1.0bfbe8p-15f;
inline constexpr float inv_ln2_f = 0x1.715476p+0f;
/// 2^n for -126 <= n <= 127.
inline float pow2f(std::int32_t n) { return std::bit_cast<float>(std::uint32_t(n + 127) << 23); }
}  // namespace detail

/// e^x in float: +inf above 88.72, 0 below -103.97 (subnormal results in between), NaN for NaN.
inline float expf(float x) {
  using namespace detail;
  // Clamp so n stays in [-150, 128]: the result then over- or underflows on its own.
  float xc = x > 89.0f ? 89.0f : x;
  xc = xc < -104.0f ? -104.0f : xc;
  const float shifted = xc * inv_ln2_f + round_magic_f;
  const float n = shifted - round_magic_f;
  const std::int32_t ni = std::int32_t(std::bit_cast<std::uint32_t>(shifted) - round_magic_f_bits);
  const float r = (xc - n * ln2_hi_f) - n * ln2_lo_f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^n as 2^(n/2) 2^(n - n/2): both factors normal, one rounding at most (subnormal results).
  const std::int32_t n1 = ni >> 1;
  return p * pow2f(n1) * pow2f(ni - n1);
}

/// out[i] = expf(in[i]) for i < n (in == out allowed): a plain loop the compiler may vectorise,
/// with the same bits either way.
inline void expf_n(const float* in, float* out, long n) {
  for (long i = 0; i < n; ++i) out[i] = vmath::expf(in[i]);
}

}  // namespace dlogp::vmath
DLOGP_PINNED_FP_END

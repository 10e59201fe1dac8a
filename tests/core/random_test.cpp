#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <dlogp/core/random.hpp>
#include <vector>

using namespace dlogp;

TEST_CASE("random: Philox-4x32-10 reproduces the Random123 known answers", "[ground-truth]") {
  // Random123 kat_vectors, philox4x32 with 10 rounds: counter, key -> output.
  CHECK(philox4x32_10({0, 0, 0, 0}, {0, 0}) ==
        philox_counter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                      {0xffffffffu, 0xffffffffu}) ==
        philox_counter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                      {0xa4093822u, 0x299f31d0u}) ==
        philox_counter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("random: Philox on 16 counters at once equals one counter at a time", "[unit]") {
  // The batched rounds (the normals' generator) multiply on vector registers in a form chosen
  // by the instruction set; the upper words of the products are where a form could go wrong,
  // so counters and keys cover whole words, with all-zero and all-one words among them.
  std::uint64_t state = 0x9E3779B97F4A7C15u;
  const auto next = [&state] {  // xorshift64
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return std::uint32_t(state >> 16);
  };
  const auto word = [&](int trial) {
    return trial == 0 ? 0u : trial == 1 ? 0xFFFFFFFFu : next();
  };
  long mismatches = 0;
  for (int trial = 0; trial < 4096; ++trial) {
    const philox_key key{word(trial), word(trial)};
    detail::philox_lanes c{};
    for (int l = 0; l < detail::normal_lanes; ++l) {
      c.w0[l] = word(trial);
      c.w1[l] = word(trial);
      c.w2[l] = word(trial);
      c.w3[l] = word(trial);
    }
    detail::philox_lanes out = c;
    detail::philox_rounds(out, key);
    for (int l = 0; l < detail::normal_lanes; ++l)
      if (philox4x32_10({c.w0[l], c.w1[l], c.w2[l], c.w3[l]}, key) !=
          philox_counter{out.w0[l], out.w1[l], out.w2[l], out.w3[l]})
        ++mismatches;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("random: normal draws have mean 0, variance 1 and fourth moment 3", "[statistical]") {
  // n iid N(0,1): sd of the sample mean of z, z^2, z^4 is sqrt(Var/n) with Var z = 1,
  // Var z^2 = E z^4 - 1 = 2, Var z^4 = E z^8 - 9 = 105 - 9 = 96. Bounds at 5 sd.
  const long n = 1 << 20;
  std::vector<double> z(static_cast<std::size_t>(n));
  random_stream(12345, 6, purpose::brownian).fill_normal(0, z.data(), n);
  double m1 = 0, m2 = 0, m4 = 0, pair = 0;
  for (long i = 0; i < n; ++i) {
    const double v = z[std::size_t(i)];
    m1 += v;
    m2 += v * v;
    m4 += v * v * v * v;
    if (i % 2 == 0) pair += v * z[std::size_t(i + 1)];  // the two Box-Muller outputs of a block
  }
  const double dn = double(n);
  m1 /= dn;
  m2 /= dn;
  m4 /= dn;
  pair /= dn / 2;
  CHECK(std::abs(m1) <= 5 * std::sqrt(1 / dn));
  CHECK(std::abs(m2 - 1) <= 5 * std::sqrt(2 / dn));
  CHECK(std::abs(m4 - 3) <= 5 * std::sqrt(96 / dn));
  CHECK(std::abs(pair) <= 5 * std::sqrt(2 / dn));  // Var(z z') = 1 over n/2 pairs
}

TEST_CASE("random: normal draws pass a Kolmogorov-Smirnov test", "[statistical]") {
  // P(sqrt(n) D_n > x) ~ 2 exp(-2 x^2) (first term of the Kolmogorov series, accurate at these
  // tails); the critical value for a false-alarm probability p = 5.7e-7 (5 sd two-sided) is
  // x = sqrt(-log(p/2) / 2) ~ 2.69.
  const long n = 200000;
  std::vector<double> z(static_cast<std::size_t>(n));
  random_stream(7, 1, purpose::prior).fill_normal(0, z.data(), n);
  std::sort(z.begin(), z.end());
  double d = 0;
  for (long i = 0; i < n; ++i) {
    const double F = 0.5 * std::erfc(-z[std::size_t(i)] / std::sqrt(2.0));
    d = std::max({d, double(i + 1) / double(n) - F, F - double(i) / double(n)});
  }
  const double x_crit = std::sqrt(-0.5 * std::log(5.7e-7 / 2));
  INFO("sqrt(n) D_n = " << std::sqrt(double(n)) * d << ", critical " << x_crit);
  CHECK(std::sqrt(double(n)) * d <= x_crit);
}

TEST_CASE("random: Rademacher and uniform draws are balanced", "[statistical]") {
  const long n = 1 << 20;
  const random_stream rs(3, 9, purpose::probe);
  std::vector<double> r(static_cast<std::size_t>(n));
  rs.fill_rademacher(0, r.data(), n);
  double sum = 0, lag = 0;
  long bad = 0;
  for (long i = 0; i < n; ++i) {
    const double v = r[std::size_t(i)];
    bad += (v != 1.0 && v != -1.0);
    sum += v;
    if (i + 1 < n) lag += v * r[std::size_t(i + 1)];
  }
  CHECK(bad == 0);
  // Mean of n fair +-1 has sd 1/sqrt(n); so has the lag-1 product mean.
  CHECK(std::abs(sum / double(n)) <= 5 / std::sqrt(double(n)));
  CHECK(std::abs(lag / double(n - 1)) <= 5 / std::sqrt(double(n - 1)));
  // Uniform (0, 1]: mean 1/2, variance 1/12.
  const long m = 1 << 18;
  double u1 = 0, u2 = 0;
  for (long i = 0; i < m; ++i) {
    const double u = rs.uniform(std::uint64_t(i));
    bad += !(u > 0 && u <= 1);
    u1 += u;
    u2 += u * u;
  }
  CHECK(bad == 0);
  u1 /= double(m);
  u2 /= double(m);
  CHECK(std::abs(u1 - 0.5) <= 5 * std::sqrt(1.0 / 12 / double(m)));
  // Var(u^2) = E u^4 - (E u^2)^2 = 1/5 - 1/9 = 4/45.
  CHECK(std::abs(u2 - 1.0 / 3) <= 5 * std::sqrt(4.0 / 45 / double(m)));
}

TEST_CASE("random: fill_normal and fill_rademacher equal the element-wise draws", "[unit]") {
  const random_stream rs(42, 17, purpose::brownian);
  for (std::uint64_t first : {0u, 1u, 2u, 7u, 1000u, 1001u})
    for (long count : {0L, 1L, 2L, 3L, 8L, 9L}) {
      INFO("first " << first << ", count " << count);
      std::vector<double> a(std::size_t(count) + 1, -99.0);
      std::vector<float> f(std::size_t(count) + 1, -99.0f);
      rs.fill_normal(first, a.data(), count);
      rs.fill_normal(first, f.data(), count);
      for (long i = 0; i < count; ++i) {
        CHECK(a[std::size_t(i)] == rs.normal(first + std::uint64_t(i)));
        CHECK(f[std::size_t(i)] == float(rs.normal(first + std::uint64_t(i))));
      }
      CHECK(a[std::size_t(count)] == -99.0);  // nothing written past the end
      std::vector<double> r(static_cast<std::size_t>(count));
      rs.fill_rademacher(first, r.data(), count);
      for (long i = 0; i < count; ++i)
        CHECK(r[std::size_t(i)] == rs.rademacher(first + std::uint64_t(i)));
    }
}

TEST_CASE("random: seeds, trajectories and purposes give different streams", "[unit]") {
  const auto first = [](std::uint64_t seed, std::uint64_t traj, purpose p) {
    std::vector<double> v(8);
    random_stream(seed, traj, p).fill_normal(0, v.data(), 8);
    return v;
  };
  const auto base = first(1, 1, purpose::brownian);
  CHECK(first(1, 1, purpose::brownian) == base);  // pure function of its arguments
  const std::vector<std::vector<double>> others = {
      first(2, 1, purpose::brownian),
      first(1 + (std::uint64_t(1) << 32), 1, purpose::brownian),  // high key word
      first(1, 2, purpose::brownian),
      first(1, 1 + (std::uint64_t(1) << 32), purpose::brownian),  // high trajectory word
      first(1, 1, purpose::prior),
      first(1, 1, purpose::probe),
      first(1, 1, purpose::data),
      first(1, 1, purpose::component),
      first(1, 1, purpose::user),
  };
  for (std::size_t k = 0; k < others.size(); ++k) {
    INFO("variant " << k);
    for (std::size_t i = 0; i < base.size(); ++i) CHECK(others[k][i] != base[i]);
  }
  // Far-away draws are reachable directly and differ from the start of the stream.
  const random_stream rs(1, 1, purpose::brownian);
  const std::uint64_t far = std::uint64_t(1) << 40;
  CHECK(rs.normal(far) != rs.normal(0));
  CHECK(rs.normal(far) == random_stream(1, 1, purpose::brownian).normal(far));
}

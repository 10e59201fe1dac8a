// Benchmark 1's "hardware limit": the augmented reverse SDE of bench_reverse_sde written as a
// minimal kernel for speed alone, with none of dlogp's constraints (no bit-reproducibility
// across batches, no checks, no generality). It computes the same mathematics as
//   integrate(reverse_sde(gaussian_mixture::isotropic(...)), euler_maruyama{}, ...)
// in bench_reverse_sde: VP process (beta 0.1 .. 20, t from 1 down to 1e-3 on the uniform grid),
// isotropic Gaussian mixture score, Euler-Maruyama on x and log p with the same increment,
// float64, one thread, x_T and the Brownian increments from the same Philox-4x32-10 streams
// (core/random.hpp's counter layout, Box-Muller on two 53-bit uniforms), so every trajectory
// follows dlogp's up to the last bits of the arithmetic.
//
//   bench_reverse_sde_limit --mixture m.json --n 4096 --steps 1000 --window 200 --reps 5
//                           [--configs "track=1,threads=1"] [--dump out.bin]
//                           [--dynamics pf_ode]
//
// Prints the JSON object bench_reverse_sde prints (benchmarks/run.py reads both alike).
// --dump writes the final states: N x D doubles (trajectory-major), then N log p.
// --dynamics pf_ode: item 1b's limit instead, the PF-ODE with the exact Laplacian by Heun as
// bench_pf_ode --mode steps runs it (same start states; no noise), on the same kernels:
// Lap log p = sum_k r_k |u_k|^2 - |s|^2 - D sum_k r_k / p_k (the uncentred form, one more
// multiply-add per component), d log p / dt = -f D + (1/2) g^2 Lap.
//
// How it is fast: trajectories in blocks of W = 8 stored structure-of-arrays (coordinate i of
// the block's 8 trajectories is 8 contiguous doubles), every operation a loop over the 8 lanes
// that the compiler turns into SIMD instructions; exp, log, sin and cos are our own branch-free
// polynomials (so they vectorise too); Philox runs 8 streams side by side; the mixture uses
// |x - m|^2 = |x|^2 - 2 x.m + |m|^2 and s = sum_k w_k m_k - (sum_k w_k) x (one multiply-add per
// coordinate and component each, like a matrix product). Built with -march=native
// (benchmarks/CMakeLists.txt gives this target its own flags).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using json = nlohmann::json;
constexpr int W = 8;  // trajectories per block (SIMD lanes)

#if defined(__GNUC__)
#define LIMIT_INLINE inline __attribute__((always_inline))
#else
#define LIMIT_INLINE inline
#endif

// ---------------------------------------------------------------- branch-free elementary functions
// Each works on one double with only arithmetic, bit operations and selects, so a loop of them
// over the lanes vectorises. Accurate to a few ulp on the ranges used here.

LIMIT_INLINE std::uint64_t bits_of(double x) {
  std::uint64_t u;
  std::memcpy(&u, &x, 8);
  return u;
}
LIMIT_INLINE double from_bits(std::uint64_t u) {
  double x;
  std::memcpy(&x, &u, 8);
  return x;
}

constexpr double LN2_HI = 0x1.62e42fefa3800p-1;  // ln 2 to 43 bits: n * LN2_HI is exact
constexpr double LN2_LO = 0x1.ef35793c76730p-45;
constexpr double ROUND = 0x1.8p52;  // x + ROUND - ROUND rounds x to an integer (|x| < 2^51)

/// e^x for x <= 0 (the responsibilities' arguments); 0 below -708. Cody-Waite: x = n ln 2 + r,
/// |r| <= ln 2 / 2, e^r by its Taylor series to degree 13 (remainder < 2e-17 relative).
LIMIT_INLINE double exp_neg(double x) {
  const double xc = x < -708.0 ? -708.0 : x;
  const double nr = xc * 0x1.71547652b82fep0 + ROUND;  // round(x / ln 2), in the low bits
  const double n = nr - ROUND;
  const double r = (xc - n * LN2_HI) - n * LN2_LO;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
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
  // 2^n from the exponent field: n in [-1022, 0], so n + 1023 >= 1 is a normal number.
  const std::uint64_t e = (bits_of(nr) + 1023u) << 52;
  const double y = p * from_bits(e);
  return x < -708.0 ? 0.0 : y;
}

/// log x for a positive normal x. x = 2^e m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s),
/// s = (m - 1) / (m + 1), |s| <= 0.1716: the odd series to s^23 (remainder < 1e-17 relative).
LIMIT_INLINE double log_pos(double x) {
  const std::uint64_t u = bits_of(x);
  // Shift by the bits of sqrt(1/2) so that the mantissa lands in [sqrt(1/2), sqrt(2)).
  const std::uint64_t adj = u - 0x3fe6a09e667f3bcdull;
  const std::int64_t e = std::int64_t(adj) >> 52;  // exponent of x / sqrt(1/2), rounded down
  const double m = from_bits(u - (std::uint64_t(e) << 52));
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double p = 1.0 / 23;
  p = p * s2 + 1.0 / 21;
  p = p * s2 + 1.0 / 19;
  p = p * s2 + 1.0 / 17;
  p = p * s2 + 1.0 / 15;
  p = p * s2 + 1.0 / 13;
  p = p * s2 + 1.0 / 11;
  p = p * s2 + 1.0 / 9;
  p = p * s2 + 1.0 / 7;
  p = p * s2 + 1.0 / 5;
  p = p * s2 + 1.0 / 3;
  const double ed = double(e);
  // 2s + 2 s^3 P(s^2), written so the leading term is added last
  const double tail = 2.0 * s * s2 * p;
  return ed * LN2_HI + (2.0 * s + (tail + ed * LN2_LO));
}

/// cos(2 pi u), sin(2 pi u) for any u in [0, 1]: reduced in turns (exact: u - q/4 loses no
/// bits), theta = 2 pi f with |f| <= 1/8, Taylor series to theta^16 / theta^15.
LIMIT_INLINE void cos_sin_turns(double u, double& c, double& s) {
  const double qr = 4.0 * u + ROUND;
  const double q = qr - ROUND;  // nearest quarter turn
  const std::uint64_t qi = bits_of(qr);
  const double f = u - 0.25 * q;
  const double th = f * 6.283185307179586;
  const double t2 = th * th;
  double cp = 1.0 / 20922789888000.0;  // 1/16!
  cp = cp * t2 - 1.0 / 87178291200.0;
  cp = cp * t2 + 1.0 / 479001600.0;
  cp = cp * t2 - 1.0 / 3628800.0;
  cp = cp * t2 + 1.0 / 40320.0;
  cp = cp * t2 - 1.0 / 720.0;
  cp = cp * t2 + 1.0 / 24.0;
  cp = cp * t2 - 0.5;
  cp = cp * t2 + 1.0;
  double sp = 1.0 / 1307674368000.0;  // 1/15!
  sp = sp * t2 - 1.0 / 6227020800.0;
  sp = sp * t2 + 1.0 / 39916800.0;
  sp = sp * t2 - 1.0 / 362880.0;
  sp = sp * t2 + 1.0 / 5040.0;
  sp = sp * t2 - 1.0 / 120.0;
  sp = sp * t2 + 1.0 / 6.0;
  const double sn = th - th * t2 * sp;
  // angle = theta + q pi/2: rotate by the quadrant
  const bool odd = qi & 1u;
  const double a = odd ? sn : cp, b = odd ? cp : sn;
  c = ((qi + 1u) & 2u) ? -a : a;
  s = (qi & 2u) ? -b : b;
}

// -------------------------------------------------------------------------------- Philox
/// Philox-4x32-10 for W streams at once (core/random.hpp's rounds and constants): the four
/// 32-bit counter words of lane l in c0[l] .. c3[l], each held in a 64-bit lane (so the
/// 32 x 32 -> 64-bit products are one SIMD multiply), key (k0, k1) shared by the lanes.
LIMIT_INLINE void philox_w(std::uint64_t* __restrict c0, std::uint64_t* __restrict c1,
                           std::uint64_t* __restrict c2, std::uint64_t* __restrict c3,
                           std::uint64_t k0, std::uint64_t k1) {
  constexpr std::uint64_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, LO = 0xFFFFFFFFu;
  // Lanes outside, rounds inside: the lane loop is the one the compiler vectorises.
  for (int l = 0; l < W; ++l) {
    std::uint64_t a = c0[l], b = c1[l], c = c2[l], d = c3[l], ka = k0, kb = k1;
    for (int round = 0; round < 10; ++round) {
      const std::uint64_t p0 = M0 * (a & LO), p1 = M1 * (c & LO);
      a = (p1 >> 32) ^ b ^ ka;
      b = p1 & LO;
      c = (p0 >> 32) ^ d ^ kb;
      d = p0 & LO;
      ka = (ka + 0x9E3779B9u) & LO;
      kb = (kb + 0xBB67AE85u) & LO;
    }
    c0[l] = a;
    c1[l] = b;
    c2[l] = c;
    c3[l] = d;
  }
}

/// The normal pairs of blocks b0 .. b0 + nb - 1 of the W streams (seed, trajectory
/// first_traj + l, purpose), Box-Muller as in random_stream::normal_pair: z[(2 j + h) W + l]
/// is component h of block b0 + j of lane l.
void normals(std::uint64_t seed, std::uint64_t first_traj, std::uint64_t purpose, std::uint64_t b0,
             long nb, double* __restrict z) {
  const std::uint64_t k0 = seed & 0xFFFFFFFFu, k1 = seed >> 32;
  for (long j = 0; j < nb; ++j) {
    const std::uint64_t b = b0 + std::uint64_t(j);
    alignas(64) std::uint64_t c0[W], c1[W], c2[W], c3[W];
    for (int l = 0; l < W; ++l) {
      const std::uint64_t t = first_traj + std::uint64_t(l);
      c0[l] = b & 0xFFFFFFFFu;
      c1[l] = ((b >> 32) & 0x00FFFFFFu) | (purpose << 24);
      c2[l] = t & 0xFFFFFFFFu;
      c3[l] = t >> 32;
    }
    philox_w(c0, c1, c2, c3, k0, k1);
    double* __restrict out = z + 2 * j * W;
    for (int l = 0; l < W; ++l) {
      // 53 bits (c0 << 21 | c1 >> 11) + 1, times 2^-53: in (0, 1], as to_open_unit.
      const double u1 = double(std::int64_t((c0[l] << 21) | (c1[l] >> 11)) + 1) * 0x1.0p-53;
      const double u2 = double(std::int64_t((c2[l] << 21) | (c3[l] >> 11)) + 1) * 0x1.0p-53;
      const double rad = std::sqrt(-2.0 * log_pos(u1));
      double cs, sn;
      cos_sin_turns(u2, cs, sn);
      out[l] = rad * cs;
      out[W + l] = rad * sn;
    }
  }
}

// ------------------------------------------------------------------------------ the model
struct mixture {
  long D = 0, K = 0;
  std::vector<double> logw;  // K, log of the normalised weights
  std::vector<double> mu;    // K x D, component-major
  std::vector<double> var;   // K
};

mixture load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  json j;
  in >> j;
  mixture m;
  const auto w = j.at("weights").get<std::vector<double>>();
  const auto mu = j.at("means").get<std::vector<std::vector<double>>>();
  m.var = j.at("variances").get<std::vector<double>>();
  m.K = long(w.size());
  m.D = long(mu.at(0).size());
  double sum = 0;
  for (double v : w) sum += v;
  for (double v : w) m.logw.push_back(std::log(v) - std::log(sum));
  for (const auto& row : mu) m.mu.insert(m.mu.end(), row.begin(), row.end());
  return m;
}

// VP process with the library's default schedule (process/vp.hpp).
constexpr double B0 = 0.1, B1 = 20.0, T_MIN = 1e-3, T_MAX = 1.0;
double integrated_beta(double t) { return B0 * t + 0.5 * (B1 - B0) * t * t; }

/// What one step shares across trajectories (gmm_frame.hpp's isotropic frame and the SDE's
/// coefficients).
struct step_consts {
  std::vector<double> m;     // K x D: alpha mu_k
  std::vector<double> half_mm;  // K: |m_k|^2 / 2
  std::vector<double> ip;    // K: 1 / p_k, p_k = alpha^2 v_k + sigma^2
  std::vector<double> c;     // K: log w_k - (D/2) log(2 pi p_k)
  double dt = 0, f = 0, g2 = 0, g = 0, sq = 0;
};

void make_step(const mixture& mx, double t, double dt, step_consts& s) {
  const long D = mx.D, K = mx.K;
  const double B = integrated_beta(t);
  const double alpha = std::exp(-0.5 * B), sigma2 = -std::expm1(-B);
  const double half_log_2pi = 0.5 * std::log(2.0 * 3.141592653589793);
  s.m.resize(std::size_t(K * D));
  s.half_mm.resize(std::size_t(K));
  s.ip.resize(std::size_t(K));
  s.c.resize(std::size_t(K));
  for (long k = 0; k < K; ++k) {
    double mm = 0;
    for (long i = 0; i < D; ++i) {
      const double v = alpha * mx.mu[std::size_t(k * D + i)];
      s.m[std::size_t(k * D + i)] = v;
      mm += v * v;
    }
    const double p = alpha * alpha * mx.var[std::size_t(k)] + sigma2;
    s.half_mm[std::size_t(k)] = 0.5 * mm;
    s.ip[std::size_t(k)] = 1.0 / p;
    s.c[std::size_t(k)] = mx.logw[std::size_t(k)] - double(D) * (half_log_2pi + 0.5 * std::log(p));
  }
  const double beta = B0 + (B1 - B0) * t;
  s.dt = dt;
  s.f = -0.5 * beta;
  s.g2 = beta;
  s.g = std::sqrt(beta);
  s.sq = std::sqrt(std::abs(dt));
}

/// Scratch of one block (all W-lane, SoA).
struct block_scratch {
  std::vector<double> z, s, r;
  explicit block_scratch(long D, long K)
      : z(std::size_t((D + 2) * W)), s(std::size_t(D * W)), r(std::size_t(K * W)) {}
};

// The two matrix-product-like loops hold KB (IB) accumulators of W lanes each in registers.
// Written with GCC/Clang vector types: as plain lane loops, GCC 12 unrolls the lanes and then
// vectorises the loop over coordinates instead (strided, with permutes), 2x slower.
typedef double lanes __attribute__((vector_size(W * sizeof(double))));
LIMIT_INLINE lanes load(const double* p) {
  lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
LIMIT_INLINE void store(double* p, lanes v) { std::memcpy(p, &v, sizeof v); }

/// dot[kb W + l] = x_l . m_{k0 + kb} for KB components at once: KB independent accumulators
/// per lane (one chain would wait on the latency of every multiply-add), each x_i loaded once.
template <int KB>
LIMIT_INLINE void dots(const double* __restrict x, const double* __restrict m, long D,
                       double* __restrict dot) {
  lanes acc[KB] = {};
  for (long i = 0; i < D; ++i) {
    const lanes xi = load(x + i * W);
    for (int kb = 0; kb < KB; ++kb) acc[kb] += xi * m[kb * D + i];
  }
  for (int kb = 0; kb < KB; ++kb) store(dot + kb * W, acc[kb]);
}

/// s_i = sum_k w_k m_k,i - A x_i for IB coordinates at once (IB independent accumulators).
template <int IB>
LIMIT_INLINE void score_rows(const double* __restrict x, const double* __restrict w,
                             const double* __restrict A, const double* __restrict m, long D,
                             long K, long i0, double* __restrict s) {
  lanes acc[IB];
  const lanes a = load(A);
  for (int ib = 0; ib < IB; ++ib) acc[ib] = -a * load(x + (i0 + ib) * W);
  for (long k = 0; k < K; ++k) {
    const lanes wk = load(w + k * W);
    for (int ib = 0; ib < IB; ++ib) acc[ib] += wk * m[k * D + i0 + ib];
  }
  for (int ib = 0; ib < IB; ++ib) store(s + (i0 + ib) * W, acc[ib]);
}

/// The mixture's score at the W trajectories of one block (x is D x W, coordinate-major):
/// w_k = softmax(r)_k / p_k into r (K x W), their sum into A, s = sum_k w_k m_k - A x into s;
/// with WithQ, q_k = |x - m_k|^2 / 2 into q (K x W) for the PF-ODE's Laplacian.
template <bool WithQ>
LIMIT_INLINE void score_block(const mixture& mx, const step_consts& sc, const double* __restrict x,
                              double* __restrict s, double* __restrict r, double* __restrict q,
                              double* __restrict A) {
  const long D = mx.D, K = mx.K;
  // logits r_k = c_k - (|x|^2 / 2 - x.m_k + |m_k|^2 / 2) / p_k
  alignas(64) double hxx[W] = {};
  for (long i = 0; i < D; ++i)
    for (int l = 0; l < W; ++l) hxx[l] += x[i * W + l] * x[i * W + l];
  for (int l = 0; l < W; ++l) hxx[l] *= 0.5;
  alignas(64) double dot[8 * W];
  for (long k = 0; k < K;) {
    const double* mk = sc.m.data() + k * D;
    const long kb = K - k >= 8 ? 8 : K - k >= 4 ? 4 : 1;
    if (kb == 8) dots<8>(x, mk, D, dot);
    else if (kb == 4) dots<4>(x, mk, D, dot);
    else dots<1>(x, mk, D, dot);
    for (long j = 0; j < kb; ++j, ++k) {
      const double ipk = sc.ip[std::size_t(k)], ck = sc.c[std::size_t(k)];
      const double hm = sc.half_mm[std::size_t(k)];
      for (int l = 0; l < W; ++l) {
        const double qk = (hxx[l] + hm) - dot[j * W + l];
        if constexpr (WithQ) q[k * W + l] = qk;
        r[k * W + l] = ck - ipk * qk;
      }
    }
  }
  // responsibilities over p_k: w_k = softmax(r)_k / p_k, and their sum A
  alignas(64) double mx_[W], sum[W] = {};
  for (int l = 0; l < W; ++l) A[l] = 0;
  for (int l = 0; l < W; ++l) mx_[l] = r[l];
  for (long k = 1; k < K; ++k)
    for (int l = 0; l < W; ++l) mx_[l] = r[k * W + l] > mx_[l] ? r[k * W + l] : mx_[l];
  for (long k = 0; k < K; ++k)
    for (int l = 0; l < W; ++l) {
      const double e = exp_neg(r[k * W + l] - mx_[l]);
      r[k * W + l] = e;
      sum[l] += e;
    }
  for (int l = 0; l < W; ++l) sum[l] = 1.0 / sum[l];
  for (long k = 0; k < K; ++k) {
    const double ipk = sc.ip[std::size_t(k)];
    for (int l = 0; l < W; ++l) {
      const double w = r[k * W + l] * sum[l] * ipk;
      r[k * W + l] = w;
      A[l] += w;
    }
  }
  // score s = sum_k w_k m_k - A x
  for (long i = 0; i < D;) {
    const long ib = D - i >= 8 ? 8 : D - i >= 2 ? 2 : 1;
    if (ib == 8) score_rows<8>(x, r, A, sc.m.data(), D, K, i, s);
    else if (ib == 2) score_rows<2>(x, r, A, sc.m.data(), D, K, i, s);
    else score_rows<1>(x, r, A, sc.m.data(), D, K, i, s);
    i += ib;
  }
}

/// One Euler-Maruyama step of the augmented reverse SDE for the W trajectories of one block:
/// x is D x W (coordinate-major), lp W log densities.
void step_block(const mixture& mx, const step_consts& sc, std::uint64_t seed, std::uint64_t traj0,
                std::uint64_t step, bool track, double* __restrict x, double* __restrict lp,
                block_scratch& ws) {
  const long D = mx.D;
  // Brownian draws step*D .. step*D + D - 1 (integrate.hpp: first_draw = k D).
  const std::uint64_t n0 = step * std::uint64_t(D);
  const std::uint64_t b0 = n0 / 2, b1 = (n0 + std::uint64_t(D) - 1) / 2;
  normals(seed, traj0, 2, b0, long(b1 - b0 + 1), ws.z.data());
  const double* __restrict z = ws.z.data() + (n0 & 1u) * W;
  alignas(64) double A[W];
  score_block<false>(mx, sc, x, ws.s.data(), ws.r.data(), nullptr, A);
  const double* __restrict s = ws.s.data();
  // Euler-Maruyama on x and log p with the same increment
  const double dt = sc.dt, f = sc.f, g2 = sc.g2, gsq = sc.g * sc.sq;
  alignas(64) double ss[W] = {}, sz[W] = {};
  for (long i = 0; i < D; ++i)
    for (int l = 0; l < W; ++l) {
      const double si = s[i * W + l], zi = z[i * W + l], xi = x[i * W + l];
      ss[l] += si * si;
      sz[l] += si * zi;
      x[i * W + l] = xi + dt * (f * xi - g2 * si) + gsq * zi;
    }
  if (track) {
    const double a = -f * double(D), hb = 0.5 * g2;
    for (int l = 0; l < W; ++l) lp[l] += dt * (a - hb * ss[l]) + gsq * sz[l];
  }
}

/// Scratch of one block for the PF-ODE (all W-lane, SoA): two rates, the Heun predictor and
/// the mixture's intermediates.
struct ode_scratch {
  std::vector<double> k1, k2, xp, s, r, q;
  explicit ode_scratch(long D, long K)
      : k1(std::size_t(D * W)), k2(std::size_t(D * W)), xp(std::size_t(D * W)),
        s(std::size_t(D * W)), r(std::size_t(K * W)), q(std::size_t(K * W)) {}
};

/// The PF-ODE rate of one block at the time of sc: kx = f x - (1/2) g^2 s and
/// kl = -f D + (1/2) g^2 Lap log p, the score and the Laplacian from step_block's kernels.
void rate_block(const mixture& mx, const step_consts& sc, const double* __restrict x,
                double* __restrict kx, double* __restrict kl, ode_scratch& ws) {
  const long D = mx.D, K = mx.K;
  alignas(64) double A[W], uu[W] = {}, tr[W] = {};
  score_block<true>(mx, sc, x, ws.s.data(), ws.r.data(), ws.q.data(), A);
  const double* __restrict s = ws.s.data();
  const double* __restrict w = ws.r.data();
  const double* __restrict q = ws.q.data();
  // sum_k r_k |u_k|^2 = sum_k w_k 2 q_k / p_k; sum_k r_k / p_k = A.
  for (long k = 0; k < K; ++k) {
    const double two_ipk = 2.0 * sc.ip[std::size_t(k)];
    for (int l = 0; l < W; ++l) uu[l] += w[k * W + l] * two_ipk * q[k * W + l];
  }
  const double f = sc.f, hg2 = 0.5 * sc.g2;
  for (long i = 0; i < D; ++i)
    for (int l = 0; l < W; ++l) {
      const double si = s[i * W + l];
      tr[l] += si * si;
      kx[i * W + l] = f * x[i * W + l] - hg2 * si;
    }
  for (int l = 0; l < W; ++l) kl[l] = -f * double(D) + hg2 * (uu[l] - tr[l] - double(D) * A[l]);
}

/// One Heun step of the PF-ODE for one block: sc at t, sc2 at t + dt.
void heun_block(const mixture& mx, const step_consts& sc, const step_consts& sc2,
                double* __restrict x, double* __restrict lp, ode_scratch& ws) {
  const long D = mx.D;
  const double dt = sc.dt;
  alignas(64) double l1[W], l2[W];
  rate_block(mx, sc, x, ws.k1.data(), l1, ws);
  for (long i = 0; i < D * W; ++i) ws.xp[std::size_t(i)] = x[i] + dt * ws.k1[std::size_t(i)];
  rate_block(mx, sc2, ws.xp.data(), ws.k2.data(), l2, ws);
  for (long i = 0; i < D * W; ++i)
    x[i] += 0.5 * dt * (ws.k1[std::size_t(i)] + ws.k2[std::size_t(i)]);
  for (int l = 0; l < W; ++l) lp[l] += 0.5 * dt * (l1[l] + l2[l]);
}

// ------------------------------------------------------------------------------- the driver
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct config {
  std::string text;
  bool track = true;
};

std::vector<config> parse_configs(const std::string& all) {
  std::vector<config> out;
  std::stringstream ss(all);
  std::string one;
  while (std::getline(ss, one, ';')) {
    config c{one};
    std::stringstream items(one);
    std::string kv;
    while (std::getline(items, kv, ',')) {
      const auto eq = kv.find('=');
      const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
      if (k == "track") c.track = v == "1";
      else if (k == "threads" && v == "1") continue;
      else if (k == "batch") continue;  // blocks of W, whatever dlogp's batch
      else throw std::invalid_argument("unsupported config " + kv + " (one thread only)");
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k.rfind("--", 0) != 0) throw std::invalid_argument("expected --option, got " + k);
    opt[k.substr(2)] = argv[i + 1];
  }
  const auto get = [&](const std::string& k, const std::string& d) {
    auto it = opt.find(k);
    return it == opt.end() ? d : it->second;
  };
  const mixture mx = load(get("mixture", "mixture.json"));
  const long N = std::stol(get("n", "4096")), steps = std::stol(get("steps", "1000"));
  const long window = std::min(std::stol(get("window", std::to_string(steps))), steps);
  const long reps = std::stol(get("reps", "3"));
  const auto configs = parse_configs(get("configs", "track=1,threads=1"));
  const std::string dump = get("dump", "");
  const std::string dynamics = get("dynamics", "reverse_sde");
  if (dynamics != "reverse_sde" && dynamics != "pf_ode")
    throw std::invalid_argument("--dynamics must be reverse_sde or pf_ode (" + dynamics + ")");
  const bool ode = dynamics == "pf_ode";
  const long D = mx.D, K = mx.K;
  const long nblocks = (N + W - 1) / W;

  // The grid of time_grid.hpp (uniform, t_max -> t_min) and its first `window` steps.
  std::vector<double> grid(std::size_t(steps + 1));
  for (long i = 0; i <= steps; ++i)
    grid[std::size_t(i)] = T_MAX + (T_MIN - T_MAX) * (double(i) / double(steps));

  // x_T = sigma(T) z, z = normal draws 0 .. D-1 of (seed 1, trajectory j, purpose prior = 1),
  // and the prior log density, as bench_reverse_sde (sample_prior, prior_log_density). Lanes
  // past N (a partial last block) are computed and ignored.
  const double s2T = -std::expm1(-integrated_beta(T_MAX)), sT = std::sqrt(s2T);
  std::vector<double> X0(std::size_t(nblocks * D * W)), L0(std::size_t(nblocks * W));
  {
    std::vector<double> zb(std::size_t((D + 2) * W));
    for (long b = 0; b < nblocks; ++b) {
      normals(1, std::uint64_t(b * W), 1, 0, (D + 1) / 2, zb.data());
      for (int l = 0; l < W; ++l) {
        double sq = 0;
        for (long i = 0; i < D; ++i) {
          const double v = sT * zb[std::size_t(i * W + l)];
          X0[std::size_t((b * D + i) * W + l)] = v;
          sq += v * v;
        }
        L0[std::size_t(b * W + l)] =
            -0.5 * double(D) * std::log(2.0 * 3.141592653589793 * s2T) - sq / (2.0 * s2T);
      }
    }
  }

  std::vector<double> X, L;
  std::vector<std::vector<double>> times(configs.size()), cpu(configs.size());
  std::vector<double> checksum(configs.size()), mean_lp(configs.size()), mean_ax(configs.size());
  step_consts sc, sc2;
  block_scratch ws(D, K);
  ode_scratch ows(D, K);
  for (long rep = 0; rep < reps; ++rep) {
    for (std::size_t c = 0; c < configs.size(); ++c) {
      const double t0 = now(), c0 = cpu_now();
      X = X0;
      L = L0;
      for (long k = 0; k < window; ++k) {
        const double t = grid[std::size_t(k)], dt = grid[std::size_t(k + 1)] - t;
        make_step(mx, t, dt, sc);
        if (ode) {
          make_step(mx, t + dt, dt, sc2);  // the time of Heun's second rate, as heun.hpp
          for (long b = 0; b < nblocks; ++b)
            heun_block(mx, sc, sc2, X.data() + b * D * W, L.data() + b * W, ows);
        } else {
          for (long b = 0; b < nblocks; ++b)
            step_block(mx, sc, 7, std::uint64_t(b * W), std::uint64_t(k), configs[c].track,
                       X.data() + b * D * W, L.data() + b * W, ws);
        }
      }
      times[c].push_back(now() - t0);
      cpu[c].push_back(cpu_now() - c0);
      double cs = 0, slp = 0, sax = 0;
      for (long j = 0; j < N; ++j) {
        const long b = j / W, l = j % W;
        const double lj = configs[c].track ? L[std::size_t(b * W + l)] : 0.0;
        cs += X[std::size_t(b * D * W + l)] + lj;
        slp += lj;
        for (long i = 0; i < D; ++i) sax += std::abs(X[std::size_t((b * D + i) * W + l)]);
      }
      checksum[c] = cs;
      mean_lp[c] = slp / double(N);
      mean_ax[c] = sax / double(N * D);
      if (!std::isfinite(cs)) throw std::runtime_error("a trajectory is not finite");
    }
  }
  if (!dump.empty()) {  // the last configuration's final states
    std::ofstream o(dump, std::ios::binary);
    for (long j = 0; j < N; ++j)
      for (long i = 0; i < D; ++i)
        o.write(reinterpret_cast<const char*>(&X[std::size_t(((j / W) * D + i) * W + j % W)]), 8);
    for (long j = 0; j < N; ++j)
      o.write(reinterpret_cast<const char*>(&L[std::size_t((j / W) * W + j % W)]), 8);
  }
  json out;
  out["D"] = D;
  out["K"] = K;
  out["N"] = N;
  out["steps"] = steps;
  out["window"] = window;
  out["kernel"] = "limit";
  out["dynamics"] = dynamics;
  for (std::size_t c = 0; c < configs.size(); ++c) {
    const double med = median(times[c]), cmed = median(cpu[c]);
    out["configs"].push_back({{"config", configs[c].text},
                              {"seconds", times[c]},
                              {"cpu_seconds", cpu[c]},
                              {"median_seconds", med},
                              {"median_cpu_seconds", cmed},
                              {"traj_steps_per_s", double(N) * double(window) / med},
                              {"traj_steps_per_cpu_s", double(N) * double(window) / cmed},
                              {"checksum", checksum[c]},
                              {"mean_log_p", mean_lp[c]},
                              {"mean_abs_x", mean_ax[c]}});
  }
  std::cout << out.dump() << "\n";
}

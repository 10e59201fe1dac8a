#pragma once
// W values of one element of W columns ("lanes") as one SIMD value, for kernels that process W
// columns at once in lane-major storage (element i of column l at [i W + l]). Arithmetic on a
// lane vector is the scalar operation in every lane (one IEEE rounding each, contraction pinned
// off by the kernels' brackets), so a kernel written once against lanes_t<Scalar, W> gives a
// column the same bits at W = 1 (plain Scalar) and in every lane of a wider W. The compilers'
// own loop vectorisation of such kernels was unreliable: GCC packed the lanes of several
// independent sums into one register and paid for permutations on every load.
#include <cstring>

namespace dlogp::detail {

/// The widest SIMD register of the build's instruction set, in bytes.
inline constexpr int simd_register_bytes =
#if defined(__AVX512F__)
    64;
#elif defined(__AVX__)
    32;
#else
    16;
#endif

/// W lanes as a plain array with the element-wise operations the kernels use, for compilers
/// without vector extensions.
template <class Scalar, int W>
struct lane_array {
  Scalar v[W];
  Scalar operator[](int l) const { return v[l]; }
  friend lane_array operator+(lane_array a, const lane_array& b) {
    for (int l = 0; l < W; ++l) a.v[l] = a.v[l] + b.v[l];
    return a;
  }
  friend lane_array operator-(lane_array a, const lane_array& b) {
    for (int l = 0; l < W; ++l) a.v[l] = a.v[l] - b.v[l];
    return a;
  }
  friend lane_array operator*(lane_array a, const lane_array& b) {
    for (int l = 0; l < W; ++l) a.v[l] = a.v[l] * b.v[l];
    return a;
  }
  friend lane_array operator-(lane_array a, Scalar b) {
    for (int l = 0; l < W; ++l) a.v[l] = a.v[l] - b;
    return a;
  }
  friend lane_array operator*(lane_array a, Scalar b) {
    for (int l = 0; l < W; ++l) a.v[l] = a.v[l] * b;
    return a;
  }
  friend lane_array operator-(lane_array a) {
    for (int l = 0; l < W; ++l) a.v[l] = -a.v[l];
    return a;
  }
  lane_array& operator+=(const lane_array& b) { return *this = *this + b; }
};

/// How W lanes of Scalar are held: Scalar itself for one lane; with vector extensions (GCC,
/// Clang) one vector, which must fit a register of the build (a wider vector extension is
/// lowered through memory: blocks of 4 doubles on SSE2 ran a third slower than blocks of 2, so
/// the kernels' callers pick blocks of at most simd_register_bytes); otherwise W scalars.
template <class Scalar, int W>
struct lane_vector {
#if defined(__GNUC__)
  static_assert(int(sizeof(Scalar)) * W <= simd_register_bytes,
                "a block of lanes wider than one SIMD register of the build");
  typedef Scalar type __attribute__((vector_size(sizeof(Scalar) * W)));
#else
  using type = lane_array<Scalar, W>;
#endif
};
template <class Scalar>
struct lane_vector<Scalar, 1> {
  using type = Scalar;
};

/// W lanes of Scalar: Scalar itself when W = 1.
template <class Scalar, int W>
using lanes_t = typename lane_vector<Scalar, W>::type;

// Lane vectors are passed by reference (read_lanes fills one): a vector extension returned by
// value has an ABI that depends on the instruction set, which GCC and Clang warn about
// (-Wpsabi).

/// v <- the W lanes stored at p (any alignment).
template <class Scalar, int W>
inline void read_lanes(const Scalar* p, lanes_t<Scalar, W>& v) {
  std::memcpy(&v, p, sizeof v);
}

template <class Scalar, int W>
inline void write_lanes(Scalar* p, const lanes_t<Scalar, W>& v) {
  std::memcpy(p, &v, sizeof v);
}

/// Lane l of v (v itself when W = 1).
template <class Scalar, int W>
inline Scalar lane(const lanes_t<Scalar, W>& v, int l) {
  if constexpr (W == 1)
    return v;
  else
    return v[l];
}

}  // namespace dlogp::detail

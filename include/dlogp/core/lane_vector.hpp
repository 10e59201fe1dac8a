#pragma once
// W values of one element of W columns ("lanes") as one SIMD value, for kernels that process W
// columns at once in lane-major storage (element i of column l at [i W + l]). Arithmetic on a
// lane vector is the scalar operation in every lane (one IEEE rounding each, contraction pinned
// off by the kernels' brackets), so a kernel written once against lanes_t<Scalar, W> gives a
// column the same bits at W = 1 (plain Scalar) and in every lane of a wider W. The compilers'
// own loop vectorisation of such kernels was unreliable: GCC packed the lanes of several
// independent sums into one register and paid for permutations on every load.
#include <cstring>
#include <type_traits>

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

/// W lanes as N parts of `Part` (Part: W / N lanes of Scalar, or Scalar itself), with the
/// element-wise operations the kernels use: for lanes wider than the build's SIMD registers
/// (GCC lowers a vector extension wider than the hardware's through memory: a third slower at
/// D = 64 than register-sized parts) and for compilers without vector extensions.
template <class Scalar, int W, class Part, int N>
struct lane_parts {
  static constexpr int per_part = W / N;
  Part v[N];
  Scalar operator[](int l) const {
    if constexpr (per_part == 1)
      return v[l];
    else
      return v[l / per_part][l % per_part];
  }
  friend lane_parts operator+(lane_parts a, const lane_parts& b) {
    for (int i = 0; i < N; ++i) a.v[i] = a.v[i] + b.v[i];
    return a;
  }
  friend lane_parts operator-(lane_parts a, const lane_parts& b) {
    for (int i = 0; i < N; ++i) a.v[i] = a.v[i] - b.v[i];
    return a;
  }
  friend lane_parts operator*(lane_parts a, const lane_parts& b) {
    for (int i = 0; i < N; ++i) a.v[i] = a.v[i] * b.v[i];
    return a;
  }
  friend lane_parts operator-(lane_parts a, Scalar b) {
    for (int i = 0; i < N; ++i) a.v[i] = a.v[i] - b;
    return a;
  }
  friend lane_parts operator*(lane_parts a, Scalar b) {
    for (int i = 0; i < N; ++i) a.v[i] = a.v[i] * b;
    return a;
  }
  friend lane_parts operator-(lane_parts a) {
    for (int i = 0; i < N; ++i) a.v[i] = -a.v[i];
    return a;
  }
  lane_parts& operator+=(const lane_parts& b) { return *this = *this + b; }
};

/// How W lanes of Scalar are held: Scalar itself for one lane; with vector extensions (GCC,
/// Clang) one vector when W lanes fit a register of the build, else register-sized parts;
/// otherwise W scalars.
template <class Scalar, int W, class Enable = void>
struct lane_vector {
  using type = lane_parts<Scalar, W, Scalar, W>;
};
template <class Scalar>
struct lane_vector<Scalar, 1> {
  using type = Scalar;
};
#if defined(__GNUC__)
template <class Scalar, int Bytes>
struct simd_of {
  typedef Scalar type __attribute__((vector_size(Bytes)));
};
template <class Scalar, int W>
struct lane_vector<Scalar, W, std::enable_if_t<(W > 1)>> {
  static constexpr int bytes = int(sizeof(Scalar)) * W;
  using type = std::conditional_t<
      (bytes <= simd_register_bytes), typename simd_of<Scalar, bytes>::type,
      lane_parts<Scalar, W, typename simd_of<Scalar, simd_register_bytes>::type,
                 bytes / simd_register_bytes>>;
};
#endif

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

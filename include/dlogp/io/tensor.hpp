#pragma once
// A tensor in memory: element type, shape (row-major, C order) and raw little-endian bytes, as
// the file formats in io/ store them (safetensors.hpp, npy.hpp), with conversions to Eigen.
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

static_assert(std::endian::native == std::endian::little,
              "dlogp/io/tensor.hpp: tensor and array files are little-endian; big-endian hosts are not "
              "supported");

/// Element types; the names are safetensors' ("F32", ...), .npy has its own (io/npy.hpp).
enum class tensor_dtype { f32, f64, i8, u8, i32, i64 };

inline constexpr tensor_dtype all_tensor_dtypes[] = {tensor_dtype::f32, tensor_dtype::f64,
                                                     tensor_dtype::i8,  tensor_dtype::u8,
                                                     tensor_dtype::i32, tensor_dtype::i64};

inline const char* to_string(tensor_dtype d) {
  switch (d) {
    case tensor_dtype::f32: return "F32";
    case tensor_dtype::f64: return "F64";
    case tensor_dtype::i8: return "I8";
    case tensor_dtype::u8: return "U8";
    case tensor_dtype::i32: return "I32";
    case tensor_dtype::i64: return "I64";
  }
  return "?";
}

inline std::size_t dtype_size(tensor_dtype d) {
  switch (d) {
    case tensor_dtype::f32: return 4;
    case tensor_dtype::f64: return 8;
    case tensor_dtype::i8: return 1;
    case tensor_dtype::u8: return 1;
    case tensor_dtype::i32: return 4;
    case tensor_dtype::i64: return 8;
  }
  return 0;
}

/// Largest product of the non-zero extents of a shape read from a file. An empty tensor holds
/// no bytes, but its other extents still size Eigen objects (row_size, as_columns), so the
/// readers bound them too, and these products cannot overflow.
inline constexpr std::uint64_t max_extent_product = std::uint64_t(1) << 48;

namespace detail {
inline bool extents_bounded(const std::vector<long>& shape) {
  std::uint64_t p = 1;
  for (long e : shape) {
    if (e < 0) return false;
    if (e == 0) continue;
    if (std::uint64_t(e) > max_extent_product / p) return false;
    p *= std::uint64_t(e);
  }
  return true;
}
}  // namespace detail

/// One tensor: dtype, shape (row-major, C order) and the raw little-endian bytes.
struct tensor {
  tensor_dtype dtype = tensor_dtype::f64;
  std::vector<long> shape;
  std::vector<unsigned char> bytes;

  long size() const {
    long n = 1;
    for (long s : shape) n *= s;
    return n;
  }
  /// Element k (row-major) converted to T.
  template <class T>
  T at(long k) const {
    const unsigned char* p = bytes.data() + std::size_t(k) * dtype_size(dtype);
    switch (dtype) {
      case tensor_dtype::f32: { float v; std::memcpy(&v, p, 4); return T(v); }
      case tensor_dtype::f64: { double v; std::memcpy(&v, p, 8); return T(v); }
      case tensor_dtype::i8: { std::int8_t v; std::memcpy(&v, p, 1); return T(v); }
      case tensor_dtype::u8: return T(*p);
      case tensor_dtype::i32: { std::int32_t v; std::memcpy(&v, p, 4); return T(v); }
      case tensor_dtype::i64: { std::int64_t v; std::memcpy(&v, p, 8); return T(v); }
    }
    return T(0);
  }
  /// All elements (row-major) converted to T.
  template <class T>
  std::vector<T> values() const {
    std::vector<T> v(static_cast<std::size_t>(size()));
    for (long k = 0; k < size(); ++k) v[std::size_t(k)] = at<T>(k);
    return v;
  }

  /// A 2-D tensor [rows, cols] as an Eigen matrix (same rows and columns).
  template <class S>
  matrix<S> as_matrix(const std::string& name = "tensor") const {
    if (shape.size() != 2)
      throw dimension_mismatch("tensor: " + name + " must have rank 2 (" +
                               std::to_string(shape.size()) + ")");
    matrix<S> m(shape[0], shape[1]);
    for (long i = 0; i < shape[0]; ++i)
      for (long j = 0; j < shape[1]; ++j) m(i, j) = at<S>(i * shape[1] + j);
    return m;
  }
  /// A 1-D tensor as an Eigen vector.
  template <class S>
  vector<S> as_vector(const std::string& name = "tensor") const {
    if (shape.size() != 1)
      throw dimension_mismatch("tensor: " + name + " must have rank 1 (" +
                               std::to_string(shape.size()) + ")");
    vector<S> v(shape[0]);
    for (long i = 0; i < shape[0]; ++i) v(i) = at<S>(i);
    return v;
  }

  /// Extents after the first, multiplied: D of an (N, D) or (N, C, H, W) array.
  long row_size() const {
    long d = 1;
    for (std::size_t i = 1; i < shape.size(); ++i) d *= shape[i];
    return d;
  }
  /// D x N, column n = row n of an (N, ...) tensor flattened in C order: dlogp's layout of
  /// states (one column per trajectory). A 1-D tensor of N values gives 1 x N.
  template <class S>
  matrix<S> as_columns(const std::string& name = "tensor") const {
    if (shape.empty()) throw dimension_mismatch("tensor: " + name + " must have rank >= 1 (0)");
    matrix<S> m(row_size(), shape[0]);
    for (long k = 0; k < size(); ++k) m.data()[k] = at<S>(k);  // column-major = C-order rows
    return m;
  }

  template <class S>
  static tensor from_matrix(const matrix<S>& m, tensor_dtype d) {
    tensor t;
    t.dtype = d;
    t.shape = {long(m.rows()), long(m.cols())};
    t.bytes.resize(std::size_t(m.size()) * dtype_size(d));
    for (long i = 0; i < m.rows(); ++i)
      for (long j = 0; j < m.cols(); ++j) t.put(i * m.cols() + j, double(m(i, j)));
    return t;
  }
  template <class S>
  static tensor from_vector(const vector<S>& v, tensor_dtype d) {
    tensor t;
    t.dtype = d;
    t.shape = {long(v.size())};
    t.bytes.resize(std::size_t(v.size()) * dtype_size(d));
    for (long i = 0; i < v.size(); ++i) t.put(i, double(v(i)));
    return t;
  }

 private:
  void put(long k, double x) {
    unsigned char* p = bytes.data() + std::size_t(k) * dtype_size(dtype);
    switch (dtype) {
      case tensor_dtype::f32: { const float v = float(x); std::memcpy(p, &v, 4); break; }
      case tensor_dtype::f64: std::memcpy(p, &x, 8); break;
      case tensor_dtype::i8: { const auto v = std::int8_t(x); std::memcpy(p, &v, 1); break; }
      case tensor_dtype::u8: *p = static_cast<unsigned char>(x); break;
      case tensor_dtype::i32: { const auto v = std::int32_t(x); std::memcpy(p, &v, 4); break; }
      case tensor_dtype::i64: { const auto v = std::int64_t(x); std::memcpy(p, &v, 8); break; }
    }
  }
};

}  // namespace dlogp

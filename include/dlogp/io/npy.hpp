#pragma once
// NumPy .npy arrays: read_npy and write_npy (docs/weights-format.md, "NumPy arrays").
//
// Own code, not a dependency: Debian ships no small maintained C++ .npy library (xtensor's
// reader is tied to xtensor's array type, cnpy is unmaintained and trusts the header), and the
// format is small: a magic string, a version, a Python-literal header dict and the raw bytes.
// No nlohmann_json needed.
//
// Read: versions 1.0, 2.0 and 3.0; the header dict exactly {'descr', 'fortran_order', 'shape'}
// (what numpy itself requires), parsed strictly; dtypes '<f4', '<f8', '|i1', '|u1', '<i4',
// '<i8'; C order only. The shape's element count times the item size must equal the bytes after
// the header exactly (overflow-checked, before anything is allocated), so a lying header is
// refused, never read short or long. Big-endian data, Fortran order, object and structured
// arrays, directories, FIFOs and devices are refused.
// Write: version 1.0 (2.0 when the header needs it), header padded with spaces to a multiple of
// 64 bytes and ended by '\n', as numpy.save does; numpy.load reads it.
//
// read_npy returns a dlogp::tensor (io/tensor.hpp: dtype, shape, raw bytes). dlogp's states are
// D x N matrices with one column per trajectory (core/types.hpp); an (N, D) or (N, C, H, W)
// array maps to one by tensor::as_columns<S>() (column n = row n, flattened in C order), and
// write_npy(path, X) writes a D x N matrix as an (N, D) array.
//
// Errors: every problem with a file is dlogp::error id "io_error", one line naming the path and
// what is wrong; a shape that does not match the data passed to write_npy is
// dlogp::dimension_mismatch.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"
#include "dlogp/io/detail/regular_file.hpp"
#include "dlogp/io/tensor.hpp"

namespace dlogp {

/// The descr string numpy writes for a dtype, e.g. "<f8".
inline const char* npy_descr(tensor_dtype d) {
  switch (d) {
    case tensor_dtype::f32: return "<f4";
    case tensor_dtype::f64: return "<f8";
    case tensor_dtype::i8: return "|i1";
    case tensor_dtype::u8: return "|u1";
    case tensor_dtype::i32: return "<i4";
    case tensor_dtype::i64: return "<i8";
  }
  return "?";
}

/// Largest .npy header read_npy accepts. numpy's own reader refuses headers over 10000 bytes by
/// default; a shape of 32 extents needs under 1000.
inline constexpr std::uint64_t max_npy_header_bytes = 65536;
/// Most extents read_npy accepts (numpy's own limit is 64).
inline constexpr std::size_t max_npy_rank = 64;

namespace detail::npy {

/// A strict reader of numpy's header: a Python dict literal with string keys and values that
/// are strings, True/False or tuples of non-negative integers. Anything else is refused.
class header_parser {
 public:
  header_parser(const std::string& text, const regular_file& file) : s_(text), file_(file) {}

  struct fields {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::uint64_t> shape;
  };

  fields parse() {
    fields f;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    skip_space();
    expect('{');
    skip_space();
    while (peek() != '}') {
      const std::string key = string_literal();
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (seen_descr) fail("key 'descr' appears twice");
        seen_descr = true;
        if (peek() == '[') fail("structured dtypes are not supported (descr is a list)");
        f.descr = string_literal();
      } else if (key == "fortran_order") {
        if (seen_order) fail("key 'fortran_order' appears twice");
        seen_order = true;
        f.fortran_order = boolean();
      } else if (key == "shape") {
        if (seen_shape) fail("key 'shape' appears twice");
        seen_shape = true;
        f.shape = tuple();
      } else {
        fail("unexpected key '" + printable(key) + "' (only descr, fortran_order, shape)");
      }
      skip_space();
      if (peek() == ',') {
        ++i_;
        skip_space();
      } else if (peek() != '}') {
        fail("expected ',' or '}' at header byte " + std::to_string(i_));
      }
    }
    ++i_;
    if (!seen_descr || !seen_order || !seen_shape)
      fail("header lacks one of 'descr', 'fortran_order', 'shape'");
    while (i_ < s_.size() && s_[i_] == ' ') ++i_;
    if (i_ + 1 != s_.size() || s_[i_] != '\n')
      fail("header does not end with spaces and a newline after the dict");
    return f;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { file_.fail("malformed header: " + what); }
  char peek() const {
    if (i_ >= s_.size()) fail("header ends inside the dict");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c)
      fail(std::string("expected '") + c + "' at header byte " + std::to_string(i_));
    ++i_;
  }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n')) ++i_;
  }
  static std::string printable(const std::string& s) {
    std::string out;
    for (char c : s) out += (c >= 0x20 && c < 0x7f) ? std::string(1, c) : std::string("?");
    return out.size() > 40 ? out.substr(0, 40) + "..." : out;
  }
  std::string string_literal() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a string at header byte " + std::to_string(i_));
    const std::size_t begin = ++i_;
    while (peek() != q)
      if (s_[i_++] == '\\') fail("escapes in header strings are not supported");
    return s_.substr(begin, i_++ - begin);
  }
  bool boolean() {
    if (s_.compare(i_, 4, "True") == 0) return i_ += 4, true;
    if (s_.compare(i_, 5, "False") == 0) return i_ += 5, false;
    fail("fortran_order is not True or False");
  }
  std::vector<std::uint64_t> tuple() {
    std::vector<std::uint64_t> v;
    expect('(');
    skip_space();
    while (peek() != ')') {
      if (peek() < '0' || peek() > '9') fail("shape extent is not a non-negative integer");
      std::uint64_t x = 0;
      while (peek() >= '0' && peek() <= '9') {
        const unsigned digit = unsigned(s_[i_++] - '0');
        if (x > (std::uint64_t(1) << 62) / 10) fail("shape extent too large");
        x = 10 * x + digit;
      }
      if (v.size() == max_npy_rank)
        fail("more than " + std::to_string(max_npy_rank) + " extents in the shape");
      v.push_back(x);
      skip_space();
      if (peek() == ',') {
        ++i_;
        skip_space();
      } else if (peek() != ')') {
        fail("expected ',' or ')' in the shape");
      }
    }
    ++i_;
    return v;
  }

  const std::string& s_;
  const regular_file& file_;
  std::size_t i_ = 0;
};

inline tensor_dtype parse_descr(const std::string& d, const regular_file& file) {
  for (auto t : all_tensor_dtypes)
    if (d == npy_descr(t)) return t;
  if (d == "<i1") return tensor_dtype::i8;  // the byte order of a 1-byte type is immaterial
  if (d == "<u1") return tensor_dtype::u8;
  if (!d.empty() && d[0] == '>')
    file.fail("big-endian dtype '" + d + "' is not supported (save with arr.astype('<" +
              d.substr(1) + "'))");
  if (d.find('O') != std::string::npos) file.fail("object arrays ('" + d + "') are not supported");
  file.fail("unsupported dtype '" + d.substr(0, 16) +
            "' (supported: <f4, <f8, |i1, |u1, <i4, <i8)");
}

}  // namespace detail::npy

/// Reads a .npy file. Throws error("io_error") naming the path for anything it cannot read
/// exactly (see the header comment); never std::bad_alloc.
inline tensor read_npy(const std::string& path) {
  detail::regular_file file(path, "read_npy");
  const auto fail = [&](const std::string& what) { file.fail(what); };
  if (file.size() < 10) fail("file shorter than the 10-byte .npy preamble");
  unsigned char pre[12] = {};
  file.read(0, pre, 10);
  if (std::memcmp(pre, "\x93NUMPY", 6) != 0) fail("not a .npy file (no \\x93NUMPY magic)");
  const int major = pre[6], minor = pre[7];
  if (!(major >= 1 && major <= 3 && minor == 0))
    fail("unsupported .npy version " + std::to_string(major) + "." + std::to_string(minor) +
         " (1.0, 2.0 and 3.0 are read)");
  std::uint64_t header_len = 0, preamble = 10;
  if (major == 1) {
    header_len = std::uint64_t(pre[8]) | std::uint64_t(pre[9]) << 8;
  } else {
    preamble = 12;
    if (file.size() < 12) fail("file shorter than the 12-byte .npy preamble");
    file.read(10, pre + 10, 2);
    for (int i = 11; i >= 8; --i) header_len = (header_len << 8) | pre[i];
  }
  if (header_len > max_npy_header_bytes)
    fail("header length " + std::to_string(header_len) + " exceeds the limit of " +
         std::to_string(max_npy_header_bytes) + " bytes");
  if (header_len > file.size() - preamble)
    fail("header length " + std::to_string(header_len) + " is larger than the file (" +
         std::to_string(file.size()) + " bytes)");
  std::string text(std::size_t(header_len), '\0');
  file.read(preamble, text.data(), header_len);
  const auto h = detail::npy::header_parser(text, file).parse();

  tensor a;
  a.dtype = detail::npy::parse_descr(h.descr, file);
  if (h.fortran_order) fail("Fortran order is not supported (save np.ascontiguousarray(arr))");
  const std::uint64_t data = file.size() - preamble - header_len;
  std::uint64_t count = 1, bytes = 0;
  for (std::uint64_t e : h.shape) {
    if (!detail::checked_multiply(count, e, data, count))
      fail("the shape has more elements than the file has bytes after the header (" +
           std::to_string(data) + ")");
    a.shape.push_back(long(e));
  }
  if (!detail::extents_bounded(a.shape)) fail("the non-zero extents of the shape multiply to more than 2^48");
  // count <= data, so count x item size cannot overflow; the exact byte count goes in the message
  detail::checked_multiply(count, dtype_size(a.dtype), ~std::uint64_t(0), bytes);
  if (bytes != data)
    fail("the shape and dtype need " + std::to_string(bytes) + " bytes of data but the file has " +
         std::to_string(data) + " after the header");
  file.allocating([&] { a.bytes.resize(std::size_t(bytes)); }, bytes);
  file.read(preamble + header_len, a.bytes.data(), bytes);
  return a;
}

namespace detail::npy {

/// Writes a .npy file's bytes to `out`; `path` only names it in messages.
inline void write(std::ostream& out, const std::string& path, const std::vector<long>& shape, tensor_dtype dtype,
                  const void* data, long count_given) {
  std::uint64_t count = 1;
  std::string dims;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) throw invalid_argument("write_npy: negative extent in the shape (" + path + ")");
    if (!checked_multiply(count, std::uint64_t(shape[i]), std::uint64_t(1) << 62, count))
      throw invalid_argument("write_npy: the shape has too many elements (" + path + ")");
    dims += std::to_string(shape[i]);
    if (shape.size() == 1) dims += ",";  // Python's 1-tuple
    else if (i + 1 < shape.size()) dims += ", ";
  }
  if (count_given >= 0) require_dimension(long(count), count_given, "write_npy: elements of " + path);
  std::string header = std::string("{'descr': '") + npy_descr(dtype) +
                       "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // numpy pads with spaces so that the data starts at a multiple of 64 bytes, then '\n'.
  const bool v2 = header.size() + 1 + 10 > 65535;
  const std::size_t preamble = v2 ? 12 : 10;
  header.append(63 - (preamble + header.size()) % 64, ' ');
  header.push_back('\n');
  std::string pre("\x93NUMPY", 6);
  pre.push_back(char(v2 ? 2 : 1));
  pre.push_back(0);
  const std::uint64_t n = header.size();
  for (std::size_t i = 0; i < preamble - 8; ++i) pre.push_back(char((n >> (8 * i)) & 0xFF));
  out.write(pre.data(), std::streamsize(pre.size()));
  out.write(header.data(), std::streamsize(header.size()));
  out.write(static_cast<const char*>(data), std::streamsize(count * dtype_size(dtype)));
}

inline void write(const std::string& path, const std::vector<long>& shape, tensor_dtype dtype,
                  const void* data, long count_given) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw error("io_error", "write_npy: cannot open file for writing (" + path + ")");
  write(out, path, shape, dtype, data, count_given);
  out.flush();
  if (!out) throw error("io_error", "write_npy: write failed (" + path + ")");
}

template <class T>
constexpr tensor_dtype dtype_of() {
  if constexpr (std::is_same_v<T, float>) return tensor_dtype::f32;
  else if constexpr (std::is_same_v<T, double>) return tensor_dtype::f64;
  else if constexpr (std::is_same_v<T, std::int8_t>) return tensor_dtype::i8;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return tensor_dtype::u8;
  else if constexpr (std::is_same_v<T, std::int32_t>) return tensor_dtype::i32;
  else {
    static_assert(std::is_same_v<T, std::int64_t>, "write_npy: no .npy dtype for this type");
    return tensor_dtype::i64;
  }
}

}  // namespace detail::npy

/// Writes shape-product elements of data (C order) as a .npy file; T is float, double, int8_t,
/// uint8_t, int32_t or int64_t.
template <class T>
void write_npy(const std::string& path, const std::vector<long>& shape, const T* data) {
  detail::npy::write(path, shape, detail::npy::dtype_of<T>(), data, -1);
}

/// Writes shape-product elements of data (C order) as .npy bytes to a stream (the caller checks
/// the stream, e.g. a file written by a temporary-file-and-rename scheme).
template <class T>
void write_npy(std::ostream& out, const std::vector<long>& shape, const T* data) {
  detail::npy::write(out, "stream", shape, detail::npy::dtype_of<T>(), data, -1);
}

/// Writes a D x N matrix (one column per trajectory) as an (N, D) array.
template <class T>
void write_npy(const std::string& path, const matrix<T>& columns) {
  write_npy(path, {long(columns.cols()), long(columns.rows())}, columns.data());
}

/// Writes a vector as a 1-D array.
template <class T>
void write_npy(const std::string& path, const vector<T>& v) {
  write_npy(path, {long(v.size())}, v.data());
}

/// Writes a tensor (same shape, dtype and bytes), e.g. one read by read_npy.
inline void write_npy(const std::string& path, const tensor& a) {
  detail::npy::write(path, a.shape, a.dtype, a.bytes.data(),
                     long(a.bytes.size() / dtype_size(a.dtype)));
}

}  // namespace dlogp

// The .npy reader and writer: round trips per dtype, files written by numpy read back equal,
// files written here read by numpy.load, and every malformed or unsupported file refused with
// io_error before anything is allocated.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <dlogp/io/npy.hpp>

#include "io/support.hpp"

using namespace dlogp;
using namespace dlogp::test::io;

namespace {

template <class T>
void check_round_trip(const scratch_folder& s, tensor_dtype dtype, const std::vector<T>& values,
                      const std::vector<long>& shape) {
  INFO(npy_descr(dtype));
  const std::string path = s / ("rt" + std::string(npy_descr(dtype)).substr(1) + ".npy");
  write_npy(path, shape, values.data());
  const tensor a = read_npy(path);
  CHECK(a.dtype == dtype);
  CHECK(a.shape == shape);
  CHECK(a.values<T>() == values);
  // numpy's layout: the data starts at a multiple of 64 bytes, version 1.0
  CHECK((std::filesystem::file_size(path) - values.size() * sizeof(T)) % 64 == 0);
}

/// A .npy file from raw parts: version, header text (taken as is) and data bytes.
std::string npy_bytes(const std::string& header, const std::string& data, int major = 1) {
  std::string s("\x93NUMPY", 6);
  s.push_back(char(major));
  s.push_back(0);
  const std::size_t n = header.size();
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i) s.push_back(char((n >> (8 * i)) & 0xFF));
  return s + header + data;
}

std::string f8_header(const std::string& shape, const std::string& descr = "<f8",
                      const std::string& order = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }\n";
}

}  // namespace

TEST_CASE("npy: every dtype round-trips through write_npy and read_npy", "[unit]") {
  const scratch_folder s("npy-round-trip");
  check_round_trip<double>(s, tensor_dtype::f64, {1.5, -0.0, 1e-310, std::numeric_limits<double>::max(), -3.25, 7},
                           {2, 3});
  check_round_trip<float>(s, tensor_dtype::f32, {1.5f, -2.25f, 1e-40f, 3.4e38f}, {4});
  check_round_trip<std::int8_t>(s, tensor_dtype::i8, {-128, -1, 0, 1, 127, 5}, {3, 2});
  check_round_trip<std::uint8_t>(s, tensor_dtype::u8, {0, 1, 128, 255}, {2, 1, 2});
  check_round_trip<std::int32_t>(s, tensor_dtype::i32, {-2147483647 - 1, 2147483647}, {2});
  check_round_trip<std::int64_t>(s, tensor_dtype::i64, {std::numeric_limits<std::int64_t>::min(), 0, 1L << 62},
                                 {3});
  check_round_trip<double>(s, tensor_dtype::f64, {}, {0, 4});   // empty
  check_round_trip<double>(s, tensor_dtype::f64, {2.5}, {});    // 0-d

  // A D x N state matrix is written as (N, D) and read back as the same D x N matrix.
  matrix<double> X(3, 5);
  for (long k = 0; k < X.size(); ++k) X.data()[k] = 0.1 * double(k) - 0.7;
  write_npy(s / "x.npy", X);
  const tensor a = read_npy(s / "x.npy");
  CHECK(a.shape == std::vector<long>{5, 3});
  CHECK(a.at<double>(1) == X(1, 0));  // row 0 of the array = column 0 of X
  CHECK(a.as_columns<double>() == X);
  CHECK(a.as_columns<float>() == X.cast<float>());
  vector<double> v = X.col(2);
  write_npy(s / "v.npy", v);
  CHECK(read_npy(s / "v.npy").as_vector<double>() == v);
  CHECK(read_npy(s / "v.npy").as_columns<double>().rows() == 1);
  require_error([&] { (void)a.as_vector<double>(); }, "dimension_mismatch", "tensor must have rank 1 (2)");

  // An array as read is written back byte for byte.
  write_npy(s / "copy.npy", a);
  CHECK(read_npy(s / "copy.npy").bytes == a.bytes);
  require_error([&] { write_npy(s / "bad.npy", std::vector<long>{-1}, X.data()); }, "invalid_argument",
                "negative extent");
  require_error([&] { write_npy(s / "no/such/folder.npy", X); }, "io_error", "cannot open file for writing");
}

TEST_CASE("npy: files written by numpy read back equal, including (N, C, H, W)", "[unit]") {
  if (!have_numpy()) return;
  const scratch_folder s("npy-from-numpy");
  const std::string d = s.dir.string() + "/";
  REQUIRE(run_python(s, "import numpy as np\n"
                        "d = '" + d + "'\n"
                        "a = np.arange(12, dtype=np.float64).reshape(3, 4) * 0.5 - 1.25\n"
                        "np.save(d + 'f8.npy', a)\n"
                        "np.save(d + 'nchw.npy', (np.arange(120, dtype=np.float32) / 7).reshape(2, 3, 4, 5))\n"
                        "np.save(d + 'i1.npy', np.array([-3, 0, 100], dtype=np.int8))\n"
                        "np.save(d + 'u1.npy', np.array([[0, 255]], dtype=np.uint8))\n"
                        "np.save(d + 'i4.npy', np.array([-7, 2**31 - 1], dtype=np.int32))\n"
                        "np.save(d + 'i8.npy', np.array([-(2**40), 3], dtype=np.int64))\n"
                        "np.save(d + 'scalar.npy', np.float64(2.5))\n"
                        "np.save(d + 'empty.npy', np.zeros((0, 4)))\n"
                        "for v in [(2, 0), (3, 0)]:\n"
                        "    with open(d + 'v%d.npy' % v[0], 'wb') as f:\n"
                        "        np.lib.format.write_array(f, a, version=v)\n"
                        "np.save(d + 'big_endian.npy', a.astype('>f8'))\n"
                        "np.save(d + 'fortran.npy', np.asfortranarray(a))\n"
                        "np.save(d + 'object.npy', np.array([1, 'x'], dtype=object), allow_pickle=True)\n"
                        "np.save(d + 'structured.npy', np.zeros(2, dtype=[('a', '<f8'), ('b', '<i4')]))\n"
                        "np.save(d + 'complex.npy', np.zeros(2, dtype=np.complex128))\n") == 0);

  const tensor f8 = read_npy(d + "f8.npy");
  CHECK(f8.dtype == tensor_dtype::f64);
  CHECK(f8.shape == std::vector<long>{3, 4});
  const matrix<double> cols = f8.as_columns<double>();
  REQUIRE(cols.rows() == 4);
  REQUIRE(cols.cols() == 3);
  for (long n = 0; n < 3; ++n)
    for (long i = 0; i < 4; ++i) CHECK(cols(i, n) == double(n * 4 + i) * 0.5 - 1.25);
  for (const char* v : {"v2.npy", "v3.npy"}) {
    INFO(v);
    CHECK(read_npy(d + v).as_columns<double>() == cols);
  }

  const tensor nchw = read_npy(d + "nchw.npy");
  CHECK(nchw.dtype == tensor_dtype::f32);
  CHECK(nchw.shape == std::vector<long>{2, 3, 4, 5});
  CHECK(nchw.row_size() == 60);
  const matrix<float> x = nchw.as_columns<float>();
  REQUIRE(x.rows() == 60);
  REQUIRE(x.cols() == 2);
  for (long n = 0; n < 2; ++n)
    for (long i = 0; i < 60; ++i) CHECK(x(i, n) == float(n * 60 + i) / 7.0f);

  CHECK(read_npy(d + "i1.npy").values<int>() == std::vector<int>{-3, 0, 100});
  CHECK(read_npy(d + "u1.npy").values<int>() == std::vector<int>{0, 255});
  CHECK(read_npy(d + "i4.npy").values<long>() == std::vector<long>{-7, 2147483647});
  CHECK(read_npy(d + "i8.npy").values<long>() == std::vector<long>{-(1L << 40), 3});
  CHECK(read_npy(d + "i8.npy").dtype == tensor_dtype::i64);
  const tensor scalar = read_npy(d + "scalar.npy");
  CHECK(scalar.shape.empty());
  CHECK(scalar.at<double>(0) == 2.5);
  const tensor empty = read_npy(d + "empty.npy");
  CHECK(empty.shape == std::vector<long>{0, 4});
  CHECK(empty.as_columns<double>().cols() == 0);

  require_error([&] { (void)read_npy(d + "big_endian.npy"); }, "io_error", "big-endian dtype '>f8'");
  require_error([&] { (void)read_npy(d + "fortran.npy"); }, "io_error", "Fortran order is not supported");
  require_error([&] { (void)read_npy(d + "object.npy"); }, "io_error", "object arrays");
  require_error([&] { (void)read_npy(d + "structured.npy"); }, "io_error", "structured dtypes");
  require_error([&] { (void)read_npy(d + "complex.npy"); }, "io_error", "unsupported dtype '<c16'");
  require_error([&] { (void)read_npy(d + "object.npy"); }, "io_error", d + "object.npy");  // names the file
}

TEST_CASE("npy: numpy.load reads what write_npy writes", "[unit]") {
  if (!have_numpy()) return;
  const scratch_folder s("npy-to-numpy");
  const std::string d = s.dir.string() + "/";
  matrix<double> X(3, 2);
  X << 1.5, -2, 0.25, 1e-300, 7, -0.0;
  write_npy(d + "x.npy", X);  // (2, 3)
  std::vector<float> img(2 * 3 * 4 * 5);
  for (std::size_t k = 0; k < img.size(); ++k) img[k] = float(k) / 7.0f;
  write_npy(d + "nchw.npy", {2, 3, 4, 5}, img.data());
  const std::int8_t status[] = {0, -1, 3};
  write_npy(d + "status.npy", {3}, status);
  const std::int64_t steps[] = {1L << 40, -5};
  write_npy(d + "steps.npy", {2}, steps);
  const double one = 4.5;
  write_npy(d + "scalar.npy", {}, &one);
  write_npy(d + "empty.npy", {0, 3}, static_cast<const double*>(nullptr));
  // A shape long enough to need header padding beyond one 64-byte block.
  std::vector<long> many(20, 1);
  write_npy(d + "rank20.npy", many, &one);
  CHECK(run_python(s, "import numpy as np\n"
                      "d = '" + d + "'\n"
                      "def same(name, want):\n"
                      "    a = np.load(d + name, allow_pickle=False)\n"
                      "    assert a.dtype == want.dtype and a.shape == want.shape, (name, a.dtype, a.shape)\n"
                      "    assert np.array_equal(a, want) and np.array_equal(np.signbit(a), np.signbit(want)), name\n"
                      "    assert not np.isfortran(a) or a.ndim < 2\n"
                      "same('x.npy', np.array([[1.5, 0.25, 7], [-2, 1e-300, -0.0]]))\n"
                      "same('nchw.npy', (np.arange(120, dtype=np.float32) / np.float32(7)).reshape(2, 3, 4, 5))\n"
                      "same('status.npy', np.array([0, -1, 3], dtype=np.int8))\n"
                      "same('steps.npy', np.array([2**40, -5], dtype=np.int64))\n"
                      "same('scalar.npy', np.array(4.5))\n"
                      "same('empty.npy', np.zeros((0, 3)))\n"
                      "same('rank20.npy', np.full((1,) * 20, 4.5))\n") == 0);
}

TEST_CASE("npy: malformed, lying and non-regular files are refused with io_error", "[unit]") {
  const scratch_folder s("npy-bad");
  const std::string data12(12 * 8, '\0');
  struct bad {
    const char* what;
    std::string bytes;
    const char* fragment;
  };
  const std::vector<bad> cases = {
      {"empty file", "", "shorter than the 10-byte"},
      {"no magic", std::string(64, 'x'), "no \\x93NUMPY magic"},
      {"version 4.0", npy_bytes(f8_header("(12,)"), data12, 4), "unsupported .npy version 4.0"},
      {"header longer than the file", npy_bytes(f8_header("(12,)"), "").substr(0, 20),
       "is larger than the file"},
      {"v2 header length 2^32 - 1", std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12) + "{}",
       "exceeds the limit of 65536 bytes"},
      {"shape claims more data", npy_bytes(f8_header("(13,)"), data12), "need 104 bytes of data but the file has 96"},
      {"shape claims less data", npy_bytes(f8_header("(3, 3)"), data12), "need 72 bytes"},
      {"zero-size shape, data present", npy_bytes(f8_header("(0, 5)"), data12), "need 0 bytes"},
      {"shape of 2^40 elements", npy_bytes(f8_header("(1099511627776,)"), data12), "more elements than the file has bytes"},
      {"shape whose product overflows", npy_bytes(f8_header("(4611686018427387904, 4)"), data12),
       "more elements than the file has bytes"},
      {"empty, with huge other extents", npy_bytes(f8_header("(0, 4294967296, 4294967296)"), ""),
       "non-zero extents of the shape multiply to more than 2^48"},
      {"huge extent", npy_bytes(f8_header("(99999999999999999999999,)"), data12), "shape extent too large"},
      {"negative extent", npy_bytes(f8_header("(-12,)"), data12), "not a non-negative integer"},
      {"float extent", npy_bytes(f8_header("(12.0,)"), data12), "expected ',' or ')'"},
      {"Fortran order", npy_bytes(f8_header("(3, 4)", "<f8", "True"), data12), "Fortran order"},
      {"fortran_order not a boolean", npy_bytes(f8_header("(12,)", "<f8", "1"), data12), "not True or False"},
      {"big-endian", npy_bytes(f8_header("(12,)", ">f8"), data12), "big-endian dtype '>f8'"},
      {"object array", npy_bytes(f8_header("(12,)", "|O"), data12), "object arrays"},
      {"unknown dtype", npy_bytes(f8_header("(12,)", "<f16"), data12), "unsupported dtype '<f16'"},
      {"unknown key", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (12,), 'x': 1}\n", data12),
       "unexpected key 'x'"},
      {"missing key", npy_bytes("{'descr': '<f8', 'shape': (12,)}\n", data12), "lacks one of"},
      {"duplicate key", npy_bytes("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (12,)}\n", data12),
       "'descr' appears twice"},
      {"no newline after the dict", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (12,)}", data12),
       "does not end with spaces and a newline"},
      {"text after the dict", npy_bytes(f8_header("(12,)") + "x\n", data12), "does not end with"},
      {"dict never closed", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (12,)", data12),
       "ends inside the dict"},
      {"not a dict", npy_bytes("[1, 2]\n", data12), "expected '{'"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const std::string path = s / "bad.npy";
    write_bytes(path, c.bytes);
    require_error([&] { (void)read_npy(path); }, "io_error", c.fragment);
    require_error([&] { (void)read_npy(path); }, "io_error", "read_npy: ");
    require_error([&] { (void)read_npy(path); }, "io_error", path);
  }
  // The same header with exactly the declared data is read (the cases above fail only on what
  // they change).
  write_bytes(s / "good.npy", npy_bytes(f8_header("(12,)"), data12));
  CHECK(read_npy(s / "good.npy").size() == 12);
  write_bytes(s / "good2.npy", npy_bytes(f8_header("(3, 4)"), data12, 2));
  CHECK(read_npy(s / "good2.npy").shape == std::vector<long>{3, 4});

  require_error([&] { (void)read_npy(s / "missing.npy"); }, "io_error", "cannot open file (it does not exist)");
  require_error([&] { (void)read_npy(s.dir.string()); }, "io_error", "is a directory");
  REQUIRE(::mkfifo((s / "fifo.npy").c_str(), 0600) == 0);  // opening it would block: refused first
  require_error([&] { (void)read_npy(s / "fifo.npy"); }, "io_error", "not a regular file");
  require_error([&] { (void)read_npy("/dev/zero"); }, "io_error", "not a regular file");
}

// The hardened safetensors reader: everything a file declares is checked against its real size
// before anything is allocated, non-regular files are refused, and a weight file cannot declare
// a network that needs more memory than its tensors hold.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include <dlogp/io/mlp_weights.hpp>
#include <dlogp/io/safetensors.hpp>

#include "io/support.hpp"

using namespace dlogp;
using namespace dlogp::test::io;

namespace {

/// 8-byte little-endian length n, then the header, then the payload.
std::string safetensors(const std::string& header, const std::string& payload = "",
                        std::uint64_t declared = ~std::uint64_t(0)) {
  std::string s(8, '\0');
  const std::uint64_t n = declared == ~std::uint64_t(0) ? header.size() : declared;
  for (int i = 0; i < 8; ++i) s[std::size_t(i)] = char((n >> (8 * i)) & 0xFF);
  return s + header + payload;
}

/// A tiny valid network file's tensors and metadata.
tensor_file tiny_network() {
  mlp_parameters<double> p;
  p.embedding = {4, 100.0, 1000.0};
  p.time_weight = matrix<double>::Constant(3, 4, 0.1);
  p.time_bias = vector<double>::Zero(3);
  p.hidden.push_back({matrix<double>::Constant(5, 2, 0.2), vector<double>::Zero(5),
                      matrix<double>::Constant(5, 3, 0.3), matrix<double>(), false});
  p.out_weight = matrix<double>::Constant(2, 5, 0.1);
  p.out_bias = vector<double>::Zero(2);
  return mlp_tensor_file(mlp<double>(std::move(p)), parametrisation::epsilon,
                         {{"kind", "vp"}, {"t_min", 1e-3}, {"t_max", 1.0}});
}

}  // namespace

TEST_CASE("safetensors: declared sizes are checked against the file before allocating", "[unit]") {
  const scratch_folder s("safetensors-bad");
  const std::string f64x2 = R"({"w": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}})";
  const std::string payload16(16, '\0');
  struct bad {
    const char* what;
    std::string bytes;
    const char* id;
    const char* fragment;
  };
  const std::vector<bad> cases = {
      {"empty file", "", "io_error", "file shorter than 8 bytes"},
      {"header length over the limit", safetensors("{}", "", std::uint64_t(1) << 40), "io_error",
       "exceeds the limit of 100000000 bytes"},
      {"header length past the end", safetensors(f64x2, payload16, 4096), "io_error",
       "is larger than the file"},
      {"tensor past the payload", safetensors(f64x2, std::string(8, '\0')), "io_error",
       "need more bytes than the payload (8 bytes)"},
      {"end offset past the payload",
       safetensors(R"({"w": {"dtype": "U8", "shape": [2], "data_offsets": [15, 17]}})", payload16), "io_error",
       "outside the payload (16 bytes)"},
      {"shape x dtype larger than the payload",
       safetensors(R"({"w": {"dtype": "F64", "shape": [4], "data_offsets": [0, 16]}})", payload16), "io_error",
       "need more bytes than the payload"},
      {"2^32 x 2^32 elements", safetensors(R"({"w": {"dtype": "U8", "shape": [4294967296, 4294967296], "data_offsets": [0, 16]}})", payload16),
       "io_error", "more elements than the payload"},
      {"empty, with huge other extents",
       safetensors(R"({"w": {"dtype": "U8", "shape": [0, 4294967296, 4294967296], "data_offsets": [0, 0]}})"),
       "io_error", "non-zero extents of w multiply to more than 2^48"},
      {"offsets that disagree with the shape",
       safetensors(R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 16]}})", payload16), "io_error",
       "does not match its shape and dtype"},
      {"header nested too deep", safetensors(std::string(100, '[') + std::string(100, ']')), "io_error",
       "nested deeper than 8 levels"},
      {"metadata not an object", safetensors(R"({"__metadata__": [1]})"), "io_error", "__metadata__ is not an object"},
      {"unsupported dtype", safetensors(R"({"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}})", std::string(2, '\0')),
       "invalid_argument", "unsupported dtype of w (BF16)"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const std::string path = s / "bad.safetensors";
    write_bytes(path, c.bytes);
    require_error([&] { (void)read_tensor_file(path); }, c.id, c.fragment);
    require_error([&] { (void)read_tensor_file(path); }, c.id, path);
  }
  write_bytes(s / "good.safetensors", safetensors(f64x2, payload16));
  CHECK(read_tensor_file(s / "good.safetensors").at("w").shape == std::vector<long>{2});

  require_error([&] { (void)read_tensor_file(s / "missing"); }, "io_error", "cannot open file (it does not exist)");
  require_error([&] { (void)read_tensor_file(s.dir.string()); }, "io_error", "is a directory");
  REQUIRE(::mkfifo((s / "fifo").c_str(), 0600) == 0);
  require_error([&] { (void)read_tensor_file(s / "fifo"); }, "io_error", "not a regular file");
  // /dev/zero used to be read until std::bad_alloc (31 s); now refused at once.
  const auto t0 = std::chrono::steady_clock::now();
  require_error([&] { (void)read_tensor_file("/dev/zero"); }, "io_error", "not a regular file");
  require_error([&] { (void)load_mlp<double>("/dev/zero"); }, "io_error", "not a regular file");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
}

TEST_CASE("safetensors: a weight file cannot declare widths its tensors do not hold", "[unit]") {
  const scratch_folder s("safetensors-widths");
  const std::string path = s / "net.safetensors";
  write_tensor_file(path, tiny_network());
  REQUIRE(load_mlp<double>(path).network.dimension() == 2);

  const auto with_embedding = [&](long dim, long time_rows) {
    tensor_file f = tiny_network();
    auto a = nlohmann::json::parse(f.metadata["dlogp"]);
    a["time_embedding"]["dim"] = dim;
    f.metadata["dlogp"] = a.dump();
    tensor& w = f.tensors["time.weight"];
    w.shape = {time_rows, dim};
    w.bytes.assign(std::size_t(time_rows * dim) * 8, 0);
    write_tensor_file(path, f);
  };
  // The 844-byte file of the resource audit: a [0, 2^30] time.weight holds no bytes, loaded,
  // and then took 8.4 GB at the first score call.
  with_embedding(1L << 30, 0);
  require_error([&] { (void)load_mlp<double>(path); }, "invalid_argument",
                "time_embedding.dim 1073741824 exceeds the limit of 65536");
  with_embedding(1L << 16, 0);
  require_error([&] { (void)load_mlp<float>(path); }, "dimension_mismatch", "time.weight has an extent 0");
  with_embedding(8, 3);  // consistent: loads
  CHECK(load_mlp<double>(path).network.parameters().embedding.dim == 8);

  tensor_file f = tiny_network();
  f.tensors["hidden.0.bias"].shape = {0};
  f.tensors["hidden.0.bias"].bytes.clear();
  write_tensor_file(path, f);
  require_error([&] { (void)load_mlp<double>(path); }, "dimension_mismatch", "hidden.0.bias has an extent 0");
}

#pragma once
// Tensor files in the safetensors container (docs/weights-format.md): an unsigned 64-bit
// little-endian header length n, n bytes of JSON header {name: {dtype, shape, data_offsets},
// "__metadata__": {string: string}}, then the raw little-endian, row-major payload. dlogp keeps
// MLP weights, Gaussian mixtures and data (patches, reference outputs) in it, so any safetensors
// reader can open them. Opt-in: needs nlohmann_json.
//
// The reader trusts nothing the file declares until it has checked it against the file's real
// size (limits in docs/guarantees.md): a 100-byte file cannot make it allocate gigabytes.
//
// Errors: a file that is not a regular file, cannot be opened, read or parsed, or lacks a
// tensor throws dlogp::error with id "io_error"; a tensor of the wrong rank throws
// dlogp::dimension_mismatch; an unsupported dtype throws dlogp::invalid_argument.
#include <cstdint>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"
#include "dlogp/io/detail/bounded_json.hpp"
#include "dlogp/io/detail/regular_file.hpp"
#include "dlogp/io/tensor.hpp"

namespace dlogp {

/// Named tensors plus string metadata: the content of one safetensors file.
struct tensor_file {
  std::map<std::string, tensor> tensors;
  std::map<std::string, std::string> metadata;

  bool contains(const std::string& name) const { return tensors.count(name) != 0; }
  const tensor& at(const std::string& name) const {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw error("io_error", "tensor_file: missing tensor (" + name + ")");
    return it->second;
  }
};

namespace detail {
inline tensor_dtype parse_dtype(const std::string& s, const std::string& where,
                                const std::string& path) {
  for (auto d : all_tensor_dtypes)
    if (s == to_string(d)) return d;
  throw invalid_argument("read_tensor_file: unsupported dtype of " + where + " (" + s + ") (" +
                         path + ")");
}
}  // namespace detail

/// Largest JSON header read_tensor_file accepts (safetensors' own reference reader uses the same
/// bound); real headers are a few kB.
inline constexpr std::uint64_t max_tensor_header_bytes = 100'000'000;

/// Reads a safetensors file. Everything the header declares is checked against the file's real
/// size before anything is allocated: the header length, every tensor's data_offsets and its
/// dtype size x shape product (overflow-checked). Throws error("io_error") if the file is not a
/// regular file, cannot be read or is malformed (std::bad_alloc never leaves it), and
/// invalid_argument for an unsupported dtype.
inline tensor_file read_tensor_file(const std::string& path) {
  detail::regular_file file(path, "read_tensor_file");
  const auto fail = [&](const std::string& what) { file.fail(what); };
  if (file.size() < 8) fail("file shorter than 8 bytes");
  unsigned char len_bytes[8];
  file.read(0, len_bytes, 8);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];
  if (n > max_tensor_header_bytes)
    fail("header length " + std::to_string(n) + " exceeds the limit of " +
         std::to_string(max_tensor_header_bytes) + " bytes");
  if (n > file.size() - 8)
    fail("header length " + std::to_string(n) + " is larger than the file (" +
         std::to_string(file.size()) + " bytes): truncated header");
  const std::uint64_t payload = file.size() - 8 - n;
  return file.allocating([&] {
    std::string header(std::size_t(n), '\0');
    file.read(8, header.data(), n);
    // Depth 3 is what the format uses ({name: {"shape": [...]}}); a little slack for metadata.
    const nlohmann::json h =
        detail::parse_bounded_json(header, 8, [&](const std::string& m) { fail("header is " + m); });
    if (!h.is_object()) fail("header is not a JSON object");
    tensor_file f;
    try {
      for (auto it = h.begin(); it != h.end(); ++it) {
        if (it.key() == "__metadata__") {
          if (!it->is_object()) fail("__metadata__ is not an object");
          for (auto m = it->begin(); m != it->end(); ++m) f.metadata[m.key()] = m->get<std::string>();
          continue;
        }
        tensor t;
        t.dtype = detail::parse_dtype(it->at("dtype").get<std::string>(), it.key(), path);
        const auto& shape = it->at("shape");
        if (!shape.is_array()) fail("shape of " + it.key() + " is not an array");
        // Extents are non-negative integers, and the byte count must fit in the payload: checked
        // before multiplying, so the count can neither overflow nor wrap to a matching size.
        std::uint64_t count = 1;
        for (const auto& s : shape) {
          if (!s.is_number_unsigned() || s.get<std::uint64_t>() > (std::uint64_t(1) << 32))
            fail("extent " + s.dump() + " in the shape of " + it.key() + " is not an integer in [0, 2^32]");
          if (!detail::checked_multiply(count, s.get<std::uint64_t>(), payload, count))
            fail("shape of " + it.key() + " has more elements than the payload (" +
                 std::to_string(payload) + " bytes) can hold");
          t.shape.push_back(long(s.get<std::uint64_t>()));
        }
        if (!detail::extents_bounded(t.shape))
          fail("the non-zero extents of " + it.key() + " multiply to more than 2^48");
        std::uint64_t bytes = 0;
        if (!detail::checked_multiply(count, dtype_size(t.dtype), payload, bytes))
          fail("shape and dtype of " + it.key() + " need more bytes than the payload (" +
               std::to_string(payload) + " bytes) holds");
        const auto& off = it->at("data_offsets");
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
          fail("data_offsets of " + it.key() + " is not a pair of non-negative integers");
        const auto a = off[0].get<std::uint64_t>(), b = off[1].get<std::uint64_t>();
        if (a > b || b > payload)
          fail("data_offsets of " + it.key() + " outside the payload (" + std::to_string(payload) +
               " bytes)");
        if (b - a != bytes) fail("byte count of " + it.key() + " does not match its shape and dtype");
        t.bytes.resize(std::size_t(bytes));
        file.read(8 + n + a, t.bytes.data(), bytes);
        f.tensors.emplace(it.key(), std::move(t));
      }
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("malformed header: ") + e.what());
    }
    return f;
  }, file.size());
}

/// Writes a safetensors file (tensors in name order, payload 8-byte aligned).
inline void write_tensor_file(const std::string& path, const tensor_file& f) {
  nlohmann::json h = nlohmann::json::object();
  if (!f.metadata.empty()) h["__metadata__"] = f.metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : f.tensors) {
    detail::require_dimension(long(t.size() * long(dtype_size(t.dtype))), long(t.bytes.size()),
                              "write_tensor_file: bytes of " + name);
    h[name] = {{"dtype", to_string(t.dtype)},
               {"shape", t.shape},
               {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string header = h.dump();
  while (header.size() % 8) header.push_back(' ');
  std::ofstream out(path, std::ios::binary);
  if (!out) throw error("io_error", "write_tensor_file: cannot open file for writing (" + path + ")");
  unsigned char len_bytes[8];
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xFF);
  out.write(reinterpret_cast<const char*>(len_bytes), 8);
  out.write(header.data(), std::streamsize(header.size()));
  for (const auto& [name, t] : f.tensors)
    out.write(reinterpret_cast<const char*>(t.bytes.data()), std::streamsize(t.bytes.size()));
  if (!out) throw error("io_error", "write_tensor_file: write failed (" + path + ")");
}

}  // namespace dlogp

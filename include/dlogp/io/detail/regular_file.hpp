#pragma once
// Opening a data file whose size is known before anything is allocated. Every reader in io/
// trusts only the file's real size (from the file system), never a size the file declares:
// a declared size is checked against the real one before a buffer is made. Directories, FIFOs,
// devices and sockets are refused up front (a FIFO would block, /dev/zero never ends).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <system_error>

#include "dlogp/error.hpp"

namespace dlogp::detail {

/// A regular file opened for binary reading, with its size. Errors are
/// error("io_error", "<who>: <what> (<path>)"), one line.
class regular_file {
 public:
  regular_file(const std::string& path, std::string who) : path_(path), who_(std::move(who)) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (st.type() == fs::file_type::not_found) fail("cannot open file (it does not exist)");
    if (ec) fail("cannot open file (" + ec.message() + ")");
    if (fs::is_directory(st)) fail("cannot open file (it is a directory)");
    if (!fs::is_regular_file(st))
      fail("cannot open file (not a regular file: a FIFO, device or socket)");
    const std::uintmax_t n = fs::file_size(path, ec);
    if (ec) fail("cannot open file (its size is unknown)");
    size_ = std::uint64_t(n);
    in_.open(path, std::ios::binary);
    if (!in_) fail("cannot open file (permission denied or unreadable)");
  }

  std::uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  /// Reads exactly n bytes at offset; the caller has checked offset + n <= size().
  void read(std::uint64_t offset, void* out, std::uint64_t n) {
    if (n == 0) return;
    in_.seekg(std::streamoff(offset));
    if (!in_.read(static_cast<char*>(out), std::streamsize(n)))
      fail("read failed at byte " + std::to_string(offset) + " (file changed while reading?)");
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw error("io_error", who_ + ": " + what + " (" + path_ + ")");
  }

  /// Runs make() (which allocates at most what the file holds) and turns an out-of-memory into
  /// an io_error, so std::bad_alloc never leaves a reader.
  template <class F>
  auto allocating(F&& make, std::uint64_t bytes) const -> decltype(make()) {
    try {
      return make();
    } catch (const std::bad_alloc&) {
      fail("not enough memory for " + std::to_string(bytes) + " bytes");
    }
  }

 private:
  std::string path_, who_;
  std::uint64_t size_ = 0;
  std::ifstream in_;
};

/// a * b, or false when it exceeds limit (no overflow: checked by division first).
inline bool checked_multiply(std::uint64_t a, std::uint64_t b, std::uint64_t limit,
                             std::uint64_t& out) {
  if (b != 0 && a > limit / b) return false;
  out = a * b;
  return out <= limit;
}

}  // namespace dlogp::detail

// libFuzzer target: the .npy reader (dlogp/io/npy.hpp). Built and run by fuzz/run.sh
// (docs/fuzzing.md). The input is the content of a .npy file. The only acceptable outcomes
// are an array or a dlogp::error with id io_error. An accepted array must hold exactly the
// bytes its shape and dtype say, convert to dlogp's D x N layout, and survive write_npy ->
// read_npy unchanged; anything else (another exception, a sanitizer report, a hang, an
// out-of-memory) is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <dlogp/io/npy.hpp>

namespace {

/// Scratch files per fuzzing process (read_npy reads from a path), removed at exit.
struct scratch_files {
  std::string in = "/tmp/dlogp-npy-fuzz-" + std::to_string(::getpid()) + ".npy";
  std::string out = "/tmp/dlogp-npy-fuzz-" + std::to_string(::getpid()) + "-out.npy";
  ~scratch_files() {
    std::remove(in.c_str());
    std::remove(out.c_str());
  }
};
const scratch_files& scratch() {
  static const scratch_files f;
  return f;
}

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "npy_fuzzer finding: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream f(scratch().in, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  dlogp::tensor a;
  try {
    a = dlogp::read_npy(scratch().in);
  } catch (const dlogp::error& e) {
    if (e.id() != "io_error") finding("read_npy threw a dlogp::error that is not io_error");
    return 0;
  }
  if (a.bytes.size() != std::size_t(a.size()) * dlogp::dtype_size(a.dtype) || a.bytes.size() > size)
    finding("the array's bytes do not match its shape and dtype, or exceed the file");
  if (!a.shape.empty()) {
    const auto X = a.as_columns<double>();
    if (X.size() != a.size()) finding("as_columns lost or invented elements");
  }
  dlogp::write_npy(scratch().out, a);
  const dlogp::tensor b = dlogp::read_npy(scratch().out);
  if (b.shape != a.shape || b.dtype != a.dtype || b.bytes != a.bytes)
    finding("write_npy -> read_npy changed the array");
  return 0;
}

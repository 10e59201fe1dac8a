// libFuzzer target: the safetensors readers (dlogp/io/mlp_weights.hpp, dlogp/io/gmm_file.hpp).
// Built and run by fuzz/run.sh (docs/fuzzing.md). The input is the content of a .safetensors
// file, read as MLP weights and as a Gaussian mixture. The only acceptable outcomes are a
// loaded network or mixture (which must then evaluate without crashing) or a dlogp::error
// (io_error, invalid_argument, dimension_mismatch); any other exception, a sanitizer report, a
// hang or an out-of-memory is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>

#include <dlogp/io/gmm_file.hpp>
#include <dlogp/io/mlp_weights.hpp>
#include <dlogp/process/vp.hpp>

namespace {

/// One scratch file per fuzzing process (read_tensor_file reads from a path), removed at exit.
struct scratch_file {
  std::string path = "/tmp/dlogp-weights-fuzz-" + std::to_string(::getpid()) + ".safetensors";
  ~scratch_file() { std::remove(path.c_str()); }
};
const std::string& scratch_path() {
  static const scratch_file f;
  return f.path;
}

template <class S>
void load_and_evaluate(const std::string& path) {
  try {
    const auto loaded = dlogp::load_mlp<S>(path);
    const auto model = loaded.score_model();
    const long D = model.dimension();
    if (D < 1 || D > 4096) return;  // bounded by the input size anyway
    const double t = 0.5 * (loaded.process.t_min() + loaded.process.t_max());
    dlogp::matrix<S> X = dlogp::matrix<S>::Constant(D, 2, S(0.25)), out(D, 2);
    X.col(1).setZero();
    model.score(t, X, out);  // values may be NaN for garbage weights; it must not crash
    if (D <= 64) {
      dlogp::vector<S> lap;
      model.score_and_laplacian(t, X, out, lap);
    }
  } catch (const dlogp::error&) {
    // the documented way to refuse a file
  }
}

void load_and_evaluate_mixture(const std::string& path) {
  try {
    const auto g = dlogp::load_gaussian_mixture<double>(path, dlogp::vp_process{});
    if (g.dimension() > 64) return;
    dlogp::matrix<double> X = dlogp::matrix<double>::Constant(g.dimension(), 2, 0.25), S(g.dimension(), 2);
    X.col(1).setZero();
    dlogp::vector<double> l;
    g.log_density(0.5, X, l);
    g.score(0.5, X, S);
  } catch (const dlogp::error&) {
    // the documented way to refuse a file
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream f(scratch_path(), std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  try {
    (void)dlogp::read_tensor_file(scratch_path());
  } catch (const dlogp::error&) {
    return 0;
  }
  load_and_evaluate<double>(scratch_path());
  load_and_evaluate<float>(scratch_path());
  load_and_evaluate_mixture(scratch_path());
  return 0;
}

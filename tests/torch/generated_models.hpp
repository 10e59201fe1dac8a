#pragma once
// The tiny modules and data files tests/torch/make_models.py writes, generated once per test
// process in a folder of its own (CTest may run test cases as concurrent processes) that is
// removed at exit.
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

namespace dlogp::test {

struct generated_models {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("dlogp_torch_test_models_" + std::to_string(std::random_device{}()));
  generated_models() {
    std::filesystem::create_directories(dir);
    const std::string cmd = std::string(DLOGP_PYTHON) + " " + DLOGP_SOURCE_DIR +
                            "/tests/torch/make_models.py " + dir.string();
    ok = std::system(cmd.c_str()) == 0;
  }
  ~generated_models() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  bool ok = false;
};

/// The folder of the generated files (generated on first use; REQUIREs that it worked).
inline const std::string& model_dir() {
  static const generated_models models;
  REQUIRE(models.ok);
  static const std::string dir = models.dir.string();
  return dir;
}

}  // namespace dlogp::test

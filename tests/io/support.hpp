#pragma once
// Shared by the io tests: a scratch folder, raw file writing, running a numpy script, and
// checking that a call throws the documented dlogp::error.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <dlogp/error.hpp>

namespace dlogp::test::io {

namespace fs = std::filesystem;

/// A folder for one test case, removed with everything in it at the end of the case.
struct scratch_folder {
  fs::path dir;
  explicit scratch_folder(const std::string& name)
      : dir(fs::temp_directory_path() / ("dlogp-io-" + std::to_string(::getpid()) + "-" + name)) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~scratch_folder() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string operator/(const std::string& file) const { return (dir / file).string(); }
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// Whether /usr/bin/python3 has numpy (Debian: python3-numpy); warns once per test when not.
inline bool have_numpy() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") == 0;
  if (!ok) WARN("skipped: /usr/bin/python3 cannot import numpy (Debian: python3-numpy)");
  return ok;
}

/// Runs a Python script (written to the scratch folder) with /usr/bin/python3; its exit status.
inline int run_python(const scratch_folder& s, const std::string& script) {
  const std::string path = s / "script.py";
  write_bytes(path, script);
  return std::system(("/usr/bin/python3 '" + path + "'").c_str());
}

/// call() throws a dlogp::error with this id, a one-line message containing fragment.
inline void require_error(const std::function<void()>& call, const std::string& id,
                          const std::string& fragment) {
  bool threw = false;
  try {
    call();
  } catch (const dlogp::error& e) {
    threw = true;
    const std::string w = e.what();
    CHECK(e.id() == id);
    CHECK_THAT(w, Catch::Contains(fragment));
    CHECK(w.find('\n') == std::string::npos);
  } catch (const std::exception& e) {
    threw = true;
    FAIL_CHECK("threw a std::exception that is not a dlogp::error: " << e.what());
  }
  CHECK(threw);
}

}  // namespace dlogp::test::io

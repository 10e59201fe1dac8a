#pragma once
// Shared by the reliability tests: running the built dlogp-run as a real process (fork/exec,
// no shell, so no quoting), and small text helpers. Header-only; each test file compiles on
// its own.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace dlogp::test {

namespace fs = std::filesystem;

struct process_result {
  int code = -1;    ///< exit status, or 128 + signal when the program was killed (a crash)
  bool signaled = false;
  std::string out, err;
  double seconds = 0;  ///< wall time of the program
};

/// How to run a program beyond its arguments and stdin.
struct run_options {
  int signal = 0;                   ///< send this signal ...
  double signal_after_seconds = 0;  ///< ... this long after the start
  long address_space_bytes = 0;     ///< RLIMIT_AS of the child (ulimit -v); 0: unchanged
  long file_size_bytes = 0;         ///< RLIMIT_FSIZE of the child (ulimit -f); 0: unchanged
  bool close_stdout = false;        ///< start the child with stdout closed
};

inline std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

/// A scratch directory unique to this process and `name` (CTest runs test cases in parallel).
inline fs::path scratch_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("dlogp-rel-" + std::to_string(::getpid()) + "-" + name);
  fs::create_directories(d);
  return d;
}

/// Runs `exe args...` with `stdin_text` on stdin; stdout and stderr captured through files.
inline process_result run_program(const std::string& exe, const std::vector<std::string>& args,
                                  const std::string& stdin_text, const fs::path& dir, const run_options& how = {}) {
  const fs::path in = dir / "stdin", out = dir / "stdout", err = dir / "stderr";
  std::ofstream(in, std::ios::binary) << stdin_text;
  process_result r;
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fi = ::open(in.c_str(), O_RDONLY);
    const int fo = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fe = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fi < 0 || fo < 0 || fe < 0) ::_exit(126);
    ::dup2(fi, 0);
    ::dup2(fo, 1);
    ::dup2(fe, 2);
    if (how.close_stdout) ::close(1);
    for (const auto& [resource, bytes] : {std::pair{RLIMIT_AS, how.address_space_bytes},
                                          std::pair{RLIMIT_FSIZE, how.file_size_bytes}})
      if (bytes > 0) {
        const rlimit lim{rlim_t(bytes), rlim_t(bytes)};
        if (::setrlimit(resource, &lim) != 0) ::_exit(125);
      }
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  if (how.signal) {
    std::this_thread::sleep_for(std::chrono::duration<double>(how.signal_after_seconds));
    ::kill(pid, how.signal);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (WIFEXITED(status)) {
    r.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signaled = true;
    r.code = 128 + WTERMSIG(status);
  }
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

/// The names in `dir` (not recursive), sorted.
inline std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

/// The output with every "seconds" value (the only timing field) blanked.
inline std::string without_seconds(const std::string& s) {
  static const std::regex seconds("\"seconds\":[^,}]*");
  return std::regex_replace(s, seconds, "\"seconds\":0");
}

inline std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

}  // namespace dlogp::test

// Hostile specs cost bounded time and memory (docs/cli.md, "Files, signals and limits"): each
// is refused with exit 2 and one line, in linear time. The time bounds are generous (10x what
// a Debug + sanitizer build needs on the project's 2-core machine); they catch a quadratic or
// unbounded path, which takes minutes or gigabytes on these inputs, not a slow machine.
#include <catch2/catch.hpp>

#ifdef DLOGP_RUN_EXE
#include <string>

#include "reliability/support.hpp"

namespace {

using namespace dlogp::test;

constexpr double bound_seconds = 60;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool address_limits_work = false;  // ASan reserves terabytes of address space
#else
constexpr bool address_limits_work = true;
#endif

void check_refused(const process_result& r, const std::string& prefix, const std::string& fragment) {
  INFO("exit " << r.code << " in " << r.seconds << " s\nstderr: " << r.err.substr(0, 400));
  CHECK_FALSE(r.signaled);
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::StartsWith(prefix) && Catch::Contains(fragment));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.size() < 5000);
  CHECK(r.seconds < bound_seconds);
}

}  // namespace

TEST_CASE("limits: hostile specs are refused in bounded time and memory", "[cli][limits]") {
  const fs::path dir = scratch_dir("limits");
  run_options bounded;  // what a machine with little memory gives: none of these may need more
  if (address_limits_work) bounded.address_space_bytes = 1L << 30;

  std::string keys = "{";
  for (int i = 0; i < 100000; ++i) keys += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  keys += "}";
  check_refused(run_program(DLOGP_RUN_EXE, {"-"}, keys, dir, bounded), "[dlogp.spec] /: ", "more than 1024 keys");

  const std::string deep(1000000, '[');
  check_refused(run_program(DLOGP_RUN_EXE, {"-"}, deep, dir, bounded), "[dlogp.spec] /0/0/0", "nested deeper than 64 levels");

  const std::string long_key = "{\"" + std::string(4000000, 'x') + "\": 1}";
  check_refused(run_program(DLOGP_RUN_EXE, {"-"}, long_key, dir, bounded), "[dlogp.spec] /: ", "a key longer than 4096 bytes");

  const std::string long_value =
      R"({"model": {"type": "gmm", "weights": [1], "means": [[0]], "variances": [1]}, "process": {"type": "vp"}, "method": ")" +
      std::string(100000, 'p') + "\"}";
  check_refused(run_program(DLOGP_RUN_EXE, {"-"}, long_value, dir, bounded), "[dlogp.spec] /method: ", "a string longer");

  // A long unknown key below the string limit: no "did you mean" table of its size.
  const std::string odd_key =
      R"({"model": {"type": "gmm", "weights": [1], "means": [[0]], "variances": [1]}, "process": {"type": "vp"}, "method": "pf-ode", ")" +
      std::string(4000, 's') + "\": 1}";
  check_refused(run_program(DLOGP_RUN_EXE, {"-"}, odd_key, dir, bounded), "[dlogp.spec] /sss", "unknown key");

  check_refused(run_program(DLOGP_RUN_EXE, {"/dev/zero"}, "", dir, bounded), "[dlogp.cli] /dev/zero: ", "larger than 64 MB");
  check_refused(run_program(DLOGP_RUN_EXE, {"-"}, std::string((64 << 20) + 1, ' '), dir, bounded), "[dlogp.cli] -: ",
                "larger than 64 MB");
  fs::remove_all(dir);
}

TEST_CASE("limits: more threads than the system can start is exit 2, never libgomp's exit", "[cli][limits]") {
  if (!address_limits_work) return;
  // Under a 400 MB address space, 4000 thread stacks cannot be mapped: libgomp would print its
  // own message and exit(1); dlogp-run finds out first.
  const fs::path dir = scratch_dir("limits-threads");
  run_options low_memory;
  low_memory.address_space_bytes = 400L << 20;
  const std::string spec =
      R"({"model": {"type": "gmm", "weights": [1], "means": [[0]], "variances": [1]}, "process": {"type": "vp"}, "method": "pf-ode-encode", "n": 4})";
  const auto r = run_program(DLOGP_RUN_EXE, {"-", "--threads", "4000"}, spec, dir, low_memory);
  INFO(r.err);
  CHECK_FALSE(r.signaled);
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::StartsWith("[dlogp.cli] --threads: this system cannot start 4000 threads"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  const auto ok = run_program(DLOGP_RUN_EXE, {"-", "--threads", "2"}, spec, dir, low_memory);
  CHECK(ok.code == 0);
  fs::remove_all(dir);
}

TEST_CASE("limits: control characters in keys and names are escaped; the error stays one line", "[cli][limits]") {
  const fs::path dir = scratch_dir("limits-ctl");
  const std::string spec =
      R"({"model": {"type": "gmm", "weights": [1], "means": [[0]], "variances": [1], "a\u001b[31mb\nc": 1}, "process": {"type": "vp"}, "method": "pf-ode"})";
  const auto r = run_program(DLOGP_RUN_EXE, {"-"}, spec, dir);
  CHECK(r.code == 2);
  CHECK(r.err.rfind("[dlogp.spec] /model/a\\x1b[31mb\\x0ac: unknown key \"a\\x1b[31mb\\x0ac\"", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find('\x1b') == std::string::npos);
  const auto path = run_program(DLOGP_RUN_EXE, {"no\x1b[2Jsuch.json"}, "", dir);
  CHECK(path.code == 2);
  CHECK_THAT(path.err, Catch::StartsWith("[dlogp.cli] no\\x1b[2Jsuch.json: cannot open the spec file"));
  fs::remove_all(dir);
}

#endif  // DLOGP_RUN_EXE

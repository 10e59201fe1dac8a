// Nothing the user owns is lost (docs/cli.md, "Files, signals and limits"): the built dlogp-run
// run as a real process on files in a scratch folder (never on real device nodes), failing in
// every way a run can fail after it has started: out of memory, a signal, a write error, a
// concurrent writer.
#include <catch2/catch.hpp>

#ifdef DLOGP_RUN_EXE
#include <sys/stat.h>

#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reliability/support.hpp"

namespace {

using namespace dlogp::test;

const std::string quick_spec =
    R"({"model": {"type": "gmm", "weights": [0.3, 0.7], "means": [[-2], [2]], "variances": [0.16, 0.25]},
        "process": {"type": "vp"}, "method": "pf-ode-encode", "n": 3})";
// Valid, and accepted by the memory check of a 24 GB machine, but 20 million states do not fit
// in the 400 MB address space the tests give it: the run starts and then fails (exit 1).
const std::string too_big_spec =
    R"({"model": {"type": "gmm", "weights": [0.3, 0.7], "means": [[-2, 0], [2, 1]], "variances": [0.16, 0.25]},
        "process": {"type": "vp"}, "method": "reverse-sde", "n": 20000000, "solver": {"steps": 1}})";
// Runs for tens of seconds, long enough to be interrupted.
const std::string long_spec =
    R"({"model": {"type": "gmm", "weights": [0.3, 0.7], "means": [[-2], [2]], "variances": [0.16, 0.25]},
        "process": {"type": "vp"}, "method": "reverse-sde", "n": 400000, "solver": {"steps": 4000}})";
constexpr long small_address_space = 400L << 20;

// AddressSanitizer reserves terabytes of address space: an RLIMIT_AS test means nothing there.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool address_limits_work = false;
#else
constexpr bool address_limits_work = true;
#endif

const std::string precious = "the user's own file\n";

/// Every file of the folder is one of `expected` (no temporary file left behind).
void check_only(const fs::path& dir, std::vector<std::string> expected) {
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> found;
  for (const auto& n : names_in(dir))
    if (n != "stdin" && n != "stdout" && n != "stderr") found.push_back(n);
  CHECK(found == expected);
}

}  // namespace

TEST_CASE("files: a run that fails after it started leaves an existing --output file as it was", "[cli][files]") {
  if (!address_limits_work) return;
  const fs::path dir = scratch_dir("files-fail");
  const fs::path out = dir / "results.json";
  std::ofstream(out) << precious;
  std::ofstream(dir / "spec.json") << too_big_spec;
  run_options low_memory;
  low_memory.address_space_bytes = small_address_space;
  const auto r = run_program(DLOGP_RUN_EXE, {(dir / "spec.json").string(), "-o", out.string()}, "", dir, low_memory);
  INFO(r.err);
  CHECK_FALSE(r.signaled);
  CHECK(r.code == 1);
  CHECK(r.err == "[dlogp.internal] /: out of memory during the run\n");
  CHECK(r.out.empty());
  CHECK(slurp(out) == precious);
  check_only(dir, {"results.json", "spec.json"});
  // The same spec is untouched however it fails, and the low limit alone is not the cause.
  const auto ok = run_program(DLOGP_RUN_EXE, {"-", "-o", out.string()}, quick_spec, dir, low_memory);
  CHECK(ok.code == 0);
  CHECK(nlohmann::json::parse(slurp(out))["results"].size() == 3);
  fs::remove_all(dir);
}

TEST_CASE("files: a new --output path is created only when the run succeeds", "[cli][files]") {
  const fs::path dir = scratch_dir("files-new");
  const fs::path out = dir / "new.json";
  if (address_limits_work) {
    run_options low_memory;
    low_memory.address_space_bytes = small_address_space;
    const auto r = run_program(DLOGP_RUN_EXE, {"-", "-o", out.string()}, too_big_spec, dir, low_memory);
    CHECK(r.code == 1);
    check_only(dir, {});
  }
  const auto ok = run_program(DLOGP_RUN_EXE, {"-", "-o", out.string()}, quick_spec, dir);
  CHECK(ok.code == 0);
  CHECK(ok.out.empty());
  CHECK(nlohmann::json::parse(slurp(out))["summary"]["n"] == 3);
  check_only(dir, {"new.json"});
  fs::remove_all(dir);
}

TEST_CASE("files: SIGINT, SIGTERM and SIGHUP end the run by the signal, the old file as it was", "[cli][files]") {
  const fs::path dir = scratch_dir("files-signal");
  const fs::path out = dir / "results.json";
  for (const auto& [sig, name] : {std::pair{SIGINT, "SIGINT"}, std::pair{SIGTERM, "SIGTERM"}, std::pair{SIGHUP, "SIGHUP"}}) {
    INFO(name);
    std::ofstream(out) << precious;
    run_options interrupt;
    interrupt.signal = sig;
    interrupt.signal_after_seconds = 1.0;
    const auto r = run_program(DLOGP_RUN_EXE, {"-", "-o", out.string()}, long_spec, dir, interrupt);
    INFO(r.err);
    CHECK(r.signaled);
    CHECK(r.code == 128 + sig);
    CHECK(r.err == std::string("\n[dlogp.signal] ") + name + ": run interrupted; no result was written\n");
    CHECK(slurp(out) == precious);
    check_only(dir, {"results.json"});
  }
  fs::remove_all(dir);
}

TEST_CASE("files: a signal during a run with --arrays leaves the folder as it was", "[cli][files]") {
  const fs::path dir = scratch_dir("files-signal-arrays");
  const fs::path arrays = dir / "arrays", out = dir / "run.json";
  fs::create_directories(arrays);
  std::ofstream(arrays / "logp.npy") << precious;
  std::ofstream(out) << precious;
  run_options interrupt;
  interrupt.signal = SIGTERM;
  interrupt.signal_after_seconds = 1.0;
  const std::string recorded = long_spec.substr(0, long_spec.size() - 1) + R"(, "record": {"every": 1000}})";
  const auto r = run_program(DLOGP_RUN_EXE, {"-", "-o", out.string(), "--arrays", arrays.string()}, recorded, dir, interrupt);
  CHECK(r.signaled);
  CHECK(r.code == 128 + SIGTERM);
  CHECK(slurp(out) == precious);
  CHECK(slurp(arrays / "logp.npy") == precious);
  check_only(arrays, {"logp.npy"});  // none of the nine temporary files is left
  check_only(dir, {"arrays", "run.json"});
  fs::remove_all(dir);
}

TEST_CASE("files: a signal during a run removes the --arrays folder the run created", "[cli][files]") {
  const fs::path dir = scratch_dir("files-signal-new-arrays");
  const fs::path arrays = dir / "new-arrays", out = dir / "run.json";
  std::ofstream(out) << precious;
  run_options interrupt;
  interrupt.signal = SIGINT;
  interrupt.signal_after_seconds = 1.0;
  const auto r = run_program(DLOGP_RUN_EXE, {"-", "-o", out.string(), "--arrays", arrays.string()}, long_spec, dir, interrupt);
  CHECK(r.signaled);
  CHECK(r.code == 128 + SIGINT);
  CHECK(slurp(out) == precious);
  check_only(dir, {"run.json"});  // the folder and its temporary files are gone
  fs::remove_all(dir);
}

TEST_CASE("files: two runs writing the same --output leave one complete document", "[cli][files]") {
  const fs::path dir = scratch_dir("files-race");
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  const fs::path out = dir / "shared.json";
  std::ofstream(out) << precious;
  const std::string spec =
      R"({"model": {"type": "gmm", "weights": [0.3, 0.7], "means": [[-2], [2]], "variances": [0.16, 0.25]},
          "process": {"type": "vp"}, "method": "reverse-sde", "n": 20000, "solver": {"steps": 200}, "seed": )";
  auto a = std::async(std::launch::async, [&] { return run_program(DLOGP_RUN_EXE, {"-", "-o", out.string()}, spec + "1}", dir / "a"); });
  auto b = std::async(std::launch::async, [&] { return run_program(DLOGP_RUN_EXE, {"-", "-o", out.string()}, spec + "2}", dir / "b"); });
  const auto ra = a.get(), rb = b.get();
  CHECK(ra.code == 0);
  CHECK(rb.code == 0);
  const auto doc = nlohmann::json::parse(slurp(out));  // one valid document: it parses
  CHECK(doc["results"].size() == 20000);
  const auto seed = doc["spec"]["seed"].get<int>();
  CHECK((seed == 1 || seed == 2));
  check_only(dir, {"a", "b", "shared.json"});
  fs::remove_all(dir);
}

TEST_CASE("files: a FIFO target is written directly and never removed, also when the run fails", "[cli][files]") {
  const fs::path dir = scratch_dir("files-fifo");
  const fs::path fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  auto reader = std::async(std::launch::async, [&] { return slurp(fifo); });  // blocks until a writer opens
  const auto r = run_program(DLOGP_RUN_EXE, {"-", "-o", fifo.string()}, quick_spec, dir);
  CHECK(r.code == 0);
  CHECK(nlohmann::json::parse(reader.get())["results"].size() == 3);
  if (address_limits_work) {
    run_options low_memory;
    low_memory.address_space_bytes = small_address_space;
    // No reader: a run that failed must not even open the FIFO (it would block).
    const auto f = run_program(DLOGP_RUN_EXE, {"-", "-o", fifo.string()}, too_big_spec, dir, low_memory);
    CHECK(f.code == 1);
  }
  struct stat st {};
  REQUIRE(::stat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  check_only(dir, {"pipe"});
  fs::remove_all(dir);
}

TEST_CASE("files: a directory or the spec itself as --output is refused before the run", "[cli][files]") {
  const fs::path dir = scratch_dir("files-refuse");
  const fs::path spec = dir / "spec.json";
  std::ofstream(spec) << quick_spec;
  const auto d = run_program(DLOGP_RUN_EXE, {"-", "-o", dir.string()}, quick_spec, dir);
  CHECK(d.code == 2);
  CHECK_THAT(d.err, Catch::StartsWith("[dlogp.cli] --output: ") && Catch::Contains("is a directory"));
  const auto s = run_program(DLOGP_RUN_EXE, {spec.string(), "-o", spec.string()}, "", dir);
  CHECK(s.code == 2);
  CHECK_THAT(s.err, Catch::StartsWith("[dlogp.cli] --output: ") && Catch::Contains("is the spec file itself"));
  CHECK(slurp(spec) == quick_spec);
  const auto spec_dir = run_program(DLOGP_RUN_EXE, {dir.string()}, "", dir);
  CHECK(spec_dir.code == 2);
  CHECK(spec_dir.err == "[dlogp.cli] " + dir.string() + ": is a directory, not a spec file\n");
  const auto unreadable = run_program(DLOGP_RUN_EXE, {"/proc/self/mem"}, "", dir);
  CHECK(unreadable.code == 2);
  CHECK_THAT(unreadable.err, Catch::StartsWith("[dlogp.cli] /proc/self/mem: cannot read the spec file"));
  CHECK(std::count(unreadable.err.begin(), unreadable.err.end(), '\n') == 1);
  check_only(dir, {"spec.json"});
  fs::remove_all(dir);
}

TEST_CASE("files: a replaced file keeps its permissions; through a link the linked file is replaced", "[cli][files]") {
  const fs::path dir = scratch_dir("files-mode");
  const fs::path out = dir / "results.json", link = dir / "link.json";
  std::ofstream(out) << precious;
  fs::permissions(out, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  fs::create_symlink(out, link);
  const auto r = run_program(DLOGP_RUN_EXE, {"-", "-o", link.string()}, quick_spec, dir);
  CHECK(r.code == 0);
  CHECK(fs::is_symlink(link));
  CHECK(nlohmann::json::parse(slurp(out))["results"].size() == 3);
  CHECK(fs::status(out).permissions() == (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
  check_only(dir, {"link.json", "results.json"});
  fs::remove_all(dir);
}

TEST_CASE("files: a write error (file size limit, closed stdout) is exit 1 and loses nothing", "[cli][files]") {
  const fs::path dir = scratch_dir("files-write");
  const fs::path out = dir / "results.json";
  std::ofstream(out) << precious;
  run_options small_files;
  small_files.file_size_bytes = 1000;  // the document is larger: writing it fails with EFBIG
  const auto r = run_program(DLOGP_RUN_EXE, {"-", "-o", out.string()}, quick_spec, dir, small_files);
  INFO(r.err);
  CHECK_FALSE(r.signaled);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("[dlogp.cli] --output: error while writing") &&
                        Catch::Contains("the file was left as it was"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(slurp(out) == precious);
  check_only(dir, {"results.json"});
  run_options no_stdout;
  no_stdout.close_stdout = true;
  const auto c = run_program(DLOGP_RUN_EXE, {"-"}, quick_spec, dir, no_stdout);
  CHECK(c.code == 1);
  CHECK(c.err == "[dlogp.cli] stdout: error while writing the result\n");
  fs::remove_all(dir);
}

TEST_CASE("files: --progress with a failing run prints the error line only", "[cli][files]") {
  if (!address_limits_work) return;
  const fs::path dir = scratch_dir("files-progress");
  run_options low_memory;
  low_memory.address_space_bytes = small_address_space;
  const auto r = run_program(DLOGP_RUN_EXE, {"-", "--progress"}, too_big_spec, dir, low_memory);
  CHECK(r.code == 1);
  CHECK(r.err == "[dlogp.internal] /: out of memory during the run\n");
  fs::remove_all(dir);
}

#endif  // DLOGP_RUN_EXE

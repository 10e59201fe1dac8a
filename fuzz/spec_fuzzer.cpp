// libFuzzer target: dlogp-run's spec reader and validator, and small runs of what it accepts.
// Built and run by fuzz/run.sh (docs/fuzzing.md). The input is the spec text; the target
// checks the command-line contract (docs/cli.md) rather than just "does not crash":
//   - `dlogp-run --check -` exits 0 (the filled spec on stdout, valid JSON, and it validates
//     again to itself) or 2 (nothing on stdout, ONE stderr line starting "[dlogp.spec] /");
//     exit 1 (internal error) or any other outcome is a finding;
//   - an accepted spec that is cheap to run (few trajectories, steps and dimensions) is run:
//     exit 0 or 3 with one JSON document whose "results" has n entries; exit 2 is tolerated
//     only as one "[dlogp." line (the library refused what the validator let through).
// A finding calls __builtin_trap() so libFuzzer saves the input as a crash.
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <dlogp/run/app.hpp>

namespace {

using dlogp::runner::json;

void fail(const char* why, const std::string& detail) {
  std::fprintf(stderr, "spec_fuzzer finding: %s\n%s\n", why, detail.c_str());
  __builtin_trap();
}

int run(const std::vector<std::string>& args, const std::string& input, std::string& out, std::string& err) {
  std::istringstream in(input);
  std::ostringstream o, e;
  const int code = dlogp::runner::run_cli(args, in, o, e, false);
  out = o.str();
  err = e.str();
  return code;
}

bool one_error_line(const std::string& err, const char* prefix) {
  return err.rfind(prefix, 0) == 0 && err.size() >= 2 && err.back() == '\n' &&
         err.find('\n') == err.size() - 1;
}

/// Small enough to run in a few milliseconds even under the sanitizers.
bool cheap(const json& f) {
  const long n = f.value("n", 1L);
  const auto& model = f["model"];
  if (model.contains("file") || f["x_start"].is_object()) return false;  // sizes live in files
  const long K = long(model["weights"].size());
  const long D = long(model["means"][0].size());
  if (n > 4 || K > 8 || D > 4) return false;
  if (f.contains("solver")) {
    const auto& s = f["solver"];
    if (s["scheme"] == "dopri5") {
      if (s["max_steps"].get<double>() > 400) return false;
    } else if (s["steps"].get<double>() > 200) {
      return false;
    }
  }
  if (f.contains("divergence") && f["divergence"]["probes"].get<double>() > 4) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string out, err;
  const int code = run({"--check", "-"}, text, out, err);
  if (code == 2) {
    if (!out.empty()) fail("exit 2 with output on stdout", out);
    if (!one_error_line(err, "[dlogp.spec] /")) fail("exit 2 without exactly one [dlogp.spec] / line", err);
    return 0;
  }
  if (code != 0) fail("--check gave neither 0 nor 2", "exit " + std::to_string(code) + ": " + err);
  if (!err.empty()) fail("--check accepted the spec but wrote to stderr", err);
  json filled;
  try {
    filled = json::parse(out);
  } catch (const std::exception& e) {
    fail("--check printed invalid JSON", e.what());
  }
  // The filled spec is a spec: it must be accepted and fill to itself.
  std::string out2, err2;
  if (run({"--check", "-"}, out, out2, err2) != 0) fail("the filled spec is refused", out + "\n" + err2);
  if (json::parse(out2) != filled) fail("the filled spec does not fill to itself", out + "\n" + out2);

  if (!cheap(filled)) return 0;
  const int rc = run({"-", "--threads", "1"}, out, out2, err2);
  if (rc == 2) {
    if (!out2.empty() || !one_error_line(err2, "[dlogp.")) fail("run: exit 2 not as one line", err2);
    return 0;
  }
  if (rc != 0 && rc != 3) fail("run: exit status not 0, 2 or 3", "exit " + std::to_string(rc) + ": " + err2);
  if (!err2.empty()) fail("run: stderr not empty without --progress", err2);
  try {
    const json doc = json::parse(out2);
    if (doc.at("results").size() != filled.at("n").get<std::size_t>()) fail("run: wrong number of results", out2);
  } catch (const json::exception& e) {
    fail("run: output is not the contract's JSON document", std::string(e.what()) + "\n" + out2);
  }
  return 0;
}

// The built dlogp-run program as a user runs it: a real process, real stdin/stdout/stderr and
// exit statuses. Built only where CMake passes the program's path (DLOGP_RUN_EXE).
#include <catch2/catch.hpp>

#ifdef DLOGP_RUN_EXE
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct process_result {
  int code;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

/// A scratch directory per test case (CTest may run test cases in parallel).
fs::path scratch(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("dlogp-cli-" + std::to_string(::getpid()) + "-" + name);
  fs::create_directories(d);
  return d;
}

/// Runs `dlogp-run <args>` through the shell with stdout and stderr captured in files.
process_result run(const fs::path& dir, const std::string& args, const std::string& stdin_text = "") {
  const fs::path in = dir / "stdin", out = dir / "stdout", err = dir / "stderr";
  std::ofstream(in, std::ios::binary) << stdin_text;
  const std::string cmd = std::string("'") + DLOGP_RUN_EXE + "' " + args + " < '" + in.string() + "' > '" +
                          out.string() + "' 2> '" + err.string() + "'";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

const std::string gmm1_spec =
    R"({"model": {"type": "gmm", "weights": [0.3, 0.5, 0.2], "means": [[-2], [0], [2.5]], "variances": [0.16, 0.09, 0.25]},
        "process": {"type": "vp"}, )";

}  // namespace

TEST_CASE("cli binary: a good spec gives exit 0 and one JSON document on stdout", "[cli]") {
  const fs::path d = scratch("good");
  const std::string spec = gmm1_spec + R"("method": "pf-ode-encode", "n": 3})";
  std::ofstream(d / "spec.json") << spec;
  std::string path_arg = "'";
  path_arg += (d / "spec.json").string();
  path_arg += "'";
  const auto from_file = run(d, path_arg);
  CHECK(from_file.code == 0);
  CHECK(from_file.err.empty());  // stderr is a file, not a terminal: no progress bar
  const auto doc = nlohmann::json::parse(from_file.out);
  CHECK(doc["results"].size() == 3);
  CHECK(doc["spec"]["method"] == "pf-ode-encode");
  const auto from_stdin = run(d, "-", spec);
  CHECK(from_stdin.code == 0);
  CHECK(std::regex_replace(from_stdin.out, std::regex("\"seconds\":[^,}]*"), "") ==
        std::regex_replace(from_file.out, std::regex("\"seconds\":[^,}]*"), ""));
  fs::remove_all(d);
}

TEST_CASE("cli binary: an invalid spec gives exit 2, one [dlogp. line and no stdout", "[cli]") {
  const fs::path d = scratch("invalid");
  for (const std::string& spec : {std::string("{"), gmm1_spec + R"("method": "pf-ode", "n": -1})",
                                 gmm1_spec + R"("method": "langevin", "langevin": {"step_size": 0}})", gmm1_spec + R"("method": "pf-ode", "n": 1e15})"}) {
    INFO(spec);
    const auto r = run(d, "-", spec);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("[dlogp.spec] /", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  const auto opt = run(d, "--threads=x -");
  CHECK(opt.code == 2);
  CHECK(opt.out.empty());
  CHECK(opt.err.rfind("[dlogp.cli] --threads:", 0) == 0);
  fs::remove_all(d);
}

TEST_CASE("cli binary: failed trajectories give exit 3 with every result written", "[cli]") {
  const fs::path d = scratch("exit3");
  const auto r = run(d, "-", gmm1_spec + R"("method": "pf-ode", "n": 2, "solver": {"max_steps": 1}})");
  CHECK(r.code == 3);
  CHECK(r.err.empty());
  const auto doc = nlohmann::json::parse(r.out);
  REQUIRE(doc["results"].size() == 2);
  CHECK(doc["results"][0]["status"] == "max_steps");
  fs::remove_all(d);
}

TEST_CASE("cli binary: 1 and 2 threads give byte-identical output apart from seconds", "[cli][repro]") {
  const fs::path d = scratch("threads");
  const std::string spec = gmm1_spec + R"("method": "reverse-sde", "n": 200, "seed": 4, "solver": {"steps": 200}})";
  const auto a = run(d, "- --threads 1", spec), b = run(d, "- --threads 2", spec);
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  const std::regex seconds("\"seconds\":[^,}]*");
  CHECK(std::regex_search(a.out, seconds));
  CHECK(std::regex_replace(a.out, seconds, "") == std::regex_replace(b.out, seconds, ""));
  fs::remove_all(d);
}

TEST_CASE("cli binary: --version, --schema, --help and --progress", "[cli]") {
  const fs::path d = scratch("flags");
  const auto v = run(d, "--version");
  CHECK(v.code == 0);
  CHECK(v.out.rfind("dlogp-run ", 0) == 0);
  const auto s = run(d, "--schema");
  CHECK(s.code == 0);
  CHECK(s.out == slurp(fs::path(DLOGP_SOURCE_DIR) / "docs" / "schema.json"));
  const auto h = run(d, "--help");
  CHECK(h.code == 0);
  CHECK(h.out.find("Exit status") != std::string::npos);
  const auto p = run(d, "- --progress", gmm1_spec + R"("method": "reverse-sde", "n": 50, "solver": {"steps": 50}})");
  CHECK(p.code == 0);
  CHECK(p.err.find("50/50 trajectories") != std::string::npos);
  CHECK(nlohmann::json::parse(p.out)["results"].size() == 50);
  fs::remove_all(d);
}

#endif  // DLOGP_RUN_EXE

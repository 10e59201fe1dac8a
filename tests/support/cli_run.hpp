#pragma once
// dlogp-run in-process for the [cli] tests: run_cli with string streams, the docs/ground-truth.md
// mixtures as spec fragments, and the output with its one timing field blanked. run_args is
// compiled once (support/cli_run.cpp): the tests that call it then do not each compile every
// method's integration.
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <dlogp/run/app.hpp>

namespace dlogp::test {

struct cli_run {
  int code;
  std::string out, err;
  runner::json doc() const { return runner::json::parse(out); }
};

cli_run run_args(const std::vector<std::string>& args, const std::string& stdin_text = "");

/// Runs a spec given as text through stdin.
inline cli_run run_spec_text(const std::string& spec, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"-"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_args(args, spec);
}

inline const std::string gmm1 =
    R"("model": {"type": "gmm", "weights": [0.3, 0.5, 0.2], "means": [[-2], [0], [2.5]], "variances": [0.16, 0.09, 0.25]})";
inline const std::string gmm2 =
    R"("model": {"type": "gmm", "weights": [0.4, 0.35, 0.25], "means": [[-2, 0], [2, 1], [0, -2.5]],
        "covariances": [[[0.5, 0.2], [0.2, 0.3]], [[0.1, 0], [0, 0.1]], [[0.3, -0.1], [-0.1, 0.6]]]})";

inline std::string spec(const std::string& model, const std::string& rest) { return "{" + model + ", " + rest + "}"; }

/// The document with summary.seconds (the only timing field) set to 0.
inline std::string without_seconds(const std::string& s) {
  return std::regex_replace(s, std::regex("\"seconds\":[^,}]*"), "\"seconds\":0");
}

}  // namespace dlogp::test

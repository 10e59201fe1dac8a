// The one translation unit of the tests that compiles dlogp-run's whole dispatch for run_args.
#include "support/cli_run.hpp"

#include <sstream>

namespace dlogp::test {

cli_run run_args(const std::vector<std::string>& args, const std::string& stdin_text) {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  const int code = runner::run_cli(args, in, out, err, false);
  return {code, out.str(), err.str()};
}

}  // namespace dlogp::test

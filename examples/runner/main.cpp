// dlogp-run: run a JSON spec (docs/cli.md). Everything but the process boundary is in app.hpp.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include <dlogp/run/app.hpp>

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  dlogp::runner::remove_partial_files_on_signals();
  const std::vector<std::string> args(argv + 1, argv + argc);
  return dlogp::runner::run_cli(args, std::cin, std::cout, std::cerr, isatty(STDERR_FILENO) != 0);
}

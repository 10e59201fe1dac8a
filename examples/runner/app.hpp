#pragma once
// dlogp-run's command line: arguments, reading the spec, running, writing, exit status.
//   0 every trajectory ok | 1 internal error | 2 invalid spec or command line | 3 some not ok
// Kept apart from main() so tests can run it in-process with their own streams.
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "methods/registry.hpp"
#include "output.hpp"
#include "spec.hpp"

namespace dlogp::runner {

enum exit_code : int { exit_ok = 0, exit_internal = 1, exit_invalid = 2, exit_not_ok = 3 };

struct cli_options {
  std::string spec;    ///< path, or "-" for stdin
  std::string output;  ///< empty: stdout
  int threads = 0;     ///< 0: OpenMP's default
  std::optional<bool> progress;  ///< unset: when stderr is a terminal
  bool help = false, version = false, schema = false, check = false;
};

inline std::string usage() {
  std::string methods, missing;
  for (const auto& m : method_catalogue()) {
    const bool built = current_build().has_method(m.name);
    if (built) methods += "  " + m.name + std::string(16 - std::min<std::size_t>(15, m.name.size()), ' ') + m.summary + "\n";
    else missing += (missing.empty() ? "" : ", ") + m.name;
  }
  return "Usage: dlogp-run SPEC.json [--output FILE] [--threads N] [--progress | --no-progress]\n"
         "       dlogp-run - ...            read the spec from stdin\n"
         "       dlogp-run --schema         print the JSON schema of the spec\n"
         "       dlogp-run --check SPEC     validate only; print the spec with its defaults\n"
         "       dlogp-run --help | --version\n"
         "\n"
         "Runs one method on a Gaussian-mixture model and writes one JSON document (stdout or\n"
         "--output): the spec with every default filled in, one result per trajectory (x, log p,\n"
         "exact log p, score evaluations, steps, status) and a summary. See docs/cli.md.\n"
         "\n"
         "Options:\n"
         "  -o, --output FILE  write the result to FILE instead of stdout\n"
         "  --threads N        threads (default 0: all); results do not depend on it\n"
         "  --progress         progress bar on stderr (default: when stderr is a terminal)\n"
         "  --no-progress      no progress bar\n"
         "\n"
         "Methods in this build:\n" + methods +
         (missing.empty() ? "" : "Not in this build: " + missing + "\n") +
         "\n"
         "Exit status: 0 all trajectories ok, 3 some are not (see their status), 2 invalid spec or\n"
         "command line (one line on stderr: [dlogp.spec] /json/pointer: message), 1 internal error.\n";
}

inline cli_options parse_arguments(const std::vector<std::string>& args) {
  static const std::vector<std::string> known = {"--output", "--threads", "--progress", "--no-progress",
                                                 "--help",   "--version", "--schema",   "--check"};
  cli_options o;
  bool have_spec = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i], value;
    bool has_value = false;
    if (a.rfind("--", 0) == 0)
      if (const auto eq = a.find('='); eq != std::string::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_value = true;
      }
    auto take_value = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= args.size()) throw cli_error(a, "needs a value");
      return args[++i];
    };
    auto no_value = [&] {
      if (has_value) throw cli_error(a, "takes no value (got \"" + value + "\")");
    };
    if (a == "-o" || a == "--output") {
      o.output = take_value();
      if (o.output.empty()) throw cli_error(a, "needs a file name");
    } else if (a == "--threads") {
      const std::string v = take_value();
      std::size_t used = 0;
      long t = -1;
      try {
        t = std::stol(v, &used);
      } catch (...) {
      }
      if (used != v.size() || t < 0 || t > 4096)
        throw cli_error(a, "must be an integer from 0 (all cores) to 4096 (got \"" + v + "\")");
      o.threads = int(t);
    } else if (a == "--progress") {
      no_value();
      o.progress = true;
    } else if (a == "--no-progress") {
      no_value();
      o.progress = false;
    } else if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "--version") {
      o.version = true;
    } else if (a == "--schema") {
      o.schema = true;
    } else if (a == "--check") {
      o.check = true;
    } else if (a.size() > 1 && a[0] == '-') {
      const std::string guess = closest(a, known);
      throw cli_error(a, "unknown option" + (guess.empty() ? std::string(" (see dlogp-run --help)")
                                                           : "; did you mean \"" + guess + "\"?"));
    } else {
      if (have_spec) throw cli_error(a, "only one spec file may be given (already have \"" + o.spec + "\")");
      o.spec = a;
      have_spec = true;
    }
  }
  if (!have_spec && !o.help && !o.version && !o.schema)
    throw cli_error("SPEC", "missing spec file (a path, or - for stdin; see dlogp-run --help)");
  return o;
}

inline std::string read_spec_text(const std::string& path, std::istream& in) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::ifstream f(path, std::ios::binary);
  if (!f) throw cli_error(path, "cannot open the spec file");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw cli_error(path, "cannot read the spec file");
  return text;
}

/// Runs a validated spec: the method, timed, with recorder and progress as asked, over the
/// trajectories [first, first + count) of the spec's n (count -1: all).
struct run_result {
  run_output output;
  std::unique_ptr<trajectory_recorder> recorder;
  double seconds = 0;
};

inline run_result execute(const run_spec& spec, int threads, progress_bar* bar, long first = 0, long count = -1) {
  run_result res;
  run_context ctx{spec, threads, nullptr, bar, first, count};
  if (spec.record_every > 0) {
    res.recorder = std::make_unique<trajectory_recorder>(ctx.size(), spec.dimension(), spec.record_every);
    ctx.recorder = res.recorder.get();
  }
  const method_entry* m = find_method_entry(spec.method->name);
  const auto t0 = std::chrono::steady_clock::now();
  res.output = m->run(ctx);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

/// A failed stage: the one-line message for stderr and the exit status (code -1: no failure).
struct failure {
  std::string line;
  int code = -1;
  explicit operator bool() const { return code >= 0; }
};

/// Runs f (reading the command line and the spec), turning its exceptions into a failure.
template <class F>
failure catch_input_errors(F&& f) {
  try {
    f();
    return {};
  } catch (const runner_error& e) {
    return {e.what(), exit_invalid};
  } catch (const json::exception& e) {  // a JSON access the validator did not guard: still the input
    return {spec_error("/", detail::strip_id(e.what())).what(), exit_invalid};
  } catch (const std::bad_alloc&) {
    return {"[dlogp.internal] /: out of memory while reading the spec", exit_internal};
  } catch (const std::exception& e) {
    return {std::string("[dlogp.internal] /: ") + e.what(), exit_internal};
  }
}

/// Runs f (the method), turning its exceptions into a failure.
template <class F>
failure catch_run_errors(F&& f) {
  try {
    f();
    return {};
  } catch (const dlogp::error& e) {
    // The library refused something the validator let through: still the spec's fault.
    return {spec_error("/", detail::strip_id(e.what())).what(), exit_invalid};
  } catch (const std::bad_alloc&) {
    return {"[dlogp.internal] /: out of memory during the run", exit_internal};
  } catch (const std::exception& e) {
    return {std::string("[dlogp.internal] /: ") + e.what(), exit_internal};
  }
}

/// Answers --help, --version and --schema (true), or does nothing (false).
inline bool answer_query(const cli_options& opt, std::ostream& out) {
  if (opt.help) out << usage();
  else if (opt.version) out << "dlogp-run " << version_string << "\n";
  else if (opt.schema) out << spec_json_schema().dump(2) << "\n";
  else return false;
  return true;
}

/// The whole program. `err_is_tty` decides the default of --progress.
inline int run_cli(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err,
                   bool err_is_tty) {
  cli_options opt;
  run_spec spec;
  bool answered = false;
  if (const failure f = catch_input_errors([&] {
        opt = parse_arguments(args);
        answered = answer_query(opt, out);
        if (!answered) spec = parse_spec(read_spec_text(opt.spec, in), current_build(), default_memory_limit());
      })) {
    err << f.line << "\n";
    return f.code;
  }
  if (answered) return exit_ok;
  if (opt.check) {
    out << spec.filled.dump(2) << "\n";
    return exit_ok;
  }

  // Open the output before the run (fail early), but only after the spec is known to be good.
  std::ofstream file;
  if (!opt.output.empty()) {
    file.open(opt.output, std::ios::binary | std::ios::trunc);
    if (!file) {
      err << cli_error("--output", "cannot write \"" + opt.output + "\"").what() << "\n";
      return exit_invalid;
    }
  }
  std::ostream& dest = opt.output.empty() ? out : file;
  auto fail = [&](const std::string& line, int code) {
    if (file.is_open()) {
      file.close();
      std::remove(opt.output.c_str());
    }
    err << line << "\n";
    return code;
  };

  run_result res;
  if (const failure f = catch_run_errors([&] {
        std::unique_ptr<progress_bar> bar;
        if (opt.progress.value_or(err_is_tty)) bar = std::make_unique<progress_bar>(err, spec.n, err_is_tty);
        res = execute(spec, opt.threads, bar.get());
        if (bar) bar->finish();
      }))
    return fail(f.line, f.code);
  write_output(dest, spec, res.output, res.recorder.get(), res.seconds);
  dest.flush();
  if (!dest) return fail("[dlogp.cli] --output: error while writing the result", exit_internal);
  return res.output.all_ok() ? exit_ok : exit_not_ok;
}

}  // namespace dlogp::runner

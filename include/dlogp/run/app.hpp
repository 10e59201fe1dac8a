#pragma once
// dlogp-run's command line: arguments, reading the spec, running, writing, exit status.
//   0 every trajectory ok | 1 internal error | 2 invalid spec or command line | 3 some not ok
// Kept apart from main() so tests can run it in-process with their own streams.
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
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

#include <dlogp/core/threads.hpp>
#include <dlogp/model/check_score_model.hpp>

#include "arrays.hpp"
#include "methods/registry.hpp"
#include "output.hpp"
#include "output_file.hpp"
#include "spec.hpp"

namespace dlogp::runner {

enum exit_code : int { exit_ok = 0, exit_internal = 1, exit_invalid = 2, exit_not_ok = 3 };

struct cli_options {
  std::string spec;    ///< path, or "-" for stdin
  std::string output;  ///< empty: stdout
  std::string arrays;  ///< --arrays DIR; empty: results in the JSON document
  int threads = 0;     ///< 0: OpenMP's default
  std::optional<bool> progress;  ///< unset: when stderr is a terminal
  bool help = false, version = false, schema = false, check = false, check_model = false;
};

inline std::string usage() {
  std::string methods;
  for (const auto& m : method_catalogue())
    methods += "  " + m.name + std::string(16 - std::min<std::size_t>(15, m.name.size()), ' ') + m.summary + "\n";
  return "Usage: dlogp-run SPEC.json [--output FILE] [--arrays DIR] [--threads N] [--progress | --no-progress]\n"
         "       dlogp-run - ...            read the spec from stdin\n"
         "       dlogp-run --schema         print the JSON schema of the spec\n"
         "       dlogp-run --check SPEC     validate only; print the spec with its defaults\n"
         "       dlogp-run --check-model SPEC  compare the model's members with finite differences\n"
         "       dlogp-run --help | --version\n"
         "\n"
         "Runs one method on a score model (a Gaussian mixture, an MLP weight file or a TorchScript\n"
         "module) and writes one JSON document (stdout or --output): the spec with every default\n"
         "filled in, one result per trajectory (x, log p, exact log p where the model has one, score\n"
         "evaluations, steps, status) and a summary. See docs/cli.md.\n"
         "\n"
         "Options:\n"
         "  -o, --output FILE  write the result to FILE instead of stdout\n"
         "  --arrays DIR       per-trajectory results as .npy files in DIR (x, logp, status, ...)\n"
         "  --threads N        threads (default 0: all); results do not depend on it\n"
         "  --progress         progress bar on stderr (default: when stderr is a terminal)\n"
         "  --no-progress      no progress bar\n"
         "\n"
         "Methods in this build:\n" + methods +
         "\n"
         "Exit status: 0 all trajectories ok, 3 some are not (see their status), 2 invalid spec or\n"
         "command line (one line on stderr: [dlogp.spec] /json/pointer: message), 1 internal error.\n";
}

inline cli_options parse_arguments(const std::vector<std::string>& args) {
  static const std::vector<std::string> known = {"--output", "--arrays", "--threads", "--progress", "--no-progress",
                                                 "--help",   "--version", "--schema",  "--check", "--check-model"};
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
    auto refuse_value = [&] {
      if (has_value) throw cli_error(a, "takes no value (got \"" + value + "\")");
    };
    if (a == "-o" || a == "--output") {
      o.output = take_value();
      if (o.output.empty()) throw cli_error(a, "needs a file name");
    } else if (a == "--arrays") {
      o.arrays = take_value();
      if (o.arrays.empty()) throw cli_error(a, "needs a folder name");
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
      // Checked now, not when OpenMP would start them: libgomp exits the process when it cannot.
      if (const int can = usable_threads(int(t)); can < t)
        throw cli_error(a, "this system cannot start " + v + " threads (" + std::to_string(can) +
                               " could be started); ask for fewer");
      o.threads = int(t);
    } else if (a == "--progress") {
      refuse_value();
      o.progress = true;
    } else if (a == "--no-progress") {
      refuse_value();
      o.progress = false;
    } else if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "--version") {
      o.version = true;
    } else if (a == "--schema") {
      o.schema = true;
    } else if (a == "--check") {
      o.check = true;
    } else if (a == "--check-model") {
      refuse_value();
      o.check_model = true;
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

/// The largest spec read (docs/cli.md, "Limits"): inline x_start of a million 2-D points fits;
/// larger data belongs in a file.
inline constexpr std::size_t max_spec_bytes = std::size_t(64) << 20;

/// Appends a piece of the spec, refusing a spec larger than max_spec_bytes (so /dev/zero or a
/// runaway pipe cannot grow memory without bound).
inline void append_spec_bytes(std::string& text, const char* data, std::size_t n, const std::string& name) {
  if (text.size() + n > max_spec_bytes)
    throw cli_error(name, "the spec is larger than " + std::to_string(max_spec_bytes >> 20) +
                              " MB; give large data as a file");
  text.append(data, n);
}

inline std::string read_spec_text(const std::string& path, std::istream& in) {
  std::string text;
  char buf[1 << 16];
  if (path == "-") {
    while (in.read(buf, sizeof buf) || in.gcount() > 0) append_spec_bytes(text, buf, std::size_t(in.gcount()), path);
    return text;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw cli_error(path, std::string("cannot open the spec file: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw cli_error(path, "is a directory, not a spec file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw cli_error(path, std::string("cannot open the spec file: ") + std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(f, &std::fclose);
  std::size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) append_spec_bytes(text, buf, got, path);
  if (std::ferror(f)) throw cli_error(path, std::string("cannot read the spec file: ") + std::strerror(errno));
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
  const auto t0 = std::chrono::steady_clock::now();
  res.output = run_method(ctx);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

/// A failed stage: the one-line message for stderr and the exit status (code -1: no failure).
struct failure {
  std::string line;
  int code = -1;
  explicit operator bool() const { return code >= 0; }
};

/// The line for an unexpected exception: one line, control characters escaped.
inline std::string internal_line(const std::string& what) { return "[dlogp.internal] /: " + printable(what); }

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
    return {internal_line("out of memory while reading the spec"), exit_internal};
  } catch (const std::exception& e) {
    return {internal_line(e.what()), exit_internal};
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
    return {internal_line("out of memory during the run"), exit_internal};
  } catch (const std::exception& e) {
    return {internal_line(e.what()), exit_internal};
  }
}

/// The --arrays folder, checked (and its temporary files made) before the run; nullptr when not
/// asked for. Throws cli_error.
inline std::unique_ptr<array_output> open_arrays(const cli_options& opt, const run_spec& spec) {
  if (opt.arrays.empty()) return nullptr;
  if (spec.method->name == "objective")
    throw cli_error("--arrays", "method \"objective\" reports per-point objectives, which have no array form; "
                                "use the JSON output");
  return std::make_unique<array_output>(opt.arrays, spec.record_every > 0);
}

/// The --output target, checked before the run (nullptr: stdout). Throws cli_error.
inline std::unique_ptr<output_file> open_output(const cli_options& opt) {
  if (opt.output.empty() || opt.output == "-") return nullptr;
  if (opt.spec != "-" && same_file(opt.spec, opt.output))
    throw cli_error("--output", "\"" + opt.output + "\" is the spec file itself; name another file");
  return std::make_unique<output_file>(opt.output, "--output");
}

/// Writes the document with `write(stream)` to the output file, then commits it, or to `out`.
/// A failure (disk full, closed stdout) is exit 1 and leaves the target as it was.
template <class F>
failure deliver(output_file* file, std::ostream& out, F&& write) {
  try {
    std::ostream& dest = file ? file->stream() : out;
    write(dest);
    if (file) file->commit();
    else if (!out.flush()) throw cli_error("stdout", "error while writing the result");
    return {};
  } catch (const runner_error& e) {
    return {e.what(), exit_internal};
  } catch (const std::bad_alloc&) {
    return {internal_line("out of memory while writing the result"), exit_internal};
  } catch (const std::exception& e) {
    return {internal_line(e.what()), exit_internal};
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

/// --check-model: check_score_model on the spec's model at its start points (x_start, else n
/// draws from the model at t_min, at most 16 points) as one JSON document. Exit 0 when every
/// member agrees with finite differences of the one below it, 3 when one does not.
inline int check_model(const run_spec& spec, std::ostream& out) {
  const long n = std::min<long>(spec.n, 16);
  matrix<double> points(spec.dimension(), n);
  if (spec.x_start_given) {
    long used = 0;  // finite rows only: a NaN row has nothing to check
    for (long j = 0; j < spec.x_start.cols() && used < n; ++j)
      if (spec.x_start.col(j).allFinite()) points.col(used++) = spec.x_start.col(j);
    points.conservativeResize(Eigen::NoChange, std::max<long>(used, 1));
    if (used == 0) spec.model->sample(spec.process.t_min(), spec.seed, 0, points);
  } else {
    spec.model->sample(spec.process.t_min(), spec.seed, 0, points);
  }
  const score_model_report r = check_score_model(*spec.model, spec.process, points);
  json doc = json::object();
  doc["dlogp_version"] = version_string;
  doc["points"] = points.cols();
  doc["times"] = r.times;
  json checks = json::array();
  for (const auto& c : r.checks)
    checks.push_back(json{{"check", c.name}, {"max_abs_error", number_or_null(c.max_abs_error)},
                          {"max_rel_error", number_or_null(c.max_rel_error)}, {"fd_step", c.fd_step},
                          {"worst_error_over_tolerance", number_or_null(c.worst_ratio)}, {"passed", c.passed}});
  doc["checks"] = std::move(checks);
  doc["passed"] = r.passed();
  out << doc.dump(2) << "\n";
  return r.passed() ? exit_ok : exit_not_ok;
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
        if (!answered)
          spec = parse_spec(read_spec_text(opt.spec, in), current_build(), default_memory_limit(), spec_folder(opt.spec));
        if (opt.check_model && !spec.x_start_given && !spec.model->has(model_capability::sampling))
          throw spec_error("/x_start", "is needed by --check-model: model type \"" + spec.model->name() +
                                           "\" cannot draw points to check at");
      })) {
    err << f.line << "\n";
    return f.code;
  }
  if (answered) return exit_ok;
  if (opt.check) {
    out << spec.filled.dump(2) << "\n";
    return exit_ok;
  }
  if (opt.check_model) {
    int code = exit_ok;
    if (const failure f = catch_run_errors([&] { code = check_model(spec, out); })) {
      err << f.line << "\n";
      return f.code;
    }
    return code;
  }

  // The output target is checked (and its temporary file made) before the run, but only once the
  // spec is known to be good; the target itself is replaced only after the run succeeded.
  std::unique_ptr<output_file> file;
  std::unique_ptr<array_output> arrays;
  if (const failure f = catch_input_errors([&] {
        file = open_output(opt);
        arrays = open_arrays(opt, spec);
      })) {
    err << f.line << "\n";
    return f.code;
  }

  run_result res;
  std::unique_ptr<progress_bar> bar;
  if (const failure f = catch_run_errors([&] {
        if (opt.progress.value_or(err_is_tty)) bar = std::make_unique<progress_bar>(err, spec.n, err_is_tty);
        res = execute(spec, opt.threads, bar.get());
      })) {
    if (bar) bar->abandon();  // no "100%" line before the error
    err << f.line << "\n";
    return f.code;
  }
  if (bar) bar->finish();
  if (const failure f = deliver(file.get(), out, [&](std::ostream& dest) {
        if (!arrays) return write_output(dest, spec, res.output, res.recorder.get(), res.seconds);
        arrays->write(res.output, res.recorder.get());
        write_arrays_document(dest, spec, arrays->names(), res.output, res.seconds);
        arrays->commit();  // the arrays, then (in deliver) the document that names them
      })) {
    err << f.line << "\n";
    return f.code;
  }
  return res.output.all_ok() ? exit_ok : exit_not_ok;
}

}  // namespace dlogp::runner

#pragma once
// --arrays DIR: the per-trajectory results as NumPy .npy files that numpy.load reads
// (docs/cli.md, "Arrays"); the JSON document then names the files instead of listing results.
//
//   x.npy, x_start.npy     (N, D) float64        logp.npy, logp_exact.npy  (N,) float64, NaN = null
//   status.npy             (N,) int8 (the status codes below)
//   score_evals.npy, steps.npy  (N,) int64
//   trajectory.npy         (N, S, 2 + D) float64, with record: state s of trajectory j is
//                          (t, logp, x); S is the longest trajectory, shorter ones end in NaN rows
//
// Every file follows --output's rules (output_file.hpp): written to a temporary file beside it
// and renamed only after the run succeeded and every array and the document were written (the
// arrays first, the document last), so a failed run leaves the folder as it was. A folder that does not exist is created before the run (so an unwritable
// parent fails early) and removed again if the run fails, or a signal ends it, and it is still
// empty.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <dlogp/io/npy.hpp>

#include "context.hpp"
#include "output_file.hpp"

namespace dlogp::runner {

/// The status codes of status.npy: the index of the status in dlogp::all_statuses.
inline std::int8_t status_code(status s) {
  for (std::size_t i = 0; i < std::size(all_statuses); ++i)
    if (all_statuses[i] == s) return std::int8_t(i);
  return -1;
}

class array_output {
 public:
  array_output(std::string dir, bool record) : dir_(std::move(dir)) {
    struct stat st {};
    if (::stat(dir_.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) throw cli_error("--arrays", "\"" + dir_ + "\" exists and is not a folder");
    } else {
      if (::mkdir(dir_.c_str(), 0777) != 0)
        throw cli_error("--arrays", "cannot create the folder \"" + dir_ + "\": " + detail::errno_text(errno));
      created_ = true;
      // A signal that ends the run removes it too (after the temporary files in it).
      folder_slot_ = detail::register_pending(dir_, true);
    }
    std::vector<std::string> names = {"x", "x_start", "logp", "logp_exact", "status", "score_evals", "steps"};
    if (record) names.push_back("trajectory");
    for (const auto& n : names) {
      names_[n] = n + ".npy";
      files_.push_back(std::make_unique<output_file>(dir_ + "/" + n + ".npy", "--arrays"));
    }
  }
  array_output(const array_output&) = delete;
  array_output& operator=(const array_output&) = delete;
  ~array_output() {
    files_.clear();  // removes the temporary files that were not committed
    if (created_ && !committed_) ::rmdir(dir_.c_str());  // only if still empty
    detail::unregister_pending(folder_slot_);
  }

  /// {"folder": DIR, "x": "x.npy", ...}: what the JSON document says instead of results.
  json names() const {
    json o = json::object();
    o["folder"] = dir_;
    for (auto it = names_.begin(); it != names_.end(); ++it) o[it.key()] = it.value();
    return o;
  }

  /// Writes every array of r to its temporary file (in the order of names()).
  void write(const run_output& r, const trajectory_recorder* rec) {
    const long N = r.size(), D = r.x.rows();
    const auto n = static_cast<std::size_t>(N);
    std::vector<std::int8_t> codes(n);
    std::vector<std::int64_t> evals(n), steps(n);
    for (long j = 0; j < N; ++j) {
      codes[std::size_t(j)] = status_code(r.stats[std::size_t(j)].status);
      evals[std::size_t(j)] = r.stats[std::size_t(j)].score_evals;
      steps[std::size_t(j)] = r.stats[std::size_t(j)].steps();
    }
    std::size_t f = 0;
    write_npy(files_[f++]->stream(), {N, D}, r.x.data());
    write_npy(files_[f++]->stream(), {N, D}, r.x_start.data());
    write_npy(files_[f++]->stream(), {N}, r.logp.data());
    write_npy(files_[f++]->stream(), {N}, r.logp_exact.data());
    write_npy(files_[f++]->stream(), {N}, codes.data());
    write_npy(files_[f++]->stream(), {N}, evals.data());
    write_npy(files_[f++]->stream(), {N}, steps.data());
    if (rec) {
      const long stride = rec->stride();
      long S = 0;
      for (long j = 0; j < N; ++j) S = std::max(S, long(rec->points(j).size()) / stride);
      std::vector<double> all(std::size_t(N * S * stride), no_value);
      for (long j = 0; j < N; ++j) std::copy(rec->points(j).begin(), rec->points(j).end(), all.begin() + j * S * stride);
      write_npy(files_[f++]->stream(), {N, S, stride}, all.data());
    }
  }

  /// Renames every written array into place.
  void commit() {
    for (auto& file : files_) file->commit();
    committed_ = true;
    detail::unregister_pending(folder_slot_);
    folder_slot_ = -1;
  }

 private:
  std::string dir_;
  bool created_ = false, committed_ = false;
  int folder_slot_ = -1;  ///< in the signal handler's list while the created folder may be removed
  json names_ = json::object();
  std::vector<std::unique_ptr<output_file>> files_;
};

}  // namespace dlogp::runner

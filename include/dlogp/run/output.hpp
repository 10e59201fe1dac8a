#pragma once
// The output document, streamed one result per line (a million trajectories never become one
// big JSON tree). Numbers are written by nlohmann_json in the shortest form that reads back to
// the same double; NaN and infinities become null.
#include <cmath>
#include <ostream>
#include <string>

#include <dlogp/analysis/bits_per_dim.hpp>
#include <dlogp/version.hpp>

#include "context.hpp"

namespace dlogp::runner {

inline json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

inline json point_json(const double* x, long D) {
  json a = json::array();
  for (long i = 0; i < D; ++i) a.push_back(number_or_null(x[i]));
  return a;
}

inline json result_json(const run_output& r, long j, const trajectory_recorder* rec) {
  const long D = r.x.rows();
  const auto& st = r.stats[std::size_t(j)];
  json o = json::object();
  o["x_start"] = point_json(r.x_start.col(j).data(), D);
  o["x"] = point_json(r.x.col(j).data(), D);
  o["logp"] = number_or_null(r.logp(j));
  o["logp_exact"] = number_or_null(r.logp_exact(j));
  o["score_evals"] = long(st.score_evals);
  o["steps"] = st.steps();
  o["status"] = std::string(to_string(st.status));
  if (rec) {
    json path = json::array();
    const auto& p = rec->points(j);
    for (std::size_t i = 0; i < p.size(); i += std::size_t(rec->stride())) {
      json s = json::object();
      s["t"] = number_or_null(p[i]);
      s["x"] = point_json(p.data() + i + 2, D);
      s["logp"] = number_or_null(p[i + 1]);
      path.push_back(std::move(s));
    }
    o["trajectory"] = std::move(path);
  }
  if (!r.result_extra.empty())
    for (auto it = r.result_extra[std::size_t(j)].begin(); it != r.result_extra[std::size_t(j)].end(); ++it)
      o[it.key()] = it.value();
  return o;
}

/// Bits per dimension of the ok trajectories' logp (analysis/bits_per_dim.hpp): mean, standard
/// error of the mean (null with one point) and how many entered.
inline json bits_per_dim_summary(const run_output& r) {
  const long D = r.x.rows();
  double sum = 0, sq = 0;
  long n = 0;
  for (long j = 0; j < r.size(); ++j) {
    if (r.stats[std::size_t(j)].status != status::ok || !std::isfinite(r.logp(j))) continue;
    const double b = bits_per_dim(r.logp(j), D, r.bin_width);
    sum += b;
    sq += b * b;
    ++n;
  }
  json o = json::object();
  const double mean = n ? sum / double(n) : no_value;
  o["mean"] = number_or_null(mean);
  o["standard_error"] = n >= 2 ? number_or_null(std::sqrt(std::max(0.0, sq - double(n) * mean * mean) / double(n - 1) / double(n)))
                               : json(nullptr);
  o["n"] = n;
  return o;
}

/// "summary": means over the trajectories that are ok (null when there are none, or when
/// log p is not tracked / has no exact value); score evaluations over all of them; how many
/// trajectories ended with each status (every status listed, 0 included).
inline json summary_json(const run_output& r, double seconds) {
  double sum = 0, err = 0;
  long n_logp = 0, n_err = 0, evals = 0;
  json counts = json::object();
  for (const status st : all_statuses) counts[std::string(to_string(st))] = 0;
  for (long j = 0; j < r.size(); ++j) {  // fixed order: the same sums whatever the threads
    evals += r.stats[std::size_t(j)].score_evals;
    auto& c = counts[std::string(to_string(r.stats[std::size_t(j)].status))];
    c = c.get<long>() + 1;
    if (r.stats[std::size_t(j)].status != status::ok || !std::isfinite(r.logp(j))) continue;
    sum += r.logp(j);
    ++n_logp;
    if (std::isfinite(r.logp_exact(j))) {
      err += std::abs(r.logp(j) - r.logp_exact(j));
      ++n_err;
    }
  }
  json s = json::object();
  s["n"] = r.size();
  s["status_counts"] = std::move(counts);
  s["mean_logp"] = n_logp ? number_or_null(sum / double(n_logp)) : json(nullptr);
  s["mean_abs_error"] = n_err ? number_or_null(err / double(n_err)) : json(nullptr);
  s["seconds"] = seconds;  // the only timing field: everything else is reproducible
  s["score_evals"] = evals;
  if (r.bin_width > 0) s["bits_per_dim"] = bits_per_dim_summary(r);
  for (auto it = r.summary_extra.begin(); it != r.summary_extra.end(); ++it) s[it.key()] = it.value();
  return s;
}

/// The document up to the opening "[" of "results".
inline void write_head(std::ostream& os, const run_spec& spec) {
  os << "{\n  \"dlogp_version\": " << json(version_string).dump() << ",\n  \"spec\": " << spec.filled.dump()
     << ",\n  \"results\": [";
}

/// One line per result of r; `first`: no result precedes them in the document. Several runs over
/// consecutive shards write, in order, exactly what one run over all of them writes.
inline void write_results(std::ostream& os, const run_output& r, const trajectory_recorder* rec, bool first) {
  for (long j = 0; j < r.size(); ++j)
    os << (first && j == 0 ? "\n    " : ",\n    ") << result_json(r, j, rec).dump();
}

/// The rest of the document after n results.
inline void write_tail(std::ostream& os, long n, const json& summary) {
  os << (n ? "\n  ]" : "]") << ",\n  \"summary\": " << summary.dump() << "\n}\n";
}

/// The document of a run whose results went to --arrays: the spec, the array files, the summary.
inline void write_arrays_document(std::ostream& os, const run_spec& spec, const json& arrays, const run_output& r,
                                  double seconds) {
  os << "{\n  \"dlogp_version\": " << json(version_string).dump() << ",\n  \"spec\": " << spec.filled.dump()
     << ",\n  \"arrays\": " << arrays.dump() << ",\n  \"summary\": " << summary_json(r, seconds).dump() << "\n}\n";
}

inline void write_output(std::ostream& os, const run_spec& spec, const run_output& r,
                         const trajectory_recorder* rec, double seconds) {
  write_head(os, spec);
  write_results(os, r, rec, true);
  write_tail(os, r.size(), summary_json(r, seconds));
}

}  // namespace dlogp::runner

#pragma once
// Checks across keys for the DPM schemes, annealed-langevin and objective, called from validate_spec (spec.hpp)
// once the process, t_start and t_end are known. Kept apart so spec.hpp needs one call; it
// depends only on the JSON type, spec_error and the process.
//   - solver.dpm_prediction / dpm_method: read by the scheme families with variants only
//     (DPM-Solver-2 and -3, scheme/catalogue.hpp). Given
//     with another scheme: an error (never silently ignored); defaulted: removed from the filled
//     spec (so other schemes' filled solver is unchanged).
//   - annealed-langevin: the level ladder is uniform in log-SNR (finite at both ends when
//     levels >= 2) and a_i = step_factor sigma(t_i)^2 needs sigma(t_end) > 0.
//   - objective: the points' time t_data precedes the range [t_start, t_end]; DSM needs
//     t_start > t_data; log-SNR time sampling needs a finite log-SNR at both ends.
#include <cmath>
#include <string>

#include <dlogp/process/any_process.hpp>
#include <dlogp/scheme/catalogue.hpp>

#include "../json_text.hpp"

namespace dlogp::runner::detail {

inline void check_cross_keys(const json& doc, json& f, const any_process& p, double t_start, double t_end) {
  const auto num = [](double v) { return json(v).dump(); };
  if (f.contains("solver")) {
    json& sv = f["solver"];
    const std::string scheme = sv.at("scheme").get<std::string>();
    const scheme_summary* entry = find_scheme(scheme);
    const bool variants = entry && entry->has_variants;
    for (const char* k : {"dpm_prediction", "dpm_method"}) {
      if (variants || !sv.contains(k)) continue;
      if (doc.contains("solver") && doc["solver"].is_object() && doc["solver"].contains(k)) {
        std::string readers;
        for (const auto& e : all_scheme_summaries())
          if (e.has_variants) readers += std::string(readers.empty() ? "" : " and ") + "\"" + std::string(e.name) + "\"";
        throw spec_error(std::string("/solver/") + k, "only schemes " + readers + " read it (scheme is \"" + scheme + "\")");
      }
      sv.erase(k);
    }
  }
  const auto finite_log_snr = [&](double t, const std::string& ptr, const std::string& why) {
    if (!std::isfinite(p.log_snr(t)))
      throw spec_error(ptr, why + " needs a finite log-SNR at t = " + num(t));
  };
  if (f.contains("annealed_langevin")) {
    if (f["annealed_langevin"].at("levels").get<long>() >= 2) {
      finite_log_snr(t_start, "/t_start", "annealed-langevin (levels equally spaced in log-SNR)");
      finite_log_snr(t_end, "/t_end", "annealed-langevin (levels equally spaced in log-SNR)");
    }
    if (!(p.sigma2(t_end) > 0))
      throw spec_error("/t_end", "annealed-langevin needs sigma(t_end) > 0 (step size step_factor sigma^2; got t_end = " +
                                     num(t_end) + ")");
  }
  if (f.contains("objective")) {
    const json& o = f["objective"];
    const double td = o.at("t_data").get<double>();
    if (!(td <= t_start))
      throw spec_error("/objective/t_data", "must be at most t_start = " + num(t_start) +
                                                " (the points' time precedes the range of the objective; got " + num(td) + ")");
    for (const auto& v : o.at("objectives"))
      if (v == "dsm" && !(t_start > td))
        throw spec_error("/t_start", "dsm needs t_start > objective.t_data = " + num(td) +
                                         " (the kernel score blows up at t_data; use ism or ssm there)");
    if (o.at("time_sampling") != "uniform") {
      finite_log_snr(t_start, "/objective/time_sampling", "log-SNR time sampling");
      finite_log_snr(t_end, "/objective/time_sampling", "log-SNR time sampling");
    }
  }
}

}  // namespace dlogp::runner::detail

#pragma once
// "objective": score-matching objectives of the model's score on given points (x_start, or n
// draws from the model's p_{t_data}), as Monte-Carlo estimates with standard errors
// (include/dlogp/analysis/score_matching.hpp, docs/samplers.md):
//   DSM (1/2) int lambda E|s(t, x_t) + eps/sqrt(v)|^2 dt,  ISM int lambda E[|s|^2/2 + div s] dt,
//   SSM int lambda E[(u.s)^2/2 + u^T J u] dt
// over t in [t_start, t_end] (defaults: the process range), x_t from the forward kernel started
// at objective.t_data. Nothing is integrated: x = x_start, logp = null, logp_exact =
// log p_{t_data}(x), steps = 0. Each result adds "objectives": {name: {value, standard_error}}
// (the point's mean over its `samples` draws; standard_error over those draws, null with one
// draw) and, with objective.elbo, "elbo": {value, standard_error} (score_matching_elbo, the
// likelihood-weighted bound over [t_start, t_end] with pi = N(0, sigma(t_end)^2 I)). The summary
// adds "objectives": {name: {value, standard_error, terms, score_evals}} (and "elbo"): the mean
// over the points, standard error from the spread of the per-point values (>= 2 points; over the
// draws for one point), exactly what the library returns for the whole batch.
//
// Each point is estimated by its own library call with first_id = objective_first_id +
// j * samples, i.e. with the same term ids as ONE call on all points with first_id =
// objective_first_id, so a point's numbers depend only on the seed and its index (never on
// --threads). The offset 2^62 keeps the terms' streams apart from the point draws: drawn points
// use (seed, j, purpose::data) draws 0..D-1, and a term uses uniform 0 and normals 2.. of
// (seed, term id, purpose::data), so equal ids would correlate a point with its own time and
// noise (measured: DSM / ISM biased by -0.45 on GMM2, 4 standard errors over 6 seeds).
#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <dlogp/analysis/score_matching.hpp>
#include <dlogp/core/parallel_chunks.hpp>

#include "../output.hpp"
#include "common.hpp"

namespace dlogp::runner::methods {

/// First term id of the objective's Monte-Carlo terms (apart from the point draws' ids 0..n-1).
inline constexpr std::uint64_t objective_first_id = std::uint64_t(1) << 62;

namespace detail {

inline sm_weighting sm_weighting_from_name(const std::string& n) {
  if (n == "likelihood") return sm_weighting::likelihood;
  if (n == "sigma2") return sm_weighting::sigma2;
  if (n == "constant") return sm_weighting::constant;
  throw std::logic_error("dlogp-run: objective weighting \"" + n + "\" is not dispatched");
}

inline time_sampling time_sampling_from_name(const std::string& n) {
  if (n == "log-snr") return time_sampling::log_snr;
  if (n == "uniform") return time_sampling::uniform;
  if (n == "log-snr-nodes") return time_sampling::log_snr_nodes;
  throw std::logic_error("dlogp-run: objective time_sampling \"" + n + "\" is not dispatched");
}

inline sm_objective sm_objective_from_name(const std::string& n) {
  if (n == "dsm") return sm_objective::dsm;
  if (n == "ism") return sm_objective::ism;
  if (n == "ssm") return sm_objective::ssm;
  throw std::logic_error("dlogp-run: objective \"" + n + "\" is not dispatched");
}

/// Mean and standard error over the values of the points that are ok, as the library computes
/// them for a batch (one point: that point's standard error over its draws); "points" says how
/// many entered (a point with a non-finite estimate is marked non_finite and left out, so one
/// bad point cannot turn the whole summary into null). Score evaluations count every point.
inline json sm_summary(const std::vector<sm_estimate>& per_point, const std::vector<trajectory_stats>& stats,
                       long samples) {
  double mean = 0;
  long evals = 0, N = 0;
  const sm_estimate* only = nullptr;
  for (std::size_t j = 0; j < per_point.size(); ++j) {
    evals += per_point[j].score_evals;
    if (stats[j].status != status::ok) continue;
    mean += per_point[j].value;
    only = &per_point[j];
    ++N;
  }
  mean /= double(N);
  double se = only ? only->standard_error : no_value;
  if (N >= 2) {
    double ss = 0;
    for (std::size_t j = 0; j < per_point.size(); ++j)
      if (stats[j].status == status::ok) ss += (per_point[j].value - mean) * (per_point[j].value - mean);
    se = std::sqrt(ss / double(N - 1) / double(N));
  }
  json o = json::object();
  o["value"] = N > 0 ? number_or_null(mean) : json(nullptr);
  o["standard_error"] = (N >= 2 || (N == 1 && samples >= 2)) ? number_or_null(se) : json(nullptr);
  o["points"] = N;
  o["terms"] = N * samples;
  o["score_evals"] = evals;
  return o;
}

inline json sm_point(const sm_estimate& e, long samples) {
  json o = json::object();
  o["value"] = number_or_null(e.value);
  o["standard_error"] = samples >= 2 ? number_or_null(e.standard_error) : json(nullptr);
  return o;
}

}  // namespace detail

inline run_output run_objective(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  const json& k = s.filled.at("objective");
  const double t_data = k.at("t_data").get<double>();
  matrix<double> X0;
  if (s.x_start_given) {
    X0 = s.x_start.middleCols(ctx.first, ctx.size());
  } else {
    X0.resize(s.dimension(), ctx.size());
    s.model->sample(t_data, s.seed, ctx.first_id(), X0);
  }
  const long N = X0.cols();

  score_matching_options o;
  o.seed = s.seed;
  o.t_data = t_data;
  o.t_min = s.t_start;
  o.t_max = s.t_end;
  o.samples = k.at("samples").get<long>();
  o.weighting = detail::sm_weighting_from_name(k.at("weighting").get<std::string>());
  o.time = detail::time_sampling_from_name(k.at("time_sampling").get<std::string>());
  o.time_nodes = int(k.at("time_nodes").get<long>());
  o.projections = int(k.at("projections").get<long>());
  o.projection = k.at("projection") == "gaussian" ? probe_kind::gaussian : probe_kind::rademacher;
  o.variance_reduced = k.at("variance_reduced").get<bool>();
  o.divergence = s.divergence;
  o.execution.threads = 1;  // the points are spread over the threads below
  std::vector<std::string> names;
  for (const auto& v : k.at("objectives")) {
    const std::string n = v.get<std::string>();
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  const bool elbo = k.at("elbo").get<bool>();
  const std::size_t n_obj = names.size() + (elbo ? 1 : 0);

  // est[q][j]: objective q (the ELBO last) at point j.
  std::vector<std::vector<sm_estimate>> est(n_obj, std::vector<sm_estimate>(std::size_t(N)));
  dlogp::detail::for_each_chunk(N, {.batch_size = 1, .threads = ctx.threads}, [&](long, long j, long) {
    score_matching_options oj = o;
    oj.first_id = objective_first_id + (ctx.first_id() + std::uint64_t(j)) * std::uint64_t(o.samples);
    const matrix<double> P = X0.col(j);
    for (std::size_t q = 0; q < names.size(); ++q)
      est[q][std::size_t(j)] = score_matching(detail::sm_objective_from_name(names[q]), *s.model, s.process, P, oj);
    if (elbo) est[names.size()][std::size_t(j)] = score_matching_elbo(*s.model, s.process, P, oj);
    if (ctx.progress) ctx.progress->update(j, 0, 1, 1.0, true);
  });

  run_output out;
  out.logp = vector<double>::Constant(N, no_value);
  out.logp_exact = exact_log_p(s, t_data, X0);
  out.stats.assign(std::size_t(N), trajectory_stats{});
  out.result_extra.assign(std::size_t(N), json::object());
  for (long j = 0; j < N; ++j) {
    auto& st = out.stats[std::size_t(j)];
    st.t_reached = s.t_start;
    json objectives = json::object();
    for (std::size_t q = 0; q < n_obj; ++q) {
      const sm_estimate& e = est[q][std::size_t(j)];
      st.add_score_evals(e.score_evals);
      if (!std::isfinite(e.value)) st.status = status::non_finite;
      if (q < names.size()) objectives[names[q]] = detail::sm_point(e, o.samples);
    }
    out.result_extra[std::size_t(j)]["objectives"] = std::move(objectives);
    if (elbo) out.result_extra[std::size_t(j)]["elbo"] = detail::sm_point(est[names.size()][std::size_t(j)], o.samples);
    if (ctx.recorder) ctx.recorder->finish(j, s.t_start, X0.col(j).data(), no_value);
  }
  json summary = json::object();
  for (std::size_t q = 0; q < names.size(); ++q) summary[names[q]] = detail::sm_summary(est[q], out.stats, o.samples);
  out.summary_extra["objectives"] = std::move(summary);
  if (elbo) out.summary_extra["elbo"] = detail::sm_summary(est[names.size()], out.stats, o.samples);
  out.x_start = X0;
  out.x = std::move(X0);
  return out;
}

/// The points' time t_data precedes the range [t_start, t_end]; DSM needs t_start > t_data;
/// log-SNR time sampling needs a finite log-SNR at both ends.
inline void check_objective(const method_check_input& in) {
  using runner::detail::num;
  const json& o = in.filled["objective"];
  const double td = o.at("t_data").get<double>();
  if (!(td <= in.t_start))
    throw spec_error("/objective/t_data", "must be at most t_start = " + num(in.t_start) +
                                              " (the points' time precedes the range of the objective; got " + num(td) + ")");
  for (const auto& v : o.at("objectives"))
    if (v == "dsm" && !(in.t_start > td))
      throw spec_error("/t_start", "dsm needs t_start > objective.t_data = " + num(td) +
                                       " (the kernel score blows up at t_data; use ism or ssm there)");
  if (o.at("time_sampling") != "uniform")
    require_finite_log_snr_at_ends(in, "/objective/time_sampling", "log-SNR time sampling");
}

/// The per-draw terms, on every thread at once.
inline method_tables objective_tables(const json& f, double D, double) {
  const double threads = std::max(1u, std::thread::hardware_concurrency());
  const double samples = f["objective"]["samples"].get<double>();
  return {threads * samples * (8.0 + 2.0 * D * 8.0 / 64.0), "/objective/samples"};  // terms, plus X and E per batch of 64
}

struct objective_method {
  static method_definition definition() {
    const auto integer = [](std::string d) { return integer_node(std::move(d)).at_least(1); };
    return {
        .name = "objective",
        .dir = direction::encoding,
        .summary = "DSM / ISM / SSM estimates (and the ELBO) of the score on given points over [t_start, t_end]",
        .shared_keys = {"divergence"},
        .own_keys = {key(
            "objective",
            object_node(
                "objective: score-matching objectives on the points x_start (at t_data) over [t_start, t_end].",
                {key("objectives", array_node("Which objectives to estimate.",
                                              string_node("Objective.", {"dsm", "ism", "ssm"}, "objective"))
                                       .non_empty()
                                       .def(json::array({"dsm", "ism", "ssm"}))),
                 key("weighting",
                     string_node("lambda(t): \"likelihood\" = g^2, \"sigma2\" = sigma^2, \"constant\" = 1.",
                                 {"likelihood", "sigma2", "constant"}, "weighting")
                         .def("likelihood")),
                 key("time_sampling",
                     string_node("Times: uniform in log-SNR (importance sampling), uniform in t, or Gauss-Legendre "
                                 "nodes in log-SNR.",
                                 {"log-snr", "uniform", "log-snr-nodes"}, "time sampling")
                         .def("log-snr")),
                 key("time_nodes", integer("log-snr-nodes: number of nodes.").at_most(512).def(32)),
                 key("samples", integer("Draws (time, noise) per point.").at_most(1e9).def(1)),
                 key("t_data",
                     number_node("Time of the given points; the forward kernel starts there. At most t_start.")
                         .at_least(0)
                         .def(0.0)),
                 key("projections", integer("ssm: random projections per draw.").at_most(1e6).def(1)),
                 key("projection",
                     string_node("ssm: projection distribution.", {"rademacher", "gaussian"}, "projection")
                         .def("rademacher")),
                 key("variance_reduced", boolean_node("ssm: |s|^2 / 2 instead of (u.s)^2 / 2 (SSM-VR).").def(false)),
                 key("elbo",
                     boolean_node(
                         "Also estimate the continuous-time ELBO (likelihood weighting, prior N(0, sigma(t_end)^2 I)).")
                         .def(false))}))},
        .check = &check_objective,
        .tables = &objective_tables};
  }
  static run_output run(const run_context& ctx) { return run_objective(ctx); }
};

}  // namespace dlogp::runner::methods

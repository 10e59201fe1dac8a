#pragma once
// What every method shares: start points, log p at the high-noise end, scheme dispatch, and the
// two sequences around a run (sample, encode) that turn its result into the contract's logp /
// logp_exact, so that a method writes only what it integrates.
#include <stdexcept>
#include <string>
#include <utility>

#include <dlogp/process/prior.hpp>
#include <dlogp/scheme/catalogue.hpp>

#include "../context.hpp"
#include "../method.hpp"
#include "../schema_node.hpp"

namespace dlogp::runner::methods {

/// x_start of the context's trajectories (D x ctx.size()): the spec's points, else draws keyed by
/// (seed, global trajectory index): from the prior N(0, sigma(t_start)^2 I) for sampling methods,
/// from the model's p_{t_start} for encoding.
inline matrix<double> start_points(const run_context& ctx) {
  const run_spec& s = ctx.spec;
  if (s.x_start_given) return s.x_start.middleCols(ctx.first, ctx.size());
  matrix<double> X(s.dimension(), ctx.size());
  if (s.encoding()) s.model->sample(s.t_start, s.seed, ctx.first_id(), X);
  else sample_prior(s.process, s.t_start, s.seed, ctx.first_id(), X);
  return X;
}

/// log p at the high-noise end of the run, as init_logp says: the Gaussian prior or exact.
inline vector<double> high_noise_log_p(const run_spec& s, double t, const matrix<double>& X) {
  vector<double> out;
  if (s.init_exact) s.model->log_density(t, X, out);
  else prior_log_density(s.process, t, X, out);
  return out;
}

/// The model's exact log p_t, or NaN (written as null) for a model without one.
inline vector<double> exact_log_p(const run_spec& s, double t, const matrix<double>& X) {
  if (!s.model->has(model_capability::log_density)) return vector<double>::Constant(X.cols(), no_value);
  vector<double> out;
  s.model->log_density(t, X, out);
  return out;
}

/// Calls f(scheme) with the ODE scheme named in the spec (validated against the catalogue).
template <class F>
decltype(auto) with_ode_scheme(const std::string& name, F&& f) {
  return with_scheme(ode_scheme_list{}, name, std::forward<F>(f));
}

/// Sampling methods: logp = the tracked log p_{t_end}(x), logp_exact = the model's value there.
/// A trajectory that did not reach t_end has neither (its x is its last good state).
inline run_output finish_sampling(const run_context& ctx, matrix<double> x_start,
                                  integration_result<double> r) {
  const run_spec& s = ctx.spec;
  run_output out;
  const long n = r.x.cols();
  const vector<double> exact = exact_log_p(s, s.t_end, r.x);
  out.logp = vector<double>::Constant(n, no_value);
  out.logp_exact = vector<double>::Constant(n, no_value);
  for (long j = 0; j < n; ++j) {
    const auto& st = r.stats[std::size_t(j)];
    if (ctx.recorder) ctx.recorder->finish(j, st.t_reached, r.x.col(j).data(), s.track_logp ? r.log_p(j) : no_value);
    if (st.status != status::ok) continue;
    if (s.track_logp) out.logp(j) = r.log_p(j);
    out.logp_exact(j) = exact(j);
  }
  out.x_start = std::move(x_start);
  out.x = std::move(r.x);
  out.stats = std::move(r.stats);
  return out;
}

/// Encoding methods (run from t_start up to t_end with ell = 0): logp = log p_{t_end}(x_end)
/// (init_logp) minus the tracked change, the estimate of log p_{t_start}(x_start); recorded
/// states get the same offset, so each is an estimate of log p_t(x_t) there.
inline run_output finish_encoding(const run_context& ctx, matrix<double> x_start,
                                  integration_result<double> r) {
  const run_spec& s = ctx.spec;
  run_output out;
  const long n = r.x.cols();
  out.logp = vector<double>::Constant(n, no_value);
  out.logp_exact = exact_log_p(s, s.t_start, x_start);  // the start point is always defined
  const vector<double> end = s.track_logp ? high_noise_log_p(s, s.t_end, r.x) : vector<double>();
  for (long j = 0; j < n; ++j) {
    const bool ok = r.stats[std::size_t(j)].status == status::ok;
    const double offset = (ok && s.track_logp) ? end(j) - r.log_p(j) : no_value;
    if (ctx.recorder) {
      ctx.recorder->finish(j, r.stats[std::size_t(j)].t_reached, r.x.col(j).data(), s.track_logp ? r.log_p(j) : no_value);
      ctx.recorder->shift_logp(j, offset);
    }
    out.logp(j) = offset;  // ell_{t_start} = 0, so the estimate is the offset itself
  }
  out.x_start = std::move(x_start);
  out.x = std::move(r.x);
  out.stats = std::move(r.stats);
  return out;
}

/// A sampling method from start to results: the start points, log p there from init_logp at
/// `t_init` (t_start; Langevin at a fixed time: t_end), run(X0, L0) -> integration_result, then
/// finish_sampling.
template <class Run>
run_output sample(const run_context& ctx, double t_init, Run&& run) {
  const run_spec& s = ctx.spec;
  matrix<double> X0 = start_points(ctx);
  const vector<double> L0 = s.track_logp ? high_noise_log_p(s, t_init, X0) : vector<double>::Zero(X0.cols());
  auto r = run(X0, L0);
  return finish_sampling(ctx, std::move(X0), std::move(r));
}

/// An encoding method from given (or drawn, then `prepare`d) start points with ell = 0 to
/// finish_encoding.
template <class Prepare, class Run>
run_output encode(const run_context& ctx, Prepare&& prepare, Run&& run) {
  matrix<double> X0 = start_points(ctx);
  prepare(X0);
  const vector<double> L0 = vector<double>::Zero(X0.cols());
  auto r = run(X0, L0);
  return finish_encoding(ctx, std::move(X0), std::move(r));
}

/// The spec's scheme from `list` (ode_scheme_list, sde_scheme_list) on `dyn` from t_start to
/// t_end, with the run's options and observer.
template <class... Schemes, class Dyn>
integration_result<double> integrate_spec(const run_context& ctx, scheme_list<Schemes...> list, const Dyn& dyn,
                                          const matrix<double>& X0, const vector<double>& L0) {
  const run_spec& s = ctx.spec;
  return with_scheme(list, s.solver.scheme, [&](auto scheme) {
    return integrate(dyn, scheme, X0, L0, s.t_start, s.t_end, ctx.options(), ctx.observer(s.t_start, s.t_end));
  });
}

/// A sampling method that integrates one dynamics: sample() around integrate_spec.
template <class List, class Dyn>
run_output sample_dynamics(const run_context& ctx, List list, const Dyn& dyn) {
  return sample(ctx, ctx.spec.t_start, [&](const matrix<double>& X0, const vector<double>& L0) {
    return integrate_spec(ctx, list, dyn, X0, L0);
  });
}

/// Samplers without a step observer (Langevin, PC) report to the progress bar only at the end.
inline void mark_all_done(const run_context& ctx, long n) {
  if (ctx.progress)
    for (long j = 0; j < n; ++j) ctx.progress->update(j, 0, 1, 1.0, true);
}

}  // namespace dlogp::runner::methods

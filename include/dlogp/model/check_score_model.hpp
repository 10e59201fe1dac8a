#pragma once
// check_score_model: does a user's score model agree with itself? Every optional member the
// model has (core/concepts.hpp) is compared with central finite differences of the member
// below it, at a few times across the process range and at the given points:
//
//   score                 vs  the gradient of log_density
//   score_and_laplacian   vs  the divergence of score          (the Laplacian)
//   hessian               vs  the Jacobian of score            (and hessian vs its transpose)
//   score_jvp             vs  the directional derivative of score
//   grad_laplacian        vs  the gradient of the Laplacian    (needs score_and_laplacian)
//
// A model whose members disagree gives wrong log-densities without any other sign: e.g. a
// Laplacian with a sign error shifts the PF-ODE's log p by nats, silently.
//
// Tolerance. A central difference with step h has truncation error ~ h^2 |f'''| / 6 and
// rounding error ~ eps |f| / h; h = cbrt(eps) * max(1, max |x|) balances the two (error
// ~ eps^(2/3) in relative terms: 4e-11 for double, 2e-5 for float). The truncation term is
// measured, not guessed: the difference at 2h has four times the truncation of the one at h,
// so |D(2h) - D(h)| / 3 estimates it. Each entry passes when
//   |member - D(h)| <= 10 (|D(2h) - D(h)| / 3 + 16 eps max|f| / h) + 100 eps |member|,
// a factor 10 over the estimated FD error plus the member's own rounding. A wrong member (a
// factor, a sign, a missing term) misses by many orders of magnitude more than that.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "dlogp/core/concepts.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

/// One comparison, over every time and point.
struct score_model_check {
  std::string name;          ///< e.g. "score vs gradient of log_density"
  double max_abs_error = 0;  ///< max |member - finite difference| over all entries
  double max_rel_error = 0;  ///< max of the same divided by the member's largest entry there
  double fd_step = 0;        ///< the largest FD step h used (0: no finite differences)
  double tolerance = 0;      ///< the tolerance of the entry closest to failing
  double worst_ratio = 0;    ///< max of error / tolerance over entries (> 1: failed)
  double worst_time = 0;     ///< time of that entry
  long worst_point = 0;      ///< point (column) of that entry
  bool passed = true;        ///< every entry within its tolerance
};

struct score_model_report {
  std::vector<score_model_check> checks;  ///< one per optional member the model has
  std::vector<double> times;              ///< the times checked
  bool passed() const {
    return std::all_of(checks.begin(), checks.end(), [](const auto& c) { return c.passed; });
  }
  /// The check with this name, or null.
  const score_model_check* find(const std::string& name) const {
    for (const auto& c : checks)
      if (c.name == name) return &c;
    return nullptr;
  }
};

struct check_score_model_options {
  /// Times to check at; empty: 4 times spread over the process range (uniformly in log-SNR
  /// when it is finite at both ends, else in t), away from the ends.
  std::vector<double> times{};
  /// Directions for score_jvp: this many fixed unit directions per point.
  int jvp_directions = 2;
};

namespace detail {

/// Central differences of a batched function g (X of D x n -> out of m x n, in double) at x
/// along the unit directions V (D x c): d1 = D(h), trunc = |D(2h) - D(h)| / 3, round =
/// 16 eps max|g| / h with max|g| over all m outputs of the direction: an output that is a sum
/// (a network's last layer) carries the rounding of terms as large as the largest output, not
/// of its own, possibly cancelled, value. One batched call on 4c columns.
template <class S, class G>
void central_differences(G&& g, const vector<S>& x, const matrix<double>& V, double h,
                         matrix<double>& d1, matrix<double>& trunc, matrix<double>& round) {
  const long D = x.size(), c = V.cols();
  matrix<S> X(D, 4 * c);
  const double steps[4] = {h, -h, 2 * h, -2 * h};
  for (long k = 0; k < c; ++k)
    for (int q = 0; q < 4; ++q)
      for (long i = 0; i < D; ++i) X(i, 4 * k + q) = S(double(x(i)) + steps[q] * V(i, k));
  matrix<double> out;
  g(X, out);
  const long m = out.rows();
  const double eps = std::numeric_limits<S>::epsilon();
  d1.resize(m, c);
  trunc.resize(m, c);
  round.resize(m, c);
  for (long k = 0; k < c; ++k) {
    const double mag = out.middleCols(4 * k, 4).cwiseAbs().maxCoeff();
    for (long r = 0; r < m; ++r) {
      const double p1 = out(r, 4 * k), m1 = out(r, 4 * k + 1), p2 = out(r, 4 * k + 2),
                   m2 = out(r, 4 * k + 3);
      const double a = (p1 - m1) / (2 * h), b = (p2 - m2) / (4 * h);
      d1(r, k) = a;
      trunc(r, k) = std::abs(b - a) / 3;
      round(r, k) = 16 * eps * mag / h;
    }
  }
}

/// Folds one entry's comparison into the check.
/// `scale` is the largest |entry| of the member at this time and point (relative errors of
/// entries near 0 say nothing).
inline void record_entry(score_model_check& c, double member, double fd, double trunc,
                         double round, double eps, double t, long point, double scale) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  const double err = std::abs(member - fd);
  const double tol = 10 * (trunc + round) + 100 * eps * std::abs(member);
  const double rel = scale > 0 ? err / scale : err;
  const bool ok = err <= tol;  // false for NaN
  const double ratio = ok ? (tol > 0 ? err / tol : 0) : (tol > 0 && std::isfinite(err) ? err / tol : inf);
  c.max_abs_error = std::max(c.max_abs_error, std::isfinite(err) ? err : inf);
  c.max_rel_error = std::max(c.max_rel_error, std::isfinite(rel) ? rel : inf);
  if (ratio >= c.worst_ratio) {  // the entry closest to failing, or failing most
    c.worst_ratio = ratio;
    c.tolerance = tol;
    c.worst_time = t;
    c.worst_point = point;
  }
  if (!ok) c.passed = false;
}

/// Compares a member laid out like the differences (m x c) entry by entry.
inline void record_block(score_model_check& c, const matrix<double>& member,
                         const matrix<double>& d1, const matrix<double>& trunc,
                         const matrix<double>& round, double eps, double t, long point,
                         double h) {
  const double scale = member.cwiseAbs().maxCoeff();
  for (long k = 0; k < member.cols(); ++k)
    for (long r = 0; r < member.rows(); ++r)
      record_entry(c, member(r, k), d1(r, k), trunc(r, k), round(r, k), eps, t, point, scale);
  c.fd_step = std::max(c.fd_step, h);
}

template <process P>
std::vector<double> default_check_times(const P& p) {
  const double a = p.t_min(), b = p.t_max();
  const double la = p.log_snr(a), lb = p.log_snr(b);
  std::vector<double> ts;
  for (double u : {0.05, 0.35, 0.65, 0.95}) {
    double t = (std::isfinite(la) && std::isfinite(lb)) ? p.t_from_log_snr(la + u * (lb - la))
                                                        : a + u * (b - a);
    ts.push_back(std::clamp(t, a, b));
  }
  return ts;
}

}  // namespace detail

/// Checks every optional member of `model` against finite differences (see the top of this
/// header) at `points` (D x n, finite) and a few times of `process`'s range. Throws a
/// dlogp::error only for bad arguments; a disagreement is reported, not thrown.
template <score_model M, process P>
score_model_report check_score_model(const M& model, const P& process,
                                     const matrix<scalar_of<M>>& points,
                                     const check_score_model_options& opt = {}) {
  using S = scalar_of<M>;
  const long D = model.dimension(), n = points.cols();
  detail::require_dimension(D, points.rows(), "check_score_model: rows of the points");
  detail::require(n >= 1, "check_score_model: needs at least one point");
  for (long j = 0; j < n; ++j)
    for (long i = 0; i < D; ++i)
      detail::require(std::isfinite(double(points(i, j))),
                      "check_score_model: point " + std::to_string(j) + " is not finite");
  detail::require(opt.jvp_directions >= 1, "check_score_model: jvp_directions must be >= 1 (" +
                                               std::to_string(opt.jvp_directions) + ")");
  score_model_report report;
  report.times = opt.times.empty() ? detail::default_check_times(process) : opt.times;
  for (double t : report.times)
    detail::require(std::isfinite(t) && t >= process.t_min() && t <= process.t_max(),
                    "check_score_model: time " + std::to_string(t) +
                        " outside the process range");

  const double eps = std::numeric_limits<S>::epsilon();
  score_model_check c_score{"score vs gradient of log_density"},
      c_lap{"score_and_laplacian vs divergence of score"},
      c_hess{"hessian vs Jacobian of score"}, c_sym{"hessian symmetry"},
      c_jvp{"score_jvp vs directional derivative of score"},
      c_glap{"grad_laplacian vs gradient of the Laplacian"};

  const matrix<double> I = matrix<double>::Identity(D, D);
  // Fixed unit directions for the JVP check: alternating signs, then a ramp (no randomness, so
  // a report is reproducible).
  matrix<double> V(D, opt.jvp_directions);
  for (long k = 0; k < V.cols(); ++k) {
    for (long i = 0; i < D; ++i)
      V(i, k) = k % 2 == 0 ? ((i % 2) ? -1.0 : 1.0) * (1.0 + double(k) / 2)
                           : double(i + 1) / double(D) - 0.5 + 0.25 * double(k);
    const double nv = V.col(k).norm();
    V.col(k) = nv > 0 ? matrix<double>(V.col(k) / nv) : matrix<double>(I.col(0));
  }
  // The members differenced, as batched functions of X (D x n) -> out (m x n, double).
  const auto score_of = [&](double t) {
    return [&model, t](const matrix<S>& X, matrix<double>& out) {
      matrix<S> s(X.rows(), X.cols());
      model.score(t, X, s);
      out = s.template cast<double>();
    };
  };
  [[maybe_unused]] const auto log_density_of = [&](double t) {
    return [&model, t](const matrix<S>& X, matrix<double>& out) {
      vector<S> lp(X.cols());
      if constexpr (has_log_density<M>) model.log_density(t, X, lp);
      out = lp.transpose().template cast<double>();
    };
  };
  [[maybe_unused]] const auto laplacian_of = [&](double t) {
    return [&model, t](const matrix<S>& X, matrix<double>& out) {
      matrix<S> s(X.rows(), X.cols());
      vector<S> lap(X.cols());
      if constexpr (has_laplacian<M>) model.score_and_laplacian(t, X, s, lap);
      out = lap.transpose().template cast<double>();
    };
  };

  // A model chosen at run time (any_score_model) has every member's signature but may lack
  // some; a Hessian it derives from JVPs is checked through score_jvp.
  const bool offered_log_density = offers(model, model_capability::log_density);
  const bool offered_hessian = offers(model, model_capability::hessian);
  const bool offered_grad_laplacian = offers(model, model_capability::grad_laplacian);
  // JVPs by central differences would be checked against central differences: nothing learnt.
  const bool offered_jvp = offers(model, model_capability::jvp);
  matrix<double> d1, tr, ro;
  vector<S> x(D);
  matrix<S> X1(D, 1), s1(D, 1);
  for (double t : report.times) {
    for (long j = 0; j < n; ++j) {
      x = points.col(j);
      X1 = points.col(j);
      const double h = std::cbrt(eps) * std::max(1.0, double(x.cwiseAbs().maxCoeff()));
      model.score(t, X1, s1);

      if constexpr (has_log_density<M>) if (offered_log_density) {
        detail::central_differences<S>(log_density_of(t), x, I, h, d1, tr, ro);
        detail::record_block(c_score, s1.transpose().template cast<double>(), d1, tr, ro, eps,
                             t, j, h);
      }
      if constexpr (has_laplacian<M>) {
        matrix<S> s2(D, 1);
        vector<S> lap(1);
        model.score_and_laplacian(t, X1, s2, lap);
        detail::central_differences<S>(score_of(t), x, I, h, d1, tr, ro);
        // The divergence is the trace of the Jacobian; its error estimates add up likewise.
        const auto trace = [](const matrix<double>& m) {
          return matrix<double>::Constant(1, 1, m.diagonal().sum());
        };
        detail::record_block(c_lap, lap.template cast<double>(), trace(d1), trace(tr),
                             trace(ro), eps, t, j, h);
      }
      if constexpr (has_hessian<M>) if (offered_hessian) {
        matrix<S> H;
        model.hessian(t, x, H);
        const matrix<double> Hd = H.template cast<double>();
        detail::central_differences<S>(score_of(t), x, I, h, d1, tr, ro);
        detail::record_block(c_hess, Hd, d1, tr, ro, eps, t, j, h);
        // Symmetric up to the rounding of its D-term sums: H against its transpose, with no
        // finite differences (zero truncation, D eps max|H| of rounding).
        const double sym_round = double(D) * eps * Hd.cwiseAbs().maxCoeff() / 10;
        detail::record_block(c_sym, Hd, Hd.transpose(), matrix<double>::Zero(D, D),
                             matrix<double>::Constant(D, D, sym_round), eps, t, j, 0);
      }
      if constexpr (has_score_jvp<M>) if (offered_jvp) {
        matrix<S> Xv(D, V.cols()), Vs = V.template cast<S>(), Sv(D, V.cols()), JV(D, V.cols());
        for (long k = 0; k < V.cols(); ++k) Xv.col(k) = X1.col(0);
        model.score_jvp(t, Xv, Vs, Sv, JV);
        detail::central_differences<S>(score_of(t), x, V, h, d1, tr, ro);
        detail::record_block(c_jvp, JV.template cast<double>(), d1, tr, ro, eps, t, j, h);
      }
      if constexpr (has_grad_laplacian<M> && has_laplacian<M>) if (offered_grad_laplacian) {
        matrix<S> G(D, 1);
        model.grad_laplacian(t, X1, G);
        detail::central_differences<S>(laplacian_of(t), x, I, h, d1, tr, ro);
        detail::record_block(c_glap, G.transpose().template cast<double>(), d1, tr, ro, eps, t,
                             j, h);
      }
    }
  }
  if (has_log_density<M> && offered_log_density) report.checks.push_back(c_score);
  if constexpr (has_laplacian<M>) report.checks.push_back(c_lap);
  if (has_hessian<M> && offered_hessian) {
    report.checks.push_back(c_hess);
    if (D >= 2) report.checks.push_back(c_sym);
  }
  if (has_score_jvp<M> && offered_jvp) report.checks.push_back(c_jvp);
  if (has_grad_laplacian<M> && has_laplacian<M> && offered_grad_laplacian) report.checks.push_back(c_glap);
  return report;
}

/// One line per check: name, errors, FD step, tolerance, passed / FAILED; then a summary line.
inline std::string to_string(const score_model_report& r) {
  std::string s;
  char buf[512];
  for (const auto& c : r.checks) {
    std::snprintf(buf, sizeof buf,
                  "%-46s max abs error %.3g, max rel error %.3g, FD step %.3g, tolerance %.3g "
                  "(worst at t = %.6g, point %ld): %s\n",
                  c.name.c_str(), c.max_abs_error, c.max_rel_error, c.fd_step, c.tolerance,
                  c.worst_time, c.worst_point, c.passed ? "passed" : "FAILED");
    s += buf;
  }
  if (r.checks.empty())
    s += "no optional members to check (score only)\n";
  else
    s += r.passed() ? "all checks passed\n" : "some checks FAILED\n";
  return s;
}

}  // namespace dlogp

#pragma once
// Step-size control for embedded Runge-Kutta pairs, apart from any one scheme: the error norm,
// the automatic first step, the step-size factor and the rules after an accepted, rejected or
// failed attempt. The driver (integrate.hpp) owns the loop and the trajectory's status; the
// stepper owns its stages and reports its solution and error estimate through the
// adaptive_stepper members below; this object decides step sizes from what they report.
#include <algorithm>
#include <cmath>
#include <concepts>
#include <limits>

#include "dlogp/core/types.hpp"
#include "dlogp/scheme/scheme_traits.hpp"

namespace dlogp {

/// What the driver uses of an adaptive scheme's stepper (dopri5::stepper):
///   prepare(dyn, ctx, t, X, L)     the rate at the current state (reused after an accepted step)
///   attempt(dyn, ctx, t, h, X, L)  one trial step: the candidate and its error estimate
///   accept(), reset()              after an accepted step; before a new trajectory
///   rate(), log_p_rate()           the rate at the current state (after prepare)
///   candidate(), candidate_log_p() the trial step's solution
///   error_x(), error_log_p()       its local error estimate (double, same shapes)
template <class St, class Dyn, class S>
concept adaptive_stepper = requires(St& st, const St& cst, Dyn& dyn, const batch_context& ctx,
                                    double t, double h, const matrix<S>& X, const vector<S>& L) {
  { st.prepare(dyn, ctx, t, X, L) } -> std::convertible_to<long>;
  { st.attempt(dyn, ctx, t, h, X, L) } -> std::convertible_to<long>;
  st.accept();
  st.reset();
  { cst.rate() } -> std::convertible_to<const matrix<S>&>;
  { cst.log_p_rate() } -> std::convertible_to<const vector<S>&>;
  { cst.candidate() } -> std::convertible_to<const matrix<S>&>;
  { cst.candidate_log_p() } -> std::convertible_to<const vector<S>&>;
  { cst.error_x() } -> std::convertible_to<const matrix<double>&>;
  { cst.error_log_p() } -> std::convertible_to<const vector<double>&>;
};

/// The tolerances and limits of an adaptive run.
struct step_tolerance {
  double rtol = 1e-6;       ///< relative tolerance of the local error
  double atol = 1e-9;       ///< absolute tolerance of the local error
  long max_steps = 100000;  ///< attempted steps per trajectory
  double initial_step = 0;  ///< |h0| (finite); 0 picks one automatically
};

/// Decides step sizes from `tolerance.rtol` and `tolerance.atol`; the driver applies max_steps
/// and initial_step.
struct step_size_controller {
  step_tolerance tolerance{};
  int order = 5;  ///< of the pair's higher-order solution: the factor's exponent is -1/order

  /// Scaled error ratio of a trial step (accept when <= 1): over columns, the max of the RMS of
  /// e_x,i / sc_i and of |e_ell| / sc_ell, sc = atol + rtol max(|y|, |y_new|). Log p is on the
  /// footing of x instead of being diluted among D well-resolved coordinates. Non-finite: inf.
  template <class S>
  double error_norm(const matrix<S>& X, const matrix<S>& Xn, const matrix<double>& Ex,
                    const vector<S>& L, const vector<S>& Ln, const vector<double>& El,
                    bool with_log_p) const {
    double err = 0;
    for (long j = 0; j < X.cols(); ++j) {
      double sx = 0;
      for (long i = 0; i < X.rows(); ++i) {
        const double sc = scale(std::max(std::abs(double(X(i, j))), std::abs(double(Xn(i, j)))));
        const double r = detail::error_ratio(Ex(i, j), sc);
        sx += r * r;
      }
      err = std::max(err, std::sqrt(sx / double(X.rows())));
      if (with_log_p) {
        const double sc = scale(std::max(std::abs(double(L(j))), std::abs(double(Ln(j)))));
        err = std::max(err, detail::error_ratio(std::abs(El(j)), sc));
      }
    }
    if (!std::isfinite(err)) err = std::numeric_limits<double>::infinity();
    return err;
  }

  /// The automatic first step (Hairer & Wanner, Solving ODEs I, II.4), in two parts around the
  /// one extra rate evaluation, which the driver makes (the model may fail there):
  /// first_guess from the sizes of x and its rate, then refined with the rate at the probe
  /// x + h0 rate, which estimates the second derivative. Scales may be 0 (atol = 0 at a zero
  /// coordinate) and ratios may overflow (tiny rtol): error_ratio keeps 0 / 0 out, and a size
  /// that still comes out non-finite or 0 falls back to 1e-6 of the span, from which the
  /// controller adapts. Valid tolerances never give a NaN time.
  struct first_step {
    double h0 = 0;  ///< the first guess (also the answer when the probe cannot be evaluated)
    double d1 = 0;  ///< the scaled size of the rate
  };

  template <class S>
  first_step first_guess(const matrix<S>& x, const matrix<S>& rate, double span) const {
    const long D = x.rows();
    double d0 = 0, d1 = 0;
    for (long i = 0; i < D; ++i) {
      const double sc = scale(std::abs(double(x(i, 0))));
      d0 += std::pow(detail::error_ratio(double(x(i, 0)), sc), 2);
      d1 += std::pow(detail::error_ratio(double(rate(i, 0)), sc), 2);
    }
    d0 = std::sqrt(d0 / double(D));
    d1 = std::sqrt(d1 / double(D));
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 * span : 0.01 * d0 / d1;
    if (!usable(h0)) h0 = 1e-6 * span;
    return {std::min(h0, span), d1};
  }

  template <class S>
  double refined(const first_step& g, const matrix<S>& x, const matrix<S>& rate,
                 const matrix<S>& probe_rate, double span) const {
    const long D = x.rows();
    double d2 = 0;
    for (long i = 0; i < D; ++i) {
      const double sc = scale(std::abs(double(x(i, 0))));
      d2 += std::pow(detail::error_ratio(double(probe_rate(i, 0)) - double(rate(i, 0)), sc), 2);
    }
    d2 = std::sqrt(d2 / double(D)) / g.h0;
    const double dm = std::max(g.d1, d2);
    const double h1 = dm <= 1e-15 ? std::max(1e-6 * span, 1e-3 * g.h0)
                                  : std::pow(0.01 / dm, 1.0 / double(order));
    const double h = std::isfinite(h1) ? std::min(100 * g.h0, h1) : g.h0;
    return usable(h) ? h : g.h0;
  }

  /// Step-size factor from the error ratio (the standard I-controller), within [0.2, 5].
  double factor(double err) const {
    if (err == 0) return 5.0;
    return std::clamp(0.9 * std::pow(err, -1.0 / double(order)), 0.2, 5.0);
  }

  /// The next size after an accepted step of size h_used. No growth right after a rejection
  /// (Hairer & Wanner II.4; scipy's RK45 too): the rejected size was too large, so a larger one
  /// would likely be rejected again.
  double after_accept(double h_used, double err, bool just_rejected) const {
    const double f = factor(err);
    return h_used * (just_rejected ? std::min(1.0, f) : f);
  }

  /// The next size after a rejected step; a non-finite error counts as a very large one.
  double after_reject(double h, double err) const {
    return h * (std::isfinite(err) ? factor(err) : 0.2);
  }

  /// The next size after a trial stage where the model failed: that says the step left the
  /// region where the model works, as a non-finite error does.
  double after_model_failure(double h) const { return h * 0.2; }

  /// A step too small to move t: the trajectory cannot go on.
  static bool underflow(double h, double t) {
    return h < 16 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(t));
  }

 private:
  /// The error scale atol + rtol |y| of a coordinate of size |y|.
  double scale(double y) const { return tolerance.atol + tolerance.rtol * y; }
  static bool usable(double v) { return std::isfinite(v) && v > 0; }
};

}  // namespace dlogp

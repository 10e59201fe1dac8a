#pragma once
// Dormand-Prince 5(4) with FSAL: six new rate evaluations per attempted step. The driver runs it
// with one step size per trajectory; the error ratio puts log p on the same footing as x
// (the max of the two, so a log p error is never diluted by D well-resolved coordinates).
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>

#include "dlogp/scheme/scheme_traits.hpp"

namespace dlogp {

struct dopri5 {
  static constexpr int order = 5;
  static constexpr bool adaptive = true;
  static constexpr bool stochastic = false;
  static constexpr const char* name = "dopri5";

  template <class S>
  struct stepper {
    matrix<S> k[7], Xs, Xn;
    vector<S> l[7], Ls, Ln;
    bool fsal = false;  ///< k[0] holds the rate at the current state

    /// Rate at the current state (first stage); counts as evaluations when not reused.
    template <ode_dynamics Dyn>
    long prepare(Dyn& dyn, const batch_context& ctx, double t, const matrix<S>& X,
                 const vector<S>& L) {
      (void)L;
      for (auto& m : k) m.resize(X.rows(), X.cols());
      for (auto& v : l) v.resize(X.cols());
      if (fsal) return 0;
      fsal = true;
      return dyn.rate(ctx, t, X, k[0], l[0]);
    }

    /// Attempts a step of size h from (t, X, L); leaves the candidate in Xn, Ln and returns the
    /// evaluations spent. `err` is the scaled error ratio (accept when <= 1).
    template <ode_dynamics Dyn>
    long attempt(Dyn& dyn, const batch_context& ctx, double t, double h, const matrix<S>& X,
                 const vector<S>& L, double rtol, double atol, double& err) {
      long evals = prepare(dyn, ctx, t, X, L);
      const S H = S(h);
      auto stage = [&](int i, double c, std::initializer_list<double> a) {
        Xs = X;
        Ls = L;
        int j = 0;
        for (double aij : a) {
          if (aij != 0) {
            Xs += (H * S(aij)) * k[j];
            Ls += (H * S(aij)) * l[j];
          }
          ++j;
        }
        evals += dyn.rate(ctx, t + c * h, Xs, k[i], l[i]);
      };
      stage(1, 1.0 / 5, {1.0 / 5});
      stage(2, 3.0 / 10, {3.0 / 40, 9.0 / 40});
      stage(3, 4.0 / 5, {44.0 / 45, -56.0 / 15, 32.0 / 9});
      stage(4, 8.0 / 9, {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729});
      stage(5, 1.0, {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656});
      stage(6, 1.0, {35.0 / 384, 0.0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84});
      Xn = Xs;  // the 5th-order solution is the last stage's input (FSAL)
      Ln = Ls;
      static constexpr double e[7] = {71.0 / 57600,  0.0,         -71.0 / 16695, 71.0 / 1920,
                                      -17253.0 / 339200, 22.0 / 525, -1.0 / 40};
      err = 0;
      for (long j = 0; j < X.cols(); ++j) {
        double sx = 0;
        for (long i = 0; i < X.rows(); ++i) {
          double ei = 0;
          for (int s = 0; s < 7; ++s) ei += e[s] * double(k[s](i, j));
          ei *= h;
          const double sc =
              atol + rtol * std::max(std::abs(double(X(i, j))), std::abs(double(Xn(i, j))));
          const double r = detail::error_ratio(ei, sc);
          sx += r * r;
        }
        err = std::max(err, std::sqrt(sx / double(X.rows())));
        if (ctx.track_logp) {
          double el = 0;
          for (int s = 0; s < 7; ++s) el += e[s] * double(l[s](j));
          el *= h;
          const double sc =
              atol + rtol * std::max(std::abs(double(L(j))), std::abs(double(Ln(j))));
          err = std::max(err, detail::error_ratio(std::abs(el), sc));
        }
      }
      if (!std::isfinite(err)) err = std::numeric_limits<double>::infinity();
      return evals;
    }

    /// After an accepted step the last stage is the first stage of the next one.
    void accept() {
      std::swap(k[0], k[6]);
      std::swap(l[0], l[6]);
    }
    void reset() { fsal = false; }
  };

  /// Step-size factor from the error ratio (standard I-controller for a 5(4) pair).
  static double factor(double err) {
    if (err == 0) return 5.0;
    return std::clamp(0.9 * std::pow(err, -0.2), 0.2, 5.0);
  }
};

}  // namespace dlogp

#pragma once
// Dormand-Prince 5(4) with FSAL: six new rate evaluations per attempted step. The driver runs it
// with one step size per trajectory; the stepper gives the candidate and its error estimate,
// step_size_controller (scheme/step_size_controller.hpp) turns them into step sizes.
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
  static constexpr const char* description = "Dormand-Prince 5(4), adaptive";

  template <class S>
  struct stepper {
    matrix<S> k[7], Xs, Xn;
    vector<S> l[7], Ls, Ln;
    matrix<double> Ex;  ///< local error estimate of Xn (the 5th- minus the 4th-order solution)
    vector<double> El;
    bool fsal = false;  ///< k[0] holds the rate at the current state

    const matrix<S>& rate() const { return k[0]; }
    const vector<S>& log_p_rate() const { return l[0]; }
    const matrix<S>& candidate() const { return Xn; }
    const vector<S>& candidate_log_p() const { return Ln; }
    const matrix<double>& error_x() const { return Ex; }
    const vector<double>& error_log_p() const { return El; }

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

    /// Attempts a step of size h from (t, X, L); leaves the candidate in Xn, Ln and its error
    /// estimate in Ex, El (El only when log p is tracked) and returns the evaluations spent.
    template <ode_dynamics Dyn>
    long attempt(Dyn& dyn, const batch_context& ctx, double t, double h, const matrix<S>& X,
                 const vector<S>& L) {
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
      Ex.resize(X.rows(), X.cols());
      El.resize(X.cols());
      for (long j = 0; j < X.cols(); ++j) {
        for (long i = 0; i < X.rows(); ++i) {
          double ei = 0;
          for (int s = 0; s < 7; ++s) ei += e[s] * double(k[s](i, j));
          Ex(i, j) = ei * h;
        }
        double el = 0;
        if (ctx.track_logp)
          for (int s = 0; s < 7; ++s) el += e[s] * double(l[s](j));
        El(j) = el * h;
      }
      return evals;
    }

    /// After an accepted step the last stage is the first stage of the next one.
    void accept() {
      std::swap(k[0], k[6]);
      std::swap(l[0], l[6]);
    }
    void reset() { fsal = false; }
  };
};

}  // namespace dlogp

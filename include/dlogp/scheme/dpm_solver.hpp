#pragma once
// Exponential integrators for the probability-flow ODE: DDIM (= DPM-Solver-1), DPM-Solver-2/3
// (noise prediction, Lu et al. 2022) and DPM-Solver++ (data prediction), single-step and
// multistep. They are fixed-step schemes for integrate() with pf_ode dynamics, so options,
// observers, statistics, statuses, batching and threads are the driver's:
//
//   integrate(pf_ode(model, process), dpm_solver_2{}, x_T, log_p_T, T, t_min,
//             {.grid = {.steps = 20, .spacing = grid_kind::log_snr}});
//
// Mathematics (l = lambda / 2 = log(alpha / sigma), h = l_next - l_now, tau = l - l_now):
//   noise form  x_next = (alpha_1/alpha_0) x - sigma_1 int_0^h e^{h - tau} eps(tau) dtau
//   data form   x_next = (sigma_1/sigma_0) x + alpha_1 int_0^h e^{-(h - tau)} x0(tau) dtau
// with eps = -sigma s and x0 = (x + sigma^2 s) / alpha. The linear part is exact; the model
// output is replaced by a polynomial in tau (its Taylor terms estimated from stage values or
// from previous steps) and the polynomial is integrated exactly:
//   int_0^h e^{h-tau} tau^k/k! = psi_k(h) = e^h - sum_{j<=k} h^j/j!,
//   int_0^h e^{-(h-tau)} tau^k/k! = chi_k(h) = (-1)^{k+1} psi_k(-h).
//   single-step 2  stage at r = 1/2:  m' ~ (m(r h) - m0) / (r h)
//   single-step 3  stages at 1/3, 2/3 (the 2/3 stage from a 2nd-order predictor);
//                  m' ~ (m(2h/3) - m0) / (2h/3), which also carries the m'' term to O(h^4)
//   multistep k    exponential Adams-Bashforth: the Newton interpolant through the outputs at
//                  the last k nodes, integrated exactly. Warm-up: 2M starts with one DDIM step
//                  (local error O(h^2), global order 2 kept); 3M starts with one single-step-2
//                  step, then one 2M step (local errors O(h^3), global order 3 kept).
//
// log p (docs/notation.md §3.1): ell_next - ell = -D log(alpha_1/alpha_0) - int_{l_0}^{l_1} q dl
// with q = sigma^2 div s (from -f D dt = -D dlog alpha and (1/2) g^2 dt = -sigma^2 dl). The first
// part is exact; q is integrated with a rule of the solver's order at the solver's own nodes,
// so log p costs no evaluation beyond the solver's:
//   DDIM: left rectangle; single-step 2: midpoint; single-step 3: nodes 0, 2/3 with weights
//   1/4, 3/4 (exact for quadratics); multistep: Adams-Bashforth on the same Newton
//   interpolant as x (AB1 / AB2 / AB3).
// The score and the divergence are read off the pf_ode rate (dX = f x - g^2 s / 2,
// dL = -f D + g^2 div s / 2), so the user's divergence options (exact, Hutchinson) apply.
//
// Score evaluations per step (times the divergence cost when log p is tracked):
//   DDIM 1; single-step 2: 2; single-step 3: 3; multistep: 1 (3M: 2 in its first step).
// The solvers work on any monotone grid; they are designed for a grid uniform in log-SNR
// (grid_kind::log_snr). Sampling and encoding (h < 0) use the same formulas.
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "dlogp/dynamics/pf_ode.hpp"
#include "dlogp/error.hpp"
#include "dlogp/scheme/scheme_traits.hpp"

namespace dlogp {

/// What the solver extrapolates: eps (DPM-Solver) or x0 (DPM-Solver++).
enum class dpm_prediction { noise, data };
/// Single-step (stages inside each step) or multistep (outputs of previous steps).
enum class dpm_method { singlestep, multistep };

constexpr const char* to_string(dpm_prediction p) {
  return p == dpm_prediction::noise ? "noise" : "data";
}
constexpr const char* to_string(dpm_method m) {
  return m == dpm_method::singlestep ? "singlestep" : "multistep";
}

/// Dynamics whose rate is the probability-flow field f x - g^2 s / 2 (specialise for your own).
template <class Dyn>
struct is_probability_flow : std::false_type {};
template <class M, class P>
struct is_probability_flow<pf_ode<M, P>> : std::true_type {};

namespace detail {

/// psi_k(h) = e^h - sum_{j=0}^{k} h^j / j! = int_0^h e^{h - tau} tau^k / k! dtau, by its series
/// for small |h| (no cancellation) and directly otherwise.
inline double dpm_psi(int k, double h) {
  if (std::abs(h) < 0.5) {
    double term = 1, sum = 0;
    for (int j = 1; j <= k + 24; ++j) {
      term *= h / double(j);
      if (j > k) sum += term;
    }
    return sum;
  }
  double sum = std::expm1(h), term = 1;
  for (int j = 1; j <= k; ++j) {
    term *= h / double(j);
    sum -= term;
  }
  return sum;
}

/// chi_k(h) = int_0^h e^{-(h - tau)} tau^k / k! dtau = (-1)^{k+1} psi_k(-h).
inline double dpm_chi(int k, double h) { return (k % 2 == 0 ? -1.0 : 1.0) * dpm_psi(k, -h); }

}  // namespace detail

template <int Order, dpm_prediction Prediction = dpm_prediction::data,
          dpm_method Method = dpm_method::multistep>
struct dpm_solver {
  static_assert(Order >= 1 && Order <= 3, "dpm_solver: order must be 1, 2 or 3");
  static constexpr int order = Order;
  static constexpr bool adaptive = false;
  static constexpr bool stochastic = false;
  static constexpr dpm_prediction prediction = Prediction;
  static constexpr dpm_method method = Method;
  /// "ddim", "dpm-solver-2s", "dpm-solver-3m", "dpm-solver++-2m", ... (++ = data prediction).
  static constexpr const char* name =
      Order == 1 ? "ddim"
      : Prediction == dpm_prediction::noise
          ? (Method == dpm_method::singlestep ? (Order == 2 ? "dpm-solver-2s" : "dpm-solver-3s")
                                              : (Order == 2 ? "dpm-solver-2m" : "dpm-solver-3m"))
          : (Method == dpm_method::singlestep
                 ? (Order == 2 ? "dpm-solver++-2s" : "dpm-solver++-3s")
                 : (Order == 2 ? "dpm-solver++-2m" : "dpm-solver++-3m"));

  template <class S>
  struct stepper {
    // Stage outputs m (eps or x0) and divergence integrands q = sigma^2 div s.
    matrix<S> dX, score, m0, m1, m2, U, d1, d2;
    vector<S> dL, q0, q1, q2;
    // Multistep history, newest first: outputs, integrands and half log-SNR of past nodes.
    matrix<S> hm[2];
    vector<S> hq[2];
    double hl[2] = {0, 0};
    int n_hist = 0;
    double t_expected = std::numeric_limits<double>::quiet_NaN();

    template <ode_dynamics Dyn>
    long step(Dyn& dyn, const batch_context& ctx, double t, double dt, matrix<S>& X,
              vector<S>& L) {
      static_assert(is_probability_flow<Dyn>::value,
                    "dpm_solver: needs probability-flow dynamics (pf_ode); it reads the score "
                    "off the rate f x - g^2 s / 2. Specialise dlogp::is_probability_flow for a "
                    "custom dynamics with that rate.");
      const auto& p = dyn.process();
      const double t1 = t + dt;
      const double l0 = half_log_snr(p, t), l1 = half_log_snr(p, t1), h = l1 - l0;
      detail::require(h != 0, "dpm_solver: log-SNR does not change over the step (t = " +
                                  std::to_string(t) + ")");
      // The driver runs one stepper per chunk from the first step to the last, so the history
      // is always continuous; a jump in t (only possible if reused) restarts the warm-up.
      if (!(std::abs(t - t_expected) <= 1e-9 * std::abs(dt))) n_hist = 0;
      t_expected = t1;
      const bool track = ctx.track_logp;
      const long D = X.rows();
      long evals = evaluate(dyn, ctx, t, X, m0, q0);

      if constexpr (Order == 1) {
        advance(p, t, t1, h, X, 1, U);
        finish(p, t, t1, D, track, h * q0, X, L, U);
      } else if constexpr (Method == dpm_method::singlestep) {
        evals += singlestep(dyn, ctx, t, t1, l0, h, X, L);
      } else {
        const int k = n_hist == 0 && Order == 3 ? 0 : std::min(Order, n_hist + 1);
        if (k == 0) {
          // 3M warm-up: one single-step-2 step (local error O(h^3)).
          evals += singlestep_2(dyn, ctx, t, t1, l0, h, X, L);
        } else if (k == 1) {
          advance(p, t, t1, h, X, 1, U);
          finish(p, t, t1, D, track, h * q0, X, L, U);
        } else if (k == 2) {
          const double h1 = l0 - hl[0];
          d1 = (m0 - hm[0]) / S(h1);
          advance(p, t, t1, h, X, 2, U);
          vector<S> Q;
          if (track) Q = S(h) * q0 + S(0.5 * h * h / h1) * (q0 - hq[0]);
          finish(p, t, t1, D, track, Q, X, L, U);
        } else {
          // Newton interpolant through nodes tau = 0, -h1, -(h1 + h2):
          // p(tau) = m0 + a tau + b tau (tau + h1), p'(0) = a + b h1, p''(0) = 2 b.
          const double h1 = l0 - hl[0], h2 = hl[0] - hl[1];
          const S c1 = S(1 / h1), c2 = S(1 / h2), c12 = S(1 / (h1 + h2));
          d2 = ((m0 - hm[0]) * c1 - (hm[0] - hm[1]) * c2) * c12;  // b
          d1 = (m0 - hm[0]) * c1 + S(h1) * d2;                    // p'(0)
          d2 *= S(2);                                              // p''(0)
          advance(p, t, t1, h, X, 3, U);
          vector<S> Q;
          if (track) {
            const vector<S> b = ((q0 - hq[0]) * c1 - (hq[0] - hq[1]) * c2) * c12;
            const vector<S> dq = (q0 - hq[0]) * c1 + S(h1) * b;
            Q = S(h) * q0 + S(0.5 * h * h) * dq + S(h * h * h / 3.0) * b;  // h^3/6 * 2b
          }
          finish(p, t, t1, D, track, Q, X, L, U);
        }
        // Push the node just evaluated (l0) into the history.
        std::swap(hm[1], hm[0]);
        std::swap(hq[1], hq[0]);
        hl[1] = hl[0];
        hm[0] = m0;
        hq[0] = q0;
        hl[0] = l0;
        n_hist = std::min(n_hist + 1, 2);
      }
      return evals;
    }

   private:
    template <class P>
    static double half_log_snr(const P& p, double t) {
      const double l = 0.5 * p.log_snr(t);
      detail::require(std::isfinite(l), "dpm_solver: log-SNR is not finite at t = " +
                                            std::to_string(t) +
                                            " (sigma or alpha is 0 there; stop short of it)");
      return l;
    }

    /// Model output m (eps or x0) and q = sigma^2 div s at (t, X), read off the pf_ode rate:
    /// s = 2 (f X - dX) / g^2, div s = 2 (dL + f D) / g^2.
    template <class Dyn>
    long evaluate(Dyn& dyn, const batch_context& ctx, double t, const matrix<S>& X,
                  matrix<S>& m, vector<S>& q) {
      const auto& p = dyn.process();
      const double f = p.f(t), g2 = p.g2(t), a = p.alpha(t), sg = p.sigma(t);
      detail::require(g2 > 0 && std::isfinite(g2),
                      "dpm_solver: needs 0 < g^2 < inf (t = " + std::to_string(t) + ", g^2 = " +
                          std::to_string(g2) + ")");
      dX.resize(X.rows(), X.cols());
      dL.resize(X.cols());
      const long evals = dyn.rate(ctx, t, X, dX, dL);
      score = (S(f) * X - dX) * S(2.0 / g2);
      if constexpr (Prediction == dpm_prediction::noise)
        m = S(-sg) * score;
      else
        m = (X + S(sg * sg) * score) * S(1.0 / a);
      if (ctx.track_logp)
        q = (dL.array() + S(f * double(X.rows()))).matrix() * S(2.0 * sg * sg / g2);
      return evals;
    }

    /// out = x at t1 from (t0, X) with the Taylor terms m0, d1, d2 (the first `terms` of them)
    /// integrated exactly over h = l(t1) - l(t0).
    template <class P>
    void advance(const P& p, double t0, double t1, double h, const matrix<S>& X, int terms,
                 matrix<S>& out) const {
      if constexpr (Prediction == dpm_prediction::noise) {
        const double a = p.alpha(t1) / p.alpha(t0), b = -p.sigma(t1);
        out = S(a) * X + S(b * detail::dpm_psi(0, h)) * m0;
        if (terms > 1) out += S(b * detail::dpm_psi(1, h)) * d1;
        if (terms > 2) out += S(b * detail::dpm_psi(2, h)) * d2;
      } else {
        const double a = p.sigma(t1) / p.sigma(t0), b = p.alpha(t1);
        out = S(a) * X + S(b * detail::dpm_chi(0, h)) * m0;
        if (terms > 1) out += S(b * detail::dpm_chi(1, h)) * d1;
        if (terms > 2) out += S(b * detail::dpm_chi(2, h)) * d2;
      }
    }

    /// X = Xn; L += -D log(alpha_1/alpha_0) - Q with Q = int q dl over the step.
    template <class P>
    static void finish(const P& p, double t0, double t1, long D, bool track, const vector<S>& Q,
                       matrix<S>& X, vector<S>& L, matrix<S>& Xn) {
      X.swap(Xn);
      if (track) {
        const double lin = -double(D) * (std::log(p.alpha(t1)) - std::log(p.alpha(t0)));
        L = (L.array() + S(lin)).matrix() - Q;
      }
    }

    /// Time at half log-SNR l (the process's inverse of log_snr).
    template <class P>
    static double time_at(const P& p, double l) {
      return p.t_from_log_snr(2.0 * l);
    }

    template <class Dyn>
    long singlestep_2(Dyn& dyn, const batch_context& ctx, double t, double t1, double l0,
                      double h, matrix<S>& X, vector<S>& L) {
      const auto& p = dyn.process();
      constexpr double r = 0.5;
      const double tr = time_at(p, l0 + r * h);
      advance(p, t, tr, r * h, X, 1, U);
      const long evals = evaluate(dyn, ctx, tr, U, m1, q1);
      d1 = (m1 - m0) * S(1.0 / (r * h));
      advance(p, t, t1, h, X, 2, U);
      vector<S> Q;
      if (ctx.track_logp) Q = S(h) * q1;  // midpoint rule
      finish(p, t, t1, X.rows(), ctx.track_logp, Q, X, L, U);
      return evals;
    }

    template <class Dyn>
    long singlestep(Dyn& dyn, const batch_context& ctx, double t, double t1, double l0, double h,
                    matrix<S>& X, vector<S>& L) {
      if constexpr (Order == 2) {
        return singlestep_2(dyn, ctx, t, t1, l0, h, X, L);
      } else {
        const auto& p = dyn.process();
        constexpr double r1 = 1.0 / 3, r2 = 2.0 / 3;
        const double ta = time_at(p, l0 + r1 * h), tb = time_at(p, l0 + r2 * h);
        advance(p, t, ta, r1 * h, X, 1, U);
        long evals = evaluate(dyn, ctx, ta, U, m1, q1);
        d1 = (m1 - m0) * S(1.0 / (r1 * h));
        advance(p, t, tb, r2 * h, X, 2, U);
        evals += evaluate(dyn, ctx, tb, U, m2, q2);
        d1 = (m2 - m0) * S(1.0 / (r2 * h));
        advance(p, t, t1, h, X, 2, U);
        vector<S> Q;
        if (ctx.track_logp) Q = S(0.25 * h) * q0 + S(0.75 * h) * q2;
        finish(p, t, t1, X.rows(), ctx.track_logp, Q, X, L, U);
        return evals;
      }
    }
  };
};

/// DDIM = DPM-Solver-1 (noise and data forms coincide up to rounding).
using ddim = dpm_solver<1, dpm_prediction::noise, dpm_method::singlestep>;
/// The usual defaults: data prediction, multistep (DPM-Solver++(2M) / (3M)).
using dpm_solver_2 = dpm_solver<2>;
using dpm_solver_3 = dpm_solver<3>;

}  // namespace dlogp

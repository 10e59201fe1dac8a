#pragma once
// What a scheme is: ODE dynamics give rates, SDE dynamics give rates and noise terms.
//
// ODE dynamics (pf_ode, hd_ode, ...):
//   long rate(const batch_context&, double t, const matrix<S>& X, matrix<S>& dX, vector<S>& dL);
//     dX = dx/dt (D x N), dL = d ell/dt (N); returns score-evaluation equivalents per column.
// SDE dynamics (reverse_sde, forward_sde, ...), with Z standard normal (D x N):
//   long sde_terms(const batch_context&, double t, const matrix<S>& X, const matrix<S>& Z,
//                  matrix<S>& drift, vector<S>& dL, matrix<S>& noise_x, vector<S>& noise_l);
//     one step of size dt: X += dt drift + sqrt|dt| noise_x, ell += dt dL + sqrt|dt| noise_l.
// Both also give `long dimension() const` and `const Process& process() const`.
#include <concepts>
#include <limits>

#include "dlogp/core/types.hpp"

namespace dlogp {

template <class Dyn>
concept ode_dynamics = requires(Dyn& d, const batch_context& ctx, double t,
                                const matrix<typename Dyn::scalar_type>& X,
                                matrix<typename Dyn::scalar_type>& dX,
                                vector<typename Dyn::scalar_type>& dL) {
  { d.rate(ctx, t, X, dX, dL) } -> std::convertible_to<long>;
  { d.dimension() } -> std::convertible_to<long>;
};

template <class Dyn>
concept sde_dynamics = requires(Dyn& d, const batch_context& ctx, double t,
                                const matrix<typename Dyn::scalar_type>& X,
                                matrix<typename Dyn::scalar_type>& M,
                                vector<typename Dyn::scalar_type>& v) {
  { d.sde_terms(ctx, t, X, X, M, v, M, v) } -> std::convertible_to<long>;
  { d.dimension() } -> std::convertible_to<long>;
};

/// A fixed-step ODE scheme: `long step(Dyn&, ctx, t, dt, X, L)` advances X and L in place.
template <class S>
concept fixed_step_scheme = requires { S::order; } && !S::adaptive && !S::stochastic;

template <class S>
concept adaptive_scheme = S::adaptive;

template <class S>
concept stochastic_scheme = S::stochastic;

namespace detail {

/// One term e / sc of an adaptive scheme's scaled error, sc = atol + rtol |x|. With atol = 0
/// (pure relative accuracy, a valid choice) sc is 0 where x is exactly 0, and e / sc would be
/// 0 / 0 = NaN. The limit sc -> 0+ decides: an error of exactly 0 is no error at all (0), any
/// other error is infinitely large against a scale of 0 (inf: reject, or an underflowing step,
/// never a NaN step size). For sc > 0 it is e / sc, bit for bit.
inline double error_ratio(double e, double sc) {
  if (sc > 0) return e / sc;
  return e == 0 ? 0.0 : std::numeric_limits<double>::infinity();
}

}  // namespace detail
}  // namespace dlogp

#pragma once
// The probability-flow ODE's two rates (docs/notation.md §3.1), written once:
//   velocity          u = f x - (1/2) g^2 s
//   log-density rate  d log p_t(x_t)/dt = -div u = (1/2) g^2 Lap - f D   (Lap = div s)
// Every dynamics that is the PF-ODE in some limit (density guidance at q = 0.5, the general
// ODE's reference drift, score alignment's tangent flow) evaluates these same expressions, so
// "reduces to the PF-ODE bit for bit" holds by construction rather than by copying.
//
// The matrix forms return Eigen expressions (the scalars are held by value, X, s and Lap by
// reference): callers assign them or add to them without a temporary, and the arithmetic per
// element is exactly the expression below.
#include "dlogp/core/types.hpp"

namespace dlogp {

/// u = f x - (1/2) g^2 s, column by column (X and score D x N; also a tangent v with J v).
template <class S, class DerivedX, class DerivedS>
auto pf_ode_velocity(double f, double g2, const Eigen::MatrixBase<DerivedX>& X,
                     const Eigen::MatrixBase<DerivedS>& score) {
  return S(f) * X.derived() - S(0.5 * g2) * score.derived();
}

/// d log p/dt = (1/2) g^2 Lap - f D per column (Lap: the divergence of the score, N).
template <class S, class DerivedL>
auto pf_ode_log_p_rate(double f, double g2, const Eigen::MatrixBase<DerivedL>& lap, long D) {
  return (S(0.5 * g2) * lap.derived().array() - S(f * double(D))).matrix();
}

/// The same rate for one column, in double (for loops that finish in double and round once).
inline double pf_ode_log_p_rate(double f, double g2, double lap, long D) {
  return 0.5 * g2 * lap - f * double(D);
}

}  // namespace dlogp

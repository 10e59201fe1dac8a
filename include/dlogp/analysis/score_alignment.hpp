#pragma once
// Score alignment (docs/notation.md §5.4): the PF-ODE augmented with a tangent v and a scalar w,
//   dx/dt = u = f x - (1/2) g^2 s,   dv/dt = J_u v = f v - (1/2) g^2 J_s v,
//   dw/dt = -<grad div u, v> = (1/2) g^2 <grad Lap, v>,
// started at v = v_T, w = <s_T(x_T), v_T>. Along the flow w = d/de log p_t(Psi(x_T + e v_T)),
// so at the end w = <s_end(x_end), v_end> (the score-based check computed beside it). With the
// default v_T = s_T(x_T) the end value of w is the score alignment SA; SA > 0 means scaling the
// latent up lowers log p_0 (docs/notation.md §5.4, latent_scaling_derivative).
//
// The state handed to the driver stacks [x; v] (2D rows) and carries w in the log p slot, so
// every scheme (rk4, dopri5, ...) and the driver's statistics, threads and observers apply.
// Needs per step: one score JVP (J_s v; exact through score_jvp or dual numbers, else a central
// difference) and <grad Lap, v> (the model's grad_laplacian, else a central difference of the
// exact Laplacian along v).
#include <cmath>
#include <utility>

#include "dlogp/core/column_ops.hpp"
#include "dlogp/core/concepts.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/divergence/exact.hpp"
#include "dlogp/dynamics/pf_ode_rates.hpp"
#include "dlogp/error.hpp"
#include "dlogp/integrate.hpp"

namespace dlogp {

/// The augmented ODE of docs/notation.md §5.4 as ODE dynamics on the stacked state [x; v] (2D x N)
/// with w in the log p slot.
template <class Model, process Process>
class score_alignment_ode {
  static_assert(assert_score_model<Model>());
 public:
  using scalar_type = scalar_of<Model>;
  using S = scalar_type;

  score_alignment_ode(const Model& model, Process process)
      : model_(&model), process_(std::move(process)), jvp_(model), lap_(model) {}

  /// Rows of the stacked state: 2 D.
  long dimension() const { return 2 * model_->dimension(); }
  const Process& process() const { return process_; }
  const Model& model() const { return *model_; }

  long rate(const batch_context& ctx, double t, const matrix<S>& Y, matrix<S>& dY,
            vector<S>& dW) {
    const long D = model_->dimension(), N = Y.cols();
    const double f = process_.f(t), g2 = process_.g2(t);
    x_ = Y.topRows(D);
    v_ = Y.bottomRows(D);
    long evals = jvp_.score_and_jvp(t, x_, v_, &score_, jv_);
    dY.resize(2 * D, N);
    // The PF-ODE and its tangent flow (the same linear map applied to v and J v).
    dY.topRows(D) = pf_ode_velocity<S>(f, g2, x_, score_);
    dY.bottomRows(D) = pf_ode_velocity<S>(f, g2, v_, jv_);
    if (!ctx.track_logp) {
      dW.setZero(N);
      return evals;
    }
    evals += grad_laplacian_along(t, dglap_);
    dW = (S(0.5 * g2) * dglap_.array()).matrix();
    return evals;
  }

 private:
  /// out(j) = <grad Lap(x_j), v_j>; returns score-evaluation equivalents per column.
  long grad_laplacian_along(double t, vector<S>& out) {
    if constexpr (has_grad_laplacian<Model>) {
      model_->grad_laplacian(t, x_, g_);
      detail::column_dots(g_, v_, out);
      return 1;
    } else {
      // Central difference of the exact Laplacian along v, per column step
      // h = cbrt(eps) max(1, |x|_inf) / max(1, |v|_inf) (as the library's JVPs).
      const long D = x_.rows(), N = x_.cols();
      const S h0 = detail::central_difference_step<S>();
      xp_.resize(D, N);
      xm_.resize(D, N);
      step_.resize(N);
      for (long j = 0; j < N; ++j) {
        S xmax = 0, vmax = 0;
        for (long i = 0; i < D; ++i) {
          xmax = std::max(xmax, S(std::abs(x_(i, j))));
          vmax = std::max(vmax, S(std::abs(v_(i, j))));
        }
        const S h = h0 * std::max(S(1), xmax) / std::max(S(1), vmax);
        step_(j) = h;
        for (long i = 0; i < D; ++i) {
          xp_(i, j) = x_(i, j) + h * v_(i, j);
          xm_(i, j) = x_(i, j) - h * v_(i, j);
        }
      }
      long evals = lap_.score_and_divergence(t, xp_, sp_, lp_);
      evals += lap_.score_and_divergence(t, xm_, sp_, lm_);
      out.resize(N);
      for (long j = 0; j < N; ++j) out(j) = (lp_(j) - lm_(j)) / (S(2) * step_(j));
      return evals;
    }
  }

  const Model* model_;
  Process process_;
  detail::score_jvp_engine<Model> jvp_;
  exact_divergence<Model> lap_;
  matrix<S> x_, v_, score_, jv_, g_, xp_, xm_, sp_;
  vector<S> dglap_, lp_, lm_, step_;
};

template <class S>
struct score_alignment_result {
  matrix<S> x;          ///< end points x_end (D x N)
  matrix<S> v;          ///< tangents v_end (D x N)
  vector<S> alignment;  ///< w at the end: SA when v_T = s_T(x_T)
  vector<S> check;      ///< <s_end(x_end), v_end>, equal to `alignment` up to the solver error
  std::vector<trajectory_stats> stats;

  bool all_ok() const {
    for (const auto& s : stats)
      if (s.status != status::ok) return false;
    return true;
  }
};

/// Integrates the tangent + w ODE from t_start (usually t_max) to t_end with the tangent
/// v_start (D x N). w starts at <s(t_start, x_start), v_start>. `opt.track_logp` is ignored
/// (w is always integrated).
template <class Scheme, score_model Model, process Process, class S = scalar_of<Model>>
score_alignment_result<S> score_alignment(const Model& model, const Process& process, Scheme,
                                          const std::type_identity_t<matrix<S>>& x_start,
                                          const std::type_identity_t<matrix<S>>& v_start,
                                          double t_start, double t_end,
                                          integrate_options opt = {}) {
  const long D = model.dimension(), N = x_start.cols();
  detail::require_dimension(D, x_start.rows(), "score_alignment: x_start rows");
  detail::require_dimension(D, v_start.rows(), "score_alignment: v_start rows");
  detail::require_dimension(N, v_start.cols(), "score_alignment: v_start columns");
  matrix<S> s0(D, N);
  model.score(t_start, x_start, s0);
  vector<S> w0;
  detail::column_dots(s0, v_start, w0);
  matrix<S> Y(2 * D, N);
  Y.topRows(D) = x_start;
  Y.bottomRows(D) = v_start;
  opt.track_logp = true;
  auto r = integrate(score_alignment_ode<Model, Process>(model, process), Scheme{}, Y, w0,
                     t_start, t_end, opt);
  score_alignment_result<S> out;
  out.x = r.x.topRows(D);
  out.v = r.x.bottomRows(D);
  out.alignment = r.log_p;
  out.stats = std::move(r.stats);
  // Score-based check at the time each trajectory reached (t_end unless it stopped early).
  out.check.resize(N);
  matrix<S> xj(D, 1), sj(D, 1);
  for (long j = 0; j < N; ++j) {
    xj = out.x.col(j);
    model.score(out.stats[std::size_t(j)].t_reached, xj, sj);
    out.check(j) = detail::dot_fixed_order(sj.data(), out.v.data() + j * D, D);
  }
  return out;
}

/// Score alignment with the default tangent v_T = s(t_start, x_start): alignment = SA.
template <class Scheme, score_model Model, process Process, class S = scalar_of<Model>>
score_alignment_result<S> score_alignment(const Model& model, const Process& process,
                                          Scheme scheme,
                                          const std::type_identity_t<matrix<S>>& x_start,
                                          double t_start, double t_end,
                                          integrate_options opt = {}) {
  detail::require_dimension(model.dimension(), x_start.rows(), "score_alignment: x_start rows");
  matrix<S> v(x_start.rows(), x_start.cols());
  model.score(t_start, x_start, v);
  return score_alignment(model, process, scheme, x_start, v, t_start, t_end, opt);
}

/// d/dc log p_0(Psi(c z)) = -(sigma_T^2 / c) SA for a latent c z under the prior
/// N(0, sigma_T^2 I), whose score at x_T = c z is -x_T / sigma_T^2 (docs/notation.md §5.4). For a
/// model whose p_T is N(0, P_T I), pass sigma_T = sqrt(P_T).
inline double latent_scaling_derivative(double alignment, double sigma_T, double c) {
  detail::require(c != 0 && std::isfinite(c),
                  "latent_scaling_derivative: c must be finite and non-zero (" +
                      std::to_string(c) + ")");
  return -(sigma_T * sigma_T / c) * alignment;
}

}  // namespace dlogp

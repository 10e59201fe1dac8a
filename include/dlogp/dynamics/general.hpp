#pragma once
// Log p along ANY dynamics (docs/notation.md §3.4, §3.5). The user gives the drift u(t, X) and, for
// an SDE, a diffusion G; dlogp tracks ell = log p_t(x_t), p_t the marginals of the model's forward
// process, along the user's path:
//   ODE  dx/dt = u:              d ell/dt = -div v + <u - v, s>,   v = f x - (1/2) g^2 s
//   SDE  dx = u dt + G dW-bar:   d ell = [-div v + <u - v, s> - (1/2) tr(G G^T H)] dt + <s, G dW-bar>
// (t decreasing; -div v + <u - v, s> = -f D + <s, u - f x> + (1/2) g^2 (Lap + |s|^2)).
// Lap and tr(G G^T H) come from the model's exact Laplacian / Hessian when it has them, else from
// D Jacobian-vector products (exact) or Hutchinson probes z, with tr(G G^T H) estimated by
// (G z)^T H (G z) on the SAME probes as Lap (so the two estimates cancel where G G^T ~ g^2 I).
#include <cmath>
#include <concepts>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dlogp/core/column_ops.hpp"
#include "dlogp/core/concepts.hpp"
#include "dlogp/core/time_direction.hpp"
#include "dlogp/divergence/divergence.hpp"
#include "dlogp/dynamics/pf_ode_rates.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

/// No diffusion: the dynamics are an ODE (rate()).
struct no_diffusion {};

/// G = c(t) I. `scale` is callable as double(double t).
template <class F>
struct isotropic_diffusion {
  F scale;
};
template <class F>
isotropic_diffusion(F) -> isotropic_diffusion<F>;

/// G = G(t), a D x D matrix shared by the whole batch. `matrix` is callable as M(double t) with
/// M an Eigen matrix (any scalar; cast to the model's).
template <class F>
struct matrix_diffusion {
  F matrix;
};
template <class F>
matrix_diffusion(F) -> matrix_diffusion<F>;

/// G(t, x) given as an operator on noise, batched:
///   void apply(double t, const matrix<S>& X, const matrix<S>& Z, matrix<S>& GZ)   // GZ pre-sized D x N
/// with column j of GZ = G(t, X(:, j)) Z(:, j). Column j must depend on column j only (with a
/// fixed summation order) for results to be independent of the batch.
template <class F>
struct operator_diffusion {
  F apply;
};
template <class F>
operator_diffusion(F) -> operator_diffusion<F>;

namespace detail {

template <class D>
struct diffusion_form {
  static constexpr int value = -1;
};
template <>
struct diffusion_form<no_diffusion> {
  static constexpr int value = 0;
};
template <class F>
struct diffusion_form<isotropic_diffusion<F>> {
  static constexpr int value = 1;
};
template <class F>
struct diffusion_form<matrix_diffusion<F>> {
  static constexpr int value = 2;
};
template <class F>
struct diffusion_form<operator_diffusion<F>> {
  static constexpr int value = 3;
};

/// Drift that receives the score at X (computed anyway): u(t, X, score, U).
template <class F, class S>
concept drift_with_score =
    std::invocable<F&, double, const matrix<S>&, const matrix<S>&, matrix<S>&>;
/// Drift without the score: u(t, X, U).
template <class F, class S>
concept drift_without_score = std::invocable<F&, double, const matrix<S>&, matrix<S>&>;

/// d ell/dt along dx/dt = U (docs/notation.md §3.4): -div v + <U - v, s>, v = f x - (1/2) g^2 s.
/// v and -div v are the PF-ODE's own rates (pf_ode_rates.hpp), so U = v gives back the PF-ODE
/// rate bit for bit (U - v is then exactly 0).
template <class S>
void logp_rate_along(double f, double g2, const matrix<S>& X, const matrix<S>& score,
                     const vector<S>& lap, const matrix<S>& U, matrix<S>& work,
                     vector<S>& dots, vector<S>& dL) {
  work = U - pf_ode_velocity<S>(f, g2, X, score);
  column_dots(work, score, dots);
  dL = pf_ode_log_p_rate<S>(f, g2, lap, X.rows()) + dots;
}

}  // namespace detail

/// The estimator a general dynamics uses unless told otherwise: exact when the model has an
/// analytic Laplacian (and a Hessian, for a non-isotropic G), Hutchinson with one Rademacher
/// probe otherwise.
template <score_model Model, class Diffusion = no_diffusion>
constexpr divergence_options default_general_divergence() {
  constexpr bool needs_hessian = detail::diffusion_form<Diffusion>::value >= 2;
  if constexpr (has_laplacian<Model> && (!needs_hessian || has_hessian<Model>))
    return divergence_options{.kind = divergence_kind::exact};
  else
    return divergence_options{.kind = divergence_kind::hutchinson, .probes = 1};
}

/// Dynamics with a user drift (and optional diffusion) that track log p (docs/notation.md §3.4 /
/// §3.5). With Diffusion = no_diffusion it is ODE dynamics (rate), otherwise SDE dynamics
/// (sde_terms, for euler_maruyama). Build it with general_ode / general_sde.
///
/// Score-evaluation equivalents per column and call: the divergence estimator's cost (1 with an
/// analytic Laplacian), plus for a matrix / operator G: 1 (Hessian), D JVPs (exact without a
/// Hessian) or K JVPs (Hutchinson). A drift of the form u(t, X, U) that calls the model itself
/// is not counted: give it the score argument instead, u(t, X, score, U).
template <class Model, process Process, class Drift, class Diffusion = no_diffusion>
class general_dynamics {
  static_assert(assert_score_model<Model>());
 public:
  using scalar_type = scalar_of<Model>;
  using S = scalar_type;
  static constexpr int form = detail::diffusion_form<Diffusion>::value;
  static constexpr bool stochastic = form > 0;
  /// An SDE runs in reverse time (dW-bar, docs/notation.md §3.5); an ODE both ways
  /// (core/time_direction.hpp).
  static constexpr dynamics_direction direction =
      stochastic ? dynamics_direction{time_direction::reverse, "general_sde", "forward_sde"}
                 : dynamics_direction{time_direction::any, "general_ode", "pf_ode"};
  static constexpr bool drift_takes_score = detail::drift_with_score<Drift, S>;

  static_assert(form >= 0,
                "general_dynamics: the diffusion must be no_diffusion, isotropic_diffusion, "
                "matrix_diffusion or operator_diffusion (dlogp/dynamics/general.hpp)");
  static_assert(detail::drift_with_score<Drift, S> || detail::drift_without_score<Drift, S>,
                "general_dynamics: the drift must be callable as u(t, X, score, U) or "
                "u(t, X, U) with X, score const matrix<S>& and U matrix<S>& (D x N)");

  general_dynamics(const Model& model, Process process, Drift drift, Diffusion diffusion = {},
                   divergence_options divergence = default_general_divergence<Model, Diffusion>())
      : model_(&model),
        process_(std::move(process)),
        drift_(std::move(drift)),
        diffusion_(std::move(diffusion)),
        div_(model, divergence),
        jvp_(model) {}

  long dimension() const { return model_->dimension(); }
  const Process& process() const { return process_; }
  const Model& model() const { return *model_; }
  const divergence_options& divergence() const { return div_.options(); }

  /// ODE: dX = u(t, X), dL = -div v + <u - v, s>.
  long rate(const batch_context& ctx, double t, const matrix<S>& X, matrix<S>& dX,
            vector<S>& dL)
    requires(!stochastic)
  {
    const long evals = scores(ctx, t, X);
    dX.resize(X.rows(), X.cols());
    call_drift(t, X, dX);
    if (ctx.track_logp)
      detail::logp_rate_along(process_.f(t), process_.g2(t), X, score_, lap_, dX, work_,
                              dots_, dL);
    else
      dL.setZero(X.cols());
    return evals;
  }

  /// SDE: drift u, noise G Z; dL = -div v + <u - v, s> - (1/2) tr(G G^T H), noise_l = <s, G Z>.
  long sde_terms(const batch_context& ctx, double t, const matrix<S>& X, const matrix<S>& Z,
                 matrix<S>& drift, vector<S>& dL, matrix<S>& noise_x, vector<S>& noise_l)
    requires stochastic
  {
    const long D = X.rows(), N = X.cols();
    long evals = scores(ctx, t, X);
    drift.resize(D, N);
    call_drift(t, X, drift);
    noise_x.resize(D, N);
    apply_g(t, X, Z, noise_x);
    if (!ctx.track_logp) {
      dL.setZero(N);
      noise_l.setZero(N);
      return evals;
    }
    detail::logp_rate_along(process_.f(t), process_.g2(t), X, score_, lap_, drift, work_,
                            dots_, dL);
    evals += trace_ggth(ctx, t, X);
    dL -= S(0.5) * trace_;
    detail::column_dots(score_, noise_x, noise_l);
    return evals;
  }

 private:
  /// Score (and, when tracking, the Laplacian) at X; returns the evaluations spent.
  long scores(const batch_context& ctx, double t, const matrix<S>& X) {
    score_.resize(X.rows(), X.cols());
    if (ctx.track_logp) return div_.score_and_divergence(ctx, t, X, score_, lap_);
    if constexpr (drift_takes_score) {
      model_->score(t, X, score_);
      return 1;
    }
    return 0;
  }

  void call_drift(double t, const matrix<S>& X, matrix<S>& U) {
    if constexpr (drift_takes_score)
      drift_(t, X, std::as_const(score_), U);
    else
      drift_(t, X, U);
  }

  /// The current G(t) of a matrix diffusion, checked to be D x D; G is a function of t alone,
  /// so it is fetched once per time.
  void matrix_g(double t, long D) {
    if (g_ready_ && g_time_ == t) return;
    g_ = diffusion_.matrix(t).template cast<S>();
    g_time_ = t;
    g_ready_ = true;
    detail::require_dimension(D, g_.rows(), "general_dynamics: rows of G");
    detail::require_dimension(D, g_.cols(), "general_dynamics: columns of G");
  }

  /// out = G Z per column (fixed summation order, so a column never depends on its batch).
  void apply_g(double t, const matrix<S>& X, const matrix<S>& Z, matrix<S>& out) {
    const long D = X.rows(), N = X.cols();
    if constexpr (form == 1) {
      out = S(diffusion_.scale(t)) * Z;
    } else if constexpr (form == 2) {
      matrix_g(t, D);
      out.resize(D, N);
      for (long j = 0; j < N; ++j)
        for (long i = 0; i < D; ++i) {
          S acc = 0;
          for (long l = 0; l < D; ++l) acc += g_(i, l) * Z(l, j);
          out(i, j) = acc;
        }
    } else if constexpr (form == 3) {
      out.resize(D, N);
      diffusion_.apply(t, X, Z, out);
      detail::require_dimension(D, out.rows(), "general_dynamics: rows of G Z");
      detail::require_dimension(N, out.cols(), "general_dynamics: columns of G Z");
    }
  }

  /// trace_ = tr(G G^T H) per column (exact or Hutchinson, as the divergence options say).
  long trace_ggth(const batch_context& ctx, double t, const matrix<S>& X) {
    const long D = X.rows(), N = X.cols();
    if constexpr (form == 1) {
      // G G^T = c^2 I: the Laplacian already computed, whichever estimator gave it.
      const S c = S(diffusion_.scale(t));
      trace_ = (c * c) * lap_;
      return 0;
    } else {
      trace_.setZero(N);
      if (div_.options().kind == divergence_kind::hutchinson) {
        // (G z)^T H (G z) on the probes z the Laplacian estimate used.
        const int K = div_.options().probes;
        probes_.resize(D, N);
        long evals = 0;
        for (int k = 0; k < K; ++k) {
          for (long j = 0; j < N; ++j)
            fill_probe(ctx.seed, ctx.ids[j], k, div_.options().probe, probes_.data() + j * D, D);
          accumulate_quadratic(t, X, probes_, evals);
        }
        trace_ /= S(K);
        return evals;
      }
      if constexpr (has_hessian<Model>) {
        // sum_m (G e_m)^T H (G e_m) with the model's Hessian at each point.
        gcols_.resize(std::size_t(D));
        for (long m = 0; m < D; ++m) {
          basis(m, N);
          apply_g(t, X, basis_, gcols_[std::size_t(m)]);
        }
        point_.resize(D);
        for (long j = 0; j < N; ++j) {
          for (long i = 0; i < D; ++i) point_(i) = X(i, j);
          model_->hessian(t, point_, hess_);
          S acc = 0;
          for (long m = 0; m < D; ++m) {
            const matrix<S>& W = gcols_[std::size_t(m)];
            for (long i = 0; i < D; ++i) {
              S hw = 0;
              for (long l = 0; l < D; ++l) hw += hess_(i, l) * W(l, j);
              acc += W(i, j) * hw;
            }
          }
          trace_(j) = acc;
        }
        return 1;
      } else {
        long evals = 0;
        for (long m = 0; m < D; ++m) {
          basis(m, N);
          accumulate_quadratic(t, X, basis_, evals);
        }
        return evals;
      }
    }
  }

  /// basis_ = e_m in every column.
  void basis(long m, long N) {
    basis_.setZero(dimension(), N);
    basis_.row(m).setOnes();
  }

  /// trace_(j) += w_j^T H w_j with W = G Z, H w by the model's JVP route.
  void accumulate_quadratic(double t, const matrix<S>& X, const matrix<S>& Z, long& evals) {
    const long D = X.rows(), N = X.cols();
    w_.resize(D, N);
    apply_g(t, X, Z, w_);
    evals += jvp_.score_and_jvp(t, X, w_, nullptr, hw_);
    for (long j = 0; j < N; ++j)
      trace_(j) += detail::dot_fixed_order(w_.data() + j * D, hw_.data() + j * D, D);
  }

  const Model* model_;
  Process process_;
  Drift drift_;
  Diffusion diffusion_;
  divergence_estimator<Model> div_;
  detail::score_jvp_engine<Model> jvp_;
  matrix<S> score_, work_, g_, probes_, basis_, w_, hw_, hess_;
  std::vector<matrix<S>> gcols_;
  vector<S> lap_, dots_, trace_, point_;
  double g_time_ = 0;
  bool g_ready_ = false;
};

/// ODE dynamics dx/dt = u(t, x) with log p tracked (docs/notation.md §3.4).
template <score_model Model, process Process, class Drift>
general_dynamics<Model, Process, Drift> general_ode(
    const Model& model, Process process, Drift drift,
    divergence_options divergence = default_general_divergence<Model>()) {
  return {model, std::move(process), std::move(drift), no_diffusion{}, divergence};
}

/// SDE dynamics dx = u dt + G dW-bar (t decreasing) with log p tracked (docs/notation.md §3.5).
/// Diffusion is isotropic_diffusion{c}, matrix_diffusion{G} or operator_diffusion{apply}.
template <score_model Model, process Process, class Drift, class Diffusion>
general_dynamics<Model, Process, Drift, Diffusion> general_sde(
    const Model& model, Process process, Drift drift, Diffusion diffusion,
    divergence_options divergence = default_general_divergence<Model, Diffusion>()) {
  static_assert(detail::diffusion_form<Diffusion>::value > 0,
                "general_sde: the diffusion must be isotropic_diffusion, matrix_diffusion or "
                "operator_diffusion (use general_ode for no diffusion)");
  return {model, std::move(process), std::move(drift), std::move(diffusion), divergence};
}

}  // namespace dlogp

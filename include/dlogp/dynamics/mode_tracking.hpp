#pragma once
// Mode-tracking ODE (docs/notation.md §4.1, Theorem 5 of the first paper). Fix (t, x_t); the mode
// y_s = argmax p(x_s | x_t), s from t down to 0, follows
//   dy/ds = f y - g^2 s(s, y) - (1/2) g^2 [H(s, y) - c_s I]^{-1} grad Lap(s, y),
//   c_s = a^2 / v,  a = alpha_t / alpha_s,  v = sigma_t^2 - a^2 sigma_s^2,
// from y_t = x_t. It follows a LOCAL mode continuously. log p_s(y_s) is tracked by docs/notation.md
// §3.4 with u = this drift: d ell/ds = -div v_pf + <u - v_pf, s>.
//
// c_s is infinite at s = t, so the system is solved in the form
//   [H - c I]^{-1} g = [v H - a^2 I]^{-1} (v g),
// which is regular at v = 0 and gives the limit (correction 0) there without special cases.
// One symmetric D x D factorisation (LDLT) per trajectory and rate evaluation.
#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/time_direction.hpp"
#include "dlogp/dynamics/general.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

template <class Model, process Process>
class mode_tracking {
  static_assert(assert_score_model<Model>());
  static_assert(has_hessian<Model>,
                "mode_tracking: the model needs `void hessian(double t, const vector<S>& x, "
                "matrix<S>& H) const` (Hessian of log p_t at one point; see has_hessian in "
                "dlogp/core/concepts.hpp)");
  static_assert(has_grad_laplacian<Model>,
                "mode_tracking: the model needs `void grad_laplacian(double t, const "
                "matrix<S>& X, matrix<S>& G) const` (gradient of the Laplacian of log p_t, "
                "batched; see has_grad_laplacian in dlogp/core/concepts.hpp)");

 public:
  using scalar_type = scalar_of<Model>;
  using S = scalar_type;
  /// Sampling only (core/time_direction.hpp): integrate() refuses t_end > t_start.
  static constexpr dynamics_direction direction{time_direction::reverse, "mode_tracking", "pf_ode"};

  /// `t` is the time of the fixed x_t: integrate from t_start = t down to t_end < t, with the
  /// trajectories' x_t as the start state.
  mode_tracking(const Model& model, Process process, double t)
      : model_(&model), process_(std::move(process)), t_(t) {
    detail::require(std::isfinite(t) && t >= process_.t_min() && t <= process_.t_max(),
                    "mode_tracking: time t outside the process range (" + std::to_string(t) +
                        ")");
    alpha_t_ = process_.alpha(t);
    sigma2_t_ = process_.sigma2(t);
  }

  long dimension() const { return model_->dimension(); }
  const Process& process() const { return process_; }
  const Model& model() const { return *model_; }
  /// The time t of the fixed x_t.
  double anchor_time() const { return t_; }

  /// Checked by integrate() before any work: the run starts at or below the anchor time (a
  /// later time inside the run would otherwise be refused mid-run by rate()).
  void check_times(double t_start, double t_end) const {
    const double slack = 1e-12 * std::max(1.0, std::abs(t_));
    const double latest = std::max(t_start, t_end);
    detail::require(latest <= t_ + slack, "mode_tracking: time " + detail::number(latest) +
                                              " is after the anchor time " + detail::number(t_) +
                                              " (integrate from t down)");
  }

  /// v = sigma_t^2 - a^2 sigma_s^2 (clamped at 0: rounding near s = t) and a = alpha_t/alpha_s.
  void posterior_coefficients(double s, double& a, double& v) const {
    a = alpha_t_ / process_.alpha(s);
    v = std::max(sigma2_t_ - a * a * process_.sigma2(s), 0.0);
  }

  /// Three model calls per column: score (with the Laplacian when tracking and the model has
  /// one), Hessian, gradient of the Laplacian.
  long rate(const batch_context& ctx, double s, const matrix<S>& Y, matrix<S>& dY,
            vector<S>& dL) {
    const long D = Y.rows(), N = Y.cols();
    detail::require(s <= t_ + 1e-12 * std::max(1.0, std::abs(t_)),
                    "mode_tracking: time " + std::to_string(s) + " is after the anchor time " +
                        std::to_string(t_) + " (integrate from t down)");
    const double f = process_.f(s), g2 = process_.g2(s);
    double a, v;
    posterior_coefficients(s, a, v);

    score_.resize(D, N);
    lap_.resize(N);
    const bool lap_from_model = has_laplacian<Model> && ctx.track_logp;
    if constexpr (has_laplacian<Model>) {
      if (lap_from_model)
        model_->score_and_laplacian(s, Y, score_, lap_);
      else
        model_->score(s, Y, score_);
    } else {
      model_->score(s, Y, score_);
    }
    model_->grad_laplacian(s, Y, grad_lap_);

    corr_.setZero(D, N);
    point_.resize(D);
    for (long j = 0; j < N; ++j) {
      if (v == 0 && lap_from_model) continue;  // the correction vanishes at s = t
      for (long i = 0; i < D; ++i) point_(i) = Y(i, j);
      model_->hessian(s, point_, hess_);
      if (ctx.track_logp && !lap_from_model) {
        S tr = 0;
        for (long i = 0; i < D; ++i) tr += hess_(i, i);
        lap_(j) = tr;
      }
      if (v == 0) continue;
      // [v H - a^2 I] x = v grad Lap
      system_ = S(v) * hess_;
      for (long i = 0; i < D; ++i) system_(i, i) -= S(a * a);
      rhs_ = S(v) * grad_lap_.col(j);
      ldlt_.f.compute(system_);
      sol_ = ldlt_.f.solve(rhs_);
      corr_.col(j) = sol_;
    }

    dY = S(f) * Y - S(g2) * score_ - S(0.5 * g2) * corr_;
    if (ctx.track_logp)
      detail::logp_rate_along(f, g2, Y, score_, lap_, dY, work_, dots_, dL);
    else
      dL.setZero(N);
    return 3;
  }

 private:
  const Model* model_;
  Process process_;
  double t_, alpha_t_, sigma2_t_;
  matrix<S> score_, grad_lap_, corr_, hess_, system_, work_;
  vector<S> lap_, point_, rhs_, sol_, dots_;
  /// Factorisation workspace, not copied: copying a never-computed Eigen::LDLT reads its
  /// uninitialised status (undefined behaviour, found by UBSan when integrate copies the
  /// dynamics per chunk). Every copy factors its own systems anyway.
  struct ldlt_workspace {
    Eigen::LDLT<matrix<S>> f;
    ldlt_workspace() = default;
    ldlt_workspace(const ldlt_workspace&) {}
    ldlt_workspace& operator=(const ldlt_workspace&) { return *this; }
  };
  ldlt_workspace ldlt_;
};

}  // namespace dlogp

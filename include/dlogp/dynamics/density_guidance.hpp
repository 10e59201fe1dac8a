#pragma once
// Density guidance (docs/notation.md §5.1-5.3): flows that impose how log p_t(x_t) changes, with
// log p tracked along them.
//
//   density_guided_flow  §5.1  u = v + ((div v + b) / |s|^2) s imposes d ell/dt = b_t(x)
//                              (v = PF-ODE field, the flow whose marginals are p_t).
//   dg_ode               §5.2  dx/dt = f x - (1/2) g^2 eta s, eta = 1 + k / |sigma s|^2,
//                              k = sqrt(2D) Phi^{-1}(q); q = 0.5 is pf_ode bit for bit.
//   dg_sde               §5.3  the same log p schedule with noise phi(t) P dW-bar,
//                              P = I - s s^T / |s|^2, phi = phi_tilde(t) g(t).
//
// Blow-up (docs/ground-truth.md T2). For q > 0.5 the guidance pulls the sample towards a mode of
// p_t; for isotropic data the radial variable w = |x|^2 / (c^2 + sigma^2) falls by k per unit of
// log-SNR and the ODE breaks down when w reaches 0 (eta -> infinity, |sigma s|^2 -> 0); a
// discretisation then jumps through the mode and returns plausible-looking garbage. The
// dynamics measure w for any model as w = D |s|^2 / (-Lap) (exact for isotropic Gaussians; the
// squared distance to the mode in units of the mean curvature) and flag a trajectory
// status::eta_blowup when w < blowup_w (default 1: less than half a nat of log-density left
// below the mode along the score), or when eta is undefined (|s| = 0) or not finite. The driver
// then freezes the trajectory at its last good state. Detection needs the Laplacian, so it is
// computed even when log p is not tracked (turn detect_blowup off to save it).
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "dlogp/core/column_ops.hpp"
#include "dlogp/core/concepts.hpp"
#include "dlogp/core/normal_quantile.hpp"
#include "dlogp/core/status.hpp"
#include "dlogp/core/time_direction.hpp"
#include "dlogp/divergence/divergence.hpp"
#include "dlogp/dynamics/pf_ode_rates.hpp"
#include "dlogp/divergence/exact.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

/// How density-guided dynamics track ell = log p_t(x_t).
enum class dg_logp {
  general,   ///< from the dynamics actually applied: docs/notation.md §3.4 (ODE), §3.5 (SDE)
  schedule,  ///< the rate the guidance imposes (docs/notation.md §5.1 b_t; for DG: PF-ODE rate
             ///< + k/2 per unit of log-SNR). Equal to `general` up to rounding when the guidance
             ///< is exact.
};

constexpr const char* to_string(dg_logp m) {
  return m == dg_logp::general ? "general" : "schedule";
}

/// phi_tilde(t) for the DG-SDE: `amplitude` for t in [t_lo, t_hi), 0 elsewhere.
struct noise_window {
  double amplitude = 0;
  double t_lo = -std::numeric_limits<double>::infinity();
  double t_hi = std::numeric_limits<double>::infinity();

  double operator()(double t) const { return (t >= t_lo && t < t_hi) ? amplitude : 0.0; }

  /// Noise everywhere.
  static noise_window always(double amplitude) { return {amplitude}; }
  /// "Late" noise: t < t_split (low noise levels; varies fine detail).
  static noise_window late(double amplitude, double t_split) {
    return {amplitude, -std::numeric_limits<double>::infinity(), t_split};
  }
  /// "Early" noise: t_split <= t < t_hi (high noise levels; varies structure).
  static noise_window early(double amplitude, double t_split,
                            double t_hi = std::numeric_limits<double>::infinity()) {
    return {amplitude, t_split, t_hi};
  }
};

struct dg_ode_options {
  double q = 0.5;                   ///< quantile in (0, 1); > 0.5 raises log p_0, < 0.5 lowers it
  dg_logp logp = dg_logp::general;  ///< how log p is tracked
  bool detect_blowup = true;        ///< flag status::eta_blowup (see the header comment)
  double blowup_w = 1.0;            ///< flag when D |s|^2 / (-Lap) < blowup_w (q > 0.5 only)
  divergence_options divergence{};  ///< Laplacian for log p and blow-up detection
};

struct dg_sde_options {
  double q = 0.5;
  noise_window noise{};              ///< phi_tilde(t); phi = phi_tilde g
  bool project_noise = true;         ///< noise phi P dW-bar (false: phi dW-bar)
  bool laplacian_correction = true;  ///< drift term + (1/2) g^2 phi_tilde^2 Lap / |s|^2 s
  bool hessian_term = false;         ///< exact term -(1/2) phi^2 (s_hat^T H s_hat) / |s|^2 s
  dg_logp logp = dg_logp::general;
  bool detect_blowup = true;
  double blowup_w = 1.0;
  divergence_options divergence{};
};

namespace detail {

inline void check_dg_common(const char* who, double q, double blowup_w) {
  require(q > 0.0 && q < 1.0,
          std::string(who) + ": q must be in (0, 1) (" + std::to_string(q) + ")");
  require(std::isfinite(blowup_w) && blowup_w >= 0,
          std::string(who) + ": blowup_w must be finite and >= 0 (" + std::to_string(blowup_w) +
              ")");
}

inline void flag_column(const batch_context& ctx, long j, status st) {
  if (ctx.flags) ctx.flags[j] = st;
}

/// k = sqrt(2D) Phi^{-1}(q); exactly 0 for q = 1/2.
inline double dg_strength(long D, double q) {
  return std::sqrt(2.0 * double(D)) * normal_quantile(q);
}

/// The blow-up test shared by DG-ODE and DG-SDE (header comment). `lap` may be null (not
/// computed): then only the undefined / non-finite eta cases are caught.
inline bool dg_blown_up(double k, double norm2, double eta, const double* lap, long D,
                        double blowup_w) {
  if (!(norm2 > 0) || !std::isfinite(eta)) return true;
  if (k > 0 && lap && *lap < 0 && double(D) * norm2 < blowup_w * -*lap) return true;
  return false;
}

}  // namespace detail

// ------------------------------------------------------------------------------------------
/// docs/notation.md §5.1: the smallest change of the PF-ODE field v that imposes d ell/dt = b_t(x):
///   dx/dt = v + ((div v + b) / |s|^2) s,   div v = f D - (1/2) g^2 Lap.
/// Target is called once per rate evaluation, batched:
///   void b(double t, const matrix<S>& X, const matrix<S>& score, const vector<S>& lap,
///          vector<S>& out) const;        // out pre-sized to X.cols()
/// b = -div v gives back the PF-ODE. A column with s = 0 (where no change along s can act) is
/// flagged status::eta_blowup unless it needs no correction.
template <class Model, process Process, class Target>
class density_guided_flow {
  static_assert(assert_score_model<Model>());
 public:
  using scalar_type = scalar_of<Model>;
  using S = scalar_type;

  density_guided_flow(const Model& model, Process process, Target target,
                      divergence_options divergence = {}, dg_logp logp = dg_logp::general)
      : model_(&model),
        process_(std::move(process)),
        target_(std::move(target)),
        div_(model, divergence),
        logp_(logp) {}

  long dimension() const { return model_->dimension(); }
  const Process& process() const { return process_; }
  const Model& model() const { return *model_; }

  long rate(const batch_context& ctx, double t, const matrix<S>& X, matrix<S>& dX,
            vector<S>& dL) {
    const long D = X.rows(), N = X.cols();
    const double f = process_.f(t), g2 = process_.g2(t);
    score_.resize(D, N);
    const long evals = div_.score_and_divergence(ctx, t, X, score_, lap_);
    b_.resize(N);
    target_(t, X, score_, lap_, b_);
    detail::column_squared_norms(score_, norms_);
    dX.resize(D, N);
    dL.resize(N);
    for (long j = 0; j < N; ++j) {
      const double div_v = -pf_ode_log_p_rate(f, g2, double(lap_(j)), D);
      const double need = div_v + double(b_(j));
      const double n = double(norms_(j));
      const double c = need == 0 ? 0.0 : need / n;
      if (!std::isfinite(c)) {
        detail::flag_column(ctx, j, status::eta_blowup);
        dX.col(j).setZero();
        dL(j) = 0;
        continue;
      }
      const S* x = X.data() + j * D;
      const S* s = score_.data() + j * D;
      S* dx = dX.data() + j * D;
      const S a = S(f), h = S(0.5 * g2), cs = S(c);
      S acc = 0;  // (u - v)^T s, from what is applied
      for (long i = 0; i < D; ++i) {
        const S v = a * x[i] - h * s[i];
        dx[i] = v + cs * s[i];
        acc += (dx[i] - v) * s[i];
      }
      if (!ctx.track_logp) {
        dL(j) = 0;
      } else if (logp_ == dg_logp::general) {
        dL(j) = S(-div_v + double(acc));  // docs/notation.md §3.4
      } else {
        dL(j) = b_(j);
      }
    }
    return evals;
  }

 private:
  const Model* model_;
  Process process_;
  Target target_;
  divergence_estimator<Model> div_;
  dg_logp logp_;
  matrix<S> score_;
  vector<S> lap_, norms_, b_;
};

// ------------------------------------------------------------------------------------------
/// DG-ODE (docs/notation.md §5.2): dx/dt = f x - (1/2) g^2 eta s, eta = 1 + sqrt(2D) Phi^{-1}(q) /
/// |sigma s|^2. Adds (1/2) sqrt(2D) Phi^{-1}(q) nats per unit of log-SNR travelled to the PF-ODE's
/// change of log p. Log p (both modes need the Laplacian):
///   general   d ell/dt = -div v + (u - v)^T s      (docs/notation.md §3.4, from the drift applied)
///   schedule  d ell/dt = -div v - (1/2) g^2 k / sigma^2
/// q = 0.5 takes pf_ode's arithmetic and is bit-identical to it (x, log p and evaluations).
template <class Model, process Process>
class dg_ode {
  static_assert(assert_score_model<Model>());
 public:
  using scalar_type = scalar_of<Model>;
  using S = scalar_type;
  /// Sampling only (core/time_direction.hpp): integrate() refuses t_end > t_start.
  static constexpr dynamics_direction direction{time_direction::reverse, "dg_ode", "pf_ode"};

  dg_ode(const Model& model, Process process, dg_ode_options options = {})
      : model_(&model),
        process_(std::move(process)),
        opt_(checked(options)),
        div_(model, opt_.divergence),
        k_(detail::dg_strength(model.dimension(), opt_.q)) {}

  long dimension() const { return model_->dimension(); }
  const Process& process() const { return process_; }
  const Model& model() const { return *model_; }
  const dg_ode_options& options() const { return opt_; }
  /// k = sqrt(2D) Phi^{-1}(q).
  double strength() const { return k_; }

  long rate(const batch_context& ctx, double t, const matrix<S>& X, matrix<S>& dX,
            vector<S>& dL) {
    const double f = process_.f(t), g2 = process_.g2(t);
    score_.resize(X.rows(), X.cols());
    if (k_ == 0) {
      // q = 0.5: the PF-ODE's own rates (pf_ode_rates.hpp).
      long evals = 1;
      if (ctx.track_logp) {
        evals = div_.score_and_divergence(ctx, t, X, score_, lap_);
        dL = pf_ode_log_p_rate<S>(f, g2, lap_, X.rows());
      } else {
        model_->score(t, X, score_);
        dL.setZero(X.cols());
      }
      dX = pf_ode_velocity<S>(f, g2, X, score_);
      return evals;
    }
    const long D = X.rows(), N = X.cols();
    const bool need_lap = ctx.track_logp || (opt_.detect_blowup && k_ > 0);
    long evals = 1;
    if (need_lap)
      evals = div_.score_and_divergence(ctx, t, X, score_, lap_);
    else
      model_->score(t, X, score_);
    detail::column_squared_norms(score_, norms_);
    const double s2 = process_.sigma2(t);
    dX.resize(D, N);
    dL.resize(N);
    for (long j = 0; j < N; ++j) {
      const double n = double(norms_(j));
      const double eta = 1.0 + k_ / (s2 * n);
      const double lap = need_lap ? double(lap_(j)) : 0.0;
      if (opt_.detect_blowup
              ? detail::dg_blown_up(k_, n, eta, need_lap ? &lap : nullptr, D, opt_.blowup_w)
              : !std::isfinite(eta)) {
        detail::flag_column(ctx, j, status::eta_blowup);
        dX.col(j).setZero();
        dL(j) = 0;
        continue;
      }
      const S* x = X.data() + j * D;
      const S* s = score_.data() + j * D;
      S* dx = dX.data() + j * D;
      const S a = S(f), h = S(0.5 * g2), he = S(0.5 * g2 * eta);
      S acc = 0;  // (u - v)^T s
      for (long i = 0; i < D; ++i) {
        dx[i] = a * x[i] - he * s[i];
        acc += (dx[i] - (a * x[i] - h * s[i])) * s[i];
      }
      if (!ctx.track_logp) {
        dL(j) = 0;
      } else {
        const double minus_div_v = pf_ode_log_p_rate(f, g2, lap, D);
        dL(j) = opt_.logp == dg_logp::general ? S(minus_div_v + double(acc))
                                              : S(minus_div_v - 0.5 * g2 * k_ / s2);
      }
    }
    return evals;
  }

 private:
  static dg_ode_options checked(dg_ode_options o) {
    detail::check_dg_common("dg_ode", o.q, o.blowup_w);
    return o;
  }

  const Model* model_;
  Process process_;
  dg_ode_options opt_;
  divergence_estimator<Model> div_;
  double k_;
  matrix<S> score_;
  vector<S> lap_, norms_;
};

// ------------------------------------------------------------------------------------------
/// DG-SDE (docs/notation.md §5.3), for euler_maruyama: noise phi P dW-bar with phi = phi_tilde(t)
/// g(t), P = I - s_hat s_hat^T (or I without projection), drift
///   f x - (1/2) g^2 (eta - phi_tilde^2 Lap / |s|^2) s  [- (1/2) phi^2 (s_hat^T H s_hat)/|s|^2 s].
/// With projection, the Laplacian correction and the Hessian term, the rate of log p is the
/// DG-ODE's exactly; without the Hessian term it is off by (1/2) phi^2 s_hat^T H s_hat, O(1)
/// against O(D) (docs/notation.md §5.3). Log p:
///   general   docs/notation.md §3.5 with G = phi P: [-f D + <s, u - f x> + (1/2) g^2 (Lap + |s|^2)
///             - (1/2) tr(G G^T H)] dt + <s, G dW-bar>; needs s_hat^T H s_hat (one score JVP)
///             when the noise is projected and the Hessian term is off.
///   schedule  the DG-ODE rate, no noise term.
template <class Model, process Process>
class dg_sde {
  static_assert(assert_score_model<Model>());
 public:
  using scalar_type = scalar_of<Model>;
  using S = scalar_type;
  /// Sampling only (core/time_direction.hpp): integrate() refuses t_end > t_start.
  static constexpr dynamics_direction direction{time_direction::reverse, "dg_sde", "forward_sde"};

  dg_sde(const Model& model, Process process, dg_sde_options options = {})
      : model_(&model),
        process_(std::move(process)),
        opt_(checked(options)),
        div_(model, opt_.divergence),
        jvp_(model),
        k_(detail::dg_strength(model.dimension(), opt_.q)) {}

  long dimension() const { return model_->dimension(); }
  const Process& process() const { return process_; }
  const Model& model() const { return *model_; }
  const dg_sde_options& options() const { return opt_; }
  double strength() const { return k_; }

  long sde_terms(const batch_context& ctx, double t, const matrix<S>& X, const matrix<S>& Z,
                 matrix<S>& drift, vector<S>& dL, matrix<S>& noise_x, vector<S>& noise_l) {
    const long D = X.rows(), N = X.cols();
    const double f = process_.f(t), g2 = process_.g2(t), s2 = process_.sigma2(t);
    const double pt = opt_.noise(t), pt2 = pt * pt, phi2 = pt2 * g2, phi = std::sqrt(phi2);
    const bool noisy = pt != 0;
    const bool track = ctx.track_logp;
    const bool need_lap = track || (noisy && opt_.laplacian_correction) ||
                          (opt_.detect_blowup && k_ > 0);
    const bool need_shs = noisy && (opt_.hessian_term ||
                                    (track && opt_.logp == dg_logp::general && opt_.project_noise));
    score_.resize(D, N);
    long evals = 1;
    if (need_lap)
      evals = div_.score_and_divergence(ctx, t, X, score_, lap_);
    else
      model_->score(t, X, score_);
    detail::column_squared_norms(score_, norms_);
    if (need_shs) {
      // s_hat^T H s_hat = s_hat^T J s_hat: one Jacobian-vector product along s_hat.
      unit_.resize(D, N);
      for (long j = 0; j < N; ++j) {
        const S inv = norms_(j) > 0 ? S(1) / S(std::sqrt(double(norms_(j)))) : S(0);
        for (long i = 0; i < D; ++i) unit_(i, j) = score_(i, j) * inv;
      }
      evals += jvp_.score_and_jvp(t, X, unit_, nullptr, jv_);
      detail::column_dots(unit_, jv_, shs_);
    }
    // Division by |s|^2 happens for eta (k != 0) and for the projection and the corrections.
    const bool divides = k_ != 0 || (noisy && (opt_.project_noise || opt_.laplacian_correction ||
                                               opt_.hessian_term));
    drift.resize(D, N);
    noise_x.resize(D, N);
    dL.resize(N);
    noise_l.resize(N);
    for (long j = 0; j < N; ++j) {
      const double n = double(norms_(j));
      const double eta = k_ == 0 ? 1.0 : 1.0 + k_ / (s2 * n);
      const double lap = need_lap ? double(lap_(j)) : 0.0;
      bool bad = false;
      if (divides) {
        bad = opt_.detect_blowup
                  ? detail::dg_blown_up(k_, n, eta, need_lap ? &lap : nullptr, D, opt_.blowup_w)
                  : !(n > 0) || !std::isfinite(eta);
      }
      if (bad) {
        detail::flag_column(ctx, j, status::eta_blowup);
        drift.col(j).setZero();
        noise_x.col(j).setZero();
        dL(j) = 0;
        noise_l(j) = 0;
        continue;
      }
      const double shs = need_shs ? double(shs_(j)) : 0.0;
      double coef = 0.5 * g2 * eta;  // drift = f x - coef s
      if (noisy && opt_.laplacian_correction) coef -= 0.5 * g2 * pt2 * lap / n;
      if (noisy && opt_.hessian_term) coef += 0.5 * phi2 * shs / n;
      const S* x = X.data() + j * D;
      const S* s = score_.data() + j * D;
      const S* z = Z.data() + j * D;
      S* dr = drift.data() + j * D;
      S* nx = noise_x.data() + j * D;
      const S a = S(f), c = S(coef), ph = S(phi);
      for (long i = 0; i < D; ++i) dr[i] = a * x[i] - c * s[i];
      if (noisy && opt_.project_noise) {
        const S sz = detail::dot_fixed_order(s, z, D);
        const S r = S(double(sz) / n);
        for (long i = 0; i < D; ++i) nx[i] = ph * (z[i] - r * s[i]);
      } else {
        for (long i = 0; i < D; ++i) nx[i] = ph * z[i];
      }
      if (!track) {
        dL(j) = 0;
        noise_l(j) = 0;
        continue;
      }
      const double minus_div_v = pf_ode_log_p_rate(f, g2, lap, D);
      if (opt_.logp == dg_logp::schedule) {
        dL(j) = S(minus_div_v - 0.5 * g2 * k_ / s2);
        noise_l(j) = 0;
      } else {
        const double tr_ggh = !noisy ? 0.0 : opt_.project_noise ? phi2 * (lap - shs) : phi2 * lap;
        // <s, u - f x> = -coef |s|^2; docs/notation.md §3.5.
        dL(j) = S(-f * double(D) - coef * n + 0.5 * g2 * (lap + n) - 0.5 * tr_ggh);
        noise_l(j) = detail::dot_fixed_order(s, nx, D);
      }
    }
    return evals;
  }

 private:
  static dg_sde_options checked(dg_sde_options o) {
    detail::check_dg_common("dg_sde", o.q, o.blowup_w);
    const noise_window& w = o.noise;
    detail::require(std::isfinite(w.amplitude) && w.amplitude >= 0,
                    "dg_sde: noise amplitude must be finite and >= 0 (" +
                        std::to_string(w.amplitude) + ")");
    detail::require(!std::isnan(w.t_lo) && !std::isnan(w.t_hi) && w.t_lo < w.t_hi,
                    "dg_sde: noise window needs t_lo < t_hi (" + std::to_string(w.t_lo) + ", " +
                        std::to_string(w.t_hi) + ")");
    return o;
  }

  const Model* model_;
  Process process_;
  dg_sde_options opt_;
  divergence_estimator<Model> div_;
  detail::score_jvp_engine<Model> jvp_;
  double k_;
  matrix<S> score_, unit_, jv_;
  vector<S> lap_, norms_, shs_;
};

}  // namespace dlogp

#pragma once
// Exact divergence of a score field, div s = trace(J) = Laplacian of log p_t (docs/notation.md §6),
// and the Jacobian-vector products it and Hutchinson's estimator are built from.
//
// Routes, best first, chosen at compile time from what the model offers:
//   laplacian          model.score_and_laplacian(t, X, S, lap)            cost 1 (or laplacian_cost())
//   jvp                model.score_jvp(t, X, V, S, JV), V = e_1 .. e_D      cost D
//   dual               model.score on dual<Scalar> matrices seeded on e_i  cost D
//   finite-difference  central differences, one coordinate at a time      cost 2D + 1
// Costs are score-evaluation equivalents per column; a JVP counts as one evaluation.
// Hutchinson's estimator (hutchinson.hpp) also takes a fifth route, vjp (model.score_vjp:
// z^T J z = z^T (J^T z)), never used for the exact divergence: D reverse passes would be a
// Laplacian, which a model with reverse mode offers itself.
#include <algorithm>
#include <cmath>
#include <concepts>
#include <limits>

#include "dlogp/core/column_ops.hpp"
#include "dlogp/core/concepts.hpp"
#include "dlogp/core/dual.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

/// How a divergence (or a Jacobian-vector product) is obtained from the model.
enum class divergence_route { laplacian, jvp, dual, finite_difference, vjp };

constexpr const char* to_string(divergence_route r) {
  switch (r) {
    case divergence_route::laplacian: return "laplacian";
    case divergence_route::jvp: return "jvp";
    case divergence_route::dual: return "dual";
    case divergence_route::finite_difference: return "finite-difference";
    case divergence_route::vjp: return "vjp";
  }
  return "unknown";
}

/// The model's score is a member template on the scalar type, so it accepts dual matrices:
///   template <class T> void score(double t, const matrix<T>& X, matrix<T>& S) const;
template <class M>
concept has_dual_score =
    score_model<M> && requires(const M& m, double t, const matrix<dual<scalar_of<M>>>& X,
                               matrix<dual<scalar_of<M>>>& S) { m.score(t, X, S); };

/// Optional: the cost of score_and_laplacian in score evaluations per column (default 1).
template <class M>
concept has_laplacian_cost = requires(const M& m) {
  { m.laplacian_cost() } -> std::convertible_to<long>;
};

/// Optional: score-evaluation equivalents per column of one score_jvp call, with the score
/// wanted or not (default 1) -- for a model that forwards to another route at run time
/// (any_score_model), so evaluation counts do not depend on how a model is wrapped.
template <class M>
concept has_jvp_cost = requires(const M& m, bool with_score) {
  { m.jvp_cost(with_score) } -> std::convertible_to<long>;
};

/// Route of Jacobian-vector products for M (never `laplacian`).
template <score_model M>
inline constexpr divergence_route score_jvp_route_v =
    has_score_jvp<M>    ? divergence_route::jvp
    : has_dual_score<M> ? divergence_route::dual
                        : divergence_route::finite_difference;

/// Route of Hutchinson's probes for M: vjp when the model has score_vjp, else its JVP route.
template <score_model M>
inline constexpr divergence_route hutchinson_route_v =
    has_score_vjp<M> ? divergence_route::vjp : score_jvp_route_v<M>;

/// Route of the exact divergence for M.
template <score_model M>
inline constexpr divergence_route exact_divergence_route_v =
    has_laplacian<M> ? divergence_route::laplacian : score_jvp_route_v<M>;

namespace detail {

/// cbrt(eps): the step that balances the O(h^2) truncation of a central difference against
/// its O(eps / h) rounding, giving an O(eps^(2/3)) relative error.
template <class Scalar>
Scalar central_difference_step() {
  return Scalar(std::cbrt(double(std::numeric_limits<Scalar>::epsilon())));
}

/// Batched score and Jacobian-vector products J(X) V through the best route the model has.
/// Holds the workspaces; one per thread.
template <score_model M>
class score_jvp_engine {
 public:
  using S = scalar_of<M>;
  static constexpr divergence_route route = score_jvp_route_v<M>;

  explicit score_jvp_engine(const M& model) : model_(&model) {}

  /// JV = J(X) V per column and, if `score` is not null, *score = s(X).
  /// Returns score-evaluation equivalents per column: 1 for jvp / dual (the score comes
  /// with it), 2 (+1 for the score) for a central difference along V.
  /// Finite differences: per column h = cbrt(eps) max(1, |x|_inf) / max(1, |v|_inf), and
  /// (s(x + h v) - s(x - h v)) / (2h) = J v + O(h^2 |v|^3 |d^3 s|) + O(eps |s| / h).
  long score_and_jvp(double t, const matrix<S>& X, const matrix<S>& V, matrix<S>* score,
                     matrix<S>& JV) {
    const long D = X.rows(), N = X.cols();
    JV.resize(D, N);
    if constexpr (route == divergence_route::jvp) {
      matrix<S>& s = score ? *score : s_plus_;
      s.resize(D, N);
      model_->score_jvp(t, X, V, s, JV);
      if constexpr (has_jvp_cost<M>) return long(model_->jvp_cost(score != nullptr));
      return 1;
    } else if constexpr (route == divergence_route::dual) {
      xd_.resize(D, N);
      sd_.resize(D, N);
      for (long j = 0; j < N; ++j)
        for (long i = 0; i < D; ++i) xd_(i, j) = dual<S>(X(i, j), V(i, j));
      model_->score(t, xd_, sd_);
      for (long j = 0; j < N; ++j)
        for (long i = 0; i < D; ++i) JV(i, j) = sd_(i, j).d;
      if (score) {
        score->resize(D, N);
        for (long j = 0; j < N; ++j)
          for (long i = 0; i < D; ++i) (*score)(i, j) = sd_(i, j).v;
      }
      return 1;
    } else {
      const S h0 = central_difference_step<S>();
      x_plus_.resize(D, N);
      x_minus_.resize(D, N);
      step_.resize(N);
      for (long j = 0; j < N; ++j) {
        S xmax = 0, vmax = 0;
        for (long i = 0; i < D; ++i) {
          xmax = std::max(xmax, S(std::abs(X(i, j))));
          vmax = std::max(vmax, S(std::abs(V(i, j))));
        }
        const S h = h0 * std::max(S(1), xmax) / std::max(S(1), vmax);
        step_(j) = h;
        for (long i = 0; i < D; ++i) {
          x_plus_(i, j) = X(i, j) + h * V(i, j);
          x_minus_(i, j) = X(i, j) - h * V(i, j);
        }
      }
      s_plus_.resize(D, N);
      s_minus_.resize(D, N);
      model_->score(t, x_plus_, s_plus_);
      model_->score(t, x_minus_, s_minus_);
      for (long j = 0; j < N; ++j) {
        const S inv = S(1) / (S(2) * step_(j));
        for (long i = 0; i < D; ++i) JV(i, j) = (s_plus_(i, j) - s_minus_(i, j)) * inv;
      }
      if (!score) return 2;
      score->resize(D, N);
      model_->score(t, X, *score);
      return 3;
    }
  }

 private:
  const M* model_;
  matrix<S> x_plus_, x_minus_, s_plus_, s_minus_;
  vector<S> step_;
  matrix<dual<S>> xd_, sd_;
};

}  // namespace detail

/// Exact divergence of the model's score, batched over columns. Holds workspaces: use one
/// per thread. Every per-column sum runs over i = 1..D in order, so a column's result does
/// not depend on the batch it is in.
template <score_model M>
class exact_divergence {
 public:
  using scalar_type = scalar_of<M>;
  using S = scalar_type;
  static constexpr divergence_route route = exact_divergence_route_v<M>;

  explicit exact_divergence(const M& model) : model_(&model), engine_(model) {}

  /// Score-evaluation equivalents per column of one score_and_divergence call.
  long cost() const {
    const long D = model_->dimension();
    if constexpr (route == divergence_route::laplacian) {
      if constexpr (has_laplacian_cost<M>) return long(model_->laplacian_cost());
      return 1;
    } else if constexpr (route == divergence_route::finite_difference) {
      return 2 * D + 1;
    } else if constexpr (has_jvp_cost<M>) {
      return long(model_->jvp_cost(true)) + (D - 1) * long(model_->jvp_cost(false));
    } else {
      return D;
    }
  }

  /// score = s(t, X) (D x N), div = trace of its Jacobian per column (N). Returns cost().
  /// The finite-difference route steps h_i = cbrt(eps) max(1, |x_i|) along each coordinate
  /// and divides by the representable step; its error is O(h^2 |d^3 s|) + O(eps |s| / h).
  /// The dual route returns the value part of the dual evaluation as the score.
  long score_and_divergence(double t, const matrix<S>& X, matrix<S>& score, vector<S>& div) {
    const long D = model_->dimension(), N = X.cols();
    // Tested before the message is built: this runs once per rate evaluation, and building
    // the std::string was the only heap allocation of a PF-ODE step (RESULTS.md).
    if (X.rows() != D) detail::require_dimension(D, X.rows(), "divergence: rows of X");
    score.resize(D, N);
    div.resize(N);
    if constexpr (route == divergence_route::laplacian) {
      model_->score_and_laplacian(t, X, score, div);
    } else if constexpr (route == divergence_route::finite_difference) {
      finite_difference(t, X, score, div);
    } else {
      div.setZero();
      basis_.setZero(D, N);
      for (long i = 0; i < D; ++i) {
        if (i > 0) basis_.row(i - 1).setZero();
        basis_.row(i).setOnes();
        engine_.score_and_jvp(t, X, basis_, i == 0 ? &score : nullptr, jv_);
        for (long j = 0; j < N; ++j) div(j) += jv_(i, j);
      }
    }
    return cost();
  }

 private:
  void finite_difference(double t, const matrix<S>& X, matrix<S>& score, vector<S>& div) {
    const long D = X.rows(), N = X.cols();
    const S h0 = detail::central_difference_step<S>();
    model_->score(t, X, score);
    x_plus_ = X;
    x_minus_ = X;
    s_plus_.resize(D, N);
    s_minus_.resize(D, N);
    div.setZero();
    for (long i = 0; i < D; ++i) {
      for (long j = 0; j < N; ++j) {
        const S h = h0 * std::max(S(1), S(std::abs(X(i, j))));
        x_plus_(i, j) = X(i, j) + h;
        x_minus_(i, j) = X(i, j) - h;
      }
      model_->score(t, x_plus_, s_plus_);
      model_->score(t, x_minus_, s_minus_);
      for (long j = 0; j < N; ++j) {
        div(j) += (s_plus_(i, j) - s_minus_(i, j)) / (x_plus_(i, j) - x_minus_(i, j));
        x_plus_(i, j) = X(i, j);
        x_minus_(i, j) = X(i, j);
      }
    }
  }

  const M* model_;
  detail::score_jvp_engine<M> engine_;
  matrix<S> basis_, jv_, x_plus_, x_minus_, s_plus_, s_minus_;
};

}  // namespace dlogp

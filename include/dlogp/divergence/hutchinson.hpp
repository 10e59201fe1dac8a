#pragma once
// Hutchinson's estimator of the divergence of the score (docs/notation.md §6):
//   div s = E[z^T J z],   averaged over K probes z with E[z z^T] = I.
// Variance of one probe for symmetric J: Rademacher 2 sum_{i != j} J_ij^2, Gaussian
// 2 |J|_F^2, so Rademacher is never worse; K probes divide it by K.
// Probe k of a trajectory is a pure function of (seed, trajectory id, k): the same z at every
// time and every call, as adaptive solvers need (the estimate is a smooth function of x), and
// independent of the batch the trajectory is evaluated in.
#include <cstdint>
#include <string>

#include "dlogp/core/column_ops.hpp"
#include "dlogp/core/concepts.hpp"
#include "dlogp/core/random.hpp"
#include "dlogp/divergence/exact.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

enum class probe_kind { rademacher, gaussian };

constexpr const char* to_string(probe_kind k) {
  return k == probe_kind::rademacher ? "rademacher" : "gaussian";
}

/// Writes probe k (D entries) of trajectory `trajectory`: draws k*D .. k*D + D - 1 of
/// random_stream(seed, trajectory, purpose::probe).
template <class Scalar>
void fill_probe(std::uint64_t seed, std::uint64_t trajectory, int k, probe_kind kind,
                Scalar* out, long D) {
  const random_stream rs(seed, trajectory, purpose::probe);
  const std::uint64_t first = std::uint64_t(k) * std::uint64_t(D);
  if (kind == probe_kind::rademacher)
    rs.fill_rademacher(first, out, D);
  else
    rs.fill_normal(first, out, D);
}

/// Hutchinson estimate of the divergence of the model's score, batched over columns, with
/// z^T J z from the model's reverse mode when it has one (score_vjp: z^T (J^T z), one reverse
/// pass per probe, and one forward pass for all K probes with score_vjp_blocks), else from its
/// JVP route (score_jvp, dual numbers or a central difference along z). Every route draws the
/// same probes and sums z . (Jz or J^T z) in the same order. Holds workspaces: use one per
/// thread.
template <score_model M>
class hutchinson_divergence {
 public:
  using scalar_type = scalar_of<M>;
  using S = scalar_type;
  static constexpr divergence_route route = hutchinson_route_v<M>;

  hutchinson_divergence(const M& model, int probes = 1, probe_kind kind = probe_kind::rademacher)
      : model_(&model), engine_(model), probes_(probes), kind_(kind) {
    detail::require(probes >= 1,
                    "divergence: probes must be >= 1 (" + std::to_string(probes) + ")");
  }

  int probes() const { return probes_; }
  probe_kind probe() const { return kind_; }

  /// Score-evaluation equivalents per column of one call. A JVP (which brings the score with
  /// it) counts as one evaluation, as in exact.hpp: K on the jvp and dual routes; 2 per probe
  /// on the finite-difference route, plus 1 for the score. On the vjp route a forward pass and
  /// a reverse pass count one each: 1 + K with score_vjp_blocks (one forward for all probes),
  /// 2 K with K separate score_vjp calls.
  long cost() const {
    if constexpr (route == divergence_route::finite_difference) return 2L * probes_ + 1;
    if constexpr (route == divergence_route::vjp)
      return has_score_vjp_blocks<M> ? 1L + probes_ : 2L * probes_;
    if constexpr (has_jvp_cost<M>)
      return long(model_->jvp_cost(true)) + (probes_ - 1) * long(model_->jvp_cost(false));
    return long(probes_);
  }

  /// score = s(t, X) (D x N), div = (1/K) sum_k z_k^T J z_k per column (N); probes are keyed
  /// by ctx.seed and ctx.ids (one id per column). Returns cost().
  long score_and_divergence(const batch_context& ctx, double t, const matrix<S>& X,
                            matrix<S>& score, vector<S>& div) {
    const long D = model_->dimension(), N = X.cols();
    // Conditions tested before any message is built (no heap allocation per call).
    if (X.rows() != D) detail::require_dimension(D, X.rows(), "divergence: rows of X");
    if (N != ctx.size) detail::require_dimension(N, ctx.size, "divergence: batch_context size");
    if (N != 0 && ctx.ids == nullptr)
      detail::require(false,
                      "divergence: hutchinson probes need trajectory ids (batch_context.ids is null)");
    score.resize(D, N);
    div.setZero(N);
    if constexpr (route == divergence_route::vjp) {
      if constexpr (has_score_vjp_blocks<M>) {
        // All K probes side by side (block k = columns k N .. k N + N - 1): one forward pass.
        z_.resize(D, N * probes_);
        for (int k = 0; k < probes_; ++k)
          for (long j = 0; j < N; ++j)
            fill_probe(ctx.seed, ctx.ids[j], k, kind_, z_.data() + (k * N + j) * D, D);
        jz_.resize(D, N * probes_);
        model_->score_vjp_blocks(t, X, z_, score, jz_);
        for (int k = 0; k < probes_; ++k)
          for (long j = 0; j < N; ++j)
            div(j) += detail::dot_fixed_order(z_.data() + (k * N + j) * D,
                                              jz_.data() + (k * N + j) * D, D);
      } else {
        z_.resize(D, N);
        jz_.resize(D, N);
        s_extra_.resize(D, N);
        for (int k = 0; k < probes_; ++k) {
          for (long j = 0; j < N; ++j)
            fill_probe(ctx.seed, ctx.ids[j], k, kind_, z_.data() + j * D, D);
          model_->score_vjp(t, X, z_, k == 0 ? score : s_extra_, jz_);
          for (long j = 0; j < N; ++j)
            div(j) += detail::dot_fixed_order(z_.data() + j * D, jz_.data() + j * D, D);
        }
      }
      div /= S(probes_);
      return cost();
    }
    z_.resize(D, N);
    for (int k = 0; k < probes_; ++k) {
      for (long j = 0; j < N; ++j) fill_probe(ctx.seed, ctx.ids[j], k, kind_, z_.data() + j * D, D);
      engine_.score_and_jvp(t, X, z_, k == 0 ? &score : nullptr, jz_);
      for (long j = 0; j < N; ++j)
        div(j) += detail::dot_fixed_order(z_.data() + j * D, jz_.data() + j * D, D);
    }
    div /= S(probes_);
    return cost();
  }

 private:
  const M* model_;
  detail::score_jvp_engine<M> engine_;
  int probes_;
  probe_kind kind_;
  matrix<S> z_, jz_, s_extra_;
};

}  // namespace dlogp

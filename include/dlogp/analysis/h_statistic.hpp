#pragma once
// The h statistic behind density guidance (docs/notation.md §5.2):
//   h_t(x) = sigma_t^2 (Lap log p_t(x) + |s_t(x)|^2) / sqrt(2D).
// Under x ~ p_t it has mean 0 (E[Lap] = -E|s|^2, integration by parts) and variance <= 1; for
// isotropic Gaussian data of variance c^2 its standard deviation is sigma^2 / (alpha^2 c^2 +
// sigma^2) (docs/ground-truth.md T6). DG-ODE replaces the PF-ODE's h by the quantile Phi^{-1}(q).
#include <cmath>
#include <cstdint>
#include <vector>

#include "dlogp/core/column_ops.hpp"
#include "dlogp/core/concepts.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/divergence/divergence.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

/// h_t at every column of X. The Laplacian comes from the divergence options (exact by
/// default; Hutchinson probes keyed by `seed` and trajectory ids first_id + j, which adds the
/// estimator's noise to h).
template <score_model Model, process Process, class S = scalar_of<Model>>
vector<S> h_statistic(const Model& model, const Process& process, double t,
                      const std::type_identity_t<matrix<S>>& X, divergence_options divergence = {},
                      std::uint64_t seed = 0, std::uint64_t first_id = 0) {
  const long D = model.dimension(), N = X.cols();
  detail::require_dimension(D, X.rows(), "h_statistic: rows of X");
  const double s2 = process.sigma2(t);
  detail::require(std::isfinite(s2) && s2 > 0,
                  "h_statistic: need sigma(t)^2 > 0 (t = " + std::to_string(t) + ")");
  std::vector<std::uint64_t> ids(static_cast<std::size_t>(N));
  for (long j = 0; j < N; ++j) ids[std::size_t(j)] = first_id + std::uint64_t(j);
  const batch_context ctx{seed, ids.data(), N, true, nullptr};
  divergence_estimator<Model> est(model, divergence);
  matrix<S> score(D, N);
  vector<S> lap, norms;
  est.score_and_divergence(ctx, t, X, score, lap);
  detail::column_squared_norms(score, norms);
  vector<S> h(N);
  const double scale = s2 / std::sqrt(2.0 * double(D));
  for (long j = 0; j < N; ++j) h(j) = S(scale * (double(lap(j)) + double(norms(j))));
  return h;
}

}  // namespace dlogp

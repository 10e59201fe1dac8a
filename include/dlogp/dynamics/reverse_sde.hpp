#pragma once
// Reverse SDE, plain or augmented (docs/notation.md §3.2, Theorem 1 of the first paper):
//   dx = (f x - g^2 s) dt + g dW-bar,
//   d ell = (-f D - (1/2) g^2 |s|^2) dt + g s^T dW-bar   (the SAME increment as x).
// Tracking log p costs two dot products per trajectory: no divergence, no extra score call.
#include <cmath>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/pinned_fp.hpp"
#include "dlogp/core/time_direction.hpp"

DLOGP_PINNED_FP_BEGIN
namespace dlogp {

template <class Model, process Process>
class reverse_sde {
  static_assert(assert_score_model<Model>());
 public:
  using scalar_type = scalar_of<Model>;
  using S = scalar_type;
  /// Sampling only (core/time_direction.hpp): integrate() refuses t_end > t_start.
  static constexpr dynamics_direction direction{time_direction::reverse, "reverse_sde", "forward_sde"};

  reverse_sde(const Model& model, Process process)
      : model_(&model), process_(std::move(process)) {}

  long dimension() const { return model_->dimension(); }
  const Process& process() const { return process_; }

  long sde_terms(const batch_context& ctx, double t, const matrix<S>& X, const matrix<S>& Z,
                 matrix<S>& drift, vector<S>& dL, matrix<S>& noise_x, vector<S>& noise_l) {
    const double f = process_.f(t), g2 = process_.g2(t), g = std::sqrt(g2);
    score_.resize(X.rows(), X.cols());
    model_->score(t, X, score_);
    drift = S(f) * X - S(g2) * score_;
    noise_x = S(g) * Z;
    if (ctx.track_logp) {
      // |s|^2 and s.z in one pass over the column, each with four partial sums (a fixed order
      // that depends only on D, like gmm's dot4): two single-chain reductions in separate
      // passes made tracking cost ~4% of a D = 64 step; now ~1% (benchmarks/RESULTS.md, item 2).
      const long D = X.rows(), N = X.cols();
      dL.resize(N);
      noise_l.resize(N);
      const S a = S(-f * double(D)), b = S(0.5 * g2), c = S(g);
      for (long j = 0; j < N; ++j) {
        const S* s = score_.data() + j * D;
        const S* z = Z.data() + j * D;
        S n0 = 0, n1 = 0, n2 = 0, n3 = 0, d0 = 0, d1 = 0, d2 = 0, d3 = 0;
        long i = 0;
        for (; i + 4 <= D; i += 4) {
          n0 += s[i] * s[i];
          n1 += s[i + 1] * s[i + 1];
          n2 += s[i + 2] * s[i + 2];
          n3 += s[i + 3] * s[i + 3];
          d0 += s[i] * z[i];
          d1 += s[i + 1] * z[i + 1];
          d2 += s[i + 2] * z[i + 2];
          d3 += s[i + 3] * z[i + 3];
        }
        for (; i < D; ++i) {
          n0 += s[i] * s[i];
          d0 += s[i] * z[i];
        }
        dL(j) = a - b * ((n0 + n1) + (n2 + n3));
        noise_l(j) = c * ((d0 + d1) + (d2 + d3));
      }
    } else {
      dL.setZero(X.cols());
      noise_l.setZero(X.cols());
    }
    return 1;
  }

 private:
  const Model* model_;
  Process process_;
  matrix<S> score_;
};

}  // namespace dlogp
DLOGP_PINNED_FP_END

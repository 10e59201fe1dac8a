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
  const Model& model() const { return *model_; }
  const Process& process() const { return process_; }

  long sde_terms(const batch_context& ctx, double t, const matrix<S>& X, const matrix<S>& Z,
                 matrix<S>& drift, vector<S>& dL, matrix<S>& noise_x, vector<S>& noise_l) {
    score_.resize(X.rows(), X.cols());
    model_->score(t, X, score_);
    terms_from_score(ctx, t, X, score_, Z, drift, dL, noise_x, noise_l);
    return 1;
  }

  /// sde_terms from a score already evaluated at (t, X): the predictor-corrector sampler's
  /// predictor uses the score its Langevin mover holds (sampler/pc.hpp).
  void terms_from_score(const batch_context& ctx, double t, const matrix<S>& X,
                        const matrix<S>& score, const matrix<S>& Z, matrix<S>& drift,
                        vector<S>& dL, matrix<S>& noise_x, vector<S>& noise_l) const {
    const double f = process_.f(t), g2 = process_.g2(t), g = std::sqrt(g2);
    drift = S(f) * X - S(g2) * score;
    noise_x = S(g) * Z;
    if (ctx.track_logp) {
      const long D = X.rows(), N = X.cols();
      dL.resize(N);
      noise_l.resize(N);
      const S a = S(-f * double(D)), b = S(0.5 * g2), c = S(g);
      // Small D known at compile time: with a run-time column stride the lane loops stay scalar.
      switch (D) {
        case 1: track_all<1>(N, score, Z, a, b, c, dL, noise_l); break;
        case 2: track_all<2>(N, score, Z, a, b, c, dL, noise_l); break;
        case 3: track_all<3>(N, score, Z, a, b, c, dL, noise_l); break;
        default: track_all<0>(N, score, Z, a, b, c, dL, noise_l); break;
      }
    } else {
      dL.setZero(X.cols());
      noise_l.setZero(X.cols());
    }
  }

 private:
  /// The same sums per column however the columns are grouped. D <= 3 (FixedD, the column
  /// length known at compile time): blocks of 8 columns through the lane loop, the rest one by
  /// one. Larger D (FixedD = 0): one column at a time, its four partial sums as one vector.
  template <long FixedD>
  static void track_all(long N, const matrix<S>& score, const matrix<S>& Z, S a, S b, S c,
                        vector<S>& dL, vector<S>& noise_l) {
    const long D = FixedD ? FixedD : Z.rows();
    long j = 0;
    if constexpr (FixedD != 0)
      for (; j + 8 <= N; j += 8) track<8, FixedD>(j, D, score, Z, a, b, c, dL, noise_l);
    for (; j < N; ++j) track<1, FixedD>(j, D, score, Z, a, b, c, dL, noise_l);
  }

  /// dL = a - b |s|^2 and noise_l = c s.z for W consecutive columns from j0: |s|^2 and s.z in
  /// one pass, each with four partial sums (a fixed order that depends only on D, like
  /// gmm's dot4, so a column's bits do not depend on W); the loops over lanes vectorise.
  template <int W, long FixedD>
  static void track(long j0, long D_run, const matrix<S>& score, const matrix<S>& Z, S a, S b,
                    S c, vector<S>& dL, vector<S>& noise_l) {
    const long D = FixedD ? FixedD : D_run;
    const S* __restrict s = score.data() + j0 * D;
    const S* __restrict z = Z.data() + j0 * D;
    S n[4][W] = {}, d[4][W] = {};
    long i = 0;
    if constexpr (W == 1) {
      // Partial sum t is lane t of a 4-vector: compilers keep scalar loops over t scalar.
      using lanes = Eigen::Array<S, 4, 1>;
      lanes nv = lanes::Zero(), dv = lanes::Zero();
      for (; i + 4 <= D; i += 4) {
        const lanes si = Eigen::Map<const lanes>(s + i);
        nv += si * si;
        dv += si * Eigen::Map<const lanes>(z + i);
      }
      for (long t = 0; t < 4; ++t) {
        n[t][0] = nv(t);
        d[t][0] = dv(t);
      }
    } else {
      for (; i + 4 <= D; i += 4)
        for (long t = 0; t < 4; ++t)
          for (int l = 0; l < W; ++l) {
            const S si = s[l * D + i + t];
            n[t][l] += si * si;
            d[t][l] += si * z[l * D + i + t];
          }
    }
    for (; i < D; ++i)
      for (int l = 0; l < W; ++l) {
        const S si = s[l * D + i];
        n[0][l] += si * si;
        d[0][l] += si * z[l * D + i];
      }
    for (int l = 0; l < W; ++l) {
      dL(j0 + l) = a - b * ((n[0][l] + n[1][l]) + (n[2][l] + n[3][l]));
      noise_l(j0 + l) = c * ((d[0][l] + d[1][l]) + (d[2][l] + d[3][l]));
    }
  }

  const Model* model_;
  Process process_;
  matrix<S> score_;
};

}  // namespace dlogp
DLOGP_PINNED_FP_END

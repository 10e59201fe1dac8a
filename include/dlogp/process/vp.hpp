#pragma once
// Variance-preserving process with a linear beta schedule (docs/notation.md §1).
#include <algorithm>
#include <cmath>
#include <string>

#include "dlogp/error.hpp"

namespace dlogp {

class vp_process {
 public:
  explicit vp_process(double beta_min = 0.1, double beta_max = 20.0, double t_min = 1e-3,
                      double t_max = 1.0)
      : b0_(beta_min), b1_(beta_max), t_min_(t_min), t_max_(t_max) {
    detail::require(std::isfinite(b0_) && std::isfinite(b1_) && b0_ > 0 && b1_ >= b0_,
                    "vp_process: need 0 < beta_min <= beta_max (" + std::to_string(b0_) +
                        ", " + std::to_string(b1_) + ")");
    detail::require(std::isfinite(t_min_) && std::isfinite(t_max_) && t_min_ >= 0 &&
                        t_max_ > t_min_,
                    "vp_process: need 0 <= t_min < t_max (" + std::to_string(t_min_) + ", " +
                        std::to_string(t_max_) + ")");
  }

  double beta(double t) const { return b0_ + (b1_ - b0_) * t; }
  /// int_0^t beta = -2 log alpha(t)
  double integrated_beta(double t) const { return b0_ * t + 0.5 * (b1_ - b0_) * t * t; }

  double alpha(double t) const { return std::exp(-0.5 * integrated_beta(t)); }
  /// 1 - alpha^2 with expm1, accurate for t -> 0.
  double sigma2(double t) const { return -std::expm1(-integrated_beta(t)); }
  double sigma(double t) const { return std::sqrt(sigma2(t)); }
  double f(double t) const { return -0.5 * beta(t); }
  double g2(double t) const { return beta(t); }
  /// log(alpha^2 / sigma^2) = -B - log(1 - e^{-B}), B = int beta.
  double log_snr(double t) const {
    const double B = integrated_beta(t);
    return -B - std::log(-std::expm1(-B));
  }
  /// Inverse of log_snr: B = log(1 + e^{-lambda}) (a softplus, written so e^{-lambda} cannot
  /// overflow), then the positive root of the quadratic in t in the cancellation-free form.
  double t_from_log_snr(double lambda) const {
    const double B = std::max(-lambda, 0.0) + std::log1p(std::exp(-std::abs(lambda)));
    return 2.0 * B / (b0_ + std::sqrt(b0_ * b0_ + 2.0 * (b1_ - b0_) * B));
  }
  double t_min() const { return t_min_; }
  double t_max() const { return t_max_; }
  double beta_min() const { return b0_; }
  double beta_max() const { return b1_; }
  std::string name() const { return "vp"; }

 private:
  double b0_, b1_, t_min_, t_max_;
};

}  // namespace dlogp

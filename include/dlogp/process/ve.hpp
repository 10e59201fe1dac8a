#pragma once
// Variance-exploding process with a geometric noise schedule (docs/notation.md §1):
// alpha = 1, sigma = sigma_min (sigma_max / sigma_min)^t. Note sigma(0) = sigma_min, not 0.
#include <cmath>
#include <string>

#include "dlogp/error.hpp"

namespace dlogp {

class ve_process {
 public:
  explicit ve_process(double sigma_min = 0.01, double sigma_max = 50.0, double t_min = 1e-5,
                      double t_max = 1.0)
      : smin_(sigma_min), smax_(sigma_max), t_min_(t_min), t_max_(t_max) {
    detail::require(std::isfinite(smin_) && std::isfinite(smax_) && smin_ > 0 && smax_ > smin_,
                    "ve_process: need 0 < sigma_min < sigma_max (" + std::to_string(smin_) +
                        ", " + std::to_string(smax_) + ")");
    detail::require(std::isfinite(t_min_) && std::isfinite(t_max_) && t_min_ >= 0 &&
                        t_max_ > t_min_,
                    "ve_process: need 0 <= t_min < t_max (" + std::to_string(t_min_) + ", " +
                        std::to_string(t_max_) + ")");
    log_ratio_ = std::log(smax_ / smin_);
    log_smin_ = std::log(smin_);
  }

  double alpha(double) const { return 1.0; }
  double sigma(double t) const { return smin_ * std::exp(t * log_ratio_); }
  double sigma2(double t) const {
    const double s = sigma(t);
    return s * s;
  }
  double f(double) const { return 0.0; }
  double g2(double t) const { return 2.0 * sigma2(t) * log_ratio_; }
  /// -2 log sigma, computed from log sigma directly.
  double log_snr(double t) const { return -2.0 * (log_smin_ + t * log_ratio_); }
  double t_from_log_snr(double lambda) const { return (-0.5 * lambda - log_smin_) / log_ratio_; }
  double t_min() const { return t_min_; }
  double t_max() const { return t_max_; }
  double sigma_min() const { return smin_; }
  double sigma_max() const { return smax_; }
  std::string name() const { return "ve"; }

 private:
  double smin_, smax_, t_min_, t_max_;
  double log_ratio_ = 0, log_smin_ = 0;
};

}  // namespace dlogp

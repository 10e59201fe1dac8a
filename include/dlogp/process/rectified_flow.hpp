#pragma once
// Rectified flow / linear interpolant: alpha = 1 - t, sigma = t on [0, t_max], t_max < 1
// (f and g2 blow up at t = 1; docs/notation.md §1).
#include <cmath>
#include <string>

#include "dlogp/error.hpp"

namespace dlogp {

class rectified_flow_process {
 public:
  explicit rectified_flow_process(double t_min = 1e-3, double t_max = 0.999)
      : t_min_(t_min), t_max_(t_max) {
    detail::require(std::isfinite(t_min_) && t_min_ >= 0 && t_max_ > t_min_ && t_max_ < 1,
                    "rectified_flow_process: need 0 <= t_min < t_max < 1 (" +
                        std::to_string(t_min_) + ", " + std::to_string(t_max_) + ")");
  }

  double alpha(double t) const { return 1.0 - t; }
  double sigma(double t) const { return t; }
  double sigma2(double t) const { return t * t; }
  double f(double t) const { return -1.0 / (1.0 - t); }
  /// 2t + 2t^2/(1-t) = 2t/(1-t)
  double g2(double t) const { return 2.0 * t / (1.0 - t); }
  /// 2 log((1-t)/t)
  double log_snr(double t) const { return 2.0 * (std::log1p(-t) - std::log(t)); }
  /// (1-t)/t = e^{lambda/2}  =>  t = 1 / (1 + e^{lambda/2}) (a logistic; safe for any lambda).
  double t_from_log_snr(double lambda) const { return 1.0 / (1.0 + std::exp(0.5 * lambda)); }
  double t_min() const { return t_min_; }
  double t_max() const { return t_max_; }
  std::string name() const { return "rectified-flow"; }

 private:
  double t_min_, t_max_;
};

}  // namespace dlogp

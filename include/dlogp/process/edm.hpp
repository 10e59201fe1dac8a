#pragma once
// EDM process (Karras et al. 2022): alpha = 1, sigma = t, so time is the noise level
// (docs/notation.md §1).
#include <cmath>
#include <string>

#include "dlogp/error.hpp"

namespace dlogp {

class edm_process {
 public:
  explicit edm_process(double t_min = 0.002, double t_max = 80.0) : t_min_(t_min), t_max_(t_max) {
    detail::require(std::isfinite(t_min_) && std::isfinite(t_max_) && t_min_ >= 0 &&
                        t_max_ > t_min_,
                    "edm_process: need 0 <= t_min < t_max (" + std::to_string(t_min_) + ", " +
                        std::to_string(t_max_) + ")");
  }

  double alpha(double) const { return 1.0; }
  double sigma(double t) const { return t; }
  double sigma2(double t) const { return t * t; }
  double f(double) const { return 0.0; }
  double g2(double t) const { return 2.0 * t; }
  double log_snr(double t) const { return -2.0 * std::log(t); }
  double t_from_log_snr(double lambda) const { return std::exp(-0.5 * lambda); }
  double t_min() const { return t_min_; }
  double t_max() const { return t_max_; }
  std::string name() const { return "edm"; }

 private:
  double t_min_, t_max_;
};

}  // namespace dlogp

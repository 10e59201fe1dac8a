#pragma once
// Bits per dimension (docs/notation.md §7):
//   bpd = -(log p(x) + D ln(bin width)) / (D ln 2),
// log p in nats of the model's continuous density at x (e.g. the PF-ODE log p_0), D the
// dimension of one sample, and the bin width of the data's quantisation in MODEL units (after
// any rescaling, so rescaling the data never changes the bpd). -log2 of the probability mass of
// a bin is bpd * D when the density is near-constant over the bin.
//
// Dequantisation is the caller's: evaluate log p at dequantised points, x + u * width with u
// uniform on [-1/2, 1/2]^D around the bin value (uniform dequantisation; averaging over u
// gives an upper bound on the discrete model's bits), or at the bin values themselves (the
// usual, slightly optimistic shortcut).
//
// Bin width from a data range:
//   quantisation_grid::bins    levels bins tile [lo, hi]        width = (hi - lo) / levels
//                              (e.g. pixels k -> (k + 1/2) / 256 on [0, 1], or 2k/256 - 1 + 1/256)
//   quantisation_grid::values  levels values run from lo to hi  width = (hi - lo) / (levels - 1)
//                              (e.g. pixels k -> 2k/255 - 1 on [-1, 1]: width 2/255)
#include <cmath>
#include <numbers>
#include <string>

#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

enum class quantisation_grid { bins, values };

/// Width of one quantisation bin for data with `levels` values over [lo, hi] (see top).
inline double bin_width(double lo, double hi, long levels,
                        quantisation_grid grid = quantisation_grid::bins) {
  detail::require(std::isfinite(lo) && std::isfinite(hi) && hi > lo,
                  "bits_per_dim: need a finite data range lo < hi (" + std::to_string(lo) + ", " +
                      std::to_string(hi) + ")");
  const long minimum = grid == quantisation_grid::bins ? 1 : 2;
  detail::require(levels >= minimum, "bits_per_dim: need at least " + std::to_string(minimum) +
                                         " quantisation levels (" + std::to_string(levels) + ")");
  return (hi - lo) / double(grid == quantisation_grid::bins ? levels : levels - 1);
}

namespace detail {
inline void check_bpd(long D, double width) {
  require(D >= 1, "bits_per_dim: dimension must be >= 1 (" + std::to_string(D) + ")");
  require(std::isfinite(width) && width > 0,
          "bits_per_dim: bin width must be positive and finite (" + std::to_string(width) + ")");
}
}  // namespace detail

/// bpd of one point with log density log_p (nats) in dimension D.
inline double bits_per_dim(double log_p, long D, double width) {
  detail::check_bpd(D, width);
  const double d = double(D);
  return -(log_p + d * std::log(width)) / (d * std::numbers::ln2);
}

/// bpd of every entry of log_p.
template <class Scalar>
vector<double> bits_per_dim(const vector<Scalar>& log_p, long D, double width) {
  detail::check_bpd(D, width);
  vector<double> out(log_p.size());
  for (long j = 0; j < log_p.size(); ++j) out(j) = bits_per_dim(double(log_p(j)), D, width);
  return out;
}

struct bpd_summary {
  double mean = 0;
  double standard_error = 0;  ///< of the mean, from the spread over points (0 for one point)
  long points = 0;
};

/// Mean bpd over a set of points (the usual dataset figure) with its standard error.
template <class Scalar>
bpd_summary mean_bits_per_dim(const vector<Scalar>& log_p, long D, double width) {
  const vector<double> b = bits_per_dim(log_p, D, width);
  bpd_summary s;
  s.points = b.size();
  detail::require(s.points >= 1, "bits_per_dim: no points");
  double mean = 0;
  for (long j = 0; j < b.size(); ++j) mean += b(j);
  mean /= double(s.points);
  double ss = 0;
  for (long j = 0; j < b.size(); ++j) ss += (b(j) - mean) * (b(j) - mean);
  s.mean = mean;
  s.standard_error =
      s.points >= 2 ? std::sqrt(ss / double(s.points - 1) / double(s.points)) : 0.0;
  return s;
}

}  // namespace dlogp

#pragma once
// The usual Gaussian prior N(0, sigma(t)^2 I) at the start of sampling (docs/notation.md §1
// "Prior"). An analytic model can give the exact log p_T instead (tests should prefer it).
#include <cmath>
#include <concepts>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/random.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

namespace detail {
template <process P>
double prior_sigma2(const P& p, double t, const char* who) {
  const double s2 = p.sigma2(t);
  require(std::isfinite(t) && std::isfinite(s2) && s2 > 0,
          std::string(who) + ": need sigma(t)^2 > 0 and finite (t = " + std::to_string(t) +
              ", sigma^2 = " + std::to_string(s2) + ")");
  return s2;
}
}  // namespace detail

/// out(j) = -(D/2) log(2 pi sigma^2) - |x_j|^2 / (2 sigma^2), sigma = sigma(t).
/// The squared norm is accumulated in double in a fixed order (one column never depends on
/// another, nor on its position).
template <process P, class Scalar>
void prior_log_density(const P& p, double t, const matrix<Scalar>& X, vector<Scalar>& out) {
  const double s2 = detail::prior_sigma2(p, t, "prior_log_density");
  const long D = X.rows(), N = X.cols();
  const double c = -0.5 * double(D) * std::log(2.0 * std::numbers::pi * s2);
  out.resize(N);
  for (long j = 0; j < N; ++j) {
    const Scalar* x = X.data() + j * D;
    double sq = 0;
    for (long i = 0; i < D; ++i) sq += double(x[i]) * double(x[i]);
    out(j) = Scalar(c - sq / (2.0 * s2));
  }
}

/// Fills the pre-sized D x N matrix X: column j = sigma(t) * z with z = normal draws 0 .. D-1
/// of random_stream(seed, ids[j], purpose::prior). A column depends only on (seed, ids[j]).
template <process P, class Scalar>
void sample_prior(const P& p, double t, std::uint64_t seed, const std::uint64_t* ids,
                  matrix<Scalar>& X) {
  const double sigma = std::sqrt(detail::prior_sigma2(p, t, "sample_prior"));
  const long D = X.rows(), N = X.cols();
  detail::require(N == 0 || ids != nullptr, "sample_prior: ids is null (" +
                                                std::to_string(N) + " columns)");
  std::vector<double> z(static_cast<std::size_t>(D));
  for (long j = 0; j < N; ++j) {
    random_stream(seed, ids[j], purpose::prior).fill_normal(0, z.data(), D);
    Scalar* x = X.data() + j * D;
    for (long i = 0; i < D; ++i) x[i] = Scalar(sigma * z[std::size_t(i)]);
  }
}

/// As above with ids first_id + j. A template on the integer type so that a literal
/// `sample_prior(p, t, seed, 0, X)` picks this overload rather than the pointer one.
template <process P, class Scalar, std::integral Id>
void sample_prior(const P& p, double t, std::uint64_t seed, Id first_id, matrix<Scalar>& X) {
  std::vector<std::uint64_t> ids(static_cast<std::size_t>(X.cols()));
  for (std::size_t j = 0; j < ids.size(); ++j) ids[j] = std::uint64_t(first_id) + j;
  sample_prior(p, t, seed, ids.data(), X);
}

}  // namespace dlogp

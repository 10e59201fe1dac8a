#pragma once
// Adapters that turn a network's raw output into a score (MATH §1 "Parametrisations"), their
// inverses, and a score model wrapping a network that predicts one of them.
//   epsilon:        s = -eps / sigma
//   x0 (denoiser):  s = (alpha D - x) / sigma^2
//   v = alpha eps - sigma x0:  eps = (alpha v + sigma x) / (alpha^2 + sigma^2), s = -eps / sigma
//   flow velocity u (PF-ODE field u = f x - g^2 s / 2):  s = (f x - u) * 2 / g^2
// Every map is affine per element, out = a * raw + b * x, with a and b depending on t only, so
// it is applied elementwise (bit-identical per column whatever the batch).
#include <cmath>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

/// What a network predicts.
enum class parametrisation { score, epsilon, x0, v, flow_velocity };

inline std::string_view to_string(parametrisation p) {
  switch (p) {
    case parametrisation::score: return "score";
    case parametrisation::epsilon: return "epsilon";
    case parametrisation::x0: return "x0";
    case parametrisation::v: return "v";
    case parametrisation::flow_velocity: return "flow_velocity";
  }
  return "unknown";
}

/// result = raw * scale + x * shift (elementwise).
struct affine_coefficients {
  double scale = 1;
  double shift = 0;
};

namespace detail {
inline std::string param_where(const char* who, parametrisation p, double t) {
  return std::string(who) + ": " + std::string(to_string(p)) + " at t = " + std::to_string(t);
}
}  // namespace detail

/// Coefficients of raw output -> score at time t. Throws where the map is singular
/// (sigma = 0 for epsilon / x0 / v, g^2 = 0 for the flow velocity).
template <process P>
affine_coefficients to_score_coefficients(parametrisation kind, const P& p, double t) {
  detail::require(std::isfinite(t), detail::param_where("to_score", kind, t) + " needs a finite time");
  const double a = p.alpha(t), s2 = p.sigma2(t), s = p.sigma(t);
  switch (kind) {
    case parametrisation::score:
      return {1.0, 0.0};
    case parametrisation::epsilon:
      detail::require(s > 0, detail::param_where("to_score", kind, t) + " needs sigma > 0 (" +
                                 std::to_string(s) + ")");
      return {-1.0 / s, 0.0};
    case parametrisation::x0:
      detail::require(s2 > 0, detail::param_where("to_score", kind, t) + " needs sigma > 0 (" +
                                  std::to_string(s) + ")");
      return {a / s2, -1.0 / s2};
    case parametrisation::v: {
      detail::require(s > 0, detail::param_where("to_score", kind, t) + " needs sigma > 0 (" +
                                 std::to_string(s) + ")");
      const double n = a * a + s2;
      return {-a / (n * s), -1.0 / n};
    }
    case parametrisation::flow_velocity: {
      const double g2 = p.g2(t);
      detail::require(g2 > 0 && std::isfinite(g2), detail::param_where("to_score", kind, t) +
                                                       " needs 0 < g^2 < inf (" +
                                                       std::to_string(g2) + ")");
      return {-2.0 / g2, 2.0 * p.f(t) / g2};
    }
  }
  throw invalid_argument("to_score: unknown parametrisation");
}

/// Coefficients of score -> raw output at time t (the inverse map; for tests and exporters).
/// Throws where it is singular (alpha = 0 for x0 / v).
template <process P>
affine_coefficients from_score_coefficients(parametrisation kind, const P& p, double t) {
  detail::require(std::isfinite(t), detail::param_where("from_score", kind, t) + " needs a finite time");
  const double a = p.alpha(t), s2 = p.sigma2(t), s = p.sigma(t);
  switch (kind) {
    case parametrisation::score:
      return {1.0, 0.0};
    case parametrisation::epsilon:
      return {-s, 0.0};  // eps = -sigma s
    case parametrisation::x0:
      detail::require(a > 0, detail::param_where("from_score", kind, t) + " needs alpha > 0 (" +
                                 std::to_string(a) + ")");
      return {s2 / a, 1.0 / a};  // Tweedie: D = (x + sigma^2 s) / alpha
    case parametrisation::v:
      detail::require(a > 0, detail::param_where("from_score", kind, t) + " needs alpha > 0 (" +
                                 std::to_string(a) + ")");
      // v = alpha eps - sigma x0 with eps = -sigma s and x0 = (x + sigma^2 s) / alpha.
      return {-s * (a * a + s2) / a, -s / a};
    case parametrisation::flow_velocity:
      return {-0.5 * p.g2(t), p.f(t)};  // u = f x - g^2 s / 2
  }
  throw invalid_argument("from_score: unknown parametrisation");
}

namespace detail {
template <class Scalar>
void apply_affine(const affine_coefficients& c, const matrix<Scalar>& X, matrix<Scalar>& out,
                  const char* who) {
  require_dimension(X.rows(), out.rows(), std::string(who) + ": output rows");
  require_dimension(X.cols(), out.cols(), std::string(who) + ": output columns");
  if (c.scale == 1.0 && c.shift == 0.0) return;
  if (c.shift == 0.0)
    out *= Scalar(c.scale);
  else
    out = Scalar(c.scale) * out + Scalar(c.shift) * X;
}
}  // namespace detail

/// In: out holds the network's raw output at (t, X). Out: the score, in place.
template <process P, class Scalar>
void to_score(parametrisation kind, const P& p, double t, const matrix<Scalar>& X,
              matrix<Scalar>& out) {
  detail::apply_affine(to_score_coefficients(kind, p, t), X, out, "to_score");
}

/// In: out holds the score at (t, X). Out: what a network of this parametrisation would
/// predict, in place.
template <process P, class Scalar>
void from_score(parametrisation kind, const P& p, double t, const matrix<Scalar>& X,
                matrix<Scalar>& out) {
  detail::apply_affine(from_score_coefficients(kind, p, t), X, out, "from_score");
}

/// A network giving a raw output: its scalar type, the dimension, and
///   void evaluate(double t, const matrix<Scalar>& X, matrix<Scalar>& out) const;  // out D x N
template <class N>
concept raw_output_model =
    requires(const N& n, double t, const matrix<typename N::scalar_type>& X,
             matrix<typename N::scalar_type>& out) {
      typename N::scalar_type;
      { n.dimension() } -> std::convertible_to<long>;
      n.evaluate(t, X, out);
    };

/// Score model from a network that predicts eps, x0, v, a flow velocity or the score itself.
/// Net may be a reference type (the network is then not copied; it must outlive the adapter).
template <class Net, process Process>
  requires raw_output_model<std::remove_cvref_t<Net>>
class parametrised_score_model {
 public:
  using net_type = std::remove_cvref_t<Net>;
  using scalar_type = typename net_type::scalar_type;

  parametrised_score_model(Net net, Process process, parametrisation kind)
      : net_(std::forward<Net>(net)), process_(std::move(process)), kind_(kind) {}

  long dimension() const { return net_.dimension(); }
  const Process& process() const { return process_; }
  parametrisation kind() const { return kind_; }
  const net_type& net() const { return net_; }

  /// S is resized to D x N if needed.
  void score(double t, const matrix<scalar_type>& X, matrix<scalar_type>& S) const {
    detail::require_dimension(dimension(), X.rows(), "parametrised_score_model: input rows");
    S.resize(X.rows(), X.cols());
    net_.evaluate(t, X, S);
    to_score(kind_, process_, t, X, S);
  }

 private:
  Net net_;
  Process process_;
  parametrisation kind_;
};

template <class Net, class Process>
parametrised_score_model(Net, Process, parametrisation) -> parametrised_score_model<Net, Process>;

}  // namespace dlogp

#pragma once
// Adapters that turn a network's raw output into a score (docs/notation.md §1 "Parametrisations"),
// their inverses, and a score model wrapping a network that predicts one of them.
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
/// out = scale out + shift X, element by element in plain loops (the same operations for every
/// element, whatever its position: results never depend on the batch).
template <class Scalar>
void apply_affine(const affine_coefficients& c, const matrix<Scalar>& X, matrix<Scalar>& out,
                  const char* who) {
  if (X.rows() != out.rows()) require_dimension(X.rows(), out.rows(), std::string(who) + ": output rows");
  if (X.cols() != out.cols()) require_dimension(X.cols(), out.cols(), std::string(who) + ": output columns");
  if (c.scale == 1.0 && c.shift == 0.0) return;
  const Scalar a = Scalar(c.scale), b = Scalar(c.shift);
  if (c.shift == 0.0) {
    for (long j = 0; j < out.cols(); ++j)
      for (long i = 0; i < out.rows(); ++i) out(i, j) = a * out(i, j);
  } else {
    for (long j = 0; j < out.cols(); ++j)
      for (long i = 0; i < out.rows(); ++i) out(i, j) = a * out(i, j) + b * X(i, j);
  }
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

/// A network that also gives Jacobian-vector products of its raw output:
///   void evaluate_jvp(double t, const matrix& X, const matrix& V, matrix& out, matrix& JV) const;
template <class N>
concept raw_output_jvp_model =
    raw_output_model<N> && requires(const N& n, double t, const matrix<typename N::scalar_type>& X,
                                    matrix<typename N::scalar_type>& out) {
      n.evaluate_jvp(t, X, X, out, out);
    };

/// A network that also gives the trace of its raw output's Jacobian:
///   void evaluate_and_trace(double t, const matrix& X, matrix& out, vector& trace) const;
template <class N>
concept raw_output_trace_model =
    raw_output_model<N> && requires(const N& n, double t, const matrix<typename N::scalar_type>& X,
                                    matrix<typename N::scalar_type>& out, vector<typename N::scalar_type>& tr) {
      n.evaluate_and_trace(t, X, out, tr);
    };

/// Score model from a network that predicts eps, x0, v, a flow velocity or the score itself.
/// Net may be a reference type (the network is then not copied; it must outlive the adapter).
/// The score is an affine map of the raw output, so a network's JVPs (evaluate_jvp) and
/// Jacobian trace (evaluate_and_trace) become score_jvp and score_and_laplacian: Hutchinson
/// and the exact divergence then go through the network's own derivatives.
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
    check_rows(X);
    const auto c = to_score_coefficients(kind_, process_, t);
    S.resize(X.rows(), X.cols());
    net_.evaluate(t, X, S);
    detail::apply_affine(c, X, S, "parametrised_score_model");
  }

  /// S = s(t, X), JV = (d s / d x) V per column: the affine map of the network's JVP.
  void score_jvp(double t, const matrix<scalar_type>& X, const matrix<scalar_type>& V,
                 matrix<scalar_type>& S, matrix<scalar_type>& JV) const
    requires raw_output_jvp_model<net_type>
  {
    check_rows(X);
    const auto c = to_score_coefficients(kind_, process_, t);
    net_.evaluate_jvp(t, X, V, S, JV);
    detail::apply_affine(c, X, S, "parametrised_score_model");
    detail::apply_affine(c, V, JV, "parametrised_score_model");
  }

  /// S = s(t, X), lap = div s per column: scale trace(J_net) + shift D.
  void score_and_laplacian(double t, const matrix<scalar_type>& X, matrix<scalar_type>& S,
                           vector<scalar_type>& lap) const
    requires raw_output_trace_model<net_type>
  {
    check_rows(X);
    const auto c = to_score_coefficients(kind_, process_, t);
    net_.evaluate_and_trace(t, X, S, lap);
    detail::apply_affine(c, X, S, "parametrised_score_model");
    const scalar_type a = scalar_type(c.scale), b = scalar_type(c.shift * double(X.rows()));
    for (long j = 0; j < lap.size(); ++j) lap(j) = a * lap(j) + b;
  }

 private:
  void check_rows(const matrix<scalar_type>& X) const {
    if (X.rows() != dimension())
      detail::require_dimension(dimension(), X.rows(), "parametrised_score_model: input rows");
  }

  Net net_;
  Process process_;
  parametrisation kind_;
};

template <class Net, class Process>
parametrised_score_model(Net, Process, parametrisation) -> parametrised_score_model<Net, Process>;

}  // namespace dlogp

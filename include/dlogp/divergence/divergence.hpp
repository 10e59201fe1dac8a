#pragma once
// Divergence of the score (Laplacian of log p_t) for the log-density rates (docs/notation.md §3,
// §6): exact (best route the model offers, see exact.hpp) or Hutchinson (hutchinson.hpp).
#include <string>

#include "dlogp/core/concepts.hpp"
#include "dlogp/divergence/exact.hpp"
#include "dlogp/divergence/hutchinson.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

enum class divergence_kind { exact, hutchinson };

constexpr const char* to_string(divergence_kind k) {
  return k == divergence_kind::exact ? "exact" : "hutchinson";
}

struct divergence_options {
  divergence_kind kind = divergence_kind::exact;
  int probes = 1;  ///< Hutchinson probes K per call (>= 1)
  probe_kind probe = probe_kind::rademacher;
};

/// Score and its divergence in one call, by the method the options ask for. The kind is
/// honoured as asked: a model with an exact Laplacian still gets Hutchinson if requested.
/// Holds workspaces: use one per thread (or per concurrently evaluated batch).
template <score_model M>
class divergence_estimator {
 public:
  using scalar_type = scalar_of<M>;
  using S = scalar_type;
  /// Route of the exact divergence, of Jacobian-vector products, and of Hutchinson's probes
  /// (jvp_route, or vjp when the model has score_vjp) for M.
  static constexpr divergence_route exact_route = exact_divergence_route_v<M>;
  static constexpr divergence_route jvp_route = score_jvp_route_v<M>;
  static constexpr divergence_route hutchinson_route = hutchinson_route_v<M>;

  divergence_estimator(const M& model, divergence_options options = {})
      : options_(checked(options)),
        exact_(model),
        hutchinson_(model, options_.probes, options_.probe) {}

  const divergence_options& options() const { return options_; }

  /// The route in use: exact_route for exact, hutchinson_route for Hutchinson.
  divergence_route route() const {
    return options_.kind == divergence_kind::exact ? exact_route : hutchinson_route;
  }

  /// E.g. "exact (dual)" or "hutchinson, 4 rademacher probes (finite-difference)".
  std::string description() const {
    if (options_.kind == divergence_kind::exact)
      return std::string("exact (") + to_string(exact_route) + ")";
    return "hutchinson, " + std::to_string(options_.probes) + " " + to_string(options_.probe) +
           (options_.probes == 1 ? " probe (" : " probes (") + to_string(hutchinson_route) + ")";
  }

  /// Score-evaluation equivalents per column of one score_and_divergence call.
  long cost() const {
    return options_.kind == divergence_kind::exact ? exact_.cost() : hutchinson_.cost();
  }

  /// score = s(t, X) (D x N), div = divergence of the score per column (N); Hutchinson probes
  /// are keyed by ctx.seed and ctx.ids. Returns score-evaluation equivalents per column.
  long score_and_divergence(const batch_context& ctx, double t, const matrix<S>& X,
                            matrix<S>& score, vector<S>& div) {
    if (options_.kind == divergence_kind::exact)
      return exact_.score_and_divergence(t, X, score, div);
    return hutchinson_.score_and_divergence(ctx, t, X, score, div);
  }

 private:
  static divergence_options checked(divergence_options o) {
    detail::require(o.probes >= 1,
                    "divergence: probes must be >= 1 (" + std::to_string(o.probes) + ")");
    return o;
  }

  divergence_options options_;
  exact_divergence<M> exact_;
  hutchinson_divergence<M> hutchinson_;
};

}  // namespace dlogp

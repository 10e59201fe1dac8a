#pragma once
// The two things a user brings, a forward process and a score model, and what integrate()
// needs of dynamics built from them. See docs/concepts.md.
#include <concepts>
#include <cstdint>

#include "dlogp/core/types.hpp"

namespace dlogp {

/// A forward (noising) process x_t = alpha(t) x_0 + sigma(t) eps on [t_min, t_max]
/// (docs/notation.md §1). f = d log alpha / dt, g2 = d sigma^2/dt - 2 f sigma^2, log_snr =
/// log(alpha^2 / sigma^2).
template <class P>
concept process = requires(const P& p, double t) {
  { p.alpha(t) } -> std::convertible_to<double>;
  { p.sigma(t) } -> std::convertible_to<double>;
  { p.sigma2(t) } -> std::convertible_to<double>;
  { p.f(t) } -> std::convertible_to<double>;
  { p.g2(t) } -> std::convertible_to<double>;
  { p.log_snr(t) } -> std::convertible_to<double>;
  { p.t_from_log_snr(t) } -> std::convertible_to<double>;
  { p.t_min() } -> std::convertible_to<double>;
  { p.t_max() } -> std::convertible_to<double>;
};

/// Minimum score model: its scalar type, the dimension D of one sample, and a batched score
///   void score(double t, const matrix<Scalar>& X, matrix<Scalar>& S) const;   // S = D x N
/// where column j of S is grad_x log p_t at column j of X. S is already sized by the caller.
///
/// Its three parts are concepts of their own so that a compiler's "constraints not satisfied"
/// names the part that is missing (GCC and Clang both print the failing concept's name): a
/// model with a non-const score fails score_model_has_const_score, one without
/// `using scalar_type = double;` fails score_model_declares_scalar_type.
template <class M>
concept score_model_declares_scalar_type = requires { typename M::scalar_type; };

template <class M>
concept score_model_has_const_dimension = requires(const M& m) {
  { m.dimension() } -> std::convertible_to<long>;
};

template <class M>
concept score_model_has_const_score =
    score_model_declares_scalar_type<M> &&
    requires(const M& m, double t, const matrix<typename M::scalar_type>& X,
             matrix<typename M::scalar_type>& S) { m.score(t, X, S); };

template <class M>
concept score_model = score_model_declares_scalar_type<M> && score_model_has_const_dimension<M> &&
                      score_model_has_const_score<M>;

namespace detail {
template <class M>
concept score_model_has_mutable_score =
    score_model_declares_scalar_type<M> &&
    requires(M& m, double t, const matrix<typename M::scalar_type>& X,
             matrix<typename M::scalar_type>& S) { m.score(t, X, S); };
}  // namespace detail

/// score_model, asserted member by member with a message that names what is missing. The
/// dynamics classes (pf_ode, reverse_sde, ...) take any model type and call this first: their
/// template arguments are deduced from the constructor, and for a failed constraint there Clang
/// reports only "no viable constructor", never which member is wrong.
template <class M>
constexpr bool assert_score_model() {
  static_assert(score_model_declares_scalar_type<M>,
                "dlogp score model: missing `using scalar_type = double;` (or float)");
  static_assert(score_model_has_const_dimension<M>,
                "dlogp score model: missing `long dimension() const` (the dimension D of one sample)");
  if constexpr (score_model_declares_scalar_type<M>) {
    static_assert(score_model_has_const_score<M> || !detail::score_model_has_mutable_score<M>,
                  "dlogp score model: `score` must be a const member function: "
                  "void score(double t, const matrix<scalar_type>& X, matrix<scalar_type>& S) const");
    static_assert(score_model_has_const_score<M> || detail::score_model_has_mutable_score<M>,
                  "dlogp score model: missing "
                  "`void score(double t, const matrix<scalar_type>& X, matrix<scalar_type>& S) const`");
  }
  return score_model<M>;
}

template <class M>
using scalar_of = typename M::scalar_type;

// Optional capabilities, detected with `requires` and used when present.

/// log p_t per column: void log_density(double t, const matrix& X, vector& out) const.
template <class M>
concept has_log_density =
    score_model<M> && requires(const M& m, double t, const matrix<scalar_of<M>>& X,
                               vector<scalar_of<M>>& out) { m.log_density(t, X, out); };

/// Exact divergence of the score (Laplacian of log p_t), together with the score, because
/// both share their expensive part: void score_and_laplacian(t, X, S, lap) const.
template <class M>
concept has_laplacian =
    score_model<M> && requires(const M& m, double t, const matrix<scalar_of<M>>& X,
                               matrix<scalar_of<M>>& S, vector<scalar_of<M>>& lap) {
      m.score_and_laplacian(t, X, S, lap);
    };

/// Hessian of log p_t at one point: void hessian(double t, const vector& x, matrix& H) const.
template <class M>
concept has_hessian =
    score_model<M> && requires(const M& m, double t, const vector<scalar_of<M>>& x,
                               matrix<scalar_of<M>>& H) { m.hessian(t, x, H); };

/// Gradient of the Laplacian of log p_t, batched: void grad_laplacian(t, X, G) const.
template <class M>
concept has_grad_laplacian =
    score_model<M> && requires(const M& m, double t, const matrix<scalar_of<M>>& X,
                               matrix<scalar_of<M>>& G) { m.grad_laplacian(t, X, G); };

/// Posterior mean E[x_0 | x_t], batched: void denoiser(t, X, out) const.
template <class M>
concept has_denoiser = score_model<M> && requires(const M& m, double t,
                                                  const matrix<scalar_of<M>>& X,
                                                  matrix<scalar_of<M>>& out) {
  m.denoiser(t, X, out);
};

/// Score and its directional derivative J V per column (forward mode), batched:
///   void score_jvp(double t, const matrix& X, const matrix& V, matrix& S, matrix& JV) const.
template <class M>
concept has_score_jvp =
    score_model<M> && requires(const M& m, double t, const matrix<scalar_of<M>>& X,
                               matrix<scalar_of<M>>& S, matrix<scalar_of<M>>& JV) {
      m.score_jvp(t, X, X, S, JV);
    };

/// Score and vector-Jacobian products J^T U per column (reverse mode), batched:
///   void score_vjp(double t, const matrix& X, const matrix& U, matrix& S, matrix& JTU) const;
/// column j of JTU = J_j^T u_j, J_j the Jacobian of the score at column j of X. Hutchinson's
/// z^T J z equals z^T (J^T z), so one reverse pass per probe replaces a JVP.
template <class M>
concept has_score_vjp =
    score_model<M> && requires(const M& m, double t, const matrix<scalar_of<M>>& X,
                               matrix<scalar_of<M>>& S, matrix<scalar_of<M>>& JTU) {
      m.score_vjp(t, X, X, S, JTU);
    };

/// Optional, with score_vjp: K products sharing one forward pass. U is D x (K N), block k
/// (columns k N .. k N + N - 1) one cotangent per column of X; JTU the same layout:
///   void score_vjp_blocks(double t, const matrix& X, const matrix& U, matrix& S, matrix& JTU) const;
template <class M>
concept has_score_vjp_blocks =
    has_score_vjp<M> && requires(const M& m, double t, const matrix<scalar_of<M>>& X,
                                 matrix<scalar_of<M>>& S, matrix<scalar_of<M>>& JTU) {
      m.score_vjp_blocks(t, X, X, S, JTU);
    };

/// sample(t, seed, first_id, X): column j ~ p_t, keyed by trajectory id first_id + j.
template <class M>
concept has_keyed_sampling = requires(const M& m, double t, std::uint64_t seed, std::uint64_t id,
                                      matrix<scalar_of<M>>& X) { m.sample(t, seed, id, X); };

/// Members a model chosen at run time may lack although its type has them
/// (model/any_score_model.hpp): such a model says which it offers with has(capability).
/// `hessian`: an analytic one (any_score_model derives one from JVPs otherwise); `jvp`: exact
/// Jacobian-vector products (its own, or by dual numbers), not central differences.
enum class model_capability { log_density, grad_laplacian, sampling, hessian, jvp };

inline const char* to_string(model_capability c) {
  switch (c) {
    case model_capability::log_density: return "exact log-density";
    case model_capability::grad_laplacian: return "gradient of the Laplacian";
    case model_capability::sampling: return "sampling from its marginals";
    case model_capability::hessian: return "analytic Hessian";
    case model_capability::jvp: return "exact Jacobian-vector products";
  }
  return "unknown";
}

/// Whether `m` offers c: what its has() says, else every member its type has.
template <class M>
bool offers(const M& m, model_capability c) {
  if constexpr (requires { m.has(c); }) return m.has(c);
  else return true;
}

/// Dynamics integrate() can run with an ODE scheme (pf_ode, hd_ode, ...):
///   long rate(const batch_context&, double t, const matrix<S>& X, matrix<S>& dX, vector<S>& dL);
/// dX = dx/dt (D x N), dL = d ell/dt (N); returns score-evaluation equivalents per column.
/// Every dynamics also gives its dimension and its process (which sets the time grid).
template <class Dyn>
concept ode_dynamics = requires(Dyn& d, const Dyn& cd, const batch_context& ctx, double t,
                                const matrix<typename Dyn::scalar_type>& X,
                                matrix<typename Dyn::scalar_type>& dX,
                                vector<typename Dyn::scalar_type>& dL) {
  { d.rate(ctx, t, X, dX, dL) } -> std::convertible_to<long>;
  { cd.dimension() } -> std::convertible_to<long>;
  { cd.process() } -> process;
};

/// Dynamics integrate() can run with an SDE scheme (reverse_sde, forward_sde, ...), Z standard
/// normal (D x N):
///   long sde_terms(const batch_context&, double t, const matrix<S>& X, const matrix<S>& Z,
///                  matrix<S>& drift, vector<S>& dL, matrix<S>& noise_x, vector<S>& noise_l);
/// one step of size dt: X += dt drift + sqrt|dt| noise_x, ell += dt dL + sqrt|dt| noise_l.
template <class Dyn>
concept sde_dynamics = requires(Dyn& d, const Dyn& cd, const batch_context& ctx, double t,
                                const matrix<typename Dyn::scalar_type>& X,
                                matrix<typename Dyn::scalar_type>& M,
                                vector<typename Dyn::scalar_type>& v) {
  { d.sde_terms(ctx, t, X, X, M, v, M, v) } -> std::convertible_to<long>;
  { cd.dimension() } -> std::convertible_to<long>;
  { cd.process() } -> process;
};

}  // namespace dlogp

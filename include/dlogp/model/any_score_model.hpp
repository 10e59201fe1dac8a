#pragma once
// any_score_model: one type for a score model chosen at run time (a mixture read from a file, an
// MLP weight file, a TorchScript module), so code that takes its model from a file is compiled
// once rather than once per model type. It is a score model in double with the members a
// dynamics may call (core/concepts.hpp):
//   score, score_and_laplacian, score_jvp, hessian   always. A model without an analytic
//       Laplacian or Hessian gets them from D Jacobian-vector products (exact, not estimated),
//       through the same route the divergence estimators would take for it;
//   log_density, grad_laplacian, sample               only when the wrapped model has them: ask
//       has(model_capability::...) first; calling a missing one throws error "unsupported"
//       (has(model_capability::hessian) says whether the Hessian is the model's own, and
//       has(model_capability::jvp) whether JVPs are exact rather than central differences).
// Every call forwards to the wrapped model's own member (or to the same JVP route), so results
// are bit-identical to using the model directly. A float model is evaluated in float: inputs
// are rounded to float and results widened back to double.
// Thread safety: as the wrapped model's const members (workspaces are per call).
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/divergence/exact.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

class any_score_model {
 public:
  using scalar_type = double;

  /// Wraps `model` (shared, so copies of the wrapper share it); `name` says what it is in
  /// messages, e.g. "mlp" or "torchscript".
  template <score_model M>
  any_score_model(std::shared_ptr<const M> model, std::string name)
      : impl_(std::make_shared<const holder<M>>(std::move(model))), name_(std::move(name)) {}

  long dimension() const { return impl_->dimension(); }
  const std::string& name() const { return name_; }
  bool has(model_capability c) const { return impl_->has(c); }

  void score(double t, const matrix<double>& X, matrix<double>& S) const { impl_->score(t, X, S); }
  void score_and_laplacian(double t, const matrix<double>& X, matrix<double>& S,
                           vector<double>& lap) const {
    impl_->score_and_laplacian(t, X, S, lap);
  }
  /// Score-evaluation equivalents per column of score_and_laplacian.
  long laplacian_cost() const { return impl_->laplacian_cost(); }
  /// The wrapped model's fixed work per call in columns' work (0 when it reports none), so the
  /// wrapped model gets the chunks it would get unwrapped (core/parallel_chunks.hpp).
  long call_overhead() const { return impl_->call_overhead(); }
  void score_jvp(double t, const matrix<double>& X, const matrix<double>& V, matrix<double>& S,
                 matrix<double>& JV) const {
    impl_->score_jvp(t, X, V, S, JV);
  }
  /// Score-evaluation equivalents per column of score_jvp: the wrapped model's route's count
  /// (a central difference takes 2, 3 with the score), so counts match the unwrapped model's.
  long jvp_cost(bool with_score) const { return impl_->jvp_cost(with_score); }
  void hessian(double t, const vector<double>& x, matrix<double>& H) const { impl_->hessian(t, x, H); }

  void log_density(double t, const matrix<double>& X, vector<double>& out) const {
    require(model_capability::log_density);
    impl_->log_density(t, X, out);
  }
  void grad_laplacian(double t, const matrix<double>& X, matrix<double>& G) const {
    require(model_capability::grad_laplacian);
    impl_->grad_laplacian(t, X, G);
  }
  void sample(double t, std::uint64_t seed, std::uint64_t first_id, matrix<double>& X) const {
    require(model_capability::sampling);
    impl_->sample(t, seed, first_id, X);
  }

 private:
  struct base {
    virtual ~base() = default;
    virtual long dimension() const = 0;
    virtual bool has(model_capability) const = 0;
    virtual void score(double, const matrix<double>&, matrix<double>&) const = 0;
    virtual void score_and_laplacian(double, const matrix<double>&, matrix<double>&,
                                     vector<double>&) const = 0;
    virtual long laplacian_cost() const = 0;
    virtual long call_overhead() const = 0;
    virtual void score_jvp(double, const matrix<double>&, const matrix<double>&, matrix<double>&,
                           matrix<double>&) const = 0;
    virtual long jvp_cost(bool with_score) const = 0;
    virtual void hessian(double, const vector<double>&, matrix<double>&) const = 0;
    virtual void log_density(double, const matrix<double>&, vector<double>&) const = 0;
    virtual void grad_laplacian(double, const matrix<double>&, matrix<double>&) const = 0;
    virtual void sample(double, std::uint64_t, std::uint64_t, matrix<double>&) const = 0;
  };

  template <score_model M>
  struct holder final : base {
    using S = scalar_of<M>;
    static_assert(std::is_same_v<S, double> || std::is_same_v<S, float>,
                  "any_score_model wraps double or float models");
    explicit holder(std::shared_ptr<const M> m) : m_(std::move(m)) {
      detail::require(m_ != nullptr, "any_score_model: null model");
    }
    const M& m() const { return *m_; }

    long dimension() const override { return long(m().dimension()); }
    bool has(model_capability c) const override {
      switch (c) {
        case model_capability::log_density: return has_log_density<M>;
        case model_capability::grad_laplacian: return has_grad_laplacian<M>;
        case model_capability::sampling: return has_keyed_sampling<M>;
        case model_capability::hessian: return has_hessian<M>;
        case model_capability::jvp: return score_jvp_route_v<M> != divergence_route::finite_difference;
      }
      return false;
    }

    void score(double t, const matrix<double>& X, matrix<double>& out) const override {
      if constexpr (std::is_same_v<S, double>) {
        out.resize(X.rows(), X.cols());
        m().score(t, X, out);
      } else {
        const matrix<S> x = X.cast<S>();
        matrix<S> s(x.rows(), x.cols());
        m().score(t, x, s);
        out = s.template cast<double>();
      }
    }

    void score_and_laplacian(double t, const matrix<double>& X, matrix<double>& out,
                             vector<double>& lap) const override {
      exact_divergence<M> div(m());
      if constexpr (std::is_same_v<S, double>) {
        div.score_and_divergence(t, X, out, lap);
      } else {
        matrix<S> s;
        vector<S> l;
        div.score_and_divergence(t, X.cast<S>(), s, l);
        out = s.template cast<double>();
        lap = l.template cast<double>();
      }
    }
    long laplacian_cost() const override { return exact_divergence<M>(m()).cost(); }
    long call_overhead() const override {
      if constexpr (requires { m().call_overhead(); }) return long(m().call_overhead());
      return 0;
    }

    void score_jvp(double t, const matrix<double>& X, const matrix<double>& V,
                   matrix<double>& out, matrix<double>& JV) const override {
      detail::score_jvp_engine<M> engine(m());
      if constexpr (std::is_same_v<S, double>) {
        engine.score_and_jvp(t, X, V, &out, JV);
      } else {
        matrix<S> s, jv;
        engine.score_and_jvp(t, X.cast<S>(), V.cast<S>(), &s, jv);
        out = s.template cast<double>();
        JV = jv.template cast<double>();
      }
    }

    long jvp_cost(bool with_score) const override {
      if constexpr (score_jvp_route_v<M> == divergence_route::finite_difference) return with_score ? 3 : 2;
      return 1;
    }

    void hessian(double t, const vector<double>& x, matrix<double>& H) const override {
      if constexpr (has_hessian<M> && std::is_same_v<S, double>) {
        m().hessian(t, x, H);
      } else {
        // Column i of the score's Jacobian is J e_i: D JVPs in one batch.
        const long D = x.size();
        const matrix<double> X = x.replicate(1, D);
        const matrix<double> I = matrix<double>::Identity(D, D);
        matrix<double> s;
        score_jvp(t, X, I, s, H);
      }
    }

    void log_density(double t, const matrix<double>& X, vector<double>& out) const override {
      if constexpr (has_log_density<M>) {
        if constexpr (std::is_same_v<S, double>) {
          out.resize(X.cols());
          m().log_density(t, X, out);
        } else {
          vector<S> o(X.cols());
          m().log_density(t, X.cast<S>(), o);
          out = o.template cast<double>();
        }
      }
    }
    void grad_laplacian(double t, const matrix<double>& X, matrix<double>& G) const override {
      if constexpr (has_grad_laplacian<M>) {
        if constexpr (std::is_same_v<S, double>) {
          G.resize(X.rows(), X.cols());
          m().grad_laplacian(t, X, G);
        } else {
          matrix<S> g(X.rows(), X.cols());
          m().grad_laplacian(t, X.cast<S>(), g);
          G = g.template cast<double>();
        }
      }
    }
    void sample(double t, std::uint64_t seed, std::uint64_t first_id,
                matrix<double>& X) const override {
      if constexpr (has_keyed_sampling<M>) {
        if constexpr (std::is_same_v<S, double>) {
          m().sample(t, seed, first_id, X);
        } else {
          matrix<S> x(X.rows(), X.cols());
          m().sample(t, seed, first_id, x);
          X = x.template cast<double>();
        }
      }
    }

   private:
    std::shared_ptr<const M> m_;
  };

  void require(model_capability c) const {
    if (!has(c))
      throw error("unsupported", "any_score_model: the " + name_ + " model has no " + to_string(c));
  }

  std::shared_ptr<const base> impl_;
  std::string name_;
};

}  // namespace dlogp

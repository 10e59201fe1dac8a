#pragma once
// A multilayer perceptron score network evaluated batched with Eigen, and the score model
// built on it. Architecture (the one examples/patches/train.py trains; file format in
// docs/weights-format.md):
//   e   = [sin(c t w_j), cos(c t w_j)],  w_j = P^(-j/(E/2)), j < E/2   (in double, then Scalar)
//   z   = silu(W_t e + b_t)                                             time features
//   h_0 = x,  a_l = (W_l h_l + b_l) * (1 + G_l z) + U_l z,  l = 0 .. L-1
//   h_{l+1} = silu(a_l)  [+ h_l for residual layers]
//   out = (W_o h_L + b_o) * (1 + G_o z)  [+ S x]  [+ Gaussian base]     raw output (D)
// The time-dependent gains G_l, G_o (FiLM), the residual connections, the linear skip S and
// the Gaussian base (mlp_gaussian_base) are optional (absent: gain 1, none of the others).
// The raw output is an epsilon / x0 / v / flow-velocity / score prediction, turned into a
// score by the parametrisation adapters (model/parametrisation.hpp).
//
// Derivatives: score_jvp propagates (h, dh) pairs through the layers (forward mode);
// score_and_laplacian propagates the full Jacobian (H x D per column) and takes its trace,
// about 3x cheaper than D JVPs.
//
// Determinism: the network runs column by column with matrix-vector products into per-thread
// buffers (detail/mlp_kernels.hpp says why and what it costs), every per-column sum in a fixed
// order, exp on scalars: a column's result is bit-identical whatever the batch size, its
// position and the thread count. The model is immutable; scratch space is
// thread_local, so one model may be shared by all threads, and after warm-up a call allocates
// nothing.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"
#include "dlogp/model/detail/mlp_kernels.hpp"
#include "dlogp/model/parametrisation.hpp"
#include "dlogp/process/vp.hpp"

namespace dlogp {

/// Sinusoidal time embedding: dim entries [sin(scale t w_j), cos(scale t w_j)],
/// w_j = max_period^(-j / (dim/2)), computed in double.
struct sinusoidal_embedding {
  long dim = 64;
  double scale = 1000.0;
  double max_period = 10000.0;

  void operator()(double t, double* out) const {
    const long half = dim / 2;
    const double lp = std::log(max_period);
    for (long j = 0; j < half; ++j) {
      // Same association as the PyTorch reference: ((-log P) * j) / half, then (scale t) w.
      const double w = std::exp((-lp * double(j)) / double(half));
      const double a = (scale * t) * w;
      out[j] = std::sin(a);
      out[half + j] = std::cos(a);
    }
  }
};

/// One hidden layer (weights are [out x in]):
///   a = (weight h + bias) * (1 + time_scale z) + time_weight z,  h' = silu(a) [+ h if residual].
/// time_scale may be empty (no time-dependent gain); residual needs equal in and out widths.
template <class Scalar>
struct mlp_layer {
  matrix<Scalar> weight;
  vector<Scalar> bias;
  matrix<Scalar> time_weight;
  matrix<Scalar> time_scale{};
  bool residual = false;
};

/// Optional fixed linear part for epsilon prediction under a VP process: the exact epsilon of
/// Gaussian data N(mean, U diag(eigvals) U^T),
///   out += sigma U diag(1 / (alpha^2 eigvals + sigma^2)) U^T (x - alpha mean),
/// alpha and sigma of vp_process(beta_min, beta_max). The network then learns only what is not
/// Gaussian (examples/patches/train.py). Empty mean: no base.
template <class Scalar>
struct mlp_gaussian_base {
  vector<Scalar> mean{};
  matrix<Scalar> eigvecs{};  ///< D x D, eigenvectors as columns
  vector<Scalar> eigvals{};  ///< D, >= 0
  double beta_min = 0.1;
  double beta_max = 20.0;

  bool empty() const { return mean.size() == 0; }
};

/// Everything that defines the network (see the architecture at the top of this file).
template <class Scalar>
struct mlp_parameters {
  sinusoidal_embedding embedding{};
  matrix<Scalar> time_weight;  ///< time_width x embedding.dim
  vector<Scalar> time_bias;    ///< time_width
  std::vector<mlp_layer<Scalar>> hidden;
  matrix<Scalar> out_weight;         ///< D x width of the last hidden layer
  vector<Scalar> out_bias;           ///< D
  matrix<Scalar> out_time_scale{};   ///< D x time_width, or empty
  matrix<Scalar> skip_weight{};      ///< D x D, or empty
  mlp_gaussian_base<Scalar> base{};  ///< optional Gaussian base (epsilon, VP)

  template <class Other>
  mlp_parameters<Other> cast() const {
    mlp_parameters<Other> p;
    p.embedding = embedding;
    p.time_weight = time_weight.template cast<Other>();
    p.time_bias = time_bias.template cast<Other>();
    for (const auto& l : hidden)
      p.hidden.push_back({l.weight.template cast<Other>(), l.bias.template cast<Other>(),
                          l.time_weight.template cast<Other>(),
                          l.time_scale.template cast<Other>(), l.residual});
    p.out_weight = out_weight.template cast<Other>();
    p.out_bias = out_bias.template cast<Other>();
    p.out_time_scale = out_time_scale.template cast<Other>();
    p.skip_weight = skip_weight.template cast<Other>();
    p.base = {base.mean.template cast<Other>(), base.eigvecs.template cast<Other>(),
              base.eigvals.template cast<Other>(), base.beta_min, base.beta_max};
    return p;
  }
};

/// The network: raw output (D x N) for a batch of inputs (D x N) at one time t.
template <class Scalar>
class mlp {
 public:
  using scalar_type = Scalar;
  using S = Scalar;

  explicit mlp(mlp_parameters<S> p) : p_(std::move(p)), id_(next_id()) {
    validate();
    if (!p_.base.empty()) {
      // U^T stored column-major so both base products are column-major GEMVs.
      base_eigvecs_t_ = p_.base.eigvecs.transpose();
      base_norms_.resize(dimension());
      for (long k = 0; k < dimension(); ++k) {
        S n = 0;
        for (long i = 0; i < dimension(); ++i) n += p_.base.eigvecs(i, k) * p_.base.eigvecs(i, k);
        base_norms_(k) = n;
      }
    }
  }
  mlp(const mlp& o)
      : p_(o.p_), base_eigvecs_t_(o.base_eigvecs_t_), base_norms_(o.base_norms_), id_(next_id()) {}
  mlp(mlp&& o) noexcept
      : p_(std::move(o.p_)),
        base_eigvecs_t_(std::move(o.base_eigvecs_t_)),
        base_norms_(std::move(o.base_norms_)),
        id_(next_id()) {}
  mlp& operator=(const mlp& o) {
    p_ = o.p_;
    base_eigvecs_t_ = o.base_eigvecs_t_;
    base_norms_ = o.base_norms_;
    id_ = next_id();
    return *this;
  }
  mlp& operator=(mlp&& o) noexcept {
    p_ = std::move(o.p_);
    base_eigvecs_t_ = std::move(o.base_eigvecs_t_);
    base_norms_ = std::move(o.base_norms_);
    id_ = next_id();
    return *this;
  }

  long dimension() const { return p_.out_weight.rows(); }
  long depth() const { return long(p_.hidden.size()); }
  long width(long layer) const { return p_.hidden[std::size_t(layer)].weight.rows(); }
  const mlp_parameters<S>& parameters() const { return p_; }

  template <class Other>
  mlp<Other> cast() const {
    return mlp<Other>(p_.template cast<Other>());
  }

  /// Multiply-adds per column of one evaluation (the unit of laplacian_cost()).
  long forward_macs() const {
    long m = p_.out_weight.size() + p_.skip_weight.size() + 2 * p_.base.eigvecs.size();
    for (const auto& l : p_.hidden) m += l.weight.size();
    return m;
  }
  /// Multiply-adds per column of evaluate_and_trace (forward pass included).
  long trace_macs() const {
    const long D = dimension();
    long m = forward_macs() + p_.hidden[0].weight.size() + p_.out_weight.size();
    for (std::size_t l = 1; l < p_.hidden.size(); ++l) m += p_.hidden[l].weight.size() * D;
    return m;
  }

  /// out = network(t, X), resized to D x N.
  void evaluate(double t, const matrix<S>& X, matrix<S>& out) const {
    check(X, "mlp: rows of X");
    out.resize(X.rows(), X.cols());
    run(t, X, nullptr, out, nullptr);
  }

  /// out = network(t, X) and jv = (d out / d x) V per column (forward mode).
  void evaluate_jvp(double t, const matrix<S>& X, const matrix<S>& V, matrix<S>& out,
                    matrix<S>& jv) const {
    check(X, "mlp: rows of X");
    detail::require_dimension(X.rows(), V.rows(), "mlp: rows of V");
    detail::require_dimension(X.cols(), V.cols(), "mlp: columns of V");
    out.resize(X.rows(), X.cols());
    jv.resize(X.rows(), X.cols());
    run(t, X, &V, out, &jv);
  }

  /// out = network(t, X) and trace(d out / d x) per column: the Jacobian (H_l x D) of every
  /// layer is propagated, D matrix-vector products per layer after the first.
  void evaluate_and_trace(double t, const matrix<S>& X, matrix<S>& out, vector<S>& trace) const {
    check(X, "mlp: rows of X");
    const long D = X.rows(), N = X.cols();
    out.resize(D, N);
    trace.resize(N);
    auto& ws = detail::mlp_thread_workspace<S>();
    prepare_time(t, ws);
    for (long j = 0; j < N; ++j) {
      column(ws, X.data() + j * D, nullptr, out.data() + j * D, nullptr, true);
      const S* a = ws.pre.data();
      const S* gain = ws.gain.data();
      long H = D;
      for (long l = 0; l < depth(); ++l) {
        const auto& layer = p_.hidden[std::size_t(l)];
        const long Hn = layer.weight.rows();
        S* Tn = detail::mlp_reserve(ws.tangent1, std::size_t(Hn * D));
        if (l == 0) {  // T_0 = I: the first product is the weight itself
          for (long k = 0; k < D; ++k)
            for (long i = 0; i < Hn; ++i) Tn[k * Hn + i] = layer.weight(i, k);
        } else {
          const S* T = ws.tangent0.data();
          for (long k = 0; k < D; ++k) detail::mlp_gemv(layer.weight, T + k * H, Tn + k * Hn);
        }
        for (long k = 0; k < D; ++k)
          for (long i = 0; i < Hn; ++i)
            Tn[k * Hn + i] *= gain[i] * detail::mlp_silu_derivative(a[i]);
        if (layer.residual) {
          if (l == 0)
            for (long k = 0; k < D; ++k) Tn[k * Hn + k] += S(1);
          else {
            const S* T = ws.tangent0.data();
            for (long k = 0; k < D * Hn; ++k) Tn[k] += T[k];
          }
        }
        std::swap(ws.tangent0, ws.tangent1);
        a += Hn;
        gain += Hn;
        H = Hn;
      }
      // trace(diag(gain_o) W_o T) + trace(skip), each sum in a fixed order.
      const S* Tf = ws.tangent0.data();
      S tr = 0;
      for (long i = 0; i < D; ++i) {
        S r = 0;
        for (long k = 0; k < H; ++k) r += p_.out_weight(i, k) * Tf[i * H + k];
        tr += gain[i] * r;
      }
      if (p_.skip_weight.size() > 0)
        for (long i = 0; i < D; ++i) tr += p_.skip_weight(i, i);
      if (!p_.base.empty())  // trace(U diag(c) U^T) = sum_k c_k |U e_k|^2
        for (long k = 0; k < D; ++k) tr += ws.base_coef[std::size_t(k)] * base_norms_(k);
      trace(j) = tr;
    }
  }

 private:
  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> counter{0};
    return ++counter;
  }

  void check(const matrix<S>& X, const char* what) const {
    detail::require_dimension(dimension(), X.rows(), what);
  }

  void validate() const {
    const auto& p = p_;
    detail::require(p.embedding.dim >= 2 && p.embedding.dim % 2 == 0,
                    "mlp: time embedding dimension must be even and >= 2 (" +
                        std::to_string(p.embedding.dim) + ")");
    detail::require(std::isfinite(p.embedding.scale) && std::isfinite(p.embedding.max_period) &&
                        p.embedding.max_period > 0,
                    "mlp: time embedding scale and max_period must be finite, max_period > 0");
    detail::require(!p.hidden.empty(), "mlp: needs at least one hidden layer (0)");
    const long Tw = p.time_weight.rows();
    detail::require_dimension(p.embedding.dim, p.time_weight.cols(), "mlp: columns of time.weight");
    detail::require_dimension(Tw, p.time_bias.size(), "mlp: size of time.bias");
    const long D = p.out_weight.rows();
    detail::require(D >= 1, "mlp: output dimension must be >= 1 (" + std::to_string(D) + ")");
    long in = D;
    for (std::size_t l = 0; l < p.hidden.size(); ++l) {
      const auto& L = p.hidden[l];
      const std::string n = "mlp: hidden." + std::to_string(l);
      detail::require(L.weight.rows() >= 1, n + ".weight has no rows");
      detail::require_dimension(in, L.weight.cols(), n + ".weight columns");
      detail::require_dimension(L.weight.rows(), L.bias.size(), n + ".bias size");
      detail::require_dimension(L.weight.rows(), L.time_weight.rows(), n + ".time_weight rows");
      detail::require_dimension(Tw, L.time_weight.cols(), n + ".time_weight columns");
      if (L.time_scale.size() > 0) {
        detail::require_dimension(L.weight.rows(), L.time_scale.rows(), n + ".time_scale rows");
        detail::require_dimension(Tw, L.time_scale.cols(), n + ".time_scale columns");
      }
      if (L.residual)
        detail::require_dimension(in, L.weight.rows(), n + " is residual: output width vs input");
      in = L.weight.rows();
    }
    detail::require_dimension(in, p.out_weight.cols(), "mlp: out.weight columns");
    detail::require_dimension(D, p.out_bias.size(), "mlp: out.bias size");
    if (p.out_time_scale.size() > 0) {
      detail::require_dimension(D, p.out_time_scale.rows(), "mlp: out.time_scale rows");
      detail::require_dimension(Tw, p.out_time_scale.cols(), "mlp: out.time_scale columns");
    }
    if (p.skip_weight.size() > 0) {
      detail::require_dimension(D, p.skip_weight.rows(), "mlp: skip.weight rows");
      detail::require_dimension(D, p.skip_weight.cols(), "mlp: skip.weight columns");
    }
    if (!p.base.empty()) {
      detail::require_dimension(D, p.base.mean.size(), "mlp: base.mean size");
      detail::require_dimension(D, p.base.eigvecs.rows(), "mlp: base.eigvecs rows");
      detail::require_dimension(D, p.base.eigvecs.cols(), "mlp: base.eigvecs columns");
      detail::require_dimension(D, p.base.eigvals.size(), "mlp: base.eigvals size");
      for (long k = 0; k < D; ++k)
        detail::require(p.base.eigvals(k) >= 0, "mlp: base eigenvalue " + std::to_string(k) +
                                                    " is negative (" +
                                                    std::to_string(double(p.base.eigvals(k))) + ")");
      detail::require(p.base.beta_min > 0 && p.base.beta_max >= p.base.beta_min,
                      "mlp: base needs 0 < beta_min <= beta_max (" +
                          std::to_string(p.base.beta_min) + ", " + std::to_string(p.base.beta_max) + ")");
    }
  }

  /// Per-layer gains 1 + G_l z(t) and shifts U_l z(t), cached per thread for the last
  /// (model, t): the exact divergence evaluates D times at one t.
  void prepare_time(double t, detail::mlp_workspace<S>& ws) const {
    if (ws.cached_id == id_ && ws.cached_t == t) return;
    const long E = p_.embedding.dim, Tw = p_.time_weight.rows();
    double* e = detail::mlp_reserve(ws.embedding, std::size_t(E));
    p_.embedding(t, e);
    S* z = detail::mlp_reserve(ws.time_features, std::size_t(Tw));
    for (long i = 0; i < Tw; ++i) {
      S acc = 0;
      for (long k = 0; k < E; ++k) acc += p_.time_weight(i, k) * S(e[k]);
      z[i] = detail::mlp_silu(acc + p_.time_bias(i));
    }
    const auto times_z = [&](const matrix<S>& M, long i) {
      S acc = 0;
      for (long k = 0; k < Tw; ++k) acc += M(i, k) * z[k];
      return acc;
    };
    long total = 0;
    for (const auto& l : p_.hidden) total += l.weight.rows();
    S* shift = detail::mlp_reserve(ws.layer_shift, std::size_t(total));
    S* gain = detail::mlp_reserve(ws.gain, std::size_t(total + dimension()));
    for (const auto& l : p_.hidden) {
      const bool film = l.time_scale.size() > 0;
      for (long i = 0; i < l.weight.rows(); ++i) {
        shift[i] = times_z(l.time_weight, i);
        gain[i] = film ? S(1) + times_z(l.time_scale, i) : S(1);
      }
      shift += l.weight.rows();
      gain += l.weight.rows();
    }
    const bool film_out = p_.out_time_scale.size() > 0;
    for (long i = 0; i < dimension(); ++i)
      gain[i] = film_out ? S(1) + times_z(p_.out_time_scale, i) : S(1);
    if (!p_.base.empty()) {
      // In double, then rounded, as the PyTorch model does.
      const double B = p_.base.beta_min * t + 0.5 * (p_.base.beta_max - p_.base.beta_min) * t * t;
      const double alpha = std::exp(-0.5 * B), sigma2 = -std::expm1(-B);
      ws.base_alpha = S(alpha);
      S* c = detail::mlp_reserve(ws.base_coef, std::size_t(dimension()));
      for (long k = 0; k < dimension(); ++k)
        c[k] = S(std::sqrt(sigma2) / (alpha * alpha * double(p_.base.eigvals(k)) + sigma2));
    }
    ws.cached_id = id_;
    ws.cached_t = t;
  }

  void run(double t, const matrix<S>& X, const matrix<S>* V, matrix<S>& out,
           matrix<S>* jv) const {
    const long D = X.rows(), N = X.cols();
    if (N == 0) return;
    auto& ws = detail::mlp_thread_workspace<S>();
    prepare_time(t, ws);
    for (long j = 0; j < N; ++j)
      column(ws, X.data() + j * D, V ? V->data() + j * D : nullptr, out.data() + j * D,
             jv ? jv->data() + j * D : nullptr, false);
  }

  /// One column: out = network(x) and, if v is given, jv = J v (forward mode, (h, dh) pairs).
  /// keep_pre stores the pre-activations of all layers in ws.pre (for the trace).
  void column(detail::mlp_workspace<S>& ws, const S* x, const S* v, S* out, S* jv,
              bool keep_pre) const {
    const long D = dimension();
    long widest = D, pre_total = 0;
    for (const auto& l : p_.hidden) {
      widest = std::max(widest, l.weight.rows());
      pre_total += l.weight.rows();
    }
    S* h = detail::mlp_reserve(ws.h, std::size_t(widest));
    S* a = detail::mlp_reserve(ws.a, std::size_t(widest));
    S* dh = v ? detail::mlp_reserve(ws.dh, std::size_t(widest)) : nullptr;
    S* da = v ? detail::mlp_reserve(ws.da, std::size_t(widest)) : nullptr;
    S* pre = keep_pre ? detail::mlp_reserve(ws.pre, std::size_t(pre_total)) : nullptr;
    for (long i = 0; i < D; ++i) h[i] = x[i];
    if (v)
      for (long i = 0; i < D; ++i) dh[i] = v[i];
    const S* shift = ws.layer_shift.data();
    const S* gain = ws.gain.data();
    for (const auto& layer : p_.hidden) {
      const long H = layer.weight.rows();
      detail::mlp_gemv(layer.weight, h, a);
      if (v) detail::mlp_gemv(layer.weight, dh, da);
      for (long i = 0; i < H; ++i) {
        // Same association as PyTorch: ((W h + b) * gain) + U z.
        const S ap = (a[i] + layer.bias(i)) * gain[i] + shift[i];
        if (pre) pre[i] = ap;
        if (v) {
          da[i] *= gain[i] * detail::mlp_silu_derivative(ap);
          if (layer.residual) da[i] += dh[i];
        }
        a[i] = detail::mlp_silu(ap);
        if (layer.residual) a[i] += h[i];
      }
      if (pre) pre += H;
      shift += H;
      gain += H;
      std::swap(h, a);
      if (v) std::swap(dh, da);
    }
    detail::mlp_gemv(p_.out_weight, h, out);
    for (long i = 0; i < D; ++i) out[i] = (out[i] + p_.out_bias(i)) * gain[i];
    if (v) {
      detail::mlp_gemv(p_.out_weight, dh, jv);
      for (long i = 0; i < D; ++i) jv[i] *= gain[i];
    }
    if (p_.skip_weight.size() > 0) {
      S* sk = a;  // free: h_L lives in the other buffer
      detail::mlp_gemv(p_.skip_weight, x, sk);
      for (long i = 0; i < D; ++i) out[i] += sk[i];
      if (v) {
        detail::mlp_gemv(p_.skip_weight, v, sk);
        for (long i = 0; i < D; ++i) jv[i] += sk[i];
      }
    }
    if (!p_.base.empty()) {
      S* r = detail::mlp_reserve(ws.base_in, std::size_t(D));
      S* y = detail::mlp_reserve(ws.base_out, std::size_t(D));
      const S* c = ws.base_coef.data();
      for (long i = 0; i < D; ++i) r[i] = x[i] - ws.base_alpha * p_.base.mean(i);
      detail::mlp_gemv(base_eigvecs_t_, r, y);
      for (long k = 0; k < D; ++k) y[k] *= c[k];
      detail::mlp_gemv(p_.base.eigvecs, y, r);
      for (long i = 0; i < D; ++i) out[i] += r[i];
      if (v) {
        detail::mlp_gemv(base_eigvecs_t_, v, y);
        for (long k = 0; k < D; ++k) y[k] *= c[k];
        detail::mlp_gemv(p_.base.eigvecs, y, r);
        for (long i = 0; i < D; ++i) jv[i] += r[i];
      }
    }
  }

  mlp_parameters<S> p_;
  matrix<S> base_eigvecs_t_;
  vector<S> base_norms_;
  std::uint64_t id_;
};

/// Score model from an MLP predicting `kind` (epsilon, x0, v, flow velocity or the score)
/// for `process`: parametrised_score_model with the MLP's score_jvp (forward mode) and
/// score_and_laplacian (exact trace), so divergence_estimator uses them for Hutchinson and for
/// the exact divergence, plus the cost of the trace and the Tweedie denoiser.
template <class Scalar, process Process = vp_process>
class mlp_score_model : public parametrised_score_model<mlp<Scalar>, Process> {
  using base = parametrised_score_model<mlp<Scalar>, Process>;

 public:
  using scalar_type = Scalar;

  mlp_score_model(mlp<Scalar> network, Process process, parametrisation kind)
      : base(std::move(network), std::move(process), kind) {}

  const mlp<Scalar>& network() const { return this->net(); }

  /// Score-evaluation equivalents of score_and_laplacian per column.
  long laplacian_cost() const {
    return (network().trace_macs() + network().forward_macs() - 1) / network().forward_macs();
  }

  /// Posterior mean E[x_0 | x_t] by Tweedie: (x + sigma^2 s) / alpha.
  void denoiser(double t, const matrix<Scalar>& X, matrix<Scalar>& out) const {
    this->score(t, X, out);
    from_score(parametrisation::x0, this->process(), t, X, out);
  }
};

}  // namespace dlogp

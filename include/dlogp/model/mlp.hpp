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
// Determinism: the network runs on blocks of columns, every layer on a block before the next
// block, through the fixed-order blocked product of detail/mlp_kernels.hpp (each output element
// summed over k in increasing order, one multiply-add per term, whatever the tile computing
// it), with SiLU on vmath::exp (the same bits in scalar code and in SIMD lanes): a column's
// result is bit-identical whatever the batch size, its position and the thread count. The
// model is immutable (its packed weights are made once, by the constructor); scratch space is
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
#include "dlogp/core/pinned_fp.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"
#include "dlogp/model/detail/mlp_kernels.hpp"
#include "dlogp/model/parametrisation.hpp"
#include "dlogp/process/vp.hpp"

DLOGP_PINNED_FP_BEGIN
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
    prepare();
  }
  mlp(const mlp& o) : p_(o.p_), d_(o.d_), id_(next_id()) {}
  mlp(mlp&& o) noexcept : p_(std::move(o.p_)), d_(std::move(o.d_)), id_(next_id()) {}
  mlp& operator=(const mlp& o) {
    p_ = o.p_;
    d_ = o.d_;
    id_ = next_id();
    return *this;
  }
  mlp& operator=(mlp&& o) noexcept {
    p_ = std::move(o.p_);
    d_ = std::move(o.d_);
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
  /// layer is propagated, a D-column matrix product per layer after the first.
  void evaluate_and_trace(double t, const matrix<S>& X, matrix<S>& out, vector<S>& trace) const {
    check(X, "mlp: rows of X");
    const long D = X.rows(), N = X.cols();
    out.resize(D, N);
    trace.resize(N);
    auto& ws = detail::mlp_thread_workspace<S>();
    prepare_time(t, ws);
    for (long j0 = 0; j0 < N; j0 += detail::mlp_block_columns) {
      const long n = std::min(detail::mlp_block_columns, N - j0);
      block(ws, X.data() + j0 * D, nullptr, n, out.data() + j0 * D, nullptr, true);
      for (long c = 0; c < n; ++c) trace(j0 + c) = column_trace(ws, n, c);
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

  /// What the constructor derives from the parameters: the packed weights of every product
  /// and the Gaussian base's U^T and column norms.
  struct derived {
    std::vector<detail::mlp_packed<S>> hidden;
    detail::mlp_packed<S> out, skip, base_t, base;
    matrix<S> base_eigvecs_t;
    vector<S> base_norms;
  };

  void prepare() {
    for (const auto& l : p_.hidden) d_.hidden.emplace_back(l.weight);
    d_.out = detail::mlp_packed<S>(p_.out_weight);
    if (p_.skip_weight.size() > 0) d_.skip = detail::mlp_packed<S>(p_.skip_weight);
    if (!p_.base.empty()) {
      d_.base_eigvecs_t = p_.base.eigvecs.transpose();
      d_.base_t = detail::mlp_packed<S>(d_.base_eigvecs_t);
      d_.base = detail::mlp_packed<S>(p_.base.eigvecs);
      d_.base_norms.resize(dimension());
      for (long k = 0; k < dimension(); ++k) {
        S n = 0;
        for (long i = 0; i < dimension(); ++i) n += p_.base.eigvecs(i, k) * p_.base.eigvecs(i, k);
        d_.base_norms(k) = n;
      }
    }
  }

  long widest() const {
    long w = dimension();
    for (const auto& l : p_.hidden) w = std::max(w, l.weight.rows());
    return w;
  }
  long pre_total() const {
    long n = 0;
    for (const auto& l : p_.hidden) n += l.weight.rows();
    return n;
  }

  void run(double t, const matrix<S>& X, const matrix<S>* V, matrix<S>& out,
           matrix<S>* jv) const {
    const long D = X.rows(), N = X.cols();
    if (N == 0) return;
    auto& ws = detail::mlp_thread_workspace<S>();
    prepare_time(t, ws);
    for (long j0 = 0; j0 < N; j0 += detail::mlp_block_columns) {
      const long n = std::min(detail::mlp_block_columns, N - j0);
      block(ws, X.data() + j0 * D, V ? V->data() + j0 * D : nullptr, n, out.data() + j0 * D,
            jv ? jv->data() + j0 * D : nullptr, false);
    }
  }

  /// n columns (stride D): out = network(x) and, if v is given, jv = J v (forward mode: the
  /// tangents ride along as n more columns of every product). keep_pre stores the
  /// pre-activations of all layers in ws.pre, layer by layer, each H_l x n.
  void block(detail::mlp_workspace<S>& ws, const S* x, const S* v, long n, S* out, S* jv,
             bool keep_pre) const {
    const long D = dimension();
    const long m = v ? 2 * n : n;  // columns of every product
    S* h = detail::mlp_reserve(ws.h, std::size_t(widest() * m));
    S* a = detail::mlp_reserve(ws.a, std::size_t(widest() * m));
    S* pre = keep_pre ? detail::mlp_reserve(ws.pre, std::size_t(pre_total() * n)) : nullptr;
    // The input: x itself, or x and v side by side.
    const S* in = x;
    if (v) {
      S* xv = detail::mlp_reserve(ws.input, std::size_t(D * m));
      std::copy(x, x + D * n, xv);
      std::copy(v, v + D * n, xv + D * n);
      in = xv;
    }
    const S* hin = in;  // the current layer's input, H_in x m
    long Hin = D;
    const S* shift = ws.layer_shift.data();
    const S* gain = ws.gain.data();
    for (std::size_t l = 0; l < p_.hidden.size(); ++l) {
      const auto& layer = p_.hidden[l];
      const long H = layer.weight.rows();
      detail::mlp_product(layer.weight, d_.hidden[l], hin, Hin, a, H, m);
      for (long c = 0; c < n; ++c) {
        activate(layer, H, shift, gain, a + c * H, pre ? pre + c * H : nullptr,
                 layer.residual ? hin + c * Hin : nullptr, v ? a + (n + c) * H : nullptr,
                 v && layer.residual ? hin + (n + c) * Hin : nullptr);
      }
      if (pre) pre += H * n;
      shift += H;
      gain += H;
      hin = a;
      std::swap(h, a);
      Hin = H;
    }
    // hin (= h) holds h_L; a is free.
    detail::mlp_product(p_.out_weight, d_.out, hin, Hin, a, D, m);
    output(gain, n, a, out, v ? a + n * D : nullptr, jv);
    if (p_.skip_weight.size() > 0) {
      detail::mlp_product(p_.skip_weight, d_.skip, in, D, a, D, m);
      add_columns(D, n, a, out, v ? a + n * D : nullptr, jv);
    }
    if (!p_.base.empty()) {
      S* r = detail::mlp_reserve(ws.base_in, std::size_t(D * m));
      S* y = detail::mlp_reserve(ws.base_out, std::size_t(D * m));
      base_input(ws.base_alpha, x, v, n, r);
      detail::mlp_product(d_.base_eigvecs_t, d_.base_t, r, D, y, D, m);
      scale_rows(ws.base_coef.data(), D, m, y);
      detail::mlp_product(p_.base.eigvecs, d_.base, y, D, r, D, m);
      add_columns(D, n, r, out, v ? r + n * D : nullptr, jv);
    }
  }

  /// One column of a hidden layer, in place: a <- silu((a + b) gain + shift) [+ h], the
  /// pre-activation to pre, and the tangent da <- da gain silu'(pre) [+ dh] if da is given.
  static void activate(const mlp_layer<S>& layer, long H, const S* shift, const S* gain, S* a,
                       S* pre, const S* h, S* da, const S* dh) {
    const S* b = layer.bias.data();
    // Separate loops without conditions, so each vectorises.
    for (long i = 0; i < H; ++i) a[i] = (a[i] + b[i]) * gain[i] + shift[i];  // as PyTorch
    if (pre) std::copy(a, a + H, pre);
    if (da) detail::mlp_silu_tangent_n(a, gain, da, H);
    detail::mlp_silu_n(a, H);
    if (h)
      for (long i = 0; i < H; ++i) a[i] += h[i];
    if (dh)
      for (long i = 0; i < H; ++i) da[i] += dh[i];
  }

  /// out = (W_o h + b_o) gain_o and jv = (W_o dh) gain_o, column by column (y: D x n each).
  void output(const S* gain, long n, const S* y, S* out, const S* dy, S* jv) const {
    const long D = dimension();
    const S* b = p_.out_bias.data();
    for (long c = 0; c < n; ++c)
      for (long i = 0; i < D; ++i) out[c * D + i] = (y[c * D + i] + b[i]) * gain[i];
    if (jv)
      for (long c = 0; c < n; ++c)
        for (long i = 0; i < D; ++i) jv[c * D + i] = dy[c * D + i] * gain[i];
  }

  static void add_columns(long D, long n, const S* y, S* out, const S* dy, S* jv) {
    for (long k = 0; k < D * n; ++k) out[k] += y[k];
    if (jv)
      for (long k = 0; k < D * n; ++k) jv[k] += dy[k];
  }

  /// The base's input: x - alpha mean per column, then v unchanged (its tangent).
  void base_input(S alpha, const S* x, const S* v, long n, S* r) const {
    const long D = dimension();
    const S* mean = p_.base.mean.data();
    for (long c = 0; c < n; ++c)
      for (long i = 0; i < D; ++i) r[c * D + i] = x[c * D + i] - alpha * mean[i];
    if (v) std::copy(v, v + D * n, r + D * n);
  }

  static void scale_rows(const S* coef, long D, long m, S* y) {
    for (long c = 0; c < m; ++c)
      for (long k = 0; k < D; ++k) y[c * D + k] *= coef[k];
  }

  /// trace(d out / d x) of column c of the block block() just evaluated with keep_pre (n
  /// columns): the layers' Jacobians T_l (H_l x D), T_0 = I.
  S column_trace(detail::mlp_workspace<S>& ws, long n, long c) const {
    const long D = dimension();
    const S* pre = ws.pre.data();
    const S* gain = ws.gain.data();
    long H = D;
    for (std::size_t l = 0; l < p_.hidden.size(); ++l) {
      const auto& layer = p_.hidden[l];
      const long Hn = layer.weight.rows();
      const S* a = pre + c * Hn;
      S* Tn = detail::mlp_reserve(ws.tangent1, std::size_t(Hn * D));
      if (l == 0) {  // T_0 = I: the first product is the weight itself
        for (long k = 0; k < D; ++k)
          for (long i = 0; i < Hn; ++i) Tn[k * Hn + i] = layer.weight(i, k);
      } else {
        detail::mlp_product(layer.weight, d_.hidden[l], ws.tangent0.data(), H, Tn, Hn, D);
      }
      scale_tangent(ws, gain, a, Hn, D, Tn);
      if (layer.residual) {
        if (l == 0)
          for (long k = 0; k < D; ++k) Tn[k * Hn + k] += S(1);
        else {
          const S* T = ws.tangent0.data();
          for (long k = 0; k < D * Hn; ++k) Tn[k] += T[k];
        }
      }
      std::swap(ws.tangent0, ws.tangent1);
      pre += Hn * n;
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
      for (long k = 0; k < D; ++k) tr += ws.base_coef[std::size_t(k)] * d_.base_norms(k);
    return tr;
  }

  /// T(i, k) *= gain_i silu'(a_i) for the D columns of T (Hn x D).
  static void scale_tangent(detail::mlp_workspace<S>& ws, const S* gain, const S* a, long Hn,
                            long D, S* T) {
    S* f = detail::mlp_reserve(ws.factor, std::size_t(Hn));
    std::fill(f, f + Hn, S(1));
    detail::mlp_silu_tangent_n(a, gain, f, Hn);
    for (long k = 0; k < D; ++k)
      for (long i = 0; i < Hn; ++i) T[k * Hn + i] *= f[i];
  }

  mlp_parameters<S> p_;
  derived d_;
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
DLOGP_PINNED_FP_END

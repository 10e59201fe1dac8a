#pragma once
// A TorchScript module (torch.jit.script or torch.jit.trace, saved with .save()) as a dlogp
// score model. Opt-in: needs libtorch (Debian's libtorch-dev; CMake option DLOGP_WITH_TORCH
// for the tests), and is not part of the umbrella header.
//
// The module's forward takes (x, t): x of shape [N, D] (one sample per row; [N, C, H, W] or any
// shape with torch_model_options::input_shape) and t of shape [N] (every entry the same: the
// process time, or sigma(t) with time_input::sigma), both of the model's scalar type, and
// returns a tensor of x's shape: a raw prediction of the given parametrisation (epsilon, x0, v,
// flow velocity or the score), turned into a score by the adapters of model/parametrisation.hpp.
//
// Scalar types: the module's parameters are converted to Scalar at load. A TRACED module also
// records its dtype conversions as constants, so it runs only in the dtype it was traced in
// (trace once per scalar type); scripted modules usually work in both.
// Layout: a column-major D x N dlogp matrix is a row-major [N, D] tensor, so inputs are passed
// to torch without a copy, and the output is copied once.
// Routes and their costs, counted in forward or reverse passes over the batch (each about one
// network evaluation per column; laplacian_cost() and Hutchinson's cost() report them):
//   score                 1 forward pass, no graph.
//   score_and_laplacian   1 forward + D reverse passes: the gradient of sum_j y_ji is row i of
//                         every sample's Jacobian, so its entry i is that Jacobian's diagonal
//                         entry. The exact divergence of pf_ode and the other dynamics.
//                         laplacian_cost() = 1 + D. This needs what every score model needs
//                         anyway: samples in a batch do not interact (no batch statistics).
//   score_vjp             1 forward + 1 reverse pass seeded with U: J^T U per column.
//   score_vjp_blocks      1 forward + K reverse passes over the retained graph: K cotangents
//                         per column at once. Hutchinson with K probes goes this way
//                         (z^T J z = z^T (J^T z)): cost 1 + K.
//   score_jvp             JVPs by reverse mode twice (the "double-vjp" trick: J v = d/du
//                         <J^T u, v>): 1 forward + 2 reverse passes, one with create_graph;
//                         kept for callers that need J V itself (dlogp's divergences do not).
// A reverse pass that needs only input gradients does about the multiply-adds of a forward
// pass (the parameters do not require grad here, so no weight gradients are computed) and
// costs about as much: 6 against the forward's 8 ms for a width-256 MLP at N = 64, one
// thread (Debian's libtorch, reference BLAS). Against eager
// PyTorch: 1.1-1.2x faster at D = 8, parity at D = 256 (benchmarks/RESULTS.md section 8,
// docs/performance.md "TorchScript models").
// Thread safety: inference on one module from several threads is supported by TorchScript;
// gradient mode is set per call (thread-local guards). Torch's own intra-op threads add to
// the driver's OpenMP threads: call torch::set_num_threads(1) (declared by this header's
// includes) when the driver runs threads.
// libtorch includes glog, whose CHECK macro clashes with test frameworks' CHECK (Catch2):
// include this header first and #undef CHECK before the framework (tests/torch does).
// Determinism across batch sizes is whatever torch gives (its GEMMs may use a different
// summation order for different N): this adapter does not promise bit-identical columns.
#include <torch/csrc/autograd/autograd.h>
#include <torch/script.h>
#include <torch/utils.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <type_traits>
#include <vector>

#include "dlogp/core/concepts.hpp"
#include "dlogp/core/types.hpp"
#include "dlogp/error.hpp"
#include "dlogp/model/parametrisation.hpp"
#include "dlogp/model/torch_model_options.hpp"

namespace dlogp {

template <class Scalar, process Process>
class torch_score_model {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "torch_score_model: Scalar must be float or double");

 public:
  using scalar_type = Scalar;
  using S = Scalar;

  /// Loads the module from `path` (throws error "io_error" if torch cannot load it), converts
  /// its parameters to Scalar, and checks one evaluation at t_max: a module whose forward has
  /// another signature, output shape or dtype is refused here (invalid_argument /
  /// dimension_mismatch, with the expected signature in the message), not mid-run.
  torch_score_model(const std::string& path, long dimension, Process process,
                    parametrisation kind, torch_model_options options = {})
      : process_(std::move(process)), kind_(kind), dimension_(dimension), options_(std::move(options)) {
    detail::require(dimension >= 1,
                    "torch_score_model: dimension must be >= 1 (" + std::to_string(dimension) + ")");
    long shape_size = 1;
    for (long d : options_.input_shape) {
      detail::require(d >= 1, "torch_score_model: input_shape entries must be >= 1");
      shape_size *= d;
    }
    if (!options_.input_shape.empty())
      detail::require_dimension(dimension_, shape_size, "torch_score_model: product of input_shape");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      throw error("io_error", "torch_score_model: cannot load the module (" + path + "): " +
                                  (std::filesystem::exists(path, ec) ? "not a regular file" : "no such file"));
    try {
      module_ = torch::jit::load(path, torch::kCPU);
    } catch (const std::exception& e) {
      throw error("io_error", "torch_score_model: cannot load the module (" + path + "): " +
                                  first_line(e.what()));
    }
    module_.to(dtype());
    module_.eval();
    // Only input gradients are ever asked for. With parameters that require grad, TorchScript's
    // profiling executor may build autodiff graphs (when the calls it profiles require grad)
    // whose reverse pass computes the weight gradients too: one more matrix product per
    // linear layer, 22 against 14 ms per forward + reverse pass of a width-256 MLP at N = 64
    // (docs/performance.md, "TorchScript models").
    for (auto p : module_.parameters()) p.set_requires_grad(false);
    matrix<S> x = matrix<S>::Zero(dimension_, 1), s;
    torch::NoGradGuard no_grad;
    const torch::Tensor y = forward(process_.t_max(), input(x), /*first_call=*/true);
    if (y.scalar_type() != dtype())
      throw invalid_argument("torch_score_model: forward returned " + dtype_name(y.scalar_type()) + " for " +
                             dtype_name(dtype()) + " input; expected " + signature());
    copy_out(y, 1, s);
  }

  long dimension() const { return dimension_; }
  const Process& process() const { return process_; }
  parametrisation kind() const { return kind_; }
  const torch_model_options& options() const { return options_; }

  void score(double t, const matrix<S>& X, matrix<S>& out) const {
    detail::require_dimension(dimension_, X.rows(), "torch_score_model: rows of X");
    const auto c = to_score_coefficients(kind_, process_, t);
    torch::NoGradGuard no_grad;
    const torch::Tensor y = forward(t, input(X));
    copy_out(y, X.cols(), out);
    combine(c, X, out);
  }

  /// S = s(t, X) and lap = div s per column, exactly (see the top: D reverse passes).
  void score_and_laplacian(double t, const matrix<S>& X, matrix<S>& out, vector<S>& lap) const {
    detail::require_dimension(dimension_, X.rows(), "torch_score_model: rows of X");
    const auto c = to_score_coefficients(kind_, process_, t);
    const long N = X.cols();
    torch::AutoGradMode grad_on(true);
    const torch::Tensor x = input(X).detach().clone().requires_grad_(true);
    const torch::Tensor y = forward(t, x);
    copy_out(y.detach(), N, out);  // checks the shape before the passes index it
    torch::Tensor trace = torch::zeros({N}, torch::TensorOptions().dtype(dtype()));
    for (long i = 0; i < dimension_; ++i) {
      const auto g = torch::autograd::grad({y.select(1, i).sum()}, {x}, {}, /*retain_graph=*/i + 1 < dimension_,
                                           /*create_graph=*/false, /*allow_unused=*/true);
      if (g[0].defined()) trace += g[0].select(1, i);
    }
    const torch::Tensor tr = trace.contiguous();
    // s = a net + b x: div s = a tr(J_net) + b D.
    lap.resize(N);
    for (long j = 0; j < N; ++j) lap(j) = S(c.scale) * tr.data_ptr<S>()[j] + S(c.shift * double(dimension_));
    combine(c, X, out);
  }

  /// S = s(t, X), JTU = (d s / d x)^T U per column: one forward pass with the graph, one
  /// reverse pass seeded with U (Hutchinson's route: z^T J z = z^T (J^T z)).
  void score_vjp(double t, const matrix<S>& X, const matrix<S>& U, matrix<S>& out,
                 matrix<S>& JTU) const {
    detail::require_dimension(X.cols(), U.cols(), "torch_score_model: columns of U");
    score_vjp_blocks(t, X, U, out, JTU);
  }

  /// S = s(t, X) and K products at once: U is D x (K N), block k (columns k N .. k N + N - 1)
  /// one cotangent per column of X, and block k of JTU = J^T (block k of U). One forward pass
  /// and K reverse passes over the retained graph.
  void score_vjp_blocks(double t, const matrix<S>& X, const matrix<S>& U, matrix<S>& out,
                        matrix<S>& JTU) const {
    detail::require_dimension(dimension_, X.rows(), "torch_score_model: rows of X");
    detail::require_dimension(X.rows(), U.rows(), "torch_score_model: rows of U");
    const long N = X.cols();
    detail::require(N > 0 ? U.cols() % N == 0 : U.cols() == 0,
                    "torch_score_model: columns of U must be a multiple of the columns of X (" +
                        std::to_string(U.cols()) + ", " + std::to_string(N) + ")");
    const long K = N > 0 ? U.cols() / N : 0;
    const auto c = to_score_coefficients(kind_, process_, t);
    torch::AutoGradMode grad_on(true);
    const torch::Tensor x = input(X).detach().clone().requires_grad_(true);
    const torch::Tensor y = forward(t, x);
    copy_out(y.detach(), N, out);  // checks the shape before the passes use it
    JTU.resize(X.rows(), K * N);
    for (long k = 0; k < K; ++k) {
      const torch::Tensor u = block(U, k, N).to(y.scalar_type());
      const auto g = torch::autograd::grad({y}, {x}, {u}, /*retain_graph=*/k + 1 < K,
                                           /*create_graph=*/false, /*allow_unused=*/true);
      S* dst = JTU.data() + k * N * X.rows();
      if (g[0].defined()) {
        const torch::Tensor gk = g[0].to(dtype()).contiguous();
        std::copy(gk.data_ptr<S>(), gk.data_ptr<S>() + N * X.rows(), dst);
      } else {  // output independent of x
        std::fill(dst, dst + N * X.rows(), S(0));
      }
    }
    combine(c, X, out);
    combine(c, U, JTU);  // s = a net + b x: J^T u = a J_net^T u + b u
  }

  /// Cost of score_and_laplacian per column in score-evaluation equivalents, a forward pass
  /// and a reverse pass over the batch counting one each: 1 + D (see the top).
  long laplacian_cost() const { return 1 + dimension_; }

  /// S = s(t, X), JV = (d s / d x) V per column, by two reverse-mode passes.
  void score_jvp(double t, const matrix<S>& X, const matrix<S>& V, matrix<S>& out,
                 matrix<S>& JV) const {
    detail::require_dimension(dimension_, X.rows(), "torch_score_model: rows of X");
    detail::require_dimension(X.rows(), V.rows(), "torch_score_model: rows of V");
    detail::require_dimension(X.cols(), V.cols(), "torch_score_model: columns of V");
    const auto c = to_score_coefficients(kind_, process_, t);
    torch::AutoGradMode grad_on(true);
    const torch::Tensor x = input(X).detach().clone().requires_grad_(true);
    const torch::Tensor y = forward(t, x);
    // u is a dummy cotangent: g(u) = J^T u is linear in u, and d<g(u), v>/du = J v.
    const torch::Tensor u = torch::zeros_like(y).requires_grad_(true);
    const auto g = torch::autograd::grad({y}, {x}, {u}, /*retain_graph=*/true,
                                         /*create_graph=*/true, /*allow_unused=*/true);
    copy_out(y.detach(), X.cols(), out);
    combine(c, X, out);
    if (!g[0].defined()) {  // output independent of x
      JV.setZero(X.rows(), X.cols());
    } else {
      const auto jv = torch::autograd::grad({g[0]}, {u}, {input(V)}, /*retain_graph=*/false,
                                            /*create_graph=*/false, /*allow_unused=*/true);
      if (jv[0].defined())
        copy_out(jv[0].detach(), X.cols(), JV);
      else
        JV.setZero(X.rows(), X.cols());
    }
    combine(c, V, JV);
  }

 private:
  static constexpr torch::ScalarType dtype() {
    return std::is_same_v<S, float> ? torch::kFloat32 : torch::kFloat64;
  }

  static std::string dtype_name(torch::ScalarType t) {
    if (t == torch::kFloat32) return "float32";
    if (t == torch::kFloat64) return "float64";
    return c10::toString(t);
  }

  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  /// The informative line of a torch exception: TorchScript's interpreter puts its own header
  /// and a traceback first and the module's error ("RuntimeError: ...") last.
  static std::string torch_message(const std::string& s) {
    if (s.find("The following operation failed in the TorchScript interpreter") == std::string::npos)
      return first_line(s);
    std::string last;
    std::size_t begin = 0;
    while (begin < s.size()) {
      const std::size_t end = std::min(s.find('\n', begin), s.size());
      if (s.find_first_not_of(" \t\r", begin) < end) last = s.substr(begin, end - begin);
      begin = end + 1;
    }
    return last;
  }

  /// The D x N matrix as an [N, D] tensor sharing its memory (torch does not write to it).
  torch::Tensor input(const matrix<S>& X) const {
    return torch::from_blob(const_cast<S*>(X.data()), {long(X.cols()), long(X.rows())},
                            torch::TensorOptions().dtype(dtype()));
  }

  /// Columns k N .. k N + N - 1 of the D x (K N) matrix U as an [N, D] tensor (no copy).
  torch::Tensor block(const matrix<S>& U, long k, long N) const {
    return torch::from_blob(const_cast<S*>(U.data() + k * N * U.rows()), {N, long(U.rows())},
                            torch::TensorOptions().dtype(dtype()));
  }

  /// The expected forward, for messages.
  std::string signature() const {
    std::string shape = "N";
    if (options_.input_shape.empty()) shape += ", " + std::to_string(dimension_);
    for (long d : options_.input_shape) shape += ", " + std::to_string(d);
    const std::string type = std::is_same_v<S, float> ? "float32" : "float64";
    return "forward(x: Tensor[" + shape + "] " + type + ", " +
           (options_.time == torch_model_options::time_input::t ? "t" : "sigma") + ": Tensor[N] " + type +
           ") -> Tensor[" + shape + "] " + type;
  }

  /// Runs the module on x ([N, D], viewed as [N, input_shape...]); returns [N, D] (a view).
  torch::Tensor forward(double t, const torch::Tensor& x, bool first_call = false) const {
    const double time = options_.time == torch_model_options::time_input::t ? t : process_.sigma(t);
    const torch::Tensor tt = torch::full({x.size(0)}, time, torch::TensorOptions().dtype(dtype()));
    std::vector<long> shape{x.size(0)};
    if (options_.input_shape.empty()) shape.push_back(dimension_);
    else shape.insert(shape.end(), options_.input_shape.begin(), options_.input_shape.end());
    std::vector<torch::jit::IValue> args{x.view(shape), tt};
    torch::jit::IValue r;
    try {
      r = const_cast<torch::jit::Module&>(module_).forward(args);
    } catch (const std::exception& e) {
      if (first_call)
        throw invalid_argument("torch_score_model: the module's forward must be " + signature() +
                               "; calling it failed: " + torch_message(e.what()));
      // Mid-run, a failure may depend on the inputs (a check inside the module): it marks the
      // trajectories of this call model_error, as a NaN would, instead of ending the run.
      throw numerical_error("torch_score_model: forward failed at t = " + std::to_string(t) + ": " +
                            torch_message(e.what()));
    }
    if (!r.isTensor())
      throw invalid_argument("torch_score_model: forward returned " + r.tagKind() + "; expected " + signature());
    const torch::Tensor y = r.toTensor();
    if (y.sizes() != torch::IntArrayRef(shape))
      throw dimension_mismatch("torch_score_model: forward returned a tensor of shape " + shape_of(y) +
                               "; expected " + signature());
    return y.reshape({x.size(0), dimension_});
  }

  void copy_out(const torch::Tensor& y, long N, matrix<S>& out) const {
    if (y.dim() != 2 || y.size(0) != N || y.size(1) != dimension_)
      throw dimension_mismatch("torch_score_model: output shape must be [" + std::to_string(N) +
                               ", " + std::to_string(dimension_) + "] (" + shape_of(y) + ")");
    const torch::Tensor c = y.to(dtype()).contiguous();
    out.resize(dimension_, N);
    std::copy(c.data_ptr<S>(), c.data_ptr<S>() + N * dimension_, out.data());
  }

  static std::string shape_of(const torch::Tensor& y) {
    std::string s = "[";
    for (long i = 0; i < y.dim(); ++i) s += (i ? ", " : "") + std::to_string(y.size(i));
    return s + "]";
  }

  static void combine(const affine_coefficients& c, const matrix<S>& X, matrix<S>& out) {
    const S a = S(c.scale), b = S(c.shift);
    for (long j = 0; j < out.cols(); ++j)
      for (long i = 0; i < out.rows(); ++i)
        out(i, j) = c.shift == 0.0 ? a * out(i, j) : a * out(i, j) + b * X(i, j);
  }

  torch::jit::Module module_;
  Process process_;
  parametrisation kind_;
  long dimension_;
  torch_model_options options_;
};

}  // namespace dlogp

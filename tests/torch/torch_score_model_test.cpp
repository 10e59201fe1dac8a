// TorchScript adapter: a traced and a scripted module, produced at test time by Debian's
// python3-torch (tests/torch/make_models.py), used as dlogp score models.
// libtorch brings glog, whose CHECK macro would silently replace Catch's (no assertion would
// be counted): include torch first, drop glog's CHECK, then Catch.
#include "dlogp/model/torch_score_model.hpp"
#undef CHECK

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "dlogp/divergence/divergence.hpp"
#include "dlogp/io/mlp_weights.hpp"
#include "dlogp/model/mlp.hpp"
#include "dlogp/process/vp.hpp"
#include "generated_models.hpp"

namespace {

using dlogp::test::model_dir;

template <class S>
dlogp::matrix<S> random_matrix(long r, long c, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<double> n01;
  dlogp::matrix<S> m(r, c);
  for (long k = 0; k < m.size(); ++k) m.data()[k] = S(n01(g));
  return m;
}

template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
  return (a.template cast<double>() - b.template cast<double>()).cwiseAbs().maxCoeff();
}

}  // namespace

TEMPLATE_TEST_CASE("torch_score_model: a traced MLP agrees with dlogp's MLP on the same weights",
                   "[unit]", float, double) {
  using S = TestType;
  const dlogp::vp_process vp;
  const dlogp::torch_score_model<S, dlogp::vp_process> torch_model(
      model_dir() + (std::is_same_v<S, float> ? "/mlp_traced_f32.pt" : "/mlp_traced_f64.pt"), 8, vp,
      dlogp::parametrisation::epsilon);
  const auto loaded = dlogp::load_mlp<S>(model_dir() + "/mlp.safetensors");
  const dlogp::mlp_score_model<S> ref(loaded.network, vp, dlogp::parametrisation::epsilon);
  const dlogp::matrix<S> X = random_matrix<S>(8, 5, 1), V = random_matrix<S>(8, 5, 2);
  // Same operations in a different summation order: a few ulps of the accumulated
  // magnitudes, which are O(10) here (weights 0.5 N(0, 1)), times the score scale 1/sigma.
  const double tol = std::is_same_v<S, float> ? 1e-4 : 1e-12;
  for (double t : {0.01, 0.3, 1.0}) {
    INFO("t = " << t);
    dlogp::matrix<S> s1, s2, j1, j2;
    torch_model.score(t, X, s1);
    ref.score(t, X, s2);
    CHECK(max_abs_diff(s1, s2) <= tol * (1 + s2.cwiseAbs().maxCoeff()));
    torch_model.score_jvp(t, X, V, s1, j1);
    ref.score_jvp(t, X, V, s2, j2);
    CHECK(max_abs_diff(s1, s2) <= tol * (1 + s2.cwiseAbs().maxCoeff()));
    CHECK(max_abs_diff(j1, j2) <= tol * (1 + j2.cwiseAbs().maxCoeff()));
  }
}

TEMPLATE_TEST_CASE("torch_score_model: the exact divergence by reverse passes equals dlogp's MLP's Jacobian trace",
                   "[unit]", float, double) {
  using S = TestType;
  const dlogp::vp_process vp;
  const dlogp::torch_score_model<S, dlogp::vp_process> torch_model(
      model_dir() + (std::is_same_v<S, float> ? "/mlp_traced_f32.pt" : "/mlp_traced_f64.pt"), 8, vp,
      dlogp::parametrisation::epsilon);
  const auto loaded = dlogp::load_mlp<S>(model_dir() + "/mlp.safetensors");
  const dlogp::mlp_score_model<S> ref(loaded.network, vp, dlogp::parametrisation::epsilon);
  const dlogp::matrix<S> X = random_matrix<S>(8, 6, 4);
  // As above: the same sums in another order, a few ulps of magnitudes O(10) over sigma; the
  // trace adds D = 8 such entries.
  const double tol = std::is_same_v<S, float> ? 1e-4 : 1e-12;
  for (double t : {0.01, 0.3, 1.0}) {
    INFO("t = " << t);
    dlogp::matrix<S> s1, s2;
    dlogp::vector<S> l1, l2;
    torch_model.score_and_laplacian(t, X, s1, l1);
    ref.score_and_laplacian(t, X, s2, l2);
    CHECK(max_abs_diff(s1, s2) <= tol * (1 + s2.cwiseAbs().maxCoeff()));
    CHECK(max_abs_diff(l1, l2) <= 8 * tol * (1 + l2.cwiseAbs().maxCoeff()));
  }
}

TEMPLATE_TEST_CASE("torch_score_model: a scripted Gaussian epsilon model gives the exact score",
                   "[ground-truth]", float, double) {
  using S = TestType;
  const dlogp::vp_process vp;
  const dlogp::torch_score_model<S, dlogp::vp_process> m(model_dir() + "/gauss_scripted.pt", 8, vp,
                                                         dlogp::parametrisation::epsilon);
  const dlogp::matrix<S> X = random_matrix<S>(8, 4, 3);
  const double eps = std::is_same_v<S, float> ? 1e-5 : 1e-13;  // a few ulps of the result
  for (double t : {0.001, 0.2, 1.0}) {
    INFO("t = " << t);
    const double var = vp.alpha(t) * vp.alpha(t) * 0.25 + vp.sigma2(t);  // c = 0.5
    dlogp::matrix<S> s;
    m.score(t, X, s);
    const dlogp::matrix<S> exact = (-X.template cast<double>() / var).template cast<S>();
    CHECK(max_abs_diff(s, exact) <= eps * exact.cwiseAbs().maxCoeff());
    // Exact divergence through D JVPs: -D / var.
    dlogp::exact_divergence<dlogp::torch_score_model<S, dlogp::vp_process>> div(m);
    dlogp::vector<S> lap;
    div.score_and_divergence(t, X, s, lap);
    for (long j = 0; j < lap.size(); ++j) CHECK(std::abs(double(lap(j)) + 8 / var) <= eps * 8 / var);
  }
}

TEST_CASE("torch_score_model: errors carry stable ids", "[unit]") {
  using Catch::Matchers::Contains;
  const dlogp::vp_process vp;
  using model = dlogp::torch_score_model<double, dlogp::vp_process>;
  CHECK_THROWS_WITH(model(model_dir() + "/missing.pt", 8, vp, dlogp::parametrisation::epsilon),
                    Contains("[dlogp.io_error] torch_score_model: cannot load the module"));
  CHECK_THROWS_WITH(model(model_dir() + "/bad_shape.pt", 8, vp, dlogp::parametrisation::epsilon),
                    Contains("[dlogp.dimension_mismatch] torch_score_model: forward returned a tensor of shape [1, 9]; expected forward(x: Tensor[N, 8] float64"));
  const model m(model_dir() + "/gauss_scripted.pt", 8, vp, dlogp::parametrisation::epsilon);
  dlogp::matrix<double> s;
  CHECK_THROWS_AS(m.score(0.5, dlogp::matrix<double>::Zero(7, 2), s), dlogp::dimension_mismatch);
}

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
#include <vector>

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

TEMPLATE_TEST_CASE("torch_score_model: score_vjp gives J^T U of dlogp's MLP on the same weights",
                   "[unit]", float, double) {
  using S = TestType;
  using model_t = dlogp::torch_score_model<S, dlogp::vp_process>;
  STATIC_REQUIRE(dlogp::has_score_vjp<model_t>);
  STATIC_REQUIRE(dlogp::has_score_vjp_blocks<model_t>);
  const dlogp::vp_process vp;
  const model_t torch_model(
      model_dir() + (std::is_same_v<S, float> ? "/mlp_traced_f32.pt" : "/mlp_traced_f64.pt"), 8, vp,
      dlogp::parametrisation::epsilon);
  const auto loaded = dlogp::load_mlp<S>(model_dir() + "/mlp.safetensors");
  const dlogp::mlp_score_model<S> ref(loaded.network, vp, dlogp::parametrisation::epsilon);
  const long D = 8, N = 5, K = 3;
  const dlogp::matrix<S> X = random_matrix<S>(D, N, 5), U = random_matrix<S>(D, K * N, 6);
  const double tol = std::is_same_v<S, float> ? 1e-4 : 1e-12;  // as in the first test case
  for (double t : {0.01, 0.3, 1.0}) {
    INFO("t = " << t);
    // Reference: the MLP's Jacobian column by column (forward mode, no truncation error), in
    // double, then J^T u. Its entries match torch's to tol (1 + |J|) like the JVPs above, so
    // (J^T u)_k, a sum of D such entries times |u_i|, differs by at most
    // D tol (1 + max|J|) max|u|: the only difference is rounding order.
    dlogp::matrix<double> ref_jtu(D, K * N);
    double jmax = 0;
    for (long j = 0; j < N; ++j) {
      dlogp::matrix<double> J(D, D);
      for (long i = 0; i < D; ++i) {
        dlogp::matrix<S> e = dlogp::matrix<S>::Zero(D, 1), s, je;
        e(i, 0) = S(1);
        ref.score_jvp(t, dlogp::matrix<S>(X.col(j)), e, s, je);
        J.col(i) = je.col(0).template cast<double>();
      }
      jmax = std::max(jmax, J.cwiseAbs().maxCoeff());
      for (long k = 0; k < K; ++k)
        ref_jtu.col(k * N + j) = J.transpose() * U.col(k * N + j).template cast<double>();
    }
    const double bound = D * tol * (1 + jmax) * U.cwiseAbs().template cast<double>().maxCoeff();
    dlogp::matrix<S> s_ref, s1, jtu1, s3, jtu3;
    ref.score(t, X, s_ref);
    torch_model.score_vjp(t, X, dlogp::matrix<S>(U.leftCols(N)), s1, jtu1);
    CHECK(max_abs_diff(s1, s_ref) <= tol * (1 + s_ref.cwiseAbs().maxCoeff()));
    CHECK(max_abs_diff(jtu1, ref_jtu.leftCols(N)) <= bound);
    // K blocks in one call: one forward pass, K reverse passes over the retained graph.
    torch_model.score_vjp_blocks(t, X, U, s3, jtu3);
    CHECK(max_abs_diff(s3, s_ref) <= tol * (1 + s_ref.cwiseAbs().maxCoeff()));
    CHECK(max_abs_diff(jtu3, ref_jtu) <= bound);
  }
  dlogp::matrix<S> s, jtu;
  CHECK_THROWS_AS(torch_model.score_vjp_blocks(0.5, X, random_matrix<S>(D, N + 1, 7), s, jtu),
                  dlogp::invalid_argument);
  CHECK_THROWS_AS(torch_model.score_vjp(0.5, X, random_matrix<S>(D, 2 * N, 7), s, jtu),
                  dlogp::dimension_mismatch);
}

TEMPLATE_TEST_CASE("torch_score_model: Hutchinson by reverse passes is z^T J z with the library's probes",
                   "[unit]", float, double) {
  using S = TestType;
  using model_t = dlogp::torch_score_model<S, dlogp::vp_process>;
  const dlogp::vp_process vp;
  const model_t m(
      model_dir() + (std::is_same_v<S, float> ? "/mlp_traced_f32.pt" : "/mlp_traced_f64.pt"), 8, vp,
      dlogp::parametrisation::epsilon);
  const long D = 8, N = 4;
  const int K = 3;
  const dlogp::matrix<S> X = random_matrix<S>(D, N, 8);
  const std::vector<std::uint64_t> ids{5, 6, 7, 8};
  const std::uint64_t seed = 21;
  dlogp::hutchinson_divergence<model_t> est(m, K, dlogp::probe_kind::rademacher);
  STATIC_REQUIRE(dlogp::hutchinson_divergence<model_t>::route == dlogp::divergence_route::vjp);
  dlogp::matrix<S> score, s_ref;
  dlogp::vector<S> div;
  const double t = 0.3;
  CHECK(est.score_and_divergence(dlogp::batch_context{seed, ids.data(), N}, t, X, score, div) == 1 + K);
  m.score(t, X, s_ref);
  const double tol = std::is_same_v<S, float> ? 1e-4 : 1e-12;  // as in the first test case
  CHECK(max_abs_diff(score, s_ref) <= tol * (1 + s_ref.cwiseAbs().maxCoeff()));
  // The same probes through the JVP route (score_jvp): z^T J z = z^T (J^T z), so the two
  // differ by rounding: K D products of |z_i| = 1 with J z entries, each to
  // tol (1 + max|J z|) as in the first test case; the mean over K keeps that bound.
  for (long j = 0; j < N; ++j) {
    double ref = 0, jzmax = 0;
    for (int k = 0; k < K; ++k) {
      dlogp::matrix<S> z(D, 1), s, jz;
      dlogp::fill_probe(seed, ids[std::size_t(j)], k, dlogp::probe_kind::rademacher, z.data(), D);
      m.score_jvp(t, dlogp::matrix<S>(X.col(j)), z, s, jz);
      ref += (z.template cast<double>().transpose() * jz.template cast<double>())(0, 0) / K;
      jzmax = std::max(jzmax, double(jz.cwiseAbs().maxCoeff()));
    }
    INFO("column " << j << ": " << div(j) << " vs " << ref);
    CHECK(std::abs(double(div(j)) - ref) <= D * tol * (1 + jzmax));
  }
}

TEST_CASE("torch_score_model: Hutchinson with many probes agrees with the exact divergence",
          "[statistical]") {
  using model_t = dlogp::torch_score_model<double, dlogp::vp_process>;
  const dlogp::vp_process vp;
  const model_t m(model_dir() + "/mlp_traced_f64.pt", 8, vp, dlogp::parametrisation::epsilon);
  const long D = 8, N = 4;
  const int K = 4000;
  const double t = 0.3;
  const dlogp::matrix<double> X = random_matrix<double>(D, N, 9);
  std::vector<std::uint64_t> ids{1, 2, 3, 4};
  dlogp::exact_divergence<model_t> exact(m);
  CHECK(exact.cost() == 1 + D);  // one forward pass and D reverse passes
  dlogp::hutchinson_divergence<model_t> est(m, K, dlogp::probe_kind::rademacher);
  dlogp::matrix<double> s;
  dlogp::vector<double> lap, div;
  exact.score_and_divergence(t, X, s, lap);
  est.score_and_divergence(dlogp::batch_context{2026, ids.data(), N}, t, X, s, div);
  for (long j = 0; j < N; ++j) {
    // Rows of J from reverse passes seeded with e_i; a Rademacher probe's z^T J z has variance
    // 2 sum_{i != l} Js_il^2 (Js the symmetric part, docs/notation.md §6), so the mean of K
    // has standard error sqrt(that / K). The probes are fixed by the seed: the check is
    // deterministic, and 5 standard errors leave a biased estimator no room.
    dlogp::matrix<double> J(D, D);
    for (long i = 0; i < D; ++i) {
      dlogp::matrix<double> e = dlogp::matrix<double>::Zero(D, 1), si, row;
      e(i, 0) = 1;
      m.score_vjp(t, dlogp::matrix<double>(X.col(j)), e, si, row);
      J.row(i) = row.col(0).transpose();
    }
    const dlogp::matrix<double> Js = 0.5 * (J + J.transpose());
    const double var = 2 * (Js.squaredNorm() - Js.diagonal().squaredNorm());
    const double se = std::sqrt(var / K);
    INFO("column " << j << ": hutchinson " << div(j) << ", exact " << lap(j) << ", trace of the "
                   << "reverse-mode Jacobian " << J.trace() << ", standard error " << se);
    CHECK(se > 0);
    CHECK(std::abs(div(j) - lap(j)) <= 5 * se);
    // The exact divergence is the trace of the same Jacobian, up to rounding (D terms).
    CHECK(std::abs(lap(j) - J.trace()) <= 1e-12 * D * (1 + J.cwiseAbs().maxCoeff()));
  }
}

TEST_CASE("torch_score_model: the header declares torch::set_num_threads", "[unit]") {
  // The header's advice (one torch thread when the driver runs threads) must be callable
  // from a program that includes only this header.
  torch::set_num_threads(1);
  CHECK(torch::get_num_threads() == 1);
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

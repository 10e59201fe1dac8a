// any_score_model: a wrapped model gives its own numbers and evaluation counts, bit for bit,
// through every divergence route; what it lacks is derived exactly (Hessian, Laplacian from
// JVPs) or refused (log-density, samples) with error "unsupported".
#include <catch2/catch.hpp>
#include <random>

#include <dlogp/divergence/divergence.hpp>
#include <dlogp/model/any_score_model.hpp>
#include <dlogp/model/mlp.hpp>

#include "support/oracle.hpp"

namespace {

dlogp::matrix<double> points(long D, long N, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<double> n01;
  dlogp::matrix<double> X(D, N);
  for (long k = 0; k < X.size(); ++k) X.data()[k] = n01(g);
  return X;
}

/// score, divergence and the evaluation count of one estimator call.
template <class M>
void estimate(const M& model, dlogp::divergence_options o, const dlogp::matrix<double>& X, dlogp::matrix<double>& S,
              dlogp::vector<double>& div, long& evals) {
  dlogp::divergence_estimator<M> est(model, o);
  std::vector<std::uint64_t> ids(std::size_t(X.cols()));
  for (std::size_t j = 0; j < ids.size(); ++j) ids[j] = 100 + j;
  dlogp::batch_context ctx{.seed = 9, .ids = ids.data(), .size = X.cols()};
  evals = est.score_and_divergence(ctx, 0.4, X, S, div);
}

/// A small MLP: no log-density, no Hessian, no samples of its own.
dlogp::mlp_score_model<double, dlogp::vp_process> small_mlp(long D) {
  std::mt19937 g(3);
  std::normal_distribution<double> n01;
  auto mat = [&](long r, long c) {
    dlogp::matrix<double> m(r, c);
    for (long k = 0; k < m.size(); ++k) m.data()[k] = n01(g) / std::sqrt(double(c));
    return m;
  };
  dlogp::mlp_parameters<double> p;
  p.embedding = {8, 100.0, 1000.0};
  p.time_weight = mat(6, 8);
  p.time_bias = dlogp::vector<double>::Zero(6);
  p.hidden.push_back({mat(16, D), dlogp::vector<double>::Zero(16), mat(16, 6)});
  p.out_weight = mat(D, 16);
  p.out_bias = dlogp::vector<double>::Zero(D);
  return {dlogp::mlp<double>(std::move(p)), dlogp::vp_process{}, dlogp::parametrisation::epsilon};
}

}  // namespace

TEST_CASE("any_score_model: a wrapped mixture gives its own numbers and counts, bit for bit", "[model][unit]") {
  using gmm = dlogp::gaussian_mixture<double, dlogp::vp_process>;
  const auto direct = std::make_shared<const gmm>(dlogp::test::gmm2());
  const dlogp::any_score_model wrapped(direct, "gmm");
  const dlogp::matrix<double> X = points(2, 5, 1);
  for (const auto kind : {dlogp::divergence_kind::exact, dlogp::divergence_kind::hutchinson}) {
    const dlogp::divergence_options o{.kind = kind, .probes = 3};
    dlogp::matrix<double> S1, S2;
    dlogp::vector<double> d1, d2;
    long e1 = 0, e2 = 0;
    estimate(*direct, o, X, S1, d1, e1);
    estimate(wrapped, o, X, S2, d2, e2);
    CHECK(S1 == S2);
    CHECK(d1 == d2);
    CHECK(e1 == e2);  // the mixture's Hutchinson is a central difference: 2K + 1 evaluations
  }
  dlogp::vector<double> l1(5), l2;
  direct->log_density(0.3, X, l1);
  wrapped.log_density(0.3, X, l2);
  CHECK(l1 == l2);
  dlogp::matrix<double> H1, H2;
  direct->hessian(0.3, X.col(0), H1);
  wrapped.hessian(0.3, X.col(0), H2);
  CHECK(H1 == H2);
  dlogp::matrix<double> Y1(2, 4), Y2(2, 4);
  direct->sample(0.2, 7, std::uint64_t(3), Y1);
  wrapped.sample(0.2, 7, 3, Y2);
  CHECK(Y1 == Y2);
  CHECK(wrapped.has(dlogp::model_capability::log_density));
  CHECK(wrapped.has(dlogp::model_capability::sampling));
  CHECK(wrapped.has(dlogp::model_capability::grad_laplacian));
  CHECK_FALSE(wrapped.has(dlogp::model_capability::jvp));  // the mixture's JVPs are central differences
}

TEST_CASE("any_score_model: an MLP's Hessian comes from its JVPs; what it lacks is refused", "[model][unit]") {
  const auto net = std::make_shared<const dlogp::mlp_score_model<double, dlogp::vp_process>>(small_mlp(3));
  const dlogp::any_score_model wrapped(net, "mlp");
  const dlogp::matrix<double> X = points(3, 1, 2);
  // Column i of the Hessian is J e_i, the network's own forward-mode JVP: the same numbers.
  dlogp::matrix<double> H, S, JV;
  wrapped.hessian(0.5, X.col(0), H);
  for (long i = 0; i < 3; ++i) {
    net->score_jvp(0.5, X, dlogp::matrix<double>(dlogp::matrix<double>::Identity(3, 3).col(i)), S, JV);
    CHECK(H.col(i) == JV.col(0));
  }
  // The exact divergence is the network's trace, with its own cost.
  dlogp::matrix<double> S1, S2;
  dlogp::vector<double> d1, d2;
  net->score_and_laplacian(0.5, X, S1, d1);
  wrapped.score_and_laplacian(0.5, X, S2, d2);
  CHECK(d1 == d2);
  CHECK(wrapped.laplacian_cost() == net->laplacian_cost());
  CHECK_FALSE(wrapped.has(dlogp::model_capability::log_density));
  CHECK_FALSE(wrapped.has(dlogp::model_capability::sampling));
  CHECK_FALSE(wrapped.has(dlogp::model_capability::hessian));
  CHECK(wrapped.has(dlogp::model_capability::jvp));
  dlogp::vector<double> lp;
  CHECK_THROWS_WITH(wrapped.log_density(0.5, X, lp),
                    "[dlogp.unsupported] any_score_model: the mlp model has no exact log-density");
  dlogp::matrix<double> Y(3, 1);
  CHECK_THROWS_WITH(wrapped.sample(0.5, 1, 0, Y),
                    "[dlogp.unsupported] any_score_model: the mlp model has no sampling from its marginals");
}

TEST_CASE("any_score_model: a float model is evaluated in float", "[model][unit]") {
  using gmm = dlogp::gaussian_mixture<float, dlogp::vp_process>;
  const auto direct = std::make_shared<const gmm>(dlogp::test::gmm2<float>());
  const dlogp::any_score_model wrapped(direct, "gmm");
  const dlogp::matrix<double> X = points(2, 3, 4);
  dlogp::matrix<float> Sf(2, 3);
  direct->score(0.3, X.cast<float>(), Sf);
  dlogp::matrix<double> S(2, 3);
  wrapped.score(0.3, X, S);
  CHECK(S == Sf.cast<double>());
}

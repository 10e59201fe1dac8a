// The samplers treat a model that throws dlogp::numerical_error at some states as integrate()
// does: those trajectories end with status model_error at their last good state, and every
// other trajectory is bit-identical to its run alone (same trajectory id).
#include <catch2/catch.hpp>
#include <string>

#include <dlogp/error.hpp>
#include <dlogp/process/prior.hpp>
#include <dlogp/sampler/langevin.hpp>
#include <dlogp/sampler/pc.hpp>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

/// GMM1 (D = 1) whose score throws for any column beyond `threshold`.
struct throwing_gmm1 {
  using scalar_type = double;
  gaussian_mixture<double, vp_process> base = test::gmm1<double>();
  double threshold = 4.0;

  long dimension() const { return 1; }
  void score_and_laplacian(double t, const matrix<double>& X, matrix<double>& S, vector<double>& lap) const {
    for (long j = 0; j < X.cols(); ++j)
      if (X(0, j) > threshold) throw numerical_error("throwing_gmm1: no score at x = " + std::to_string(X(0, j)));
    base.score_and_laplacian(t, X, S, lap);
  }
  void score(double t, const matrix<double>& X, matrix<double>& S) const {
    vector<double> lap;
    score_and_laplacian(t, X, S, lap);
  }
};

/// Columns 1 and 3 start beyond the threshold (the model throws at once); the others start
/// far below it.
matrix<double> starts() {
  matrix<double> X(1, 6);
  X << -1.0, 5.0, 0.3, 4.5, -0.6, 1.2;
  return X;
}

/// Runs `sampler(x, l, first_id)` on the whole batch (two chunks of 3, two threads) and on
/// each column alone; checks the statuses and the bits.
template <class Sampler>
void check_isolated(Sampler&& sampler) {
  const matrix<double> X = starts();
  const vector<double> L = vector<double>::Constant(X.cols(), -1.5);
  const auto r = sampler(X, L, 0);
  for (long j = 0; j < X.cols(); ++j) {
    INFO("column " << j << ": " << to_string(r.stats[std::size_t(j)].status));
    const auto alone = sampler(matrix<double>(X.col(j)), vector<double>(L.segment(j, 1)), std::uint64_t(j));
    CHECK(r.stats[std::size_t(j)].status == alone.stats[0].status);
    CHECK(r.x(0, j) == alone.x(0, 0));
    CHECK(r.log_p(j) == alone.log_p(0));
    CHECK(r.stats[std::size_t(j)].steps() == alone.stats[0].steps());
    CHECK(r.stats[std::size_t(j)].score_evals == alone.stats[0].score_evals);
    if (X(0, j) > 4.0) {
      CHECK(r.stats[std::size_t(j)].status == status::model_error);
      CHECK(r.x(0, j) == X(0, j));  // the last good state: where it started
      CHECK(r.log_p(j) == L(j));
    } else {
      CHECK(r.stats[std::size_t(j)].status == status::ok);
    }
  }
}

}  // namespace

TEST_CASE("samplers: a model throwing for some states marks only those trajectories model_error", "[unit]") {
  const throwing_gmm1 model;
  const vp_process p;
  const execution_options two_chunks{.batch_size = 3, .threads = 2};
  SECTION("langevin") {
    check_isolated([&](const matrix<double>& x, const vector<double>& l, std::uint64_t id) {
      return langevin(model, 0.5, x, l, {.seed = 3, .steps = 40, .step_size = 0.01, .first_id = id, .execution = two_chunks});
    });
  }
  SECTION("annealed_langevin") {
    check_isolated([&](const matrix<double>& x, const vector<double>& l, std::uint64_t id) {
      return annealed_langevin(model, p, x, l,
                               {.seed = 4, .levels = 3, .steps_per_level = 10, .t_start = 0.6, .t_end = 0.3,
                                .first_id = id, .execution = two_chunks});
    });
  }
  SECTION("pc") {
    check_isolated([&](const matrix<double>& x, const vector<double>& l, std::uint64_t id) {
      return predictor_corrector(model, p, x, l, 0.6, 0.3,
                {.seed = 5, .grid = {.steps = 20}, .corrector_steps = 1,
                 .corrector_step_sizes = std::vector<double>(20, 1e-3), .first_id = id,
                 .execution = two_chunks});
    });
  }
}

TEST_CASE("pc: a model failing on the pilot ensemble ends the call with the model's error", "[unit]") {
  throwing_gmm1 model;
  model.threshold = -100.0;  // every state throws
  const vp_process p;
  const matrix<double> X = starts();
  const vector<double> L = vector<double>::Zero(X.cols());
  CHECK_THROWS_AS(predictor_corrector(model, p, X, L, 0.6, 0.3, {.seed = 5, .grid = {.steps = 20}}), numerical_error);
}

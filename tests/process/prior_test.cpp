#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <dlogp/process/any_process.hpp>
#include <dlogp/process/prior.hpp>
#include <dlogp/process/ve.hpp>
#include <dlogp/process/vp.hpp>
#include <limits>
#include <numbers>
#include <vector>

using namespace dlogp;

namespace {
constexpr double eps = std::numeric_limits<double>::epsilon();
}

TEST_CASE("prior: log density matches the Gaussian formula coordinate by coordinate", "[unit]") {
  const vp_process vp;
  const double t = 1.0, s2 = vp.sigma2(t);
  matrix<double> X(3, 4);
  X << 0.3, -1.2, 2.5, 0.0,  //
      1.1, 0.4, -0.7, 0.0,   //
      -2.0, 0.9, 3.3, 0.0;
  vector<double> out;
  prior_log_density(vp, t, X, out);
  REQUIRE(out.size() == 4);
  for (long j = 0; j < X.cols(); ++j) {
    // Sum of D one-dimensional log N(x_i; 0, sigma^2).
    double ref = 0, mag = 0;
    for (long i = 0; i < X.rows(); ++i) {
      const double term = -0.5 * std::log(2 * std::numbers::pi * s2) - X(i, j) * X(i, j) / (2 * s2);
      ref += term;
      mag += std::abs(term);
    }
    CHECK(std::abs(out(j) - ref) <= 16 * eps * mag);
  }
  // The zero column is the peak -(D/2) log(2 pi sigma^2).
  CHECK(std::abs(out(3) + 1.5 * std::log(2 * std::numbers::pi * s2)) <= 8 * eps * 3);

  // float: computed in double, rounded once to float.
  const matrix<float> Xf = X.cast<float>();
  vector<float> outf;
  prior_log_density(vp, t, Xf, outf);
  vector<double> outd;
  prior_log_density(vp, t, matrix<double>(Xf.cast<double>()), outd);
  for (long j = 0; j < X.cols(); ++j) CHECK(outf(j) == float(outd(j)));

  // Works through any_process too, and with an empty batch.
  vector<double> out_any;
  prior_log_density(any_process(vp), t, X, out_any);
  CHECK(out_any == out);
  prior_log_density(vp, t, matrix<double>(3, 0), out_any);
  CHECK(out_any.size() == 0);
}

TEST_CASE("prior: samples have the moments of N(0, sigma^2 I)", "[statistical]") {
  // VE at t = 0.5: sigma^2 = 0.5, so a sigma / sigma^2 mix-up is visible.
  const ve_process ve;
  const double t = 0.5, s2 = ve.sigma2(t);
  const long D = 4, N = 50000;
  matrix<double> X(D, N);
  sample_prior(ve, t, 2024, std::uint64_t(0), X);
  // z = x / sigma are n = D N iid N(0, 1) draws if sampling is right, so over the n draws:
  // mean(z) has sd 1/sqrt(n); mean(z^2) has sd sqrt(2/n) (Var z^2 = 2); mean(z_i z_{i+1})
  // within a column has sd 1/sqrt(n') (Var = 1). Bounds at 5 sd.
  const double n = double(D * N);
  double m1 = 0, m2 = 0, cross = 0;
  for (long j = 0; j < N; ++j)
    for (long i = 0; i < D; ++i) {
      const double z = X(i, j) / std::sqrt(s2);
      m1 += z;
      m2 += z * z;
      if (i + 1 < D) cross += z * X(i + 1, j) / std::sqrt(s2);
    }
  m1 /= n;
  m2 /= n;
  const double n_cross = double((D - 1) * N);
  cross /= n_cross;
  CHECK(std::abs(m1) <= 5 / std::sqrt(n));
  CHECK(std::abs(m2 - 1) <= 5 * std::sqrt(2 / n));
  CHECK(std::abs(cross) <= 5 / std::sqrt(n_cross));
  // Per coordinate, the second moment is sigma^2 (sd sqrt(2/N) relative).
  for (long i = 0; i < D; ++i) {
    double v = 0;
    for (long j = 0; j < N; ++j) v += X(i, j) * X(i, j);
    v /= double(N);
    CHECK(std::abs(v / s2 - 1) <= 5 * std::sqrt(2.0 / double(N)));
  }
}

TEST_CASE("prior: a column depends only on (seed, id), not on the batch", "[repro]") {
  const vp_process vp;
  const double t = vp.t_max();
  const long D = 5;
  const std::vector<std::uint64_t> ids = {7, 3, 100, 42, (std::uint64_t(1) << 40) + 5};
  matrix<double> batch(D, long(ids.size()));
  sample_prior(vp, t, 99, ids.data(), batch);
  for (std::size_t j = 0; j < ids.size(); ++j) {
    matrix<double> one(D, 1);
    sample_prior(vp, t, 99, &ids[j], one);
    CHECK(one.col(0) == batch.col(long(j)));
    // Definition: sigma(t) times normal draws 0..D-1 of the prior stream.
    const random_stream rs(99, ids[j], purpose::prior);
    for (long i = 0; i < D; ++i)
      CHECK(batch(i, long(j)) == vp.sigma(t) * rs.normal(std::uint64_t(i)));
  }
  // first_id overload: column j has id first_id + j, wherever the run starts.
  matrix<double> run(D, 8), tail(D, 3);
  sample_prior(vp, t, 99, 95, run);  // ids 95..102 (an int literal picks this overload)
  sample_prior(vp, t, 99, std::uint64_t(100), tail);
  CHECK(run.col(5) == batch.col(2));
  CHECK(run.middleCols(5, 3) == tail);
  // float: the same draws rounded once.
  matrix<float> f(D, long(ids.size()));
  sample_prior(vp, t, 99, ids.data(), f);
  CHECK(f == batch.cast<float>());
  // Another seed gives other samples.
  matrix<double> other(D, long(ids.size()));
  sample_prior(vp, t, 100, ids.data(), other);
  CHECK((other - batch).cwiseAbs().minCoeff() > 0);
}

TEST_CASE("prior: invalid arguments throw invalid_argument", "[unit]") {
  using Catch::Contains;
  const vp_process vp;
  matrix<double> X(2, 3);
  vector<double> out;
  // sigma(0) = 0: no Gaussian prior there.
  REQUIRE_THROWS_WITH(prior_log_density(vp, 0.0, X, out),
                      Contains("[dlogp.invalid_argument] prior_log_density:"));
  REQUIRE_THROWS_WITH(sample_prior(vp, 0.0, 1, 0, X),
                      Contains("[dlogp.invalid_argument] sample_prior:"));
  REQUIRE_THROWS_WITH(sample_prior(vp, std::numeric_limits<double>::quiet_NaN(), 1, 0, X),
                      Contains("[dlogp.invalid_argument]"));
  const std::uint64_t* no_ids = nullptr;
  REQUIRE_THROWS_WITH(sample_prior(vp, 1.0, 1, no_ids, X),
                      Contains("[dlogp.invalid_argument] sample_prior:"));
}

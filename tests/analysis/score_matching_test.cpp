#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/analysis/score_matching.hpp>
#include <dlogp/model/perturbed_score.hpp>
#include <dlogp/process/prior.hpp>
#include <numbers>
#include <vector>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

using gmm = gaussian_mixture<double, vp_process>;

// ---------------------------------------------------------------- deterministic references
// Expectations under the exact p_t of a mixture by tensor Gauss-Hermite quadrature per
// component (x = m_k + L_k sqrt(2) xi), and time integrals by Gauss-Legendre in log-SNR. The
// integrands are smooth (the responsibilities switch over ~0.3 at t = t_min, which GH resolves
// slowly): 64 nodes per dimension and 96 in log-SNR agree with 128 / 128 to ~1e-6 relative,
// four orders of magnitude below the Monte-Carlo standard errors compared with them.
void gauss_hermite(int n, std::vector<double>& x, std::vector<double>& w) {
  // Golub-Welsch: Jacobi matrix of the Hermite weight e^{-x^2}.
  matrix<double> J = matrix<double>::Zero(n, n);
  for (int i = 1; i < n; ++i) J(i, i - 1) = J(i - 1, i) = std::sqrt(i / 2.0);
  Eigen::SelfAdjointEigenSolver<matrix<double>> es(J);
  x.resize(std::size_t(n));
  w.resize(std::size_t(n));
  for (int i = 0; i < n; ++i) {
    x[std::size_t(i)] = es.eigenvalues()(i);
    w[std::size_t(i)] = std::sqrt(std::numbers::pi) * std::pow(es.eigenvectors()(0, i), 2);
  }
}

// E_{p_t}[f(x)] for a 2-D mixture; f gets a 2 x N batch and returns N values.
template <class F>
double expect(const gmm& m, double t, F&& f, int n = 64) {
  std::vector<double> gx, gw;
  gauss_hermite(n, gx, gw);
  double total = 0;
  const double a = m.process().alpha(t);
  for (long k = 0; k < m.components(); ++k) {
    const matrix<double> L = Eigen::LLT<matrix<double>>(m.covariance(k, t)).matrixL();
    matrix<double> X(2, long(n) * n);
    std::vector<double> W;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        vector<double> z(2);
        z << std::sqrt(2.0) * gx[std::size_t(i)], std::sqrt(2.0) * gx[std::size_t(j)];
        X.col(long(i) * n + j) = a * m.means().col(k) + L * z;
        W.push_back(gw[std::size_t(i)] * gw[std::size_t(j)] / std::numbers::pi);
      }
    const vector<double> v = f(t, X);
    double acc = 0;
    for (long c = 0; c < X.cols(); ++c) acc += W[std::size_t(c)] * v(c);
    total += m.weights()[std::size_t(k)] * acc;
  }
  return total;
}

// F_t = E_{p_t} |grad log p_t|^2.
double fisher(const gmm& m, double t, int n = 64) {
  return expect(m, t, [&](double tt, const matrix<double>& X) {
    matrix<double> S(2, X.cols());
    m.score(tt, X, S);
    return vector<double>(S.colwise().squaredNorm().transpose());
  }, n);
}

// int_{t_lo}^{t_hi} lambda(t) g(t) dt by Gauss-Legendre in log-SNR (dt = -sigma^2/g^2 dl).
template <class Lambda, class G>
double time_integral(const vp_process& p, double t_lo, double t_hi, Lambda&& lambda, G&& g,
                     int nodes = 96) {
  std::vector<double> x, w;
  detail::gauss_legendre(nodes, x, w);
  const double l_lo = p.log_snr(t_lo), l_hi = p.log_snr(t_hi);
  double acc = 0;
  for (int i = 0; i < nodes; ++i) {
    const double l = 0.5 * (l_lo + l_hi) + 0.5 * (l_lo - l_hi) * x[std::size_t(i)];
    const double t = p.t_from_log_snr(l);
    acc += 0.5 * (l_lo - l_hi) * w[std::size_t(i)] * lambda(t) * g(t) * p.sigma2(t) / p.g2(t);
  }
  return acc;
}

struct references {
  double I_F;   // int lambda F dt
  double I_D;   // int lambda D / sigma^2 dt
};

references gmm2_references(const gmm& m, sm_weighting wk, double t_lo, double t_hi, int n = 64,
                           int nodes = 96) {
  const vp_process& p = m.process();
  auto lambda = [&](double t) { return wk == sm_weighting::likelihood ? p.g2(t) : p.sigma2(t); };
  references r{};
  r.I_F = time_integral(p, t_lo, t_hi, lambda, [&](double t) { return fisher(m, t, n); }, nodes);
  r.I_D = time_integral(p, t_lo, t_hi, lambda, [&](double t) { return 2.0 / p.sigma2(t); }, nodes);
  return r;
}

// Difference of two estimates on the same points with the same randomness (common random
// numbers): mean and standard error of the per-point differences.
std::pair<double, double> paired_difference(const sm_estimate& a, const sm_estimate& b) {
  const long n = long(a.per_point.size());
  vector<double> d(n);
  for (long j = 0; j < n; ++j) d(j) = a.per_point[std::size_t(j)] - b.per_point[std::size_t(j)];
  const auto s = test::summarize(d);
  return {s.mean, s.mean_se};
}

}  // namespace

TEST_CASE("score_matching: the reference quadratures are converged", "[unit]") {
  const auto m = test::gmm2();
  const auto a = gmm2_references(m, sm_weighting::likelihood, 1e-3, 1.0);
  const auto b = gmm2_references(m, sm_weighting::likelihood, 1e-3, 1.0, 32, 64);
  INFO("int g^2 F dt = " << a.I_F << " (coarser: " << b.I_F << ")");
  CHECK(std::abs(a.I_F - b.I_F) <= 1e-5 * std::abs(a.I_F));
  // int g^2 D / sigma^2 dt = D (lambda(t_lo) - lambda(t_hi)) exactly.
  const vp_process& p = m.process();
  CHECK(a.I_D == Approx(2 * (p.log_snr(1e-3) - p.log_snr(1.0))).epsilon(1e-10));
}

namespace {

// DSM / ISM / SSM of the exact GMM2 score and of (1 + delta) times it, against the analytic
// values (1/2)(I_D - I_F) + ESM, -(1/2) I_F + ESM with ESM = (1/2) delta^2 I_F; all within
// 5 standard errors (each estimate is a mean over N independent points, so the standard error
// from the per-point spread is the right one, and 5 of them fail by chance with p ~ 6e-7).
void check_objectives(sm_weighting wk, time_sampling ts, long N) {
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  const perturbed_score<gmm> bad(m, 0.3);
  matrix<double> X0(2, N);
  m.sample(0.0, 11, 0, X0);
  const double t_lo = 1e-3, t_hi = 1.0;
  const references ref = gmm2_references(m, wk, t_lo, t_hi);
  const double esm_bad = 0.5 * 0.09 * ref.I_F;
  const score_matching_options opt{.seed = 5, .weighting = wk, .time = ts};
  INFO("weighting " << (wk == sm_weighting::likelihood ? "g^2" : "sigma^2") << ", time sampling "
                    << int(ts) << ", " << N << " points; I_F = " << ref.I_F
                    << ", I_D = " << ref.I_D);
  const double dsm_min = 0.5 * (ref.I_D - ref.I_F), ism_min = -0.5 * ref.I_F;
  const struct {
    sm_objective kind;
    double exact;
  } cases[] = {{sm_objective::dsm, dsm_min}, {sm_objective::ism, ism_min},
               {sm_objective::ssm, ism_min}};
  for (const auto& c : cases) {
    const sm_estimate good = score_matching(c.kind, m, p, X0, opt);
    const sm_estimate worse = score_matching(c.kind, bad, p, X0, opt);
    const auto [diff, diff_se] = paired_difference(worse, good);
    INFO(to_string(c.kind) << ": exact score " << good.value << " +- " << good.standard_error
                           << " (analytic " << c.exact << "), perturbed " << worse.value << " +- "
                           << worse.standard_error << " (analytic " << c.exact + esm_bad
                           << "), paired difference " << diff << " +- " << diff_se
                           << " (analytic " << esm_bad << ")");
    CHECK(std::abs(good.value - c.exact) <= 5 * good.standard_error);
    CHECK(std::abs(worse.value - (c.exact + esm_bad)) <= 5 * worse.standard_error);
    // Ranked worse, significantly, and by the analytic amount.
    CHECK(diff > 5 * diff_se);
    CHECK(std::abs(diff - esm_bad) <= 5 * diff_se);
  }
}

}  // namespace

TEST_CASE("score_matching: DSM, ISM and SSM of the exact mixture score match their analytic "
          "values and rank a perturbed score worse",
          "[statistical]") {
  // Enough points that the perturbation (ESM = 0.045 I_F) is expected at >= 8 paired standard
  // errors for SSM, whose integrand varies most (per-point spread measured: 0.8 for sigma^2,
  // 12 for g^2 with log-SNR sampling, 2.6 with log-SNR nodes).
  check_objectives(sm_weighting::sigma2, time_sampling::uniform, 12000);
  check_objectives(sm_weighting::likelihood, time_sampling::log_snr, 16000);
  check_objectives(sm_weighting::likelihood, time_sampling::log_snr_nodes, 3000);
}

TEST_CASE("score_matching: analytic values with more points", "[statistical][.slow]") {
  check_objectives(sm_weighting::sigma2, time_sampling::uniform, 40000);
  check_objectives(sm_weighting::likelihood, time_sampling::log_snr, 40000);
  check_objectives(sm_weighting::likelihood, time_sampling::log_snr_nodes, 10000);
}

TEST_CASE("score_matching: the ELBO from likelihood-weighted ISM reproduces docs/ground-truth.md S4",
          "[ground-truth][statistical]") {
  // Data N(0, 0.25) under VP, model score -(1 + 0.3) x / P_t (the exact score perturbed),
  // x = 0.8 at t0 = 1e-3, prior = the exact p_T = N(0, P_T). docs/ground-truth.md S4: log q(x) =
  // -2.0383 and log q - ELBO = 0.5198, so ELBO = -2.5581 (both rounded to 1e-4).
  const vp_process p;
  matrix<double> mu(1, 1);
  mu << 0.0;
  const auto m = gmm::isotropic(p, {1.0}, mu, {0.25});
  const perturbed_score<gmm> model(m, 0.3);
  const double t0 = 1e-3, T = 1.0, x = 0.8;
  auto P = [&](double t) { return p.alpha(t) * p.alpha(t) * 0.25 + p.sigma2(t); };
  // Deterministic value: the model is linear, so E[(1/2) s^2 + s'] under x_t ~ N(a x, v) is
  // (1/2) 1.3^2 (a^2 x^2 + v) / P^2 - 1.3 / P; integrate g^2 times it over [t0, T] in log-SNR.
  const double a_T = p.alpha(T) / p.alpha(t0), v_T = p.sigma2(T) - a_T * a_T * p.sigma2(t0);
  const double prior = -0.5 * std::log(2 * std::numbers::pi * P(T)) -
                       (a_T * a_T * x * x + v_T) / (2 * P(T));
  const double ism = time_integral(
      p, t0, T, [&](double t) { return p.g2(t); },
      [&](double t) {
        const double a = p.alpha(t) / p.alpha(t0), v = p.sigma2(t) - a * a * p.sigma2(t0);
        return 0.5 * 1.69 * (a * a * x * x + v) / (P(t) * P(t)) - 1.3 / P(t);
      },
      400);
  const double exact = prior + std::log(p.alpha(T) / p.alpha(t0)) - ism;
  INFO("ELBO(0.8): quadrature " << exact << ", docs/ground-truth.md S4: -2.0383 - 0.5198 = -2.5581");
  CHECK(std::abs(exact - (-2.0383 - 0.5198)) <= 1e-4);

  matrix<double> X(1, 1);
  X << x;
  const score_matching_options opt{.seed = 3, .t_data = t0, .t_min = t0, .samples = 150000,
                                   .time = time_sampling::log_snr_nodes};
  const sm_estimate est = score_matching_elbo(model, p, X, opt, P(T));
  INFO("score_matching_elbo " << est.value << " +- " << est.standard_error);
  CHECK(std::abs(est.value - exact) <= 5 * est.standard_error);
  CHECK(est.standard_error < 0.01);  // a meaningful comparison

  // The same model's DSM excess on data from p_0 = N(0, 0.25): ESM_g2 under the data marginals,
  // (1/2) 0.3^2 int g^2 / P_t dt = 0.5146, the data-averaged ELBO gap (the prior is exact).
  // docs/notation.md §3.6's bias of the reverse-SDE estimate is the same functional under the
  // model's own marginals q_t: 0.2847 (docs/ground-truth.md S3), a different number
  // (docs/samplers.md).
  const double esm = 0.5 * 0.09 * time_integral(p, t0, T, [&](double t) { return p.g2(t); },
                                                [&](double t) { return 1.0 / P(t); }, 400);
  matrix<double> D0(1, 20000);
  m.sample(0.0, 31, 0, D0);
  const score_matching_options o2{.seed = 6, .t_min = t0, .time = time_sampling::log_snr_nodes};
  const auto [diff, se] = paired_difference(denoising_score_matching(model, p, D0, o2),
                                            denoising_score_matching(m, p, D0, o2));
  INFO("DSM_g2 excess " << diff << " +- " << se << " (analytic " << esm
                        << "); reverse-SDE bias of S3: 0.2847");
  CHECK(std::abs(diff - esm) <= 5 * se);
  CHECK(std::abs(esm - 0.5146) <= 1e-4);
}

TEST_CASE("score_matching: data-averaged ELBO gap = KL(p_T || prior) + DSM excess",
          "[statistical]") {
  // E_p[ELBO] = E_{p_tlo}[log p_tlo] - KL(p_T || pi) - ESM_g2 with ESM_g2 = DSM_g2 - DSM_g2^min
  // (docs/samplers.md). ESM_g2 = (1/2) delta^2 int g^2 F dt for the score scaled by 1 + delta.
  // Checked for the ISM form (score_matching_elbo) and for the DSM form
  //   ELBO(x) = E log pi(x_T) + D log(alpha_T/alpha_tlo) + (D/2)(lambda_tlo - lambda_T) - DSM_g2(x),
  // each within 5 standard errors of the analytic value (points drawn from p_0, so the
  // per-point spread gives the standard error of the population mean).
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  const double t_lo = 1e-3, T = 1.0, s2T = p.sigma2(T);
  const long N = 3000;
  matrix<double> X0(2, N);
  m.sample(0.0, 17, 0, X0);
  auto log_pi = [&](const matrix<double>& X) {
    vector<double> out;
    prior_log_density(p, T, X, out);
    return out;
  };
  const double entropy_lo = expect(m, t_lo, [&](double t, const matrix<double>& X) {
    return test::exact_log_p(m, t, X);
  });
  const double kl = expect(m, T, [&](double t, const matrix<double>& X) {
    return vector<double>(test::exact_log_p(m, t, X) - log_pi(X));
  });
  const references ref = gmm2_references(m, sm_weighting::likelihood, t_lo, T);
  const score_matching_options opt{.seed = 9, .t_min = t_lo,
                                   .time = time_sampling::log_snr_nodes};
  const double lin = 2 * std::log(p.alpha(T) / p.alpha(t_lo));
  const double dsm_const = lin + (p.log_snr(t_lo) - p.log_snr(T));  // (D/2) = 1
  for (double delta : {0.0, 0.3}) {
    const perturbed_score<gmm> model(m, delta);
    const double analytic = entropy_lo - kl - 0.5 * delta * delta * ref.I_F;
    const sm_estimate e_ism = score_matching_elbo(model, p, X0, opt);
    // DSM form, per point.
    const sm_estimate dsm = denoising_score_matching(model, p, X0, opt);
    vector<double> e_dsm(N);
    for (long j = 0; j < N; ++j)
      e_dsm(j) = expected_prior_log_density<vp_process, double>(p, 0.0, T, X0.col(j), s2T) +
                 dsm_const - dsm.per_point[std::size_t(j)];
    const auto sd = test::summarize(e_dsm);
    INFO("delta " << delta << ": analytic E[ELBO] " << analytic << " (E log p_tlo " << entropy_lo
                  << ", KL " << kl << ", ESM " << 0.5 * delta * delta * ref.I_F
                  << "); ISM form " << e_ism.value << " +- " << e_ism.standard_error
                  << ", DSM form " << sd.mean << " +- " << sd.mean_se);
    CHECK(std::abs(e_ism.value - analytic) <= 5 * e_ism.standard_error);
    CHECK(std::abs(sd.mean - analytic) <= 5 * sd.mean_se);
  }
}

TEST_CASE("score_matching: at a single time ISM and SSM estimate -F_t / 2 (Hyvarinen)",
          "[statistical]") {
  // t_min == t_max: no time integral; weighting 1 gives E_{p_t}[|s|^2/2 + div s] = -F_t / 2.
  // Variants: Hutchinson divergence for ISM (unbiased), variance-reduced SSM, Gaussian
  // projections; all within 5 standard errors of the quadrature value.
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  const double t = 0.4, target = -0.5 * fisher(m, t);
  const long N = 4000;
  matrix<double> X0(2, N);
  m.sample(0.0, 23, 0, X0);
  score_matching_options opt{.seed = 4, .t_min = t, .t_max = t,
                             .weighting = sm_weighting::constant};
  std::vector<std::pair<const char*, sm_estimate>> runs;
  runs.emplace_back("ism exact", implicit_score_matching(m, p, X0, opt));
  opt.divergence = {.kind = divergence_kind::hutchinson, .probes = 2};
  runs.emplace_back("ism hutchinson", implicit_score_matching(m, p, X0, opt));
  runs.emplace_back("ssm", sliced_score_matching(m, p, X0, opt));
  opt.variance_reduced = true;
  runs.emplace_back("ssm-vr", sliced_score_matching(m, p, X0, opt));
  opt.variance_reduced = false;
  opt.projection = probe_kind::gaussian;
  opt.projections = 3;
  runs.emplace_back("ssm gaussian x3", sliced_score_matching(m, p, X0, opt));
  for (const auto& [name, e] : runs) {
    INFO(name << ": " << e.value << " +- " << e.standard_error << " (analytic " << target
              << ")");
    CHECK(std::abs(e.value - target) <= 5 * e.standard_error);
  }
  // Projections cost score-evaluation equivalents: central differences here, 2 per JVP plus
  // 1 for the score itself.
  CHECK(runs.back().second.score_evals == N * (1 + 3 * 2));
}

TEST_CASE("score_matching: results do not depend on batch size or threads", "[repro]") {
  const auto m = test::gmm2();
  matrix<double> X0(2, 37);
  m.sample(0.0, 2, 0, X0);
  score_matching_options a{.seed = 8, .samples = 3, .execution = {.batch_size = 111, .threads = 1}};
  score_matching_options b = a;
  b.execution.batch_size = 5;
  b.execution.threads = 2;
  for (auto kind : {sm_objective::dsm, sm_objective::ism, sm_objective::ssm}) {
    for (auto ts : {time_sampling::log_snr, time_sampling::log_snr_nodes}) {
      a.time = b.time = ts;
      const auto ea = score_matching(kind, m, m.process(), X0, a);
      const auto eb = score_matching(kind, m, m.process(), X0, b);
      CHECK(ea.per_point == eb.per_point);
      CHECK(ea.value == eb.value);
    }
  }
}

TEST_CASE("score_matching: invalid settings are rejected", "[unit]") {
  const auto m = test::gmm2();
  const vp_process& p = m.process();
  matrix<double> X0(2, 3);
  m.sample(0.0, 2, 0, X0);
  CHECK_THROWS_WITH(denoising_score_matching(m, p, X0, {.t_data = 0.2, .t_min = 0.2}),
                    Catch::Contains("[dlogp.invalid_argument] denoising_score_matching: "
                                    "denoising score matching needs t_min > t_data"));
  CHECK_THROWS_WITH(implicit_score_matching(m, p, X0, {.t_min = 0.5, .t_max = 0.4}),
                    Catch::Contains("need t_min <= t_max"));
  CHECK_THROWS_WITH(implicit_score_matching(m, p, X0, {.t_max = 2.0}),
                    Catch::Contains("outside the process range"));
  CHECK_THROWS_WITH(
      sliced_score_matching(m, p, X0, {.weighting = sm_weighting::custom}),
      Catch::Contains("custom weighting needs options.weight"));
  matrix<double> bad(3, 2);
  bad.setZero();
  CHECK_THROWS_AS(implicit_score_matching(m, p, bad), dimension_mismatch);
}

#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/core/normal_quantile.hpp>
#include <dlogp/dynamics/density_guidance.hpp>
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/edm.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/euler.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>
#include <dlogp/scheme/heun.hpp>
#include <numbers>
#include <string>

#include "support/oracle.hpp"

using namespace dlogp;

namespace {

/// p_0 = N(0, diag c2) under EDM, as the library oracle.
template <class S = double>
gaussian_mixture<S, edm_process> diagonal_gaussian(const vector<double>& c2, edm_process p) {
  const long D = c2.size();
  return gaussian_mixture<S, edm_process>::diagonal(p, {1.0}, matrix<double>::Zero(D, 1), c2);
}

/// The same model written out (score x-linear, Laplacian constant), for the long DG-SDE runs:
/// the oracle's diagonal path formats an error message per coordinate on every call, which
/// makes 4000-step runs at D = 512 take seconds. Cross-checked against the oracle below. The
/// score is a template so the JVP for s_hat^T H s_hat goes through dual numbers (exact).
struct fast_diagonal_gaussian {
  using scalar_type = double;
  vector<double> c2;
  long dimension() const { return c2.size(); }
  template <class T>
  void score(double t, const matrix<T>& X, matrix<T>& S) const {
    S.resize(X.rows(), X.cols());
    for (long j = 0; j < X.cols(); ++j)
      for (long i = 0; i < X.rows(); ++i) S(i, j) = X(i, j) * (-1.0 / (c2(i) + t * t));
  }
  void score_and_laplacian(double t, const matrix<double>& X, matrix<double>& S,
                           vector<double>& lap) const {
    score(t, X, S);
    double l = 0;
    for (long i = 0; i < c2.size(); ++i) l -= 1.0 / (c2(i) + t * t);
    lap.setConstant(X.cols(), l);
  }
  void log_density(double t, const matrix<double>& X, vector<double>& out) const {
    out.resize(X.cols());
    for (long j = 0; j < X.cols(); ++j) {
      double acc = 0;
      for (long i = 0; i < c2.size(); ++i) {
        const double P = c2(i) + t * t;
        acc -= 0.5 * (std::log(2 * std::numbers::pi * P) + X(i, j) * X(i, j) / P);
      }
      out(j) = acc;
    }
  }
};

vector<double> t1_variances(long D) {  // docs/ground-truth.md T1: c_i^2 = 0.2 + 1.8 (i + 0.5) / D
  vector<double> c2(D);
  for (long i = 0; i < D; ++i) c2(i) = 0.2 + 1.8 * (double(i) + 0.5) / double(D);
  return c2;
}

vector<double> t4_variances(long D) {  // docs/ground-truth.md T4: c_i^2 in [0.05, 1.05]
  vector<double> c2(D);
  for (long i = 0; i < D; ++i) c2(i) = 0.05 + 1.0 * (double(i) + 0.5) / double(D);
  return c2;
}

/// Exact Delta log p of DG-ODE for diagonal Gaussians (docs/ground-truth.md T1), the same for every
/// path that does not break down: PF-ODE change + sqrt(2D) Phi^{-1}(q) ln(T / t_end).
double dg_exact_change(const vector<double>& c2, double T, double t_end, double q) {
  double pf = 0;
  for (long i = 0; i < c2.size(); ++i)
    pf += 0.5 * std::log((c2(i) + T * T) / (c2(i) + t_end * t_end));
  return pf + std::sqrt(2.0 * double(c2.size())) * normal_quantile(q) * std::log(T / t_end);
}

/// x_T = sqrt(P_T) z, z standard normal per column; `typical` rescales z to |z|^2 = D.
/// z2 receives |z|^2 (the radial variable w at T).
matrix<double> start_points(const vector<double>& c2, double T, long n, std::uint64_t seed,
                            bool typical, vector<double>* z2 = nullptr) {
  const long D = c2.size();
  matrix<double> X(D, n);
  if (z2) z2->resize(n);
  for (long j = 0; j < n; ++j) {
    vector<double> z(D);
    random_stream(seed, std::uint64_t(j), purpose::user).fill_normal(0, z.data(), D);
    double q = 0;
    for (long i = 0; i < D; ++i) q += z(i) * z(i);
    if (typical) {
      z *= std::sqrt(double(D) / q);
      q = double(D);
    }
    if (z2) (*z2)(j) = q;
    for (long i = 0; i < D; ++i) X(i, j) = z(i) * std::sqrt(c2(i) + T * T);
  }
  return X;
}

template <class M>
vector<double> endpoint_change(const M& m, const matrix<double>& X_end, double t_end,
                               const vector<double>& L_start) {
  vector<double> e;
  m.log_density(t_end, X_end, e);
  return e - L_start;
}

/// VP with log-SNR as the clock (docs/ground-truth.md T3): lambda = lambda_max - t, alpha^2 =
/// sigmoid(lambda), sigma^2 = sigmoid(-lambda); then f = -sigma^2 / 2 and g^2 = sigma^2.
class vp_log_snr_clock {
 public:
  explicit vp_log_snr_clock(double lambda_min = -10, double lambda_max = 10)
      : lo_(lambda_min), hi_(lambda_max) {}
  double alpha(double t) const { return std::exp(-0.5 * softplus(-lambda(t))); }
  double sigma2(double t) const { return std::exp(-softplus(lambda(t))); }
  double sigma(double t) const { return std::sqrt(sigma2(t)); }
  double f(double t) const { return -0.5 * sigma2(t); }
  double g2(double t) const { return sigma2(t); }
  double log_snr(double t) const { return lambda(t); }
  double t_from_log_snr(double l) const { return hi_ - l; }
  double t_min() const { return 0.0; }
  double t_max() const { return hi_ - lo_; }

 private:
  static double softplus(double x) {
    return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x)));
  }
  double lambda(double t) const { return hi_ - t; }
  double lo_, hi_;
};

}  // namespace

// ------------------------------------------------------------------------------------------
TEST_CASE("dg_ode: q = 0.5 is bit-identical to pf_ode", "[unit]") {
  const edm_process p;
  const auto m = test::gmm2(p);
  matrix<double> X(2, 9);
  m.sample(p.t_max(), 4, 0, X);
  const vector<double> L = test::exact_log_p(m, p.t_max(), X);
  const divergence_options hutch{.kind = divergence_kind::hutchinson, .probes = 2};
  auto same = [](const integration_result<double>& a, const integration_result<double>& b) {
    CHECK(a.x == b.x);
    CHECK(a.log_p == b.log_p);
    CHECK(a.total_score_evals() == b.total_score_evals());
  };
  for (bool track : {true, false}) {
    const integrate_options o{.seed = 5, .grid = {.steps = 60, .spacing = grid_kind::edm_rho},
                              .track_logp = track};
    same(integrate(dg_ode(m, p, {.q = 0.5}), heun{}, X, L, 80.0, 0.002, o),
         integrate(pf_ode(m, p), heun{}, X, L, 80.0, 0.002, o));
    same(integrate(dg_ode(m, p, {.q = 0.5, .divergence = hutch}), euler{}, X, L, 80.0, 0.002, o),
         integrate(pf_ode(m, p, hutch), euler{}, X, L, 80.0, 0.002, o));
    same(integrate(dg_ode(m, p, {.q = 0.5}), dopri5{}, X, L, 80.0, 0.002, o),
         integrate(pf_ode(m, p), dopri5{}, X, L, 80.0, 0.002, o));
  }
  // T1's model: the same at D = 256.
  const auto c2 = t1_variances(256);
  const auto g = diagonal_gaussian(c2, p);
  const matrix<double> Y = start_points(c2, 80.0, 3, 1, false);
  const vector<double> LY = test::exact_log_p(g, 80.0, Y);
  const integrate_options o{.grid = {.steps = 128, .spacing = grid_kind::edm_rho}};
  same(integrate(dg_ode(g, p, {.q = 0.5}), heun{}, Y, LY, 80.0, 0.002, o),
       integrate(pf_ode(g, p), heun{}, Y, LY, 80.0, 0.002, o));
}

TEST_CASE("dg_ode: T1 diagonal Gaussian, Heun on the rho = 7 grid", "[ground-truth]") {
  // docs/ground-truth.md T1: D = 256, sigma 80 -> 0.002. Typical start points (|z_T|^2 = D; see the
  // next test for why): the actual change of log p, exact log p_0(x_end) - log p_T(x_T), is
  // within 0.5 nats of the exact value at N = 128 (docs/ground-truth.md T1: 1002.17 / 1254.10).
  // (The written-out model, cross-checked against the oracle below, keeps the 12 runs fast.)
  const edm_process p(0.002, 80.0);
  const auto c2 = t1_variances(256);
  const fast_diagonal_gaussian m{c2};
  const matrix<double> X = start_points(c2, 80.0, 4, 1, true);
  vector<double> L;
  m.log_density(80.0, X, L);
  auto run = [&](double q, long N, dg_logp mode) {
    return integrate(dg_ode(m, p, {.q = q, .logp = mode}), heun{}, X, L, 80.0, 0.002,
                     {.grid = {.steps = N, .spacing = grid_kind::edm_rho}});
  };
  for (double q : {0.3, 0.7}) {
    const double exact = dg_exact_change(c2, 80.0, 0.002, q);
    INFO("q = " << q << " exact " << exact);
    std::vector<double> steps, end_err, track_err;
    for (long N : {128L, 256L, 512L}) {
      const auto r = run(q, N, dg_logp::general);
      const auto s = run(q, N, dg_logp::schedule);
      REQUIRE(r.all_ok());
      REQUIRE(s.all_ok());
      const vector<double> end = endpoint_change(m, r.x, 0.002, L);
      const vector<double> trk = r.log_p - L;
      INFO("N = " << N << " endpoint " << end.transpose() << " tracked " << trk.transpose());
      if (N == 128) CHECK((end.array() - exact).abs().maxCoeff() <= 0.5);
      // docs/notation.md §3.4 (from the drift applied) and the imposed schedule are the same rate
      // computed two ways: they agree to rounding (1e-12 relative of ~1000 nats).
      CHECK((r.log_p - s.log_p).cwiseAbs().maxCoeff() <= 1e-12 * exact);
      CHECK(r.x == s.x);
      steps.push_back(double(N));
      end_err.push_back((end.array() - exact).abs().mean());
      track_err.push_back((trk.array() - exact).abs().mean());
    }
    // The tracked log p converges at Heun's order 2 (+-0.2). So does the end point at q = 0.3;
    // at q = 0.7 the last steps are pre-asymptotic (w_end ~ 4.5 while w drops by
    // k * dlambda ~ 1 per step at N = 512), the observed slope is ~1.5 and only a decrease is
    // checked.
    INFO("end point errors " << end_err[0] << " " << end_err[1] << " " << end_err[2]
                             << ", tracked " << track_err[0] << " " << track_err[1] << " "
                             << track_err[2]);
    if (q < 0.5)
      CHECK(test::fitted_order(steps, end_err) >= 2 - 0.2);
    else
      CHECK((end_err[2] < end_err[1] && end_err[1] < end_err[0]));
    CHECK(std::abs(test::fitted_order(steps, track_err) - 2) <= 0.2);
  }
}

TEST_CASE("dg_ode: T1 with random starts: a path is exact or flagged, never garbage",
          "[ground-truth]") {
  // The radial variable |z|^2 = sum x_i^2 / P_i falls by 2 k ln(T / t) along DG (exactly, for
  // diagonal Gaussians), so at q = 0.7 a path breaks down iff |z_T|^2 < 2 k ln(80 / 0.002) =
  // 251.5 < D = 256: about 40% of draws. Those must be flagged; paths with clear headroom must
  // be ok and exact (within T1's 0.5 nats). The band 251.5 .. 256.5 (w_end < 5, where the
  // detector's threshold w < 1 sits) may go either way.
  const edm_process p(0.002, 80.0);
  const auto c2 = t1_variances(256);
  const auto m = diagonal_gaussian(c2, p);
  vector<double> z2;
  const long n = 24;
  const matrix<double> X = start_points(c2, 80.0, n, 5, false, &z2);
  const vector<double> L = test::exact_log_p(m, 80.0, X);
  const double q = 0.7, exact = dg_exact_change(c2, 80.0, 0.002, q);
  const double drop = 2 * std::sqrt(512.0) * normal_quantile(q) * std::log(80.0 / 0.002);
  const auto r = integrate(dg_ode(m, p, {.q = q}), heun{}, X, L, 80.0, 0.002,
                           {.grid = {.steps = 128, .spacing = grid_kind::edm_rho}});
  const vector<double> end = endpoint_change(m, r.x, 0.002, L);
  int flagged = 0, ok = 0;
  for (long j = 0; j < n; ++j) {
    INFO("|z_T|^2 = " << z2(j) << " status " << to_string(r.stats[j].status) << " t "
                      << r.stats[j].t_reached << " change " << end(j));
    if (z2(j) < drop) {
      CHECK(r.stats[j].status == status::eta_blowup);
      ++flagged;
    } else if (z2(j) > drop + 5) {
      CHECK(r.stats[j].status == status::ok);
      CHECK(std::abs(end(j) - exact) <= 0.5);
      ++ok;
    }
    // Whatever the status, the returned log p is the tracked value at the returned state: it
    // matches the exact density there to the tracking error. For diagonal Gaussians the
    // tracked rates are path independent; Heun's quadrature error at N = 128 is 0.584 nats at
    // the end (previous test), less at a freeze, and the end point's own error (< 0.06, same
    // sign) only reduces the difference.
    vector<double> e;
    matrix<double> xj = r.x.col(j);
    m.log_density(r.stats[j].t_reached, xj, e);
    CHECK(std::abs(r.log_p(j) - e(0)) <= 0.6);
  }
  CHECK(flagged >= 3);  // the seed gives both kinds
  CHECK(ok >= 3);
  // q = 0.9 needs 2 k ln(T/t) = 614 > D: every path breaks down.
  const auto r9 = integrate(dg_ode(m, p, {.q = 0.9}), heun{}, X, L, 80.0, 0.002,
                            {.grid = {.steps = 128, .spacing = grid_kind::edm_rho}});
  for (const auto& s : r9.stats) CHECK(s.status == status::eta_blowup);
}

TEST_CASE("dg_ode: T2 breakdown is detected and reported per trajectory", "[ground-truth]") {
  // docs/ground-truth.md T2: isotropic data (c^2 = 1), D = 128, q = 0.7, sigma 80 -> 0.01:
  // w(sigma) = w_T - 2 k ln(T / sigma) reaches 0 since 2 k ln(8000) = 150.8 > D.
  const edm_process p(0.01, 80.0);
  const long D = 128;
  const vector<double> c2 = vector<double>::Ones(D);
  const auto m = diagonal_gaussian(c2, p);
  const double k = std::sqrt(2.0 * D) * normal_quantile(0.7);
  vector<double> z2;
  const long n = 6;
  const matrix<double> X = start_points(c2, 80.0, n, 3, true, &z2);
  const vector<double> L = test::exact_log_p(m, 80.0, X);
  // Continuous-time sigma where w reaches the detector's threshold 1, and where it reaches 0.
  const double sigma_flag = 80.0 * std::exp(-(double(D) - 1.0) / (2 * k));
  const double sigma_break = 80.0 * std::exp(-double(D) / (2 * k));
  for (int scheme = 0; scheme < 2; ++scheme) {
    // The accepted times of each column: the last step size bounds dopri5's next attempt.
    std::vector<std::vector<double>> times(static_cast<std::size_t>(n));
    const step_observer<double> observe = [&](const step_view<double>& v) {
      for (long c = 0; c < v.X.cols(); ++c) times[std::size_t(v.first_column + c)].push_back(v.t);
    };
    const auto r = scheme == 0
                       ? integrate(dg_ode(m, p, {.q = 0.7}), heun{}, X, L, 80.0, 0.01,
                                   {.grid = {.steps = 128, .spacing = grid_kind::edm_rho},
                                    .execution = {.threads = 1}}, observe)
                       : integrate(dg_ode(m, p, {.q = 0.7}), dopri5{}, X, L, 80.0, 0.01,
                                   {.tolerance = {.rtol = 1e-8, .atol = 1e-10},
                                    .execution = {.threads = 1}}, observe);
    for (long j = 0; j < n; ++j) {
      const double t = r.stats[j].t_reached;
      const auto& tj = times[std::size_t(j)];
      REQUIRE(tj.size() >= 2);
      const double h_last = tj[tj.size() - 2] - tj.back();
      INFO((scheme == 0 ? "heun" : "dopri5") << " column " << j << " stopped at " << t
                                             << " (last step " << h_last << "), w = 1 at sigma " << sigma_flag);
      CHECK(r.stats[j].status == status::eta_blowup);
      // Stopped before the continuous solution breaks down (w = 0), within the attempted step
      // whose stages cross the threshold, and the returned state is one the detector accepted:
      // w = |x|^2 / (1 + t^2) >= 1. Heun's rho-grid step there is ~6% (w drops ~1 per step);
      // dopri5's attempt after an accepted step is at most 5x that step (its factor clamp).
      const matrix<double> xj = r.x.col(j);
      CHECK(t > sigma_break);
      if (scheme == 0) CHECK(t <= sigma_flag * 1.15);
      else CHECK(t - 5 * h_last <= sigma_flag);
      CHECK(xj.squaredNorm() / (1 + t * t) >= 1.0);
      // The returned state and log p are a consistent, finite pair (not garbage).
      vector<double> e;
      m.log_density(t, xj, e);
      CHECK(std::abs(r.log_p(j) - e(0)) <= 0.5);
    }
  }
  // Without detection the run "succeeds": the tracked log p is the smooth schedule, the state
  // has jumped through the mode, and the two disagree by far more than the tracking error.
  const auto bad = integrate(dg_ode(m, p, {.q = 0.7, .detect_blowup = false}), heun{}, X, L,
                             80.0, 0.01, {.grid = {.steps = 128, .spacing = grid_kind::edm_rho}});
  CHECK(bad.all_ok());
  const vector<double> truth = test::exact_log_p(m, 0.01, bad.x);
  CHECK((bad.log_p - truth).cwiseAbs().maxCoeff() > 5.0);
}

TEST_CASE("dg_ode: T3 VP in log-SNR time, Euler on the log-SNR grid", "[ground-truth]") {
  // docs/ground-truth.md T3: D = 3072, p_0 = N(0, 0.5 I), lambda -10 -> 10. The measured values are
  // the exact log p_0(x_end) - log p_T(x_T) after Euler; they depend on the draw of x_T through
  // |z_T|^2 (chi^2_D, sd sqrt(2D)), so the tolerance is 3 times the measured change for a
  // one-sd change of |z_T|^2 (runs at |z|^2 = D and D (1 +- sqrt(2/D))).
  const vp_log_snr_clock p;
  const long D = 3072;
  const auto m = gaussian_mixture<double, vp_log_snr_clock>::isotropic(
      p, {1.0}, matrix<double>::Zero(D, 1), {0.5});
  matrix<double> X(D, 3);
  vector<double> z(D);
  random_stream(7, 0, purpose::user).fill_normal(0, z.data(), D);
  z *= std::sqrt(double(D) / z.squaredNorm());
  const double PT = p.alpha(20) * p.alpha(20) * 0.5 + p.sigma2(20);
  for (int j = 0; j < 3; ++j)
    X.col(j) = z * std::sqrt(PT * (1.0 + (j - 1) * std::sqrt(2.0 / D)));
  const vector<double> L = test::exact_log_p(m, 20.0, X);
  const double P0 = p.alpha(0) * p.alpha(0) * 0.5 + p.sigma2(0);
  struct row {
    double q;
    long N;
    double measured;
  };
  const row rows[] = {{0.3, 64, 664.35},  {0.5, 64, 1074.40},  {0.7, 64, 1483.57},
                      {0.3, 1024, 654.18}, {0.5, 1024, 1065.17}, {0.7, 1024, 1476.10}};
  for (const auto& rw : rows) {
    const auto r = integrate(dg_ode(m, p, {.q = rw.q}), euler{}, X, L, 20.0, 0.0,
                             {.grid = {.steps = rw.N, .spacing = grid_kind::log_snr}});
    REQUIRE(r.all_ok());
    const vector<double> end = endpoint_change(m, r.x, 0.0, L);
    const double sens = 0.5 * std::abs(end(2) - end(0));
    // Prediction: PF change (D/2) ln(P_T / P_0) + (1/2) sqrt(2D) Phi^{-1}(q) * 20.
    const double predicted =
        0.5 * D * std::log(PT / P0) + 0.5 * std::sqrt(2.0 * D) * normal_quantile(rw.q) * 20.0;
    INFO("q " << rw.q << " N " << rw.N << " endpoint " << end(1) << " (+-" << sens
              << " per sd of |z_T|^2) measured " << rw.measured << " tracked "
              << r.log_p(1) - L(1) << " predicted " << predicted);
    CHECK(std::abs(end(1) - rw.measured) <= 3 * sens + 0.005);  // + rounding of the table
    // The tracked log p integrates rates that are deterministic for isotropic Gaussians; in
    // log-SNR time they are nearly constant, so Euler's quadrature error is tiny: measured
    // 0.006 at N = 64, first order (a bound of 1 / N nats, from the rate's variation 0.3 / unit
    // of lambda over 20 units, is what is checked).
    CHECK(std::abs(r.log_p(1) - L(1) - predicted) <= 1.0 / double(rw.N));
  }
}

TEST_CASE("dg_ode: tracked log p on a mixture matches the oracle (docs/notation.md §3.4)",
          "[ground-truth]") {
  // Non-Gaussian data: the DG change of log p is path dependent; the tracked value must still be
  // the exact log p at the end point (dopri5 at tight tolerance: error ~1e-7).
  const edm_process p(0.01, 20.0);
  const auto m = test::random_mixture(5, 3, 41, p);
  matrix<double> X(5, 6);
  m.sample(20.0, 8, 0, X);
  const vector<double> L = test::exact_log_p(m, 20.0, X);
  for (double q : {0.2, 0.45, 0.55}) {
    const auto r = integrate(dg_ode(m, p, {.q = q}), dopri5{}, X, L, 20.0, 0.01,
                             {.tolerance = {.rtol = 1e-10, .atol = 1e-12}});
    const vector<double> exact = test::exact_log_p(m, 0.01, r.x);
    for (long j = 0; j < X.cols(); ++j) {
      INFO("q " << q << " column " << j << " " << to_string(r.stats[j].status));
      if (r.stats[j].status != status::ok) continue;  // q > 0.5 may run out of headroom
      CHECK(std::abs(r.log_p(j) - exact(j)) <= 1e-6);
    }
    if (q < 0.5) CHECK(r.all_ok());  // lowering log p never breaks down
  }
}

TEST_CASE("density_guided_flow: imposes a chosen rate of log p (docs/notation.md §5.1)", "[ground-truth]") {
  const edm_process p(0.01, 5.0);
  const auto m = test::gmm2(p);
  matrix<double> X(2, 5);
  m.sample(5.0, 12, 0, X);
  const vector<double> L = test::exact_log_p(m, 5.0, X);
  // b = -0.5: log p rises by 0.5 per unit of t travelled downwards, whatever the path.
  auto constant = [](double, const matrix<double>&, const matrix<double>&, const vector<double>&,
                     vector<double>& b) { b.setConstant(-0.5); };
  const auto r = integrate(density_guided_flow(m, p, constant), dopri5{}, X, L, 5.0, 0.5,
                           {.tolerance = {.rtol = 1e-10, .atol = 1e-12}});
  REQUIRE(r.all_ok());
  const vector<double> change = test::exact_log_p(m, 0.5, r.x) - L;
  CHECK((change.array() - 0.5 * 4.5).abs().maxCoeff() <= 1e-6);  // dopri5 at rtol 1e-10
  CHECK(((r.log_p - L).array() - 0.5 * 4.5).abs().maxCoeff() <= 1e-9);
}

TEST_CASE("density_guided_flow: with the quantile target it is the DG-ODE", "[unit]") {
  // docs/notation.md §5.2 is §5.1 with b = -div v - (1/2) g^2 k / sigma^2: same path up to
  // rounding.
  const edm_process p(0.002, 80.0);
  const auto c2 = t1_variances(64);
  const auto m = diagonal_gaussian(c2, p);
  const matrix<double> X = start_points(c2, 80.0, 3, 2, true);
  const vector<double> L = test::exact_log_p(m, 80.0, X);
  const double k = std::sqrt(128.0) * normal_quantile(0.3);
  auto target = [&](double t, const matrix<double>&, const matrix<double>&,
                    const vector<double>& lap, vector<double>& b) {
    const double f = p.f(t), g2 = p.g2(t), s2 = p.sigma2(t);
    for (long j = 0; j < lap.size(); ++j)
      b(j) = -(f * 64 - 0.5 * g2 * lap(j)) - 0.5 * g2 * k / s2;
  };
  const integrate_options o{.grid = {.steps = 64, .spacing = grid_kind::edm_rho}};
  const auto a = integrate(density_guided_flow(m, p, target), heun{}, X, L, 80.0, 0.002, o);
  const auto b = integrate(dg_ode(m, p, {.q = 0.3}), heun{}, X, L, 80.0, 0.002, o);
  REQUIRE(a.all_ok());
  CHECK((a.x - b.x).cwiseAbs().maxCoeff() <= 1e-10 * b.x.cwiseAbs().maxCoeff());
  CHECK((a.log_p - b.log_p).cwiseAbs().maxCoeff() <= 1e-9);
  // b = -div v is the PF-ODE.
  auto pf_rate = [&](double t, const matrix<double>&, const matrix<double>&,
                     const vector<double>& lap, vector<double>& out) {
    for (long j = 0; j < lap.size(); ++j) out(j) = -(p.f(t) * 64 - 0.5 * p.g2(t) * lap(j));
  };
  const auto c = integrate(density_guided_flow(m, p, pf_rate), heun{}, X, L, 80.0, 0.002, o);
  const auto d = integrate(pf_ode(m, p), heun{}, X, L, 80.0, 0.002, o);
  CHECK((c.x - d.x).cwiseAbs().maxCoeff() <= 1e-12 * d.x.cwiseAbs().maxCoeff());
  CHECK((c.log_p - d.log_p).cwiseAbs().maxCoeff() <= 1e-9);
}

// ------------------------------------------------------------------------------------------
namespace {

struct t4_setup {
  static constexpr long D = 512;
  static constexpr double T = 80.0, t_end = 0.01;
  static constexpr long steps = 4000;
  edm_process p{t_end, T};
  vector<double> c2 = t4_variances(D);
  fast_diagonal_gaussian m{c2};
  std::vector<double> grid = make_time_grid(p, grid_kind::log_snr, T, t_end, steps);

  /// Per-path standard deviation of Delta log p from Euler-Maruyama's strong error: each step
  /// adds (phi^2 h / 2) (|P z|^2_{diag 1/P} - its mean) to -log p, variance
  /// (phi^2 h)^2 2 sum_i P_i^{-2} / 4.
  double path_sd(const noise_window& w) const {
    double v = 0;
    for (std::size_t k = 0; k + 1 < grid.size(); ++k) {
      const double t = grid[k], h = t - grid[k + 1], a = w(t);
      if (a == 0) continue;
      const double phi2h = a * a * p.g2(t) * h;
      double s = 0;
      for (long i = 0; i < D; ++i) s += 1.0 / std::pow(c2(i) + t * t, 2);
      v += phi2h * phi2h * 2 * s / 4;
    }
    return std::sqrt(v);
  }
  /// |(1/2) int phi^2 s_hat^T H s_hat dt| bounded by (1/2) int phi^2 / min_i P_i: the O(1)
  /// term the default DG-SDE drops.
  double hessian_term_bound(const noise_window& w) const {
    double b = 0;
    for (std::size_t k = 0; k + 1 < grid.size(); ++k) {
      const double t = grid[k], h = t - grid[k + 1], a = w(t);
      b += 0.5 * a * a * p.g2(t) * h / (c2.minCoeff() + t * t);
    }
    return b;
  }
};

}  // namespace

TEST_CASE("dg_sde: the fast test model agrees with the oracle", "[unit]") {
  const edm_process p(0.01, 80.0);
  const auto c2 = t4_variances(512);
  const auto oracle = diagonal_gaussian(c2, p);
  const fast_diagonal_gaussian fast{c2};
  const matrix<double> X = start_points(c2, 3.0, 3, 9, false);
  for (double t : {0.01, 0.7, 3.0, 80.0}) {
    matrix<double> S1, S2;
    vector<double> l1, l2, d1, d2;
    oracle.score_and_laplacian(t, X, S1, l1);
    fast.score_and_laplacian(t, X, S2, l2);
    oracle.log_density(t, X, d1);
    fast.log_density(t, X, d2);
    CHECK((S1 - S2).cwiseAbs().maxCoeff() <= 1e-12 * S1.cwiseAbs().maxCoeff());
    CHECK((l1 - l2).cwiseAbs().maxCoeff() <= 1e-12 * l1.cwiseAbs().maxCoeff());
    CHECK((d1 - d2).cwiseAbs().maxCoeff() <= 1e-12 * d1.cwiseAbs().maxCoeff());
  }
}

namespace {
// docs/ground-truth.md T4: D = 512, q = 0.3 (Delta log p ~ 2297), 4000 geometric EM steps 80 ->
// 0.01, phi_tilde = 0.5 in a window. Each path is ~exact: its deviation from the prediction is
// Euler's deterministic path error (measured on the DG-ODE run on the same grid), the dropped
// O(1) Hessian term (bounded by hessian_term_bound), and EM's strong error (path_sd).
void check_t4(const noise_window& w, const char* name, long n, std::uint64_t seed) {
  const t4_setup s;
  const double q = 0.3, pred = dg_exact_change(s.c2, s.T, s.t_end, q);
  const matrix<double> X = start_points(s.c2, s.T, n, seed, false);
  vector<double> L;
  s.m.log_density(s.T, X, L);
  const integrate_options o{.seed = seed, .grid = {.times = s.grid}};
  const auto ode = integrate(dg_ode(s.m, s.p, {.q = q}), euler{}, X, L, s.T, s.t_end, o);
  const auto ode_sched = integrate(dg_ode(s.m, s.p, {.q = q, .logp = dg_logp::schedule}),
                                   euler{}, X, L, s.T, s.t_end, o);
  REQUIRE(ode.all_ok());
  const vector<double> ode_end = endpoint_change(s.m, ode.x, s.t_end, L);
  const double sd = s.path_sd(w), hb = s.hessian_term_bound(w);
  auto run = [&](dg_sde_options opt) {
    opt.q = q;
    opt.noise = w;
    return integrate(dg_sde(s.m, s.p, opt), euler_maruyama{}, X, L, s.T, s.t_end, o);
  };
  const auto plain = run({});
  const auto exact_h = run({.hessian_term = true});
  const auto sched = run({.logp = dg_logp::schedule});
  const auto wrong = run({.project_noise = false, .laplacian_correction = false});
  REQUIRE(plain.all_ok());
  REQUIRE(exact_h.all_ok());
  REQUIRE(wrong.all_ok());
  const vector<double> e_plain = endpoint_change(s.m, plain.x, s.t_end, L);
  const vector<double> e_exact = endpoint_change(s.m, exact_h.x, s.t_end, L);
  const vector<double> e_wrong = endpoint_change(s.m, wrong.x, s.t_end, L);
  INFO(name << " noise: path sd " << sd << ", Hessian term bound " << hb);
  INFO("endpoint - prediction: default " << (e_plain.array() - pred).transpose()
                                         << " | with Hessian term "
                                         << (e_exact.array() - pred).transpose()
                                         << " | no projection/correction "
                                         << (e_wrong.array() - pred).transpose()
                                         << " | DG-ODE Euler " << (ode_end.array() - pred).transpose());
  // docs/ground-truth.md T4: within 1 nat of the DG-ODE prediction (mean of the handful of paths;
  // the standard error of that mean, sd / sqrt(n), is below 0.25 nat here).
  CHECK(std::abs(e_plain.mean() - pred) <= 1.0);
  CHECK(std::abs(e_exact.mean() - pred) <= 1.0);
  for (long j = 0; j < n; ++j) {
    // Per path, against the DG-ODE on the same grid (removes Euler's path bias): 4 sd of the
    // strong error, plus the Hessian term when it is dropped.
    CHECK(std::abs(e_exact(j) - ode_end(j)) <= 4 * sd);
    CHECK(std::abs(e_plain(j) - ode_end(j)) <= 4 * sd + hb);
  }
  // Without the projection and the Laplacian correction the schedule is visibly broken.
  CHECK(std::abs(e_wrong.mean() - pred) > 10.0);
  // Log p tracking. With the Hessian term the docs/notation.md §3.5 rate is the DG-ODE's exactly
  // (and deterministic here): the tracked values equal the DG-ODE's Euler sums to rounding.
  CHECK((exact_h.log_p - ode.log_p).cwiseAbs().maxCoeff() <= 1e-10 * pred);
  CHECK((sched.log_p - ode_sched.log_p).cwiseAbs().maxCoeff() <= 1e-10 * pred);
  // Whatever the dynamics, general tracking follows the actual log p: tracked minus actual is
  // the DG-ODE's Euler quadrature offset (~2.4 nats) up to the strong error and the 0.5-nat
  // spread of Euler's path error between paths.
  const double offset = ode.log_p(0) - L(0) - ode_end(0);
  const vector<double> t_wrong = wrong.log_p - L;
  const vector<double> t_plain = plain.log_p - L;
  for (long j = 0; j < n; ++j) {
    CHECK(std::abs(t_wrong(j) - e_wrong(j) - offset) <= 4 * sd + 0.5);
    CHECK(std::abs(t_plain(j) - e_plain(j) - offset) <= 4 * sd + 0.5);
  }
}
}  // namespace

TEST_CASE("dg_sde: T4 keeps the DG-ODE schedule with late noise", "[ground-truth]") {
  check_t4(noise_window::late(0.5, 1.0), "late", 4, 11);
}

TEST_CASE("dg_sde: T4 with late and early noise, more paths", "[ground-truth][.slow]") {
  check_t4(noise_window::late(0.5, 1.0), "late", 8, 12);
  check_t4(noise_window::early(0.5, 1.0, 20.0), "early", 8, 13);
}

TEST_CASE("dg_sde: results are bit-identical across batch sizes and threads", "[repro]") {
  const edm_process p(0.01, 20.0);
  const auto m = test::gmm2(p);
  matrix<double> X(2, 13);
  m.sample(20.0, 2, 0, X);
  const vector<double> L = test::exact_log_p(m, 20.0, X);
  const dg_sde_options so{.q = 0.4, .noise = noise_window::always(0.7), .hessian_term = true};
  const integrate_options base{.seed = 4, .grid = {.steps = 50, .spacing = grid_kind::log_snr},
                               .execution = {.batch_size = 13, .threads = 1}};
  const auto ref = integrate(dg_sde(m, p, so), euler_maruyama{}, X, L, 20.0, 0.01, base);
  const auto ref_ode = integrate(dg_ode(m, p, {.q = 0.6}), heun{}, X, L, 20.0, 0.01, base);
  for (int threads : {1, 2})
    for (long bs : {1L, 4L}) {
      integrate_options o = base;
      o.execution.threads = threads;
      o.execution.batch_size = bs;
      const auto r = integrate(dg_sde(m, p, so), euler_maruyama{}, X, L, 20.0, 0.01, o);
      CHECK(r.x == ref.x);
      CHECK(r.log_p == ref.log_p);
      const auto r2 = integrate(dg_ode(m, p, {.q = 0.6}), heun{}, X, L, 20.0, 0.01, o);
      CHECK(r2.x == ref_ode.x);
      CHECK(r2.log_p == ref_ode.log_p);
    }
}

TEST_CASE("dg_ode: float models work", "[unit]") {
  // T1 at N = 128 in float: the same 0.5-nat claim (float rounding of ~1000-nat sums is ~1e-4).
  const edm_process p(0.002, 80.0);
  const auto c2 = t1_variances(256);
  const auto m = diagonal_gaussian<float>(c2, p);
  const matrix<float> X = start_points(c2, 80.0, 2, 1, true).cast<float>();
  vector<float> L;
  m.log_density(80.0, X, L);
  const auto r = integrate(dg_ode(m, p, {.q = 0.7}), heun{}, X, L, 80.0, 0.002,
                           {.grid = {.steps = 128, .spacing = grid_kind::edm_rho}});
  REQUIRE(r.all_ok());
  vector<float> e;
  m.log_density(0.002, r.x, e);
  const double exact = dg_exact_change(c2, 80.0, 0.002, 0.7);
  CHECK(std::abs(double(e(0) - L(0)) - exact) <= 0.5);
}

TEST_CASE("dg_ode: invalid options are rejected", "[unit]") {
  const edm_process p;
  const auto m = test::gmm2(p);
  for (double q : {0.0, 1.0, -0.2, std::nan("")})
    CHECK_THROWS_WITH(dg_ode(m, p, {.q = q}),
                      Catch::StartsWith("[dlogp.invalid_argument] dg_ode: q must be in (0, 1)"));
  CHECK_THROWS_WITH(dg_ode(m, p, {.q = 0.6, .blowup_w = -1}),
                    Catch::StartsWith("[dlogp.invalid_argument] dg_ode: blowup_w"));
  CHECK_THROWS_WITH(dg_sde(m, p, {.q = 0.6, .noise = {.amplitude = -1}}),
                    Catch::StartsWith("[dlogp.invalid_argument] dg_sde: noise amplitude"));
  CHECK_THROWS_WITH(dg_sde(m, p, {.noise = noise_window::early(0.5, 2.0, 1.0)}),
                    Catch::StartsWith("[dlogp.invalid_argument] dg_sde: noise window"));
}

TEST_CASE("noise_window: early and late windows", "[unit]") {
  const auto late = noise_window::late(0.5, 1.0);
  const auto early = noise_window::early(0.3, 1.0, 20.0);
  CHECK(late(0.5) == 0.5);
  CHECK(late(1.0) == 0.0);
  CHECK(early(1.0) == 0.3);
  CHECK(early(19.9) == 0.3);
  CHECK(early(20.0) == 0.0);
  CHECK(early(0.5) == 0.0);
  CHECK(noise_window::always(0.2)(1e9) == 0.2);
  CHECK(noise_window{}(1.0) == 0.0);
}

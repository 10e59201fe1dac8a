#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/core/concepts.hpp>
#include <dlogp/process/any_process.hpp>
#include <dlogp/process/edm.hpp>
#include <dlogp/process/rectified_flow.hpp>
#include <dlogp/process/sub_vp.hpp>
#include <dlogp/process/ve.hpp>
#include <dlogp/process/vp.hpp>
#include <limits>
#include <string>
#include <vector>

using namespace dlogp;

static_assert(process<vp_process>);
static_assert(process<sub_vp_process>);
static_assert(process<ve_process>);
static_assert(process<edm_process>);
static_assert(process<rectified_flow_process>);
static_assert(process<any_process>);

namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();

// Interior test times: fractions of t_max, away from 0 so the stencils below stay inside.
template <class P>
std::vector<double> interior_times(const P& p) {
  std::vector<double> ts;
  for (double a : {0.01, 0.1, 0.3, 0.5, 0.7, 0.95}) ts.push_back(a * p.t_max());
  return ts;
}

// Central difference (phi(t+h) - phi(t-h)) / 2h and the bound on its error:
// truncation h^2/6 |phi'''| (phi''' estimated by a wider 5-point stencil, which is independent
// of the formula under test) plus rounding ~ eps |phi| / h; a factor 4 covers the error of the
// phi''' estimate and the rounding in the formula under test. For phi = log(...) the rounding
// is absolute (eps from the relative error of the argument), hence `log_of`.
struct fd_result {
  double value, bound;
};
template <class F>
fd_result central_difference(F phi, double t, double h, double k, bool log_of = false) {
  const double d1 = (phi(t + h) - phi(t - h)) / (2 * h);
  const double d3 =
      (phi(t + 2 * k) - 2 * phi(t + k) + 2 * phi(t - k) - phi(t - 2 * k)) / (2 * k * k * k);
  const double mag = std::max({std::abs(phi(t + h)), std::abs(phi(t)), std::abs(phi(t - h))}) +
                     (log_of ? 1.0 : 0.0);
  return {d1, 4 * (h * h / 6 * std::abs(d3) + 4 * eps * mag / h) + 4 * eps * std::abs(d1)};
}

template <class P>
void check_f_g2_against_differences(const P& p) {
  for (double t : interior_times(p)) {
    const double scale = std::max(1.0, t);
    const double h = 1e-5 * scale, k = std::min(1e-3 * scale, t / 4);
    INFO(p.name() << " t = " << t);
    // f = d log alpha / dt
    const auto fd_f =
        central_difference([&](double u) { return std::log(p.alpha(u)); }, t, h, k, true);
    CHECK(std::abs(p.f(t) - fd_f.value) <= fd_f.bound);
    // g2 = d sigma^2/dt - 2 f sigma^2 (the analytic f is checked just above)
    const auto fd_s2 = central_difference([&](double u) { return p.sigma2(u); }, t, h, k);
    const double g2_fd = fd_s2.value - 2 * p.f(t) * p.sigma2(t);
    CHECK(std::abs(p.g2(t) - g2_fd) <= fd_s2.bound + 8 * eps * std::abs(p.f(t) * p.sigma2(t)));
    // docs/notation.md §1: g2 = -(d lambda / dt) sigma^2 ties log_snr to the same schedule.
    const auto fd_l = central_difference([&](double u) { return p.log_snr(u); }, t, h, k, true);
    CHECK(std::abs(p.g2(t) + fd_l.value * p.sigma2(t)) <=
          fd_l.bound * p.sigma2(t) + 8 * eps * p.g2(t));
    // sigma2 and sigma agree, log_snr is log(alpha^2 / sigma^2) (few roundings each).
    CHECK(std::abs(p.sigma2(t) - p.sigma(t) * p.sigma(t)) <= 4 * eps * p.sigma2(t));
    const double direct = std::log(p.alpha(t) * p.alpha(t) / p.sigma2(t));
    CHECK(std::abs(p.log_snr(t) - direct) <= 16 * eps * (1 + std::abs(direct)));
  }
}

// t -> lambda -> t and lambda -> t -> lambda. Rounding in lambda is ~eps |lambda|, and
// |dt/dlambda| = sigma^2 / g2 (docs/notation.md §1), so t comes back within a few eps (t + |lambda|
// sigma^2/g2); the reverse direction within a few eps (|lambda| + t g2 / sigma^2).
template <class P>
void check_log_snr_round_trip(const P& p) {
  std::vector<double> ts = interior_times(p);
  ts.push_back(p.t_min());
  ts.push_back(p.t_max());
  for (double t : ts) {
    INFO(p.name() << " t = " << t);
    const double l = p.log_snr(t);
    const double dl_dt = p.g2(t) / p.sigma2(t);
    CHECK(std::abs(p.t_from_log_snr(l) - t) <= 16 * eps * (t + std::abs(l) / dl_dt));
    CHECK(std::abs(p.log_snr(p.t_from_log_snr(l)) - l) <= 16 * eps * (std::abs(l) + t * dl_dt));
  }
}

template <class P>
void check_t_zero(const P& p) {
  INFO(p.name());
  for (double v : {p.alpha(0), p.sigma(0), p.sigma2(0), p.f(0), p.g2(0)}) CHECK(std::isfinite(v));
  CHECK(p.alpha(0) == 1.0);
  CHECK(p.sigma(0) == 0.0);
  CHECK(p.log_snr(0) == std::numeric_limits<double>::infinity());
  CHECK(p.t_from_log_snr(std::numeric_limits<double>::infinity()) == 0.0);
}

}  // namespace

TEST_CASE("process: f and g2 match finite differences of alpha and sigma^2", "[unit]") {
  check_f_g2_against_differences(vp_process{});
  check_f_g2_against_differences(vp_process{0.5, 5.0, 0.0, 2.0});
  check_f_g2_against_differences(sub_vp_process{});
  check_f_g2_against_differences(ve_process{});
  check_f_g2_against_differences(edm_process{});
  check_f_g2_against_differences(rectified_flow_process{});
}

TEST_CASE("process: t_from_log_snr inverts log_snr", "[unit]") {
  check_log_snr_round_trip(vp_process{});
  check_log_snr_round_trip(sub_vp_process{});
  check_log_snr_round_trip(ve_process{});
  check_log_snr_round_trip(edm_process{});
  check_log_snr_round_trip(rectified_flow_process{});
  // Very noisy end: e^{-lambda} overflows for lambda < -709; the VP inverse must not.
  const vp_process vp;
  for (double l : {-50.0, -800.0}) {
    const double t = vp.t_from_log_snr(l);
    REQUIRE(std::isfinite(t));
    CHECK(std::abs(vp.log_snr(t) - l) <= 16 * eps * std::abs(l));
  }
  const sub_vp_process svp;
  CHECK(std::abs(svp.log_snr(svp.t_from_log_snr(-50.0)) + 50.0) <= 16 * eps * 50.0);
}

TEST_CASE("process: every function is finite at t = 0", "[unit]") {
  check_t_zero(vp_process{});
  check_t_zero(sub_vp_process{});
  check_t_zero(edm_process{});
  check_t_zero(rectified_flow_process{});
  // VE follows docs/notation.md §1 literally: sigma(0) = sigma_min, so log_snr(0) is finite.
  const ve_process ve;
  CHECK(ve.alpha(0) == 1.0);
  CHECK(ve.sigma(0) == 0.01);
  CHECK(std::abs(ve.log_snr(0) + 2 * std::log(0.01)) <= 4 * eps * 10);
  CHECK(std::abs(ve.t_from_log_snr(ve.log_snr(0))) <= 4 * eps);
}

TEST_CASE("process: schedules keep full relative accuracy as t -> 0", "[unit]") {
  const double t = 1e-9, b0 = 0.1, b1 = 20.0;
  const double B = b0 * t + 0.5 * (b1 - b0) * t * t;         // exact to rounding
  const double one_minus_e = B - B * B / 2 + B * B * B / 6;  // 1 - e^{-B}, series (B ~ 1e-10)
  const vp_process vp;
  const sub_vp_process svp;
  // Relative error a few eps; naive 1 - alpha^2 loses ~ eps / B ~ 1e-6 (checked below).
  CHECK(std::abs(vp.sigma2(t) / one_minus_e - 1) <= 8 * eps);
  const double naive = 1 - vp.alpha(t) * vp.alpha(t);
  CHECK(std::abs(naive / one_minus_e - 1) > 1e-9);  // the check above can tell the difference
  CHECK(std::abs(svp.sigma(t) / one_minus_e - 1) <= 8 * eps);
  CHECK(std::abs(svp.sigma2(t) / (one_minus_e * one_minus_e) - 1) <= 8 * eps);
  // sub-VP g2 = beta (1 - e^{-2B}) with 1 - e^{-2B} = 2B - 2B^2 + ...
  const double beta = b0 + (b1 - b0) * t;
  CHECK(std::abs(svp.g2(t) / (beta * (2 * B - 2 * B * B)) - 1) <= 8 * eps);
  // log_snr = -B - log(1 - e^{-B}) and its inverse keep relative accuracy in t.
  CHECK(std::abs(vp.log_snr(t) - (-B - std::log(one_minus_e))) <= 8 * eps * 25);
  CHECK(std::abs(svp.log_snr(t) - (-B - 2 * std::log(one_minus_e))) <= 8 * eps * 50);
  CHECK(std::abs(vp.t_from_log_snr(vp.log_snr(t)) / t - 1) <= 64 * eps);
  CHECK(std::abs(svp.t_from_log_snr(svp.log_snr(t)) / t - 1) <= 64 * eps);
  const rectified_flow_process rf;
  CHECK(std::abs(rf.log_snr(t) - 2 * (std::log(1 - t) - std::log(t))) <= 8 * eps * 42);
  CHECK(std::abs(rf.t_from_log_snr(rf.log_snr(t)) / t - 1) <= 64 * eps);
  const edm_process edm;
  CHECK(std::abs(edm.t_from_log_snr(edm.log_snr(t)) / t - 1) <= 64 * eps);
}

TEST_CASE("process: VP values match docs/ground-truth.md", "[ground-truth]") {
  const vp_process vp;
  // Tolerance: half a unit in the last printed digit.
  CHECK(std::abs(vp.alpha(1.0) - 6.571586e-03) <= 0.5e-9);
  CHECK(std::abs(vp.sigma2(1.0) - 0.99995681) <= 0.5e-8);
  CHECK(std::abs(vp.alpha(0.3) - 0.629550000) <= 0.5e-9);
  CHECK(std::abs(vp.sigma2(0.3) - 0.603666797) <= 0.5e-9);
  CHECK(std::abs(vp.f(0.3) - (-3.035)) <= 1e-14);
  CHECK(std::abs(vp.g2(0.3) - 6.07) <= 1e-14);
  CHECK(std::abs(vp.alpha(0.5) - 0.281182881) <= 0.5e-9);
  CHECK(std::abs(vp.sigma2(0.5) - 0.920936188) <= 0.5e-9);
}

TEST_CASE("process: schedules follow the docs/notation.md table", "[unit]") {
  const vp_process vp;
  const sub_vp_process svp;
  for (double t : {0.0, 0.2, 0.7, 1.0}) {
    CHECK(svp.alpha(t) == vp.alpha(t));
    CHECK(std::abs(svp.sigma(t) - vp.sigma2(t)) <= 2 * eps);
    CHECK(svp.f(t) == vp.f(t));
    const double a2 = vp.alpha(t) * vp.alpha(t);
    CHECK(std::abs(svp.g2(t) - vp.beta(t) * (1 - a2 * a2)) <= 4 * eps * vp.beta(t));
  }
  const ve_process ve;
  CHECK(std::abs(ve.sigma(0.5) - 0.01 * std::sqrt(5000.0)) <= 4 * eps);
  CHECK(std::abs(ve.sigma(1.0) - 50.0) <= 4 * eps * 50 * std::log(5000.0));
  CHECK(std::abs(ve.g2(0.5) - 2 * 0.5 * std::log(5000.0)) <= 8 * eps * 10);
  const edm_process edm;
  CHECK(edm.sigma(3.5) == 3.5);
  CHECK(edm.g2(3.5) == 7.0);
  CHECK(edm.log_snr(1.0) == 0.0);
  const rectified_flow_process rf;
  CHECK(rf.alpha(0.25) == 0.75);
  CHECK(rf.sigma(0.25) == 0.25);
  CHECK(std::abs(rf.f(0.25) + 4.0 / 3.0) <= 2 * eps);
  CHECK(std::abs(rf.g2(0.25) - (0.5 + 2 * 0.0625 / 0.75)) <= 4 * eps);
  CHECK(rf.log_snr(0.5) == 0.0);
}

TEST_CASE("process: constructors reject invalid arguments", "[unit]") {
  using Catch::Contains;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  REQUIRE_THROWS_WITH(vp_process(0.0, 20.0), Contains("[dlogp.invalid_argument] vp_process:"));
  REQUIRE_THROWS_WITH(vp_process(1.0, 0.5), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(vp_process(0.1, 20.0, 0.5, 0.5), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(vp_process(0.1, 20.0, -1e-3, 1.0), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(vp_process(0.1, 20.0, nan, 1.0), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(vp_process(0.1, 20.0, 1e-3, inf), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(sub_vp_process(-0.1, 20.0),
                      Contains("[dlogp.invalid_argument] sub_vp_process:"));
  REQUIRE_THROWS_WITH(sub_vp_process(0.1, nan), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(sub_vp_process(0.1, 20.0, 1.0, 0.5), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(ve_process(0.0, 50.0), Contains("[dlogp.invalid_argument] ve_process:"));
  REQUIRE_THROWS_WITH(ve_process(50.0, 50.0), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(ve_process(0.01, inf), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(ve_process(0.01, 50.0, 0.5, 0.1), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(edm_process(-0.1, 80.0), Contains("[dlogp.invalid_argument] edm_process:"));
  REQUIRE_THROWS_WITH(edm_process(80.0, 0.002), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(edm_process(0.002, inf), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(rectified_flow_process(1e-3, 1.0),
                      Contains("[dlogp.invalid_argument] rectified_flow_process:"));
  REQUIRE_THROWS_WITH(rectified_flow_process(0.5, 0.4), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(rectified_flow_process(nan, 0.9), Contains("[dlogp.invalid_argument]"));
  REQUIRE_THROWS_WITH(rectified_flow_process(0.0, nan), Contains("[dlogp.invalid_argument]"));
  // The boundary cases that are valid.
  CHECK_NOTHROW(vp_process(1.0, 1.0, 0.0, 1.0));
  CHECK_NOTHROW(edm_process(0.0, 1.0));
  CHECK_NOTHROW(rectified_flow_process(0.0, 0.5));
}

namespace {
template <class P>
void check_any_process(const P& p) {
  const any_process a(p);
  CHECK(a.name() == p.name());
  CHECK(a.t_min() == p.t_min());
  CHECK(a.t_max() == p.t_max());
  std::vector<double> ts = interior_times(p);
  ts.push_back(p.t_max());
  for (double t : ts) {
    INFO(p.name() << " t = " << t);
    CHECK(a.alpha(t) == p.alpha(t));
    CHECK(a.sigma(t) == p.sigma(t));
    CHECK(a.sigma2(t) == p.sigma2(t));
    CHECK(a.f(t) == p.f(t));
    CHECK(a.g2(t) == p.g2(t));
    CHECK(a.log_snr(t) == p.log_snr(t));
    CHECK(a.t_from_log_snr(p.log_snr(t)) == p.t_from_log_snr(p.log_snr(t)));
  }
}
}  // namespace

TEST_CASE("process: any_process forwards every function unchanged", "[unit]") {
  check_any_process(vp_process{0.2, 10.0, 1e-4, 0.9});
  check_any_process(sub_vp_process{});
  check_any_process(ve_process{0.02, 80.0});
  check_any_process(edm_process{});
  check_any_process(rectified_flow_process{});
  CHECK(any_process(sub_vp_process{}).name() == "sub-vp");
  CHECK(any_process(rectified_flow_process{}).name() == "rectified-flow");
  CHECK(any_process(ve_process{}).name() == "ve");
  CHECK(any_process(edm_process{}).name() == "edm");
}

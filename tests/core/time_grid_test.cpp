#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/core/time_grid.hpp>
#include <dlogp/process/any_process.hpp>
#include <dlogp/process/edm.hpp>
#include <dlogp/process/rectified_flow.hpp>
#include <dlogp/process/sub_vp.hpp>
#include <dlogp/process/ve.hpp>
#include <dlogp/process/vp.hpp>
#include <limits>
#include <vector>

using namespace dlogp;

namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();
constexpr grid_kind all_kinds[] = {grid_kind::uniform, grid_kind::edm_rho, grid_kind::log_snr};

template <class P>
void check_shape(const P& p, grid_kind kind, double t0, double t1, long steps) {
  INFO(p.name() << " " << to_string(kind) << " " << t0 << " -> " << t1 << ", " << steps);
  const std::vector<double> t = make_time_grid(p, kind, t0, t1, steps);
  REQUIRE(long(t.size()) == steps + 1);
  CHECK(t.front() == t0);
  CHECK(t.back() == t1);
  const double dir = t1 > t0 ? 1 : -1;
  for (std::size_t i = 1; i < t.size(); ++i) CHECK(dir * (t[i] - t[i - 1]) > 0);
}

template <class P>
void check_shapes(const P& p) {
  for (grid_kind kind : all_kinds)
    for (long steps : {1L, 2L, 7L, 100L}) {
      check_shape(p, kind, p.t_max(), p.t_min(), steps);  // sampling
      check_shape(p, kind, p.t_min(), p.t_max(), steps);  // encoding
    }
}

// Noise level sigma/alpha, the variable of the EDM rho grid.
template <class P>
double level(const P& p, double t) {
  return p.sigma(t) / p.alpha(t);
}

}  // namespace

TEST_CASE("time_grid: endpoints are exact and grids strictly monotone in both directions",
          "[unit]") {
  check_shapes(vp_process{});
  check_shapes(sub_vp_process{});
  check_shapes(ve_process{});
  check_shapes(edm_process{});
  check_shapes(rectified_flow_process{});
  check_shapes(any_process(vp_process{}));
  // Grids may run to t = 0 when the kind allows it (the noise level there is 0).
  check_shape(vp_process{}, grid_kind::uniform, 1.0, 0.0, 50);
  check_shape(vp_process{}, grid_kind::edm_rho, 1.0, 0.0, 50);
  check_shape(edm_process{}, grid_kind::edm_rho, 0.0, 80.0, 50);
  check_shape(rectified_flow_process{}, grid_kind::edm_rho, 0.999, 0.0, 50);
}

TEST_CASE("time_grid: uniform grid has equal steps", "[unit]") {
  const vp_process vp;
  const auto t = make_time_grid(vp, grid_kind::uniform, 1.0, 1e-3, 10);
  for (std::size_t i = 1; i < t.size(); ++i) CHECK(std::abs((t[i - 1] - t[i]) - 0.0999) <= 4 * eps);
}

TEST_CASE("time_grid: edm-rho grid follows the Karras et al. formula", "[unit]") {
  // sigma_i = (smax^(1/rho) + i/N (smin^(1/rho) - smax^(1/rho)))^rho; relative tolerance a few
  // eps times the condition of pow (rho) and of the log/exp round trip through log-SNR.
  const auto formula = [](double smax, double smin, double rho, long N, long i) {
    const double a = std::pow(smax, 1 / rho), b = std::pow(smin, 1 / rho);
    return std::pow(a + double(i) / double(N) * (b - a), rho);
  };
  const edm_process edm;
  for (double rho : {7.0, 3.0, 1.0}) {
    const long N = 18;
    const auto t = make_time_grid(edm, grid_kind::edm_rho, 80.0, 0.002, N, rho);
    // The base a + i/N (b - a) carries an absolute rounding error ~ eps a (cancellation near
    // i = N when rho is small), which pow amplifies by rho relative to the base.
    const double a = std::pow(80.0, 1 / rho);
    for (long i = 0; i <= N; ++i) {
      const double s = formula(80.0, 0.002, rho, N, i);
      CHECK(std::abs(t[std::size_t(i)] / s - 1) <= 64 * eps * (1 + rho * a / std::pow(s, 1 / rho)));
    }
    // Encoding runs through the same points in reverse.
    const auto r = make_time_grid(edm, grid_kind::edm_rho, 0.002, 80.0, N, rho);
    for (long i = 0; i <= N; ++i) CHECK(r[std::size_t(i)] == t[std::size_t(N - i)]);
  }
  // rho = 1 is uniform in sigma, so uniform in t for EDM.
  const auto u = make_time_grid(edm, grid_kind::edm_rho, 80.0, 0.002, 8, 1.0);
  const auto v = make_time_grid(edm, grid_kind::uniform, 80.0, 0.002, 8);
  for (std::size_t i = 0; i < u.size(); ++i) CHECK(std::abs(u[i] - v[i]) <= 64 * eps * 80);
  // VE: the level is sigma itself; VP and rectified flow: sigma/alpha.
  const ve_process ve;
  const vp_process vp;
  const rectified_flow_process rf;
  const long N = 25;
  const auto tv = make_time_grid(ve, grid_kind::edm_rho, 1.0, 1e-5, N);
  const auto tp = make_time_grid(vp, grid_kind::edm_rho, 1.0, 1e-3, N);
  const auto tr = make_time_grid(rf, grid_kind::edm_rho, 0.999, 1e-3, N);
  for (long i = 0; i <= N; ++i) {
    const auto k = std::size_t(i);
    CHECK(std::abs(ve.sigma(tv[k]) / formula(ve.sigma(1.0), ve.sigma(1e-5), 7.0, N, i) - 1) <=
          64 * eps * 10);
    CHECK(std::abs(level(vp, tp[k]) / formula(level(vp, 1.0), level(vp, 1e-3), 7.0, N, i) - 1) <=
          64 * eps * 10);
    CHECK(std::abs(level(rf, tr[k]) / formula(level(rf, 0.999), level(rf, 1e-3), 7.0, N, i) - 1) <=
          64 * eps * 10);
  }
}

TEST_CASE("time_grid: log-snr grid is equally spaced in lambda", "[unit]") {
  // Each point makes one lambda -> t -> lambda round trip: error a few eps (|lambda| + t
  // dlambda/dt), dlambda/dt = -g2/sigma^2 (as in the process round-trip test).
  const auto check = [](const auto& p, double t0, double t1, long N) {
    INFO(p.name());
    const auto t = make_time_grid(p, grid_kind::log_snr, t0, t1, N);
    const double l0 = p.log_snr(t0), l1 = p.log_snr(t1);
    for (long i = 0; i <= N; ++i) {
      const double ti = t[std::size_t(i)], li = l0 + (l1 - l0) * double(i) / double(N);
      CHECK(std::abs(p.log_snr(ti) - li) <=
            16 * eps * (std::abs(li) + ti * p.g2(ti) / p.sigma2(ti)));
    }
  };
  check(vp_process{}, 1.0, 1e-3, 40);
  check(vp_process{}, 1e-3, 1.0, 40);
  check(sub_vp_process{}, 1.0, 1e-3, 40);
  check(ve_process{}, 1.0, 1e-5, 40);
  check(edm_process{}, 80.0, 0.002, 40);
  check(rectified_flow_process{}, 1e-3, 0.999, 40);
  // For EDM log-SNR spacing is geometric in t.
  const auto t = make_time_grid(edm_process{}, grid_kind::log_snr, 80.0, 0.002, 10);
  for (std::size_t i = 1; i < t.size(); ++i)
    CHECK(std::abs(t[i] / t[i - 1] - std::pow(0.002 / 80.0, 0.1)) <= 64 * eps);
}

TEST_CASE("time_grid: grid kinds convert to and from strings", "[unit]") {
  for (grid_kind k : all_kinds) CHECK(grid_kind_from_string(to_string(k)) == k);
  CHECK(to_string(grid_kind::edm_rho) == "edm-rho");
  CHECK(to_string(grid_kind::log_snr) == "log-snr");
  REQUIRE_THROWS_WITH(grid_kind_from_string("edm_rho"),
                      Catch::Contains("[dlogp.invalid_argument] time_grid:"));
  REQUIRE_THROWS_WITH(grid_kind_from_string(""), Catch::Contains("[dlogp.invalid_argument]"));
}

TEST_CASE("time_grid: invalid requests throw invalid_argument", "[unit]") {
  using Catch::Contains;
  const vp_process vp;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const auto id = Contains("[dlogp.invalid_argument] time_grid:");
  for (grid_kind k : all_kinds) {
    REQUIRE_THROWS_WITH(make_time_grid(vp, k, 1.0, 1e-3, 0), id);
    REQUIRE_THROWS_WITH(make_time_grid(vp, k, 1.0, 1e-3, -5), id);
    REQUIRE_THROWS_WITH(make_time_grid(vp, k, 0.5, 0.5, 10), id);
    REQUIRE_THROWS_WITH(make_time_grid(vp, k, nan, 1e-3, 10), id);
    REQUIRE_THROWS_WITH(make_time_grid(vp, k, 1.0, inf, 10), id);
  }
  // log-SNR is +inf at t = 0 for VP.
  REQUIRE_THROWS_WITH(make_time_grid(vp, grid_kind::log_snr, 1.0, 0.0, 10), id);
  REQUIRE_THROWS_WITH(make_time_grid(vp, grid_kind::edm_rho, 1.0, 1e-3, 10, 0.0), id);
  REQUIRE_THROWS_WITH(make_time_grid(vp, grid_kind::edm_rho, 1.0, 1e-3, 10, nan), id);
  // Too many steps for the range: points would coincide.
  REQUIRE_THROWS_WITH(make_time_grid(vp, grid_kind::uniform, 0.5, 0.5 + 1e-14, 1000), id);
}

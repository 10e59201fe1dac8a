// The run entry points at their boundary: dynamics that have a direction in time refuse the
// other one (with the fix in the message), options are checked before any work, thread
// requests never end the process, and the chunk count survives a huge batch_size.
#include <catch2/catch.hpp>
#include <climits>
#include <memory>
#include <string>
#include <thread>

#include <dlogp/core/threads.hpp>
#include <dlogp/dynamics/density_guidance.hpp>
#include <dlogp/dynamics/forward_sde.hpp>
#include <dlogp/dynamics/general.hpp>
#include <dlogp/dynamics/hd_ode.hpp>
#include <dlogp/dynamics/mode_tracking.hpp>
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/error.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/model/any_score_model.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/vp.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>
#include <dlogp/scheme/heun.hpp>

#include "support/oracle.hpp"

using namespace dlogp;
using Catch::Contains;

namespace {

struct fixture {
  vp_process p;
  gaussian_mixture<double, vp_process> m = test::gmm1<double>();
  matrix<double> x = (matrix<double>(1, 3) << -1.0, 0.2, 1.5).finished();
  vector<double> l = vector<double>::Zero(3);
};

/// The HD-ODE drift f x - g^2 s, for general_ode / general_sde.
auto hd_drift(const vp_process& p) {
  return [p](double t, const matrix<double>& X, const matrix<double>& S, matrix<double>& U) {
    U = p.f(t) * X - p.g2(t) * S;
  };
}

/// Runs `run(t_start, t_end)` the wrong way and checks the message names the dynamics and the
/// fix; then the right way, which must run.
template <class Run>
void check_direction(const char* name, bool reverse, Run run) {
  INFO(name);
  const double lo = 1e-3, hi = 1.0;
  const double wrong_start = reverse ? lo : hi, wrong_end = reverse ? hi : lo;
  try {
    run(wrong_start, wrong_end);
    FAIL_CHECK("ran the wrong way");
  } catch (const dlogp::error& e) {
    CHECK(e.id() == "invalid_argument");
    const std::string w = e.what();
    CHECK_THAT(w, Contains(std::string("integrate: ") + name + " runs from "));
    CHECK_THAT(w, Contains("swap them"));
    CHECK(w.find('\n') == std::string::npos);
  }
  CHECK_NOTHROW(run(wrong_end, wrong_start));
}

}  // namespace

TEST_CASE("integrate: dynamics with a direction in time refuse the other one", "[unit]") {
  fixture f;
  const integrate_options o{.grid = {.steps = 20}};
  check_direction("reverse_sde", true, [&](double a, double b) {
    integrate(reverse_sde(f.m, f.p), euler_maruyama{}, f.x, f.l, a, b, o);
  });
  check_direction("forward_sde", false, [&](double a, double b) {
    integrate(forward_sde(f.m, f.p), euler_maruyama{}, f.x, f.l, a, b, o);
  });
  check_direction("hd_ode", true, [&](double a, double b) {
    integrate(hd_ode(f.m, f.p), heun{}, f.x, f.l, a, b, o);
  });
  check_direction("mode_tracking", true, [&](double a, double b) {
    integrate(mode_tracking(f.m, f.p, std::max(a, b)), heun{}, f.x, f.l, a, b, o);
  });
  check_direction("dg_ode", true, [&](double a, double b) {
    integrate(dg_ode(f.m, f.p, {.q = 0.4}), heun{}, f.x, f.l, a, b, o);
  });
  check_direction("dg_sde", true, [&](double a, double b) {
    integrate(dg_sde(f.m, f.p, {.q = 0.4}), euler_maruyama{}, f.x, f.l, a, b, o);
  });
  check_direction("general_sde", true, [&](double a, double b) {
    integrate(general_sde(f.m, f.p, hd_drift(f.p), isotropic_diffusion{[](double) { return 0.1; }}),
              euler_maruyama{}, f.x, f.l, a, b, o);
  });
  // The message a newcomer sees for the reverse SDE run forwards, in full.
  try {
    integrate(reverse_sde(f.m, f.p), euler_maruyama{}, f.x, f.l, 1e-3, 1.0, o);
  } catch (const dlogp::error& e) {
    CHECK(std::string(e.what()) ==
          "[dlogp.invalid_argument] integrate: reverse_sde runs from high noise to low noise: t_end (1) must "
          "be < t_start (0.001); swap them, or use forward_sde to go the other way");
  }
  // The PF-ODE and a general ODE are the same flow both ways (sampling and encoding).
  for (auto [a, b] : {std::pair{1.0, 1e-3}, std::pair{1e-3, 1.0}}) {
    CHECK_NOTHROW(integrate(pf_ode(f.m, f.p), heun{}, f.x, f.l, a, b, o));
    CHECK_NOTHROW(integrate(general_ode(f.m, f.p, hd_drift(f.p)), heun{}, f.x, f.l, a, b, o));
  }
}

TEST_CASE("integrate: batch_size = LONG_MAX runs as one chunk, bit-identical", "[unit]") {
  // (N + bs - 1) / bs overflowed: no chunk ran and every trajectory was reported ok, 0 steps.
  fixture f;
  const auto ref =
      integrate(pf_ode(f.m, f.p), heun{}, f.x, f.l, 1.0, 1e-3, {.grid = {.steps = 50}});
  const auto big = integrate(pf_ode(f.m, f.p), heun{}, f.x, f.l, 1.0, 1e-3,
                             {.grid = {.steps = 50}, .execution = {.batch_size = LONG_MAX}});
  for (long j = 0; j < 3; ++j) {
    CHECK(big.stats[j].steps() == 50);
    CHECK(big.x(0, j) == ref.x(0, j));
    CHECK(big.log_p(j) == ref.log_p(j));
  }
  CHECK(detail::chunk_count(LONG_MAX, LONG_MAX) == 1);
  CHECK(detail::chunk_count(LONG_MAX, 1) == LONG_MAX);
  CHECK(detail::chunk_count(0, 64) == 0);
  CHECK(detail::chunk_count(129, 64) == 3);
}

TEST_CASE("chunks: without a batch_size a call sizes its chunks by the model's cost per call",
          "[unit]") {
  using detail::chunk_size;
  CHECK(chunk_size(4096, {.batch_size = 7, .threads = 2}, 640) == 7);  // explicit wins
  // Models without a fixed cost per call: chunks of 64, however many trajectories.
  CHECK(chunk_size(4096, {.threads = 2}) == 64);
  CHECK(chunk_size(10, {.threads = 2}) == 64);
  // A preference of 640: cut to about four chunks per thread, never below 64.
  CHECK(chunk_size(1L << 20, {.threads = 2}, 640) == 640);
  CHECK(chunk_size(4096, {.threads = 1}, 640) == 640);
  CHECK(chunk_size(100, {.threads = 2}, 640) == 64);
#if DLOGP_HAS_OPENMP
  CHECK(chunk_size(4096, {.threads = 2}, 640) == 512);
  CHECK(chunk_size(1000, {.threads = 2}, 640) == 125);
#endif
  // The mixture: full covariances report D / 2 columns' work per call, the other kinds none;
  // any_score_model passes it through.
  const auto full = std::make_shared<const gaussian_mixture<double, vp_process>>(
      test::random_mixture<double>(64, 3, 5));
  CHECK(full->call_overhead() == 32);
  CHECK(detail::preferred_chunk(*full) == 640);
  CHECK(detail::preferred_chunk(any_score_model(full, "full")) == 640);
  fixture f;
  CHECK(f.m.call_overhead() == 0);
  CHECK(detail::preferred_chunk(f.m) == 64);
  // A chunk's D x n arrays stay within 2^20 values (8 MiB of doubles), but never below 64.
  struct costly {
    long D;
    long dimension() const { return D; }
    long call_overhead() const { return D / 2; }
  };
  CHECK(detail::preferred_chunk(costly{256}) == 2560);
  CHECK(detail::preferred_chunk(costly{1024}) == 1024);
  CHECK(detail::preferred_chunk(costly{1L << 16}) == 64);
  struct absurd {
    long dimension() const { return 2; }
    long call_overhead() const { return LONG_MAX; }
  };
  CHECK(detail::preferred_chunk(absurd{}) == (1L << 19));
}

TEST_CASE("threads: a request beyond what exists runs, with the same bits as 1 thread", "[unit]") {
  // libgomp exits the process when it cannot create a team; the loops ask usable_threads.
  // 600 chunks of one trajectory: 512 threads are really asked for, 100000 are clamped to 600.
  fixture f;
  matrix<double> X(1, 600);
  for (long j = 0; j < 600; ++j) X(0, j) = -3.0 + 0.01 * double(j);
  const vector<double> L = test::exact_log_p(f.m, 1.0, X);
  const auto one = integrate(pf_ode(f.m, f.p), dopri5{}, X, L, 1.0, 1e-3,
                             {.execution = {.batch_size = 1, .threads = 1}});
  for (int threads : {100000, 512}) {
    INFO(threads << " threads");
    const auto many = integrate(pf_ode(f.m, f.p), dopri5{}, X, L, 1.0, 1e-3,
                                {.execution = {.batch_size = 1, .threads = threads}});
    CHECK((many.x.array() == one.x.array()).all());
    CHECK((many.log_p.array() == one.log_p.array()).all());
  }
  // The function itself: never more than asked, at least 1, and all of them up to the hardware.
  CHECK(usable_threads(0) == 1);
  CHECK(usable_threads(1) == 1);
  const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
  CHECK(usable_threads(hw) == hw);
  const int big = usable_threads(4 * hw + 1000);  // probed: creates the threads to find out
  CHECK(big >= 1);
  CHECK(big <= 4 * hw + 1000);
  CHECK(threads_for_chunks(100000, hw, 3) <= 3);
  CHECK(threads_for_chunks(0, hw, 1) == 1);
}

TEST_CASE("integrate: std::bad_alloc leaves as dlogp::error out_of_memory", "[unit]") {
  // A model that cannot allocate: the call fails as a whole, with a stable id.
  struct greedy {
    using scalar_type = double;
    long dimension() const { return 1; }
    void score(double, const matrix<double>&, matrix<double>&) const { throw std::bad_alloc(); }
  };
  const greedy g;
  fixture f;
  for (int threads : {1, 2}) {
    try {
      integrate(pf_ode(g, f.p), heun{}, f.x, f.l, 1.0, 1e-3,
                {.grid = {.steps = 5}, .execution = {.batch_size = 1, .threads = threads}});
      FAIL_CHECK("did not throw");
    } catch (const dlogp::error& e) {
      CHECK(e.id() == "out_of_memory");
      CHECK_THAT(std::string(e.what()), Contains("[dlogp.out_of_memory] integrate: out of memory"));
    }
  }
}

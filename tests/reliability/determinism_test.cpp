// Determinism under load (issue 7, item 5): the same run gives byte-identical results whatever
// the thread count, the batch size, the order in which trajectories are processed and how
// busy the machine is.
//   - dlogp-run as a process: --threads 1, 2 and 4 (more threads than the CI's 2 cores), and
//     two programs at once on the same spec, give byte-identical output apart from
//     "seconds"; permuting x_start permutes the result lines and nothing else;
//   - the library: the same trajectories (same ids) as one batch, in chunks of other sizes, in
//     reversed halves (first_id) and one by one in a shuffled order are bit-identical.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/process/vp.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>
#include <dlogp/scheme/heun.hpp>

#include "reliability/support.hpp"
#include "support/oracle.hpp"

using namespace dlogp;

namespace {

/// Runs the same trajectories (ids first_id .. first_id + N - 1) in several arrangements and
/// checks every column bit for bit against the single-batch, single-thread run.
template <class Dyn, class Scheme>
void check_arrangements(const Dyn& dyn, Scheme scheme, const matrix<double>& X, const vector<double>& L, double t0,
                        double t1, integrate_options opt) {
  const long N = X.cols();
  opt.execution.threads = 1;
  opt.execution.batch_size = N;
  const auto ref = integrate(dyn, scheme, X, L, t0, t1, opt);
  auto same_column = [&](const integration_result<double>& r, long col, long j) {
    INFO("trajectory " << j);
    CHECK((r.x.col(col).array() == ref.x.col(j).array()).all());
    CHECK(r.log_p(col) == ref.log_p(j));
    CHECK(r.stats[std::size_t(col)].steps() == ref.stats[std::size_t(j)].steps());
    CHECK(r.stats[std::size_t(col)].score_evals == ref.stats[std::size_t(j)].score_evals);
    CHECK(r.stats[std::size_t(col)].status == ref.stats[std::size_t(j)].status);
  };
  // Other chunk sizes and thread counts (4 threads on a 2-core machine: oversubscribed).
  for (long bs : {1L, 7L, 64L})
    for (int threads : {1, 2, 4}) {
      INFO("batch_size " << bs << ", threads " << threads);
      integrate_options o = opt;
      o.execution.batch_size = bs;
      o.execution.threads = threads;
      const auto r = integrate(dyn, scheme, X, L, t0, t1, o);
      for (long j = 0; j < N; ++j) same_column(r, j, j);
    }
  // Reversed halves: the second half first, each with its own first_id.
  const long h = N / 2;
  integrate_options o2 = opt;
  o2.first_id = opt.first_id + std::uint64_t(h);
  const auto second = integrate(dyn, scheme, X.rightCols(N - h).eval(), L.tail(N - h).eval(), t0, t1, o2);
  const auto first = integrate(dyn, scheme, X.leftCols(h).eval(), L.head(h).eval(), t0, t1, opt);
  for (long j = 0; j < h; ++j) same_column(first, j, j);
  for (long j = h; j < N; ++j) same_column(second, j - h, j);
  // One by one in a shuffled order (a fixed permutation), 2 threads inside each call.
  std::vector<long> order(static_cast<std::size_t>(N));
  std::iota(order.begin(), order.end(), 0L);
  for (std::size_t i = 0; i < order.size(); ++i) std::swap(order[i], order[(i * 7 + 3) % order.size()]);
  for (long j : order) {
    integrate_options o1 = opt;
    o1.first_id = opt.first_id + std::uint64_t(j);
    o1.execution.threads = 2;
    const auto r = integrate(dyn, scheme, X.col(j).eval(), L.segment(j, 1).eval(), t0, t1, o1);
    same_column(r, 0, j);
  }
}

}  // namespace

TEST_CASE("determinism: trajectories are bit-identical across batch sizes, threads and batch orders", "[repro]") {
  const vp_process p;
  const auto m = test::gmm2<double>(p);
  const long N = 24;
  matrix<double> XT(2, N);
  m.sample(1.0, 21, 0, XT);
  const vector<double> LT = test::exact_log_p(m, 1.0, XT);
  SECTION("augmented reverse SDE (Brownian increments keyed by trajectory)") {
    check_arrangements(reverse_sde(m, p), euler_maruyama{}, XT, LT, 1.0, 1e-3,
                       {.seed = 5, .grid = {.steps = 200}});
  }
  SECTION("PF-ODE with Hutchinson probes (keyed by trajectory), Heun") {
    check_arrangements(pf_ode(m, p, {.kind = divergence_kind::hutchinson, .probes = 2}), heun{}, XT, LT, 1.0, 1e-3,
                       {.seed = 6, .grid = {.steps = 100}});
  }
  SECTION("PF-ODE, dopri5 (a step size per trajectory)") {
    check_arrangements(pf_ode(m, p), dopri5{}, XT, LT, 1.0, 1e-3,
                       {.tolerance = {.rtol = 1e-8, .atol = 1e-10}});
  }
  SECTION("the same with ids starting at 1000") {
    check_arrangements(reverse_sde(m, p), euler_maruyama{}, XT, LT, 1.0, 1e-3,
                       {.seed = 5, .grid = {.steps = 100}, .first_id = 1000});
  }
}

#ifdef DLOGP_RUN_EXE

namespace {

const std::string gmm2_model =
    R"("model": {"type": "gmm", "weights": [0.4, 0.35, 0.25], "means": [[-2, 0], [2, 1], [0, -2.5]],
        "covariances": [[[0.5, 0.2], [0.2, 0.3]], [[0.1, 0], [0, 0.1]], [[0.3, -0.1], [-0.1, 0.6]]]}, "process": {"type": "vp"})";

/// The result lines of an output document (one per trajectory, in order), without the comma
/// that separates them (the last one has none).
std::vector<std::string> result_lines(const std::string& out) {
  std::vector<std::string> v;
  for (auto l : test::lines_of(out))
    if (l.rfind("    {\"x_start\":", 0) == 0) {
      if (l.back() == ',') l.pop_back();
      v.push_back(l);
    }
  return v;
}

/// Runs the programs concurrently (the machine under load) and returns their results.
std::vector<test::process_result> run_together(const std::vector<std::vector<std::string>>& args,
                                               const std::string& spec, const std::vector<test::fs::path>& dirs) {
  std::vector<test::process_result> out(args.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < args.size(); ++i)
    threads.emplace_back([&, i] { out[i] = test::run_program(DLOGP_RUN_EXE, args[i], spec, dirs[i]); });
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace

TEST_CASE("determinism: dlogp-run output is byte-identical with 1, 2 and 4 threads, also under load", "[cli][repro]") {
  const test::fs::path dir = test::scratch_dir("threads");
  std::vector<test::fs::path> dirs;
  for (int i = 0; i < 3; ++i) {
    dirs.push_back(dir / std::to_string(i));
    test::fs::create_directories(dirs.back());
  }
  const std::vector<std::string> specs = {
      "{" + gmm2_model + R"(, "method": "reverse-sde", "n": 96, "seed": 4, "solver": {"steps": 200}, "record": {"every": 50}})",
      "{" + gmm2_model + R"(, "method": "pf-ode", "n": 48, "seed": 5, "solver": {"rtol": 1e-7, "atol": 1e-9}})",
      "{" + gmm2_model +
          R"(, "method": "pf-ode-encode", "n": 48, "seed": 6, "divergence": {"type": "hutchinson", "probes": 3}, "solver": {"scheme": "heun", "steps": 100}})",
      "{" + gmm2_model + R"(, "method": "forward-sde", "n": 64, "seed": 7, "solver": {"steps": 200}})",
  };
  for (const auto& spec : specs) {
    INFO(spec);
    const auto one = test::run_program(DLOGP_RUN_EXE, {"-", "--threads", "1"}, spec, dir);
    REQUIRE(one.code == 0);
    const std::string expected = test::without_seconds(one.out);
    CHECK(expected != one.out);  // there was a "seconds" field to blank
    // 2 and 4 threads, each while two other runs of the program compete for the cores.
    const auto runs = run_together({{"-", "--threads", "2"}, {"-", "--threads", "4"}, {"-", "--threads", "2"}}, spec, dirs);
    for (const auto& r : runs) {
      CHECK(r.code == 0);
      CHECK(test::without_seconds(r.out) == expected);
    }
  }
  test::fs::remove_all(dir);
}

TEST_CASE("determinism: permuting x_start permutes dlogp-run's results and nothing else", "[cli][repro]") {
  // Deterministic methods (no noise, no probes: those are keyed by the trajectory's index, so
  // they move with the index, not with the point). The summary sums in trajectory order, so
  // only its rounding may differ; n and score_evals must be equal.
  const test::fs::path dir = test::scratch_dir("permute");
  std::vector<std::string> points = {"[0.3, 0.2]", "[-1.5, 0.4]", "[2.1, 0.9]", "[0.0, -2.4]",
                                     "[-2.2, -0.1]", "[1.0, 1.0]", "[0.5, -1.0]", "[3.0, 0.0]"};
  const std::vector<std::size_t> perm = {5, 2, 7, 0, 3, 6, 1, 4};
  auto x_start = [&](const std::vector<std::size_t>& order) {
    std::string s = "[";
    for (std::size_t i = 0; i < order.size(); ++i) s += (i ? ", " : "") + points[order[i]];
    return s + "]";
  };
  std::vector<std::size_t> identity(points.size());
  std::iota(identity.begin(), identity.end(), std::size_t(0));
  for (const std::string& method_part :
       {std::string(R"("method": "pf-ode-encode", "t_start": 0.01, "solver": {"rtol": 1e-8, "atol": 1e-10})"),
        std::string(R"("method": "pf-ode", "t_start": 0.5, "solver": {"scheme": "rk4", "steps": 64}, "record": {"every": 16})")}) {
    INFO(method_part);
    const std::string a_spec = "{" + gmm2_model + ", " + method_part + R"(, "x_start": )" + x_start(identity) + "}";
    const std::string b_spec = "{" + gmm2_model + ", " + method_part + R"(, "x_start": )" + x_start(perm) + "}";
    const auto a = test::run_program(DLOGP_RUN_EXE, {"-", "--threads", "2"}, a_spec, dir);
    const auto b = test::run_program(DLOGP_RUN_EXE, {"-", "--threads", "1"}, b_spec, dir);
    REQUIRE(a.code == 0);
    REQUIRE(b.code == 0);
    const auto ra = result_lines(a.out), rb = result_lines(b.out);
    REQUIRE(ra.size() == points.size());
    REQUIRE(rb.size() == points.size());
    for (std::size_t i = 0; i < perm.size(); ++i) CHECK(rb[i] == ra[perm[i]]);
    const auto ja = nlohmann::json::parse(a.out)["summary"], jb = nlohmann::json::parse(b.out)["summary"];
    CHECK(ja["n"] == jb["n"]);
    CHECK(ja["score_evals"] == jb["score_evals"]);
    // A mean of n numbers summed in another order: at most n eps of the mean magnitude apart.
    const double ma = ja["mean_logp"].get<double>(), mb = jb["mean_logp"].get<double>();
    CHECK(std::abs(ma - mb) <= double(points.size()) * 2.2e-16 * (1 + std::abs(ma)));
  }
  test::fs::remove_all(dir);
}

#endif  // DLOGP_RUN_EXE

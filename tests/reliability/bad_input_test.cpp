// The bad-input catalogue (issue 7, item 1): table-driven, one row per bad input, each with the
// expected stable error id and a fragment of the message.
//   - the library API: every row throws a dlogp::error with that id, its what() starts with
//     "[dlogp.<id>] " and is one line;
//   - the dlogp-run program, run as a real process on the spec text: every row exits with
//     status 2, prints NOTHING on stdout, writes exactly one stderr line that starts with
//     "[dlogp.spec] <JSON pointer>: " (or "[dlogp.cli] <option>: " for the command line) and
//     contains the fragment, and leaves no --output file behind. A crash (signal) or any
//     other exit status fails the row.
// The in-process validator has its own, finer table in tests/cli/spec_test.cpp; this one is
// what a user sees from the installed program.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <dlogp/core/time_grid.hpp>
#include <dlogp/divergence/divergence.hpp>
#include <dlogp/dynamics/density_guidance.hpp>
#include <dlogp/dynamics/forward_sde.hpp>
#include <dlogp/dynamics/hd_ode.hpp>
#include <dlogp/dynamics/mode_tracking.hpp>
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/error.hpp>
#include <dlogp/integrate.hpp>
#include <dlogp/io/gmm_file.hpp>
#include <dlogp/io/mlp_weights.hpp>
#include <dlogp/io/npy.hpp>
#include <dlogp/model/check_score_model.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/edm.hpp>
#include <dlogp/process/prior.hpp>
#include <dlogp/process/rectified_flow.hpp>
#include <dlogp/process/ve.hpp>
#include <dlogp/process/vp.hpp>
#include <dlogp/sampler/langevin.hpp>
#include <dlogp/scheme/dopri5.hpp>
#include <dlogp/scheme/euler.hpp>
#include <dlogp/scheme/euler_maruyama.hpp>

#include "reliability/support.hpp"
#include "support/oracle.hpp"

using namespace dlogp;

namespace {

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();
constexpr double infinity = std::numeric_limits<double>::infinity();

using gmm = gaussian_mixture<double, vp_process>;

matrix<double> row(std::initializer_list<double> v) {
  matrix<double> m(1, long(v.size()));
  long i = 0;
  for (double x : v) m(0, i++) = x;
  return m;
}

matrix<double> mat2(double a, double b, double c, double d) {
  matrix<double> m(2, 2);
  m << a, b, c, d;
  return m;
}

gmm iso(std::vector<double> w, matrix<double> mu, std::vector<double> var) {
  return gmm::isotropic(vp_process{}, std::move(w), std::move(mu), std::move(var));
}

struct library_case {
  const char* what;
  const char* id;        ///< expected dlogp::error::id()
  const char* fragment;  ///< expected part of what()
  std::function<void()> call;
};

/// A small valid run: GMM1 under VP, PF-ODE, 3 trajectories.
struct run_fixture {
  gmm model = test::gmm1<double>();
  pf_ode<gmm, vp_process> dyn{model, vp_process{}};
  matrix<double> x = row({-1.0, 0.2, 1.5});
  vector<double> l = vector<double>::Zero(3);
};

void write_bytes(const test::fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

/// A safetensors file: 8-byte little-endian header length, the JSON header, the payload.
std::string safetensors(const std::string& header, const std::string& payload = "") {
  std::string s(8, '\0');
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) s[std::size_t(i)] = char((n >> (8 * i)) & 0xFF);
  return s + header + payload;
}

/// A version-1.0 .npy file with this header dict and data (the header is taken as is).
std::string npy(const std::string& dict, const std::string& data) {
  const std::string header = dict + "\n";
  return std::string("\x93NUMPY\x01\x00", 8) + char(header.size() & 0xFF) + char(header.size() >> 8) +
         header + data;
}

}  // namespace

TEST_CASE("reliability: bad inputs to the library API throw the documented error", "[unit]") {
  const test::fs::path dir = test::scratch_dir("library");
  const std::string missing = (dir / "missing.safetensors").string();
  const std::string garbage = (dir / "garbage.safetensors").string();
  const std::string overflow = (dir / "overflow.safetensors").string();
  const std::string float_shape = (dir / "float_shape.safetensors").string();
  write_bytes(garbage, "this is not a weight file at all");
  // shape [2^62, 4]: 2^64 elements wrap to 0 in 64-bit arithmetic, matching data_offsets [0, 0]
  write_bytes(overflow, safetensors(R"({"w": {"dtype": "F64", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}})"));
  write_bytes(float_shape, safetensors(R"({"w": {"dtype": "F64", "shape": [1e300], "data_offsets": [0, 0]}})"));
  const std::string short_file = (dir / "short.safetensors").string();
  const std::string wide_embedding = (dir / "wide_embedding.safetensors").string();
  write_bytes(short_file, safetensors(R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})").substr(0, 20));
  write_bytes(wide_embedding,
              safetensors(R"({"__metadata__": {"dlogp": "{\"format\": \"dlogp-mlp\", \"version\": 1, \"time_embedding\": {\"dim\": 1073741824, \"scale\": 1000, \"max_period\": 10000}}"}})"));
  const std::string big_endian = (dir / "big_endian.npy").string();
  const std::string fortran = (dir / "fortran.npy").string();
  const std::string lying = (dir / "lying.npy").string();
  write_bytes(big_endian, npy("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", std::string(16, '\0')));
  write_bytes(fortran, npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 1), }", std::string(16, '\0')));
  write_bytes(lying, npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }", std::string(16, '\0')));
  const std::string two_forms = (dir / "two_forms.json").string();
  const std::string asymmetric = (dir / "asymmetric.json").string();
  write_bytes(two_forms, R"({"weights": [1], "means": [[0]], "variances": [1], "diagonals": [[1]]})");
  write_bytes(asymmetric, R"({"weights": [1], "means": [[0, 0]], "covariances": [[[1, 0.5], [0.4, 1]]]})");

  const std::vector<library_case> cases = {
      // ---- the mixture (gaussian_mixture)
      {"empty mixture", "invalid_argument", "needs at least one component",
       [] { iso({}, matrix<double>(1, 0), {}); }},
      {"negative weight", "invalid_argument", "weight 1 is negative",
       [] { iso({0.3, -0.5, 0.2}, row({-2, 0, 2.5}), {0.16, 0.09, 0.25}); }},
      {"zero weight", "invalid_argument", "weight 1 is zero",
       [] { iso({0.3, 0.0, 0.2}, row({-2, 0, 2.5}), {0.16, 0.09, 0.25}); }},
      {"NaN weight", "invalid_argument", "weight 0 is not finite",
       [] { iso({not_a_number, 0.5, 0.2}, row({-2, 0, 2.5}), {0.16, 0.09, 0.25}); }},
      {"infinite weight", "invalid_argument", "weight 2 is not finite",
       [] { iso({0.3, 0.5, infinity}, row({-2, 0, 2.5}), {0.16, 0.09, 0.25}); }},
      {"weights whose sum overflows", "invalid_argument", "do not sum to a finite positive number",
       [] { iso({1e308, 1e308, 1e308}, row({-2, 0, 2.5}), {0.16, 0.09, 0.25}); }},
      {"fewer means than weights", "dimension_mismatch", "number of means",
       [] { iso({0.3, 0.5, 0.2}, row({-2, 0}), {0.16, 0.09, 0.25}); }},
      {"means of dimension 0", "invalid_argument", "dimension must be >= 1",
       [] { iso({1.0}, matrix<double>(0, 1), {1.0}); }},
      {"NaN in a mean", "invalid_argument", "mean 1 is not finite",
       [] { iso({0.3, 0.5, 0.2}, row({-2, not_a_number, 2.5}), {0.16, 0.09, 0.25}); }},
      {"fewer variances than weights", "dimension_mismatch", "number of variances",
       [] { iso({0.3, 0.5, 0.2}, row({-2, 0, 2.5}), {0.16, 0.09}); }},
      {"zero variance", "invalid_argument", "variance 1 is not finite and positive",
       [] { iso({0.3, 0.5, 0.2}, row({-2, 0, 2.5}), {0.16, 0.0, 0.25}); }},
      {"NaN variance", "invalid_argument", "variance 2 is not finite and positive",
       [] { iso({0.3, 0.5, 0.2}, row({-2, 0, 2.5}), {0.16, 0.09, not_a_number}); }},
      {"negative diagonal entry", "invalid_argument", "diagonal entry 1 of component 0",
       [] {
         matrix<double> diag(2, 1);
         diag << 1.0, -1.0;
         gmm::diagonal(vp_process{}, {1.0}, matrix<double>::Zero(2, 1), diag);
       }},
      {"covariance count", "dimension_mismatch", "number of covariances",
       [] { gmm(vp_process{}, {0.5, 0.5}, matrix<double>::Zero(2, 2), {mat2(1, 0, 0, 1)}); }},
      {"covariance of the wrong size", "dimension_mismatch", "covariance 0 rows",
       [] { gmm(vp_process{}, {1.0}, matrix<double>::Zero(2, 1), {matrix<double>::Identity(3, 3)}); }},
      {"non-symmetric covariance", "invalid_argument", "covariance 0 is not symmetric",
       [] { gmm(vp_process{}, {1.0}, matrix<double>::Zero(2, 1), {mat2(1, 0.5, 0, 1)}); }},
      {"indefinite covariance", "invalid_argument", "covariance 1 is not positive definite",
       [] { gmm(vp_process{}, {0.5, 0.5}, matrix<double>::Zero(2, 2), {mat2(1, 0, 0, 1), mat2(1, 2, 2, 1)}); }},
      {"NaN in a covariance", "invalid_argument", "covariance 0 is not finite",
       [] { gmm(vp_process{}, {1.0}, matrix<double>::Zero(2, 1), {mat2(1, 0, 0, not_a_number)}); }},
      {"score of the wrong dimension", "dimension_mismatch", "gaussian_mixture: input rows",
       [] {
         matrix<double> S;
         test::gmm1<double>().score(0.5, matrix<double>::Zero(2, 1), S);
       }},
      {"posterior with s >= t", "invalid_argument", "posterior needs 0 <= s < t",
       [] { (void)test::gmm1<double>().posterior(0.5, 0.3, vector<double>::Zero(1)); }},
      // ---- processes
      {"VP beta_min zero", "invalid_argument", "vp_process: need 0 < beta_min <= beta_max",
       [] { vp_process(0.0, 20.0); }},
      {"VP t_min above t_max", "invalid_argument", "vp_process: need 0 <= t_min < t_max",
       [] { vp_process(0.1, 20.0, 0.5, 0.4); }},
      {"VP NaN t_max", "invalid_argument", "vp_process: need 0 <= t_min < t_max",
       [] { vp_process(0.1, 20.0, 1e-3, not_a_number); }},
      {"VE sigma_max below sigma_min", "invalid_argument", "ve_process",
       [] { ve_process(5.0, 1.0); }},
      {"EDM negative t_min", "invalid_argument", "edm_process", [] { edm_process(-0.1, 80.0); }},
      {"rectified flow reaching t = 1", "invalid_argument", "rectified_flow",
       [] { rectified_flow_process(1e-3, 1.0); }},
      {"prior at sigma = 0", "invalid_argument", "need sigma(t)^2 > 0",
       [] {
         vector<double> out;
         const matrix<double> x = matrix<double>::Zero(1, 1);
         prior_log_density(vp_process(0.1, 20.0, 0.0, 1.0), 0.0, x, out);
       }},
      // ---- the driver (integrate)
      {"x_start of the wrong dimension", "dimension_mismatch", "integrate: x_start rows",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, matrix<double>::Zero(2, 3), f.l, 1.0, 1e-3);
       }},
      {"log_p of the wrong size", "dimension_mismatch", "log_p size vs number of trajectories",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, f.x, vector<double>::Zero(2), 1.0, 1e-3);
       }},
      {"t_start equal to t_end", "invalid_argument", "integrate: t_start equals t_end",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, f.x, f.l, 0.5, 0.5);
       }},
      {"t_start above the process range", "invalid_argument", "outside the process range",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, f.x, f.l, 2.0, 1e-3);
       }},
      {"t_end below the process range", "invalid_argument", "outside the process range",
       [] {
         run_fixture f;
         integrate(f.dyn, dopri5{}, f.x, f.l, 1.0, 1e-5);
       }},
      {"NaN time", "invalid_argument", "t_start and t_end must be finite",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, f.x, f.l, not_a_number, 1e-3);
       }},
      {"steps = 0", "invalid_argument", "steps must be >= 1 (0)",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, f.x, f.l, 1.0, 1e-3, {.grid = {.steps = 0}});
       }},
      {"negative steps", "invalid_argument", "steps must be >= 1 (-5)",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, f.x, f.l, 1.0, 1e-3, {.grid = {.steps = -5}});
       }},
      {"explicit grid not from t_start to t_end", "invalid_argument", "explicit times must run from t_start to t_end",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, f.x, f.l, 1.0, 1e-3, {.grid = {.times = {1.0, 0.5}}});
       }},
      {"rtol = 0", "invalid_argument", "need rtol > 0 and atol >= 0",
       [] {
         run_fixture f;
         integrate(f.dyn, dopri5{}, f.x, f.l, 1.0, 1e-3, {.tolerance = {.rtol = 0}});
       }},
      {"NaN atol", "invalid_argument", "need rtol > 0 and atol >= 0",
       [] {
         run_fixture f;
         integrate(f.dyn, dopri5{}, f.x, f.l, 1.0, 1e-3, {.tolerance = {.atol = not_a_number}});
       }},
      {"max_steps = 0", "invalid_argument", "max_steps must be >= 1",
       [] {
         run_fixture f;
         integrate(f.dyn, dopri5{}, f.x, f.l, 1.0, 1e-3, {.tolerance = {.max_steps = 0}});
       }},
      {"max_steps beyond the step counters", "invalid_argument", "max_steps must be <= 2147483647",
       [] {
         run_fixture f;
         integrate(f.dyn, dopri5{}, f.x, f.l, 1.0, 1e-3, {.tolerance = {.max_steps = 1L << 31}});
       }},
      {"Langevin moves beyond the step counters", "invalid_argument", "steps must be in [0, 2147483647]",
       [] {
         run_fixture f;
         langevin(f.model, 0.5, f.x, f.l, {.steps = 1L << 31});
       }},
      {"annealed Langevin moves beyond the step counters", "invalid_argument",
       "levels * steps_per_level must be <= 2147483647",
       [] {
         run_fixture f;
         annealed_langevin(f.model, vp_process{}, f.x, f.l, {.levels = 3, .steps_per_level = 1L << 30});
       }},
      {"negative batch_size", "invalid_argument", "batch_size must be >= 0",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, f.x, f.l, 1.0, 1e-3, {.execution = {.batch_size = -1}});
       }},
      {"negative thread count", "invalid_argument", "threads must be >= 0",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, f.x, f.l, 1.0, 1e-3, {.execution = {.threads = -1}});
       }},
      {"explicit grid going back", "invalid_argument", "explicit times must be strictly decreasing",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, f.x, f.l, 1.0, 1e-3, {.grid = {.times = {1.0, 0.5, 0.7, 1e-3}}});
       }},
      {"explicit grid with a repeated time", "invalid_argument", "explicit times must be strictly decreasing",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, f.x, f.l, 1.0, 1e-3, {.grid = {.times = {1.0, 0.5, 0.5, 1e-3}}});
       }},
      {"explicit grid with a NaN time", "invalid_argument", "explicit time 1 is not finite",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, f.x, f.l, 1.0, 1e-3,
                   {.grid = {.times = {1.0, not_a_number, 1e-3}}});
       }},
      {"steps = 2^40", "invalid_argument", "steps must be <= 1000000000 (1099511627776)",
       [] {
         run_fixture f;
         integrate(f.dyn, euler{}, f.x, f.l, 1.0, 1e-3, {.grid = {.steps = 1L << 40}});
       }},
      {"grid of 2^40 steps", "invalid_argument", "time_grid: steps must be <= 1000000000",
       [] { (void)make_time_grid(vp_process{}, grid_kind::uniform, 1.0, 1e-3, 1L << 40); }},
      {"rtol = inf", "invalid_argument", "need rtol > 0 and atol >= 0, both finite (rtol = inf",
       [] {
         run_fixture f;
         integrate(f.dyn, dopri5{}, f.x, f.l, 1.0, 1e-3, {.tolerance = {.rtol = infinity}});
       }},
      {"atol = inf", "invalid_argument", "need rtol > 0 and atol >= 0, both finite",
       [] {
         run_fixture f;
         integrate(f.dyn, dopri5{}, f.x, f.l, 1.0, 1e-3, {.tolerance = {.atol = infinity}});
       }},
      {"NaN initial_step", "invalid_argument", "initial_step must be finite and >= 0 (nan)",
       [] {
         run_fixture f;
         integrate(f.dyn, dopri5{}, f.x, f.l, 1.0, 1e-3,
                   {.tolerance = {.initial_step = not_a_number}});
       }},
      {"negative initial_step", "invalid_argument", "initial_step must be finite and >= 0 (-0.1",
       [] {
         run_fixture f;
         integrate(f.dyn, dopri5{}, f.x, f.l, 1.0, 1e-3, {.tolerance = {.initial_step = -0.1}});
       }},
      {"reverse SDE run forwards", "invalid_argument",
       "reverse_sde runs from high noise to low noise: t_end (1) must be < t_start (0.001); swap them",
       [] {
         const auto m = test::gmm1<double>();
         integrate(reverse_sde(m, vp_process{}), euler_maruyama{}, row({0.5}), vector<double>::Zero(1), 1e-3, 1.0);
       }},
      {"forward SDE run backwards", "invalid_argument",
       "forward_sde runs from low noise to high noise: t_end (0.001) must be > t_start (1); swap them",
       [] {
         const auto m = test::gmm1<double>();
         integrate(forward_sde(m, vp_process{}), euler_maruyama{}, row({0.5}), vector<double>::Zero(1), 1.0, 1e-3);
       }},
      {"HD-ODE run forwards", "invalid_argument", "hd_ode runs from high noise to low noise",
       [] {
         const auto m = test::gmm1<double>();
         integrate(hd_ode(m, vp_process{}), euler{}, row({0.5}), vector<double>::Zero(1), 1e-3, 1.0);
       }},
      {"mode tracking run past its anchor time", "invalid_argument", "is after the anchor time 0.5",
       [] {
         const auto m = test::gmm1<double>();
         integrate(mode_tracking(m, vp_process{}, 0.5), euler{}, row({0.5}), vector<double>::Zero(1), 0.8, 0.1);
       }},
      {"a model that cannot allocate", "out_of_memory", "integrate: out of memory",
       [] {
         struct greedy {
           using scalar_type = double;
           long dimension() const { return 1; }
           void score(double, const matrix<double>&, matrix<double>&) const { throw std::bad_alloc(); }
         };
         const greedy g;
         integrate(pf_ode(g, vp_process{}), euler{}, row({0.5}), vector<double>::Zero(1), 1.0, 1e-3,
                   {.grid = {.steps = 3}});
       }},
      {"check_score_model with a NaN point", "invalid_argument", "check_score_model: point 0 is not finite",
       [] { (void)check_score_model(test::gmm1<double>(), vp_process{}, row({not_a_number})); }},
      {"log-SNR grid down to t = 0", "invalid_argument", "time_grid",
       [] { (void)make_time_grid(vp_process(0.1, 20.0, 0.0, 1.0), grid_kind::log_snr, 1.0, 0.0, 10); }},
      // ---- divergence and density guidance
      {"Hutchinson with 0 probes", "invalid_argument", "probes must be >= 1 (0)",
       [] {
         const auto m = test::gmm1<double>();
         pf_ode<gmm, vp_process>(m, vp_process{}, {.kind = divergence_kind::hutchinson, .probes = 0});
       }},
      {"DG-ODE with q = 1", "invalid_argument", "q must be in (0, 1)",
       [] {
         const auto m = test::gmm1<double>();
         dg_ode<gmm, vp_process>(m, vp_process{}, {.q = 1.0});
       }},
      {"DG-ODE with q = 0", "invalid_argument", "q must be in (0, 1)",
       [] {
         const auto m = test::gmm1<double>();
         dg_ode<gmm, vp_process>(m, vp_process{}, {.q = 0.0});
       }},
      {"DG-ODE with NaN q", "invalid_argument", "q must be in (0, 1)",
       [] {
         const auto m = test::gmm1<double>();
         dg_ode<gmm, vp_process>(m, vp_process{}, {.q = not_a_number});
       }},
      // ---- weight files
      {"weight file that does not exist", "io_error", "cannot open file",
       [&] { (void)read_tensor_file(missing); }},
      {"weight file that is not safetensors", "io_error", "read_tensor_file",
       [&] { (void)read_tensor_file(garbage); }},
      // Regression rows (found by crafting inputs for fuzz/weights_fuzzer; fixed in
      // read_tensor_file): an element count that overflows 64 bits used to wrap to the byte
      // count of data_offsets [0, 0] and be read out of bounds; a non-integer extent (1e300)
      // used to be cast to long (undefined behaviour).
      {"weight file whose shape overflows", "io_error", "shape",
       [&] { (void)read_tensor_file(overflow); }},
      {"weight file with a non-integer extent", "io_error", "shape",
       [&] { (void)read_tensor_file(float_shape); }},
      // Resource limits: sizes a file declares are checked against its real size.
      {"weight file that is a directory", "io_error", "is a directory",
       [&] { (void)read_tensor_file(dir.string()); }},
      {"weight file that is a device", "io_error", "not a regular file",
       [&] { (void)read_tensor_file("/dev/zero"); }},
      {"weight file whose header is longer than the file", "io_error", "larger than the file",
       [&] { (void)read_tensor_file(short_file); }},
      {"weight file declaring a 2^30-wide time embedding", "invalid_argument", "exceeds the limit of 65536",
       [&] { (void)load_mlp<double>(wide_embedding); }},
      // ---- .npy arrays
      {".npy that does not exist", "io_error", "cannot open file", [&] { (void)read_npy(missing); }},
      {".npy with big-endian data", "io_error", "big-endian dtype '>f8'", [&] { (void)read_npy(big_endian); }},
      {".npy in Fortran order", "io_error", "Fortran order", [&] { (void)read_npy(fortran); }},
      {".npy whose shape claims more data than the file holds", "io_error", "more elements than the file has bytes",
       [&] { (void)read_npy(lying); }},
      // ---- Gaussian-mixture files
      {"mixture file with two covariance forms", "io_error", "more than one of the keys",
       [&] { (void)load_gaussian_mixture<double>(two_forms, vp_process{}); }},
      {"mixture file with an asymmetric covariance", "invalid_argument", "covariance 0 is not symmetric",
       [&] { (void)load_gaussian_mixture<double>(asymmetric, vp_process{}); }},
  };
  CHECK(cases.size() >= 40);
  for (const auto& c : cases) {
    INFO(c.what);
    bool threw = false;
    try {
      c.call();
    } catch (const dlogp::error& e) {
      threw = true;
      const std::string w = e.what();
      CHECK(e.id() == c.id);
      CHECK(w.rfind(std::string("[dlogp.") + c.id + "] ", 0) == 0);
      CHECK_THAT(w, Catch::Contains(c.fragment));
      CHECK(w.find('\n') == std::string::npos);
    } catch (const std::exception& e) {
      threw = true;
      FAIL_CHECK("threw a std::exception that is not a dlogp::error: " << e.what());
    }
    CHECK(threw);
  }
  test::fs::remove_all(dir);
}

#ifdef DLOGP_RUN_EXE

namespace {

/// GMM1 under VP with the PF-ODE: the valid spec every runner row starts from.
const std::string gmm1_model =
    R"("model": {"type": "gmm", "weights": [0.3, 0.5, 0.2], "means": [[-2], [0], [2.5]], "variances": [0.16, 0.09, 0.25]})";
const std::string gmm2_means = R"("means": [[0, 0], [1, 1]])";

/// {model, "process": {"type": "vp"}, "method": "pf-ode", rest}
std::string spec(const std::string& rest) {
  return "{" + gmm1_model + R"(, "process": {"type": "vp"}, "method": "pf-ode")" + (rest.empty() ? "" : ", " + rest) +
         "}";
}
/// {model, rest} for rows that replace the process or the method.
std::string spec_model(const std::string& rest) { return "{" + gmm1_model + ", " + rest + "}"; }
/// A 2-D model with the given covariance part, VP, PF-ODE.
std::string spec_2d(const std::string& covariance_part) {
  return R"({"model": {"type": "gmm", "weights": [0.5, 0.5], )" + gmm2_means + ", " + covariance_part +
         R"(}, "process": {"type": "vp"}, "method": "pf-ode"})";
}

struct runner_case {
  const char* what;
  std::string text;      ///< the spec (stdin)
  const char* pointer;   ///< expected JSON pointer
  const char* fragment;  ///< expected part of the message
};

/// The methods this build of dlogp-run implements, from its --help ("Methods in this build:").
std::vector<std::string> built_methods(const test::fs::path& dir) {
  const auto h = test::run_program(DLOGP_RUN_EXE, {"--help"}, "", dir);
  std::vector<std::string> names;
  bool in_list = false;
  for (const auto& l : test::lines_of(h.out)) {
    if (l.rfind("Methods in this build:", 0) == 0) {
      in_list = true;
      continue;
    }
    if (in_list) {
      if (l.rfind("  ", 0) != 0) break;
      const auto b = l.find_first_not_of(' '), e = l.find(' ', b);
      names.push_back(l.substr(b, e - b));
    }
  }
  return names;
}

}  // namespace

TEST_CASE("reliability: bad specs make dlogp-run exit 2 with one dlogp.spec error line and no output", "[cli]") {
  const test::fs::path dir = test::scratch_dir("runner");
  const auto built = built_methods(dir);
  REQUIRE(!built.empty());

  std::vector<runner_case> cases = {
      // ---- malformed JSON
      {"truncated JSON", R"({"model": {"type": "gmm", )", "/", "invalid JSON"},
      {"empty input", "", "/", "invalid JSON"},
      {"trailing garbage", spec("") + " x", "/", "invalid JSON"},
      {"NaN literal in x_start", spec(R"("x_start": [[NaN]])"), "/", "invalid JSON"},
      {"number overflowing a double", spec(R"("x_start": [[1e999]])"), "/", "invalid JSON"},
      {"not an object", "[1, 2, 3]", "/", "must be a JSON object"},
      {"duplicate key", spec(R"("n": 2, "n": 3)"), "/n", "duplicate key"},
      // ---- wrong types
      {"method a number", spec_model(R"("process": {"type": "vp"}, "method": 3)"), "/method", "must be a string"},
      {"weights a string", R"({"model": {"type": "gmm", "weights": "0.3", "means": [[0]], "variances": [1]}, "process": {"type": "vp"}, "method": "pf-ode"})",
       "/model/weights", "must be an array"},
      {"n a fraction", spec(R"("n": 2.5)"), "/n", "must be an integer"},
      {"track_logp a string", spec(R"("track_logp": "yes")"), "/track_logp", "must be true or false"},
      {"x_start entry a string", spec(R"("x_start": [["nan"]])"), "/x_start/0/0", "must be a number"},
      {"x_start entry null", spec(R"("x_start": [[0.1], [null]])"), "/x_start/1/0", "must be a number"},
      {"negative seed", spec(R"("seed": -1)"), "/seed", "must not be negative"},
      {"solver an array", spec(R"("solver": [])"), "/solver", "must be an object"},
      // ---- missing keys
      {"no model", R"({"process": {"type": "vp"}, "method": "pf-ode"})", "/model", "required key is missing"},
      {"no process", spec_model(R"("method": "pf-ode")"), "/process", "required key is missing"},
      {"no method", spec_model(R"("process": {"type": "vp"})"), "/method", "required key is missing"},
      {"no process type", spec_model(R"("process": {"t_min": 0.01}, "method": "pf-ode")"), "/process/type",
       "required key is missing"},
      {"no means", R"({"model": {"type": "gmm", "weights": [1], "variances": [1]}, "process": {"type": "vp"}, "method": "pf-ode"})",
       "/model/means", "required key is missing"},
      // ---- unknown keys, with a suggestion
      {"misspelt top-level key", spec(R"("sed": 4)"), "/sed", "did you mean \"seed\"?"},
      {"misspelt solver key", spec(R"("solver": {"stpes": 10})"), "/solver/stpes", "did you mean \"steps\"?"},
      {"solver key at the top level", spec(R"("steps": 10)"), "/steps", "belongs inside \"solver\""},
      {"key of another process type", spec_model(R"("process": {"type": "ve", "beta_min": 0.1}, "method": "pf-ode")"),
       "/process/beta_min", "unknown key \"beta_min\""},
      // ---- unknown names
      {"unknown method", spec_model(R"("process": {"type": "vp"}, "method": "pf-od")"), "/method",
       "did you mean \"pf-ode\"?"},
      {"unknown process", spec_model(R"("process": {"type": "vpp"}, "method": "pf-ode")"), "/process/type",
       "unknown process type \"vpp\""},
      {"unknown model type", R"({"model": {"type": "unet"}, "process": {"type": "vp"}, "method": "pf-ode"})", "/model/type",
       "unknown model type \"unet\""},
      {"unknown scheme", spec(R"("solver": {"scheme": "rk45"})"), "/solver/scheme", "unknown scheme \"rk45\""},
      {"unknown grid", spec(R"("solver": {"scheme": "euler", "grid": "log_snr"})"), "/solver/grid",
       "did you mean \"log-snr\"?"},
      {"unknown divergence", spec(R"("divergence": {"type": "hutchison"})"), "/divergence/type",
       "did you mean \"hutchinson\"?"},
      // ---- the mixture
      {"empty mixture", R"({"model": {"type": "gmm", "weights": [], "means": [], "variances": []}, "process": {"type": "vp"}, "method": "pf-ode"})",
       "/model/weights", "must not be empty"},
      {"negative weight", R"({"model": {"type": "gmm", "weights": [0.3, -0.5, 0.2], "means": [[-2], [0], [2.5]], "variances": [0.16, 0.09, 0.25]}, "process": {"type": "vp"}, "method": "pf-ode"})",
       "/model/weights/1", "must be positive"},
      {"zero weight", R"({"model": {"type": "gmm", "weights": [0.3, 0, 0.2], "means": [[-2], [0], [2.5]], "variances": [0.16, 0.09, 0.25]}, "process": {"type": "vp"}, "method": "pf-ode"})",
       "/model/weights/1", "must be positive"},
      {"weights whose sum is infinite", R"({"model": {"type": "gmm", "weights": [1e308, 1e308, 1e308], "means": [[-2], [0], [2.5]], "variances": [0.16, 0.09, 0.25]}, "process": {"type": "vp"}, "method": "pf-ode"})",
       "/model", "finite positive"},
      {"means of mixed dimension", R"({"model": {"type": "gmm", "weights": [0.5, 0.5], "means": [[0], [1, 1]], "variances": [1, 1]}, "process": {"type": "vp"}, "method": "pf-ode"})",
       "/model/means/1", "has 2 coordinates, expected 1"},
      {"fewer means than weights", R"({"model": {"type": "gmm", "weights": [0.5, 0.5], "means": [[0]], "variances": [1, 1]}, "process": {"type": "vp"}, "method": "pf-ode"})",
       "/model/means", "has 1 rows, expected 2"},
      {"non-symmetric covariance", spec_2d(R"("covariances": [[[1, 0.5], [0, 1]], [[1, 0], [0, 1]]])"),
       "/model/covariances/0", "not symmetric"},
      {"indefinite covariance", spec_2d(R"("covariances": [[[1, 0], [0, 1]], [[1, 2], [2, 1]]])"),
       "/model/covariances/1", "not positive definite"},
      {"covariance of the wrong size", spec_2d(R"("covariances": [[[1, 0], [0, 1]], [[1]]])"),
       "/model/covariances/1", "has 1 rows, expected 2"},
      {"zero variance", spec_2d(R"("variances": [1, 0])"), "/model/variances/1", "must be positive"},
      {"negative diagonal", spec_2d(R"("diagonals": [[1, 1], [1, -1]])"), "/model/diagonals/1/1", "must be positive"},
      {"two covariance forms", spec_2d(R"("variances": [1, 1], "diagonals": [[1, 1], [1, 1]])"), "/model/diagonals",
       "give only one of"},
      {"no covariance form", R"({"model": {"type": "gmm", "weights": [1], "means": [[0]]}, "process": {"type": "vp"}, "method": "pf-ode"})",
       "/model", "needs one of"},
      // ---- start points
      {"x_start of the wrong dimension", spec(R"("x_start": [[0.1], [0.2, 0.3]])"), "/x_start/1",
       "has 2 coordinates, expected 1"},
      {"empty x_start", spec(R"("x_start": [])"), "/x_start", "must not be empty"},
      {"n conflicting with x_start", spec(R"("x_start": [[0.1], [0.2]], "n": 3)"), "/n", "conflicts with x_start"},
      {"n = 0", spec(R"("n": 0)"), "/n", "must be at least 1"},
      {"negative n", spec(R"("n": -1)"), "/n", "must be at least 1"},
      {"huge n (refused before allocating)", spec(R"("n": 1e15)"), "/n", "need about"},
      {"huge n with recorded states", spec(R"("n": 1000000, "solver": {"scheme": "euler", "steps": 100000}, "record": {"every": 1})"),
       "/n", "with recorded states"},
      // ---- times
      {"t_start above the process range", spec(R"("t_start": 2)"), "/t_start", "must lie in the process range"},
      {"negative t_end", spec(R"("t_end": -0.1)"), "/t_end", "must not be negative"},
      {"t_end below t_min", spec(R"("t_end": 1e-5)"), "/t_end", "must lie in the process range"},
      {"t_start equal to t_end", spec(R"("t_start": 0.5, "t_end": 0.5)"), "/t_end", "equals t_start"},
      {"sampling towards noise", spec(R"("t_start": 0.2, "t_end": 0.7)"), "/t_end", "must be less than t_start"},
      {"t_max below t_min", spec_model(R"("process": {"type": "vp", "t_min": 0.5, "t_max": 0.4}, "method": "pf-ode")"),
       "/process/t_max", "greater than t_min"},
      {"rectified flow up to t = 1", spec_model(R"("process": {"type": "rectified-flow", "t_max": 1}, "method": "pf-ode")"),
       "/process/t_max", "must be in (0, 1)"},
      {"beta_max below beta_min", spec_model(R"("process": {"type": "vp", "beta_min": 5, "beta_max": 1}, "method": "pf-ode")"),
       "/process/beta_max", "at least beta_min"},
      // ---- solver and divergence
      {"steps = 0", spec(R"("solver": {"scheme": "euler", "steps": 0})"), "/solver/steps", "must be in [1, "},
      {"absurd steps", spec(R"("solver": {"scheme": "euler", "steps": 1e12})"), "/solver/steps", "must be in [1, "},
      {"rtol = 0", spec(R"("solver": {"rtol": 0})"), "/solver/rtol", "must be positive"},
      {"max_steps = 0", spec(R"("solver": {"max_steps": 0})"), "/solver/max_steps", "must be in [1, "},
      {"max_steps beyond the step counters", spec(R"("solver": {"max_steps": 3e9})"), "/solver/max_steps",
       "must be in [1, 2147483647]"},
      {"annealed-langevin moves beyond the step counters",
       spec_model(R"("process": {"type": "vp"}, "method": "annealed-langevin", "annealed_langevin": {"levels": 1000, "steps_per_level": 1e7})"),
       "/annealed_langevin/steps_per_level", "levels * steps_per_level must be <= 2147483647"},
      {"SDE scheme for an ODE method", spec(R"("solver": {"scheme": "euler-maruyama"})"), "/solver/scheme",
       "does not take scheme \"euler-maruyama\""},
      {"log-SNR grid down to t = 0",
       spec_model(R"("process": {"type": "vp", "t_min": 0}, "method": "pf-ode", "solver": {"scheme": "euler", "grid": "log-snr"})"),
       "/solver/grid", "log-SNR"},
      {"probes = 0", spec(R"("divergence": {"type": "hutchinson", "probes": 0})"), "/divergence/probes", "must be in [1, "},
      // ---- keys the method does not read, and guidance ranges (checked before the method)
      {"guidance for pf-ode", spec(R"("guidance": {"q": 0.7})"), "/guidance", "not used by method \"pf-ode\""},
      {"threshold for pf-ode", spec(R"("threshold": 0.5)"), "/threshold", "only \"hd-sampler\""},
      {"q = 1", spec_model(R"("process": {"type": "vp"}, "method": "dg-ode", "guidance": {"q": 1})"), "/guidance/q",
       "must be in (0, 1)"},
      {"q = 0", spec_model(R"("process": {"type": "vp"}, "method": "dg-ode", "guidance": {"q": 0})"), "/guidance/q",
       "must be in (0, 1)"},
      {"negative q", spec_model(R"("process": {"type": "vp"}, "method": "dg-sde", "guidance": {"q": -0.5})"),
       "/guidance/q", "must be in (0, 1)"},
      {"record every 0", spec(R"("record": {"every": 0})"), "/record/every", "must be at least 1"},
      {"unknown init_logp", spec(R"("init_logp": "gaussian")"), "/init_logp", "unknown init_logp \"gaussian\""},
  };
  // Checks across keys (spec.hpp) come after the check that the method is built; in a build
  // without the method it is refused instead (still exit 2 with one line).
  auto needs = [&](const char* method, runner_case c) {
    if (std::find(built.begin(), built.end(), method) == built.end()) {
      c.pointer = "/method";
      c.fragment = "is not available in this build";
    }
    return c;
  };
  cases.push_back(needs(
      "dg-sde",
      {"noise window reversed",
       spec_model(R"("process": {"type": "vp"}, "method": "dg-sde", "guidance": {"noise": 1, "noise_window": [0.5, 0.1]})"),
       "/guidance/noise_window", "must be increasing"}));
  cases.push_back(needs(
      "dg-sde",
      {"noise window outside the process range",
       spec_model(R"("process": {"type": "vp"}, "method": "dg-sde", "guidance": {"noise": 1, "noise_window": [0.1, 5]})"),
       "/guidance/noise_window/1", "must lie in the process range"}));
  cases.push_back(needs("hd-sampler",
                        {"threshold outside the run",
                         spec_model(R"("process": {"type": "vp"}, "method": "hd-sampler", "t_end": 0.1, "threshold": 0.05)"),
                         "/threshold", "must lie in [t_end, t_start]"}));
  cases.push_back({"unknown first phase",
                   spec_model(R"("process": {"type": "vp"}, "method": "hd-sampler", "first_phase": "pf_ode")"),
                   "/first_phase", "did you mean \"pf-ode\"?"});
  cases.push_back(needs("mode-tracking",
                        {"SDE scheme for mode tracking",
                         spec_model(R"("process": {"type": "vp"}, "method": "mode-tracking", "solver": {"scheme": "euler-maruyama"})"),
                         "/solver/scheme", "does not take scheme"}));

  CHECK(cases.size() >= 40);
  const test::fs::path out_file = dir / "result.json";
  for (const auto& c : cases) {
    INFO(c.what << "\n  spec: " << c.text);
    const auto r = test::run_program(DLOGP_RUN_EXE, {"-"}, c.text, dir);
    INFO("  exit " << r.code << (r.signaled ? " (killed by a signal)" : "") << "\n  stderr: " << r.err
                   << "\n  stdout: " << r.out.substr(0, 300));
    CHECK_FALSE(r.signaled);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind(std::string("[dlogp.spec] ") + c.pointer, 0) == 0);
    CHECK_THAT(r.err, Catch::Contains(c.fragment));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(": ") != std::string::npos);
    // With --output the file must not be left behind (no partial result anywhere).
    const auto o = test::run_program(DLOGP_RUN_EXE, {"-", "--output", out_file.string()}, c.text, dir);
    CHECK(o.code == 2);
    CHECK(o.err == r.err);
    CHECK_FALSE(test::fs::exists(out_file));
  }
  test::fs::remove_all(dir);
}

TEST_CASE("reliability: bad command lines make dlogp-run exit 2 with one dlogp.cli error line", "[cli]") {
  const test::fs::path dir = test::scratch_dir("cli");
  const std::string good = spec("");
  struct cli_case {
    const char* what;
    std::vector<std::string> args;
    const char* prefix;    ///< expected start of the line
    const char* fragment;
  };
  const std::vector<cli_case> cases = {
      {"no spec", {}, "[dlogp.cli] SPEC: ", "missing spec file"},
      {"spec file that does not exist", {(dir / "missing.json").string()}, "[dlogp.cli] ", "cannot open the spec file"},
      {"misspelt option", {"-", "--thread", "2"}, "[dlogp.cli] --thread: ", "did you mean \"--threads\"?"},
      {"threads not a number", {"-", "--threads", "two"}, "[dlogp.cli] --threads: ", "must be an integer"},
      {"threads too many", {"-", "--threads", "5000"}, "[dlogp.cli] --threads: ", "must be an integer"},
      {"negative threads", {"-", "--threads=-1"}, "[dlogp.cli] --threads: ", "must be an integer"},
      {"output without a file", {"-", "--output"}, "[dlogp.cli] --output: ", "needs a value"},
      {"output in a missing directory", {"-", "--output", (dir / "no" / "such" / "dir.json").string()},
       "[dlogp.cli] --output: ", "cannot write"},
      {"two spec files", {"-", "other.json"}, "[dlogp.cli] other.json: ", "only one spec file"},
      {"a value for a flag", {"-", "--progress=yes"}, "[dlogp.cli] --progress: ", "takes no value"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto r = test::run_program(DLOGP_RUN_EXE, c.args, good, dir);
    INFO("exit " << r.code << "\nstderr: " << r.err);
    CHECK_FALSE(r.signaled);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind(c.prefix, 0) == 0);
    CHECK_THAT(r.err, Catch::Contains(c.fragment));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  test::fs::remove_all(dir);
}

TEST_CASE("reliability: unnormalised mixture weights are normalised, not refused", "[cli]") {
  // Documented choice (docs/cli.md, gaussian_mixture): any positive finite weights are accepted
  // and divided by their sum; the output echoes them as given. So weights (3, 5, 2) give the
  // results of (0.3, 0.5, 0.2) up to the rounding of the normalised log weights (log 3 - log 10
  // vs log 0.3: a few eps), carried through the 50 Heun steps: at most 50 x 8 eps of the value.
  const test::fs::path dir = test::scratch_dir("normalise");
  const std::string rest = R"(, "process": {"type": "vp"}, "method": "pf-ode-encode", "x_start": [[0.5], [-1.0]], "solver": {"scheme": "heun", "steps": 50}})";
  const auto a = test::run_program(
      DLOGP_RUN_EXE, {"-"},
      R"({"model": {"type": "gmm", "weights": [0.3, 0.5, 0.2], "means": [[-2], [0], [2.5]], "variances": [0.16, 0.09, 0.25]})" + rest,
      dir);
  const auto b = test::run_program(
      DLOGP_RUN_EXE, {"-"},
      R"({"model": {"type": "gmm", "weights": [3, 5, 2], "means": [[-2], [0], [2.5]], "variances": [0.16, 0.09, 0.25]})" + rest,
      dir);
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  const auto ra = nlohmann::json::parse(a.out)["results"], rb = nlohmann::json::parse(b.out)["results"];
  REQUIRE(ra.size() == 2);
  REQUIRE(rb.size() == 2);
  const double tol = 50 * 8 * std::numeric_limits<double>::epsilon();
  for (std::size_t j = 0; j < 2; ++j)
    for (const char* key : {"logp", "logp_exact"}) {
      const double va = ra[j][key].get<double>(), vb = rb[j][key].get<double>();
      INFO(key << " " << j << ": " << va << " vs " << vb);
      CHECK(std::abs(va - vb) <= tol * (1 + std::abs(va)));
    }
  CHECK(nlohmann::json::parse(b.out)["spec"]["model"]["weights"] == nlohmann::json::parse("[3.0, 5.0, 2.0]"));
  test::fs::remove_all(dir);
}

#endif  // DLOGP_RUN_EXE

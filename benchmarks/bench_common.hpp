#pragma once
// Shared helpers of the benchmark programs: a monotonic timer, command-line options of the
// form --name value, and the Gaussian mixtures the Python baselines also use (read from the
// JSON file benchmarks/run.py writes, so both sides evaluate exactly the same mixture).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include <dlogp/core/time_grid.hpp>
#include <dlogp/io/gmm_file.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/prior.hpp>
#include <dlogp/process/vp.hpp>

namespace bench {

using json = nlohmann::json;

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// CPU time of the whole process (all threads). On a shared machine a single-threaded run's
/// CPU time is much less disturbed by other programs than its wall time (time slices spent
/// waiting are not counted), so single-thread ratios are taken on it.
inline double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

/// --key value pairs; every key must be known to the caller (get throws on a missing one).
class args {
 public:
  args(int argc, char** argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
      std::string k = argv[i];
      if (k.rfind("--", 0) != 0) throw std::invalid_argument("expected --option, got " + k);
      kv_[k.substr(2)] = argv[i + 1];
    }
  }
  std::string str(const std::string& k, const std::string& def) const {
    auto it = kv_.find(k);
    return it == kv_.end() ? def : it->second;
  }
  long num(const std::string& k, long def) const {
    auto it = kv_.find(k);
    return it == kv_.end() ? def : std::stol(it->second);
  }
  double real(const std::string& k, double def) const {
    auto it = kv_.find(k);
    return it == kv_.end() ? def : std::stod(it->second);
  }

 private:
  std::map<std::string, std::string> kv_;
};

/// The benchmark mixtures' file, read by dlogp's own loader (io/gmm_file.hpp): {"weights": [K],
/// "means": [[D] x K] and one of "variances": [K] (isotropic), "diagonals" or "covariances":
/// [K][D][D] (full)}, VP process with the library's default schedule.
inline dlogp::gaussian_mixture<double, dlogp::vp_process> load_mixture(const std::string& path) {
  return dlogp::load_gaussian_mixture<double>(path, dlogp::vp_process{});
}

/// Where the throughput benchmarks start: N prior draws at t_max (seed 1, trajectory ids
/// 0..N-1: the Python baselines and bench_reverse_sde_limit draw the same), their log density,
/// and the first `window` steps of the `steps`-step uniform grid from t_max down (a step costs
/// the same at every t).
struct prior_start {
  dlogp::matrix<double> X;
  dlogp::vector<double> L;
  std::vector<double> grid;
};
inline prior_start start_at_prior(const dlogp::vp_process& p, long D, long N, long steps, long window) {
  prior_start s{dlogp::matrix<double>(D, N), {}, dlogp::make_time_grid(p, dlogp::grid_kind::uniform, p.t_max(), p.t_min(), steps)};
  s.grid.resize(std::size_t(window + 1));
  dlogp::sample_prior(p, p.t_max(), 1, std::uint64_t(0), s.X);
  dlogp::prior_log_density(p, p.t_max(), s.X, s.L);
  return s;
}

template <class T>
double median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? double(v[n / 2]) : 0.5 * (double(v[n / 2 - 1]) + double(v[n / 2]));
}

}  // namespace bench

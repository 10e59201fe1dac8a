// The first paper's findings on real images: log p_0 of 16x16 grey photo patches (D = 256)
// under an epsilon-prediction VP model trained here (examples/patches/train.py).
//
//   patches [data_dir] [out_dir] [--quick]   (defaults: examples/patches/data build/patches/out)
//
// --quick shrinks every batch and step count (a smoke test of seconds, numbers meaningless).
// Writes out_dir/results.json and out_dir/samples.safetensors; plot_patches.py turns them into
// the figures, the PNG sizes and the Spearman correlation (docs/findings-patches.md).
// Divergences: Hutchinson with Rademacher probes (16 for the held-out patches, 4 for the blur
// series and to re-encode samples, 1 along sampling paths and in the forward ELBO; the exact trace costs ~100
// evaluations per call), and the exact trace on a subset to measure the Hutchinson noise.
// Everything is float, deterministic (fixed seeds; OpenMP over trajectories).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numbers>
#include <string>
#include <vector>

#include "dlogp/core/random.hpp"
#include "dlogp/dynamics/forward_sde.hpp"
#include "dlogp/dynamics/hd_ode.hpp"
#include "dlogp/dynamics/pf_ode.hpp"
#include "dlogp/dynamics/reverse_sde.hpp"
#include "dlogp/integrate.hpp"
#include "dlogp/io/mlp_weights.hpp"
#include "dlogp/process/prior.hpp"
#include "dlogp/scheme/euler_maruyama.hpp"
#include "dlogp/scheme/rk4.hpp"

namespace {

using S = float;
using model_t = dlogp::mlp_score_model<S, dlogp::any_process>;
using mat = dlogp::matrix<S>;
using vec = dlogp::vector<S>;

constexpr long side = 16, D = side * side;
constexpr std::uint64_t seed = 20240601;
// Number of steps (RK4 on a log-SNR grid; Euler-Maruyama on a log-SNR grid for SDEs).
// The convergence section below reports what halving them changes.
long ode_steps = 32, sde_steps = 500;

dlogp::divergence_options hutchinson(int probes) {
  return {.kind = dlogp::divergence_kind::hutchinson, .probes = probes};
}
const int probes_test = 16, probes_samples = 4;
const dlogp::divergence_options exact{.kind = dlogp::divergence_kind::exact};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<double> to_std(const vec& v) { return std::vector<double>(v.data(), v.data() + v.size()); }

void check_ok(const dlogp::integration_result<S>& r, const char* what) {
  if (!r.all_ok()) {
    long bad = 0;
    for (const auto& s : r.stats) bad += s.status != dlogp::status::ok;
    std::cerr << what << ": " << bad << " trajectories did not finish\n";
  }
}

dlogp::integrate_options ode_options(std::uint64_t first_id, long steps = ode_steps) {
  return {.seed = seed, .grid = {.steps = steps, .spacing = dlogp::grid_kind::log_snr},
          .first_id = first_id, .execution = {.batch_size = 16}};
}

/// log p_0(x_0) by PF-ODE encoding: log p_T(x_T) minus the integrated rate from t_min to T.
vec encode(const model_t& m, const mat& X0, dlogp::divergence_options div, std::uint64_t first_id,
           long steps = ode_steps) {
  const auto& p = m.process();
  dlogp::pf_ode ode(m, p, div);
  auto r = dlogp::integrate(ode, dlogp::rk4{}, X0, vec::Zero(X0.cols()), p.t_min(), p.t_max(),
                            ode_options(first_id, steps));
  check_ok(r, "encode");
  vec prior;
  dlogp::prior_log_density(p, p.t_max(), r.x, prior);
  return prior - r.log_p;
}

/// Bits per dimension for data quantised into bins of width 1/128 (docs/notation.md §7).
double bpd(double logp) { return -(logp + D * std::log(1.0 / 128.0)) / (D * std::numbers::ln2); }

/// x = (u + U) / 128 - 1 with U uniform in (0, 1] keyed by (seed, id, purpose::data).
mat dequantise(const dlogp::tensor& patches, long n, std::uint64_t first_id) {
  mat X(D, n);
  for (long j = 0; j < n; ++j) {
    const dlogp::random_stream rs(seed, first_id + std::uint64_t(j), dlogp::purpose::data);
    for (long i = 0; i < D; ++i)
      X(i, j) = S((patches.at<double>(j * D + i) + rs.uniform(std::uint64_t(i))) / 128.0 - 1.0);
  }
  return X;
}

/// Gaussian blur of each 16x16 column (row-major pixels), reflecting at the border.
mat blur(const mat& X, double sigma) {
  if (sigma == 0) return X;
  const int r = int(std::ceil(3 * sigma));
  std::vector<double> k(static_cast<std::size_t>(2 * r + 1));
  double sum = 0;
  for (int i = -r; i <= r; ++i) sum += k[std::size_t(i + r)] = std::exp(-0.5 * i * i / (sigma * sigma));
  for (auto& v : k) v /= sum;
  auto refl = [](long i) { return i < 0 ? -i - 1 : (i >= side ? 2 * side - i - 1 : i); };
  mat Y(D, X.cols());
  std::vector<double> tmp(D);
  for (long j = 0; j < X.cols(); ++j) {
    for (long y = 0; y < side; ++y)
      for (long x = 0; x < side; ++x) {
        double a = 0;
        for (int i = -r; i <= r; ++i) a += k[std::size_t(i + r)] * X(y * side + refl(x + i), j);
        tmp[std::size_t(y * side + x)] = a;
      }
    for (long y = 0; y < side; ++y)
      for (long x = 0; x < side; ++x) {
        double a = 0;
        for (int i = -r; i <= r; ++i) a += k[std::size_t(i + r)] * tmp[std::size_t(refl(y + i) * side + x)];
        Y(y * side + x, j) = S(a);
      }
  }
  return Y;
}

nlohmann::json stats(const vec& v) {
  const double m = v.cast<double>().mean();
  const double sd = std::sqrt((v.cast<double>().array() - m).square().sum() / double(std::max<long>(1, v.size() - 1)));
  return {{"mean", m}, {"sd", sd}, {"se", sd / std::sqrt(double(v.size()))}, {"n", v.size()}};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--quick")
      quick = true;
    else
      args.push_back(argv[i]);
  }
  const std::string data = args.size() > 0 ? args[0] : "examples/patches/data";
  const std::string out = args.size() > 1 ? args[1] : "build/patches/out";
  // Sizes: held-out patches, exact-trace check, blur series, samples, forward-ELBO paths.
  const long n_test = quick ? 4 : 256, n_check = quick ? 2 : 8, n_blur = quick ? 2 : 64,
             n_samp = quick ? 2 : 64, K = 2;
  if (quick) {
    ode_steps = 4;
    sde_steps = 8;
  }
  std::filesystem::create_directories(out);
  const auto t_all = std::chrono::steady_clock::now();

  const auto loaded = dlogp::load_mlp<S>(data + "/model.safetensors");
  const model_t model = loaded.score_model();
  const auto& proc = model.process();
  const auto test = dlogp::read_tensor_file(data + "/test_patches.safetensors");
  const auto& patches = test.at("patches");
  nlohmann::json res;
  res["settings"] = {{"ode", "rk4, log-SNR grid"}, {"ode_steps", ode_steps}, {"sde", "euler-maruyama, log-SNR grid"},
                     {"sde_steps", sde_steps}, {"divergence", "hutchinson, rademacher probes: 16 (held-out), 4 (blur, re-encoding samples), 1 (along sampling paths, forward ELBO)"},
                     {"seed", seed}, {"t_min", proc.t_min()}, {"t_max", proc.t_max()},
                     {"dequantisation", "x = (u + U) / 128 - 1, U uniform (0, 1]; bin width 1/128"}};
  dlogp::tensor_file samples;
  auto keep = [&](const std::string& name, const mat& X) {
    samples.tensors[name] = dlogp::tensor::from_matrix(mat(X.transpose()), dlogp::tensor_dtype::f32);
  };

  // 1. log p_0 of held-out patches, nats and bits/dim.
  auto t0 = std::chrono::steady_clock::now();
  const mat X_test = dequantise(patches, n_test, 0);
  const vec lp_test = encode(model, X_test, hutchinson(probes_test), 0);
  std::vector<double> bpd_test;
  for (long j = 0; j < n_test; ++j) bpd_test.push_back(bpd(lp_test(j)));
  res["test"] = {{"n", n_test}, {"log_p", to_std(lp_test)}, {"bpd", bpd_test}, {"log_p_stats", stats(lp_test)},
                 {"seconds", seconds_since(t0)}};
  std::printf("held-out patches: log p_0 = %.1f +- %.1f nats (mean +- sd, n = %ld), %.3f bits/dim  [%.0f s]\n",
              stats(lp_test)["mean"].get<double>(), stats(lp_test)["sd"].get<double>(), n_test,
              bpd(stats(lp_test)["mean"].get<double>()), seconds_since(t0));

  // 1b. Checks: Hutchinson vs exact trace, and half the steps, on a subset.
  t0 = std::chrono::steady_clock::now();
  const mat X_check = X_test.leftCols(n_check);
  const vec lp_exact = encode(model, X_check, exact, 0);
  const vec lp_half = encode(model, X_check, exact, 0, ode_steps / 2);
  const vec d_hutch = lp_test.head(n_check) - lp_exact, d_steps = lp_half - lp_exact;
  res["checks"] = {{"n", n_check}, {"log_p_exact", to_std(lp_exact)}, {"log_p_hutchinson", to_std(lp_test.head(n_check))},
                   {"log_p_exact_half_steps", to_std(lp_half)}, {"hutchinson_minus_exact", stats(d_hutch)},
                   {"half_steps_minus_full", stats(d_steps)}, {"seconds", seconds_since(t0)}};
  std::printf("checks (n = %ld): hutchinson - exact = %.2f +- %.2f nats (sd); %ld vs %ld steps: max |diff| = %.3f nats  [%.0f s]\n",
              n_check, d_hutch.cast<double>().mean(), stats(d_hutch)["sd"].get<double>(), ode_steps / 2, ode_steps,
              d_steps.cwiseAbs().maxCoeff(), seconds_since(t0));

  // 2. Blur: log p as the input is smoothed (same patches, same dequantisation).
  t0 = std::chrono::steady_clock::now();
  const std::vector<double> blur_sigmas{0.0, 0.5, 1.0, 1.5, 2.0, 3.0};
  nlohmann::json jb = nlohmann::json::array();
  for (double sb : blur_sigmas) {
    const mat Xb = blur(X_test.leftCols(n_blur), sb);
    const vec lp = encode(model, Xb, hutchinson(probes_samples), 0);
    keep("blur_" + std::to_string(int(sb * 10)), Xb.leftCols(std::min<long>(8, n_blur)));
    jb.push_back({{"sigma_px", sb}, {"log_p", to_std(lp)}, {"log_p_stats", stats(lp)}});
    std::printf("blur sigma = %.1f px: log p_0 = %.1f +- %.1f (mean +- se)\n", sb, stats(lp)["mean"].get<double>(),
                stats(lp)["se"].get<double>());
  }
  res["blur"] = {{"n", n_blur}, {"levels", jb}, {"seconds", seconds_since(t0)}};

  // 3. Samples: reverse SDE (augmented log p), PF-ODE, HD sampler at several thresholds.
  const std::uint64_t samp_id = 1000000;  // ids of the sampled trajectories
  mat XT(D, n_samp);
  std::vector<std::uint64_t> ids(static_cast<std::size_t>(n_samp));
  for (long j = 0; j < n_samp; ++j) ids[std::size_t(j)] = samp_id + std::uint64_t(j);
  dlogp::sample_prior(proc, proc.t_max(), seed, ids.data(), XT);
  vec lpT;
  dlogp::prior_log_density(proc, proc.t_max(), XT, lpT);
  nlohmann::json js;

  t0 = std::chrono::steady_clock::now();
  dlogp::reverse_sde rsde(model, proc);
  auto sde = dlogp::integrate(rsde, dlogp::euler_maruyama{}, XT, lpT, proc.t_max(), proc.t_min(),
                              {.seed = seed,
                               .grid = {.steps = sde_steps, .spacing = dlogp::grid_kind::log_snr},
                               .first_id = samp_id, .execution = {.batch_size = 16}});
  check_ok(sde, "reverse sde");
  const vec sde_enc = encode(model, sde.x, hutchinson(probes_samples), samp_id);
  keep("sde", sde.x);
  js["sde"] = {{"log_p_tracked", to_std(sde.log_p)}, {"log_p_encoded", to_std(sde_enc)}, {"seconds", seconds_since(t0)}};
  std::printf("reverse SDE samples: augmented log p = %.1f, PF-ODE encoding = %.1f (means)  [%.0f s]\n",
              sde.log_p.cast<double>().mean(), sde_enc.cast<double>().mean(), seconds_since(t0));

  // The forward ELBO of the same samples: augmented forward SDE (docs/notation.md §3.3) averaged
  // over K noise paths, ELBO = E[log p_T(x_T) - ell_T] with ell_{t_min} = 0.
  t0 = std::chrono::steady_clock::now();
  mat X_rep(D, n_samp * K);
  for (long k = 0; k < K; ++k) X_rep.middleCols(k * n_samp, n_samp) = sde.x;
  dlogp::forward_sde fsde(model, proc, hutchinson(1));
  auto fwd = dlogp::integrate(fsde, dlogp::euler_maruyama{}, X_rep, vec::Zero(n_samp * K), proc.t_min(), proc.t_max(),
                              {.seed = seed + 1,
                               .grid = {.steps = sde_steps, .spacing = dlogp::grid_kind::log_snr},
                               .first_id = 2000000, .execution = {.batch_size = 16}});
  check_ok(fwd, "forward sde");
  vec prior_fwd;
  dlogp::prior_log_density(proc, proc.t_max(), fwd.x, prior_fwd);
  vec elbo = vec::Zero(n_samp);
  std::vector<double> elbo_sd(static_cast<std::size_t>(n_samp));
  for (long j = 0; j < n_samp; ++j) {
    double m = 0, m2 = 0;
    for (long k = 0; k < K; ++k) {
      const double e = prior_fwd(k * n_samp + j) - fwd.log_p(k * n_samp + j);
      m += e / K;
      m2 += e * e / K;
    }
    elbo(j) = S(m);
    elbo_sd[std::size_t(j)] = std::sqrt(std::max(0.0, m2 - m * m) * K / (K - 1));
  }
  js["sde"]["elbo"] = to_std(elbo);
  js["sde"]["elbo_sd_per_path"] = elbo_sd;
  js["sde"]["elbo_paths"] = K;
  js["sde"]["elbo_seconds"] = seconds_since(t0);
  const vec gap1 = sde.log_p - sde_enc, gap2 = sde_enc - elbo;
  js["sde"]["sde_minus_ode"] = stats(gap1);
  js["sde"]["ode_minus_elbo"] = stats(gap2);
  std::printf("  forward ELBO (K = %ld paths) = %.1f; SDE - ODE = %.1f +- %.1f, ODE - ELBO = %.1f +- %.1f (mean +- se)  [%.0f s]\n",
              K, elbo.cast<double>().mean(), stats(gap1)["mean"].get<double>(), stats(gap1)["se"].get<double>(),
              stats(gap2)["mean"].get<double>(), stats(gap2)["se"].get<double>(), seconds_since(t0));

  t0 = std::chrono::steady_clock::now();
  dlogp::pf_ode ode(model, proc, hutchinson(1));
  auto ode_s = dlogp::integrate(ode, dlogp::rk4{}, XT, lpT, proc.t_max(), proc.t_min(), ode_options(samp_id));
  check_ok(ode_s, "pf-ode sampling");
  const vec ode_enc = encode(model, ode_s.x, hutchinson(probes_samples), samp_id);
  keep("ode", ode_s.x);
  js["ode"] = {{"log_p_tracked", to_std(ode_s.log_p)}, {"log_p_encoded", to_std(ode_enc)}, {"seconds", seconds_since(t0)}};
  std::printf("PF-ODE samples: tracked log p = %.1f, re-encoded = %.1f (means)  [%.0f s]\n",
              ode_s.log_p.cast<double>().mean(), ode_enc.cast<double>().mean(), seconds_since(t0));

  // HD sampler (Algorithm 1): PF-ODE from T to t_thr, then the HD-ODE to t_min.
  const std::vector<double> thresholds{1.0, 0.5, 0.3, 0.2, 0.1, 0.05};
  nlohmann::json jh = nlohmann::json::array();
  dlogp::hd_ode hd(model, proc, hutchinson(1));
  for (double thr : thresholds) {
    t0 = std::chrono::steady_clock::now();
    mat X = XT;
    vec L = lpT;
    // Steps split in proportion to the log-SNR travelled, at least 8 per segment.
    const double l_all = proc.log_snr(proc.t_min()) - proc.log_snr(proc.t_max());
    const long n1 = thr < proc.t_max()
                        ? std::max(8L, long(std::lround(ode_steps * (proc.log_snr(thr) - proc.log_snr(proc.t_max())) / l_all)))
                        : 0;
    if (n1 > 0) {
      auto a = dlogp::integrate(ode, dlogp::rk4{}, X, L, proc.t_max(), thr, ode_options(samp_id, n1));
      check_ok(a, "hd sampler, pf-ode part");
      X = a.x;
      L = a.log_p;
    }
    auto b = dlogp::integrate(hd, dlogp::rk4{}, X, L, thr, proc.t_min(), ode_options(samp_id, std::max(8L, ode_steps - n1)));
    check_ok(b, "hd sampler, hd-ode part");
    const vec enc = encode(model, b.x, hutchinson(probes_samples), samp_id);
    keep("hd_" + std::to_string(int(std::lround(thr * 100))), b.x);
    jh.push_back({{"t_threshold", thr}, {"log_p_tracked", to_std(b.log_p)}, {"log_p_encoded", to_std(enc)},
                  {"seconds", seconds_since(t0)}});
    std::printf("HD sampler t_thr = %.2f: tracked log p = %.1f, re-encoded = %.1f (means)  [%.0f s]\n", thr,
                b.log_p.cast<double>().mean(), enc.cast<double>().mean(), seconds_since(t0));
  }
  js["hd"] = jh;
  res["samples"] = js;
  res["samples"]["n"] = n_samp;
  keep("test", X_test.leftCols(std::min<long>(64, n_test)));
  res["seconds_total"] = seconds_since(t_all);

  dlogp::write_tensor_file(out + "/samples.safetensors", samples);
  std::ofstream(out + "/results.json") << res.dump(1) << "\n";
  std::printf("wrote %s/results.json and samples.safetensors  [total %.0f s]\n", out.c_str(), seconds_since(t_all));
  return 0;
}

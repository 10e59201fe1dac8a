#pragma once
// The contract's methods and schemes: every name a spec may use, which keys each method reads,
// which schemes it takes and in which direction it runs. This is the CONTRACT, the same in every
// build; which of them this build implements is methods/registry.hpp (build_info).
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <dlogp/scheme/catalogue.hpp>

namespace dlogp::runner {

/// Sampling runs from high noise (t_start = t_max) to low noise; encoding the other way and
/// reports log p at its start (pf-ode-encode, forward-sde).
enum class direction { sampling, encoding };

struct method_info {
  std::string name;
  direction dir = direction::sampling;
  std::vector<std::string> schemes;  ///< schemes it takes; the first is the default
  std::vector<std::string> keys;     ///< method-specific top-level keys it reads
  std::string summary;
};

struct scheme_info {
  std::string name;
  std::string summary;
};

/// Keys every method reads; any other top-level key is method-specific (method_info::keys).
inline const std::vector<std::string>& common_keys() {
  static const std::vector<std::string> k = {"model", "process", "method", "t_start", "t_end", "x_start",
                                             "n",     "seed",    "track_logp", "init_logp", "record"};
  return k;
}

/// The library's scheme catalogue (include/dlogp/scheme/catalogue.hpp) with the solver keys each
/// kind reads.
inline const std::vector<scheme_info>& scheme_catalogue() {
  static const std::vector<scheme_info> s = [] {
    std::vector<scheme_info> v;
    for (const auto& e : all_scheme_summaries())
      v.push_back({std::string(e.name),
                   std::string(e.description) + (e.adaptive ? " (rtol, atol, max_steps)" : " (steps, grid)")});
    return v;
  }();
  return s;
}

inline const std::vector<method_info>& method_catalogue() {
  const std::vector<std::string> ode = scheme_names(ode_scheme_list{});
  std::vector<std::string> pf = ode;
  for (auto& n : scheme_names(pf_ode_scheme_list{})) pf.push_back(std::move(n));
  const std::vector<std::string> sde = scheme_names(sde_scheme_list{});
  static const std::vector<method_info> m = {
      {"pf-ode", direction::sampling, pf, {"solver", "divergence"},
       "probability-flow ODE from t_start to t_end, log p by the instantaneous change of variables"},
      {"pf-ode-encode", direction::encoding, pf, {"solver", "divergence", "quantisation"},
       "probability-flow ODE from data (t_start = t_min) to noise: the likelihood of x_start"},
      {"reverse-sde", direction::sampling, sde, {"solver"},
       "augmented reverse SDE: samples with log p tracked along each path (no divergence)"},
      {"forward-sde", direction::encoding, sde, {"solver", "divergence"},
       "augmented forward SDE from x_start: a single-path estimate of log p_{t_start}(x_start)"},
      {"hd-ode", direction::sampling, ode, {"solver", "divergence"},
       "high-density ODE (reverse-SDE drift without noise) with log p"},
      {"hd-sampler", direction::sampling, ode, {"solver", "divergence", "threshold", "first_phase"},
       "first_phase (pf-ode or reverse-sde) down to threshold, then the HD-ODE"},
      {"mode-tracking", direction::sampling, ode, {"solver"},
       "the mode of p(x_s | x_t), x_t = x_start at t = t_start, followed down to t_end"},
      {"dg-ode", direction::sampling, ode, {"solver", "divergence", "guidance"},
       "density-guided PF-ODE: log p_0 pushed to the quantile q"},
      {"dg-sde", direction::sampling, sde, {"solver", "divergence", "guidance"},
       "stochastic density guidance: projected noise inside noise_window, same log p schedule"},
      {"langevin", direction::sampling, {}, {"langevin"},
       "Langevin dynamics at t_end from x_start (or prior draws at t_start), log p by the trapezoid rule"},
      {"annealed-langevin", direction::sampling, {}, {"divergence", "annealed_langevin"},
       "annealed Langevin dynamics (NCSN) on a log-SNR ladder from t_start to t_end, with log p"},
      {"pc", direction::sampling, sde, {"solver", "pc"},
       "predictor-corrector: reverse-SDE Euler-Maruyama + Langevin corrector (SNR rule), with log p"},
      {"objective", direction::encoding, {}, {"divergence", "objective"},
       "DSM / ISM / SSM estimates (and the ELBO) of the score on given points over [t_start, t_end]"},
  };
  return m;
}

inline const method_info* find_method(std::string_view name) {
  for (const auto& m : method_catalogue())
    if (m.name == name) return &m;
  return nullptr;
}

inline std::vector<std::string> method_names() {
  std::vector<std::string> v;
  for (const auto& m : method_catalogue()) v.push_back(m.name);
  return v;
}

inline std::vector<std::string> scheme_names() {
  std::vector<std::string> v;
  for (const auto& s : scheme_catalogue()) v.push_back(s.name);
  return v;
}

inline bool uses_key(const method_info& m, std::string_view key) {
  return std::find(m.keys.begin(), m.keys.end(), key) != m.keys.end();
}

/// Methods that read a method-specific key (for "only dg-ode and dg-sde use it").
inline std::vector<std::string> methods_using(std::string_view key) {
  std::vector<std::string> v;
  for (const auto& m : method_catalogue())
    if (uses_key(m, key)) v.push_back(m.name);
  return v;
}

/// What this build implements: methods and, per method, the schemes. Filled from the registry.
struct build_info {
  struct entry {
    std::string method;
    std::vector<std::string> schemes;
  };
  std::vector<entry> methods;

  const entry* find(std::string_view method) const {
    for (const auto& e : methods)
      if (e.method == method) return &e;
    return nullptr;
  }
  bool has_method(std::string_view method) const { return find(method) != nullptr; }
  bool has_scheme(std::string_view method, std::string_view scheme) const {
    const entry* e = find(method);
    return e && std::find(e->schemes.begin(), e->schemes.end(), scheme) != e->schemes.end();
  }
  /// Every method and scheme of the contract, as if all were built (for tests of the validator).
  static build_info everything() {
    build_info b;
    for (const auto& m : method_catalogue()) b.methods.push_back({m.name, m.schemes});
    return b;
  }
};

}  // namespace dlogp::runner

#pragma once
// What a method of dlogp-run is: everything the runner knows about it comes from its own file
// under methods/, a struct with `static method_definition definition()` (its name, the keys it
// reads with their schema, its checks, what it needs of the model, its memory) and
// `static run_output run(const run_context&)`, listed once in methods/registry.hpp. The spec's
// validator, `--schema` and `--help` read the definitions; only the dispatch instantiates the
// run functions, so code that validates specs does not compile every method's integration.
#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <dlogp/model/any_score_model.hpp>
#include <dlogp/process/any_process.hpp>

#include "schema_node.hpp"

namespace dlogp::runner {

/// Sampling runs from high noise (t_start = t_max) to low noise; encoding the other way and
/// reports log p at its start (pf-ode-encode, forward-sde).
enum class direction { sampling, encoding };

/// What a method's own check sees once the generic checks passed: the spec as written (`doc`,
/// to tell a given key from a default), the spec with its defaults (`filled`, which the check
/// may complete: computed defaults) and the settled process and times.
struct method_check_input {
  const json& doc;
  json& filled;
  const any_process& process;
  double t_start, t_end;
};

/// A method spacing its times in log-SNR between t_start and t_end needs a finite log-SNR at
/// both ends. The error points at `pointer`, or at /t_start or /t_end when it is empty.
inline void require_finite_log_snr_at_ends(const method_check_input& in, const std::string& pointer,
                                           const std::string& what) {
  for (const auto& [t, at] : {std::pair{in.t_start, "/t_start"}, std::pair{in.t_end, "/t_end"}})
    if (!std::isfinite(in.process.log_snr(t)))
      throw spec_error(pointer.empty() ? at : pointer, what + " needs a finite log-SNR at t = " + detail::num(t));
}

/// Memory a method holds besides the per-trajectory states, and the key that sets it (named in
/// the error when it is too much).
struct method_tables {
  double bytes = 0;
  std::string pointer;
};

/// Every member has a default, so a definition names only what it has (designated initializers).
struct method_definition {
  std::string name{};
  direction dir = direction::sampling;
  std::string summary{};                     ///< one line for --help and docs
  std::vector<std::string> schemes{};        ///< schemes it takes; the first is the default
  std::vector<std::string> shared_keys{};    ///< sections of spec_schema.hpp it reads (solver, ...)
  std::vector<field> own_keys{};             ///< top-level keys only it reads, with their schema
  std::vector<model_capability> needs{};     ///< beyond scores and divergences
  void (*check)(const method_check_input&) = nullptr;  ///< throws spec_error
  method_tables (*tables)(const json& filled, double dimension, double grid_steps) = nullptr;

  bool uses(std::string_view key) const {
    for (const auto& k : shared_keys)
      if (k == key) return true;
    for (const auto& k : own_keys)
      if (k.name == key) return true;
    return false;
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> v = shared_keys;
    for (const auto& k : own_keys) v.push_back(k.name);
    return v;
  }
};

}  // namespace dlogp::runner

#pragma once
// The keys every method reads and the schemes a spec may name (from the library's scheme
// catalogue). The methods themselves, with the keys they own, are methods/registry.hpp.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <dlogp/scheme/catalogue.hpp>

namespace dlogp::runner {

struct scheme_info {
  std::string name;
  std::string summary;
};

/// Keys every method reads; any other top-level key belongs to methods (method_definition).
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

inline std::vector<std::string> scheme_names() {
  std::vector<std::string> v;
  for (const auto& s : scheme_catalogue()) v.push_back(s.name);
  return v;
}

}  // namespace dlogp::runner

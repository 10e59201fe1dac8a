#pragma once
// Reading JSON text strictly: syntax errors name the line and column, duplicate keys (which
// nlohmann_json would silently resolve) are rejected with the pointer of the second one, and
// hostile shapes are refused while parsing, before they cost memory or quadratic time: nesting
// deeper than max_spec_depth, objects with more than max_object_keys keys (an ordered_json
// object finds keys by linear search, and no object of the spec has more than a few dozen), and
// keys or strings longer than max_string_bytes (names and file paths are short; a huge one would
// only be copied into messages).
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "runner_error.hpp"

namespace dlogp::runner {

/// Ordered: the spec echoed in the output keeps the order of the schema tables.
using json = nlohmann::ordered_json;

/// Limits of a spec document (docs/cli.md, "Limits").
inline constexpr std::size_t max_spec_depth = 64;
inline constexpr std::size_t max_object_keys = 1024;
inline constexpr std::size_t max_string_bytes = 4096;

namespace detail {

/// Tracks where the parser is, for the pointer of a duplicate key.
struct pointer_tracker {
  struct frame {
    bool array = false;
    std::size_t index = 0;
    std::string key;
    std::unordered_set<std::string> keys;
  };
  std::vector<frame> stack;
  std::string duplicate;  ///< pointer of the first duplicate key, if any

  /// The pointer of the value the first `frames` containers lead to ("/" for none).
  std::string path(std::size_t frames) const {
    std::string p = "/";
    for (std::size_t i = 0; i < frames; ++i)
      p = stack[i].array ? pointer_append(p, stack[i].index) : pointer_append(p, stack[i].key);
    return p;
  }
  std::string pointer_with(const std::string& last) const {
    return pointer_append(stack.empty() ? "/" : path(stack.size() - 1), last);
  }
  void value_done() {
    if (!stack.empty() && stack.back().array) ++stack.back().index;
  }
  static spec_error too_long(const std::string& where, const std::string& what) {
    return spec_error(where, "has " + what + " longer than " + std::to_string(max_string_bytes) +
                                 " bytes (names and paths are short)");
  }
  bool operator()(int, json::parse_event_t event, json& parsed) {
    using ev = json::parse_event_t;
    switch (event) {
      case ev::object_start:
      case ev::array_start:
        if (stack.size() >= max_spec_depth)
          throw spec_error(path(stack.size()), "nested deeper than " + std::to_string(max_spec_depth) +
                                                 " levels (no spec needs more than a few)");
        stack.push_back({event == ev::array_start, 0, {}, {}});
        break;
      case ev::key: {
        frame& f = stack.back();
        if (parsed.get_ref<const std::string&>().size() > max_string_bytes) throw too_long(path(stack.size() - 1), "a key");
        std::string k = parsed.get<std::string>();
        if (f.keys.size() >= max_object_keys)
          throw spec_error(path(stack.size() - 1), "has more than " + std::to_string(max_object_keys) +
                                                 " keys (no object of the spec has more than a few dozen)");
        if (!f.keys.insert(k).second && duplicate.empty()) duplicate = pointer_with(k);
        f.key = std::move(k);
        break;
      }
      case ev::object_end:
      case ev::array_end:
        stack.pop_back();
        value_done();
        break;
      case ev::value:
        if (parsed.is_string() && parsed.get_ref<const std::string&>().size() > max_string_bytes)
          throw too_long(stack.empty() ? "/" : path(stack.size()), "a string");
        value_done();
        break;
    }
    return true;
  }
};

/// A number as the spec's JSON writes it (messages quote values the way the user wrote them).
inline std::string num(double v) { return json(v).dump(); }

}  // namespace detail

/// Parses a whole JSON document. Throws spec_error at "/" for a syntax error (with line and
/// column) and at the key's pointer for a duplicate key.
inline json parse_json_text(std::string_view text) {
  detail::pointer_tracker tracker;
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(),
                      [&tracker](int d, json::parse_event_t e, json& p) { return tracker(d, e, p); });
  } catch (const json::parse_error& e) {
    // nlohmann's message: "[json.exception.parse_error.101] parse error at line L, column C: ..."
    std::string m = e.what();
    if (const auto p = m.find("] "); p != std::string::npos) m = m.substr(p + 2);
    for (char& c : m)
      if (c == '\n' || c == '\r') c = ' ';
    throw spec_error("/", "invalid JSON: " + m);
  } catch (const json::exception& e) {  // e.g. out_of_range: "number overflow parsing '1e999'"
    std::string m = e.what();
    if (const auto p = m.find("] "); p != std::string::npos) m = m.substr(p + 2);
    throw spec_error("/", "invalid JSON: " + m);
  }
  if (!tracker.duplicate.empty()) throw spec_error(tracker.duplicate, "duplicate key");
  return doc;
}

}  // namespace dlogp::runner

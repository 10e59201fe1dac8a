#pragma once
// Reading JSON text strictly: syntax errors name the line and column, duplicate keys (which
// nlohmann_json would silently resolve) are rejected with the pointer of the second one.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "runner_error.hpp"

namespace dlogp::runner {

/// Ordered: the spec echoed in the output keeps the order of the schema tables.
using json = nlohmann::ordered_json;

namespace detail {

/// Tracks where the parser is, for the pointer of a duplicate key.
struct pointer_tracker {
  struct frame {
    bool array = false;
    std::size_t index = 0;
    std::string key;
    std::vector<std::string> keys;
  };
  std::vector<frame> stack;
  std::string duplicate;  ///< pointer of the first duplicate key, if any

  std::string pointer_with(const std::string& last) const {
    std::string p;
    for (std::size_t i = 0; i + 1 < stack.size(); ++i)
      p = stack[i].array ? pointer_append(p, stack[i].index) : pointer_append(p, stack[i].key);
    return pointer_append(p, last);
  }
  void value_done() {
    if (!stack.empty() && stack.back().array) ++stack.back().index;
  }
  bool operator()(int, json::parse_event_t event, json& parsed) {
    using ev = json::parse_event_t;
    switch (event) {
      case ev::object_start: stack.push_back({false, 0, {}, {}}); break;
      case ev::array_start: stack.push_back({true, 0, {}, {}}); break;
      case ev::key: {
        frame& f = stack.back();
        std::string k = parsed.get<std::string>();
        if (duplicate.empty()) {
          for (const auto& seen : f.keys)
            if (seen == k) {
              duplicate = pointer_with(k);
              break;
            }
        }
        f.keys.push_back(k);
        f.key = std::move(k);
        break;
      }
      case ev::object_end:
      case ev::array_end:
        stack.pop_back();
        value_done();
        break;
      case ev::value: value_done(); break;
    }
    return true;
  }
};

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

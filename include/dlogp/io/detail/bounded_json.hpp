#pragma once
// Parsing a JSON document that came from a file with a bound on its nesting depth: the file
// formats in io/ need a few levels, and a hostile document of a million '[' would otherwise
// cost memory and time out of proportion to what it can mean.
#include <nlohmann/json.hpp>
#include <string>

namespace dlogp::detail {

/// Parses text; a syntax error or a nesting deeper than max_depth calls fail(message).
template <class Fail>
nlohmann::json parse_bounded_json(const std::string& text, int max_depth, Fail&& fail) {
  struct too_deep {};  // leaves the parser at the first level too many
  const nlohmann::json::parser_callback_t depth_check =
      [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        if (depth > max_depth) throw too_deep{};
        return true;
      };
  try {
    return nlohmann::json::parse(text, depth_check);
  } catch (const too_deep&) {
    fail("JSON nested deeper than " + std::to_string(max_depth) + " levels");
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("not JSON: ") + e.what());
  }
  return {};
}

}  // namespace dlogp::detail

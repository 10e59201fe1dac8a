#pragma once
// A small declarative schema: ONE description of every key drives the generic validation
// (types, ranges, choices, unknown keys with "did you mean", defaults) and the JSON Schema
// that `dlogp-run --schema` prints, so the two cannot drift apart. Checks that relate several
// keys (dimensions, time ranges, the method's keys) are in spec.hpp.
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "json_text.hpp"
#include "runner_error.hpp"
#include "suggest.hpp"

namespace dlogp::runner {

enum class node_type { object, number, integer, boolean, string, array };

struct node;
using node_ptr = std::shared_ptr<const node>;

struct field {
  std::string name;
  node_ptr value;
  bool required = false;
};

struct node {
  node_type type = node_type::object;
  std::string description;
  std::optional<json> default_value;  ///< filled in when the key is absent
  std::string computed_default;       ///< the default depends on other keys (filled by spec.hpp)
  bool nullable = false;              ///< null is accepted (and means "not given")
  // number, integer
  std::optional<double> min, max;
  bool min_exclusive = false, max_exclusive = false;
  bool unsigned64 = false;  ///< integer in [0, 2^64 - 1] (seeds)
  // string
  std::vector<std::string> choices;
  std::string noun = "value";  ///< for "unknown <noun> "x"; did you mean ..."
  // array
  node_ptr items;
  long min_items = 0, max_items = -1;
  node_ptr object_form;  ///< an array that may also be given as this object (e.g. {"file": ...})
  // object
  std::vector<field> fields;
  std::vector<std::vector<std::string>> exactly_one_of;
  // object with variants chosen by the string key `tag` (e.g. process "type")
  std::string tag;
  std::vector<std::pair<std::string, node_ptr>> variants;

  // Chainable modifiers (used to build the tables).
  node def(json v) const { node c = *this; c.default_value = std::move(v); return c; }
  node computed(std::string how) const { node c = *this; c.computed_default = std::move(how); return c; }
  node or_null() const { node c = *this; c.nullable = true; return c; }
  node at_least(double v) const { node c = *this; c.min = v; c.min_exclusive = false; return c; }
  node above(double v) const { node c = *this; c.min = v; c.min_exclusive = true; return c; }
  node at_most(double v) const { node c = *this; c.max = v; c.max_exclusive = false; return c; }
  node below(double v) const { node c = *this; c.max = v; c.max_exclusive = true; return c; }
  node items_between(long lo, long hi) const { node c = *this; c.min_items = lo; c.max_items = hi; return c; }
  node non_empty() const { node c = *this; c.min_items = 1; return c; }
  node or_object(node o) const { node c = *this; c.object_form = std::make_shared<const node>(std::move(o)); return c; }
};

// ------------------------------------------------------------------ builders
inline node number_node(std::string d) { node n; n.type = node_type::number; n.description = std::move(d); return n; }
inline node integer_node(std::string d) { node n; n.type = node_type::integer; n.description = std::move(d); return n; }
inline node boolean_node(std::string d) { node n; n.type = node_type::boolean; n.description = std::move(d); return n; }
inline node string_node(std::string d, std::vector<std::string> choices, std::string noun = "value") {
  node n;
  n.type = node_type::string;
  n.description = std::move(d);
  n.choices = std::move(choices);
  n.noun = std::move(noun);
  return n;
}
inline node array_node(std::string d, node items) {
  node n;
  n.type = node_type::array;
  n.description = std::move(d);
  n.items = std::make_shared<const node>(std::move(items));
  return n;
}
inline node object_node(std::string d, std::vector<field> fields) {
  node n;
  n.type = node_type::object;
  n.description = std::move(d);
  n.fields = std::move(fields);
  return n;
}
inline node variant_node(std::string d, std::string tag, std::string noun,
                         std::vector<std::pair<std::string, node>> vs) {
  node n;
  n.noun = std::move(noun);
  n.type = node_type::object;
  n.description = std::move(d);
  n.tag = std::move(tag);
  for (auto& [name, v] : vs) n.variants.emplace_back(name, std::make_shared<const node>(std::move(v)));
  return n;
}
inline field key(std::string name, node n) { return {std::move(name), std::make_shared<const node>(std::move(n)), false}; }
inline field required_key(std::string name, node n) { return {std::move(name), std::make_shared<const node>(std::move(n)), true}; }

// ------------------------------------------------------------------ validation
namespace detail {

inline std::string type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    default: return "an invalid value";
  }
}

/// A short rendering of a value for messages (long arrays and objects are not repeated).
inline std::string show(const json& v) {
  if (v.is_array() || v.is_object()) return type_name(v);
  std::string s = v.dump();
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

/// 1 rather than 1.0 for whole numbers (bounds of integer keys), else the JSON form.
inline std::string num_text(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  return json(v).dump();
}

inline std::string range_text(const node& n) {
  const bool lo = n.min.has_value(), hi = n.max.has_value();
  if (lo && hi)
    return "must be in " + std::string(n.min_exclusive ? "(" : "[") + num_text(*n.min) + ", " +
           num_text(*n.max) + (n.max_exclusive ? ")" : "]");
  if (lo) {
    if (*n.min == 0) return n.min_exclusive ? "must be positive" : "must not be negative";
    return std::string("must be ") + (n.min_exclusive ? "greater than " : "at least ") + num_text(*n.min);
  }
  return std::string("must be ") + (n.max_exclusive ? "less than " : "at most ") + num_text(*n.max);
}

inline void check_range(const node& n, double v, const std::string& ptr, const json& in) {
  const bool bad_lo = n.min && (n.min_exclusive ? !(v > *n.min) : !(v >= *n.min));
  const bool bad_hi = n.max && (n.max_exclusive ? !(v < *n.max) : !(v <= *n.max));
  if (bad_lo || bad_hi) throw spec_error(ptr, range_text(n) + " (got " + show(in) + ")");
}

inline std::vector<std::string> field_names(const node& n) {
  std::vector<std::string> names;
  for (const auto& f : n.fields) names.push_back(f.name);
  return names;
}

/// The message for an unknown key: a close spelling, the sub-object it belongs in, or the list.
inline std::string unknown_key_message(const std::string& k, const node& n, const std::string& where) {
  std::string m = "unknown key \"" + k + "\"" + where;
  for (const auto& f : n.fields)  // a key of a sub-object given one level too high
    for (const auto& g : f.value->fields)
      if (g.name == k) return m + "; it belongs inside \"" + f.name + "\"";
  const std::string guess = closest(k, field_names(n));
  if (!guess.empty()) return m + "; did you mean \"" + guess + "\"?";
  return m + "; expected " + quoted_list(field_names(n));
}

}  // namespace detail

/// Validates `in` against `n` and returns it normalised (integers as integers, numbers as
/// doubles) with every static default filled in and a null placeholder for computed defaults
/// (so spec.hpp can fill them without changing the key order). Throws spec_error.
inline json check(const node& n, const json& in, const std::string& ptr) {
  using detail::show;
  if (n.nullable && in.is_null()) return nullptr;
  switch (n.type) {
    case node_type::boolean:
      if (!in.is_boolean()) throw spec_error(ptr, "must be true or false (got " + show(in) + ")");
      return in;
    case node_type::string: {
      if (!in.is_string()) throw spec_error(ptr, "must be a string (got " + show(in) + ")");
      const auto s = in.get<std::string>();
      if (n.choices.empty()) return in;
      for (const auto& c : n.choices)
        if (c == s) return in;
      const std::string guess = closest(s, n.choices);
      throw spec_error(ptr, "unknown " + n.noun + " \"" + s + "\"" +
                                (guess.empty() ? "; expected " + quoted_list(n.choices)
                                               : "; did you mean \"" + guess + "\"?"));
    }
    case node_type::number: {
      if (!in.is_number()) throw spec_error(ptr, "must be a number (got " + show(in) + ")");
      const double v = in.get<double>();
      if (!std::isfinite(v)) throw spec_error(ptr, "must be a finite number (got " + show(in) + ")");
      detail::check_range(n, v, ptr, in);
      return v;
    }
    case node_type::integer: {
      if (!in.is_number()) throw spec_error(ptr, "must be an integer (got " + show(in) + ")");
      if (n.unsigned64) {
        if (in.is_number_unsigned()) return in.get<std::uint64_t>();
        if (in.is_number_integer()) {
          if (in.get<std::int64_t>() < 0)
            throw spec_error(ptr, "must not be negative (got " + show(in) + ")");
          return std::uint64_t(in.get<std::int64_t>());
        }
        const double v = in.get<double>();
        if (!(v >= 0 && v < 18446744073709551616.0 && v == std::floor(v)))
          throw spec_error(ptr, "must be an integer in [0, 2^64) (got " + show(in) + ")");
        return std::uint64_t(v);
      }
      const double v = in.get<double>();
      if (!std::isfinite(v) || v != std::floor(v))
        throw spec_error(ptr, "must be an integer (got " + show(in) + ")");
      detail::check_range(n, v, ptr, in);
      if (std::abs(v) > 9.0e15) throw spec_error(ptr, "is too large (got " + show(in) + ")");
      return std::int64_t(v);
    }
    case node_type::array: {
      if (n.object_form && in.is_object()) return check(*n.object_form, in, ptr);
      if (!in.is_array())
        throw spec_error(ptr, std::string(n.object_form ? "must be an array or an object" : "must be an array") +
                                  " (got " + show(in) + ")");
      const long size = long(in.size());
      if (n.min_items > 0 && size < n.min_items)
        throw spec_error(ptr, n.min_items == 1 ? std::string("must not be empty")
                                               : "must have " + std::to_string(n.min_items) + " items (got " + std::to_string(size) + ")");
      if (n.max_items >= 0 && size > n.max_items)
        throw spec_error(ptr, "must have " + (n.max_items == n.min_items ? std::string() : "at most ") +
                                  std::to_string(n.max_items) + " items (got " + std::to_string(size) + ")");
      json out = json::array();
      for (std::size_t i = 0; i < in.size(); ++i) out.push_back(check(*n.items, in[i], pointer_append(ptr, i)));
      return out;
    }
    case node_type::object: break;
  }
  if (!in.is_object()) throw spec_error(ptr, "must be an object (got " + show(in) + ")");
  if (!n.variants.empty()) {
    const auto it = in.find(n.tag);
    const std::string tag_ptr = pointer_append(ptr, n.tag);
    if (it == in.end()) throw spec_error(tag_ptr, "required key is missing");
    if (!it->is_string()) throw spec_error(tag_ptr, "must be a string (got " + show(*it) + ")");
    std::vector<std::string> names;
    for (const auto& [name, v] : n.variants) {
      if (name == it->get<std::string>()) {
        // Unknown keys name the variant: "process type "ve" has no key "beta_min"".
        for (auto k = in.begin(); k != in.end(); ++k) {
          bool known = false;
          for (const auto& f : v->fields) known = known || f.name == k.key();
          if (!known)
            throw spec_error(pointer_append(ptr, k.key()),
                             detail::unknown_key_message(k.key(), *v, " for " + n.noun + " \"" + name + "\""));
        }
        return check(*v, in, ptr);
      }
      names.push_back(name);
    }
    const std::string s = it->get<std::string>(), guess = closest(s, names);
    throw spec_error(tag_ptr, "unknown " + n.noun + " \"" + s + "\"" +
                                  (guess.empty() ? "; expected " + quoted_list(names)
                                                 : "; did you mean \"" + guess + "\"?"));
  }
  for (auto k = in.begin(); k != in.end(); ++k) {
    bool known = false;
    for (const auto& f : n.fields) known = known || f.name == k.key();
    if (!known) throw spec_error(pointer_append(ptr, k.key()), detail::unknown_key_message(k.key(), n, ""));
  }
  for (const auto& group : n.exactly_one_of) {
    std::vector<std::string> present;
    for (const auto& g : group)
      if (in.contains(g)) present.push_back(g);
    if (present.empty()) throw spec_error(ptr, "needs one of " + quoted_list(group));
    if (present.size() > 1)
      throw spec_error(pointer_append(ptr, present[1]),
                       "conflicts with \"" + present[0] + "\": give only one of " + quoted_list(group));
  }
  json out = json::object();
  for (const auto& f : n.fields) {
    const std::string p = pointer_append(ptr, f.name);
    const auto it = in.find(f.name);
    if (it != in.end()) out[f.name] = check(*f.value, *it, p);
    else if (f.required) throw spec_error(p, "required key is missing");
    else if (f.value->default_value) out[f.name] = *f.value->default_value;
    else if (!f.value->computed_default.empty()) out[f.name] = nullptr;
    else if (f.value->type == node_type::object && !f.value->nullable && f.value->variants.empty())
      out[f.name] = check(*f.value, json::object(), p);  // an optional group: all its defaults
    else if (f.value->nullable) out[f.name] = nullptr;
    // else: an alternative (exactly_one_of) that was not given
  }
  return out;
}

// ------------------------------------------------------------------ JSON Schema
inline json to_json_schema(const node& n) {
  json s = json::object();
  auto typed = [&](const char* t) {
    if (n.nullable) s["type"] = json::array({t, "null"});
    else s["type"] = t;
  };
  std::string desc = n.description;
  if (!n.computed_default.empty()) desc += (desc.empty() ? "" : " ") + std::string("Default: ") + n.computed_default + ".";
  if (!desc.empty()) s["description"] = desc;
  switch (n.type) {
    case node_type::boolean: typed("boolean"); break;
    case node_type::string:
      typed("string");
      if (!n.choices.empty()) s["enum"] = n.choices;
      break;
    case node_type::number:
    case node_type::integer:
      typed(n.type == node_type::number ? "number" : "integer");
      if (n.unsigned64) {
        s["minimum"] = 0;
        s["maximum"] = std::numeric_limits<std::uint64_t>::max();
      }
      if (n.min) s[n.min_exclusive ? "exclusiveMinimum" : "minimum"] = *n.min;
      if (n.max) s[n.max_exclusive ? "exclusiveMaximum" : "maximum"] = *n.max;
      break;
    case node_type::array:
      typed("array");
      s["items"] = to_json_schema(*n.items);
      if (n.min_items > 0) s["minItems"] = n.min_items;
      if (n.max_items >= 0) s["maxItems"] = n.max_items;
      if (n.object_form) {  // the array form, or the object form, or null
        json array_form = s, object_form = to_json_schema(*n.object_form);
        array_form.erase("description");
        array_form["type"] = "array";
        object_form.erase("description");
        s = json::object();
        if (!desc.empty()) s["description"] = desc;
        s["oneOf"] = json::array({array_form, object_form});
        if (n.nullable) s["oneOf"].push_back(json{{"type", "null"}});
      }
      break;
    case node_type::object:
      typed("object");
      if (!n.variants.empty()) {
        s["required"] = json::array({n.tag});
        json one = json::array();
        for (const auto& [name, v] : n.variants) {
          json vs = to_json_schema(*v);
          vs["properties"][n.tag] = json{{"const", name}};
          one.push_back(vs);
        }
        s["oneOf"] = one;
        break;
      }
      json props = json::object(), req = json::array();
      for (const auto& f : n.fields) {
        props[f.name] = to_json_schema(*f.value);
        if (f.required) req.push_back(f.name);
      }
      s["properties"] = props;
      if (!req.empty()) s["required"] = req;
      s["additionalProperties"] = false;
      for (const auto& group : n.exactly_one_of) {
        json one = json::array();
        for (const auto& g : group) one.push_back(json{{"required", json::array({g})}});
        s["oneOf"] = one;
      }
      break;
  }
  if (n.default_value) s["default"] = *n.default_value;
  return s;
}

}  // namespace dlogp::runner

#pragma once
// Errors with stable ids: every message starts with "[dlogp.<id>] ".
#include <cstdio>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace dlogp {

class error : public std::runtime_error {
 public:
  error(std::string id, const std::string& message)
      : std::runtime_error("[dlogp." + id + "] " + message), id_(std::move(id)) {}
  /// The stable id, e.g. "invalid_argument"; scripts may match on it.
  const std::string& id() const noexcept { return id_; }

 private:
  std::string id_;
};

class invalid_argument : public error {
 public:
  explicit invalid_argument(const std::string& m) : error("invalid_argument", m) {}
};

class dimension_mismatch : public error {
 public:
  explicit dimension_mismatch(const std::string& m) : error("dimension_mismatch", m) {}
};

class numerical_error : public error {
 public:
  explicit numerical_error(const std::string& m) : error("numerical_error", m) {}
};

/// A run entry point could not get the memory it needed (std::bad_alloc, or a size beyond what
/// can be allocated at all). The whole call fails: no trajectory's result can be trusted.
class out_of_memory : public error {
 public:
  explicit out_of_memory(const std::string& m) : error("out_of_memory", m) {}
};

namespace detail {
/// A number for a message, in its shortest form that reads back to the same double (1, 0.001,
/// 1e-09, inf): std::to_string's fixed 6 decimals print 1e-9 as 0.000000.
inline std::string number(double v) {
  char buf[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;  // never true for NaN: 17 digits, "nan"
  }
  return buf;
}

/// Runs f() and turns an allocation failure into out_of_memory, so that the public run entry
/// points throw only dlogp::error (a std::bad_alloc says nothing about which call or why).
template <class F>
decltype(auto) translating_bad_alloc(const char* who, F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (const std::bad_alloc&) {
    throw out_of_memory(std::string(who) +
                        ": out of memory (std::bad_alloc); use fewer trajectories or a smaller "
                        "batch_size");
  } catch (const std::length_error& e) {
    throw out_of_memory(std::string(who) + ": a size beyond what can be allocated (" + e.what() +
                        ")");
  }
}

inline void require(bool ok, const std::string& message) {
  if (!ok) throw invalid_argument(message);
}
inline void require_dimension(long expected, long got, const std::string& what) {
  if (expected != got)
    throw dimension_mismatch(what + ": expected dimension " + std::to_string(expected) +
                             ", got " + std::to_string(got));
}
}  // namespace detail
}  // namespace dlogp

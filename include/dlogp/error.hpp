#pragma once
// Errors with stable ids: every message starts with "[dlogp.<id>] ".
#include <stdexcept>
#include <string>

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

namespace detail {
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

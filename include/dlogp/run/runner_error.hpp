#pragma once
// The runner's user-facing errors. Each becomes ONE line on stderr and exit status 2:
//   [dlogp.spec] /json/pointer: message     (the spec)
//   [dlogp.cli] --option: message           (the command line, reading the spec, the output file)
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dlogp::runner {

/// `text` safe to print on one terminal line: control characters (newlines, escapes, DEL)
/// become \xNN, so a key, name or path from the user can neither split the error line nor
/// send escape sequences to the terminal; beyond `max_bytes` the middle is left out.
inline std::string printable(std::string_view text, std::size_t max_bytes = 2048) {
  if (text.size() > max_bytes) {
    const std::size_t keep = max_bytes / 2;
    return printable(text.substr(0, keep), keep) + "[... " + std::to_string(text.size() - 2 * keep) +
           " bytes ...]" + printable(text.substr(text.size() - keep), keep);
  }
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(u));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

class runner_error : public std::runtime_error {
 public:
  runner_error(std::string id, std::string where, std::string message)
      : std::runtime_error("[dlogp." + id + "] " + printable(where) + ": " + printable(message)),
        id_(std::move(id)),
        where_(std::move(where)),
        message_(std::move(message)) {}
  const std::string& id() const noexcept { return id_; }
  /// JSON pointer ("/model/weights/1", "/" for the whole document) or command-line option.
  const std::string& where() const noexcept { return where_; }
  const std::string& message() const noexcept { return message_; }

 private:
  std::string id_, where_, message_;
};

/// An invalid spec: `pointer` is an RFC 6901 JSON pointer into the spec ("/" = the document).
class spec_error : public runner_error {
 public:
  spec_error(std::string pointer, std::string message)
      : runner_error("spec", pointer.empty() ? "/" : std::move(pointer), std::move(message)) {}
};

/// An invalid command line, unreadable spec file or unwritable output file.
class cli_error : public runner_error {
 public:
  cli_error(std::string option, std::string message)
      : runner_error("cli", std::move(option), std::move(message)) {}
};

/// Appends one reference token to a JSON pointer, escaping '~' and '/' (RFC 6901).
inline std::string pointer_append(const std::string& pointer, const std::string& token) {
  std::string out = pointer == "/" ? std::string() : pointer;
  out += '/';
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}
inline std::string pointer_append(const std::string& pointer, std::size_t index) {
  return pointer_append(pointer, std::to_string(index));
}

namespace detail {

/// A library message without its "[dlogp.<id>] " prefix (the runner names the key instead).
inline std::string strip_id(const std::string& what) {
  if (!what.empty() && what[0] == '[')
    if (const auto p = what.find("] "); p != std::string::npos) return what.substr(p + 2);
  return what;
}

}  // namespace detail

}  // namespace dlogp::runner

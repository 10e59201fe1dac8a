#pragma once
// "Did you mean ...?" for unknown keys, methods, schemes and options.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace dlogp::runner {

/// Words longer than this get no suggestion: no key or name of the spec is near it, and the
/// distance costs O(length x candidate) time.
inline constexpr std::size_t max_suggestion_length = 64;

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), ignoring case,
/// so "stpes" is one edit from "steps". Three rolling rows: O(min) memory, never a full table.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return char(std::tolower(static_cast<unsigned char>(c))); };
  const std::size_t m = b.size();
  std::vector<std::size_t> before(m + 1), prev(m + 1), cur(m + 1);  // rows i - 2, i - 1, i
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]))
        cur[j] = std::min(cur[j], before[j - 2] + 1);
    }
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

/// The closest candidate when it is close enough to be a plausible typo (at most a third of the
/// word, at least one edit), else "". Ties go to the first candidate, so the order is stable.
template <class Range>
std::string closest(std::string_view word, const Range& candidates) {
  std::string best;
  if (word.size() > max_suggestion_length) return best;
  std::size_t best_d = std::string_view::npos;
  for (const auto& c : candidates) {
    const std::string_view cv(c);
    if (cv.size() > max_suggestion_length) continue;
    const std::size_t d = edit_distance(word, cv);
    const std::size_t limit = std::max<std::size_t>(1, std::min(word.size(), cv.size()) / 3);
    if (d <= limit && d < best_d) {
      best_d = d;
      best = std::string(cv);
    }
  }
  return best;
}

/// "a", "b" or "c"
template <class Range>
std::string quoted_list(const Range& items, std::string_view last_sep = " or ") {
  std::vector<std::string> v;
  for (const auto& s : items) {
    std::string q(1, '"');  // appended, not "\"" + std::string(..): GCC 12's -Wrestrict misfires
    q.append(std::string_view(s));
    q.push_back('"');
    v.push_back(std::move(q));
  }
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += (i + 1 == v.size()) ? std::string(last_sep) : std::string(", ");
    out += v[i];
  }
  return out;
}

}  // namespace dlogp::runner

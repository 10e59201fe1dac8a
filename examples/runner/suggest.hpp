#pragma once
// "Did you mean ...?" for unknown keys, methods, schemes and options.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace dlogp::runner {

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), ignoring case,
/// so "stpes" is one edit from "steps".
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return char(std::tolower(static_cast<unsigned char>(c))); };
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i)
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

/// The closest candidate when it is close enough to be a plausible typo (at most a third of the
/// word, at least one edit), else "". Ties go to the first candidate, so the order is stable.
template <class Range>
std::string closest(std::string_view word, const Range& candidates) {
  std::string best;
  std::size_t best_d = std::string_view::npos;
  for (const auto& c : candidates) {
    const std::string_view cv(c);
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

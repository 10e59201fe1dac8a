#pragma once
// Refusing a run that cannot fit in memory BEFORE allocating anything for it.
#include <cstdint>
#include <cstdio>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace dlogp::runner {

/// Physical memory of the machine in bytes (0 when unknown: no limit is applied then).
inline double physical_memory_bytes() {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGE_SIZE)
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0) return double(pages) * double(page);
#endif
  return 0;
}

/// Bytes a run holds at once: per trajectory the start and end states, a working copy and the
/// statistics, plus the recorded states and the time grid. Deliberately generous (factor 4 on
/// the states): the point is to refuse absurd runs cleanly, not to plan tight ones.
inline double run_memory_bytes(double n, double dim, double recorded_states, double grid_points) {
  const double per_trajectory = 4.0 * dim * 8.0 + 256.0 + recorded_states * (dim + 2.0) * 8.0 * 1.5;
  return n * per_trajectory + grid_points * 8.0;
}

inline std::string human_bytes(double b) {
  const char* units[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (b >= 1000.0 && u < 6) {
    b /= 1000.0;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

}  // namespace dlogp::runner

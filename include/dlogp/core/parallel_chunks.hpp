#pragma once
// The one parallel loop of the library: independent chunks of work, in parallel where OpenMP is
// on. Results never depend on how chunks are spread over threads (each chunk computes from its
// own inputs into its own outputs), so the thread count changes only the time a call takes.
// An exception in any chunk does not cross the OpenMP region (that would terminate the
// process): the first one caught is rethrown after the loop, once every chunk has finished.
#include <algorithm>
#include <exception>
#include <string>

#include "dlogp/config.hpp"
#include "dlogp/core/threads.hpp"
#include "dlogp/error.hpp"

namespace dlogp {

/// How a call spreads its work: these settings never change results.
struct execution_options {
  long batch_size = 64;  ///< work units (trajectories, terms) per chunk
  int threads = 0;       ///< 0: OpenMP's default, 1: serial (core/threads.hpp)
};

}  // namespace dlogp

namespace dlogp::detail {

/// batch_size >= 1 and threads >= 0.
inline void require_execution_options(const std::string& who, const execution_options& e) {
  require(e.batch_size >= 1,
          who + ": batch_size must be >= 1 (" + std::to_string(e.batch_size) + ")");
  require(e.threads >= 0, who + ": threads must be >= 0 (" + std::to_string(e.threads) + ")");
}

/// Calls body(c, first, count) for every chunk c of [0, n) in chunks of execution.batch_size
/// (>= 1), on up to execution.threads threads (0: OpenMP's default; threads_for_chunks caps it).
template <class Body>
void for_each_chunk(long n, const execution_options& execution, Body&& body) {
  const long chunk_size = execution.batch_size;
  const int threads = execution.threads;
  const long n_chunks = chunk_count(n, chunk_size);
  std::exception_ptr failure;
#if DLOGP_HAS_OPENMP
  const int team = threads_for_chunks(threads, omp_get_max_threads(), n_chunks);
#pragma omp parallel for schedule(dynamic, 1) num_threads(team)
#endif
  for (long c = 0; c < n_chunks; ++c) {
    try {
      const long first = c * chunk_size;
      body(c, first, std::min(chunk_size, n - first));
    } catch (...) {
#if DLOGP_HAS_OPENMP
#pragma omp critical(dlogp_chunk_failure)
#endif
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  (void)threads;
}

}  // namespace dlogp::detail

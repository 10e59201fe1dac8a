#pragma once
// The one parallel loop of the library: independent chunks of work, in parallel where OpenMP is
// on. Results never depend on how chunks are spread over threads (each chunk computes from its
// own inputs into its own outputs), so the thread count changes only the time a call takes.
// An exception in any chunk does not cross the OpenMP region (that would terminate the
// process): the first one caught is rethrown after the loop, once every chunk has finished.
#include <algorithm>
#include <exception>

#include "dlogp/config.hpp"
#include "dlogp/core/threads.hpp"

namespace dlogp::detail {

/// Calls body(c, first, count) for every chunk c of [0, n) in chunks of chunk_size (>= 1), on up
/// to `threads` threads (0: OpenMP's default; threads_for_chunks caps it).
template <class Body>
void for_each_chunk(long n, long chunk_size, int threads, Body&& body) {
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

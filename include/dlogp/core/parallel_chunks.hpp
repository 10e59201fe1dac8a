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
  /// Work units (trajectories, terms) per chunk; 0: chosen per call (detail::chunk_size):
  /// 64, or more for a model with a fixed cost per call (see call_overhead()).
  long batch_size = 0;
  int threads = 0;  ///< 0: OpenMP's default, 1: serial (core/threads.hpp)
};

}  // namespace dlogp

namespace dlogp::detail {

/// batch_size >= 0 and threads >= 0.
inline void require_execution_options(const std::string& who, const execution_options& e) {
  require(e.batch_size >= 0, who + ": batch_size must be >= 0, 0 to let dlogp choose (" +
                                 std::to_string(e.batch_size) + ")");
  require(e.threads >= 0, who + ": threads must be >= 0 (" + std::to_string(e.threads) + ")");
}

/// The chunk size of a call without a batch_size of its own.
inline constexpr long default_chunk = 64;

/// The most state values (D times trajectories) a chunk grows to for a model's preference:
/// 8 MiB of doubles per D x n array, of which a scheme holds a few per thread.
inline constexpr long max_preferred_chunk_values = 1L << 20;

/// The chunk a model asks for: a model whose calls carry a fixed cost (a factorisation per
/// time, say) reports it as call_overhead(), in units of one column's work; chunks of 20 times
/// that keep it near 5% of a call, as long as a chunk's D x n arrays stay within
/// max_preferred_chunk_values. Models without one get default_chunk.
template <class Model>
long preferred_chunk(const Model& model) {
  if constexpr (requires { model.call_overhead(); }) {
    const long overhead = long(model.call_overhead());
    const long by_memory = max_preferred_chunk_values / std::max(1L, long(model.dimension()));
    // overhead >= by_memory / 20 first: 20 * overhead must not overflow for any report.
    return std::max(default_chunk, overhead >= by_memory / 20 ? by_memory : 20 * overhead);
  } else {
    return default_chunk;
  }
}

/// The chunk size for n work units: execution.batch_size when given; otherwise `preferred`
/// (default_chunk or a model's preferred_chunk), cut so that every thread gets about four
/// chunks, but never below default_chunk. Results never depend on it.
inline long chunk_size(long n, const execution_options& execution,
                       long preferred = default_chunk) {
  if (execution.batch_size > 0) return execution.batch_size;
#if DLOGP_HAS_OPENMP
  const long threads = execution.threads > 0 ? execution.threads : omp_get_max_threads();
#else
  const long threads = 1;
#endif
  const long per_thread = chunk_count(n, 4 * threads);
  return std::max(default_chunk, std::min(preferred, per_thread));
}

/// Calls body(c, first, count) for every chunk c of [0, n) in chunks of chunk_size(n,
/// execution, preferred), on up to execution.threads threads (0: OpenMP's default;
/// threads_for_chunks caps it).
template <class Body>
void for_each_chunk(long n, const execution_options& execution, Body&& body,
                    long preferred = default_chunk) {
  const long size = chunk_size(n, execution, preferred);
  const int threads = execution.threads;
  const long n_chunks = chunk_count(n, size);
  std::exception_ptr failure;
#if DLOGP_HAS_OPENMP
  const int team = threads_for_chunks(threads, omp_get_max_threads(), n_chunks);
#pragma omp parallel for schedule(dynamic, 1) num_threads(team)
#endif
  for (long c = 0; c < n_chunks; ++c) {
    try {
      const long first = c * size;
      body(c, first, std::min(size, n - first));
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

#pragma once
// How many threads a parallel loop can really have.
//
// When libgomp cannot create the threads a parallel region asks for (too many, or a low
// `ulimit -u`), it prints its own message and calls exit(): past any catch, so a library call
// would end the user's process. The chunked loops therefore ask only for threads that exist:
// never more than their chunks (clamped at the call site), and, beyond the hardware's
// concurrency, only as many as could just be created. Results never depend on the thread count
// (chunks are independent), so fewer threads change the time a run takes, nothing else.
#include <algorithm>
#include <latch>
#include <new>
#include <system_error>
#include <thread>
#include <vector>

namespace dlogp {

/// The number of threads (>= 1) a parallel loop may use when `wanted` are asked for. Up to the
/// hardware's concurrency the answer is `wanted`; above it, wanted - 1 short-lived threads are
/// created (all alive at once, as a team would be) and the answer is how many of them could be,
/// plus the calling thread. Nothing is cached: the answer follows the limits of the moment.
inline int usable_threads(int wanted) {
  if (wanted <= 1) return 1;
  const int hardware = int(std::max(1u, std::thread::hardware_concurrency()));
  if (wanted <= hardware) return wanted;
  std::latch release(1);
  std::vector<std::thread> probes;
  int created = 0;
  try {
    probes.reserve(std::size_t(wanted - 1));
    for (; created < wanted - 1; ++created) probes.emplace_back([&release] { release.wait(); });
  } catch (const std::system_error&) {
    // Thread creation refused (EAGAIN): `created` threads is what the system gives us now.
  } catch (const std::bad_alloc&) {
    // No memory for more thread handles or stacks: the same answer.
  }
  release.count_down();
  for (auto& t : probes) t.join();
  return std::max(1, created + 1);
}

namespace detail {
/// Number of chunks of `size` work units covering n (size >= 1), without the overflow of
/// (n + size - 1) / size for a huge size (batch_size = LONG_MAX made it negative: no chunks).
inline long chunk_count(long n, long size) { return n / size + (n % size != 0); }
}  // namespace detail

/// Threads for a loop over `chunks` independent work units: the request (0: OpenMP's default),
/// never more than the chunks, and never more than can be created (usable_threads).
inline int threads_for_chunks(int requested, int openmp_default, long chunks) {
  const long wanted = std::min<long>(requested > 0 ? requested : openmp_default, chunks);
  return usable_threads(int(std::max<long>(1, wanted)));
}

}  // namespace dlogp

#pragma once
// Build-time switches. OpenMP is used only when the consumer compiles with it.
#include <cstdlib>

#if defined(_OPENMP)
#include <omp.h>
#define DLOGP_HAS_OPENMP 1
#else
#define DLOGP_HAS_OPENMP 0
#endif

// Internal invariants; never used for user input (that throws dlogp::error).
#if defined(DLOGP_DISABLE_ASSERT) || defined(NDEBUG)
#define DLOGP_ASSERT(cond) ((void)0)
#else
#include <cstdio>
#define DLOGP_ASSERT(cond)                                                                   \
  ((cond) ? (void)0                                                                          \
          : (std::fprintf(stderr, "dlogp internal invariant failed: %s (%s:%d)\n", #cond,    \
                          __FILE__, __LINE__),                                               \
             std::abort()))
#endif

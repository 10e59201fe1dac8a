#pragma once
// DLOGP_PINNED_FP_BEGIN / DLOGP_PINNED_FP_END bracket the library's numerical kernels (at file
// scope) and switch floating-point contraction off inside them, whatever the user's flags.
//
// Why: with FMA in the instruction set, GCC's default -ffp-contract=fast fuses a * b + c into
// one rounding wherever it likes, and a vectorised loop body and its scalar tail are fused
// differently: the same column then gets different bits at different batch positions. With
// contraction off, every operation is one IEEE rounding, identical in scalar code and in every
// SIMD lane, so a kernel's result depends only on its inputs (docs/reproducibility.md).
//
// GCC: `optimize("fp-contract=off")` on the bracketed functions; code they call inline follows
// it, but they are not inlined into callers outside a bracket (a call per kernel invocation,
// which is why kernels take whole batches). Clang: `fp contract(off)`, honoured unless the user
// passes -ffp-contract=fast (clang then ignores the pragma; -ffp-contract=fast-honor-pragmas
// keeps it). Other compilers: the user's flags decide.
#if defined(__clang__)
#define DLOGP_PINNED_FP_BEGIN _Pragma("float_control(push)") _Pragma("clang fp contract(off)")
#define DLOGP_PINNED_FP_END _Pragma("float_control(pop)")
#elif defined(__GNUC__)
#define DLOGP_PINNED_FP_BEGIN \
  _Pragma("GCC push_options") _Pragma("GCC optimize(\"fp-contract=off\")")
#define DLOGP_PINNED_FP_END _Pragma("GCC pop_options")
#else
#define DLOGP_PINNED_FP_BEGIN
#define DLOGP_PINNED_FP_END
#endif

// Vector loops chosen at run time (docs/design.md, section 2): on x86-64 with GCC or
// Clang a loop may come in a 4-wide (AVX) version, used where the CPU has AVX; the
// default build targets baseline x86-64 (2-wide SSE2). The versions perform the same
// operations in the same order (elementwise, no FMA), so their results are the same
// bit for bit. EXACTRELU_NO_AVX builds without the 4-wide versions, EXACTRELU_SCALAR
// without any hand-written vector code (to check them against each other).
#pragma once

#if defined(__SSE2__) && !defined(EXACTRELU_SCALAR)
#include <emmintrin.h>
#define EXACTRELU_SSE2 1
#endif

#if defined(__GNUC__) && defined(__x86_64__) && !defined(EXACTRELU_SCALAR) && !defined(EXACTRELU_NO_AVX)
#include <immintrin.h>
#define EXACTRELU_AVX_DISPATCH 1
// A function compiled for AVX (the caller checks cpu_has_avx first).
#define EXACTRELU_TARGET_AVX __attribute__((target("avx")))
#endif

namespace exactrelu {

// Whether the 4-wide versions may run on this CPU.
inline bool cpu_has_avx() {
#if defined(EXACTRELU_AVX_DISPATCH)
    static const bool has = __builtin_cpu_supports("avx");
    return has;
#else
    return false;
#endif
}

}  // namespace exactrelu

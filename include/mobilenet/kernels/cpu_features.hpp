// SPDX-License-Identifier: MIT
#pragma once
// Which SIMD instruction set the fast kernels use. A header-only library cannot rely on the
// app's -march flags (most apps build for baseline x86-64), so on x86 with GCC or clang the
// AVX2 and AVX-512 kernels are compiled with per-function target attributes and chosen at
// run time from CPUID. On ARM64, NEON is part of the baseline. Everywhere else: the generic
// (portable C++) kernels.
//
// Writing an x86 kernel: mark the function, and every helper it calls that uses intrinsics,
// with MOBILENET_TARGET_AVX2 or MOBILENET_TARGET_AVX512 (lambdas do not inherit the target),
// and guard the code with #if MOBILENET_X86_DISPATCH.
//
// The environment variable MOBILENET_ISA=generic|avx2|avx512|neon caps the choice (read once),
// so tests and benchmarks can run every path on one machine.

#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define MOBILENET_X86_DISPATCH 1
#define MOBILENET_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define MOBILENET_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#else
#define MOBILENET_X86_DISPATCH 0
#define MOBILENET_TARGET_AVX2
#define MOBILENET_TARGET_AVX512
#endif

#if defined(__aarch64__) && defined(__ARM_NEON)
#define MOBILENET_NEON 1
#else
#define MOBILENET_NEON 0
#endif

// Makes the compiler forget what it knows of a variable's value (an empty asm statement that
// might change it), so that addresses derived from it are computed where they are used
// instead of each being kept in a register of its own. A micro-kernel with 14-39 such
// addresses otherwise runs out of general registers and moves them through the stack and
// vector registers (GCC 12). Nothing but code generation changes; a no-op where GNU asm is
// missing (MSVC).
#if defined(__GNUC__) || defined(__clang__)
#define MOBILENET_HIDE_VALUE(x) asm("" : "+r"(x))
#else
#define MOBILENET_HIDE_VALUE(x) ((void)0)
#endif

namespace mobilenet {
namespace kernels {

// Ordered: a larger value is a wider instruction set of the same family.
enum class Isa { Generic = 0, Neon = 1, Avx2 = 2, Avx512 = 3 };

inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Generic: return "generic";
    case Isa::Neon: return "neon";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "unknown";
}

// What this CPU (and the compiler's support for it) allows, ignoring MOBILENET_ISA.
inline bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::Generic: return true;
    case Isa::Neon: return MOBILENET_NEON != 0;
#if MOBILENET_X86_DISPATCH
    case Isa::Avx2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::Avx512:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
             isa_supported(Isa::Avx2);
#else
    case Isa::Avx2:
    case Isa::Avx512: return false;
#endif
  }
  return false;
}

namespace detail {
inline Isa detect_best_isa() {
  Isa best = Isa::Generic;
  for (Isa isa : {Isa::Neon, Isa::Avx2, Isa::Avx512})
    if (isa_supported(isa)) best = isa;
  // MOBILENET_ISA caps the choice; an unknown value is ignored rather than fatal, because a
  // library must not abort an app over an environment variable.
  if (const char* cap = std::getenv("MOBILENET_ISA")) {
    for (Isa isa : {Isa::Generic, Isa::Neon, Isa::Avx2, Isa::Avx512})
      if (std::strcmp(cap, isa_name(isa)) == 0 && static_cast<int>(isa) < static_cast<int>(best))
        best = isa_supported(isa) ? isa : Isa::Generic;
  }
  return best;
}
}  // namespace detail

// The instruction set the kernels use by default; computed once.
inline Isa best_isa() {
  static const Isa isa = detail::detect_best_isa();
  return isa;
}

// Every instruction set this machine can run, generic first: what tests sweep over.
inline int supported_isas(Isa (&out)[4]) {
  int n = 0;
  for (Isa isa : {Isa::Generic, Isa::Neon, Isa::Avx2, Isa::Avx512})
    if (isa_supported(isa)) out[n++] = isa;
  return n;
}

}  // namespace kernels
}  // namespace mobilenet

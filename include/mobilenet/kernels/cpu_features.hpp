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

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define MOBILENET_X86_DISPATCH 1
#define MOBILENET_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define MOBILENET_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
// MSVC accepts AVX2 and AVX-512 intrinsics in any function, whatever /arch says.
#define MOBILENET_X86_DISPATCH 1
#define MOBILENET_TARGET_AVX2
#define MOBILENET_TARGET_AVX512
#else
#define MOBILENET_X86_DISPATCH 0
#define MOBILENET_TARGET_AVX2
#define MOBILENET_TARGET_AVX512
#endif

// On the helpers of a kernel's hot loop (a step of k, a row's FMAs, a tile's start and end):
// inlined in every translation unit. Left to itself, GCC calls them out of line in a large
// unit, and the accumulators they share then live in memory, not in registers.
#if defined(__GNUC__) || defined(__clang__)
#define MOBILENET_ALWAYS_INLINE __attribute__((always_inline))
#else
#define MOBILENET_ALWAYS_INLINE
#endif

// CPUID and XGETBV: MSVC's intrinsics, else (GCC, clang, clang-cl) <cpuid.h> and inline asm.
#if MOBILENET_X86_DISPATCH && defined(_MSC_VER) && !defined(__clang__)
#define MOBILENET_MSVC_CPUID 1
#include <intrin.h>
#include <immintrin.h>
#elif MOBILENET_X86_DISPATCH
#define MOBILENET_MSVC_CPUID 0
#include <cpuid.h>
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

#if MOBILENET_X86_DISPATCH
namespace detail {

// CPUID leaf `leaf`, sub-leaf `subleaf`: {eax, ebx, ecx, edx}.
inline void cpuid(unsigned leaf, unsigned subleaf, std::uint32_t (&r)[4]) {
#if MOBILENET_MSVC_CPUID
  int regs[4];
  __cpuidex(regs, static_cast<int>(leaf), static_cast<int>(subleaf));
  for (int i = 0; i < 4; ++i) r[i] = static_cast<std::uint32_t>(regs[i]);
#else
  unsigned a = 0, b = 0, c = 0, d = 0;
  __cpuid_count(leaf, subleaf, a, b, c, d);
  r[0] = a, r[1] = b, r[2] = c, r[3] = d;
#endif
}

// XCR0: which register states the operating system saves (call only when CPUID says OSXSAVE).
inline std::uint64_t xgetbv0() {
#if MOBILENET_MSVC_CPUID
  return _xgetbv(0);
#else
  std::uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (std::uint64_t(hi) << 32) | lo;
#endif
}

// AVX2 or AVX-512 support from CPUID and XCR0 alone: the CPU has the instructions and the OS
// saves their registers. MSVC and clang-cl builds decide with this (__builtin_cpu_supports
// needs a runtime library they do not link); GCC and clang use the builtin, and
// tests/test_cpu_features.cpp checks that the two agree.
inline bool cpuid_supports(Isa isa) {
  if (isa != Isa::Avx2 && isa != Isa::Avx512) return false;
  std::uint32_t r[4];
  cpuid(0, 0, r);
  if (r[0] < 7) return false;  // no leaf 7: neither AVX2 nor AVX-512
  cpuid(1, 0, r);
  const bool fma = (r[2] >> 12) & 1, osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
  if (!(fma && osxsave && avx)) return false;
  const std::uint64_t xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return false;  // XMM and YMM state
  cpuid(7, 0, r);
  const std::uint32_t ebx = r[1];
  const bool avx2 = (ebx >> 5) & 1;
  if (isa == Isa::Avx2) return avx2;
  const bool f = (ebx >> 16) & 1, dq = (ebx >> 17) & 1, bw = (ebx >> 30) & 1, vl = (ebx >> 31) & 1;
  return avx2 && f && dq && bw && vl && (xcr0 & 0xE0) == 0xE0;  // opmask, ZMM upper halves, ZMM16-31
}

}  // namespace detail
#endif

// What this CPU (and the compiler's support for it) allows, ignoring MOBILENET_ISA.
inline bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::Generic: return true;
    case Isa::Neon: return MOBILENET_NEON != 0;
#if MOBILENET_X86_DISPATCH && defined(_MSC_VER)
    case Isa::Avx2:
    case Isa::Avx512: return detail::cpuid_supports(isa);
#elif MOBILENET_X86_DISPATCH
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

// Every instruction set the CPU runs, generic first: what tests sweep over.
inline int supported_isas(Isa (&out)[4]) {
  int n = 0;
  for (Isa isa : {Isa::Generic, Isa::Neon, Isa::Avx2, Isa::Avx512})
    if (isa_supported(isa)) out[n++] = isa;
  return n;
}

// Bytes of one SIMD register of `isa`: 64 AVX-512, 32 AVX2, 16 NEON and generic.
constexpr int vector_bytes(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return 64;
    case Isa::Avx2: return 32;
    case Isa::Neon:
    case Isa::Generic: return 16;
  }
  return 16;
}

}  // namespace kernels
}  // namespace mobilenet

#include "mobilenet/kernels/cpu_caches.hpp"

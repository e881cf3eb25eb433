// SPDX-License-Identifier: MIT
#pragma once
// Instruction sets the GEMM can run on, found at run time, and the attributes that let one
// header hold AVX2 and AVX-512 code without -march flags (until main's kernels/cpu_features.hpp).

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#define MOBILENET_GEMM_X86 1
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
#define MOBILENET_GEMM_NEON 1
#endif

#if defined(MOBILENET_GEMM_X86) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define MOBILENET_GEMM_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define MOBILENET_GEMM_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define MOBILENET_GEMM_HAS_X86_KERNELS 1
#endif

namespace mobilenet {
namespace kernels {

enum class Isa { Generic, Avx2, Avx512, Neon };

inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Generic: return "generic";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Neon: return "neon";
  }
  return "?";
}

// Whether this machine (and this build) can run `isa`.
inline bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::Generic: return true;
#if defined(MOBILENET_GEMM_HAS_X86_KERNELS)
    case Isa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::Avx512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
#endif
#if defined(MOBILENET_GEMM_NEON)
    case Isa::Neon: return true;
#endif
    default: return false;
  }
}

// The widest instruction set this machine runs, found once.
inline Isa best_isa() {
  static const Isa best = [] {
    for (Isa isa : {Isa::Avx512, Isa::Avx2, Isa::Neon})
      if (isa_supported(isa)) return isa;
    return Isa::Generic;
  }();
  return best;
}

}  // namespace kernels
}  // namespace mobilenet

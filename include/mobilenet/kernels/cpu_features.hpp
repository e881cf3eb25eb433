// SPDX-License-Identifier: MIT
#pragma once
// Provisional stand-in for main's cpu_features.hpp (same API); replaced when main's lands.

#include <cstdlib>
#include <cstring>

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

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define MOBILENET_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define MOBILENET_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#endif

namespace detail {
inline Isa detect_isa() {
  Isa best = Isa::Generic;
#if defined(MOBILENET_TARGET_AVX512)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Isa::Avx2;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
    best = Isa::Avx512;
#elif defined(__aarch64__)
  best = Isa::Neon;
#endif
  if (const char* cap = std::getenv("MOBILENET_ISA")) {
    if (std::strcmp(cap, "generic") == 0) best = Isa::Generic;
    if (std::strcmp(cap, "avx2") == 0 && best == Isa::Avx512) best = Isa::Avx2;
  }
  return best;
}
}  // namespace detail

inline Isa best_isa() {
  static const Isa isa = detail::detect_isa();
  return isa;
}

}  // namespace kernels
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#pragma once
// Which instruction set the 8-bit kernels use. Integer dot products split the float families
// further: AVX-512 with VNNI (vpdpbusd on 512 bits), AVX-VNNI (the same on 256 bits, VEX),
// AVX2 (no byte dot product that is exact for u8 x s8: vpmaddubsw saturates, so the kernels
// widen to 16 bits and use vpmaddwd), NEON with and without the dot product extension, and
// generic C++. Chosen at run time; MOBILENET_ISA caps it by family (avx512 allows every x86
// path, avx2 the 256-bit ones, generic only generic).

#include <initializer_list>
#include <vector>

#include "mobilenet/kernels/cpu_features.hpp"

#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
#define MOBILENET_TARGET_AVX512_VNNI \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma")))
#define MOBILENET_TARGET_AVX_VNNI __attribute__((target("avxvnni,avx2,fma")))
#else
#define MOBILENET_TARGET_AVX512_VNNI
#define MOBILENET_TARGET_AVX_VNNI
#endif

#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
#define MOBILENET_NEON_DOTPROD 1
#else
#define MOBILENET_NEON_DOTPROD 0
#endif

namespace mobilenet {
namespace kernels {

#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
namespace detail {
// Bit `bit` of register `reg` (0 eax, 1 ebx, 2 ecx, 3 edx) of CPUID leaf `leaf`, sub-leaf `sub`.
inline bool cpuid_bit(unsigned leaf, unsigned sub, int reg, int bit) {
  std::uint32_t r[4];
  cpuid(0, 0, r);
  if (r[0] < leaf) return false;
  cpuid(leaf, sub, r);
  return (r[reg] >> bit) & 1;
}
}  // namespace detail
#endif

// Ordered within each family: a larger value is faster on a CPU that has it.
enum class Int8Isa { Generic = 0, Neon = 1, NeonDot = 2, Avx2 = 3, AvxVnni = 4, Avx512Vnni = 5 };

inline const char* int8_isa_name(Int8Isa isa) {
  switch (isa) {
    case Int8Isa::Generic: return "generic";
    case Int8Isa::Neon: return "neon";
    case Int8Isa::NeonDot: return "neon-dotprod";
    case Int8Isa::Avx2: return "avx2";
    case Int8Isa::AvxVnni: return "avx-vnni";
    case Int8Isa::Avx512Vnni: return "avx512-vnni";
  }
  return "unknown";
}

// The float family an 8-bit instruction set belongs to (what MOBILENET_ISA names).
constexpr Isa int8_isa_family(Int8Isa isa) {
  switch (isa) {
    case Int8Isa::Neon:
    case Int8Isa::NeonDot: return Isa::Neon;
    case Int8Isa::Avx2:
    case Int8Isa::AvxVnni: return Isa::Avx2;
    case Int8Isa::Avx512Vnni: return Isa::Avx512;
    case Int8Isa::Generic: break;
  }
  return Isa::Generic;
}

// What this CPU and this build allow, ignoring MOBILENET_ISA.
inline bool int8_isa_supported(Int8Isa isa) {
  switch (isa) {
    case Int8Isa::Generic: return true;
    case Int8Isa::Neon: return MOBILENET_NEON != 0;
    case Int8Isa::NeonDot: return MOBILENET_NEON_DOTPROD != 0;
#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
    case Int8Isa::Avx2: return isa_supported(Isa::Avx2);
    case Int8Isa::AvxVnni: return isa_supported(Isa::Avx2) && detail::cpuid_bit(7, 1, 0, 4);
    case Int8Isa::Avx512Vnni: return isa_supported(Isa::Avx512) && detail::cpuid_bit(7, 0, 2, 11);
#else
    case Int8Isa::Avx2:
    case Int8Isa::AvxVnni:
    case Int8Isa::Avx512Vnni: return false;
#endif
  }
  return false;
}

// Every 8-bit instruction set this CPU runs within the MOBILENET_ISA cap, generic first:
// what tests sweep over.
inline std::vector<Int8Isa> runnable_int8_isas() {
  std::vector<Int8Isa> isas;
  for (Int8Isa isa : {Int8Isa::Generic, Int8Isa::Neon, Int8Isa::NeonDot, Int8Isa::Avx2, Int8Isa::AvxVnni,
                      Int8Isa::Avx512Vnni})
    if (int8_isa_supported(isa) && static_cast<int>(int8_isa_family(isa)) <= static_cast<int>(best_isa()))
      isas.push_back(isa);
  return isas;
}

// The fastest runnable 8-bit instruction set; computed once.
inline Int8Isa best_int8_isa() {
  static const Int8Isa isa = runnable_int8_isas().back();
  return isa;
}

}  // namespace kernels
}  // namespace mobilenet

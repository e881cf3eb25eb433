// SPDX-License-Identifier: MIT
#pragma once
// The AVX-512 pieces the 8-bit GEMM and depthwise kernels share: vpdpbusd, requantization as
// one rounding shift of the 64-bit product, and the saturating pack of four int32 vectors to
// bytes. Bit-exact with core/quantization.hpp where the callers' conditions hold.

#include <cstdint>

#include "mobilenet/core/quantization.hpp"
#include "mobilenet/kernels/int8/isa.hpp"

namespace mobilenet {
namespace kernels {

// The total right shifts (31 - shift, for either rounding) the high-dword requantization
// takes (HighShiftRequantAvx512), and whether a channel's requantization has one. Its packers
// (GEMM and depthwise) decide with it on every platform; only AVX-512 uses the form.
inline constexpr int kInt8HighShiftMin = 32, kInt8HighShiftMax = 53;
constexpr bool int8_high_shift_fits(Requantization r) {
  return 31 - r.shift >= kInt8HighShiftMin && 31 - r.shift <= kInt8HighShiftMax;
}

}  // namespace kernels
}  // namespace mobilenet

#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
#include <immintrin.h>

namespace mobilenet {
namespace kernels {
namespace detail {

// acc += x (u8) * w (s8) in sums of 4. In asm because GCC 12 copies each intrinsic's
// accumulator to a fresh register (and the stack) instead of updating it in place.
MOBILENET_TARGET_AVX512_VNNI MOBILENET_ALWAYS_INLINE inline void dpbusd_avx512(__m512i& acc, __m512i x, __m512i w) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
}

// q = (acc * m + half) >> total on 16 lanes, total in [1, 62], from the 64-bit products of the
// even and the odd lanes; the low 32 bits of each result (the scalar's conversion to int32).
// Single rounding (multiply_by_quantized_multiplier_single_rounding) is exactly that, with
// half = 2^(total - 1). So is double rounding with right shift r and no left shift wherever
// acc * m >= 0, with total = 31 + r and half = 2^30 + 2^(30 + r) (2^30 for r = 0): the
// rounding of the doubling high multiply folds into the rounding shift's floor. Elsewhere both
// give q <= 0, so the double form is for layers whose range clamps every q <= 0 to lo
// (lo >= the output zero point, as after a ReLU). The zero-masked intrinsics throughout: GCC's
// unmasked ones trip -Wmaybe-uninitialized.
struct OneShiftRequantAvx512 {
  static constexpr bool kHoldsZeroPoint = false;
  __m512i multiplier, odd_multiplier, total_even, total_odd, half_even, half_odd;
  // total: the single rounding's shift, or (double_rounding) the right shift r.
  MOBILENET_TARGET_AVX512_VNNI OneShiftRequantAvx512(__m512i m, __m512i total, bool double_rounding) {
    const __mmask8 all64 = 0xFF;
    const __m512i one = _mm512_set1_epi64(1);
    multiplier = m;
    odd_multiplier = _mm512_maskz_srli_epi64(all64, m, 32);
    if (double_rounding) total = _mm512_add_epi32(total, _mm512_set1_epi32(31));
    total_even = _mm512_maskz_and_epi64(all64, total, _mm512_set1_epi64(0xFFFFFFFF));
    total_odd = _mm512_maskz_srli_epi64(all64, total, 32);
    half_even = _mm512_maskz_sllv_epi64(all64, one, _mm512_sub_epi64(total_even, one));
    half_odd = _mm512_maskz_sllv_epi64(all64, one, _mm512_sub_epi64(total_odd, one));
    if (double_rounding) {
      const __m512i r0 = _mm512_set1_epi64(31), nudge = _mm512_set1_epi64(std::int64_t(1) << 30);
      half_even = _mm512_mask_add_epi64(half_even, _mm512_cmpgt_epi64_mask(total_even, r0), half_even, nudge);
      half_odd = _mm512_mask_add_epi64(half_odd, _mm512_cmpgt_epi64_mask(total_odd, r0), half_odd, nudge);
    }
  }
  MOBILENET_TARGET_AVX512_VNNI MOBILENET_ALWAYS_INLINE __m512i operator()(__m512i acc) const {
    const __mmask8 all64 = 0xFF;
    const __m512i even_product = _mm512_maskz_mul_epi32(all64, acc, multiplier);
    const __m512i odd_product =
        _mm512_maskz_mul_epi32(all64, _mm512_maskz_srli_epi64(all64, acc, 32), odd_multiplier);
    const __m512i even = _mm512_maskz_srav_epi64(all64, _mm512_add_epi64(even_product, half_even), total_even);
    const __m512i odd = _mm512_maskz_srav_epi64(all64, _mm512_add_epi64(odd_product, half_odd), total_odd);
    // The low dword of each: even lanes from `even`, odd lanes from `odd`.
    const __m512i interleave = _mm512_setr_epi32(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    return _mm512_maskz_permutex2var_epi32(0xFFFF, even, interleave, odd);
  }
};

// q + zero_point = (acc * m + half + zero_point * 2^total) >> total on 16 lanes, half as in
// OneShiftRequantAvx512, for total in [kInt8HighShiftMin, kInt8HighShiftMax]: the sum stays
// within int64 (|acc * m| < 2^62, zero_point * 2^total < 2^61), and as total >= 32 the result
// is the sum's high dword shifted right by total - 32. One vpermt2d gathers the high dwords of
// the even and the odd lanes' products, one 32-bit shift finishes all 16: a shift and an add
// fewer than OneShiftRequantAvx512 and the byte pack.
struct HighShiftRequantAvx512 {
  static constexpr bool kHoldsZeroPoint = true;  // the byte pack adds none
  __m512i multiplier, odd_multiplier, rest, add_even, add_odd;
  // total: the single rounding's shift, or (double_rounding) the right shift r.
  MOBILENET_TARGET_AVX512_VNNI HighShiftRequantAvx512(__m512i m, __m512i total, bool double_rounding,
                                                      std::int32_t zero_point) {
    const __mmask8 all64 = 0xFF;
    const __m512i zp = _mm512_set1_epi64(zero_point);
    multiplier = m;
    odd_multiplier = _mm512_maskz_srli_epi64(all64, m, 32);
    if (double_rounding) total = _mm512_add_epi32(total, _mm512_set1_epi32(31));
    rest = _mm512_sub_epi32(total, _mm512_set1_epi32(32));
    const __m512i total_even = _mm512_maskz_and_epi64(all64, total, _mm512_set1_epi64(0xFFFFFFFF));
    const __m512i total_odd = _mm512_maskz_srli_epi64(all64, total, 32);
    const __m512i nudge = _mm512_set1_epi64(double_rounding ? std::int64_t(1) << 30 : 0);
    add_even = addend(total_even, nudge, zp);
    add_odd = addend(total_odd, nudge, zp);
  }
  // 2^(t - 1) + nudge + zp * 2^t in each 64-bit lane.
  MOBILENET_TARGET_AVX512_VNNI MOBILENET_ALWAYS_INLINE static __m512i addend(__m512i t, __m512i nudge, __m512i zp) {
    const __mmask8 all64 = 0xFF;
    const __m512i one = _mm512_set1_epi64(1);
    const __m512i half = _mm512_maskz_sllv_epi64(all64, one, _mm512_sub_epi64(t, one));
    return _mm512_add_epi64(_mm512_add_epi64(half, nudge), _mm512_maskz_sllv_epi64(all64, zp, t));
  }
  MOBILENET_TARGET_AVX512_VNNI MOBILENET_ALWAYS_INLINE __m512i operator()(__m512i acc) const {
    const __mmask8 all64 = 0xFF;
    const __m512i even = _mm512_add_epi64(_mm512_maskz_mul_epi32(all64, acc, multiplier), add_even);
    const __m512i odd =
        _mm512_add_epi64(_mm512_maskz_mul_epi32(all64, _mm512_maskz_srli_epi64(all64, acc, 32), odd_multiplier), add_odd);
    const __m512i high_dwords = _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
    return _mm512_maskz_srav_epi32(0xFFFF, _mm512_maskz_permutex2var_epi32(0xFFFF, even, high_dwords, odd), rest);
  }
};

// Four vectors of requantized int32 q (16 lanes each) to 64 bytes clamp(q + zero_point, lo, hi),
// the bytes of vector i in 128-bit lane i: signed saturation to int16, + zero point with int16
// saturation, unsigned saturation to bytes, the range on the bytes. Exact as 0 <= lo, zero
// point, hi <= 255 (a value past int16 stays past [0, 255] through every step). The packs
// interleave the four per 128-bit lane; one vpermd puts each back in its own lane.
struct BytePackAvx512 {
  __m512i zero_point, lo, hi, order;
  MOBILENET_TARGET_AVX512_VNNI BytePackAvx512(std::int32_t zp, QuantRange range)
      : zero_point(_mm512_set1_epi16(static_cast<std::int16_t>(zp))),
        lo(_mm512_set1_epi8(static_cast<char>(range.lo))),
        hi(_mm512_set1_epi8(static_cast<char>(range.hi))),
        order(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)) {}
  // AddZeroPoint false: the q already hold it (HighShiftRequantAvx512). Clamp false: the range
  // is [0, 255], which the saturating packs give alone.
  template <bool AddZeroPoint = true, bool Clamp = true>
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512_VNNI __m512i operator()(__m512i q0, __m512i q1, __m512i q2, __m512i q3) const {
    return _mm512_maskz_permutexvar_epi32(0xFFFF, order, lanes<AddZeroPoint, Clamp>(q0, q1, q2, q3));
  }
  // The same bytes before the vpermd: 128-bit lane L holds lane L of q0, q1, q2, q3 in turn.
  template <bool AddZeroPoint = true, bool Clamp = true>
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512_VNNI __m512i lanes(__m512i q0, __m512i q1, __m512i q2, __m512i q3) const {
    const __mmask32 all16 = 0xFFFFFFFF;
    const __mmask64 all8 = ~__mmask64(0);
    __m512i low = _mm512_maskz_packs_epi32(all16, q0, q1), high = _mm512_maskz_packs_epi32(all16, q2, q3);
    if constexpr (AddZeroPoint) {
      low = _mm512_maskz_adds_epi16(all16, low, zero_point);
      high = _mm512_maskz_adds_epi16(all16, high, zero_point);
    }
    const __m512i packed = _mm512_maskz_packus_epi16(all8, low, high);
    if constexpr (!Clamp) return packed;
    return _mm512_maskz_min_epu8(all8, _mm512_maskz_max_epu8(all8, packed, lo), hi);
  }
};

}  // namespace detail
}  // namespace kernels
}  // namespace mobilenet

#endif

// SPDX-License-Identifier: MIT
#pragma once
// 8-bit 3x3 depthwise convolution with AVX-512 VNNI: 16 channels per zmm register, the int16
// tap pairs multiplied and summed by vpdpwssd, the requantization in 64-bit lanes
// (vpmuldq on even and odd lanes), channel tails through byte masks. Compiled through a
// function attribute; call it only when int8_isa_supported(Int8Isa::Avx512Vnni).

#include <cstdint>

#include "mobilenet/kernels/int8/depthwise3x3_common.hpp"
#include "mobilenet/kernels/int8/isa.hpp"

#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
#include <immintrin.h>

#define MOBILENET_HAVE_DEPTHWISE3X3_INT8_AVX512 1

namespace mobilenet {
namespace kernels {
namespace detail {
namespace depthwise3x3_int8_avx512_impl {

struct Vec {
  using Reg = __m512i;
  using Col = __m512i;   // 16 input bytes zero-extended to int32 lanes
  using Pair = __m512i;  // int16 pairs (a, b)
  using W = __m512i;
  using Zp = __m512i;    // a column of zp_in
  using Tail = __mmask16;
  struct Requant {
    __m512i multiplier, multiplier_odd, left, right, round_mask, round_half, zero_point, lo, hi;
  };
  static constexpr Index kWidth = 16;
  // The zero-masked forms throughout: GCC warns (uninitialized) inside the plain intrinsics.
  static constexpr __mmask16 kAll = 0xFFFF;
  static constexpr __mmask8 kAll64 = 0xFF;
  static constexpr int kTileStride1 = depthwise3x3_int8_tile(Int8Isa::Avx512Vnni).pixels[0];
  static constexpr int kTileStride2 = depthwise3x3_int8_tile(Int8Isa::Avx512Vnni).pixels[1];

  MOBILENET_TARGET_AVX512_VNNI static Tail tail(Index lanes) { return static_cast<Tail>((1u << lanes) - 1u); }
  MOBILENET_TARGET_AVX512_VNNI static Zp zero_point(std::int32_t zp) { return _mm512_set1_epi32(zp); }
  MOBILENET_TARGET_AVX512_VNNI static Col load_col(const std::uint8_t* p) {
    return _mm512_maskz_cvtepu8_epi32(kAll, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  MOBILENET_TARGET_AVX512_VNNI static Col load_col(const std::uint8_t* p, Tail t) {
    return _mm512_maskz_cvtepu8_epi32(kAll, _mm_maskz_loadu_epi8(t, p));
  }
  MOBILENET_TARGET_AVX512_VNNI static Pair pair(Col a, Col b) {
    return _mm512_or_si512(a, _mm512_maskz_slli_epi32(kAll, b, 16));
  }
  MOBILENET_TARGET_AVX512_VNNI static Reg load(const std::int32_t* p) { return _mm512_loadu_si512(p); }
  MOBILENET_TARGET_AVX512_VNNI static W load_w(const std::int32_t* p) { return _mm512_loadu_si512(p); }
  MOBILENET_TARGET_AVX512_VNNI static Reg dot(Reg acc, Pair x, W w) { return _mm512_dpwssd_epi32(acc, x, w); }
  // A Col is a pair whose high half is 0.
  MOBILENET_TARGET_AVX512_VNNI static Reg dot_low(Reg acc, Col x, W w) { return _mm512_dpwssd_epi32(acc, x, w); }
  MOBILENET_TARGET_AVX512_VNNI static Requant load_requant(const DepthwiseInt8View& v, Index c) {
    Requant rq;
    rq.multiplier = load(v.multiplier + c);
    rq.multiplier_odd = _mm512_maskz_srli_epi64(kAll64, rq.multiplier, 32);
    // left = max(shift, 0), right = left - shift, round_mask = 2^right - 1 (up to 2^31 - 1).
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(v.shift + c));
    const __m512i shift = _mm512_maskz_cvtepi8_epi32(kAll, bytes);
    rq.left = _mm512_maskz_max_epi32(kAll, shift, _mm512_setzero_si512());
    rq.right = _mm512_sub_epi32(rq.left, shift);
    const __m512i one = _mm512_set1_epi32(1);
    rq.round_mask = _mm512_sub_epi32(_mm512_maskz_sllv_epi32(kAll, one, rq.right), one);
    rq.round_half = _mm512_maskz_srai_epi32(kAll, rq.round_mask, 1);
    rq.zero_point = _mm512_set1_epi32(v.output_zero_point);
    rq.lo = _mm512_set1_epi32(v.range.lo);
    rq.hi = _mm512_set1_epi32(v.range.hi);
    return rq;
  }
  // requantize() of core/quantization.hpp on 16 lanes. The doubling high multiply is
  // (x * m + 2^30) >> 31 in 64 bits (m is never INT32_MIN, so it never saturates): even lanes
  // keep bits 31..62 in their low half, odd lanes shift them into their high half.
  MOBILENET_TARGET_AVX512_VNNI MOBILENET_DW8_ALWAYS_INLINE static __m512i requantize(Reg acc, const Requant& rq) {
    const __m512i x = _mm512_maskz_sllv_epi32(kAll, acc, rq.left);
    const __m512i nudge = _mm512_set1_epi64(std::int64_t(1) << 30);
    const __m512i even = _mm512_add_epi64(_mm512_maskz_mul_epi32(kAll64, x, rq.multiplier), nudge);
    const __m512i odd = _mm512_add_epi64(_mm512_maskz_mul_epi32(kAll64, _mm512_maskz_srli_epi64(kAll64, x, 32), rq.multiplier_odd), nudge);
    const __m512i high = _mm512_mask_blend_epi32(0xAAAA, _mm512_maskz_srli_epi64(kAll64, even, 31), _mm512_maskz_slli_epi64(kAll64, odd, 1));
    // Rounding shift right, ties away from zero: up when (high & mask) - (high < 0) > mask / 2.
    const __m512i rem = _mm512_add_epi32(_mm512_and_si512(high, rq.round_mask), _mm512_maskz_srai_epi32(kAll, high, 31));
    const __mmask16 up = _mm512_cmpgt_epi32_mask(rem, rq.round_half);
    __m512i q = _mm512_maskz_srav_epi32(kAll, high, rq.right);
    q = _mm512_mask_add_epi32(q, up, q, _mm512_set1_epi32(1));
    q = _mm512_add_epi32(q, rq.zero_point);
    return _mm512_maskz_min_epi32(kAll, _mm512_maskz_max_epi32(kAll, q, rq.lo), rq.hi);
  }
  MOBILENET_TARGET_AVX512_VNNI MOBILENET_DW8_ALWAYS_INLINE static void store(std::uint8_t* out, Reg acc, const Requant& rq) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_maskz_cvtepi32_epi8(kAll, requantize(acc, rq)));
  }
  MOBILENET_TARGET_AVX512_VNNI MOBILENET_DW8_ALWAYS_INLINE static void store(std::uint8_t* out, Reg acc, const Requant& rq, Tail t) {
    _mm512_mask_cvtepi32_storeu_epi8(out, t, requantize(acc, rq));
  }
};

#define MOBILENET_DW8_TARGET MOBILENET_TARGET_AVX512_VNNI
#include "mobilenet/kernels/int8/depthwise3x3_impl.inl"
#undef MOBILENET_DW8_TARGET

}  // namespace depthwise3x3_int8_avx512_impl
}  // namespace detail

// in:  in_h x in_w x C uint8 (one image, NHWC), packed weights
// out: rows [row_begin, row_end) of out_h x out_w x C uint8
MOBILENET_TARGET_AVX512_VNNI inline void depthwise3x3_int8_avx512(const Depthwise3x3Int8Params& params,
                                                                 const detail::DepthwiseInt8View& view) {
  detail::depthwise3x3_int8_avx512_impl::run_depthwise3x3_int8(params, view);
}

}  // namespace kernels
}  // namespace mobilenet
#endif

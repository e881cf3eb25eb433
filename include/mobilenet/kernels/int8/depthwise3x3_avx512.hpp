// SPDX-License-Identifier: MIT
#pragma once
// 8-bit 3x3 depthwise convolution with AVX-512 VNNI: 16 channels per zmm register, the int16
// tap pairs multiplied and summed by vpdpwssd, the requantization in 64-bit lanes
// (vpmuldq on even and odd lanes), channel tails through byte masks. Compiled through a
// function attribute; call it only when int8_isa_supported(Int8Isa::Avx512Vnni).

#include <cstdint>

#include "mobilenet/kernels/int8/depthwise3x3_common.hpp"
#include "mobilenet/kernels/int8/isa.hpp"
#include "mobilenet/kernels/int8/requantize_avx512.hpp"

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
    OneShiftRequantAvx512 one;  // used when one_shift (DepthwiseInt8View::one_shift)
    BytePackAvx512 pack;
    __m512i multiplier, multiplier_odd, left, right, round_mask, round_half, zero_point, lo, hi;
    bool one_shift;
  };
  static constexpr bool kPacksFourPixels = true;
  static constexpr Index kWidth = 16;
  // The zero-masked forms throughout: GCC warns (uninitialized) inside the plain intrinsics.
  static constexpr __mmask16 kAll = 0xFFFF;
  static constexpr __mmask8 kAll64 = 0xFF;
  static constexpr int kTileStride1 = depthwise3x3_int8_tile(Int8Isa::Avx512Vnni).pixels[0];
  static constexpr int kTileStride2 = depthwise3x3_int8_tile(Int8Isa::Avx512Vnni).pixels[1];

  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512_VNNI static Tail tail(Index lanes) { return static_cast<Tail>((1u << lanes) - 1u); }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512_VNNI static Zp zero_point(std::int32_t zp) { return _mm512_set1_epi32(zp); }
  MOBILENET_TARGET_AVX512_VNNI MOBILENET_ALWAYS_INLINE static Col load_col(const std::uint8_t* p) {
    return _mm512_maskz_cvtepu8_epi32(kAll, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  MOBILENET_TARGET_AVX512_VNNI MOBILENET_ALWAYS_INLINE static Col load_col(const std::uint8_t* p, Tail t) {
    return _mm512_maskz_cvtepu8_epi32(kAll, _mm_maskz_loadu_epi8(t, p));
  }
  MOBILENET_TARGET_AVX512_VNNI MOBILENET_ALWAYS_INLINE static Pair pair(Col a, Col b) {
    return _mm512_or_si512(a, _mm512_maskz_slli_epi32(kAll, b, 16));
  }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512_VNNI static Reg load(const std::int32_t* p) { return _mm512_loadu_si512(p); }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512_VNNI static W load_w(const std::int32_t* p) { return _mm512_loadu_si512(p); }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512_VNNI static Reg dot(Reg acc, Pair x, W w) { return _mm512_dpwssd_epi32(acc, x, w); }
  // A Col is a pair whose high half is 0.
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512_VNNI static Reg dot_low(Reg acc, Col x, W w) { return _mm512_dpwssd_epi32(acc, x, w); }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512_VNNI static Requant load_requant(const DepthwiseInt8View& v, Index c) {
    const __m512i multiplier = load(v.multiplier + c);
    // left = max(shift, 0), right = left - shift, round_mask = 2^right - 1 (up to 2^31 - 1).
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(v.shift + c));
    const __m512i shift = _mm512_maskz_cvtepi8_epi32(kAll, bytes);
    const __m512i left = _mm512_maskz_max_epi32(kAll, shift, _mm512_setzero_si512());
    const __m512i right = _mm512_sub_epi32(left, shift);
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i round_mask = _mm512_sub_epi32(_mm512_maskz_sllv_epi32(kAll, one, right), one);
    return Requant{OneShiftRequantAvx512(multiplier, right, true),
                   BytePackAvx512(v.output_zero_point, v.range),
                   multiplier,
                   _mm512_maskz_srli_epi64(kAll64, multiplier, 32),
                   left,
                   right,
                   round_mask,
                   _mm512_maskz_srai_epi32(kAll, round_mask, 1),
                   _mm512_set1_epi32(v.output_zero_point),
                   _mm512_set1_epi32(v.range.lo),
                   _mm512_set1_epi32(v.range.hi),
                   v.one_shift};
  }
  // requantize() of core/quantization.hpp on 16 lanes before the zero point and the range:
  // the one-shift form where the layer allows it, else the two roundings. The doubling high
  // multiply is (x * m + 2^30) >> 31 in 64 bits (m is never INT32_MIN, so it never saturates):
  // even lanes keep bits 31..62 in their low half, odd lanes shift them into their high half.
  MOBILENET_TARGET_AVX512_VNNI MOBILENET_ALWAYS_INLINE static __m512i requantize_raw(Reg acc, const Requant& rq) {
    if (rq.one_shift) return rq.one(acc);
    const __m512i x = _mm512_maskz_sllv_epi32(kAll, acc, rq.left);
    const __m512i nudge = _mm512_set1_epi64(std::int64_t(1) << 30);
    const __m512i even = _mm512_add_epi64(_mm512_maskz_mul_epi32(kAll64, x, rq.multiplier), nudge);
    const __m512i odd = _mm512_add_epi64(_mm512_maskz_mul_epi32(kAll64, _mm512_maskz_srli_epi64(kAll64, x, 32), rq.multiplier_odd), nudge);
    const __m512i high = _mm512_mask_blend_epi32(0xAAAA, _mm512_maskz_srli_epi64(kAll64, even, 31), _mm512_maskz_slli_epi64(kAll64, odd, 1));
    // Rounding shift right, ties away from zero: up when (high & mask) - (high < 0) > mask / 2.
    const __m512i rem = _mm512_add_epi32(_mm512_and_si512(high, rq.round_mask), _mm512_maskz_srai_epi32(kAll, high, 31));
    const __mmask16 up = _mm512_cmpgt_epi32_mask(rem, rq.round_half);
    __m512i q = _mm512_maskz_srav_epi32(kAll, high, rq.right);
    return _mm512_mask_add_epi32(q, up, q, _mm512_set1_epi32(1));
  }
  MOBILENET_TARGET_AVX512_VNNI MOBILENET_ALWAYS_INLINE static __m512i requantize(Reg acc, const Requant& rq) {
    const __m512i q = _mm512_add_epi32(requantize_raw(acc, rq), rq.zero_point);
    return _mm512_maskz_min_epi32(kAll, _mm512_maskz_max_epi32(kAll, q, rq.lo), rq.hi);
  }
  // Four pixels' channel blocks, out_stride bytes apart, through one saturating pack.
  template <bool Partial>
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512_VNNI static void store_four(std::uint8_t* out, Index out_stride,
                                                                              const Reg* acc, const Requant& rq, Tail t) {
    const __m512i bytes = rq.pack(requantize_raw(acc[0], rq), requantize_raw(acc[1], rq), requantize_raw(acc[2], rq),
                                  requantize_raw(acc[3], rq));
    const __m128i pixel[4] = {_mm512_maskz_extracti32x4_epi32(0xF, bytes, 0), _mm512_maskz_extracti32x4_epi32(0xF, bytes, 1),
                              _mm512_maskz_extracti32x4_epi32(0xF, bytes, 2), _mm512_maskz_extracti32x4_epi32(0xF, bytes, 3)};
    for (int i = 0; i < 4; ++i) {
      if constexpr (Partial) _mm_mask_storeu_epi8(out + i * out_stride, t, pixel[i]);
      else _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i * out_stride), pixel[i]);
    }
  }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512_VNNI static void store(std::uint8_t* out, Reg acc, const Requant& rq) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_maskz_cvtepi32_epi8(kAll, requantize(acc, rq)));
  }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512_VNNI static void store(std::uint8_t* out, Reg acc, const Requant& rq, Tail t) {
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

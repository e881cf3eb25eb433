// SPDX-License-Identifier: MIT
#pragma once
// 8-bit 3x3 depthwise convolution on 256-bit vectors, 8 channels per ymm register: AVX2
// multiplies the int16 tap pairs with vpmaddwd and adds, AVX-VNNI does both in vpdpwssd
// (exact either way: no pair sum reaches the int32 limits). Requantization in 64-bit lanes
// (vpmuldq); channel tails through a small stack buffer. Compiled through function attributes;
// call each only when int8_isa_supported() says so.

#include <cstdint>
#include <cstring>

#include "mobilenet/kernels/int8/depthwise3x3_common.hpp"
#include "mobilenet/kernels/int8/isa.hpp"

#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
#include <immintrin.h>

#define MOBILENET_HAVE_DEPTHWISE3X3_INT8_AVX2 1

namespace mobilenet {
namespace kernels {
namespace detail {

// Everything but the multiply-add, shared by the AVX2 and AVX-VNNI kernels.
struct DepthwiseInt8Ymm {
  static constexpr bool kPacksFourPixels = false;  // one store per pixel
  using Reg = __m256i;
  using Col = __m256i;   // 8 input bytes zero-extended to int32 lanes
  using Pair = __m256i;  // int16 pairs (a, b)
  using W = __m256i;
  using Zp = __m256i;    // a column of zp_in
  using Tail = Index;    // lanes in use
  struct Requant {
    __m256i multiplier, multiplier_odd, left, right, round_mask, round_half, zero_point, lo, hi;
  };
  static constexpr Index kWidth = 8;
  static constexpr int kTileStride1 = depthwise3x3_int8_tile(Int8Isa::Avx2).pixels[0];
  static constexpr int kTileStride2 = depthwise3x3_int8_tile(Int8Isa::Avx2).pixels[1];

  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static Tail tail(Index lanes) { return lanes; }
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static Zp zero_point(std::int32_t zp) { return _mm256_set1_epi32(zp); }
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static Col load_col(const std::uint8_t* p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static Col load_col(const std::uint8_t* p, Tail lanes) {
    std::uint64_t bytes = 0;
    std::memcpy(&bytes, p, static_cast<std::size_t>(lanes));
    return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(bytes)));
  }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX2 static Pair pair(Col a, Col b) { return _mm256_or_si256(a, _mm256_slli_epi32(b, 16)); }
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static Reg load(const std::int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static W load_w(const std::int32_t* p) { return load(p); }
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static Requant load_requant(const DepthwiseInt8View& v, Index c) {
    Requant rq;
    rq.multiplier = load(v.multiplier + c);
    rq.multiplier_odd = _mm256_srli_epi64(rq.multiplier, 32);
    // left = max(shift, 0), right = left - shift, round_mask = 2^right - 1 (up to 2^31 - 1).
    const __m256i shift = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(v.shift + c)));
    rq.left = _mm256_max_epi32(shift, _mm256_setzero_si256());
    rq.right = _mm256_sub_epi32(rq.left, shift);
    const __m256i one = _mm256_set1_epi32(1);
    rq.round_mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, rq.right), one);
    rq.round_half = _mm256_srai_epi32(rq.round_mask, 1);
    rq.zero_point = _mm256_set1_epi32(v.output_zero_point);
    rq.lo = _mm256_set1_epi32(v.range.lo);
    rq.hi = _mm256_set1_epi32(v.range.hi);
    return rq;
  }
  // requantize() of core/quantization.hpp on 8 lanes, as the AVX-512 kernel does it.
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static __m256i requantize(Reg acc, const Requant& rq) {
    const __m256i x = _mm256_sllv_epi32(acc, rq.left);
    const __m256i nudge = _mm256_set1_epi64x(std::int64_t(1) << 30);
    const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, rq.multiplier), nudge);
    const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), rq.multiplier_odd), nudge);
    const __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
    const __m256i rem = _mm256_add_epi32(_mm256_and_si256(high, rq.round_mask), _mm256_srai_epi32(high, 31));
    // cmpgt is -1 where the result rounds up.
    __m256i q = _mm256_sub_epi32(_mm256_srav_epi32(high, rq.right), _mm256_cmpgt_epi32(rem, rq.round_half));
    q = _mm256_add_epi32(q, rq.zero_point);
    return _mm256_min_epi32(_mm256_max_epi32(q, rq.lo), rq.hi);
  }
  // The low byte of each lane (every lane is within [0, 255] after the clamp), in order.
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static __m128i bytes(__m256i q) {
    const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                          0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i b = _mm256_shuffle_epi8(q, pick);
    return _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
  }
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static void store(std::uint8_t* out, Reg acc, const Requant& rq) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), bytes(requantize(acc, rq)));
  }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX2 static void store(std::uint8_t* out, Reg acc, const Requant& rq, Tail lanes) {
    const auto b = static_cast<std::uint64_t>(_mm_cvtsi128_si64(bytes(requantize(acc, rq))));
    std::memcpy(out, &b, static_cast<std::size_t>(lanes));
  }
};

namespace depthwise3x3_int8_avx2_impl {
struct Vec : DepthwiseInt8Ymm {
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX2 static Reg dot(Reg acc, Pair x, W w) { return _mm256_add_epi32(acc, _mm256_madd_epi16(x, w)); }
  // A Col is a pair whose high half is 0.
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static Reg dot_low(Reg acc, Col x, W w) { return dot(acc, x, w); }
};
#define MOBILENET_DW8_TARGET MOBILENET_TARGET_AVX2
#include "mobilenet/kernels/int8/depthwise3x3_impl.inl"
#undef MOBILENET_DW8_TARGET
}  // namespace depthwise3x3_int8_avx2_impl

namespace depthwise3x3_int8_avxvnni_impl {
struct Vec : DepthwiseInt8Ymm {
  static constexpr int kTileStride1 = depthwise3x3_int8_tile(Int8Isa::AvxVnni).pixels[0];
  static constexpr int kTileStride2 = depthwise3x3_int8_tile(Int8Isa::AvxVnni).pixels[1];
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX_VNNI static Reg dot(Reg acc, Pair x, W w) { return _mm256_dpwssd_avx_epi32(acc, x, w); }
  MOBILENET_TARGET_AVX_VNNI MOBILENET_ALWAYS_INLINE static Reg dot_low(Reg acc, Col x, W w) { return dot(acc, x, w); }
};
#define MOBILENET_DW8_TARGET MOBILENET_TARGET_AVX_VNNI
#include "mobilenet/kernels/int8/depthwise3x3_impl.inl"
#undef MOBILENET_DW8_TARGET
}  // namespace depthwise3x3_int8_avxvnni_impl

}  // namespace detail

// in:  in_h x in_w x C uint8 (one image, NHWC), packed weights
// out: rows [row_begin, row_end) of out_h x out_w x C uint8
MOBILENET_TARGET_AVX2 inline void depthwise3x3_int8_avx2(const Depthwise3x3Int8Params& params,
                                                        const detail::DepthwiseInt8View& view) {
  detail::depthwise3x3_int8_avx2_impl::run_depthwise3x3_int8(params, view);
}

MOBILENET_TARGET_AVX_VNNI inline void depthwise3x3_int8_avxvnni(const Depthwise3x3Int8Params& params,
                                                               const detail::DepthwiseInt8View& view) {
  detail::depthwise3x3_int8_avxvnni_impl::run_depthwise3x3_int8(params, view);
}

}  // namespace kernels
}  // namespace mobilenet
#endif

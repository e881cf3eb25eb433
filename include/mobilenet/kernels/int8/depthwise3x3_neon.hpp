// SPDX-License-Identifier: MIT
#pragma once
// 8-bit 3x3 depthwise convolution with ARM64 NEON: 4 channels per int32x4 accumulator, the
// int16 tap pairs deinterleaved by vld2 and multiplied into it with vmlal_s16, the doubling
// high multiply of the requantization in one vqrdmulh. The dot product extension does not
// help here (its operands are 8-bit; the zero-point-shifted taps need 9 bits), so Neon and
// NeonDot run this kernel. Channel tails go through a small stack buffer.

#include <cstdint>
#include <cstring>

#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/int8/depthwise3x3_common.hpp"

#if MOBILENET_NEON
#include <arm_neon.h>

#define MOBILENET_HAVE_DEPTHWISE3X3_INT8_NEON 1

namespace mobilenet {
namespace kernels {
namespace detail {
namespace depthwise3x3_int8_neon_impl {

struct Vec {
  static constexpr bool kPacksFourPixels = false;  // one store per pixel
  using Reg = int32x4_t;
  using Col = int16x4_t;  // 4 input bytes widened
  struct Pair {
    int16x4_t lo, hi;
  };
  using W = int16x4x2_t;  // val[0] the low int16 of each packed word, val[1] the high one
  using Zp = int16x4_t;  // a column of zp_in
  using Tail = Index;
  struct Requant {
    int32x4_t multiplier, left, neg_right, round_mask, round_half, zero_point, lo, hi;
  };
  static constexpr Index kWidth = 4;
  static constexpr int kTileStride1 = depthwise3x3_int8_tile(Int8Isa::Neon).pixels[0];
  static constexpr int kTileStride2 = depthwise3x3_int8_tile(Int8Isa::Neon).pixels[1];

  MOBILENET_ALWAYS_INLINE static Tail tail(Index lanes) { return lanes; }
  MOBILENET_ALWAYS_INLINE static Zp zero_point(std::int32_t zp) { return vdup_n_s16(static_cast<std::int16_t>(zp)); }
  MOBILENET_ALWAYS_INLINE static Col widen(std::uint32_t word) {
    const uint16x8_t wide = vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(word)));
    return vreinterpret_s16_u16(vget_low_u16(wide));
  }
  MOBILENET_ALWAYS_INLINE static Col load_col(const std::uint8_t* p) {
    std::uint32_t word;
    std::memcpy(&word, p, 4);
    return widen(word);
  }
  MOBILENET_ALWAYS_INLINE static Col load_col(const std::uint8_t* p, Tail lanes) {
    std::uint32_t word = 0;
    std::memcpy(&word, p, static_cast<std::size_t>(lanes));
    return widen(word);
  }
  MOBILENET_ALWAYS_INLINE static Pair pair(Col a, Col b) { return Pair{a, b}; }
  MOBILENET_ALWAYS_INLINE static Reg load(const std::int32_t* p) { return vld1q_s32(p); }
  MOBILENET_ALWAYS_INLINE
  static W load_w(const std::int32_t* p) { return vld2_s16(reinterpret_cast<const std::int16_t*>(p)); }
  MOBILENET_ALWAYS_INLINE static Reg dot(Reg acc, const Pair& x, const W& w) {
    return vmlal_s16(vmlal_s16(acc, x.lo, w.val[0]), x.hi, w.val[1]);
  }
  MOBILENET_ALWAYS_INLINE static Reg dot_low(Reg acc, Col x, const W& w) { return vmlal_s16(acc, x, w.val[0]); }
  MOBILENET_ALWAYS_INLINE static Requant load_requant(const DepthwiseInt8View& v, Index c) {
    Requant rq;
    rq.multiplier = load(v.multiplier + c);
    // left = max(shift, 0), -right = min(shift, 0), round_mask = 2^right - 1 (wrapping at 2^31).
    std::uint32_t bytes;
    std::memcpy(&bytes, v.shift + c, 4);
    const int32x4_t shift = vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_u32(vdup_n_u32(bytes)))));
    rq.left = vmaxq_s32(shift, vdupq_n_s32(0));
    rq.neg_right = vminq_s32(shift, vdupq_n_s32(0));
    const int32x4_t one = vdupq_n_s32(1);
    rq.round_mask = vsubq_s32(vshlq_s32(one, vnegq_s32(rq.neg_right)), one);
    rq.round_half = vshrq_n_s32(rq.round_mask, 1);
    rq.zero_point = vdupq_n_s32(v.output_zero_point);
    rq.lo = vdupq_n_s32(v.range.lo);
    rq.hi = vdupq_n_s32(v.range.hi);
    return rq;
  }
  // requantize() of core/quantization.hpp on 4 lanes: vqrdmulh is gemmlowp's doubling high
  // multiply; the rounding shift right adds 1 where (x & mask) - (x < 0) > mask / 2.
  MOBILENET_ALWAYS_INLINE static std::uint32_t requantize(Reg acc, const Requant& rq) {
    const int32x4_t high = vqrdmulhq_s32(vshlq_s32(acc, rq.left), rq.multiplier);
    const int32x4_t rem = vaddq_s32(vandq_s32(high, rq.round_mask), vshrq_n_s32(high, 31));
    int32x4_t q = vsubq_s32(vshlq_s32(high, rq.neg_right), vreinterpretq_s32_u32(vcgtq_s32(rem, rq.round_half)));
    q = vminq_s32(vmaxq_s32(vaddq_s32(q, rq.zero_point), rq.lo), rq.hi);
    const int16x4_t narrow = vmovn_s32(q);
    return vget_lane_u32(vreinterpret_u32_u8(vqmovun_s16(vcombine_s16(narrow, narrow))), 0);
  }
  MOBILENET_ALWAYS_INLINE static void store(std::uint8_t* out, Reg acc, const Requant& rq, Tail lanes = 4) {
    const std::uint32_t word = requantize(acc, rq);
    std::memcpy(out, &word, static_cast<std::size_t>(lanes));
  }
};

#define MOBILENET_DW8_TARGET
#include "mobilenet/kernels/int8/depthwise3x3_impl.inl"
#undef MOBILENET_DW8_TARGET

}  // namespace depthwise3x3_int8_neon_impl
}  // namespace detail

// in:  in_h x in_w x C uint8 (one image, NHWC), packed weights
// out: rows [row_begin, row_end) of out_h x out_w x C uint8
inline void depthwise3x3_int8_neon(const Depthwise3x3Int8Params& params, const detail::DepthwiseInt8View& view) {
  detail::depthwise3x3_int8_neon_impl::run_depthwise3x3_int8(params, view);
}

}  // namespace kernels
}  // namespace mobilenet
#endif

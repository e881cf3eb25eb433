// SPDX-License-Identifier: MIT
#pragma once
// 8-bit 3x3 depthwise convolution in portable C++: the shared algorithm on vectors of 4 int32
// lanes held in plain arrays, requantized lane by lane with core/quantization.hpp. Runs
// everywhere; the SIMD kernels are tested against the same reference twin.

#include <cstdint>

#include "mobilenet/core/quantization.hpp"
#include "mobilenet/kernels/int8/depthwise3x3_common.hpp"

namespace mobilenet {
namespace kernels {
namespace detail {
namespace depthwise3x3_int8_generic_impl {

struct Vec {
  static constexpr bool kPacksFourPixels = false;  // one store per pixel
  static constexpr Index kWidth = 4;
  static constexpr int kTileStride1 = depthwise3x3_int8_tile(Int8Isa::Generic).pixels[0];
  static constexpr int kTileStride2 = depthwise3x3_int8_tile(Int8Isa::Generic).pixels[1];
  struct Reg {
    std::int32_t v[4];
  };
  using Col = Reg;  // the raw input bytes, widened
  using W = Reg;
  struct Pair {
    std::int32_t lo[4], hi[4];
  };
  using Zp = Col;
  struct Requant {
    Requantization r[4];
    std::int32_t zero_point;
    QuantRange range;
  };
  using Tail = Index;
  MOBILENET_ALWAYS_INLINE static Tail tail(Index lanes) { return lanes; }
  MOBILENET_ALWAYS_INLINE static Zp zero_point(std::int32_t zp) { return Zp{{zp, zp, zp, zp}}; }
  MOBILENET_ALWAYS_INLINE static Col load_col(const std::uint8_t* p) { return Col{{p[0], p[1], p[2], p[3]}}; }
  MOBILENET_ALWAYS_INLINE static Col load_col(const std::uint8_t* p, Tail lanes) {
    Col x{{0, 0, 0, 0}};
    for (Index i = 0; i < lanes; ++i) x.v[i] = p[i];
    return x;
  }
  MOBILENET_ALWAYS_INLINE
  static Pair pair(Col a, Col b) { return Pair{{a.v[0], a.v[1], a.v[2], a.v[3]}, {b.v[0], b.v[1], b.v[2], b.v[3]}}; }
  MOBILENET_ALWAYS_INLINE static Reg load(const std::int32_t* p) { return Reg{{p[0], p[1], p[2], p[3]}}; }
  MOBILENET_ALWAYS_INLINE static W load_w(const std::int32_t* p) { return load(p); }
  // The packed word holds two int16: the low one multiplies pair.lo, the high one pair.hi.
  MOBILENET_ALWAYS_INLINE static Reg dot(Reg acc, const Pair& x, W w) {
    for (int i = 0; i < 4; ++i) {
      const auto word = static_cast<std::uint32_t>(w.v[i]);
      const auto w_lo = static_cast<std::int16_t>(word & 0xFFFFu);
      const auto w_hi = static_cast<std::int16_t>(word >> 16);
      acc.v[i] += x.lo[i] * w_lo + x.hi[i] * w_hi;
    }
    return acc;
  }
  MOBILENET_ALWAYS_INLINE static Reg dot_low(Reg acc, Col x, W w) {
    for (int i = 0; i < 4; ++i) acc.v[i] += x.v[i] * static_cast<std::int16_t>(static_cast<std::uint32_t>(w.v[i]) & 0xFFFFu);
    return acc;
  }
  MOBILENET_ALWAYS_INLINE static Requant load_requant(const DepthwiseInt8View& v, Index c) {
    Requant rq;
    for (int i = 0; i < 4; ++i) rq.r[i] = Requantization{v.multiplier[c + i], v.shift[c + i]};
    rq.zero_point = v.output_zero_point;
    rq.range = v.range;
    return rq;
  }
  MOBILENET_ALWAYS_INLINE static void store(std::uint8_t* out, Reg acc, const Requant& rq, Tail lanes = 4) {
    for (Index i = 0; i < lanes; ++i)
      out[i] = static_cast<std::uint8_t>(requantize(acc.v[i], rq.r[i], rq.zero_point, rq.range));
  }
};

#define MOBILENET_DW8_TARGET
#include "mobilenet/kernels/int8/depthwise3x3_impl.inl"
#undef MOBILENET_DW8_TARGET

}  // namespace depthwise3x3_int8_generic_impl
}  // namespace detail

// in:  in_h x in_w x C uint8 (one image, NHWC), packed weights
// out: rows [row_begin, row_end) of out_h x out_w x C uint8
inline void depthwise3x3_int8_generic(const Depthwise3x3Int8Params& params, const detail::DepthwiseInt8View& view) {
  detail::depthwise3x3_int8_generic_impl::run_depthwise3x3_int8(params, view);
}

}  // namespace kernels
}  // namespace mobilenet

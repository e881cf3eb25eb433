// SPDX-License-Identifier: MIT
#pragma once
// 3x3 depthwise convolution with ARM64 NEON: 4 channels per q register (32 of them, so the
// weights stay in registers next to an 8-pixel tile). Channel tails go through a small
// stack buffer, since NEON has no masked loads.

#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/depthwise3x3_common.hpp"

#if MOBILENET_NEON
#include <arm_neon.h>

#define MOBILENET_HAVE_DEPTHWISE3X3_NEON 1

namespace mobilenet {
namespace kernels {
namespace detail {
namespace depthwise3x3_neon_impl {

struct Vec {
  using Reg = float32x4_t;
  using Tail = Index;  // lanes in use
  static constexpr Index kWidth = vector_bytes(Isa::Neon) / Index(sizeof(float));
  // Output pixels per interior step (see kDepthwiseTiles).
  static constexpr int kTileStride1 = depthwise3x3_tile(Isa::Neon).pixels[0];
  static constexpr int kTileStride2 = depthwise3x3_tile(Isa::Neon).pixels[1];
  static constexpr int kBlockRows = depthwise3x3_tile(Isa::Neon).rows;
  static constexpr int kBlockPixels = depthwise3x3_tile(Isa::Neon).block_pixels;
  static constexpr bool kWeightsInRegisters = depthwise3x3_tile(Isa::Neon).weights_in_registers;
  MOBILENET_ALWAYS_INLINE static Tail tail(Index lanes) { return lanes; }
  MOBILENET_ALWAYS_INLINE static Reg load(const float* p) { return vld1q_f32(p); }
  MOBILENET_ALWAYS_INLINE static Reg load(const float* p, Tail lanes) {
    float buffer[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (Index i = 0; i < lanes; ++i) buffer[i] = p[i];
    return vld1q_f32(buffer);
  }
  MOBILENET_ALWAYS_INLINE static void store(float* p, Reg v) { vst1q_f32(p, v); }
  MOBILENET_ALWAYS_INLINE static void store(float* p, Reg v, Tail lanes) {
    float buffer[4];
    vst1q_f32(buffer, v);
    for (Index i = 0; i < lanes; ++i) p[i] = buffer[i];
  }
  MOBILENET_ALWAYS_INLINE static Reg fma(Reg a, Reg b, Reg acc) { return vfmaq_f32(acc, a, b); }
  MOBILENET_ALWAYS_INLINE static Reg max(Reg a, Reg b) { return vmaxq_f32(a, b); }
  MOBILENET_ALWAYS_INLINE static Reg min(Reg a, Reg b) { return vminq_f32(a, b); }
  MOBILENET_ALWAYS_INLINE static Reg splat(float x) { return vdupq_n_f32(x); }
};

#define MOBILENET_DW_TARGET
#include "mobilenet/kernels/depthwise3x3_impl.inl"
#undef MOBILENET_DW_TARGET

}  // namespace depthwise3x3_neon_impl
}  // namespace detail

// in:  in_h x in_w x C (one image, NHWC), weights 3 x 3 x C, bias C
// out: rows [row_begin, row_end) of out_h x out_w x C
inline void depthwise3x3_neon(const Depthwise3x3Params& params) {
  detail::depthwise3x3_neon_impl::run_depthwise3x3(params);
}

}  // namespace kernels
}  // namespace mobilenet
#endif

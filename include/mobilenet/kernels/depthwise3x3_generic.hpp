// SPDX-License-Identifier: MIT
#pragma once
// 3x3 depthwise convolution in portable C++: the same tiled algorithm as the SIMD kernels over
// 4-lane vectors (GCC/clang vector extensions: SSE2 on baseline x86-64, NEON on ARM; a plain
// array elsewhere).
// It runs on any CPU and is the fallback when no SIMD kernel fits.

#include <cstddef>
#include <cstring>

#include "mobilenet/kernels/depthwise3x3_common.hpp"

namespace mobilenet {
namespace kernels {
namespace detail {
namespace depthwise3x3_generic_impl {

#if defined(__GNUC__) || defined(__clang__)
// GCC/clang vector extension: 4 floats the compiler maps to SSE2, NEON, ... or scalars.
using Lanes = float __attribute__((vector_size(16)));
#else
struct Lanes {
  float lane[4];
  float& operator[](int i) { return lane[i]; }
  float operator[](int i) const { return lane[i]; }
};
#endif

struct Vec {
  using Reg = Lanes;
  using Tail = Index;  // lanes in use
  static constexpr Index kWidth = vector_bytes(Isa::Generic) / Index(sizeof(float));
  // Output pixels per interior step (see kDepthwiseTiles).
  static constexpr int kTileStride1 = depthwise3x3_tile(Isa::Generic).pixels[0];
  static constexpr int kTileStride2 = depthwise3x3_tile(Isa::Generic).pixels[1];
  static constexpr int kBlockRows = depthwise3x3_tile(Isa::Generic).rows;
  static constexpr int kBlockPixels = depthwise3x3_tile(Isa::Generic).block_pixels;
  static constexpr bool kWeightsInRegisters = depthwise3x3_tile(Isa::Generic).weights_in_registers;
  MOBILENET_ALWAYS_INLINE static Tail tail(Index lanes) { return lanes; }
  MOBILENET_ALWAYS_INLINE static Reg load(const float* p) {
    Reg r;
    std::memcpy(&r, p, sizeof r);
    return r;
  }
  MOBILENET_ALWAYS_INLINE static Reg load(const float* p, Tail lanes) {
    float buffer[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    std::memcpy(buffer, p, static_cast<std::size_t>(lanes) * sizeof(float));
    return load(buffer);
  }
  MOBILENET_ALWAYS_INLINE static void store(float* p, Reg v) { std::memcpy(p, &v, sizeof v); }
  MOBILENET_ALWAYS_INLINE static void store(float* p, Reg v, Tail lanes) {
    std::memcpy(p, &v, static_cast<std::size_t>(lanes) * sizeof(float));
  }
  MOBILENET_ALWAYS_INLINE static Reg fma(Reg a, Reg b, Reg acc) {
#if defined(__GNUC__) || defined(__clang__)
    return a * b + acc;
#else
    for (int i = 0; i < 4; ++i) acc[i] += a[i] * b[i];
    return acc;
#endif
  }
  // b when either is NaN, like x86's maxps/minps.
  MOBILENET_ALWAYS_INLINE static Reg max(Reg a, Reg b) {
    for (int i = 0; i < 4; ++i) a[i] = a[i] > b[i] ? a[i] : b[i];
    return a;
  }
  MOBILENET_ALWAYS_INLINE static Reg min(Reg a, Reg b) {
    for (int i = 0; i < 4; ++i) a[i] = a[i] < b[i] ? a[i] : b[i];
    return a;
  }
  MOBILENET_ALWAYS_INLINE static Reg splat(float x) {
    Reg r;
    for (int i = 0; i < 4; ++i) r[i] = x;
    return r;
  }
};

#define MOBILENET_DW_TARGET
#include "mobilenet/kernels/depthwise3x3_impl.inl"
#undef MOBILENET_DW_TARGET

}  // namespace depthwise3x3_generic_impl
}  // namespace detail

// in:  in_h x in_w x C (one image, NHWC), weights 3 x 3 x C, bias C
// out: rows [row_begin, row_end) of out_h x out_w x C
inline void depthwise3x3_generic(const Depthwise3x3Params& params) {
  detail::depthwise3x3_generic_impl::run_depthwise3x3(params);
}

}  // namespace kernels
}  // namespace mobilenet

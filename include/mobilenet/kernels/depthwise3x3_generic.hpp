// SPDX-License-Identifier: MIT
#pragma once
// 3x3 depthwise convolution in portable C++: the same tiled algorithm as the SIMD kernels over
// a 4-lane array the compiler may vectorise with whatever the build targets (SSE2 on x86-64).
// It runs on any CPU and is the fallback when no SIMD kernel fits.

#include "mobilenet/kernels/depthwise3x3_common.hpp"

namespace mobilenet {
namespace kernels {
namespace depthwise3x3_generic_impl {

struct Vec {
  struct Reg {
    float lane[4];
  };
  using Tail = Index;  // lanes in use
  static constexpr Index kWidth = 4;
  static constexpr int kTileStride1 = 2;  // output pixels per interior step
  static constexpr int kTileStride2 = 2;
  static Tail tail(Index lanes) { return lanes; }
  static Reg load(const float* p) { return load(p, kWidth); }
  static Reg load(const float* p, Tail lanes) {
    Reg r{{0.0f, 0.0f, 0.0f, 0.0f}};
    for (Index i = 0; i < lanes; ++i) r.lane[i] = p[i];
    return r;
  }
  static void store(float* p, Reg v) { store(p, v, kWidth); }
  static void store(float* p, Reg v, Tail lanes) {
    for (Index i = 0; i < lanes; ++i) p[i] = v.lane[i];
  }
  static Reg fma(Reg a, Reg b, Reg acc) {
    for (int i = 0; i < 4; ++i) acc.lane[i] += a.lane[i] * b.lane[i];
    return acc;
  }
  static Reg max(Reg a, Reg b) {
    for (int i = 0; i < 4; ++i) a.lane[i] = a.lane[i] < b.lane[i] ? b.lane[i] : a.lane[i];
    return a;
  }
  static Reg min(Reg a, Reg b) {
    for (int i = 0; i < 4; ++i) a.lane[i] = b.lane[i] < a.lane[i] ? b.lane[i] : a.lane[i];
    return a;
  }
  static Reg splat(float x) { return Reg{{x, x, x, x}}; }
};

#define MOBILENET_DW_TARGET
#include "mobilenet/kernels/depthwise3x3_impl.inl"
#undef MOBILENET_DW_TARGET

}  // namespace depthwise3x3_generic_impl

// in:  in_h x in_w x C (one image, NHWC), weights 3 x 3 x C, bias C
// out: rows [row_begin, row_end) of out_h x out_w x C
inline void depthwise3x3_generic(const Depthwise3x3Params& params) {
  depthwise3x3_generic_impl::run_depthwise3x3(params);
}

}  // namespace kernels
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#pragma once
// 3x3 depthwise convolution with AVX-512: 16 channels per zmm register, channel tails through
// lane masks (a masked load never touches the lanes it leaves out). Compiled through a
// function attribute, so no -mavx512f is needed; call it only when best_isa() says Avx512.

#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/depthwise3x3_common.hpp"

#if MOBILENET_X86_DISPATCH
#include <immintrin.h>

#define MOBILENET_HAVE_DEPTHWISE3X3_AVX512 1

namespace mobilenet {
namespace kernels {
namespace detail {
namespace depthwise3x3_avx512_impl {

struct Vec {
  using Reg = __m512;
  using Tail = __mmask16;
  static constexpr Index kWidth = vector_bytes(Isa::Avx512) / Index(sizeof(float));
  // Output pixels per interior step (see kDepthwiseTiles).
  static constexpr int kTileStride1 = depthwise3x3_tile(Isa::Avx512).pixels[0];
  static constexpr int kTileStride2 = depthwise3x3_tile(Isa::Avx512).pixels[1];
  static constexpr int kBlockRows = depthwise3x3_tile(Isa::Avx512).rows;
  static constexpr int kBlockPixels = depthwise3x3_tile(Isa::Avx512).block_pixels;
  static constexpr bool kWeightsInRegisters = depthwise3x3_tile(Isa::Avx512).weights_in_registers;
  static constexpr Tail kAll = 0xFFFF;
  MOBILENET_TARGET_AVX512 MOBILENET_ALWAYS_INLINE static Tail tail(Index lanes) {
    return static_cast<Tail>((1u << lanes) - 1u);
  }
  MOBILENET_TARGET_AVX512 MOBILENET_ALWAYS_INLINE static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512 static Reg load(const float* p, Tail t) { return _mm512_maskz_loadu_ps(t, p); }
  MOBILENET_TARGET_AVX512 MOBILENET_ALWAYS_INLINE static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512 static void store(float* p, Reg v, Tail t) { _mm512_mask_storeu_ps(p, t, v); }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512 static Reg fma(Reg a, Reg b, Reg acc) { return _mm512_fmadd_ps(a, b, acc); }
  // The zero-masked forms: GCC warns (maybe-uninitialized) inside plain _mm512_max_ps.
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512 static Reg max(Reg a, Reg b) { return _mm512_maskz_max_ps(kAll, a, b); }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512 static Reg min(Reg a, Reg b) { return _mm512_maskz_min_ps(kAll, a, b); }
  MOBILENET_TARGET_AVX512 MOBILENET_ALWAYS_INLINE static Reg splat(float x) { return _mm512_set1_ps(x); }
};

#define MOBILENET_DW_TARGET MOBILENET_TARGET_AVX512
#include "mobilenet/kernels/depthwise3x3_impl.inl"
#undef MOBILENET_DW_TARGET

}  // namespace depthwise3x3_avx512_impl
}  // namespace detail

// in:  in_h x in_w x C (one image, NHWC), weights 3 x 3 x C, bias C
// out: rows [row_begin, row_end) of out_h x out_w x C
MOBILENET_TARGET_AVX512 inline void depthwise3x3_avx512(const Depthwise3x3Params& params) {
  detail::depthwise3x3_avx512_impl::run_depthwise3x3(params);
}

}  // namespace kernels
}  // namespace mobilenet
#endif

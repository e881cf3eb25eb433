// SPDX-License-Identifier: MIT
#pragma once
// 3x3 depthwise convolution with AVX2 + FMA: 8 channels per ymm register, channel tails
// through vmaskmovps. Compiled through a function attribute, so no -mavx2 is needed; call it
// only when best_isa() says Avx2 or better.

#include <cstdint>

#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/depthwise3x3_common.hpp"

#if MOBILENET_X86_DISPATCH
#include <immintrin.h>

#define MOBILENET_HAVE_DEPTHWISE3X3_AVX2 1

namespace mobilenet {
namespace kernels {
namespace detail {
namespace depthwise3x3_avx2_impl {

struct Vec {
  using Reg = __m256;
  using Tail = __m256i;
  static constexpr Index kWidth = vector_bytes(Isa::Avx2) / Index(sizeof(float));
  // Output pixels per interior step (see kDepthwiseTiles).
  static constexpr int kTileStride1 = depthwise3x3_tile(Isa::Avx2).pixels[0];
  static constexpr int kTileStride2 = depthwise3x3_tile(Isa::Avx2).pixels[1];
  static constexpr int kBlockRows = depthwise3x3_tile(Isa::Avx2).rows;
  static constexpr int kBlockPixels = depthwise3x3_tile(Isa::Avx2).block_pixels;
  static constexpr bool kWeightsInRegisters = depthwise3x3_tile(Isa::Avx2).weights_in_registers;
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static Tail tail(Index lanes) {
    // Lane i is on when i < lanes: a window into 8 ones followed by 8 zeros.
    alignas(32) static const std::int32_t ones_then_zeros[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                                  0,  0,  0,  0,  0,  0,  0,  0};
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ones_then_zeros + 8 - lanes));
  }
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX2 static Reg load(const float* p, Tail t) { return _mm256_maskload_ps(p, t); }
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX2 static void store(float* p, Reg v, Tail t) { _mm256_maskstore_ps(p, t, v); }
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX2 static Reg fma(Reg a, Reg b, Reg acc) { return _mm256_fmadd_ps(a, b, acc); }
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static Reg max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static Reg min(Reg a, Reg b) { return _mm256_min_ps(a, b); }
  MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE static Reg splat(float x) { return _mm256_set1_ps(x); }
};

#define MOBILENET_DW_TARGET MOBILENET_TARGET_AVX2
#include "mobilenet/kernels/depthwise3x3_impl.inl"
#undef MOBILENET_DW_TARGET

}  // namespace depthwise3x3_avx2_impl
}  // namespace detail

// in:  in_h x in_w x C (one image, NHWC), weights 3 x 3 x C, bias C
// out: rows [row_begin, row_end) of out_h x out_w x C
MOBILENET_TARGET_AVX2 inline void depthwise3x3_avx2(const Depthwise3x3Params& params) {
  detail::depthwise3x3_avx2_impl::run_depthwise3x3(params);
}

}  // namespace kernels
}  // namespace mobilenet
#endif

// SPDX-License-Identifier: MIT
#pragma once
// NEON (ARM64) GEMM micro-kernel, gemm_tile_neon<Rows, 16>: up to 6 rows x 16 columns of C in
// 24 q-register accumulators; a 32-wide weight panel runs as two such tiles
// (gemm_tile_in_halves).

#include <algorithm>

#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/gemm/common.hpp"

#if MOBILENET_NEON
#include <arm_neon.h>

namespace mobilenet {
namespace kernels {

// Rows x 16 tile at panel column offset 0 of `b`; columns <= 16; see GemmHalfKernel.
template <int Rows, int Columns>
void gemm_tile_neon(Index kc, const float* a, Index lda, const float* b, float* c, Index ldc, Index columns,
                    const float* bias, const GemmTileEpilogue& e) {
  static_assert(Columns == 16, "NEON tiles are 16 columns wide");
  constexpr Index W = kGemmPanelWidth;
  float32x4_t acc[Rows][4];
  float edge[Rows][16];
  const bool full = columns == 16;
  for (int i = 0; i < Rows; ++i) {
    const float* src = bias;
    if (e.accumulate) {
      src = c + i * ldc;
      if (!full) {
        std::fill(edge[i], edge[i] + 16, 0.0f);
        std::copy(src, src + columns, edge[i]);
        src = edge[i];
      }
    }
    for (int v = 0; v < 4; ++v) acc[i][v] = vld1q_f32(src + 4 * v);
  }
  for (Index k = 0; k < kc; ++k) {
    float32x4_t w[4];
    for (int v = 0; v < 4; ++v) w[v] = vld1q_f32(b + k * W + 4 * v);
    for (int i = 0; i < Rows; ++i) {
      const float32x4_t x = vdupq_n_f32(a[i * lda + k]);
      for (int v = 0; v < 4; ++v) acc[i][v] = vfmaq_f32(acc[i][v], x, w[v]);
    }
  }
  const float32x4_t lo = vdupq_n_f32(e.lower), hi = vdupq_n_f32(e.upper);
  for (int i = 0; i < Rows; ++i) {
    float* dst = full ? c + i * ldc : edge[i];
    for (int v = 0; v < 4; ++v)
      vst1q_f32(dst + 4 * v, e.activate ? vminq_f32(vmaxq_f32(acc[i][v], lo), hi) : acc[i][v]);
    if (!full) std::copy(edge[i], edge[i] + columns, c + i * ldc);
  }
}

}  // namespace kernels
}  // namespace mobilenet

#endif  // MOBILENET_NEON

// SPDX-License-Identifier: MIT
#pragma once
// AVX2+FMA GEMM micro-kernel: up to 6 rows x 16 columns of C in 12 ymm accumulators (the
// classic tile for 16 registers: 12 accumulators, 2 weight vectors, 1 broadcast). A 32-wide
// weight panel is run as two 16-column halves.

#include <algorithm>

#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/gemm/common.hpp"

#if MOBILENET_X86_DISPATCH
#include <immintrin.h>

namespace mobilenet {
namespace kernels {

inline constexpr Index kGemmAvx2Rows = 6;

// Rows x 16 tile at panel column offset 0 of `b`; columns <= 16.
template <int Rows>
MOBILENET_TARGET_AVX2 void gemm_half_tile_avx2(Index kc, const float* a, Index lda,
                                                    const float* b, float* c, Index ldc,
                                                    Index columns, const float* bias,
                                                    const GemmTileEpilogue& e) {
  constexpr Index W = kGemmPanelWidth;
  __m256 acc[Rows][2];
  // Full 16-column tiles load and store C directly; a narrower one goes through this buffer.
  alignas(32) float edge[Rows][16];
  const bool full = columns == 16;
  if (e.accumulate) {
    for (int i = 0; i < Rows; ++i) {
      const float* src = c + i * ldc;
      if (!full) {
        std::fill(edge[i], edge[i] + 16, 0.0f);
        std::copy(src, src + columns, edge[i]);
        src = edge[i];
      }
      acc[i][0] = _mm256_loadu_ps(src);
      acc[i][1] = _mm256_loadu_ps(src + 8);
    }
  } else {
    const __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);
    for (int i = 0; i < Rows; ++i) acc[i][0] = b0, acc[i][1] = b1;
  }
  for (Index k = 0; k < kc; ++k) {
    const __m256 w0 = _mm256_loadu_ps(b + k * W), w1 = _mm256_loadu_ps(b + k * W + 8);
#pragma GCC unroll 6
    for (int i = 0; i < Rows; ++i) {
      const __m256 x = _mm256_broadcast_ss(a + i * lda + k);
      acc[i][0] = _mm256_fmadd_ps(x, w0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(x, w1, acc[i][1]);
    }
  }
  if (e.activate) {
    const __m256 lo = _mm256_set1_ps(e.lower), hi = _mm256_set1_ps(e.upper);
    for (int i = 0; i < Rows; ++i)
      for (int v = 0; v < 2; ++v) acc[i][v] = _mm256_min_ps(_mm256_max_ps(acc[i][v], lo), hi);
  }
  for (int i = 0; i < Rows; ++i) {
    float* dst = full ? c + i * ldc : edge[i];
    _mm256_storeu_ps(dst, acc[i][0]);
    _mm256_storeu_ps(dst + 8, acc[i][1]);
    if (!full) std::copy(edge[i], edge[i] + columns, c + i * ldc);
  }
}

}  // namespace kernels
}  // namespace mobilenet

#endif  // MOBILENET_X86_DISPATCH

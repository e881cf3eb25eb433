// SPDX-License-Identifier: MIT
#pragma once
// AVX2+FMA GEMM micro-kernel, gemm_tile_avx2<Rows, 16>: up to 6 rows x 16 columns of C in 12
// ymm accumulators (the classic tile for 16 registers: 12 accumulators, 2 weight vectors,
// 1 broadcast). A 32-wide weight panel runs as two such tiles (gemm_tile_in_halves).

#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/gemm/common.hpp"

#if MOBILENET_X86_DISPATCH
#include <immintrin.h>

namespace mobilenet {
namespace kernels {

namespace detail {
// Lanes [0, count) of 8 set, as an AVX2 load/store mask (count may be <= 0 or >= 8).
MOBILENET_TARGET_AVX2 inline __m256i avx2_lane_mask(Index count) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count < 0 ? 0 : count > 8 ? 8 : count)), lanes);
}
}  // namespace detail

// Rows x 16 tile at panel column offset 0 of `b`; columns <= 16; see GemmHalfKernel. Every
// loop over rows is unrolled so the 12 accumulators stay in registers. C moves through masked
// loads and stores only for a partial tile: vmaskmovps stores are microcoded on AMD's cores.
template <int Rows, int Columns>
MOBILENET_TARGET_AVX2 void gemm_tile_avx2(Index kc, const float* a, Index lda, const float* b, float* c,
                                          Index ldc, Index columns, const float* bias, const GemmTileEpilogue& e) {
  static_assert(Columns == 16, "AVX2 tiles are 16 columns wide");
  constexpr Index W = kGemmPanelWidth;
  const __m256i mask0 = detail::avx2_lane_mask(columns), mask1 = detail::avx2_lane_mask(columns - 8);
  __m256 acc[Rows][2];
  const bool full = columns >= 16;
  if (e.accumulate && full) {
#pragma GCC unroll 6
    for (int i = 0; i < Rows; ++i) {
      acc[i][0] = _mm256_loadu_ps(c + i * ldc);
      acc[i][1] = _mm256_loadu_ps(c + i * ldc + 8);
    }
  } else if (e.accumulate) {
#pragma GCC unroll 6
    for (int i = 0; i < Rows; ++i) {
      acc[i][0] = _mm256_maskload_ps(c + i * ldc, mask0);
      acc[i][1] = _mm256_maskload_ps(c + i * ldc + 8, mask1);
    }
  } else {
    const __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);
#pragma GCC unroll 6
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
#pragma GCC unroll 6
    for (int i = 0; i < Rows; ++i) {
      acc[i][0] = _mm256_min_ps(hi, _mm256_max_ps(lo, acc[i][0]));
      acc[i][1] = _mm256_min_ps(hi, _mm256_max_ps(lo, acc[i][1]));
    }
  }
  if (full) {
#pragma GCC unroll 6
    for (int i = 0; i < Rows; ++i) {
      _mm256_storeu_ps(c + i * ldc, acc[i][0]);
      _mm256_storeu_ps(c + i * ldc + 8, acc[i][1]);
    }
    return;
  }
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i) {
    _mm256_maskstore_ps(c + i * ldc, mask0, acc[i][0]);
    _mm256_maskstore_ps(c + i * ldc + 8, mask1, acc[i][1]);
  }
}

}  // namespace kernels
}  // namespace mobilenet

#endif  // MOBILENET_X86_DISPATCH

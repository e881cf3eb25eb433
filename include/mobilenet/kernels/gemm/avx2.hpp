// SPDX-License-Identifier: MIT
#pragma once
// AVX2+FMA GEMM micro-kernels. The unit is a tile of up to 6 rows x 16 columns of C in 12 ymm
// accumulators (the classic tile for 16 registers: 12 accumulators, 2 weight vectors,
// 1 broadcast). gemm_half_tile_avx2<Rows> runs one; a 32-wide weight panel runs as two of them
// (gemm_tile_in_halves), and gemm_tile_avx2<Rows, 64> runs two neighbouring panels as four,
// spreading the epilogue's prefetch streams over all of them.

#include <cstdint>

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

// A 16-column tile's share of up to two prefetch streams: at step k it prefetches
// at[s] + ((pos[s] + k * step[s]) >> 16) (TilePrefetch's fixed point).
struct Avx2TilePrefetch {
  const char* at[2] = {nullptr, nullptr};
  std::uint64_t pos[2] = {0, 0};
  std::uint64_t step[2] = {0, 0};
};

// The parts of a Rows x 16 tile of C, 12 ymm accumulators (every loop over rows is unrolled so
// that they stay in registers). C moves through masked loads and stores only for a partial
// tile (columns < 16): vmaskmovps stores are microcoded on AMD's cores.
template <int Rows>
MOBILENET_TARGET_AVX2 inline void start_tile16_avx2(__m256 (&acc)[Rows][2], const float* c, Index ldc, Index columns,
                                                    const float* bias, const GemmTileEpilogue& e) {
  if (!e.accumulate) {
    const __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);
#pragma GCC unroll 6
    for (int i = 0; i < Rows; ++i) acc[i][0] = b0, acc[i][1] = b1;
  } else if (columns >= 16) {
#pragma GCC unroll 6
    for (int i = 0; i < Rows; ++i) {
      acc[i][0] = _mm256_loadu_ps(c + i * ldc);
      acc[i][1] = _mm256_loadu_ps(c + i * ldc + 8);
    }
  } else {
    const __m256i mask0 = avx2_lane_mask(columns), mask1 = avx2_lane_mask(columns - 8);
#pragma GCC unroll 6
    for (int i = 0; i < Rows; ++i) {
      acc[i][0] = _mm256_maskload_ps(c + i * ldc, mask0);
      acc[i][1] = _mm256_maskload_ps(c + i * ldc + 8, mask1);
    }
  }
}

// acc += A[Rows x kc] (row i at a + i * lda) x the panel rows at b (16 of their 32 floats).
template <int Rows, int Streams>
MOBILENET_TARGET_AVX2 inline void accumulate16_avx2(__m256 (&acc)[Rows][2], const float* a, Index lda, const float* b,
                                                    Index kc, Avx2TilePrefetch& pf) {
  constexpr Index W = kGemmPanelWidth;
  for (Index k = 0; k < kc; ++k) {
    if (Streams >= 1) _mm_prefetch(pf.at[0] + (pf.pos[0] >> 16), _MM_HINT_T0), pf.pos[0] += pf.step[0];
    if (Streams >= 2) _mm_prefetch(pf.at[1] + (pf.pos[1] >> 16), _MM_HINT_T0), pf.pos[1] += pf.step[1];
    const __m256 w0 = _mm256_loadu_ps(b + k * W), w1 = _mm256_loadu_ps(b + k * W + 8);
#pragma GCC unroll 6
    for (int i = 0; i < Rows; ++i) {
      const __m256 x = _mm256_broadcast_ss(a + i * lda + k);
      acc[i][0] = _mm256_fmadd_ps(x, w0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(x, w1, acc[i][1]);
    }
  }
}

template <int Rows>
MOBILENET_TARGET_AVX2 inline void finish_tile16_avx2(__m256 (&acc)[Rows][2], float* c, Index ldc, Index columns,
                                                     const GemmTileEpilogue& e) {
  if (e.activate) {
    const __m256 lo = _mm256_set1_ps(e.lower), hi = _mm256_set1_ps(e.upper);
#pragma GCC unroll 6
    for (int i = 0; i < Rows; ++i) {
      acc[i][0] = _mm256_min_ps(hi, _mm256_max_ps(lo, acc[i][0]));
      acc[i][1] = _mm256_min_ps(hi, _mm256_max_ps(lo, acc[i][1]));
    }
  }
  if (columns >= 16) {
#pragma GCC unroll 6
    for (int i = 0; i < Rows; ++i) {
      _mm256_storeu_ps(c + i * ldc, acc[i][0]);
      _mm256_storeu_ps(c + i * ldc + 8, acc[i][1]);
    }
    return;
  }
  const __m256i mask0 = avx2_lane_mask(columns), mask1 = avx2_lane_mask(columns - 8);
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i) {
    _mm256_maskstore_ps(c + i * ldc, mask0, acc[i][0]);
    _mm256_maskstore_ps(c + i * ldc + 8, mask1, acc[i][1]);
  }
}

// Rows x 16 tile at panel column offset 0 of `b`; columns <= 16.
template <int Rows, int Streams>
MOBILENET_TARGET_AVX2 inline void tile16_avx2(Index kc, const float* a, Index lda, const float* b, float* c,
                                              Index ldc, Index columns, const float* bias, const GemmTileEpilogue& e,
                                              Avx2TilePrefetch pf) {
  __m256 acc[Rows][2];
  start_tile16_avx2<Rows>(acc, c, ldc, columns, bias, e);
  accumulate16_avx2<Rows, Streams>(acc, a, lda, b, kc, pf);
  finish_tile16_avx2<Rows>(acc, c, ldc, columns, e);
}

// Rows x 64 over two neighbouring panels (32 < columns <= 64; panel p + 1's rows of this block
// of k at b + 32 kc) as three or four 16-column tiles in turn, which share e.prefetch: tile q of
// n issues its q-th n-th of each stream, so the lines still spread over every step of k.
template <int Rows>
MOBILENET_TARGET_AVX2 inline void two_panel_tile_avx2(Index kc, const float* a, Index lda, const float* b,
                                                      float* c, Index ldc, Index columns, const GemmTileEpilogue& e) {
  constexpr Index W = kGemmPanelWidth;
  const Index tiles = (columns + 15) / 16;
  const int streams = e.prefetch[1].at ? 2 : e.prefetch[0].at ? 1 : 0;
  Avx2TilePrefetch pf;
  for (int s = 0; s < streams; ++s) pf.at[s] = e.prefetch[s].at, pf.step[s] = e.prefetch[s].step / std::uint64_t(tiles);
  for (Index q = 0; q < tiles; ++q) {
    const float* bq = b + (q / 2) * kc * W + (q % 2) * 16;
    const Index cols = std::min<Index>(16, columns - 16 * q);
    for (int s = 0; s < streams; ++s) pf.pos[s] = std::uint64_t(q * kc) * pf.step[s];
    if (streams == 2)
      tile16_avx2<Rows, 2>(kc, a, lda, bq, c + 16 * q, ldc, cols, e.bias + 16 * q, e, pf);
    else if (streams == 1)
      tile16_avx2<Rows, 1>(kc, a, lda, bq, c + 16 * q, ldc, cols, e.bias + 16 * q, e, pf);
    else
      tile16_avx2<Rows, 0>(kc, a, lda, bq, c + 16 * q, ldc, cols, e.bias + 16 * q, e, pf);
  }
}
}  // namespace detail

// Rows x 16 columns at panel column offset 0 of `b` (columns <= 16): a GemmHalfKernel.
template <int Rows>
MOBILENET_TARGET_AVX2 void gemm_half_tile_avx2(Index kc, const float* a, Index lda, const float* b, float* c,
                                               Index ldc, Index columns, const float* bias, const GemmTileEpilogue& e) {
  detail::tile16_avx2<Rows, 0>(kc, a, lda, b, c, ldc, columns, bias, e, {});
}

// Rows x Columns tile of C; see GemmMicroKernel. Columns: 64 (two panels; 32 < columns <= 64).
template <int Rows, int Columns>
MOBILENET_TARGET_AVX2 void gemm_tile_avx2(Index kc, const float* a, Index lda, const float* b, float* c,
                                          Index ldc, Index columns, const GemmTileEpilogue& e) {
  static_assert(Columns == 64, "AVX2 whole tiles span two panels; one panel runs as two half tiles");
  detail::two_panel_tile_avx2<Rows>(kc, a, lda, b, c, ldc, columns, e);
}

}  // namespace kernels
}  // namespace mobilenet

#endif  // MOBILENET_X86_DISPATCH

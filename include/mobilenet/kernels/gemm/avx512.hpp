// SPDX-License-Identifier: MIT
#pragma once
// AVX-512 GEMM micro-kernels, gemm_tile_avx512<Rows, Columns>: a Rows x Columns tile of C in
// zmm accumulators. Columns 16 or 32 (one panel, up to 14 rows: 28 accumulators, 2 weight
// loads and 14 broadcasts per 28 FMAs) or 64 (two neighbouring panels, up to
// kGemmAvx512PairRows rows: 4 weight loads and a broadcast a row per 4 FMAs, fewer loads per
// FMA).

#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/gemm/common.hpp"

#if MOBILENET_X86_DISPATCH
#include <immintrin.h>

namespace mobilenet {
namespace kernels {

namespace detail {

// The heart of a Rows x (16 * Vectors) tile: acc += A * B over kc steps of k, where row i of
// A is a_row[i][0, kc) and B is kc panel rows of 32 floats. Per step: the weight row's one or
// two vectors, then per row one broadcast and one FMA per vector.
template <int Rows, int Vectors>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX512 inline void accumulate_tile_avx512(__m512 (&acc)[Rows][Vectors], const float* const (&a_row)[Rows],
                                                           const float* b, Index kc) {
  constexpr Index W = kGemmPanelWidth;
  for (Index k = 0; k < kc; ++k) {
    const __m512 w0 = _mm512_loadu_ps(b + k * W);
    const __m512 w1 = Vectors == 2 ? _mm512_loadu_ps(b + k * W + 16) : w0;
#pragma GCC unroll 14
    for (int i = 0; i < Rows; ++i) {
      const __m512 x = _mm512_set1_ps(a_row[i][k]);
      acc[i][0] = _mm512_fmadd_ps(x, w0, acc[i][0]);
      if (Vectors == 2) acc[i][1] = _mm512_fmadd_ps(x, w1, acc[i][1]);
    }
  }
}

// The end of a tile of Rows x (16 * Vectors): the clamp if e.activate, then the stores; the
// last vector's lanes past the real columns are masked off.
template <int Rows, int Vectors>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX512 inline void store_tile_avx512(__m512 (&acc)[Rows][Vectors], float* c, Index ldc,
                                                      __mmask16 last_mask, const GemmTileEpilogue& e) {
  if (e.activate) {
    const __m512 lo = _mm512_set1_ps(e.lower), hi = _mm512_set1_ps(e.upper);
    // Masked forms: GCC 12's unmasked _mm512_max_ps trips -Wmaybe-uninitialized.
    const __mmask16 all = 0xFFFF;
#pragma GCC unroll 14
    for (int i = 0; i < Rows; ++i)
      for (int v = 0; v < Vectors; ++v) acc[i][v] = _mm512_maskz_min_ps(all, hi, _mm512_maskz_max_ps(all, lo, acc[i][v]));
  }
  float* row = c;  // row by row through one pointer, as in two_panel_tile_avx512
#pragma GCC unroll 14
  for (int i = 0; i < Rows; ++i, row += ldc) {
    MOBILENET_HIDE_VALUE(row);
    for (int v = 0; v + 1 < Vectors; ++v) _mm512_storeu_ps(row + 16 * v, acc[i][v]);
    _mm512_mask_storeu_ps(row + 16 * (Vectors - 1), last_mask, acc[i][Vectors - 1]);
  }
}

// Rows x (16 * Vectors) tile, columns <= 16 * Vectors; see GemmMicroKernel.
template <int Rows, int Vectors>
MOBILENET_TARGET_AVX512 inline void one_panel_tile_avx512(Index kc, const float* a, Index lda,
                                                   const float* b, float* c, Index ldc,
                                                   Index columns, const GemmTileEpilogue& e) {
  static_assert(Rows >= 1 && Rows <= 14 && (Vectors == 1 || Vectors == 2), "tile too large");
  // Lanes of the last vector that are real columns (the rest is panel padding).
  const Index last_lanes = columns - 16 * (Vectors - 1);
  const __mmask16 last_mask = static_cast<__mmask16>((1u << last_lanes) - 1u);
  __m512 acc[Rows][Vectors];
  if (e.accumulate) {
#pragma GCC unroll 14
    for (int i = 0; i < Rows; ++i) {
      if (Vectors == 2) acc[i][0] = _mm512_loadu_ps(c + i * ldc);
      acc[i][Vectors - 1] = _mm512_maskz_loadu_ps(last_mask, c + i * ldc + 16 * (Vectors - 1));
    }
  } else {
    const __m512 b0 = _mm512_loadu_ps(e.bias);
    const __m512 b1 = _mm512_loadu_ps(e.bias + 16);
#pragma GCC unroll 14
    for (int i = 0; i < Rows; ++i) {
      acc[i][0] = b0;
      if (Vectors == 2) acc[i][1] = b1;
    }
  }
  const float* a_row[Rows];
#pragma GCC unroll 14
  for (int i = 0; i < Rows; ++i) a_row[i] = a + i * lda;
  accumulate_tile_avx512<Rows, Vectors>(acc, a_row, b, kc);
  store_tile_avx512<Rows, Vectors>(acc, c, ldc, last_mask, e);
}

// Rows x 64 tile over two neighbouring panels (16 < columns <= 64): panel p's rows of this
// block of k at b, panel p + 1's at b + 32 kc (PackedGemmWeights stores a block's panels one
// after the other).
// The two-panel tile's sum over k, with `Streams` of e.prefetch issued along the way: one
// prefetch per stream and step of k, at TilePrefetch::line(k) (repeats of a line hit L1 and
// cost less than a loop split to prefetch only on new lines).
template <int Rows, int Streams>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX512 inline void accumulate_pair_avx512(
    __m512 (&acc)[Rows][4], const float* const (&a_row)[Rows], const float* b, const float* b1, Index kc,
    const TilePrefetch* pf) {
  constexpr Index W = kGemmPanelWidth;
  const char* const at0 = pf[0].at;
  const char* const at1 = pf[1].at;
  const std::uint64_t step0 = pf[0].step, step1 = pf[1].step;
  std::uint64_t pos0 = 0, pos1 = 0;  // TilePrefetch::line(k), as a running sum
  // Two steps of k an iteration: the loop's own pointer and counter updates are shared by 48 FMAs.
#pragma GCC unroll 2
  for (Index k = 0; k < kc; ++k) {
    if (Streams >= 1) _mm_prefetch(at0 + (pos0 >> 16), _MM_HINT_T0), pos0 += step0;
    if (Streams >= 2) _mm_prefetch(at1 + (pos1 >> 16), _MM_HINT_T0), pos1 += step1;
    const __m512 w0 = _mm512_loadu_ps(b + k * W), w1 = _mm512_loadu_ps(b + k * W + 16);
    const __m512 w2 = _mm512_loadu_ps(b1 + k * W), w3 = _mm512_loadu_ps(b1 + k * W + 16);
#pragma GCC unroll 7
    for (int i = 0; i < Rows; ++i) {
      const __m512 x = _mm512_set1_ps(a_row[i][k]);
      acc[i][0] = _mm512_fmadd_ps(x, w0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(x, w1, acc[i][1]);
      acc[i][2] = _mm512_fmadd_ps(x, w2, acc[i][2]);
      acc[i][3] = _mm512_fmadd_ps(x, w3, acc[i][3]);
    }
  }
}

template <int Rows>
MOBILENET_TARGET_AVX512 inline void two_panel_tile_avx512(Index kc, const float* a, Index lda,
                                                        const float* b, float* c, Index ldc,
                                                        Index columns, const GemmTileEpilogue& e) {
  static_assert(Rows >= 1 && Rows <= 7, "tile too large");
  constexpr Index W = kGemmPanelWidth;
  const float* b1 = b + kc * W;
  // Lanes of the third and fourth vector that are real columns (the rest is panel padding).
  const auto lanes = [](Index n) { return static_cast<__mmask16>((1u << std::min<Index>(16, std::max<Index>(0, n))) - 1u); };
  const __mmask16 mask2 = lanes(columns - 32), mask3 = lanes(columns - 48);
  __m512 acc[Rows][4];
  if (e.accumulate) {
    const float* row = c;
#pragma GCC unroll 7
    for (int i = 0; i < Rows; ++i, row += ldc) {
      MOBILENET_HIDE_VALUE(row);
      for (int v = 0; v < 2; ++v) acc[i][v] = _mm512_loadu_ps(row + 16 * v);
      acc[i][2] = _mm512_maskz_loadu_ps(mask2, row + 32);
      acc[i][3] = _mm512_maskz_loadu_ps(mask3, row + 48);
    }
  } else {
    __m512 bias[4];
    for (int v = 0; v < 4; ++v) bias[v] = _mm512_loadu_ps(e.bias + 16 * v);
#pragma GCC unroll 7
    for (int i = 0; i < Rows; ++i)
      for (int v = 0; v < 4; ++v) acc[i][v] = bias[v];
  }
  const float* a_row[Rows];
#pragma GCC unroll 7
  for (int i = 0; i < Rows; ++i) a_row[i] = a + i * lda;
  const TilePrefetch* pf = e.prefetch;
  if (pf[1].at)
    accumulate_pair_avx512<Rows, 2>(acc, a_row, b, b1, kc, pf);
  else if (pf[0].at)
    accumulate_pair_avx512<Rows, 1>(acc, a_row, b, b1, kc, pf);
  else
    accumulate_pair_avx512<Rows, 0>(acc, a_row, b, b1, kc, pf);
  if (e.activate) {
    const __m512 lo = _mm512_set1_ps(e.lower), hi = _mm512_set1_ps(e.upper);
    const __mmask16 all = 0xFFFF;
#pragma GCC unroll 7
    for (int i = 0; i < Rows; ++i)
      for (int v = 0; v < 4; ++v) acc[i][v] = _mm512_maskz_min_ps(all, hi, _mm512_maskz_max_ps(all, lo, acc[i][v]));
  }
  // Row by row through one pointer: with c + i * ldc GCC computes all 28 addresses before the
  // sum over k and keeps them on the stack.
  float* row = c;
#pragma GCC unroll 7
  for (int i = 0; i < Rows; ++i, row += ldc) {
    MOBILENET_HIDE_VALUE(row);
    for (int v = 0; v < 2; ++v) _mm512_storeu_ps(row + 16 * v, acc[i][v]);
    _mm512_mask_storeu_ps(row + 32, mask2, acc[i][2]);
    _mm512_mask_storeu_ps(row + 48, mask3, acc[i][3]);
  }
}

}  // namespace detail

// Rows x Columns tile of C; see GemmMicroKernel. Columns: 16 or 32 (one panel; columns <=
// Columns) or 64 (two panels; 16 < columns <= 64).
template <int Rows, int Columns>
MOBILENET_TARGET_AVX512 void gemm_tile_avx512(Index kc, const float* a, Index lda, const float* b, float* c,
                                              Index ldc, Index columns, const GemmTileEpilogue& e) {
  static_assert(Columns == 16 || Columns == 32 || Columns == 64, "AVX-512 tiles are 16, 32 or 64 columns wide");
  if constexpr (Columns == 64)
    detail::two_panel_tile_avx512<Rows>(kc, a, lda, b, c, ldc, columns, e);
  else
    detail::one_panel_tile_avx512<Rows, Columns / 16>(kc, a, lda, b, c, ldc, columns, e);
}

}  // namespace kernels
}  // namespace mobilenet

#endif  // MOBILENET_X86_DISPATCH

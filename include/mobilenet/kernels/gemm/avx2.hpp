// SPDX-License-Identifier: MIT
#pragma once
// AVX2+FMA GEMM micro-kernels. The unit is a tile of up to 6 rows x 16 columns of C in 12 ymm
// accumulators (the classic tile for 16 registers: 12 accumulators, 2 weight vectors,
// 1 broadcast). gemm_half_tile_avx2<Rows> runs one; a 32-wide weight panel runs as two of them
// (gemm_tile_in_halves), and gemm_tile_avx2<Rows, 64> runs two neighbouring panels as four,
// spreading the epilogue's prefetch streams over all of them.

#include <cstdint>
#include <utility>

#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/gemm/common.hpp"

#if MOBILENET_X86_DISPATCH
#include <immintrin.h>

namespace mobilenet {
namespace kernels {

namespace detail {
// Lanes [0, count) of 8 set, as an AVX2 load/store mask (count may be <= 0 or >= 8).
MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE inline __m256i avx2_lane_mask(Index count) {
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
MOBILENET_ALWAYS_INLINE
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

// One row's part of a step of k: x = A[row][k], c0 += x w0, c1 += x w1. Row I reads
// p + (I % 3) * ld_bytes + Offset (p: the base of rows 0-2 or of rows 3-5), which x86
// addressing reaches with no register per row. With GCC and clang the three instructions are
// one asm statement: left to themselves, both compilers move the accumulators of the unrolled
// loop between registers or spill them. Every extra instruction takes a dispatch slot from the
// FMAs, and the loop slows down whenever the core dispatches fewer of them (a busy sibling
// hardware thread on a shared host).
#if defined(__GNUC__) || defined(__clang__)
#define MOBILENET_AVX2_ROW_STEP(address)                                                            \
  asm("vbroadcastss " address ", %[x]\n\t"                                                          \
      "vfmadd231ps %[x], %[w0], %[c0]\n\t"                                                          \
      "vfmadd231ps %[x], %[w1], %[c1]"                                                              \
      : [c0] "+x"(c0), [c1] "+x"(c1), [x] "=&x"(x)                                                  \
      : [p] "r"(p), [ld] "r"(ld_bytes), [off] "i"(Offset), [w0] "x"(w0), [w1] "x"(w1)              \
      : "memory")  // it reads A, which no operand names
#endif
template <int I, int Offset>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX2 inline void row_step16_avx2(__m256& c0, __m256& c1, const float* p, Index ld_bytes, __m256 w0,
                                                  __m256 w1) {
#if defined(__GNUC__) || defined(__clang__)
  __m256 x;
  if constexpr (I % 3 == 0)
    MOBILENET_AVX2_ROW_STEP("%c[off](%[p])");
  else if constexpr (I % 3 == 1)
    MOBILENET_AVX2_ROW_STEP("%c[off](%[p],%[ld],1)");
  else
    MOBILENET_AVX2_ROW_STEP("%c[off](%[p],%[ld],2)");
#else
  const __m256 x = _mm256_broadcast_ss(
      reinterpret_cast<const float*>(reinterpret_cast<const char*>(p) + (I % 3) * ld_bytes + Offset));
  c0 = _mm256_fmadd_ps(x, w0, c0);
  c1 = _mm256_fmadd_ps(x, w1, c1);
#endif
}
#undef MOBILENET_AVX2_ROW_STEP

// Step Step of k from a0 (rows 0-2) and a3 (rows 3-5): the panel row at b + Step * 32 (16 of
// its 32 floats) times each row's A[row][k].
template <int Step, int Rows, int... I>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX2 inline void step16_avx2(__m256 (&acc)[Rows][2], const float* a0, const float* a3,
                                              Index ld_bytes, const float* b, std::integer_sequence<int, I...>) {
  const __m256 w0 = _mm256_loadu_ps(b + Step * kGemmPanelWidth), w1 = _mm256_loadu_ps(b + Step * kGemmPanelWidth + 8);
  (row_step16_avx2<I, Step * int(sizeof(float))>(acc[I][0], acc[I][1], I < 3 ? a0 : a3, ld_bytes, w0, w1), ...);
}

// acc += A[Rows x kc] (row i at a + i * lda) x the panel rows at b (16 of their 32 floats), four
// steps of k a loop, each prefetch stream once a loop; Twice: twice a loop, for streams that
// move more than a line in four steps (a tile of three sharing them, see two_panel_tile_avx2).
template <int Rows, int Streams, bool Twice>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX2 inline void accumulate16_avx2_by4(__m256 (&sums)[Rows][2], const float* a, Index lda,
                                                        const float* b, Index kc, const Avx2TilePrefetch& pf) {
  // A local copy, whose address no asm can see, stays in registers where a caller's array
  // would be reloaded around every "memory" clobber when this function is not inlined.
  __m256 acc[Rows][2];
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i) acc[i][0] = sums[i][0], acc[i][1] = sums[i][1];
  constexpr Index W = kGemmPanelWidth;
  constexpr auto rows = std::make_integer_sequence<int, Rows>();
  const Index ld_bytes = lda * Index(sizeof(float));
  const float* a0 = a;
  const float* a3 = Rows > 3 ? a + 3 * lda : a;
  const char* const at0 = pf.at[0];
  const char* const at1 = pf.at[1];
  const std::uint64_t step0 = pf.step[0], step1 = pf.step[1];
  std::uint64_t pos0 = pf.pos[0], pos1 = pf.pos[1];
  Index k = 0;
  for (; k + 4 <= kc; k += 4, a0 += 4, a3 += 4, b += 4 * W) {
    if (Streams >= 1) _mm_prefetch(at0 + (pos0 >> 16), _MM_HINT_T0);
    if (Streams >= 2) _mm_prefetch(at1 + (pos1 >> 16), _MM_HINT_T0);
    if (Streams >= 1 && Twice) _mm_prefetch(at0 + ((pos0 + 2 * step0) >> 16), _MM_HINT_T0);
    if (Streams >= 2 && Twice) _mm_prefetch(at1 + ((pos1 + 2 * step1) >> 16), _MM_HINT_T0);
    pos0 += 4 * step0, pos1 += 4 * step1;
    step16_avx2<0>(acc, a0, a3, ld_bytes, b, rows);
    step16_avx2<1>(acc, a0, a3, ld_bytes, b, rows);
    step16_avx2<2>(acc, a0, a3, ld_bytes, b, rows);
    step16_avx2<3>(acc, a0, a3, ld_bytes, b, rows);
  }
  for (; k < kc; ++k, ++a0, ++a3, b += W) {
    if (Streams >= 1) _mm_prefetch(at0 + (pos0 >> 16), _MM_HINT_T0), pos0 += step0;
    if (Streams >= 2) _mm_prefetch(at1 + (pos1 >> 16), _MM_HINT_T0), pos1 += step1;
    step16_avx2<0>(acc, a0, a3, ld_bytes, b, rows);
  }
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i) sums[i][0] = acc[i][0], sums[i][1] = acc[i][1];
}

template <int Rows, int Streams>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX2 inline void accumulate16_avx2(__m256 (&acc)[Rows][2], const float* a, Index lda, const float* b,
                                                    Index kc, const Avx2TilePrefetch& pf) {
  constexpr std::uint64_t kLineInFourSteps = std::uint64_t(16) << 16;
  if (Streams >= 1 && (pf.step[0] > kLineInFourSteps || pf.step[1] > kLineInFourSteps))
    accumulate16_avx2_by4<Rows, Streams, true>(acc, a, lda, b, kc, pf);
  else
    accumulate16_avx2_by4<Rows, Streams, false>(acc, a, lda, b, kc, pf);
}

template <int Rows>
MOBILENET_ALWAYS_INLINE
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
MOBILENET_ALWAYS_INLINE
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

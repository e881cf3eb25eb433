// SPDX-License-Identifier: MIT
#pragma once
// AVX-VNNI 8-bit GEMM micro-kernel, int8_gemm_tile_avx_vnni<Rows>: Rows x 16 int32
// accumulators (two ymm per row, up to 4 rows, so that the 16 ymm registers hold the
// accumulators, the weights and every row's broadcast): the AVX-512 VNNI kernel on 256 bits
// with the VEX vpdpbusd; the epilogue is the AVX2 kernel's.

#include "mobilenet/kernels/int8/gemm_avx2.hpp"
#include "mobilenet/kernels/int8/gemm_common.hpp"

#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
#include <immintrin.h>

namespace mobilenet {
namespace kernels {
namespace detail {

// acc += x (u8) * w (s8) in sums of 4, VEX-encoded (no AVX-512 needed). In asm for the reason
// of dpbusd_avx512: GCC 12 copies each intrinsic's accumulator, and spills some of them.
MOBILENET_TARGET_AVX_VNNI MOBILENET_ALWAYS_INLINE inline void dpbusd_avx_vnni(__m256i& acc, __m256i x, __m256i w) {
  asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(x), "x"(w));
}

// acc[i] += row i's group of 4 bytes at a + i * lda (only `count` of them read when Tail)
// times the group's 16 columns at b.
template <int Rows, bool Tail>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX_VNNI inline void accumulate_group_avx_vnni(__m256i (&acc)[Rows][2], const std::uint8_t* a,
                                                                Index lda, Index count, const std::int8_t* b) {
  const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
  const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32));
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i) {
    const std::uint32_t group = Tail ? load_int8_group(a + i * lda, count) : load_int8_group(a + i * lda);
    const __m256i x = _mm256_set1_epi32(static_cast<int>(group));
    dpbusd_avx_vnni(acc[i][0], x, w0);
    dpbusd_avx_vnni(acc[i][1], x, w1);
  }
}

}  // namespace detail

template <int Rows, Rounding Round = Rounding::Double>
MOBILENET_TARGET_AVX_VNNI void int8_gemm_tile_avx_vnni(const Int8Tile& t) {
  static_assert(Rows >= 1 && Rows <= kInt8GemmAvxVnniRows, "tile too tall");
  const __m256i offset0 = detail::load_int32x8(t.columns_data.offset);
  const __m256i offset1 = detail::load_int32x8(t.columns_data.offset + 8);
  __m256i acc[Rows][2];
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i) {
    const __m256i row = _mm256_set1_epi32(t.row_offset[i]);
    acc[i][0] = _mm256_add_epi32(offset0, row);
    acc[i][1] = _mm256_add_epi32(offset1, row);
  }
  const std::uint8_t* a = t.a;
  const Index lda = t.lda, full = t.k / 4, tail = t.k % 4;
  for (Index g = 0; g < full; ++g, a += 4) detail::accumulate_group_avx_vnni<Rows, false>(acc, a, lda, 4, t.b + g * 64);
  if (tail) detail::accumulate_group_avx_vnni<Rows, true>(acc, a, lda, tail, t.b + full * 64);
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i) detail::store_int8_x16_avx2<Round>(t, acc[i][0], acc[i][1], t.c + i * t.ldc);
}

}  // namespace kernels
}  // namespace mobilenet

#endif

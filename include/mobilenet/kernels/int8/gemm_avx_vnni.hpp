// SPDX-License-Identifier: MIT
#pragma once
// AVX-VNNI 8-bit GEMM micro-kernel, int8_gemm_tile_avx_vnni<Rows>: Rows x 16 int32
// accumulators (two ymm per row, up to 6 rows), the AVX-512 VNNI kernel on 256 bits with the
// VEX vpdpbusd; the epilogue is the AVX2 kernel's.

#include "mobilenet/kernels/int8/gemm_avx2.hpp"
#include "mobilenet/kernels/int8/gemm_common.hpp"

#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
#include <immintrin.h>

namespace mobilenet {
namespace kernels {
namespace detail {

template <int Rows>
MOBILENET_TARGET_AVX_VNNI inline void accumulate_group_avx_vnni(__m256i (&acc)[Rows][2], const __m256i (&x)[Rows],
                                                                const std::int8_t* b) {
  const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
  const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32));
  for (int i = 0; i < Rows; ++i) {
    acc[i][0] = _mm256_dpbusd_avx_epi32(acc[i][0], x[i], w0);
    acc[i][1] = _mm256_dpbusd_avx_epi32(acc[i][1], x[i], w1);
  }
}

}  // namespace detail

template <int Rows>
MOBILENET_TARGET_AVX_VNNI void int8_gemm_tile_avx_vnni(const Int8Tile& t) {
  static_assert(Rows >= 1 && Rows <= kInt8GemmAvxVnniRows, "tile too tall");
  const __m256i offset0 = detail::load_int32x8(t.columns_data.offset);
  const __m256i offset1 = detail::load_int32x8(t.columns_data.offset + 8);
  __m256i acc[Rows][2];
  for (int i = 0; i < Rows; ++i) {
    const __m256i row = _mm256_set1_epi32(t.row_offset[i]);
    acc[i][0] = _mm256_add_epi32(offset0, row);
    acc[i][1] = _mm256_add_epi32(offset1, row);
  }
  const std::uint8_t* a = t.a;
  const Index lda = t.lda, full = t.k / 4, tail = t.k % 4;
  __m256i x[Rows];
  for (Index g = 0; g < full; ++g, a += 4) {
    for (int i = 0; i < Rows; ++i) x[i] = _mm256_set1_epi32(static_cast<int>(detail::load_int8_group(a + i * lda)));
    detail::accumulate_group_avx_vnni<Rows>(acc, x, t.b + g * 64);
  }
  if (tail) {
    for (int i = 0; i < Rows; ++i)
      x[i] = _mm256_set1_epi32(static_cast<int>(detail::load_int8_group(a + i * lda, tail)));
    detail::accumulate_group_avx_vnni<Rows>(acc, x, t.b + full * 64);
  }
  for (int i = 0; i < Rows; ++i) detail::store_int8_x16_avx2(t, acc[i][0], acc[i][1], t.c + i * t.ldc);
}

}  // namespace kernels
}  // namespace mobilenet

#endif

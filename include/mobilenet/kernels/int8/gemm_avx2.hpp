// SPDX-License-Identifier: MIT
#pragma once
// AVX2 8-bit GEMM micro-kernel, int8_gemm_tile_avx2<Rows>: Rows x 16 int32 accumulators (two
// ymm per row, up to 4 rows). vpmaddubsw would saturate (255 * 127 * 2 > 32767), so each
// 32-byte weight load is split into its even and odd bytes sign-extended to 16 bits, A's
// broadcast group into its even and odd bytes zero-extended, and vpmaddwd sums the pairs
// exactly. Also the 16-column requantizing epilogue (either rounding) the AVX-VNNI kernel shares.

#include <limits>

#include "mobilenet/kernels/int8/gemm_common.hpp"

#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
#include <immintrin.h>

namespace mobilenet {
namespace kernels {
namespace detail {

// multiply_by_quantized_multiplier on 8 lanes, as multiply_by_quantized_multiplier_avx512.
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX2 inline __m256i multiply_by_quantized_multiplier_avx2(__m256i acc, __m256i multiplier,
                                                                           __m256i left, __m256i right) {
  const __m256i x = _mm256_sllv_epi32(acc, left);
  const __m256i nudge = _mm256_set1_epi64x(std::int64_t(1) << 30);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, multiplier), nudge);
  const __m256i odd = _mm256_add_epi64(
      _mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(multiplier, 32)), nudge);
  const __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
  const __m256i remainder = _mm256_and_si256(high, mask);
  const __m256i threshold = _mm256_add_epi32(_mm256_srai_epi32(mask, 1), _mm256_srli_epi32(high, 31));
  // cmpgt is -1 where the remainder passes the threshold: subtracting it rounds up.
  return _mm256_sub_epi32(_mm256_srav_epi32(high, right), _mm256_cmpgt_epi32(remainder, threshold));
}

MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE inline __m256i load_int32x8(const std::int32_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// The same when Int8Tile::plain holds, as multiply_by_quantized_multiplier_plain_avx512.
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX2 inline __m256i multiply_by_quantized_multiplier_plain_avx2(__m256i acc, __m256i multiplier,
                                                                                 __m256i right, __m256i half) {
  const __m256i nudge = _mm256_set1_epi64x(std::int64_t(1) << 30);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(acc, multiplier), nudge);
  const __m256i odd = _mm256_add_epi64(
      _mm256_mul_epi32(_mm256_srli_epi64(acc, 32), _mm256_srli_epi64(multiplier, 32)), nudge);
  const __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  const __m256i negative =
      _mm256_and_si256(_mm256_srai_epi32(high, 31), _mm256_cmpgt_epi32(half, _mm256_setzero_si256()));
  return _mm256_srav_epi32(_mm256_add_epi32(_mm256_add_epi32(high, half), negative), right);
}

// multiply_by_quantized_multiplier_single_rounding on 8 lanes. AVX2 has no 64-bit arithmetic
// shift: with 2^63 added, p + 2^(total - 1) (|p| <= 2^62) is non-negative as unsigned, and its
// logical shift right by total is the arithmetic one + 2^(63 - total). That term is taken off
// in 32 bits, where it is 0 for total < 32 (vpsllvd gives 0 for counts above 31).
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX2 inline __m256i multiply_by_quantized_multiplier_single_avx2(__m256i acc, __m256i multiplier,
                                                                                  __m256i total) {
  const __m256i one = _mm256_set1_epi64x(1);
  const __m256i bias = _mm256_set1_epi64x(std::numeric_limits<std::int64_t>::min());
  const __m256i total_even = _mm256_and_si256(total, _mm256_set1_epi64x(0xFFFFFFFF));
  const __m256i total_odd = _mm256_srli_epi64(total, 32);
  const __m256i half_even = _mm256_or_si256(_mm256_sllv_epi64(one, _mm256_sub_epi64(total_even, one)), bias);
  const __m256i half_odd = _mm256_or_si256(_mm256_sllv_epi64(one, _mm256_sub_epi64(total_odd, one)), bias);
  const __m256i even_product = _mm256_mul_epi32(acc, multiplier);
  const __m256i odd_product = _mm256_mul_epi32(_mm256_srli_epi64(acc, 32), _mm256_srli_epi64(multiplier, 32));
  const __m256i even = _mm256_srlv_epi64(_mm256_add_epi64(even_product, half_even), total_even);
  const __m256i odd = _mm256_srlv_epi64(_mm256_add_epi64(odd_product, half_odd), total_odd);
  const __m256i biased = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  const __m256i excess = _mm256_sllv_epi32(_mm256_set1_epi32(1), _mm256_sub_epi32(_mm256_set1_epi32(63), total));
  return _mm256_sub_epi32(biased, excess);
}

template <Rounding Round>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX2 inline __m256i requantize_avx2(const Int8Tile& t, __m256i acc, Index first) {
  const Int8ColumnParams& col = t.columns_data;
  const __m256i multiplier = load_int32x8(col.multiplier + first), right = load_int32x8(col.right_shift + first);
  __m256i q;
  if constexpr (Round == Rounding::Single)
    q = multiply_by_quantized_multiplier_single_avx2(acc, multiplier, right);
  else
    q = t.plain ? multiply_by_quantized_multiplier_plain_avx2(acc, multiplier, right,
                                                              load_int32x8(col.rounding_half + first))
                : multiply_by_quantized_multiplier_avx2(acc, multiplier, load_int32x8(col.left_shift + first), right);
  const __m256i v = _mm256_add_epi32(q, _mm256_set1_epi32(t.zero_point));
  return _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(t.lo)), _mm256_set1_epi32(t.hi));
}

// Requantizes 16 accumulators (columns 0..7 in acc0, 8..15 in acc1) and stores the first
// t.columns bytes of them at out.
template <Rounding Round>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX2 inline void store_int8_x16_avx2(const Int8Tile& t, __m256i acc0, __m256i acc1,
                                                      std::uint8_t* out) {
  const __m256i v0 = requantize_avx2<Round>(t, acc0, 0), v1 = requantize_avx2<Round>(t, acc1, 8);
  // packs works within 128-bit lanes: [v0 0-3, v1 0-3, v0 4-7, v1 4-7] -> column order.
  const __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(v0, v1), 0xD8);
  const __m128i bytes = _mm_packus_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
  if (t.columns >= 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), bytes);
  } else {
    alignas(16) std::uint8_t lanes[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(lanes), bytes);
    std::memcpy(out, lanes, static_cast<std::size_t>(t.columns));
  }
}

// Even and odd bytes of each 16-bit lane, sign-extended (weights) or zero-extended (A).
MOBILENET_TARGET_AVX2 MOBILENET_ALWAYS_INLINE inline __m256i even_bytes_signed(__m256i v) {
  return _mm256_srai_epi16(_mm256_slli_epi16(v, 8), 8);
}
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX2 inline __m256i odd_bytes_signed(__m256i v) { return _mm256_srai_epi16(v, 8); }

// acc[i] += row i's group of 4 bytes at a + i * lda (only `count` of them read when Tail)
// times the group's 16 columns at b (columns 0..7 in the first 32 bytes).
template <int Rows, bool Tail>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX2 inline void accumulate_group_avx2(__m256i (&acc)[Rows][2], const std::uint8_t* a, Index lda,
                                                        Index count, const std::int8_t* b) {
  const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
  const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32));
  const __m256i w0e = even_bytes_signed(w0), w0o = odd_bytes_signed(w0);
  const __m256i w1e = even_bytes_signed(w1), w1o = odd_bytes_signed(w1);
  const __m256i low = _mm256_set1_epi16(0xFF);
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i) {
    const std::uint32_t group = Tail ? load_int8_group(a + i * lda, count) : load_int8_group(a + i * lda);
    const __m256i x = _mm256_set1_epi32(static_cast<int>(group));
    const __m256i xe = _mm256_and_si256(x, low), xo = _mm256_srli_epi16(x, 8);
    acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_add_epi32(_mm256_madd_epi16(xe, w0e), _mm256_madd_epi16(xo, w0o)));
    acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_add_epi32(_mm256_madd_epi16(xe, w1e), _mm256_madd_epi16(xo, w1o)));
  }
}

}  // namespace detail

// Int8RowSums with vpsadbw over 32 bytes at a time, the tail in scalar code.
MOBILENET_TARGET_AVX2 inline void int8_row_sums_avx2(const std::uint8_t* a, Index lda, int rows, Index k,
                                                     std::int32_t* sums) {
  const __m256i zero = _mm256_setzero_si256();
  const Index full = k / 32 * 32;
  for (int i = 0; i < rows; ++i) {
    const std::uint8_t* row = a + i * lda;
    __m256i s = zero;
    for (Index x = 0; x < full; x += 32)
      s = _mm256_add_epi64(s, _mm256_sad_epu8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + x)), zero));
    const __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    auto sum = static_cast<std::int32_t>(_mm_cvtsi128_si64(_mm_add_epi64(s2, _mm_unpackhi_epi64(s2, s2))));
    for (Index x = full; x < k; ++x) sum += row[x];
    sums[i] = sum;
  }
}

template <int Rows, Rounding Round = Rounding::Double>
MOBILENET_TARGET_AVX2 void int8_gemm_tile_avx2(const Int8Tile& t) {
  static_assert(Rows >= 1 && Rows <= kInt8GemmAvx2Rows, "tile too tall");
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
  for (Index g = 0; g < full; ++g, a += 4) detail::accumulate_group_avx2<Rows, false>(acc, a, lda, 4, t.b + g * 64);
  if (tail) detail::accumulate_group_avx2<Rows, true>(acc, a, lda, tail, t.b + full * 64);
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i) detail::store_int8_x16_avx2<Round>(t, acc[i][0], acc[i][1], t.c + i * t.ldc);
}

}  // namespace kernels
}  // namespace mobilenet

#endif

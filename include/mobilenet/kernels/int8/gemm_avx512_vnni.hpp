// SPDX-License-Identifier: MIT
#pragma once
// AVX-512 VNNI 8-bit GEMM micro-kernel, int8_gemm_tile_avx512_vnni<Rows>: Rows x 32 int32
// accumulators (two zmm per row, up to 12 rows). Per group of 4 k: two 64-byte weight loads,
// then per row one 4-byte broadcast of A and two vpdpbusd. The epilogue requantizes 16 lanes
// at a time, bit-exact with core/quantization.hpp (either rounding), and packs two rows at a
// time to bytes. The high-dword form's constants come prepared once per column block
// (int8_prepare_columns_avx512); the other forms derive theirs once per tile.

#include <cassert>
#include <new>

#include "mobilenet/kernels/int8/gemm_common.hpp"
#include "mobilenet/kernels/int8/requantize_avx512.hpp"

#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
#include <immintrin.h>

namespace mobilenet {
namespace kernels {
namespace detail {

// The requantization of 16 columns (core/quantization.hpp, bit-exact) in three forms, each
// deriving its per-column constants once per tile so that a row pays only for its own
// accumulator. The doubling high multiply of gemmlowp (multiplier >= 0, so it cannot
// saturate) is floor((x * m + 2^30) / 2^31) for either sign, taken from the 64-bit products
// of the even and the odd lanes. The zero-masked forms throughout: GCC's unmasked ones trip
// -Wmaybe-uninitialized.

// Double rounding, any left shift: the rounding shift right rounds ties away from zero
// through the remainder.
struct DoubleRequantAvx512 {
  static constexpr bool kHoldsZeroPoint = false;
  __m512i multiplier, odd_multiplier, left, right, mask, half_mask;
  MOBILENET_TARGET_AVX512_VNNI DoubleRequantAvx512(const Int8Tile& t, Index first) {
    const Int8ColumnParams& col = t.columns_data;
    const __m512i one = _mm512_set1_epi32(1);
    multiplier = _mm512_loadu_si512(col.multiplier + first);
    odd_multiplier = _mm512_maskz_srli_epi64(0xFF, multiplier, 32);
    left = _mm512_loadu_si512(col.left_shift + first);
    right = _mm512_loadu_si512(col.right_shift + first);
    mask = _mm512_sub_epi32(_mm512_maskz_sllv_epi32(0xFFFF, one, right), one);
    half_mask = _mm512_maskz_srai_epi32(0xFFFF, mask, 1);
  }
  MOBILENET_TARGET_AVX512_VNNI MOBILENET_ALWAYS_INLINE __m512i operator()(__m512i acc) const {
    const __mmask16 all = 0xFFFF;
    const __mmask8 all64 = 0xFF;
    const __m512i nudge = _mm512_set1_epi64(std::int64_t(1) << 30);
    const __m512i x = _mm512_maskz_sllv_epi32(all, acc, left);
    const __m512i even = _mm512_add_epi64(_mm512_maskz_mul_epi32(all64, x, multiplier), nudge);
    const __m512i odd =
        _mm512_add_epi64(_mm512_maskz_mul_epi32(all64, _mm512_maskz_srli_epi64(all64, x, 32), odd_multiplier), nudge);
    // Bits 31..62 of each sum: the even ones shifted down, the odd ones up into the high dword.
    const __m512i high = _mm512_mask_blend_epi32(0xAAAA, _mm512_maskz_srli_epi64(all64, even, 31),
                                                 _mm512_maskz_slli_epi64(all64, odd, 1));
    const __m512i remainder = _mm512_and_si512(high, mask);
    const __m512i threshold = _mm512_add_epi32(half_mask, _mm512_maskz_srli_epi32(all, high, 31));
    const __m512i shifted = _mm512_maskz_srav_epi32(all, high, right);
    return _mm512_mask_add_epi32(shifted, _mm512_cmpgt_epi32_mask(remainder, threshold), shifted,
                                 _mm512_set1_epi32(1));
  }
};

// Double rounding when Int8Tile::plain holds (no left shift, |acc| < 2^30): the rounding
// shift as (x + half - (x < 0 && right > 0)) >> right, exact since the sum cannot overflow.
struct PlainRequantAvx512 {
  static constexpr bool kHoldsZeroPoint = false;
  __m512i multiplier, odd_multiplier, right, half;
  __mmask16 rounds;
  MOBILENET_TARGET_AVX512_VNNI PlainRequantAvx512(const Int8Tile& t, Index first) {
    const Int8ColumnParams& col = t.columns_data;
    multiplier = _mm512_loadu_si512(col.multiplier + first);
    odd_multiplier = _mm512_maskz_srli_epi64(0xFF, multiplier, 32);
    right = _mm512_loadu_si512(col.right_shift + first);
    half = _mm512_loadu_si512(col.rounding_half + first);
    rounds = _mm512_test_epi32_mask(half, half);
  }
  MOBILENET_TARGET_AVX512_VNNI MOBILENET_ALWAYS_INLINE __m512i operator()(__m512i acc) const {
    const __mmask8 all64 = 0xFF;
    const __m512i nudge = _mm512_set1_epi64(std::int64_t(1) << 30);
    const __m512i even = _mm512_add_epi64(_mm512_maskz_mul_epi32(all64, acc, multiplier), nudge);
    const __m512i odd =
        _mm512_add_epi64(_mm512_maskz_mul_epi32(all64, _mm512_maskz_srli_epi64(all64, acc, 32), odd_multiplier), nudge);
    const __m512i high = _mm512_mask_blend_epi32(0xAAAA, _mm512_maskz_srli_epi64(all64, even, 31),
                                                 _mm512_maskz_slli_epi64(all64, odd, 1));
    const __m512i negative = _mm512_maskz_srai_epi32(rounds, high, 31);
    return _mm512_maskz_srav_epi32(0xFFFF, _mm512_add_epi32(_mm512_add_epi32(high, half), negative), right);
  }
};

// OneShiftRequantAvx512 over a tile's columns [first, first + 16).
template <Rounding Round>
struct ColumnsOneShiftAvx512 : OneShiftRequantAvx512 {
  MOBILENET_TARGET_AVX512_VNNI ColumnsOneShiftAvx512(const Int8Tile& t, Index first)
      : OneShiftRequantAvx512(_mm512_loadu_si512(t.columns_data.multiplier + first),
                              _mm512_loadu_si512(t.columns_data.right_shift + first), Round == Rounding::Double) {}
};

// The high-dword constants of a panel's two column groups, as int8_prepare_columns_avx512
// writes them into Int8PreparedColumns.
struct PreparedHighShiftAvx512 {
  HighShiftRequantAvx512 group0, group1;
};
static_assert(sizeof(PreparedHighShiftAvx512) <= sizeof(Int8PreparedColumns), "prepared columns too small");

// Requantizes and stores every row of the tile, rows in pairs; `store` masks the columns.
// Clamp false: the range is [0, 255], which the byte pack's saturation already gives.
template <int Rows, bool Clamp, typename Requant>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX512_VNNI inline void store_int8_tile_avx512(const Int8Tile& t, const __m512i (&acc)[Rows][2],
                                                                const Requant& group0, const Requant& group1) {
  const Index cols = t.columns;
  const auto store = static_cast<__mmask32>(cols >= 32 ? 0xFFFFFFFFu : (1u << cols) - 1u);
  constexpr bool kAddZeroPoint = !Requant::kHoldsZeroPoint;
  const BytePackAvx512 pack(t.zero_point, QuantRange{t.lo, t.hi});
  // Row i + 1's bytes are the upper half: stored from 32 bytes before its row where the rows
  // are that far apart (the mask writes only the upper half), else extracted first.
  const bool upper_in_place = t.ldc >= 32;
  const __mmask64 upper = static_cast<__mmask64>(store) << 32;
  // Two rows a pack: row i's 32 bytes, then row i + 1's.
#pragma GCC unroll 6
  for (int i = 0; i + 1 < Rows; i += 2) {
    const __m512i bytes = pack.template operator()<kAddZeroPoint, Clamp>(
        group0(acc[i][0]), group1(acc[i][1]), group0(acc[i + 1][0]), group1(acc[i + 1][1]));
    _mm256_mask_storeu_epi8(t.c + i * t.ldc, store, _mm512_maskz_extracti64x4_epi64(0xF, bytes, 0));
    if (upper_in_place)
      _mm512_mask_storeu_epi8(t.c + (i + 1) * t.ldc - 32, upper, bytes);
    else
      _mm256_mask_storeu_epi8(t.c + (i + 1) * t.ldc, store, _mm512_maskz_extracti64x4_epi64(0xF, bytes, 1));
  }
  if constexpr (Rows % 2 == 1) {
    const __m512i last0 = group0(acc[Rows - 1][0]), last1 = group1(acc[Rows - 1][1]);
    const __m512i bytes = pack.template operator()<kAddZeroPoint, Clamp>(last0, last1, last0, last1);
    _mm256_mask_storeu_epi8(t.c + (Rows - 1) * t.ldc, store, _mm512_maskz_extracti64x4_epi64(0xF, bytes, 0));
  }
}

// The same with the constants derived here, once per tile.
template <int Rows, typename Requant>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX512_VNNI inline void store_int8_tile_avx512(const Int8Tile& t, const __m512i (&acc)[Rows][2]) {
  const Requant group0(t, 0), group1(t, 16);
  store_int8_tile_avx512<Rows, true>(t, acc, group0, group1);
}

}  // namespace detail

// Int8RowSums with vpsadbw over 64 bytes at a time; the tail is a masked load, which reads no
// byte past k.
MOBILENET_TARGET_AVX512_VNNI inline void int8_row_sums_avx512(const std::uint8_t* a, Index lda, int rows, Index k,
                                                              std::int32_t* sums) {
  const __m512i zero = _mm512_setzero_si512();
  const Index full = k / 64 * 64;
  const __mmask64 tail = k % 64 ? (~__mmask64(0)) >> (64 - k % 64) : 0;
  for (int i = 0; i < rows; ++i) {
    const std::uint8_t* row = a + i * lda;
    __m512i s = _mm512_sad_epu8(_mm512_maskz_loadu_epi8(tail, row + full), zero);
    for (Index x = 0; x < full; x += 64) s = _mm512_add_epi64(s, _mm512_sad_epu8(_mm512_loadu_si512(row + x), zero));
    const __m256i s4 =
        _mm256_add_epi64(_mm512_maskz_extracti64x4_epi64(0xF, s, 0), _mm512_maskz_extracti64x4_epi64(0xF, s, 1));
    const __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(s4), _mm256_extracti128_si256(s4, 1));
    sums[i] = static_cast<std::int32_t>(_mm_cvtsi128_si64(_mm_add_epi64(s2, _mm_unpackhi_epi64(s2, s2))));
  }
}

// Int8PrepareColumns for int8_gemm_tile_avx512_vnni: the high-dword form's constants.
MOBILENET_TARGET_AVX512_VNNI inline bool int8_prepare_columns_avx512(const Int8Tile& t, Rounding round,
                                                                     Int8PreparedColumns* out) {
  if (!t.high_shift) return false;
  const bool double_rounding = round == Rounding::Double;
  const Int8ColumnParams& col = t.columns_data;
  auto group = [&](Index first) MOBILENET_TARGET_AVX512_VNNI {
    return detail::HighShiftRequantAvx512(_mm512_loadu_si512(col.multiplier + first),
                                          _mm512_loadu_si512(col.right_shift + first), double_rounding,
                                          t.zero_point);
  };
  ::new (static_cast<void*>(out->bytes)) detail::PreparedHighShiftAvx512{group(0), group(16)};
  return true;
}

template <int Rows, Rounding Round = Rounding::Double>
MOBILENET_TARGET_AVX512_VNNI void int8_gemm_tile_avx512_vnni(const Int8Tile& t) {
  static_assert(Rows >= 1 && Rows <= kInt8GemmAvx512VnniRows, "tile too tall");
  __m512i acc[Rows][2];  // every loop over it unrolled, so that it stays in registers
  const __m512i offset0 = _mm512_loadu_si512(t.columns_data.offset);
  const __m512i offset1 = _mm512_loadu_si512(t.columns_data.offset + 16);
  if (t.row_terms) {
#pragma GCC unroll 12
    for (int i = 0; i < Rows; ++i) {
      const __m512i row = _mm512_set1_epi32(t.row_offset[i]);
      acc[i][0] = _mm512_add_epi32(offset0, row);
      acc[i][1] = _mm512_add_epi32(offset1, row);
    }
  } else {
#pragma GCC unroll 12
    for (int i = 0; i < Rows; ++i) acc[i][0] = offset0, acc[i][1] = offset1;
  }
  const std::uint8_t* a = t.a;
  const std::int8_t* b = t.b;
  const Index lda = t.lda, full = t.k / 4, tail = t.k % 4;
  for (Index g = 0; g < full; ++g, a += 4, b += 128) {
    const __m512i w0 = _mm512_loadu_si512(b), w1 = _mm512_loadu_si512(b + 64);
#pragma GCC unroll 12
    for (int i = 0; i < Rows; ++i) {
      const __m512i x = _mm512_set1_epi32(static_cast<int>(detail::load_int8_group(a + i * lda)));
      detail::dpbusd_avx512(acc[i][0], x, w0);
      detail::dpbusd_avx512(acc[i][1], x, w1);
    }
  }
  if (tail) {
    const __m512i w0 = _mm512_loadu_si512(b), w1 = _mm512_loadu_si512(b + 64);
#pragma GCC unroll 12
    for (int i = 0; i < Rows; ++i) {
      const __m512i x = _mm512_set1_epi32(static_cast<int>(detail::load_int8_group(a + i * lda, tail)));
      detail::dpbusd_avx512(acc[i][0], x, w0);
      detail::dpbusd_avx512(acc[i][1], x, w1);
    }
  }
  if (t.high_shift) {
    assert(t.prepared);
    const auto& groups = *std::launder(reinterpret_cast<const detail::PreparedHighShiftAvx512*>(t.prepared->bytes));
    if (t.lo == 0 && t.hi == 255)
      detail::store_int8_tile_avx512<Rows, false>(t, acc, groups.group0, groups.group1);
    else
      detail::store_int8_tile_avx512<Rows, true>(t, acc, groups.group0, groups.group1);
  } else if constexpr (Round == Rounding::Single)
    detail::store_int8_tile_avx512<Rows, detail::ColumnsOneShiftAvx512<Rounding::Single>>(t, acc);
  else if (t.one_shift)
    detail::store_int8_tile_avx512<Rows, detail::ColumnsOneShiftAvx512<Rounding::Double>>(t, acc);
  else if (t.plain)
    detail::store_int8_tile_avx512<Rows, detail::PlainRequantAvx512>(t, acc);
  else
    detail::store_int8_tile_avx512<Rows, detail::DoubleRequantAvx512>(t, acc);
}

}  // namespace kernels
}  // namespace mobilenet

#endif

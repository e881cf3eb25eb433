// SPDX-License-Identifier: MIT
#pragma once
// The 8-bit stem's im2col for MobileNet's shape (3x3 windows at stride 2 over 3 channels, rows
// of 28 bytes) with AVX-512 VBMI: byte for byte what im2col_rows_u8 gives (int8/im2col.hpp,
// whose twin is im2col_rows). Sixteen interior windows of an output row take two 64-byte loads
// of each of their three input rows (99 bytes: 33 pixels) and give 448 bytes: each of the 7
// output vectors is three masked two-table byte permutes (vpermt2b), one per input row, OR-ed,
// with the gap byte set. The remaining windows and rows take the portable path.

#include <cstdint>

#include "mobilenet/kernels/int8/im2col.hpp"
#include "mobilenet/kernels/int8/isa.hpp"

namespace mobilenet {
namespace kernels {

// Whether im2col_stem_rows_u8_avx512 takes this window and depth.
inline bool im2col_stem_avx512_applies(const Shape& in_shape, const Window2D& win, Index depth) {
  return in_shape.c == 3 && win.kernel == 3 && win.stride == 2 && depth == 28;
}

// Whether this CPU has AVX-512 VBMI (vpermt2b) beside what the AVX-512 VNNI kernels need.
inline bool im2col_stem_avx512_supported() {
#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
  static const bool vbmi = int8_isa_supported(Int8Isa::Avx512Vnni) && detail::cpuid_bit(7, 0, 2, 1);
  return vbmi;
#else
  return false;
#endif
}

}  // namespace kernels
}  // namespace mobilenet

#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
#include <immintrin.h>

#define MOBILENET_TARGET_AVX512_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

namespace mobilenet {
namespace kernels {
namespace detail {

inline constexpr int kStemWindows = 16, kStemVectors = kStemWindows * 28 / 64;  // 7

// Output vector z's byte j is byte 28 w + 9 ky + i of the 16 windows (w = window, ky = kernel
// row, i < 9), taken from byte 6 w + i of input row ky's 128 loaded bytes; byte 27 of a
// window is the gap.
struct StemIm2colTables {
  std::uint8_t index[kStemVectors][64] = {};
  std::uint64_t row_mask[kStemVectors][3] = {};
  std::uint64_t gap_mask[kStemVectors] = {};
};

constexpr StemIm2colTables make_stem_im2col_tables() {
  StemIm2colTables t;
  for (int z = 0; z < kStemVectors; ++z)
    for (int j = 0; j < 64; ++j) {
      const int byte = 64 * z + j, w = byte / 28, b = byte % 28;
      if (b == 27) {
        t.gap_mask[z] |= std::uint64_t(1) << j;
        continue;
      }
      t.index[z][j] = static_cast<std::uint8_t>(6 * w + b % 9);
      t.row_mask[z][b / 9] |= std::uint64_t(1) << j;
    }
  return t;
}
inline constexpr StemIm2colTables kStemIm2colTables = make_stem_im2col_tables();

// The 16 windows whose input rows start at rows[0..2] (column x0's first byte) into out.
MOBILENET_TARGET_AVX512_VBMI inline void im2col_stem_16_windows(const std::uint8_t* const (&rows)[3],
                                                               std::uint8_t* out, __m512i flip, __m512i fill) {
  const StemIm2colTables& t = kStemIm2colTables;
  const __mmask64 tail = (__mmask64(1) << (6 * (kStemWindows - 1) + 9 - 64)) - 1;  // bytes 64..98
  __m512i low[3], high[3];
  for (int ky = 0; ky < 3; ++ky) {
    low[ky] = _mm512_xor_si512(_mm512_loadu_si512(rows[ky]), flip);
    high[ky] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(tail, rows[ky] + 64), flip);
  }
  for (int z = 0; z < kStemVectors; ++z) {
    const __m512i index = _mm512_loadu_si512(t.index[z]);
    const __m512i r0 = _mm512_maskz_permutex2var_epi8(t.row_mask[z][0], low[0], index, high[0]);
    const __m512i r1 = _mm512_maskz_permutex2var_epi8(t.row_mask[z][1], low[1], index, high[1]);
    const __m512i r2 = _mm512_maskz_permutex2var_epi8(t.row_mask[z][2], low[2], index, high[2]);
    const __m512i bytes = _mm512_ternarylogic_epi32(r0, r1, r2, 0xFE);  // r0 | r1 | r2
    _mm512_storeu_si512(out + 64 * z, _mm512_mask_mov_epi8(bytes, t.gap_mask[z], fill));
  }
}

}  // namespace detail

// im2col_rows_u8 where im2col_stem_avx512_applies and im2col_stem_avx512_supported.
MOBILENET_TARGET_AVX512_VBMI inline void im2col_stem_rows_u8_avx512(const std::uint8_t* in, const Shape& in_shape,
                                                                   const Window2D& win, Index row_begin,
                                                                   Index row_end, std::uint8_t* columns,
                                                                   Index depth, std::uint8_t fill,
                                                                   std::uint8_t flip) {
  assert(im2col_stem_avx512_applies(in_shape, win, depth));
  constexpr Index kWindows = detail::kStemWindows;
  const Index in_w = in_shape.w, out_w = win.cols.out;
  const auto [first, end] = detail::im2col_interior_columns(win, in_w);
  const __m512i flip_bytes = _mm512_set1_epi8(static_cast<char>(flip)), fill_bytes = _mm512_set1_epi8(static_cast<char>(fill));
  for (Index oy = row_begin; oy < row_end; ++oy) {
    std::uint8_t* row = columns + (oy - row_begin) * out_w * depth;
    const Index iy = oy * 2 - win.rows.pad_before;
    if (iy < 0 || iy + 3 > in_shape.h || end - first < kWindows) {
      im2col_rows_u8(in, in_shape, win, oy, oy + 1, row, depth, fill, flip);
      continue;
    }
    const std::uint8_t* const image_row = in + iy * in_w * 3;
    for (Index ox = 0; ox < first; ++ox) detail::im2col_window_bytes(in, in_shape, win, oy, ox, row + ox * depth, depth, fill, flip);
    for (Index ox = end; ox < out_w; ++ox) detail::im2col_window_bytes(in, in_shape, win, oy, ox, row + ox * depth, depth, fill, flip);
    // Groups of 16 from `first`; the last one ends at `end`, overlapping the one before.
    for (Index ox = first;; ox += kWindows) {
      const Index start = std::min(ox, end - kWindows);
      const std::uint8_t* const x0 = image_row + (start * 2 - win.cols.pad_before) * 3;
      const std::uint8_t* const rows[3] = {x0, x0 + in_w * 3, x0 + 2 * in_w * 3};
      detail::im2col_stem_16_windows(rows, row + start * depth, flip_bytes, fill_bytes);
      if (start + kWindows >= end) break;
    }
  }
}

}  // namespace kernels
}  // namespace mobilenet

#endif

namespace mobilenet {
namespace kernels {

// im2col_rows_u8, through im2col_stem_rows_u8_avx512 where `vbmi` (the caller found
// im2col_stem_avx512_applies and im2col_stem_avx512_supported true).
inline void im2col_stem_rows_u8(const std::uint8_t* in, const Shape& in_shape, const Window2D& win, Index row_begin,
                                Index row_end, std::uint8_t* columns, Index depth, std::uint8_t fill,
                                std::uint8_t flip, bool vbmi) {
#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
  if (vbmi) return im2col_stem_rows_u8_avx512(in, in_shape, win, row_begin, row_end, columns, depth, fill, flip);
#else
  (void)vbmi;
#endif
  im2col_rows_u8(in, in_shape, win, row_begin, row_end, columns, depth, fill, flip);
}

}  // namespace kernels
}  // namespace mobilenet

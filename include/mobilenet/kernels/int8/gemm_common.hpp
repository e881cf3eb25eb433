// SPDX-License-Identifier: MIT
#pragma once
// What every 8-bit GEMM micro-kernel shares: the packed layout, the tile's arguments and the
// scalar pieces (loads of A, row sums).
//
// Packed layout: the columns are cut into panels of int8_gemm_panel_width(isa) columns; panel
// p holds ceil(k / 4) groups, and group g holds, column by column, that column's weights
// k = 4g .. 4g + 3 (4 bytes; zero past k and past n). A vpdpbusd / sdot then multiplies one
// broadcast 4-byte piece of a row of A with 16 (or 4) columns at once.

#include <cstdint>
#include <cstring>

#include "mobilenet/core/quantization.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/int8/isa.hpp"

namespace mobilenet {
namespace kernels {

// Columns per panel: two zmm of int32 lanes for AVX-512 VNNI, 16 elsewhere.
constexpr Index int8_gemm_panel_width(Int8Isa isa) { return isa == Int8Isa::Avx512Vnni ? 32 : 16; }
inline constexpr Index kInt8GemmMaxPanelWidth = 32;

// The tallest tile of each instruction set's micro-kernels (every height from 1 up to it runs).
inline constexpr int kInt8GemmAvx512VnniRows = 12;  // x 32: 24 zmm accumulators
inline constexpr int kInt8GemmAvxVnniRows = 4;      // x 16: 8 ymm accumulators, 2 weights, 4 broadcasts
inline constexpr int kInt8GemmAvx2Rows = 4;         // x 16: 8 ymm accumulators, 4 widened weights
inline constexpr int kInt8GemmNeonRows = 4;         // x 16: 16 q accumulators
inline constexpr int kInt8GemmGenericRows = 4;
inline constexpr int kInt8GemmMaxRows = 12;

// Per-column data of a tile's epilogue, each pointer at the tile's first column (a whole
// panel's worth, at most kInt8GemmMaxPanelWidth entries, is readable). offset: the column's int32 constant (bias and zero-point terms folded at
// packing); multiplier, left_shift, right_shift: its Requantization split as the SIMD
// epilogues use it (shift = left_shift - right_shift); rounding_half: 2^(right_shift - 1), or
// 0 for right_shift = 0 (the short rounding shift of kernels whose tile has `plain` set).
// Weights packed for Rounding::Single shift acc * multiplier right once: right_shift is then
// 31 - shift (in [1, 62]), left_shift and rounding_half are 0.
struct Int8ColumnParams {
  const std::int32_t* offset = nullptr;
  const std::int32_t* multiplier = nullptr;
  const std::int32_t* left_shift = nullptr;
  const std::int32_t* right_shift = nullptr;
  const std::int32_t* rounding_half = nullptr;
};

// A panel's epilogue constants in the form of one instruction set's kernels, derived once per
// call of the driver instead of once per tile (Int8GemmKernelTable::prepare).
struct alignas(64) Int8PreparedColumns {
  unsigned char bytes[640];
};
// Panels per column block, at most: the driver holds their prepared constants on its stack.
inline constexpr Index kInt8GemmPreparedPanels = 32;

// One micro-kernel call: rows x panel of C.
//   acc[i][j] = offset[j] + row_offset[i] + sum_k a[i][k] * b[j][k]   (int32, wrapping)
//   c[i][j] = clamp(zero_point + multiply_by_quantized_multiplier(acc[i][j]), lo, hi)
// for j < columns (<= the panel width); nothing else of C is written. The kernels for
// Rounding::Single use multiply_by_quantized_multiplier_single_rounding instead.
struct Int8Tile {
  const std::uint8_t* a = nullptr;  // rows of k bytes, lda apart; only bytes [0, k) are read
  Index lda = 0, k = 0;
  const std::int8_t* b = nullptr;   // the panel
  Int8ColumnParams columns_data;
  const std::int32_t* row_offset = nullptr;  // one per row of the tile
  bool row_terms = true;                     // false: every row_offset is 0
  // The panel's constants where the kernel table prepares them (AVX-512 VNNI: wherever
  // high_shift holds), else null.
  const Int8PreparedColumns* prepared = nullptr;
  std::int32_t zero_point = 0, lo = 0, hi = 255;
  // Every left shift is 0 and |acc| < 2^30 for every input (PackedInt8GemmWeights proves it at
  // packing): the rounding shift may then be (x + half - (x < 0)) >> right, which cannot overflow.
  // Double rounding only.
  bool plain = false;
  // Double rounding, no left shift, and every q <= 0 clamps to lo (lo >= zero_point): the
  // requantization may be one rounding shift of the 64-bit product (exact wherever q > 0).
  bool one_shift = false;
  // Either rounding, one_shift's conditions for Rounding::Double, and every column's total
  // shift in range (int8_high_shift_fits, requantize_avx512.hpp): the high-dword form
  // (AVX-512's HighShiftRequantAvx512), which also adds the zero point.
  bool high_shift = false;
  std::uint8_t* c = nullptr;
  Index ldc = 0, columns = 0;
};
using Int8TileKernel = void (*)(const Int8Tile&);
// Writes the constants of the tile's panel for the table's kernels and returns true, or
// returns false where they derive their own (then Int8Tile::prepared stays null).
using Int8PrepareColumns = bool (*)(const Int8Tile&, Rounding, Int8PreparedColumns*);
// The sum of each of `rows` rows of k bytes, lda apart (the row term's input).
using Int8RowSums = void (*)(const std::uint8_t* a, Index lda, int rows, Index k, std::int32_t* sums);

namespace detail {

// A panel's worth of zero column data, for the per-column arrays a layer does not need.
inline constexpr std::int32_t kInt8GemmZeroColumns[kInt8GemmMaxPanelWidth] = {};

// Bytes [0, count) of p (count <= 4) as the low bytes of a little-endian word, the rest zero:
// a k tail never reads past the row.
MOBILENET_ALWAYS_INLINE inline std::uint32_t load_int8_group(const std::uint8_t* p, Index count) {
  std::uint32_t v = 0;
  std::memcpy(&v, p, static_cast<std::size_t>(count));
  return v;
}
MOBILENET_ALWAYS_INLINE inline std::uint32_t load_int8_group(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Sum of each row's k bytes (rows <= kInt8GemmMaxRows).
inline void int8_row_sums(const std::uint8_t* a, Index lda, int rows, Index k, std::int32_t* sums) {
  for (int i = 0; i < rows; ++i) {
    const std::uint8_t* row = a + i * lda;
    std::int32_t s = 0;
    for (Index x = 0; x < k; ++x) s += row[x];
    sums[i] = s;
  }
}

// a + b in int32 with wrap-around (the SIMD kernels' arithmetic, without signed overflow).
constexpr std::int32_t wrapping_add(std::int32_t a, std::int32_t b) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b));
}

}  // namespace detail
}  // namespace kernels
}  // namespace mobilenet

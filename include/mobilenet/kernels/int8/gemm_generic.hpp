// SPDX-License-Identifier: MIT
#pragma once
// Portable 8-bit GEMM micro-kernel, int8_gemm_tile_generic<Rows>: Rows x 16 int32
// accumulators in plain loops the compiler can vectorize; the epilogue is core's scalar
// requantize (or requantize_single_rounding) itself.

#include <algorithm>

#include "mobilenet/core/quantization.hpp"
#include "mobilenet/kernels/int8/gemm_common.hpp"

namespace mobilenet {
namespace kernels {

template <int Rows, Rounding Round = Rounding::Double>
void int8_gemm_tile_generic(const Int8Tile& t) {
  constexpr Index P = int8_gemm_panel_width(Int8Isa::Generic);
  std::int32_t acc[Rows][P] = {};
  const Index groups = (t.k + 3) / 4;
  for (Index g = 0; g < groups; ++g) {
    const std::int8_t* w = t.b + g * 4 * P;
    const Index count = std::min<Index>(4, t.k - 4 * g);
    for (int i = 0; i < Rows; ++i) {
      std::uint8_t x[4] = {0, 0, 0, 0};
      std::memcpy(x, t.a + i * t.lda + 4 * g, static_cast<std::size_t>(count));
      for (Index j = 0; j < P; ++j)
        acc[i][j] += x[0] * w[4 * j] + x[1] * w[4 * j + 1] + x[2] * w[4 * j + 2] + x[3] * w[4 * j + 3];
    }
  }
  const Int8ColumnParams& col = t.columns_data;
  const QuantRange range{t.lo, t.hi};
  for (int i = 0; i < Rows; ++i)
    for (Index j = 0; j < t.columns; ++j) {
      const std::int32_t sum = detail::wrapping_add(detail::wrapping_add(acc[i][j], col.offset[j]), t.row_offset[i]);
      if constexpr (Round == Rounding::Single) {
        const Requantization r{col.multiplier[j], 31 - col.right_shift[j]};
        t.c[i * t.ldc + j] = static_cast<std::uint8_t>(requantize_single_rounding(sum, r, t.zero_point, range));
      } else {
        const Requantization r{col.multiplier[j], col.left_shift[j] - col.right_shift[j]};
        t.c[i * t.ldc + j] = static_cast<std::uint8_t>(requantize(sum, r, t.zero_point, range));
      }
    }
}

}  // namespace kernels
}  // namespace mobilenet

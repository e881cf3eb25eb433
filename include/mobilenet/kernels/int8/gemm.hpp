// SPDX-License-Identifier: MIT
#pragma once
// Packed-weight 8-bit GEMM for the 1x1 convolutions (and the stem's im2col and the
// classifier), with TensorFlow Lite's integer arithmetic exactly (core/quantization.hpp):
//   C[i][j] = requantize(bias[j] + sum_k (A[i][k] - zp_in) * (W[j][k] - zp_w), requantization[j],
//                        zp_out, range)
// (requantize_single_rounding for layers with Rounding::Single: int8 files' convolutions)
// A uint8 (M pixels x K channels), W int8 (N x K), C uint8 (M x N), in the internal domain of
// model/quantized_mobilenet_v1.hpp.
//
// The zero points leave the inner loop at packing time:
//   sum (a - za)(w - zw) = sum a*w - zw * rowsum(a) - za * colsum(w) + k * za * zw
// bias - za * colsum(w) + k * za * zw is one int32 per column (the column offset); the row term
// -zw * rowsum(a) is computed once per row tile, and only when zw != 0 (int8 files with
// symmetric weights have zw = 0). The micro-kernels then sum a*w alone: vpdpbusd (u8 x s8,
// exact) on AVX-512 VNNI and AVX-VNNI, vpmaddwd on 16-bit halves on AVX2, sdot on A ^ 0x80
// (the 128 * colsum(w) it drops goes into the column offset) or widening multiplies on NEON.
//
// Blocking: column blocks of panels whose weights fill at most half the L2, then row tiles
// (the micro-kernel's height, balanced), then the block's panels. A is read in place.

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <utility>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/quantization.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/cpu_caches.hpp"
#include "mobilenet/kernels/int8/gemm_avx2.hpp"
#include "mobilenet/kernels/int8/gemm_avx512_vnni.hpp"
#include "mobilenet/kernels/int8/gemm_avx_vnni.hpp"
#include "mobilenet/kernels/int8/gemm_common.hpp"
#include "mobilenet/kernels/int8/gemm_generic.hpp"
#include "mobilenet/kernels/int8/gemm_neon.hpp"
#include "mobilenet/kernels/int8/isa.hpp"
#include "mobilenet/kernels/int8/requantize_avx512.hpp"

namespace mobilenet {
namespace kernels {

// What a layer gives the packer. All values in the internal domain of quantized_mobilenet_v1.hpp.
struct Int8GemmLayer {
  const std::int8_t* weights = nullptr;   // n x k row-major: output column j's k weights contiguous
  const std::int32_t* bias = nullptr;     // n, or nullptr (zeros)
  Index k = 0, n = 0;
  std::int32_t weight_zero_point = 0;     // the same for every column, in [-128, 127]
  std::int32_t input_zero_point = 0;      // of A, in [0, 255]
  const Requantization* requantization = nullptr;  // n entries
  std::int32_t output_zero_point = 0;     // of C, in [0, 255]
  QuantRange range;                       // clamp of C, within [0, 255]
  Rounding rounding = Rounding::Double;   // of the requantization (core/quantization.hpp)
};

// The longest K the packed GEMM takes: |sum a*w|, |za * colsum(w)|, |zw * rowsum(a)| and
// |k * za * zw| are each below 4096 * 255 * 128 < 2^27, so no partial sum overflows int32.
inline constexpr Index kInt8GemmMaxDepth = 4096;

namespace detail {

inline void check_int8_gemm_layer(const Int8GemmLayer& layer) {
  if (layer.k < 1 || layer.n < 1 || layer.k > kInt8GemmMaxDepth)
    throw ShapeError(mobilenet::detail::concat("8-bit GEMM weights must be n x k with n >= 1 and 1 <= k <= ",
                                               kInt8GemmMaxDepth, ", got ", layer.n, " x ", layer.k));
  if (!layer.weights || !layer.requantization)
    throw ConfigError("8-bit GEMM layer without weights or requantization");
  if (layer.rounding != Rounding::Double && layer.rounding != Rounding::Single)
    throw ConfigError("8-bit GEMM layer with an unknown rounding");
  auto check = [](const char* what, std::int32_t v, std::int32_t lo, std::int32_t hi) {
    if (v < lo || v > hi)
      throw ConfigError(mobilenet::detail::concat("8-bit GEMM ", what, " ", v, " is outside [", lo, ", ", hi, "]"));
  };
  check("weight zero point", layer.weight_zero_point, -128, 127);
  check("input zero point", layer.input_zero_point, 0, 255);
  check("output zero point", layer.output_zero_point, 0, 255);
  check("range low end", layer.range.lo, 0, 255);
  check("range high end", layer.range.hi, layer.range.lo, 255);
  for (Index j = 0; j < layer.n; ++j) {
    check("requantization multiplier", layer.requantization[j].multiplier, 0, 2147483647);
    check("requantization shift", layer.requantization[j].shift, -31, 30);
  }
}

}  // namespace detail

// The weights of one layer packed for the micro-kernels of one instruction set (see
// int8/gemm_common.hpp for the layout), with the per-column offsets and requantization.
// Built once per layer.
class PackedInt8GemmWeights {
 public:
  PackedInt8GemmWeights() = default;
  // Throws ShapeError (k or n out of range) or ConfigError (zero points, range, multipliers,
  // an instruction set this CPU or build lacks).
  PackedInt8GemmWeights(const Int8GemmLayer& layer, Int8Isa isa)
      : k_(layer.k), n_(layer.n), isa_(isa), panel_width_(int8_gemm_panel_width(isa)) {
    detail::check_int8_gemm_layer(layer);
    if (!int8_isa_supported(isa))
      throw ConfigError(mobilenet::detail::concat("8-bit GEMM: instruction set ", int8_isa_name(isa),
                                                  " is not available here"));
    panels_ = (n_ + panel_width_ - 1) / panel_width_;
    weight_zero_point_ = layer.weight_zero_point;
    input_zero_point_ = layer.input_zero_point;
    output_zero_point_ = layer.output_zero_point;
    range_ = layer.range;
    rounding_ = layer.rounding;
    pack_weights(layer);
    pack_columns(layer);
  }

  Index k() const { return k_; }
  Index n() const { return n_; }
  Int8Isa isa() const { return isa_; }
  Index panel_width() const { return panel_width_; }
  Index panels() const { return panels_; }
  // Heap bytes held: packed weights and the per-column arrays that are not all zero.
  std::size_t bytes() const {
    std::size_t words = 0;
    for (const std::vector<std::int32_t>* v : {&offset_, &multiplier_, &left_shift_, &right_shift_, &rounding_half_})
      words += v->size();
    return data_.size() + words * sizeof(std::int32_t);
  }

  // Bytes of one packed panel, and panel p.
  Index panel_bytes() const { return (k_ + 3) / 4 * 4 * panel_width_; }
  const std::int8_t* panel(Index p) const { return data_.data() + p * panel_bytes(); }
  // The per-column data of panel p (an array that is all zero is not held: its panels read
  // detail::kInt8GemmZeroColumns).
  Int8ColumnParams columns(Index p) const {
    const Index first = p * panel_width_;
    auto at = [&](const std::vector<std::int32_t>& v) {
      return v.empty() ? detail::kInt8GemmZeroColumns : v.data() + first;
    };
    return {at(offset_), at(multiplier_), at(left_shift_), at(right_shift_), at(rounding_half_)};
  }
  // Whether the double-rounding epilogues may take their short form (Int8Tile::plain).
  bool plain_requantization() const { return plain_; }
  // Whether they may take the one-shift form (Int8Tile::one_shift).
  bool one_shift_requantization() const { return one_shift_; }
  // Whether they may take the high-dword form (Int8Tile::high_shift).
  bool high_shift_requantization() const { return high_shift_; }
  // How the kernels round the requantization (the layer's).
  Rounding rounding() const { return rounding_; }
  std::int32_t weight_zero_point() const { return weight_zero_point_; }
  std::int32_t input_zero_point() const { return input_zero_point_; }
  std::int32_t output_zero_point() const { return output_zero_point_; }
  QuantRange range() const { return range_; }

 private:
  void pack_weights(const Int8GemmLayer& layer) {
    data_.assign(static_cast<std::size_t>(panels_ * panel_bytes()), 0);
    for (Index j = 0; j < n_; ++j) {
      std::int8_t* out = data_.data() + (j / panel_width_) * panel_bytes() + (j % panel_width_) * 4;
      for (Index x = 0; x < k_; ++x) out[x / 4 * 4 * panel_width_ + x % 4] = layer.weights[j * k_ + x];
    }
  }

  // offset = bias - za * colsum(w) + k * za * zw (+ 128 * colsum(w) for NEON's sdot, which
  // multiplies a - 128), in int64 and then wrapped to int32 as the kernels' sums wrap.
  void pack_columns(const Int8GemmLayer& layer) {
    const auto padded = static_cast<std::size_t>(panels_ * panel_width_);
    offset_.assign(padded, 0);
    multiplier_.assign(padded, 0);
    left_shift_.assign(padded, 0);
    right_shift_.assign(padded, 0);
    rounding_half_.assign(padded, 0);
    const std::int64_t za = layer.input_zero_point, zw = layer.weight_zero_point;
    for (Index j = 0; j < n_; ++j) {
      std::int64_t colsum = 0;
      for (Index x = 0; x < k_; ++x) colsum += layer.weights[j * k_ + x];
      std::int64_t offset = (layer.bias ? layer.bias[j] : 0) - za * colsum + k_ * za * zw;
      if (isa_ == Int8Isa::NeonDot) offset += 128 * colsum;
      const auto u = static_cast<std::size_t>(j);
      offset_[u] = static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(offset)));
      const Requantization r = layer.requantization[j];
      multiplier_[u] = r.multiplier;
      if (rounding_ == Rounding::Single) {
        right_shift_[u] = 31 - r.shift;  // one shift of the 64-bit product (Int8ColumnParams)
        continue;
      }
      left_shift_[u] = r.shift > 0 ? r.shift : 0;
      right_shift_[u] = r.shift > 0 ? 0 : -r.shift;
      rounding_half_[u] = r.shift < 0 ? std::int32_t(1) << (-r.shift - 1) : 0;
    }
    plain_ = plain_bound(layer) < (std::int64_t(1) << 30);
    one_shift_ = rounding_ == Rounding::Double && range_.lo >= output_zero_point_ &&
                 std::all_of(left_shift_.begin(), left_shift_.end(), [](std::int32_t x) { return x == 0; });
    high_shift_ = (rounding_ == Rounding::Single || one_shift_) &&
                  std::all_of(layer.requantization, layer.requantization + n_, int8_high_shift_fits);
    // Most layers shift only one way, and Rounding::Single uses neither left_shift nor
    // rounding_half: an all-zero array is dropped (columns() points at zeros instead).
    for (std::vector<std::int32_t>* v : {&offset_, &multiplier_, &left_shift_, &right_shift_, &rounding_half_})
      if (std::all_of(v->begin(), v->end(), [](std::int32_t x) { return x == 0; })) std::vector<std::int32_t>().swap(*v);
  }

  // An upper bound of |acc| over every input (offset + sum a*w + row term), or 2^62 where a
  // column shifts left (the short rounding shift then does not apply).
  std::int64_t plain_bound(const Int8GemmLayer& layer) const {
    std::int64_t offset = 0;
    for (Index j = 0; j < n_; ++j) {
      if (layer.requantization[j].shift > 0) return std::int64_t(1) << 62;
      const std::int64_t o = offset_[static_cast<std::size_t>(j)];
      offset = std::max(offset, o < 0 ? -o : o);
    }
    const std::int64_t zw = layer.weight_zero_point < 0 ? -layer.weight_zero_point : layer.weight_zero_point;
    const std::int64_t products = isa_ == Int8Isa::NeonDot ? 128 * 128 : 255 * 128;
    return offset + k_ * products + zw * 255 * k_;
  }

  Index k_ = 0, n_ = 0;
  Int8Isa isa_ = Int8Isa::Generic;
  Index panel_width_ = 16, panels_ = 0;
  std::int32_t weight_zero_point_ = 0, input_zero_point_ = 0, output_zero_point_ = 0;
  QuantRange range_;
  Rounding rounding_ = Rounding::Double;
  std::vector<std::int8_t> data_;
  std::vector<std::int32_t> offset_, multiplier_, left_shift_, right_shift_, rounding_half_;
  bool plain_ = false, one_shift_ = false, high_shift_ = false;
};

// The part of C one call computes: rows [row_begin, row_end) x panels [panel_begin, panel_end).
// Threads split a GEMM by giving each a disjoint range.
struct Int8GemmRange {
  Index row_begin = 0, row_end = 0, panel_begin = 0, panel_end = 0;
};

namespace detail {

// One instruction set's micro-kernels by tile height (tile[r] has r rows) and rounding
// (single_tile: Rounding::Single). The rounding is chosen per call, not per element.
struct Int8GemmKernelTable {
  int rows = 0;
  Int8TileKernel tile[kInt8GemmMaxRows + 1] = {};
  Int8TileKernel single_tile[kInt8GemmMaxRows + 1] = {};
  Int8RowSums row_sums = &int8_row_sums;
  Int8PrepareColumns prepare = nullptr;
};

template <template <int, Rounding> class Kernel, int... Rows>
Int8GemmKernelTable make_int8_gemm_table(std::integer_sequence<int, Rows...>) {
  Int8GemmKernelTable t;
  t.rows = sizeof...(Rows);
  ((t.tile[Rows + 1] = Kernel<Rows + 1, Rounding::Double>::tile), ...);
  ((t.single_tile[Rows + 1] = Kernel<Rows + 1, Rounding::Single>::tile), ...);
  return t;
}

template <int Rows, Rounding Round>
struct Int8GenericKernel {
  static constexpr Int8TileKernel tile = &int8_gemm_tile_generic<Rows, Round>;
};
#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
template <int Rows, Rounding Round>
struct Int8Avx512VnniKernel {
  static constexpr Int8TileKernel tile = &int8_gemm_tile_avx512_vnni<Rows, Round>;
};
template <int Rows, Rounding Round>
struct Int8AvxVnniKernel {
  static constexpr Int8TileKernel tile = &int8_gemm_tile_avx_vnni<Rows, Round>;
};
template <int Rows, Rounding Round>
struct Int8Avx2Kernel {
  static constexpr Int8TileKernel tile = &int8_gemm_tile_avx2<Rows, Round>;
};
#endif
#if MOBILENET_NEON
template <int Rows, Rounding Round>
struct Int8NeonKernel {
  static constexpr Int8TileKernel tile = &int8_gemm_tile_neon<Rows, Round>;
};
#endif
#if MOBILENET_NEON_DOTPROD
template <int Rows, Rounding Round>
struct Int8NeonDotKernel {
  static constexpr Int8TileKernel tile = &int8_gemm_tile_neon_dot<Rows, Round>;
};
#endif

inline const Int8GemmKernelTable& int8_gemm_kernels(Int8Isa isa) {
  static const Int8GemmKernelTable generic =
      make_int8_gemm_table<Int8GenericKernel>(std::make_integer_sequence<int, kInt8GemmGenericRows>());
#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
  static const Int8GemmKernelTable avx512_vnni = [] {
    auto t = make_int8_gemm_table<Int8Avx512VnniKernel>(std::make_integer_sequence<int, kInt8GemmAvx512VnniRows>());
    t.row_sums = &int8_row_sums_avx512;
    t.prepare = &int8_prepare_columns_avx512;
    return t;
  }();
  static const Int8GemmKernelTable avx_vnni = [] {
    auto t = make_int8_gemm_table<Int8AvxVnniKernel>(std::make_integer_sequence<int, kInt8GemmAvxVnniRows>());
    t.row_sums = &int8_row_sums_avx2;
    return t;
  }();
  static const Int8GemmKernelTable avx2 = [] {
    auto t = make_int8_gemm_table<Int8Avx2Kernel>(std::make_integer_sequence<int, kInt8GemmAvx2Rows>());
    t.row_sums = &int8_row_sums_avx2;
    return t;
  }();
  if (isa == Int8Isa::Avx512Vnni) return avx512_vnni;
  if (isa == Int8Isa::AvxVnni) return avx_vnni;
  if (isa == Int8Isa::Avx2) return avx2;
#endif
#if MOBILENET_NEON
  static const Int8GemmKernelTable neon =
      make_int8_gemm_table<Int8NeonKernel>(std::make_integer_sequence<int, kInt8GemmNeonRows>());
  if (isa == Int8Isa::Neon) return neon;
#endif
#if MOBILENET_NEON_DOTPROD
  static const Int8GemmKernelTable neon_dot =
      make_int8_gemm_table<Int8NeonDotKernel>(std::make_integer_sequence<int, kInt8GemmNeonRows>());
  if (isa == Int8Isa::NeonDot) return neon_dot;
#endif
  return generic;
}

// Panels per column block: their packed weights fill at most half the L2 (at least one panel,
// at most kInt8GemmPreparedPanels).
inline Index int8_gemm_block_panels(const PackedInt8GemmWeights& w) {
  static const Index half_l2 = std::max<Index>(cpu_caches().l2_bytes / 2, 64 * 1024);
  return std::clamp<Index>(half_l2 / std::max<Index>(1, w.panel_bytes()), 1, kInt8GemmPreparedPanels);
}

// Rows [row_begin, row_end) x panels [pb, pe) (at most kInt8GemmPreparedPanels): the panels'
// epilogue constants once, then row tiles as equal as possible (49 rows in 12-row tiles run as
// 10+10+10+10+9), each tile's row term once, then the panels.
inline void int8_gemm_column_block(const std::uint8_t* a, Index lda, const PackedInt8GemmWeights& w,
                                   std::uint8_t* c, Index ldc, Index row_begin, Index row_end, Index pb,
                                   Index pe) {
  const Int8GemmKernelTable& kernels = int8_gemm_kernels(w.isa());
  const Int8TileKernel* tile_kernel = w.rounding() == Rounding::Single ? kernels.single_tile : kernels.tile;
  const Index rows = row_end - row_begin;
  const Index tiles = (rows + kernels.rows - 1) / kernels.rows;
  const Index short_rows = rows / tiles, tall = rows - short_rows * tiles;
  std::int32_t row_offset[kInt8GemmMaxRows] = {};
  Int8Tile t;
  t.lda = lda, t.k = w.k(), t.row_offset = row_offset, t.ldc = ldc;
  t.zero_point = w.output_zero_point(), t.lo = w.range().lo, t.hi = w.range().hi;
  t.plain = w.plain_requantization();
  t.one_shift = w.one_shift_requantization();
  t.high_shift = w.high_shift_requantization();
  const std::int32_t zw = w.weight_zero_point();
  t.row_terms = zw != 0;
  assert(pe - pb <= kInt8GemmPreparedPanels);
  Int8PreparedColumns prepared[kInt8GemmPreparedPanels];
  bool has_prepared = false;
  if (kernels.prepare)
    for (Index p = pb; p < pe; ++p) {
      t.columns_data = w.columns(p);
      has_prepared = kernels.prepare(t, w.rounding(), &prepared[p - pb]);
    }
  Index row = row_begin;
  for (Index tile = 0; tile < tiles; ++tile) {
    const int height = static_cast<int>(short_rows + (tile < tall ? 1 : 0));
    t.a = a + row * lda;
    if (zw != 0) {
      kernels.row_sums(t.a, lda, height, w.k(), row_offset);
      for (int i = 0; i < height; ++i) row_offset[i] *= -zw;
    }
    for (Index p = pb; p < pe; ++p) {
      t.b = w.panel(p);
      t.columns_data = w.columns(p);
      t.prepared = has_prepared ? &prepared[p - pb] : nullptr;
      t.c = c + row * ldc + p * w.panel_width();
      t.columns = std::min(w.panel_width(), w.n() - p * w.panel_width());
      tile_kernel[height](t);
    }
    row += height;
  }
}

}  // namespace detail

// C rows [row_begin, row_end) x the columns of panels [panel_begin, panel_end) of
//   C = requantize(A * W), A: m x k uint8 (lda apart), C: m x n uint8 (ldc apart).
// Writes only those bytes of C; reads only bytes [0, k) of A's rows in the range. No allocation.
inline void gemm_int8_packed_range(const std::uint8_t* a, Index m, Index lda, const PackedInt8GemmWeights& w,
                                   std::uint8_t* c, Index ldc, Int8GemmRange range) {
  assert(lda >= w.k() && ldc >= w.n());
  assert(0 <= range.row_begin && range.row_begin <= range.row_end && range.row_end <= m);
  assert(0 <= range.panel_begin && range.panel_begin <= range.panel_end && range.panel_end <= w.panels());
  (void)m;
  if (range.row_begin == range.row_end) return;
  const Index block = detail::int8_gemm_block_panels(w);
  for (Index pb = range.panel_begin; pb < range.panel_end; pb += block)
    detail::int8_gemm_column_block(a, lda, w, c, ldc, range.row_begin, range.row_end, pb,
                                   std::min(pb + block, range.panel_end));
}

// in: a, m x k uint8 (lda >= k); out: c, m x n uint8 (ldc >= n). The whole product.
inline void gemm_int8_packed(const std::uint8_t* a, Index m, Index lda, const PackedInt8GemmWeights& w,
                             std::uint8_t* c, Index ldc) {
  gemm_int8_packed_range(a, m, lda, w, c, ldc, Int8GemmRange{0, m, 0, w.panels()});
}

// The scalar twin, from the unpacked layer: the formula at the top of this file in plain
// loops, accumulating in int32 as TFLite does. in: a, m x k (lda apart); out: c, m x n.
inline void gemm_int8_reference(const std::uint8_t* a, Index m, Index lda, const Int8GemmLayer& layer,
                                std::uint8_t* c, Index ldc) {
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < layer.n; ++j) {
      std::int32_t acc = layer.bias ? layer.bias[j] : 0;
      for (Index x = 0; x < layer.k; ++x)
        acc += (std::int32_t(a[i * lda + x]) - layer.input_zero_point) *
               (std::int32_t(layer.weights[j * layer.k + x]) - layer.weight_zero_point);
      const Requantization r = layer.requantization[j];
      c[i * ldc + j] = static_cast<std::uint8_t>(
          layer.rounding == Rounding::Single
              ? requantize_single_rounding(acc, r, layer.output_zero_point, layer.range)
              : requantize(acc, r, layer.output_zero_point, layer.range));
    }
}

}  // namespace kernels
}  // namespace mobilenet

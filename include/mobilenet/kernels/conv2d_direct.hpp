// SPDX-License-Identifier: MIT
#pragma once
// A k x k convolution over few input channels (the stem: 3x3, stride 2, RGB) without im2col.
//
// im2col copies every receptive field (27 floats per output pixel for the stem) and the GEMM
// reads the copy back. Here the input rows a band of output rows reads are copied once, with
// their zero padding (padded_rows; 2 * 3 rows per 3 output rows at stride 2, 1/4 of the im2col
// copy), and the micro-kernel reads each receptive field in place: k runs of k * Cin
// contiguous floats, one per kernel row, with `stride * Cin` floats from one output pixel to
// the next. Its sum over k is the GEMM's over the same (ky, kx, ci) order, so it uses the
// GEMM's packed weights and epilogue.
//
// The micro-kernels are AVX-512's and AVX2's GEMM tiles; on other instruction sets the plan
// keeps im2col + GEMM (direct_conv_available). The reference twin is conv2d_reference.

#include <algorithm>
#include <cassert>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/gemm.hpp"

#if MOBILENET_X86_DISPATCH
#include <immintrin.h>
#endif

namespace mobilenet {
namespace kernels {

// The input columns output row `oy`'s band needs, zero padding included: (W' - 1) * s + k.
inline Index padded_row_width(const Window2D& win) { return (win.cols.out - 1) * win.stride + win.kernel; }

// Input rows for output rows [row_begin, row_end): (rows - 1) * s + k.
inline Index padded_rows_count(const Window2D& win, Index row_begin, Index row_end) {
  return (row_end - row_begin - 1) * win.stride + win.kernel;
}

// in:   H x W x Cin, one image
// band: padded_rows_count x padded_row_width x Cin: the input rows output rows
//       [row_begin, row_end) read, with zeros where the window overhangs the image.
template <typename T>
void padded_rows(const T* in, const Shape& in_shape, const Window2D& win, Index row_begin, Index row_end,
                 T* band) {
  assert(in && band && row_begin < row_end && row_end <= win.rows.out);
  const Index cin = in_shape.c, width = padded_row_width(win);
  const Index x0 = -win.cols.pad_before;
  // Columns [lo, hi) of the band lie inside the image.
  const Index lo = std::min(width, std::max<Index>(0, -x0)), hi = std::max(lo, std::min(width, in_shape.w - x0));
  for (Index r = 0; r < padded_rows_count(win, row_begin, row_end); ++r, band += width * cin) {
    const Index iy = row_begin * win.stride - win.rows.pad_before + r;
    if (iy < 0 || iy >= in_shape.h) {
      std::fill(band, band + width * cin, T(0));
      continue;
    }
    std::fill(band, band + lo * cin, T(0));
    const T* src = in + (iy * in_shape.w + x0 + lo) * cin;
    std::copy(src, src + (hi - lo) * cin, band + lo * cin);
    std::fill(band + hi * cin, band + width * cin, T(0));
  }
}

// Whether conv2d_direct_rows runs for `isa` and weights of k x k x Cin rows (one block of k).
inline bool direct_conv_available(Isa isa, Index k) {
  return (isa == Isa::Avx512 || isa == Isa::Avx2) && MOBILENET_X86_DISPATCH && gemm_block_depth(k) == k;
}
inline bool direct_conv_available(Isa isa, const PackedGemmWeights& w) { return direct_conv_available(isa, w.k()); }

#if MOBILENET_X86_DISPATCH
// The tallest tile of any instruction set (AVX-512's).
inline constexpr Index kDirectConvRows = 14;

namespace detail {

// Rows output pixels x Columns (16 or 32) output channels, columns <= Columns: the GEMM's
// gemm_tile_avx512<Rows, Columns> with its sum over k split into `kernel` runs of `run` floats,
// `row_step` floats apart (one per kernel row); the tile's pixels are `pixel_step` floats apart.
template <int Rows, int Columns>
MOBILENET_TARGET_AVX512 void conv_tile_avx512(const float* a, Index pixel_step, Index row_step, Index kernel,
                                               Index run, const float* b, float* c, Index ldc, Index columns,
                                               const GemmTileEpilogue& e) {
  static_assert(Rows >= 1 && Rows <= kDirectConvRows && (Columns == 16 || Columns == 32), "tile too large");
  constexpr int Vectors = Columns / 16;
  constexpr Index W = kGemmPanelWidth;
  const __mmask16 last_mask = static_cast<__mmask16>((1u << (columns - 16 * (Vectors - 1))) - 1u);
  __m512 acc[Rows][Vectors];
  const __m512 b0 = _mm512_loadu_ps(e.bias), b1 = _mm512_loadu_ps(e.bias + 16);
#pragma GCC unroll 14
  for (int i = 0; i < Rows; ++i) {
    acc[i][0] = b0;
    if (Vectors == 2) acc[i][1] = b1;
  }
  const float* a_row[Rows];
  for (Index ky = 0; ky < kernel; ++ky, b += run * W) {
#pragma GCC unroll 14
    for (int i = 0; i < Rows; ++i) a_row[i] = a + ky * row_step + i * pixel_step;
    accumulate_tile_avx512<Rows, Vectors>(acc, a_row, b, run);
  }
  store_tile_avx512<Rows, Vectors>(acc, c, ldc, last_mask, e);
}

// The same with AVX2's Rows x 16 GEMM tile, once per 16 of the columns (<= 32) of the panel.
template <int Rows>
MOBILENET_TARGET_AVX2 void conv_tile_avx2(const float* a, Index pixel_step, Index row_step, Index kernel, Index run,
                                          const float* b, float* c, Index ldc, Index columns,
                                          const GemmTileEpilogue& e) {
  static_assert(Rows >= 1 && Rows <= kGemmAvx2Rows, "tile too large");
  constexpr Index W = kGemmPanelWidth;
  for (Index half = 0; 16 * half < columns; ++half) {
    const Index cols = std::min<Index>(16, columns - 16 * half);
    __m256 acc[Rows][2];
    start_tile16_avx2<Rows>(acc, c + 16 * half, ldc, cols, e.bias + 16 * half, e);
    Avx2TilePrefetch none;
    const float* panel = b + 16 * half;
    for (Index ky = 0; ky < kernel; ++ky, panel += run * W)
      accumulate16_avx2<Rows, 0>(acc, a + ky * row_step, pixel_step, panel, run, none);
    finish_tile16_avx2<Rows>(acc, c + 16 * half, ldc, cols, e);
  }
}

using ConvTileKernel = void (*)(const float*, Index, Index, Index, Index, const float*, float*, Index, Index,
                                const GemmTileEpilogue&);
// One instruction set's tiles, indexed by height (1 to rows): x32 for up to 32 columns, x16
// for up to 16.
struct ConvKernelTable {
  Index rows = 0;
  ConvTileKernel x32[kDirectConvRows + 1] = {};
  ConvTileKernel x16[kDirectConvRows + 1] = {};
};
template <int... Rows>
ConvKernelTable make_conv_table_avx512(std::integer_sequence<int, Rows...>) {
  ConvKernelTable t;
  t.rows = sizeof...(Rows);
  ((t.x32[Rows + 1] = &conv_tile_avx512<Rows + 1, 32>, t.x16[Rows + 1] = &conv_tile_avx512<Rows + 1, 16>), ...);
  return t;
}
template <int... Rows>
ConvKernelTable make_conv_table_avx2(std::integer_sequence<int, Rows...>) {
  ConvKernelTable t;
  t.rows = sizeof...(Rows);
  ((t.x32[Rows + 1] = t.x16[Rows + 1] = &conv_tile_avx2<Rows + 1>), ...);
  return t;
}
inline const ConvKernelTable& conv_kernels(Isa isa) {
  static const ConvKernelTable avx512 = make_conv_table_avx512(std::make_integer_sequence<int, kDirectConvRows>());
  static const ConvKernelTable avx2 = make_conv_table_avx2(std::make_integer_sequence<int, kGemmAvx2Rows>());
  return isa == Isa::Avx512 ? avx512 : avx2;
}
}  // namespace detail
#endif

// band: padded_rows(in, in_shape, win, row_begin, row_end, band)'s output
// w:    the k x k x Cin x Cout (HWIO) weights packed as a (k*k*Cin) x Cout GEMM, in one block of k
// out:  (row_end - row_begin) x W' pixels, `ldc` floats apart (>= Cout)
// out = act(conv(in) + bias) for output rows [row_begin, row_end). Needs
// direct_conv_available(options.isa, w). options.prefetch (the plan: its next band of input)
// is prefetched a few lines before each tile; options.blocking does not apply.
inline void conv2d_direct_rows(const float* band, Index cin, const Window2D& win, Index row_begin, Index row_end,
                               const PackedGemmWeights& w, float* out, Index ldc, Activation activation,
                               const GemmOptions& options = {}) {
  assert(direct_conv_available(options.isa, w) && w.k() == win.kernel * win.kernel * cin && ldc >= w.n());
#if MOBILENET_X86_DISPATCH
  const detail::ConvKernelTable& kernels = detail::conv_kernels(options.isa);
  const Index out_w = win.cols.out, W = kGemmPanelWidth;
  const Index row_step = padded_row_width(win) * cin, pixel_step = win.stride * cin, run = win.kernel * cin;
  GemmTileEpilogue e;
  set_clamp(e, activation);
  e.activate = true;
  PrefetchStream wanted(options.prefetch.begin, options.prefetch.bytes);
  const Index calls =
      std::max<Index>(1, (row_end - row_begin) * ((out_w + kernels.rows - 1) / kernels.rows) * w.panels());
  const Index per_call = (wanted.lines() + calls - 1) / calls;
  const detail::BalancedTiles tiles(out_w, kernels.rows);
  for (Index r = 0; r < row_end - row_begin; ++r) {
    const float* a = band + r * win.stride * row_step;
    float* c = out + r * out_w * ldc;
    Index rows = 0;
    for (Index x = 0, t = 0; x < out_w; x += rows, ++t) {
      rows = tiles.rows(t);
      for (Index p = 0; p < w.panels(); ++p) {
        const Index columns = std::min(W, w.n() - p * W);
        e.bias = w.bias() + p * W;
        const detail::ConvTileKernel kernel = columns > 16 ? kernels.x32[rows] : kernels.x16[rows];
        // A short burst per tile: a tile is ~750 FMAs, and its share is ~10 lines at the stem.
        const TilePrefetch share = wanted.take_lines(per_call);
        for (Index l = 0; share.at && l < share.lines; ++l) _mm_prefetch(share.at + 64 * l, _MM_HINT_T0);
        kernel(a + x * pixel_step, pixel_step, row_step, win.kernel, run, w.slice(0, p), c + x * ldc + p * W, ldc,
               columns, e);
      }
    }
  }
#else
  (void)band, (void)cin, (void)win, (void)row_begin, (void)row_end, (void)w, (void)out, (void)ldc, (void)activation,
      (void)options;
#endif
}

}  // namespace kernels
}  // namespace mobilenet

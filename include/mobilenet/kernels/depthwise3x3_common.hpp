// SPDX-License-Identifier: MIT
#pragma once
// What every 3x3 depthwise kernel shares: the parameter block (the contract the execution
// plan codes against) and the border geometry, which is scalar maths the same for every ISA.

#include <algorithm>
#include <cassert>

#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/kernels/cpu_features.hpp"

namespace mobilenet {
namespace kernels {

// One image, float32, NHWC, BatchNorm already folded into weights and bias, activation fused.
// Padding is implicit: taps that fall outside the input read zeros that are never stored.
struct Depthwise3x3Params {
  const float* input = nullptr;  // in_h x in_w pixels of `channels` floats, in_pixel_stride apart
  Index in_h = 0, in_w = 0, channels = 0;
  const float* weights = nullptr;  // 3 x 3 x channels (BN folded)
  const float* bias = nullptr;     // channels (BN folded); never null
  float* output = nullptr;         // output row `row_begin`; rows of out_w pixels follow, out_pixel_stride apart
  Index out_h = 0, out_w = 0;
  Index stride = 1;                // 1 or 2 (others run through the per-pixel path)
  Index pad_top = 0, pad_left = 0; // bottom/right padding is implied by out_h/out_w
  Activation activation = Activation::None;
  Index row_begin = 0, row_end = 0;  // compute output rows [row_begin, row_end) only
  // Floats from one pixel to the next (0: `channels`, dense NHWC); the execution plan uses
  // padded_pixel_stride (below).
  Index in_pixel_stride = 0, out_pixel_stride = 0;
};

// Output pixels per interior step of each depthwise kernel, at stride 1 and 2 (docs/kernels.md
// lists the same). A tile shares the input columns its pixels overlap on, so it is as wide as
// the registers allow: AVX-512 and NEON (32 vector registers) hold 8 accumulators, 9 weights,
// the bias and 10 input columns at stride 1; at stride 2 a tile of 8 would need 17 columns, so
// AVX-512 takes 6 (13 columns) and NEON 4. AVX2's 16 registers cannot hold the nine weights next
// to a tile: it loads three per input row (weights_in_registers false), which leaves room for
// 8 accumulators at either stride. The generic kernel keeps small tiles.
struct DepthwiseTileShape {
  Isa isa;
  const char* kernel;
  int pixels[2];  // at stride 1, at stride 2
  // Stride 1, where `rows` neighbouring output rows all have their three input rows: a block
  // of rows x block_pixels pixels reads its rows + 2 input rows once for all of them (5 row
  // reads for 3 rows, not 9). rows 1: no blocks (AVX2's 16 registers cannot hold one).
  int rows = 1, block_pixels = 0;
  // Whether a tile keeps all nine weights of its channel block in registers; if not, it loads
  // each input row's three for that row (16 registers: nine weights would leave room for too
  // few accumulators, each a chain of dependent FMAs, to keep the FMA units busy).
  bool weights_in_registers = true;
};
inline constexpr DepthwiseTileShape kDepthwiseTiles[] = {{Isa::Avx512, "depthwise3x3_avx512", {8, 6}, 3, 4},
                                                         {Isa::Avx2, "depthwise3x3_avx2", {8, 8}, 1, 0, false},
                                                         {Isa::Neon, "depthwise3x3_neon", {8, 4}},
                                                         {Isa::Generic, "depthwise3x3_generic", {4, 2}}};
constexpr DepthwiseTileShape depthwise3x3_tile(Isa isa) {
  for (const DepthwiseTileShape& t : kDepthwiseTiles)
    if (t.isa == isa) return t;
  return kDepthwiseTiles[3];
}

// The pixel stride the execution plan gives activations of `channels` channels: one cache
// line more when the plain stride would be a multiple of 1 KB (256, 512, 1024 channels, ...),
// where the columns a depthwise tile reads would fall into the same few L1 sets and the
// pixels it writes would alias its reads 4 KB apart (docs/kernels.md has the timings).
inline Index padded_pixel_stride(Index channels) {
  return channels >= 256 && channels % 256 == 0 ? channels + 16 : channels;
}

namespace detail {

inline Index in_stride(const Depthwise3x3Params& p) { return p.in_pixel_stride ? p.in_pixel_stride : p.channels; }
inline Index out_stride(const Depthwise3x3Params& p) { return p.out_pixel_stride ? p.out_pixel_stride : p.channels; }

// The input rows and weight rows one output row reads. Rows outside the input are left out
// (not multiplied by zero), so `count` is 0..3.
struct DepthwiseTaps {
  const float* in[3] = {nullptr, nullptr, nullptr};    // first input pixel of each row
  const float* taps[3] = {nullptr, nullptr, nullptr};  // matching weights (first tap column)
  int count = 0;
};

// Valid part [lo, hi) of the 3 taps that start at input coordinate `start` on an axis of
// length `size`.
struct TapRange {
  Index lo = 0, hi = 0;
};
inline TapRange tap_range(Index start, Index size) {
  return TapRange{std::max<Index>(0, -start), std::min<Index>(3, size - start)};
}

// The rows of output row `oy`, pointing at input column 0 and weight column 0.
inline DepthwiseTaps row_taps(const Depthwise3x3Params& p, Index oy) {
  DepthwiseTaps t;
  const Index iy = oy * p.stride - p.pad_top;
  const TapRange r = tap_range(iy, p.in_h);
  for (Index ky = r.lo; ky < r.hi; ++ky, ++t.count) {
    t.in[t.count] = p.input + (iy + ky) * p.in_w * in_stride(p);
    t.taps[t.count] = p.weights + ky * 3 * p.channels;
  }
  return t;
}

// Output columns [lo, hi) whose three taps all fall inside the input: the interior, which
// runs without any border test. The rest are border pixels.
struct ColumnSplit {
  Index lo = 0, hi = 0;
};
inline ColumnSplit interior_columns(const Depthwise3x3Params& p) {
  const Index s = p.stride;
  ColumnSplit split;
  split.lo = std::min<Index>((p.pad_left + s - 1) / s, p.out_w);
  // Last ox with ox * s - pad_left + 2 <= in_w - 1.
  const Index last = p.in_w - 3 + p.pad_left;
  split.hi = last < 0 ? split.lo : std::min<Index>(last / s + 1, p.out_w);
  split.hi = std::max(split.hi, split.lo);
  return split;
}

inline bool valid_params(const Depthwise3x3Params& p) {
  return p.input && p.weights && p.bias && p.output && p.in_h > 0 && p.in_w > 0 &&
         p.channels > 0 && p.out_h > 0 && p.out_w > 0 && p.stride > 0 && p.pad_top >= 0 &&
         p.pad_left >= 0 && 0 <= p.row_begin && p.row_begin <= p.row_end && p.row_end <= p.out_h &&
         (p.in_pixel_stride == 0 || p.in_pixel_stride >= p.channels) &&
         (p.out_pixel_stride == 0 || p.out_pixel_stride >= p.channels);
}

}  // namespace detail
}  // namespace kernels
}  // namespace mobilenet

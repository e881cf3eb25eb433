// SPDX-License-Identifier: MIT
#pragma once
// What every 8-bit 3x3 depthwise kernel shares: the layer description the packer takes, the
// parameter block of one call (the contract the execution plan codes against), the view of
// the packed weights the kernels read, and the border geometry.
//
// Domain (model/quantized_mobilenet_v1.hpp): activations uint8 with int32 zero points,
// weights int8 with one weight zero point per tensor.

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>

#include "mobilenet/core/quantization.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/int8/isa.hpp"

// The tiles stay out of line (MOBILENET_DW8_NOINLINE): inlined into their row loop, GCC keeps
// a copy of every accumulator on the stack, one store per multiply-add. Their helpers are
// MOBILENET_ALWAYS_INLINE (kernels/cpu_features.hpp).
#if defined(__GNUC__)
#define MOBILENET_DW8_NOINLINE __attribute__((noinline))
#else
#define MOBILENET_DW8_NOINLINE
#endif

namespace mobilenet {
namespace kernels {

// What a layer gives the packer.
struct DepthwiseInt8Layer {
  const std::int8_t* weights = nullptr;   // 3 x 3 x C (tap-major, channel fastest)
  const std::int32_t* bias = nullptr;     // C, or nullptr (no bias)
  Index channels = 0;
  std::int32_t weight_zero_point = 0;     // same for every channel
  std::int32_t input_zero_point = 0;
  const Requantization* requantization = nullptr;  // C entries
  std::int32_t output_zero_point = 0;
  QuantRange range;                       // within [0, 255]
};

class PackedDepthwiseInt8Weights;

// One image, NHWC uint8. Padding is implicit: taps outside the input count as
// input_zero_point (they contribute 0 to the sum), as in TFLite.
struct Depthwise3x3Int8Params {
  const std::uint8_t* input = nullptr;  // in_h x in_w pixels of `channels` bytes, in_pixel_stride apart
  Index in_h = 0, in_w = 0, channels = 0;
  const PackedDepthwiseInt8Weights* weights = nullptr;
  std::uint8_t* output = nullptr;  // output row `row_begin`; rows of out_w pixels, out_pixel_stride apart
  Index out_h = 0, out_w = 0;
  Index stride = 1;                 // 1 or 2 tile; any other stride runs the per-pixel path
  Index pad_top = 0, pad_left = 0;  // bottom/right padding implied by out_h/out_w
  Index row_begin = 0, row_end = 0; // compute output rows [row_begin, row_end) only
  Index in_pixel_stride = 0, out_pixel_stride = 0;  // bytes between pixels (0: channels)
};

// Output pixels per interior step of each kernel, at stride 1 and 2 (the kernels use 16
// channels a vector on AVX-512, 8 on AVX2 and AVX-VNNI, 4 on NEON and generic). A tile reads
// (pixels - 1) * stride + 3 input columns once each. Its accumulators share the registers with
// the 6 weight vectors and, at the end, the requantization's constants and temporaries, which
// is why the tiles are smaller than the float kernels'.
struct DepthwiseInt8TileShape {
  Int8Isa isa;
  const char* kernel;
  int pixels[2];  // at stride 1, at stride 2
};
inline constexpr DepthwiseInt8TileShape kDepthwiseInt8Tiles[] = {
    {Int8Isa::Avx512Vnni, "depthwise3x3_int8_avx512", {8, 4}}, {Int8Isa::AvxVnni, "depthwise3x3_int8_avxvnni", {4, 3}},
    {Int8Isa::Avx2, "depthwise3x3_int8_avx2", {4, 3}},         {Int8Isa::NeonDot, "depthwise3x3_int8_neon", {8, 4}},
    {Int8Isa::Neon, "depthwise3x3_int8_neon", {8, 4}},         {Int8Isa::Generic, "depthwise3x3_int8_generic", {4, 2}}};
constexpr DepthwiseInt8TileShape depthwise3x3_int8_tile(Int8Isa isa) {
  for (const DepthwiseInt8TileShape& t : kDepthwiseInt8Tiles)
    if (t.isa == isa) return t;
  return kDepthwiseInt8Tiles[5];
}

// The quad layout (AVX-512 VNNI, depthwise3x3_avx512_quads.hpp): channels a block, the
// fewest channels a layer has to take it, and output pixels a tile (4 x 4 accumulators).
inline constexpr Index kDepthwiseInt8QuadBlock = 64;
inline constexpr int kDepthwiseInt8QuadTile = 4;

namespace detail {

// Channels of every packed array are padded to a multiple of this, so that kernels load the
// weights and requantization parameters of a channel tail as whole vectors.
inline constexpr Index kDepthwiseInt8ChannelPad = 16;

// Where the quad layout keeps channel c of a block (c < kDepthwiseInt8QuadBlock): lane
// d = 4L + i of vector j holds channel 16L + 4j + i, the order of 128-bit-lane unpacks.
constexpr Index quad_entry(Index c) { return 16 * (c % 16 / 4) + 4 * (c / 16) + c % 4; }

// The packed weights as the kernels read them, every array `padded` entries a row.
// The 9 taps of a channel are 3 int16 pair products and 3 single ones, which is what
// vpmaddwd / vpdpwssd compute on int16 pairs: for each kernel column k,
// (x0k, x1k) . (w0k, w1k) + (x2k, 0) . (w2k, 0), rows 0 and 1 paired. So w01 holds, per kernel
// column and channel, the 32-bit word (w0k - zw) | (w1k - zw) << 16, and w2 holds (w2k - zw)
// in its low half (whole words, which the multiply-adds take straight from memory). The
// inputs enter as raw bytes: sum (x - zp_in)(w - zw) is sum x (w - zw) - zp_in sum (w - zw),
// and the second sum is folded into `bias`; a tap outside the input reads the value zp_in,
// which that fold cancels. Every intermediate is far from int32's limits
// (|x (w - zw)| <= 255 * 383). The requantization is the multiplier and the signed shift; the
// kernels derive the left shift max(shift, 0), the right shift max(-shift, 0), its rounding
// mask 2^right - 1 and threshold mask >> 1 per channel block.
//
// The quad layout (`quads` set, w01 and w2 null) holds per kernel column and channel the bytes
// (w0k - zw, w1k - zw, w2k - zw, 0) as one int32 word, for vpdpbusd; it needs every w - zw
// within int8. Its arrays (quads, bias, multiplier, shift) are in quad_entry order within
// each block of kDepthwiseInt8QuadBlock channels, padded to whole blocks.
struct DepthwiseInt8View {
  const std::int32_t* w01 = nullptr;    // 3 x padded
  const std::int32_t* w2 = nullptr;     // 3 x padded
  const std::int32_t* quads = nullptr;  // 3 x padded, the quad layout
  // A 32-channel layer in the quad layout: its block holds the 32 channels twice (entries of
  // channels c and c + 32 equal), for the kernel's paired form.
  bool quad_pairs = false;
  const std::int32_t* bias = nullptr;   // padded: bias (0 where the layer has none) - zp_in * sum (w - zw)
  const std::int32_t* multiplier = nullptr;  // padded, Requantization::multiplier
  const std::int8_t* shift = nullptr;   // padded, Requantization::shift, in [-31, 30]
  Index padded = 0;
  std::int32_t input_zero_point = 0, output_zero_point = 0;
  QuantRange range;
  // No channel shifts left and range.lo >= output_zero_point: the requantization may be one
  // rounding shift of the 64-bit product (exact wherever the result is not clamped to lo).
  bool one_shift = false;
  // one_shift and every right shift in [kInt8HighShiftMin - 31, kInt8HighShiftMax - 31]: the
  // high-dword form (AVX-512's HighShiftRequantAvx512), which also adds the zero point.
  bool high_shift = false;
};

inline Index int8_in_stride(const Depthwise3x3Int8Params& p) {
  return p.in_pixel_stride ? p.in_pixel_stride : p.channels;
}
inline Index int8_out_stride(const Depthwise3x3Int8Params& p) {
  return p.out_pixel_stride ? p.out_pixel_stride : p.channels;
}

// Valid part [lo, hi) of the 3 taps that start at input coordinate `start` on an axis of
// length `size`.
struct Int8TapRange {
  Index lo = 0, hi = 0;
};
inline Int8TapRange int8_tap_range(Index start, Index size) {
  return Int8TapRange{std::max<Index>(0, -start), std::max<Index>(0, std::min<Index>(3, size - start))};
}

// Output columns [lo, hi) whose three taps all fall inside the input (no border test).
inline Int8TapRange int8_interior_columns(const Depthwise3x3Int8Params& p) {
  const Index s = p.stride;
  Int8TapRange split;
  split.lo = std::min<Index>((p.pad_left + s - 1) / s, p.out_w);
  const Index last = p.in_w - 3 + p.pad_left;  // last ox with ox * s - pad_left + 2 <= in_w - 1
  split.hi = last < 0 ? split.lo : std::min<Index>(last / s + 1, p.out_w);
  split.hi = std::max(split.hi, split.lo);
  return split;
}

inline bool valid_int8_params(const Depthwise3x3Int8Params& p) {
  return p.input && p.weights && p.output && p.in_h > 0 && p.in_w > 0 && p.channels > 0 && p.out_h > 0 &&
         p.out_w > 0 && p.stride > 0 && p.pad_top >= 0 && p.pad_left >= 0 && 0 <= p.row_begin &&
         p.row_begin <= p.row_end && p.row_end <= p.out_h &&
         (p.in_pixel_stride == 0 || p.in_pixel_stride >= p.channels) &&
         (p.out_pixel_stride == 0 || p.out_pixel_stride >= p.channels);
}

}  // namespace detail
}  // namespace kernels
}  // namespace mobilenet

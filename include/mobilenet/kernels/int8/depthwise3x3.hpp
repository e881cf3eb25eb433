// SPDX-License-Identifier: MIT
#pragma once
// 8-bit 3x3 depthwise convolution with TensorFlow Lite's arithmetic: the weight packer, the
// scalar reference twin and the dispatcher that runs the kernel of the packed weights' ISA
// (AVX-512 VNNI, AVX-VNNI, AVX2, NEON with or without dot product, generic).
//
// out[oy][ox][c] = requantize(bias[c] + sum over taps in range of
//                             (in[iy][ix][c] - zp_in) * (w[ky][kx][c] - zp_w),
//                             requantization[c], zp_out, range)

#include <cassert>
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/quantization.hpp"
#include "mobilenet/kernels/int8/depthwise3x3_avx2.hpp"
#include "mobilenet/kernels/int8/depthwise3x3_avx512.hpp"
#include "mobilenet/kernels/int8/depthwise3x3_avx512_quads.hpp"
#include "mobilenet/kernels/int8/depthwise3x3_common.hpp"
#include "mobilenet/kernels/int8/depthwise3x3_generic.hpp"
#include "mobilenet/kernels/int8/depthwise3x3_neon.hpp"
#include "mobilenet/kernels/int8/isa.hpp"
#include "mobilenet/kernels/int8/requantize_avx512.hpp"

namespace mobilenet {
namespace kernels {

// A layer's weights, bias and requantization packed once for the kernel of one ISA (see
// detail::DepthwiseInt8View for the layouts). Throws ConfigError
// for parameters the kernels cannot run exactly, or an ISA this CPU does not run.
class PackedDepthwiseInt8Weights {
 public:
  PackedDepthwiseInt8Weights() = default;
  PackedDepthwiseInt8Weights(const DepthwiseInt8Layer& layer, Int8Isa isa);

  Index channels() const { return channels_; }
  Int8Isa isa() const { return isa_; }
  // Whether the weights are in the quad layout (DepthwiseInt8View), which the AVX-512 VNNI
  // kernel takes for layers of 32 or at least kDepthwiseInt8QuadBlock channels whose w - zw
  // fit int8.
  bool quads() const { return quads_; }
  // Heap bytes held: 33 a padded channel (6 tap words, bias, multiplier, shift), or 21 in the
  // quad layout (3 tap words).
  std::size_t bytes() const { return words_.size() * sizeof(std::int32_t) + shift_.size(); }
  // What the kernels read; valid while this object lives and is not assigned to.
  detail::DepthwiseInt8View view() const;

 private:
  // Rows of words_: the taps (6 words, or 3 in the quad layout), then bias and multiplier.
  int tap_rows() const { return quads_ ? 3 : 6; }
  std::vector<std::int32_t> words_;  // tap_rows() + 2 rows of `padded_` int32
  std::vector<std::int8_t> shift_;   // `padded_` shifts
  Index channels_ = 0, padded_ = 0;
  Int8Isa isa_ = Int8Isa::Generic;
  std::int32_t input_zero_point_ = 0, output_zero_point_ = 0;
  QuantRange range_;
  bool one_shift_ = false, high_shift_ = false, quads_ = false;
};

namespace detail {

inline void check_depthwise_int8_layer(const DepthwiseInt8Layer& layer, Int8Isa isa) {
  auto fail = [](const auto&... parts) { throw ConfigError(mobilenet::detail::concat("depthwise3x3_int8: ", parts...)); };
  if (layer.channels <= 0) fail("channels must be positive, got ", layer.channels);
  if (!layer.weights || !layer.requantization) fail("weights and requantization must not be null");
  if (layer.input_zero_point < 0 || layer.input_zero_point > 255)
    fail("input zero point ", layer.input_zero_point, " is outside [0, 255]");
  if (layer.output_zero_point < 0 || layer.output_zero_point > 255)
    fail("output zero point ", layer.output_zero_point, " is outside [0, 255]");
  // (w - zw) must fit int16 for the pair products; int8 weights allow zw in [-128, 127] + 255.
  if (layer.weight_zero_point < -255 || layer.weight_zero_point > 255)
    fail("weight zero point ", layer.weight_zero_point, " is outside [-255, 255]");
  if (layer.range.lo < 0 || layer.range.hi > 255 || layer.range.lo > layer.range.hi)
    fail("range [", layer.range.lo, ", ", layer.range.hi, "] is not within [0, 255]");
  for (Index c = 0; c < layer.channels; ++c) {
    const Requantization r = layer.requantization[c];
    const bool zero = r.multiplier == 0;
    if ((!zero && r.multiplier < (std::int32_t(1) << 30)) || r.multiplier < 0 || r.shift < -31 || r.shift > 30)
      fail("channel ", c, ": requantization (", r.multiplier, ", ", r.shift, ") is not a quantize_multiplier result");
  }
  if (!int8_isa_supported(isa)) fail("this CPU does not run ", int8_isa_name(isa));
}

// Whether `layer` takes the quad layout on `isa`.
inline bool depthwise_int8_quads_apply(const DepthwiseInt8Layer& layer, Int8Isa isa) {
#if defined(MOBILENET_HAVE_DEPTHWISE3X3_INT8_AVX512)
  if (isa != Int8Isa::Avx512Vnni || (layer.channels < kDepthwiseInt8QuadBlock && layer.channels != 32)) return false;
  for (Index i = 0; i < 9 * layer.channels; ++i) {
    const std::int32_t w = layer.weights[i] - layer.weight_zero_point;
    if (w < -128 || w > 127) return false;
  }
  return true;
#else
  (void)layer, (void)isa;
  return false;
#endif
}

}  // namespace detail

inline PackedDepthwiseInt8Weights::PackedDepthwiseInt8Weights(const DepthwiseInt8Layer& layer, Int8Isa isa) {
  detail::check_depthwise_int8_layer(layer, isa);
  const Index ch = layer.channels;
  channels_ = ch;
  isa_ = isa;
  quads_ = detail::depthwise_int8_quads_apply(layer, isa);
  const Index pad = quads_ ? kDepthwiseInt8QuadBlock : detail::kDepthwiseInt8ChannelPad;
  padded_ = (ch + pad - 1) / pad * pad;
  input_zero_point_ = layer.input_zero_point;
  output_zero_point_ = layer.output_zero_point;
  range_ = layer.range;
  const auto padded = static_cast<std::size_t>(padded_);
  const int bias_row = tap_rows(), multiplier_row = bias_row + 1;
  words_.assign(std::size_t(multiplier_row + 1) * padded, 0);
  shift_.assign(padded, 0);
  auto at = [&](int row, Index slot) -> std::int32_t& { return words_[static_cast<std::size_t>(row * padded_ + slot)]; };
  auto tap = [&](Index ky, Index kx, Index c) {  // |w - zw| <= 383
    return layer.weights[(ky * 3 + kx) * ch + c] - layer.weight_zero_point;
  };
  auto half = [](std::int32_t w) -> std::uint32_t {  // two's complement in 16 bits
    return static_cast<std::uint16_t>(static_cast<std::int16_t>(w));
  };
  auto byte = [](std::int32_t w) -> std::uint32_t { return static_cast<std::uint8_t>(static_cast<std::int8_t>(w)); };
  const bool pairs = quads_ && ch == 32;  // the block holds the 32 channels twice
  for (Index e = 0; e < (pairs ? 2 * ch : ch); ++e) {
    const Index c = pairs ? e % ch : e;  // entry e's channel
    const Index slot = quads_ ? e / kDepthwiseInt8QuadBlock * kDepthwiseInt8QuadBlock +
                                    detail::quad_entry(e % kDepthwiseInt8QuadBlock)
                              : e;
    std::int32_t sum = 0;
    for (Index kx = 0; kx < 3; ++kx) {
      if (quads_) {
        at(int(kx), slot) = static_cast<std::int32_t>(byte(tap(0, kx, c)) | byte(tap(1, kx, c)) << 8 |
                                                      byte(tap(2, kx, c)) << 16);
      } else {
        at(int(kx), slot) = static_cast<std::int32_t>(half(tap(0, kx, c)) | half(tap(1, kx, c)) << 16);
        at(3 + int(kx), slot) = static_cast<std::int32_t>(half(tap(2, kx, c)));
      }
      for (Index ky = 0; ky < 3; ++ky) sum += tap(ky, kx, c);
    }
    const Requantization r = layer.requantization[c];
    // In uint32: a bias at int32's ends wraps as the kernels' sums do, instead of overflowing.
    const auto bias = static_cast<std::uint32_t>(layer.bias ? layer.bias[c] : 0);
    at(bias_row, slot) = static_cast<std::int32_t>(bias - static_cast<std::uint32_t>(layer.input_zero_point * sum));
    at(multiplier_row, slot) = r.multiplier;
    shift_[static_cast<std::size_t>(slot)] = static_cast<std::int8_t>(r.shift);  // in [-31, 30]
  }
  one_shift_ = layer.range.lo >= layer.output_zero_point &&
               std::all_of(shift_.begin(), shift_.end(), [](std::int8_t shift) { return shift <= 0; });
  high_shift_ = one_shift_ && std::all_of(layer.requantization, layer.requantization + ch, int8_high_shift_fits);
}

inline detail::DepthwiseInt8View PackedDepthwiseInt8Weights::view() const {
  detail::DepthwiseInt8View v;
  auto row = [&](int r) { return words_.data() + r * padded_; };
  if (quads_) {
    v.quads = row(0);
  } else {
    v.w01 = row(0);
    v.w2 = row(3);
  }
  v.bias = row(tap_rows());
  v.multiplier = row(tap_rows() + 1);
  v.shift = shift_.data();
  v.padded = padded_;
  v.input_zero_point = input_zero_point_;
  v.output_zero_point = output_zero_point_;
  v.range = range_;
  v.one_shift = one_shift_;
  v.high_shift = high_shift_;
  v.quad_pairs = quads_ && channels_ == 32;
  return v;
}

// The plain-loop twin every kernel is tested against, written from the formula above and
// reading the layer directly (p.weights is not used).
// in:  in_h x in_w x C uint8; out: rows [row_begin, row_end) of out_h x out_w x C uint8
inline void depthwise3x3_int8_reference(const Depthwise3x3Int8Params& p, const DepthwiseInt8Layer& layer) {
  assert(p.input && p.output && layer.channels == p.channels);
  const Index ch = p.channels, is = detail::int8_in_stride(p), os = detail::int8_out_stride(p);
  for (Index oy = p.row_begin; oy < p.row_end; ++oy) {
    for (Index ox = 0; ox < p.out_w; ++ox) {
      std::uint8_t* out = p.output + ((oy - p.row_begin) * p.out_w + ox) * os;
      for (Index c = 0; c < ch; ++c) {
        std::int32_t acc = layer.bias ? layer.bias[c] : 0;
        for (Index ky = 0; ky < 3; ++ky) {
          const Index iy = oy * p.stride - p.pad_top + ky;
          for (Index kx = 0; kx < 3; ++kx) {
            const Index ix = ox * p.stride - p.pad_left + kx;
            if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) continue;  // reads zp_in: adds 0
            const std::int32_t a = p.input[(iy * p.in_w + ix) * is + c] - layer.input_zero_point;
            const std::int32_t w = layer.weights[(ky * 3 + kx) * ch + c] - layer.weight_zero_point;
            acc += a * w;
          }
        }
        out[c] = static_cast<std::uint8_t>(
            requantize(acc, layer.requantization[c], layer.output_zero_point, layer.range));
      }
    }
  }
}

// Whether this build has a kernel of its own for `isa` (others run the generic kernel).
inline bool depthwise3x3_int8_compiled(Int8Isa isa) {
  switch (isa) {
    case Int8Isa::Generic: return true;
#if defined(MOBILENET_HAVE_DEPTHWISE3X3_INT8_AVX512)
    case Int8Isa::Avx512Vnni: return true;
#endif
#if defined(MOBILENET_HAVE_DEPTHWISE3X3_INT8_AVX2)
    case Int8Isa::Avx2:
    case Int8Isa::AvxVnni: return true;
#endif
#if defined(MOBILENET_HAVE_DEPTHWISE3X3_INT8_NEON)
    case Int8Isa::Neon:
    case Int8Isa::NeonDot: return true;
#endif
    default: return false;
  }
}

// Runs p.weights->isa()'s kernel; allocates nothing.
// in:  in_h x in_w x C uint8 (one image, NHWC), weights packed for 3 x 3 x C
// out: rows [row_begin, row_end) of out_h x out_w x C uint8, starting at p.output
inline void depthwise3x3_int8(const Depthwise3x3Int8Params& p) {
  assert(p.weights && p.weights->channels() == p.channels);
  const detail::DepthwiseInt8View view = p.weights->view();
  switch (p.weights->isa()) {
#if defined(MOBILENET_HAVE_DEPTHWISE3X3_INT8_AVX512)
    case Int8Isa::Avx512Vnni:
      if (view.quads) depthwise3x3_int8_avx512_quads(p, view);
      else depthwise3x3_int8_avx512(p, view);
      return;
#endif
#if defined(MOBILENET_HAVE_DEPTHWISE3X3_INT8_AVX2)
    case Int8Isa::AvxVnni: depthwise3x3_int8_avxvnni(p, view); return;
    case Int8Isa::Avx2: depthwise3x3_int8_avx2(p, view); return;
#endif
#if defined(MOBILENET_HAVE_DEPTHWISE3X3_INT8_NEON)
    case Int8Isa::Neon:
    case Int8Isa::NeonDot: depthwise3x3_int8_neon(p, view); return;
#endif
    default: depthwise3x3_int8_generic(p, view); return;
  }
}

}  // namespace kernels
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#pragma once
// Scalar reference twins of the 8-bit kernels, written from TensorFlow Lite's builtin integer
// formulas (core/quantization.hpp): the slow, obviously correct results every fast int8
// kernel must equal bit for bit. One image, NHWC, in the internal domain of
// model/quantized_mobilenet_v1.hpp: activations uint8 with int32 zero points, weights int8.
// No allocation; borders are read through the padding maths, never a padded copy.

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/quantization.hpp"
#include "mobilenet/core/shape.hpp"

namespace mobilenet {
namespace kernels {
namespace int8 {

// One k x k convolution (depthwise or full) of a quantized input: the geometry and the
// parameters of acc = bias + sum (q_in - zp_in)(w - zp_w), then requantize per channel.
struct QuantConvArgs {
  Index in_h = 0, in_w = 0, in_channels = 0, out_channels = 0;
  Index kernel = 1, stride = 1;
  Padding padding = Padding::same();
  std::int32_t input_zero_point = 0, weight_zero_point = 0, output_zero_point = 0;
  const std::int8_t* weights = nullptr;                // layout: see each kernel
  const std::int32_t* bias = nullptr;                  // out_channels, or null for none
  const Requantization* requantization = nullptr;      // out_channels
  Rounding rounding = Rounding::Double;                // Single: requantize_single_rounding
  QuantRange range;                                    // clamp of the output

  Window2D window() const { return window_2d(in_h, in_w, kernel, stride, padding); }
};

// The double-rounding requantization of TFLite's builtin kernels, for layers whose rounding
// is Rounding::Double. The kernels take it as a policy so that a test can substitute a wrong
// one and show the golden comparison catches it.
struct TfliteRequantize {
  constexpr std::int32_t operator()(std::int32_t acc, Requantization r, std::int32_t zero_point,
                                    QuantRange range) const {
    return requantize(acc, r, zero_point, range);
  }
};

// Full convolution: weights [O, k, k, I] (TFLite's OHWI; [O, I] for k = 1). Padded taps read
// zp_in, so they add 0 to the sum.
// in: H x W x I, out: Ho x Wo x O
template <typename Requantize = TfliteRequantize>
void conv_reference(const std::uint8_t* in, const QuantConvArgs& a, std::uint8_t* out, Requantize rq = {}) {
  const Window2D win = a.window();
  const Index k = a.kernel, ci = a.in_channels;
  for (Index oy = 0; oy < win.rows.out; ++oy)
    for (Index ox = 0; ox < win.cols.out; ++ox)
      for (Index o = 0; o < a.out_channels; ++o) {
        std::int32_t acc = a.bias ? a.bias[o] : 0;
        for (Index ky = 0; ky < k; ++ky) {
          const Index y = oy * a.stride + ky - win.rows.pad_before;
          for (Index kx = 0; kx < k; ++kx) {
            const Index x = ox * a.stride + kx - win.cols.pad_before;
            const bool inside = y >= 0 && y < a.in_h && x >= 0 && x < a.in_w;
            const std::int8_t* w = a.weights + ((o * k + ky) * k + kx) * ci;
            for (Index c = 0; c < ci; ++c) {
              const std::int32_t q = inside ? in[(y * a.in_w + x) * ci + c] : a.input_zero_point;
              acc += (q - a.input_zero_point) * (std::int32_t(w[c]) - a.weight_zero_point);
            }
          }
        }
        out[(oy * win.cols.out + ox) * a.out_channels + o] = static_cast<std::uint8_t>(
            a.rounding == Rounding::Single
                ? requantize_single_rounding(acc, a.requantization[o], a.output_zero_point, a.range)
                : rq(acc, a.requantization[o], a.output_zero_point, a.range));
      }
}

// Depthwise convolution, depth multiplier 1: weights [k, k, C]; out_channels == in_channels.
// in: H x W x C, out: Ho x Wo x C
template <typename Requantize = TfliteRequantize>
void depthwise_reference(const std::uint8_t* in, const QuantConvArgs& a, std::uint8_t* out, Requantize rq = {}) {
  assert(a.in_channels == a.out_channels);
  const Window2D win = a.window();
  const Index k = a.kernel, ch = a.in_channels;
  for (Index oy = 0; oy < win.rows.out; ++oy)
    for (Index ox = 0; ox < win.cols.out; ++ox)
      for (Index c = 0; c < ch; ++c) {
        std::int32_t acc = a.bias ? a.bias[c] : 0;
        for (Index ky = 0; ky < k; ++ky) {
          const Index y = oy * a.stride + ky - win.rows.pad_before;
          for (Index kx = 0; kx < k; ++kx) {
            const Index x = ox * a.stride + kx - win.cols.pad_before;
            const bool inside = y >= 0 && y < a.in_h && x >= 0 && x < a.in_w;
            const std::int32_t q = inside ? in[(y * a.in_w + x) * ch + c] : a.input_zero_point;
            acc += (q - a.input_zero_point) * (std::int32_t(a.weights[(ky * k + kx) * ch + c]) - a.weight_zero_point);
          }
        }
        out[(oy * win.cols.out + ox) * ch + c] = static_cast<std::uint8_t>(
            a.rounding == Rounding::Single
                ? requantize_single_rounding(acc, a.requantization[c], a.output_zero_point, a.range)
                : rq(acc, a.requantization[c], a.output_zero_point, a.range));
      }
}

// How the average's quotient is rounded: TFLite's uint8 pool adds n/2 and divides (sums are
// >= 0); its int8 pool rounds half away from zero in the file's signed domain (internal
// values - 128), so `signed_domain` is set for models read from int8 files.
struct QuantPoolArgs {
  Index pixels = 0, channels = 0;
  bool signed_domain = false;
  QuantRange range;
};

// Global average pool of `pixels` pixels, same parameters in and out (TFLite does not
// requantize here). in: pixels x C, out: C
inline void global_avg_pool_reference(const std::uint8_t* in, const QuantPoolArgs& a, std::uint8_t* out) {
  const std::int32_t n = static_cast<std::int32_t>(a.pixels);
  assert(n > 0);
  for (Index c = 0; c < a.channels; ++c) {
    std::int32_t sum = 0;
    for (Index p = 0; p < a.pixels; ++p) sum += in[p * a.channels + c];
    std::int32_t q;
    if (!a.signed_domain) {
      q = (sum + n / 2) / n;
    } else {
      const std::int32_t s = sum - 128 * n;  // the int8 file's sum
      q = (s > 0 ? (s + n / 2) / n : (s - n / 2) / n) + 128;
    }
    out[c] = static_cast<std::uint8_t>(std::clamp(q, a.range.lo, a.range.hi));
  }
}

// SOFTMAX of one row, as TFLite's uint8/int8 kernel computes it: a float table
// e[d] = exp(-beta * input_scale * d) for d = max - q, the sum of e over the row in float in
// channel order, then q_out = (int)(e * (1 / (sum * output_scale)) + 0.5) + zp_out, clamped
// to the internal range [0, 255]. `table` has 256 entries and is filled by
// softmax_table_reference once per model.
inline void softmax_table_reference(float input_scale, float beta, float* table) {
  const float scale = -input_scale * beta;
  for (int d = 0; d <= 255; ++d) table[d] = std::exp(scale * static_cast<float>(d));
}

// in: C logits, out: C probabilities (internal domain: zp_out 0 for both file types).
inline void softmax_reference(const std::uint8_t* in, Index channels, const float* table,
                              float output_scale, std::int32_t output_zero_point, std::uint8_t* out) {
  std::int32_t max = 0;
  for (Index c = 0; c < channels; ++c) max = std::max<std::int32_t>(max, in[c]);
  float sum = 0.0f;
  for (Index c = 0; c < channels; ++c) sum += table[max - in[c]];
  const float inverse = 1.0f / (sum * output_scale);
  for (Index c = 0; c < channels; ++c) {
    const std::int32_t q = static_cast<std::int32_t>(table[max - in[c]] * inverse + 0.5f) + output_zero_point;
    out[c] = static_cast<std::uint8_t>(std::clamp(q, 0, 255));
  }
}

}  // namespace int8
}  // namespace kernels
}  // namespace mobilenet

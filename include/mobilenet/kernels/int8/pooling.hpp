// SPDX-License-Identifier: MIT
#pragma once
// The two small 8-bit steps after the last block, as TensorFlow Lite's builtin kernels compute
// them: the global average pool (int32 sums, rounded division) and the uint8 softmax (a float
// table of exponentials). Both are a sliver of the network's work, so they are plain loops
// the compiler vectorises; their reference twins are in kernels/int8/reference.hpp.

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstdint>

#include "mobilenet/core/shape.hpp"

namespace mobilenet {
namespace kernels {

// out[c] = clamp((sum_p in[p][c] + pixels / 2) / pixels, lo, hi) for one image of `pixels`
// pixels, `in_pixel_stride` bytes apart. `sums` is the caller's scratch of `channels` int32.
// `signed_domain` (int8 files): the mean of the int8 values rounded half away from zero, as
// TFLite's int8 pool rounds, then shifted back to the internal domain.
inline void global_average_pool_u8(const std::uint8_t* in, Index pixels, Index channels, Index in_pixel_stride,
                                   std::int32_t* sums, std::uint8_t* out, std::int32_t lo = 0, std::int32_t hi = 255,
                                   bool signed_domain = false) {
  assert(pixels > 0 && channels > 0 && in_pixel_stride >= channels);
  std::fill(sums, sums + channels, 0);
  for (Index p = 0; p < pixels; ++p) {
    const std::uint8_t* pixel = in + p * in_pixel_stride;
    for (Index c = 0; c < channels; ++c) sums[c] += pixel[c];
  }
  const auto n = static_cast<std::int32_t>(pixels);
  for (Index c = 0; c < channels; ++c) {
    std::int32_t q = (sums[c] + n / 2) / n;
    if (signed_domain) {
      const std::int32_t s = sums[c] - 128 * n;
      q = (s > 0 ? (s + n / 2) / n : (s - n / 2) / n) + 128;
    }
    out[c] = static_cast<std::uint8_t>(std::min(hi, std::max(lo, q)));
  }
}

// TFLite's uint8 softmax table: exps[d] = exp(-beta * input_scale * d) in float for
// d = max - q in 0..255, so a row needs no exp of its own.
struct SoftmaxTable {
  std::array<float, 256> exps{};
  float output_scale = 1.0f / 256.0f;
  std::int32_t output_zero_point = 0;  // internal domain

  SoftmaxTable() = default;
  SoftmaxTable(float input_scale, float beta, float out_scale, std::int32_t out_zero_point)
      : output_scale(out_scale), output_zero_point(out_zero_point) {
    const float scale = -input_scale * beta;
    for (int d = 0; d < 256; ++d) exps[static_cast<std::size_t>(d)] = std::exp(scale * static_cast<float>(d));
  }
};

// One row of `n` logits (internal uint8 domain) to probabilities (internal domain):
// (int)(p + 0.5f) + zero point, as TFLite's uint8 and int8 kernels quantize them.
inline void softmax_u8(const std::uint8_t* logits, Index n, const SoftmaxTable& table, std::uint8_t* out) {
  assert(n > 0);
  std::int32_t max = 0;
  for (Index j = 0; j < n; ++j) max = std::max<std::int32_t>(max, logits[j]);
  float sum = 0.0f;
  for (Index j = 0; j < n; ++j) sum += table.exps[static_cast<std::size_t>(max - logits[j])];
  const float inverse = 1.0f / (sum * table.output_scale);
  for (Index j = 0; j < n; ++j) {
    const float p = table.exps[static_cast<std::size_t>(max - logits[j])] * inverse;
    const std::int32_t q = static_cast<std::int32_t>(p + 0.5f) + table.output_zero_point;
    out[j] = static_cast<std::uint8_t>(std::min(255, std::max(0, q)));
  }
}

}  // namespace kernels
}  // namespace mobilenet

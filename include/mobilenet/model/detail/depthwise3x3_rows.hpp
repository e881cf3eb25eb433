// SPDX-License-Identifier: MIT
#pragma once
// Stand-in for part A's kernels/depthwise3x3.hpp (same contract), used by the plan until the
// SIMD depthwise kernels are merged: a plain loop over a band of output rows of one image.

#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/activation.hpp"

namespace mobilenet {
namespace plan_detail {

struct Depthwise3x3Params {
  const float* input; Index in_h, in_w, channels;  // one image, H x W x C, contiguous
  const float* weights; const float* bias;          // 3x3xC and C, BN folded
  float* output; Index out_h, out_w;               // output points at output row `row_begin`
  Index stride; Index pad_top, pad_left; Activation activation;
  Index row_begin, row_end;                        // output rows [row_begin, row_end)
};

// in: in_h x in_w x C -> out: rows [row_begin, row_end) of out_h x out_w x C
inline void depthwise3x3(const Depthwise3x3Params& p) {
  const Index ch = p.channels;
  for (Index oy = p.row_begin; oy < p.row_end; ++oy)
    for (Index ox = 0; ox < p.out_w; ++ox) {
      float* acc = p.output + ((oy - p.row_begin) * p.out_w + ox) * ch;
      for (Index c = 0; c < ch; ++c) acc[c] = p.bias[c];
      for (Index ky = 0; ky < 3; ++ky) {
        const Index iy = oy * p.stride - p.pad_top + ky;
        if (iy < 0 || iy >= p.in_h) continue;
        for (Index kx = 0; kx < 3; ++kx) {
          const Index ix = ox * p.stride - p.pad_left + kx;
          if (ix < 0 || ix >= p.in_w) continue;
          const float* pixel = p.input + (iy * p.in_w + ix) * ch;
          const float* tap = p.weights + (ky * 3 + kx) * ch;
          for (Index c = 0; c < ch; ++c) acc[c] += pixel[c] * tap[c];
        }
      }
      for (Index c = 0; c < ch; ++c) acc[c] = kernels::activate(acc[c], p.activation);
    }
}

}  // namespace plan_detail
}  // namespace mobilenet

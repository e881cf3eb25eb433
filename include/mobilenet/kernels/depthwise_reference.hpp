// SPDX-License-Identifier: MIT
#pragma once
// Depthwise k x k convolution (one filter per channel), plain loops: the reference twin of
// the SIMD depthwise kernels.

#include <cassert>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/shape.hpp"

namespace mobilenet {
namespace kernels {

// in:      N x H x W x C
// weights: k x k x C
// bias:    C, or nullptr
// out:     N x win.rows.out x win.cols.out x C
template <typename T>
void depthwise_conv2d_reference(const T* in, const Shape& in_shape, const T* weights, const T* bias,
                                const Window2D& win, T* out) {
  const Index ch = in_shape.c, k = win.kernel, s = win.stride;
  assert(in && weights && out && ch > 0 && k > 0 && s > 0);
  for (Index n = 0; n < in_shape.n; ++n) {
    for (Index oy = 0; oy < win.rows.out; ++oy) {
      for (Index ox = 0; ox < win.cols.out; ++ox) {
        T* acc = out + ((n * win.rows.out + oy) * win.cols.out + ox) * ch;
        for (Index c = 0; c < ch; ++c) acc[c] = bias ? bias[c] : T(0);
        for (Index ky = 0; ky < k; ++ky) {
          const Index iy = oy * s - win.rows.pad_before + ky;
          if (iy < 0 || iy >= in_shape.h) continue;
          for (Index kx = 0; kx < k; ++kx) {
            const Index ix = ox * s - win.cols.pad_before + kx;
            if (ix < 0 || ix >= in_shape.w) continue;
            const T* pixel = in + ((n * in_shape.h + iy) * in_shape.w + ix) * ch;
            const T* tap = weights + (ky * k + kx) * ch;
            for (Index c = 0; c < ch; ++c) acc[c] += pixel[c] * tap[c];
          }
        }
      }
    }
  }
}

}  // namespace kernels
}  // namespace mobilenet

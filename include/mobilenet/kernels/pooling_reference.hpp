// SPDX-License-Identifier: MIT
#pragma once
// Average pooling. Padded taps are left out of the mean (TensorFlow's rule, PyTorch's
// count_include_pad=False), so a border window averages only real pixels.

#include <cassert>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/shape.hpp"

namespace mobilenet {
namespace kernels {

// in:  N x H x W x C
// out: N x win.rows.out x win.cols.out x C
template <typename T>
void average_pool_reference(const T* in, const Shape& in_shape, const Window2D& win, T* out) {
  const Index ch = in_shape.c, k = win.kernel, s = win.stride;
  assert(in && out && ch > 0 && k > 0 && s > 0);
  for (Index n = 0; n < in_shape.n; ++n) {
    for (Index oy = 0; oy < win.rows.out; ++oy) {
      for (Index ox = 0; ox < win.cols.out; ++ox) {
        T* acc = out + ((n * win.rows.out + oy) * win.cols.out + ox) * ch;
        for (Index c = 0; c < ch; ++c) acc[c] = T(0);
        Index taps = 0;
        for (Index ky = 0; ky < k; ++ky) {
          const Index iy = oy * s - win.rows.pad_before + ky;
          if (iy < 0 || iy >= in_shape.h) continue;
          for (Index kx = 0; kx < k; ++kx) {
            const Index ix = ox * s - win.cols.pad_before + kx;
            if (ix < 0 || ix >= in_shape.w) continue;
            const T* pixel = in + ((n * in_shape.h + iy) * in_shape.w + ix) * ch;
            for (Index c = 0; c < ch; ++c) acc[c] += pixel[c];
            ++taps;
          }
        }
        assert(taps > 0);
        const T inv = T(1) / T(taps);
        for (Index c = 0; c < ch; ++c) acc[c] *= inv;
      }
    }
  }
}

// in: N x H x W x C, out: N x 1 x 1 x C (the mean over each image's pixels).
template <typename T>
void global_average_pool(const T* in, const Shape& in_shape, T* out) {
  const Index ch = in_shape.c, pixels = in_shape.pixels();
  assert(in && out && ch > 0 && pixels > 0);
  for (Index n = 0; n < in_shape.n; ++n) {
    T* acc = out + n * ch;
    for (Index c = 0; c < ch; ++c) acc[c] = T(0);
    const T* image = in + n * pixels * ch;
    for (Index p = 0; p < pixels; ++p)
      for (Index c = 0; c < ch; ++c) acc[c] += image[p * ch + c];
    const T inv = T(1) / T(pixels);
    for (Index c = 0; c < ch; ++c) acc[c] *= inv;
  }
}

}  // namespace kernels
}  // namespace mobilenet

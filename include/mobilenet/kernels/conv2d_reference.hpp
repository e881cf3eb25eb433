// SPDX-License-Identifier: MIT
#pragma once
// Full k x k convolution, plain loops: the reference twin of any fast convolution kernel.

#include <algorithm>
#include <cassert>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/shape.hpp"

namespace mobilenet {
namespace kernels {

// in:      N x H x W x Cin
// weights: k x k x Cin x Cout (HWIO)
// bias:    Cout, or nullptr
// out:     N x win.rows.out x win.cols.out x Cout
// Taps that fall into the padding are skipped: the padding is implicit zeros.
template <typename T>
void conv2d_reference(const T* in, const Shape& in_shape, const T* weights, const T* bias,
                      Index out_channels, const Window2D& win, T* out) {
  const Index cin = in_shape.c, cout = out_channels, k = win.kernel, s = win.stride;
  assert(in && weights && out && cin > 0 && cout > 0 && k > 0 && s > 0);
  for (Index n = 0; n < in_shape.n; ++n) {
    for (Index oy = 0; oy < win.rows.out; ++oy) {
      for (Index ox = 0; ox < win.cols.out; ++ox) {
        T* acc = out + ((n * win.rows.out + oy) * win.cols.out + ox) * cout;
        for (Index co = 0; co < cout; ++co) acc[co] = bias ? bias[co] : T(0);
        for (Index ky = 0; ky < k; ++ky) {
          const Index iy = oy * s - win.rows.pad_before + ky;
          if (iy < 0 || iy >= in_shape.h) continue;
          for (Index kx = 0; kx < k; ++kx) {
            const Index ix = ox * s - win.cols.pad_before + kx;
            if (ix < 0 || ix >= in_shape.w) continue;
            const T* pixel = in + ((n * in_shape.h + iy) * in_shape.w + ix) * cin;
            const T* tap = weights + (ky * k + kx) * cin * cout;
            for (Index ci = 0; ci < cin; ++ci) {
              const T x = pixel[ci];
              const T* w = tap + ci * cout;
              for (Index co = 0; co < cout; ++co) acc[co] += x * w[co];
            }
          }
        }
      }
    }
  }
}

}  // namespace kernels
}  // namespace mobilenet

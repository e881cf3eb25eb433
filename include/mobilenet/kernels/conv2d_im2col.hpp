// SPDX-License-Identifier: MIT
#pragma once
// Full k x k convolution as im2col + GEMM: each output pixel's receptive field is copied into
// one row of a matrix, and one matrix product with the HWIO weights (seen as a
// (k*k*Cin) x Cout matrix) computes every output. This is how fast libraries run a standard
// convolution, so it is the fair opponent for a depthwise-separable block. The GEMM is a
// parameter with its weights bound (raw for Eigen, packed for a faster kernel).

#include <algorithm>
#include <cassert>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/kernels/pointwise.hpp"

namespace mobilenet {
namespace kernels {

// A 1x1 window with stride 1 and no padding reads the input as it is: no im2col copy.
inline bool im2col_is_identity(const Window2D& win) {
  return win.kernel == 1 && win.stride == 1 && win.rows.pad_before == 0 && win.cols.pad_before == 0;
}

// Elements of the im2col matrix of one image of `in_shape`: (H' * W') x (k * k * Cin).
inline Index im2col_size(const Shape& in_shape, const Window2D& win) {
  return win.rows.out * win.cols.out * win.kernel * win.kernel * in_shape.c;
}

// in:      H x W x Cin (one image of in_shape; in_shape.n is ignored)
// columns: (H' * W') x (k * k * Cin), row-major. Row p holds the receptive field of output
//          pixel p in (ky, kx, ci) order, the order of HWIO weights flattened to
//          (k * k * Cin) x Cout; taps in the padding are zeros.
template <typename T>
void im2col(const T* in, const Shape& in_shape, const Window2D& win, T* columns) {
  const Index cin = in_shape.c, k = win.kernel, s = win.stride;
  assert(in && columns && cin > 0 && k > 0 && s > 0);
  const Index row_taps = k * cin;  // one kernel row: k pixels, contiguous in NHWC
  T* dst = columns;
  for (Index oy = 0; oy < win.rows.out; ++oy) {
    for (Index ox = 0; ox < win.cols.out; ++ox) {
      const Index x0 = ox * s - win.cols.pad_before;
      const bool row_inside = x0 >= 0 && x0 + k <= in_shape.w;
      for (Index ky = 0; ky < k; ++ky, dst += row_taps) {
        const Index iy = oy * s - win.rows.pad_before + ky;
        if (iy < 0 || iy >= in_shape.h) {
          std::fill(dst, dst + row_taps, T(0));
          continue;
        }
        const T* src_row = in + iy * in_shape.w * cin;
        if (row_inside) {
          std::copy(src_row + x0 * cin, src_row + (x0 + k) * cin, dst);
          continue;
        }
        for (Index kx = 0; kx < k; ++kx) {
          const Index ix = x0 + kx;
          T* tap = dst + kx * cin;
          if (ix < 0 || ix >= in_shape.w)
            std::fill(tap, tap + cin, T(0));
          else
            std::copy(src_row + ix * cin, src_row + (ix + 1) * cin, tap);
        }
      }
    }
  }
}

// in:      N x H x W x Cin
// columns: im2col_size(in_shape, win) elements, the caller's scratch (reused image by image;
//          may be nullptr when im2col_is_identity(win))
// out:     N x H' x W' x Cout
// gemm(a, rows, c) computes c[rows x Cout] = activation(a[rows x k*k*Cin] * W + bias) with the
// layer's weights W ((k*k*Cin) x Cout, HWIO flattened) bound in, in whatever layout it uses.
template <typename T, typename BoundGemm>
void conv2d_im2col_with(const T* in, const Shape& in_shape, const Window2D& win, T* columns,
                        Index out_channels, T* out, BoundGemm&& gemm) {
  const bool identity = im2col_is_identity(win);
  assert(in && out && (columns || identity) && out_channels > 0);
  const Index pixels = win.rows.out * win.cols.out;
  const Index in_image = in_shape.h * in_shape.w * in_shape.c;
  for (Index n = 0; n < in_shape.n; ++n) {
    const T* image = in + n * in_image;
    if (!identity) im2col(image, in_shape, win, columns);
    gemm(identity ? image : columns, pixels, out + n * pixels * out_channels);
  }
}

// The same with HWIO weights as they are, through Eigen's matrix product:
// weights: k x k x Cin x Cout (HWIO); bias: Cout, or nullptr
// out = activation(conv(in) + bias), as conv2d_reference followed by the activation.
template <typename T>
void conv2d_im2col(const T* in, const Shape& in_shape, const T* weights, const T* bias,
                   Index out_channels, const Window2D& win, Activation activation, T* columns, T* out) {
  assert(weights);
  const Index depth = win.kernel * win.kernel * in_shape.c;
  conv2d_im2col_with(in, in_shape, win, columns, out_channels, out, [&](const T* a, Index rows, T* c) {
    pointwise_eigen(a, rows, depth, weights, bias, out_channels, c);
    activation_inplace(c, rows * out_channels, activation);
  });
}

}  // namespace kernels
}  // namespace mobilenet

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
//          (k * k * Cin) x Cout; taps in the padding are `pad` (zero; a quantized input's zero
//          point, so that they count as real zeros).
// Only output rows [row_begin, row_end): `columns` receives their rows, starting with
// row_begin's first pixel (a band of a larger image, as the execution plan's stem uses).
// `row_stride` (0: k * k * Cin) spaces the rows further apart, the gap filled with `pad`: a
// GEMM whose depth is a whole number of its groups then needs no tail.
template <typename T>
void im2col_rows(const T* in, const Shape& in_shape, const Window2D& win, Index row_begin,
                 Index row_end, T* columns, T pad = T(0), Index row_stride = 0) {
  const Index cin = in_shape.c, k = win.kernel, s = win.stride;
  const Index in_h = in_shape.h, in_w = in_shape.w, pad_top = win.rows.pad_before,
              pad_left = win.cols.pad_before, out_w = win.cols.out;
  assert(in && columns && cin > 0 && k > 0 && s > 0);
  assert(0 <= row_begin && row_begin <= row_end && row_end <= win.rows.out);
  // One kernel row is k pixels, k * Cin values contiguous in NHWC. Plain loops rather than
  // std::copy/std::fill: the runs are short (9 floats for the stem), and the sizes are
  // copied into locals so the compiler need not reload them after every store.
  const Index span = k * cin, gap = row_stride > 0 ? row_stride - k * span : 0;
  assert(gap >= 0);
  T* row = columns;
  for (Index oy = row_begin; oy < row_end; ++oy)
    for (Index ox = 0; ox < out_w; ++ox, row += gap) {
      for (Index i = 0; i < gap; ++i) row[k * span + i] = pad;
      const Index x0 = ox * s - pad_left;
      for (Index ky = 0; ky < k; ++ky, row += span) {
        const Index iy = oy * s - pad_top + ky;
        if (iy < 0 || iy >= in_h) {
          for (Index i = 0; i < span; ++i) row[i] = pad;
        } else if (x0 >= 0 && x0 + k <= in_w) {
          const T* src = in + (iy * in_w + x0) * cin;
          for (Index i = 0; i < span; ++i) row[i] = src[i];
        } else {  // the window overhangs the left or right edge: padding there
          for (Index i = 0; i < span; ++i) {
            const Index ix = x0 + i / cin;
            row[i] = ix >= 0 && ix < in_w ? in[(iy * in_w + ix) * cin + i % cin] : pad;
          }
        }
      }
    }
}

// Every output row.
template <typename T>
void im2col(const T* in, const Shape& in_shape, const Window2D& win, T* columns) {
  im2col_rows(in, in_shape, win, 0, win.rows.out, columns);
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

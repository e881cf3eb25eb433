// SPDX-License-Identifier: MIT
#pragma once
// The 8-bit stem's im2col: what im2col_rows (kernels/conv2d_im2col.hpp, its reference twin)
// gives for a uint8 image with rows of `depth` bytes, every image byte xor `flip` (0x80 takes
// an int8 image into the internal uint8 domain) and `fill` in the padding and the gap.
// Interior windows move each of their k rows of k * Cin <= 16 bytes as one 16-byte copy that
// runs on into the bytes after it, which the later copies of the same or the next window
// overwrite: windows are written in order, and the call's last window, windows at the image's
// edges and copies that would read past the image take the byte loop.

#include <cassert>
#include <cstdint>
#include <cstring>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/shape.hpp"

namespace mobilenet {
namespace kernels {
namespace detail {

// 16 bytes from src to dst, each xor the byte repeated in flip8.
inline void copy16_flipped(const std::uint8_t* src, std::uint8_t* dst, std::uint64_t flip8) {
  std::uint64_t low, high;
  std::memcpy(&low, src, 8);
  std::memcpy(&high, src + 8, 8);
  low ^= flip8, high ^= flip8;
  std::memcpy(dst, &low, 8);
  std::memcpy(dst + 8, &high, 8);
}

}  // namespace detail

// in: one in_shape image (in_shape.n ignored); columns: (row_end - row_begin) * W' rows of
// `depth` >= k * k * Cin bytes. Output rows [row_begin, row_end) of the window.
inline void im2col_rows_u8(const std::uint8_t* in, const Shape& in_shape, const Window2D& win, Index row_begin,
                           Index row_end, std::uint8_t* columns, Index depth, std::uint8_t fill, std::uint8_t flip) {
  const Index cin = in_shape.c, k = win.kernel, s = win.stride, in_h = in_shape.h, in_w = in_shape.w;
  const Index span = k * cin, out_w = win.cols.out, image_bytes = in_h * in_w * cin;
  assert(in && columns && depth >= k * span && 0 <= row_begin && row_begin <= row_end && row_end <= win.rows.out);
  const bool copies = span <= 16 && (k - 1) * span + 16 <= 2 * depth;  // a run-on stays in the next window
  const std::uint64_t flip8 = 0x0101010101010101u * flip;
  const Index last = (row_end - row_begin) * out_w - 1;
  std::uint8_t* row = columns;
  Index p = 0;
  for (Index oy = row_begin; oy < row_end; ++oy)
    for (Index ox = 0; ox < out_w; ++ox, ++p, row += depth) {
      const Index x0 = ox * s - win.cols.pad_before;
      const bool interior = copies && p < last && x0 >= 0 && x0 + k <= in_w;
      for (Index ky = 0; ky < k; ++ky) {
        const Index iy = oy * s - win.rows.pad_before + ky;
        std::uint8_t* dst = row + ky * span;
        const Index at = (iy * in_w + x0) * cin;
        if (interior && (iy < 0 || iy >= in_h)) {
          std::memset(dst, fill, 16);
        } else if (interior && at + 16 <= image_bytes) {
          detail::copy16_flipped(in + at, dst, flip8);
        } else {
          for (Index i = 0; i < span; ++i) {
            const Index ix = x0 + i / cin;
            const bool inside = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
            dst[i] = inside ? static_cast<std::uint8_t>(in[(iy * in_w + ix) * cin + i % cin] ^ flip) : fill;
          }
        }
      }
      for (Index i = k * span; i < depth; ++i) row[i] = fill;
    }
}

}  // namespace kernels
}  // namespace mobilenet

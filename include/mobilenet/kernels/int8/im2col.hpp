// SPDX-License-Identifier: MIT
#pragma once
// The 8-bit stem's im2col: what im2col_rows (kernels/conv2d_im2col.hpp, its reference twin)
// gives for a uint8 image with rows of `depth` bytes, every image byte xor `flip` (0x80 takes
// an int8 image into the internal uint8 domain) and `fill` in the padding and the gap.
// Interior windows move each of their k rows of k * Cin <= 16 bytes as one 16-byte copy, and
// fill a gap of at most 4 bytes with one 4-byte store, that run on into the bytes after them,
// which the later copies of the same or the next window overwrite: windows are written in
// order, and the call's last window, windows at the image's edges and copies that would read
// past the image take the byte loops.

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <utility>

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

namespace detail {

// Window (oy, ox)'s row of `depth` bytes, byte by byte.
inline void im2col_window_bytes(const std::uint8_t* in, const Shape& in_shape, const Window2D& win, Index oy,
                                Index ox, std::uint8_t* row, Index depth, std::uint8_t fill, std::uint8_t flip) {
  const Index cin = in_shape.c, k = win.kernel, span = k * cin;
  const Index x0 = ox * win.stride - win.cols.pad_before;
  for (Index ky = 0; ky < k; ++ky) {
    const Index iy = oy * win.stride - win.rows.pad_before + ky;
    for (Index i = 0; i < span; ++i) {
      const Index ix = x0 + i / cin;
      const bool inside = iy >= 0 && iy < in_shape.h && ix >= 0 && ix < in_shape.w;
      row[ky * span + i] = inside ? static_cast<std::uint8_t>(in[(iy * in_shape.w + ix) * cin + i % cin] ^ flip) : fill;
    }
  }
  for (Index i = k * span; i < depth; ++i) row[i] = fill;
}


// The output columns [first, end) whose windows lie inside the image's columns
// (x0 = ox * stride - pad_before >= 0 and x0 + k <= W); first == end when there are none.
inline std::pair<Index, Index> im2col_interior_columns(const Window2D& win, Index in_w) {
  const Index k = win.kernel, s = win.stride, pad = win.cols.pad_before, out_w = win.cols.out;
  const Index first = std::min(out_w, (pad + s - 1) / s);
  const Index end = in_w - k + pad < 0 ? first : std::max(first, std::min(out_w, (in_w - k + pad) / s + 1));
  return {first, end};
}

}  // namespace detail

// in: one in_shape image (in_shape.n ignored); columns: (row_end - row_begin) * W' rows of
// `depth` >= k * k * Cin bytes. Output rows [row_begin, row_end) of the window.
inline void im2col_rows_u8(const std::uint8_t* in, const Shape& in_shape, const Window2D& win, Index row_begin,
                           Index row_end, std::uint8_t* columns, Index depth, std::uint8_t fill, std::uint8_t flip) {
  const Index cin = in_shape.c, k = win.kernel, s = win.stride, in_h = in_shape.h, in_w = in_shape.w;
  const Index span = k * cin, out_w = win.cols.out, gap = depth - k * span;
  assert(in && columns && gap >= 0 && 0 <= row_begin && row_begin <= row_end && row_end <= win.rows.out);
  constexpr Index kMaxCopiedRows = 8;
  // A run-on stays within the next window.
  const bool copies = k <= kMaxCopiedRows && span <= 16 && (k - 1) * span + 16 <= 2 * depth && gap <= 4;
  const std::uint64_t flip8 = 0x0101010101010101u * flip;
  const std::uint32_t fill4 = 0x01010101u * fill;
  const std::uint8_t* const image_end = in + in_h * in_w * cin;
  const Index pad = win.cols.pad_before;
  const auto [first_inside, end_inside] = detail::im2col_interior_columns(win, in_w);
  std::uint8_t* row = columns;
  for (Index oy = row_begin; oy < row_end; ++oy) {
    // The call's last window takes the byte loop: nothing may run on past the columns.
    const Index fast_end = copies ? (oy + 1 == row_end ? std::min(end_inside, out_w - 1) : end_inside) : first_inside;
    const std::uint8_t* src[kMaxCopiedRows] = {};  // window row ky's first byte at x0 = 0, or null (padding)
    for (Index ky = 0; copies && ky < k; ++ky) {
      const Index iy = oy * s - win.rows.pad_before + ky;
      src[ky] = iy >= 0 && iy < in_h ? in + iy * in_w * cin : nullptr;
    }
    for (Index ox = 0; ox < out_w; ++ox, row += depth) {
      if (ox < first_inside || ox >= fast_end) {
        detail::im2col_window_bytes(in, in_shape, win, oy, ox, row, depth, fill, flip);
        continue;
      }
      const Index offset = (ox * s - pad) * cin;
      bool bytes = false;
      for (Index ky = 0; ky < k; ++ky) {
        std::uint8_t* dst = row + ky * span;
        if (src[ky] == nullptr) std::memset(dst, fill, 16);
        else if (src[ky] + offset + 16 <= image_end) detail::copy16_flipped(src[ky] + offset, dst, flip8);
        else bytes = true;  // the image's last bytes
      }
      if (bytes) detail::im2col_window_bytes(in, in_shape, win, oy, ox, row, depth, fill, flip);
      else std::memcpy(row + k * span, &fill4, 4);
    }
  }
}

}  // namespace kernels
}  // namespace mobilenet

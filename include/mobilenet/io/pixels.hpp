// SPDX-License-Identifier: MIT
#pragma once
// Raw camera and video pixels in: 8-bit RGB, BGR, RGBA, BGRA, grayscale, and NV21/NV12
// (Android's camera formats) with a row stride, preprocessed straight into the network's input.
//
// The central crop and the resize of io/preprocess.hpp read the source pixels where they lie:
// there is no full-size RGB copy, and the result is bit for bit what io::preprocess gives for
// the same pixels held as an io::Image (tests/test_pixels.cpp). Alpha is ignored; grayscale
// becomes R = G = B.
//
// NV21 and NV12: a full-resolution luma (Y) plane, then one chroma plane of ceil(H/2) rows of
// ceil(W/2) interleaved pairs, V then U (NV21) or U then V (NV12). Pixel (x, y) takes the
// chroma pair (x/2, y/2) (nearest, no chroma interpolation). YCbCr -> RGB is BT.601 full range
// (JFIF, what Android's camera NV21 uses), computed exactly as libjpeg does (16-bit fixed point,
// rounded, clamped to 0..255): see yuv_to_rgb.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/io/preprocess.hpp"
#include "mobilenet/io/rgb_image.hpp"

namespace mobilenet {
namespace io {

enum class PixelFormat { RGB, BGR, RGBA, BGRA, Gray, NV21, NV12 };

inline const char* pixel_format_name(PixelFormat format) {
  switch (format) {
    case PixelFormat::RGB: return "RGB";
    case PixelFormat::BGR: return "BGR";
    case PixelFormat::RGBA: return "RGBA";
    case PixelFormat::BGRA: return "BGRA";
    case PixelFormat::Gray: return "Gray";
    case PixelFormat::NV21: return "NV21";
    case PixelFormat::NV12: return "NV12";
  }
  return "unknown";
}

// Bytes per pixel of the (first) plane: 3, 3, 4, 4, 1, and 1 for the luma plane of NV21/NV12.
inline Index bytes_per_pixel(PixelFormat format) {
  switch (format) {
    case PixelFormat::RGB:
    case PixelFormat::BGR: return 3;
    case PixelFormat::RGBA:
    case PixelFormat::BGRA: return 4;
    default: return 1;
  }
}

inline bool is_yuv(PixelFormat format) { return format == PixelFormat::NV21 || format == PixelFormat::NV12; }

// A view of pixels someone else owns (a camera buffer, a video frame): nothing is copied.
// Rows are top to bottom, `stride` bytes apart (at least width * bytes_per_pixel; 0 means
// exactly that). `size` is the number of bytes readable at `data`; the last row need not be
// padded to the stride. For NV21/NV12 the chroma plane follows the luma plane at
// data + height * stride with the same stride, unless `chroma` points elsewhere (Android's
// Image planes), with its own `chroma_size` and `chroma_stride` (0: `stride`).
struct Pixels {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  Index width = 0;
  Index height = 0;
  PixelFormat format = PixelFormat::RGB;
  Index stride = 0;
  const std::uint8_t* chroma = nullptr;
  std::size_t chroma_size = 0;
  Index chroma_stride = 0;

  Pixels() = default;
  Pixels(const std::uint8_t* data_, std::size_t size_, Index width_, Index height_, PixelFormat format_,
         Index stride_ = 0)
      : data(data_), size(size_), width(width_), height(height_), format(format_), stride(stride_) {}
};

// Largest frame accepted: 2^28 pixels (16384 x 16384), as for decoded image files.
inline constexpr Index kMaxPixelsFrame = Index(1) << 28;

// BT.601 full-range (JFIF) YCbCr -> RGB, libjpeg's fixed point: R = Y + 1.402 (V - 128),
// G = Y - 0.344136 (U - 128) - 0.714136 (V - 128), B = Y + 1.772 (U - 128), each rounded to
// nearest and clamped to 0..255. The offset keeps the shifted values non-negative.
inline std::array<std::uint8_t, 3> yuv_to_rgb(int y, int u, int v) {
  constexpr int kOffset = (256 << 16) + (1 << 15);  // +256 before the shift, and one half
  const int d = u - 128, e = v - 128, base = (y << 16) + kOffset;
  auto channel = [](int fixed) {
    return static_cast<std::uint8_t>(std::clamp((fixed >> 16) - 256, 0, 255));
  };
  return {channel(base + 91881 * e), channel(base - 22554 * d - 46802 * e), channel(base + 116130 * d)};
}

namespace detail {
using mobilenet::detail::concat;  // io::detail would otherwise hide these
using mobilenet::detail::shape_to_string;

// The checked geometry of a Pixels view: strides resolved, the chroma plane located.
struct Frame {
  const std::uint8_t* data;
  Index width, height, stride, pixel_bytes;
  const std::uint8_t* chroma;
  Index chroma_stride;
};

inline std::size_t plane_bytes(Index rows, Index stride, Index row_bytes) {
  return static_cast<std::size_t>((rows - 1) * stride + row_bytes);
}

// Throws ShapeError naming what is wrong: no data, a size out of range, a stride shorter than a
// row, or fewer bytes than the frame covers.
inline Frame checked(const Pixels& px) {
  const char* name = pixel_format_name(px.format);
  if (px.width < 1 || px.height < 1 || px.width > kMaxPixelsFrame || px.height > kMaxPixelsFrame ||
      px.width * px.height > kMaxPixelsFrame)
    throw ShapeError(detail::concat("pixels: ", name, " frame of ", px.width, " x ", px.height,
                                    " pixels; expected at least 1 x 1 and at most ", kMaxPixelsFrame, " pixels"));
  if (!px.data) throw ShapeError(detail::concat("pixels: ", name, " frame has no data (nullptr)"));
  const Index pixel_bytes = bytes_per_pixel(px.format);
  const Index row_bytes = px.width * pixel_bytes;
  const Index stride = px.stride == 0 ? row_bytes : px.stride;
  if (stride < row_bytes || stride > (Index(1) << 31))
    throw ShapeError(detail::concat("pixels: ", name, " stride of ", px.stride, " bytes for rows of ", px.width,
                                    " pixels x ", pixel_bytes, " bytes = ", row_bytes,
                                    " bytes; expected at least the row and at most 2^31"));
  Frame f{px.data, px.width, px.height, stride, pixel_bytes, nullptr, 0};
  std::size_t needed = plane_bytes(px.height, stride, row_bytes);
  if (is_yuv(px.format)) {
    const Index chroma_rows = (px.height + 1) / 2, chroma_row_bytes = 2 * ((px.width + 1) / 2);
    f.chroma_stride = px.chroma_stride == 0 ? stride : px.chroma_stride;
    if (f.chroma_stride < chroma_row_bytes || f.chroma_stride > (Index(1) << 31))
      throw ShapeError(detail::concat("pixels: ", name, " chroma stride of ", f.chroma_stride, " bytes; a chroma row of ",
                                      px.width, " pixels takes ", chroma_row_bytes, " bytes"));
    const std::size_t chroma_needed = plane_bytes(chroma_rows, f.chroma_stride, chroma_row_bytes);
    if (px.chroma) {
      f.chroma = px.chroma;
      if (px.chroma_size < chroma_needed)
        throw ShapeError(detail::concat("pixels: ", name, " chroma plane of ", px.chroma_size, " bytes; ",
                                        chroma_rows, " rows of ", chroma_row_bytes, " bytes ", f.chroma_stride,
                                        " apart need ", chroma_needed));
    } else {
      f.chroma = px.data + px.height * stride;
      needed = static_cast<std::size_t>(px.height * stride) + chroma_needed;
    }
  }
  if (px.size < needed)
    throw ShapeError(detail::concat("pixels: ", name, " frame of ", px.width, " x ", px.height, " with stride ",
                                    stride, " needs ", needed, " bytes", is_yuv(px.format) && !px.chroma ? " (luma, then chroma)" : "",
                                    ", got ", px.size));
  return f;
}

// Calls f(sample) with sample(y, x) -> std::array<uint8_t, 3> (R, G, B) for the frame's format,
// so each format gets its own loop without a switch per pixel.
template <typename F>
void with_sampler(const Frame& f, PixelFormat format, F&& use) {
  using Rgb = std::array<std::uint8_t, 3>;
  auto row = [&f](Index y) { return f.data + y * f.stride; };
  switch (format) {
    case PixelFormat::RGB:
      return use([&](Index y, Index x) { const std::uint8_t* p = row(y) + 3 * x; return Rgb{p[0], p[1], p[2]}; });
    case PixelFormat::BGR:
      return use([&](Index y, Index x) { const std::uint8_t* p = row(y) + 3 * x; return Rgb{p[2], p[1], p[0]}; });
    case PixelFormat::RGBA:
      return use([&](Index y, Index x) { const std::uint8_t* p = row(y) + 4 * x; return Rgb{p[0], p[1], p[2]}; });
    case PixelFormat::BGRA:
      return use([&](Index y, Index x) { const std::uint8_t* p = row(y) + 4 * x; return Rgb{p[2], p[1], p[0]}; });
    case PixelFormat::Gray:
      return use([&](Index y, Index x) { const std::uint8_t v = row(y)[x]; return Rgb{v, v, v}; });
    case PixelFormat::NV21:
    case PixelFormat::NV12: {
      const Index u_at = format == PixelFormat::NV12 ? 0 : 1;  // NV21 is V, U
      return use([&f, row, u_at](Index y, Index x) {
        const std::uint8_t* pair = f.chroma + (y / 2) * f.chroma_stride + 2 * (x / 2);
        return yuv_to_rgb(row(y)[x], pair[u_at], pair[1 - u_at]);
      });
    }
  }
}

}  // namespace detail

// in: one frame, any size and format -> out: 1 x R x R x 3 float, R = out.shape().h, written in
// place (a slot of a batch: tensor.view().batch(i)). Throws ShapeError for a bad frame.
inline void preprocess_into(const Pixels& pixels, const Preprocessing& p, TensorView<float> out) {
  const detail::Frame frame = detail::checked(pixels);
  detail::with_sampler(frame, pixels.format, [&](const auto& sample) {
    detail::resample_into(frame.width, frame.height, sample, p, out);
  });
}

// in: one frame -> out: 1 x R x R x 3 float
inline Tensor<float> preprocess(const Pixels& pixels, Index resolution, const Preprocessing& p) {
  Tensor<float> out(Shape(1, resolution, resolution, 3));
  preprocess_into(pixels, p, out.view());
  return out;
}

// in: one frame -> out: height x width x 3 (uint8 RGB), the whole frame converted (for saving
// or showing a frame; classification does not need it).
inline Image to_image(const Pixels& pixels) {
  const detail::Frame frame = detail::checked(pixels);
  Image image;
  image.width = frame.width;
  image.height = frame.height;
  image.pixels.reserve(static_cast<std::size_t>(frame.width * frame.height * 3));
  detail::with_sampler(frame, pixels.format, [&](const auto& sample) {
    for (Index y = 0; y < frame.height; ++y)
      for (Index x = 0; x < frame.width; ++x) {
        const std::array<std::uint8_t, 3> rgb = sample(y, x);
        image.pixels.insert(image.pixels.end(), rgb.begin(), rgb.end());
      }
  });
  return image;
}

}  // namespace io
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#pragma once
// How images must be prepared for a given set of weights. TensorFlow-trained weights (TF-slim,
// TFLite, Keras) expect RGB scaled to [-1, 1] after a central crop; PyTorch-trained weights
// expect ImageNet mean/std normalisation.
//
// The functions below turn a decoded photo (io::Image) into the network's input:
//   TensorFlow: keep the central 87.5% of the height and of the width, resize bilinearly
//     (TF's resize_bilinear, half_pixel_centers=False) to R x R, scale to [-1, 1].
//   MeanStd: resize the shorter side to R / 0.875 (256 for 224) with half-pixel bilinear
//     sampling (PyTorch's interpolate, no antialias), keep the central R x R, scale to [0, 1],
//     subtract the mean, divide by the std.

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/io/rgb_image.hpp"

namespace mobilenet {
namespace io {

struct Preprocessing {
  enum class Mode {
    TensorFlow,  // central crop, bilinear resize, x / 127.5 - 1
    MeanStd,     // resize, centre crop, (x / 255 - mean) / std
  };
  Mode mode = Mode::TensorFlow;
  double central_fraction = 0.875;  // the share of height and of width kept by the crop
  std::array<float, 3> mean{{0.5f, 0.5f, 0.5f}};  // RGB, on the [0, 1] scale
  std::array<float, 3> std{{0.5f, 0.5f, 0.5f}};

  // TF-slim's evaluation preprocessing: keep the central 87.5%, resize, scale to [-1, 1]
  // (which is (x / 255 - 0.5) / 0.5).
  static Preprocessing tensorflow() { return Preprocessing{}; }
  // torchvision's ImageNet evaluation transform: resize the shorter side to R / 0.875, centre
  // crop R, normalise with the ImageNet mean and standard deviation.
  static Preprocessing torch() {
    Preprocessing p;
    p.mode = Mode::MeanStd;
    p.mean = {{0.485f, 0.456f, 0.406f}};
    p.std = {{0.229f, 0.224f, 0.225f}};
    return p;
  }
};

namespace preprocess_detail {

// One output coordinate's two source samples and the weight of the second.
struct Tap {
  Index low = 0, high = 0;
  float weight = 0;  // of `high`
};

// TensorFlow's resize_bilinear with align_corners=False and half_pixel_centers=False (what
// TF-slim's evaluation calls): source = out * (in / out), no half-pixel shift.
inline std::vector<Tap> taps_tensorflow(Index in, Index out, Index offset) {
  std::vector<Tap> taps(static_cast<std::size_t>(out));
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (Index i = 0; i < out; ++i) {
    const float source = static_cast<float>(i) * scale;
    const Index low = static_cast<Index>(std::floor(source));
    taps[std::size_t(i)] = {offset + low, offset + std::min(low + 1, in - 1),
                            source - static_cast<float>(low)};
  }
  return taps;
}

// PyTorch's bilinear interpolate with align_corners=False (half-pixel centres, no antialias):
// source = (out + 0.5) * (in / resized) - 0.5, clamped at 0, for output pixels `first`,
// `first + 1`, ... of an image resized from `in` to `resized` samples.
inline std::vector<Tap> taps_half_pixel(Index in, Index resized, Index first, Index count) {
  std::vector<Tap> taps(static_cast<std::size_t>(count));
  const float scale = static_cast<float>(in) / static_cast<float>(resized);
  for (Index i = 0; i < count; ++i) {
    const float source =
        std::max(0.0f, (static_cast<float>(first + i) + 0.5f) * scale - 0.5f);
    const Index low = std::min(static_cast<Index>(source), in - 1);
    taps[std::size_t(i)] = {low, std::min(low + 1, in - 1), source - static_cast<float>(low)};
  }
  return taps;
}

}  // namespace preprocess_detail

// TensorFlow's tf.image.central_crop arithmetic for one side: the first kept row (or column)
// and how many are kept. The margin is int((size - size * fraction) / 2), kept on both sides.
struct CentralCrop {
  Index start = 0;
  Index size = 0;
};
inline CentralCrop central_crop(Index size, double fraction) {
  const double whole = static_cast<double>(size);
  const Index start = static_cast<Index>((whole - whole * fraction) / 2);
  return {start, size - 2 * start};
}

// in: one image, height x width x 3 (uint8 RGB)
// out: 1 x R x R x 3 float, R = out.shape().h = out.shape().w, written in place (a slot of a
// batch tensor works: pass tensor.view().batch(i)).
inline void preprocess_into(const Image& image, const Preprocessing& p, TensorView<float> out) {
  using namespace preprocess_detail;
  if (out.shape().n != 1 || out.shape().h != out.shape().w || out.shape().c != 3 || out.shape().h < 1)
    throw ShapeError(detail::concat("preprocess: output must be 1 x R x R x 3, got ", out.shape().str()));
  if (image.width < 1 || image.height < 1 ||
      image.pixels.size() != static_cast<std::size_t>(image.width * image.height * 3))
    throw ShapeError(detail::concat("preprocess: image of ", image.width, " x ", image.height,
                                    " with ", image.pixels.size(), " bytes is not a valid RGB image"));
  if (!(p.central_fraction > 0 && p.central_fraction <= 1))
    throw ConfigError(detail::concat("preprocess: central_fraction must be in (0, 1], got ",
                                     p.central_fraction));
  for (float s : p.std)
    if (!(s != 0) || !std::isfinite(s))
      throw ConfigError(detail::concat("preprocess: std must be finite and non-zero, got ", s));

  const Index resolution = out.shape().h;
  std::vector<Tap> rows, columns;
  if (p.mode == Preprocessing::Mode::TensorFlow) {
    const CentralCrop crop_y = central_crop(image.height, p.central_fraction);
    const CentralCrop crop_x = central_crop(image.width, p.central_fraction);
    rows = taps_tensorflow(crop_y.size, resolution, crop_y.start);
    columns = taps_tensorflow(crop_x.size, resolution, crop_x.start);
  } else {
    // torchvision Resize(int): the shorter side becomes `shorter`, the longer keeps the
    // aspect ratio (truncated); CenterCrop: offset round((size - R) / 2) (half to even, as
    // Python's round).
    const Index shorter = std::max<Index>(
        resolution, static_cast<Index>(std::floor(static_cast<double>(resolution) / p.central_fraction)));
    const bool tall = image.height >= image.width;
    const Index short_side = tall ? image.width : image.height;
    const Index long_side = tall ? image.height : image.width;
    const Index longer = static_cast<Index>(static_cast<double>(shorter) *
                                            static_cast<double>(long_side) / static_cast<double>(short_side));
    const Index resized_h = tall ? longer : shorter;
    const Index resized_w = tall ? shorter : longer;
    const Index top = static_cast<Index>(std::nearbyint(static_cast<double>(resized_h - resolution) / 2));
    const Index left = static_cast<Index>(std::nearbyint(static_cast<double>(resized_w - resolution) / 2));
    rows = taps_half_pixel(image.height, resized_h, top, resolution);
    columns = taps_half_pixel(image.width, resized_w, left, resolution);
  }

  std::array<float, 3> scale, shift;  // x' = x * scale + shift on 0..255 values
  for (int c = 0; c < 3; ++c) {
    scale[c] = 1.0f / (255.0f * p.std[c]);
    shift[c] = -p.mean[c] / p.std[c];
  }
  float* dst = out.data();
  for (const Tap& row : rows) {
    for (const Tap& column : columns) {
      for (Index c = 0; c < 3; ++c) {
        const float top_left = image.at(row.low, column.low, c);
        const float top_right = image.at(row.low, column.high, c);
        const float bottom_left = image.at(row.high, column.low, c);
        const float bottom_right = image.at(row.high, column.high, c);
        const float top = top_left + (top_right - top_left) * column.weight;
        const float bottom = bottom_left + (bottom_right - bottom_left) * column.weight;
        const float value = top + (bottom - top) * row.weight;
        *dst++ = value * scale[std::size_t(c)] + shift[std::size_t(c)];
      }
    }
  }
}

// in: one image, height x width x 3 (uint8 RGB) -> out: 1 x R x R x 3 float
inline Tensor<float> preprocess(const Image& image, Index resolution, const Preprocessing& p) {
  Tensor<float> out(Shape(1, resolution, resolution, 3));
  preprocess_into(image, p, out.view());
  return out;
}

// in: N images of any sizes -> out: N x R x R x 3 float
inline Tensor<float> preprocess(const std::vector<Image>& images, Index resolution,
                                const Preprocessing& p) {
  Tensor<float> out(Shape(static_cast<Index>(images.size()), resolution, resolution, 3));
  for (std::size_t i = 0; i < images.size(); ++i)
    preprocess_into(images[i], p, out.view().batch(static_cast<Index>(i)));
  return out;
}

}  // namespace io
}  // namespace mobilenet

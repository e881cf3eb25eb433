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
#include <cstdint>
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
  // How the resize filters. true: bilinear widened by the shrink factor (a triangle filter
  // over every source pixel an output pixel covers), as PIL's BILINEAR, torchvision on PIL
  // images and TF2's tf.image.resize(antialias=True) do; shrinking a photo 3x then keeps the
  // detail it averages instead of sampling 4 of 9 pixels. false: plain 2 x 2 bilinear, exactly
  // TF1's resize_bilinear(half_pixel_centers=False) in TensorFlow mode (TF-slim's evaluation
  // code) and torch interpolate(bilinear, antialias=False) in MeanStd mode. The expected
  // top-1 classes of the shared test photos were made with the filtered resize: with plain
  // bilinear, the 0.25/128 model calls the cat a tiger cat.
  bool antialias = true;

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

namespace detail {
using mobilenet::detail::concat;  // io::detail would otherwise hide these
using mobilenet::detail::shape_to_string;

// The source samples that make one output coordinate: weights[k] applies to first + k.
struct Taps {
  Index first = 0;
  std::vector<float> weights;
};

// Two-tap linear interpolation at `source` (clamped to the edge), as both TF1 and PyTorch do.
inline Taps linear_taps(float source, Index in) {
  const Index low = std::min(static_cast<Index>(std::floor(source)), in - 1);
  const float weight = source - static_cast<float>(low);
  if (low + 1 >= in) return {low, {1.0f}};
  return {low, {1.0f - weight, weight}};
}

// TF1 resize_bilinear, align_corners=False, half_pixel_centers=False: source = out * in / out.
// `offset` is the first source index (the crop's start).
inline std::vector<Taps> taps_tensorflow_legacy(Index in, Index out, Index offset) {
  std::vector<Taps> taps;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (Index i = 0; i < out; ++i) {
    Taps t = linear_taps(static_cast<float>(i) * scale, in);
    t.first += offset;
    taps.push_back(std::move(t));
  }
  return taps;
}

// PyTorch's interpolate(bilinear, align_corners=False, antialias=False): half-pixel centres,
// source = (out + 0.5) * in / resized - 0.5 clamped at 0, for output pixels first .. first+count-1
// of the `in` samples resized to `resized`.
inline std::vector<Taps> taps_half_pixel(Index in, Index resized, Index first, Index count) {
  std::vector<Taps> taps;
  const float scale = static_cast<float>(in) / static_cast<float>(resized);
  for (Index i = 0; i < count; ++i)
    taps.push_back(linear_taps(std::max(0.0f, (static_cast<float>(first + i) + 0.5f) * scale - 0.5f), in));
  return taps;
}

// PIL's BILINEAR resampling (the triangle filter, widened by the shrink factor): the samples
// [offset, offset + in) resized to `resized`, output pixels first .. first+count-1.
inline std::vector<Taps> taps_antialias(Index in, Index resized, Index first, Index count, Index offset) {
  std::vector<Taps> taps;
  const double scale = static_cast<double>(in) / static_cast<double>(resized);
  const double widen = std::max(scale, 1.0);  // shrinking widens the filter
  const double support = widen;               // the triangle's half-width is 1 source pixel
  for (Index i = 0; i < count; ++i) {
    const double centre = (static_cast<double>(first + i) + 0.5) * scale;
    const Index low = std::max<Index>(0, static_cast<Index>(centre - support + 0.5));
    const Index high = std::min<Index>(in, static_cast<Index>(centre + support + 0.5));
    Taps t{offset + low, {}};
    double total = 0;
    std::vector<double> weights;
    for (Index x = low; x < high; ++x) {
      const double distance = std::abs((static_cast<double>(x) - centre + 0.5) / widen);
      weights.push_back(distance < 1 ? 1 - distance : 0);
      total += weights.back();
    }
    for (double w : weights) t.weights.push_back(static_cast<float>(total > 0 ? w / total : 0));
    if (t.weights.empty()) t.weights.push_back(1.0f), t.first = offset + std::min(low, in - 1);
    taps.push_back(std::move(t));
  }
  return taps;
}

}  // namespace detail

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

namespace detail {

// The crop, resize and scaling of preprocess_into over any source of RGB pixels (an Image, a
// camera frame): sample(y, x) -> {R, G, B}. One code path, so every source gives the same bits.
template <typename Sampler>
void resample_into(Index width, Index height, const Sampler& sample, const Preprocessing& p,
                   TensorView<float> out) {
  if (out.shape().n != 1 || out.shape().h != out.shape().w || out.shape().c != 3 || out.shape().h < 1)
    throw ShapeError(detail::concat("preprocess: output must be 1 x R x R x 3, got ", out.shape().str()));
  if (!(p.central_fraction > 0 && p.central_fraction <= 1))
    throw ConfigError(detail::concat("preprocess: central_fraction must be in (0, 1], got ", p.central_fraction));
  for (float s : p.std)
    if (!(s != 0) || !std::isfinite(s))
      throw ConfigError(detail::concat("preprocess: std must be finite and non-zero, got ", s));

  const Index resolution = out.shape().h;
  std::vector<Taps> rows, columns;
  if (p.mode == Preprocessing::Mode::TensorFlow) {
    const CentralCrop crop_y = central_crop(height, p.central_fraction);
    const CentralCrop crop_x = central_crop(width, p.central_fraction);
    if (p.antialias) {
      rows = taps_antialias(crop_y.size, resolution, 0, resolution, crop_y.start);
      columns = taps_antialias(crop_x.size, resolution, 0, resolution, crop_x.start);
    } else {
      rows = taps_tensorflow_legacy(crop_y.size, resolution, crop_y.start);
      columns = taps_tensorflow_legacy(crop_x.size, resolution, crop_x.start);
    }
  } else {
    const Index shorter = std::max<Index>(
        resolution, static_cast<Index>(std::floor(static_cast<double>(resolution) / p.central_fraction)));
    const bool tall = height >= width;
    const Index short_side = tall ? width : height;
    const Index long_side = tall ? height : width;
    const Index longer = static_cast<Index>(static_cast<double>(shorter) * static_cast<double>(long_side) /
                                            static_cast<double>(short_side));
    const Index resized_h = tall ? longer : shorter;
    const Index resized_w = tall ? shorter : longer;
    const Index top = static_cast<Index>(std::nearbyint(static_cast<double>(resized_h - resolution) / 2));
    const Index left = static_cast<Index>(std::nearbyint(static_cast<double>(resized_w - resolution) / 2));
    if (p.antialias) {
      rows = taps_antialias(height, resized_h, top, resolution, 0);
      columns = taps_antialias(width, resized_w, left, resolution, 0);
    } else {
      rows = taps_half_pixel(height, resized_h, top, resolution);
      columns = taps_half_pixel(width, resized_w, left, resolution);
    }
  }

  Index first_row = height, last_row = 0;
  for (const Taps& t : rows) {
    first_row = std::min(first_row, t.first);
    last_row = std::max(last_row, t.first + static_cast<Index>(t.weights.size()));
  }
  const Index row_values = resolution * 3;
  std::vector<float> horizontal(static_cast<std::size_t>((last_row - first_row) * row_values), 0.0f);
  for (Index y = first_row; y < last_row; ++y) {
    float* dst = &horizontal[static_cast<std::size_t>((y - first_row) * row_values)];
    for (const Taps& t : columns) {
      float sum[3] = {0, 0, 0};
      for (std::size_t k = 0; k < t.weights.size(); ++k) {
        const std::array<std::uint8_t, 3> rgb = sample(y, t.first + static_cast<Index>(k));
        for (std::size_t c = 0; c < 3; ++c) sum[c] += t.weights[k] * static_cast<float>(rgb[c]);
      }
      for (Index c = 0; c < 3; ++c) *dst++ = sum[c];
    }
  }
  std::array<float, 3> scale, shift;
  for (std::size_t c = 0; c < 3; ++c) {
    scale[c] = 1.0f / (255.0f * p.std[c]);
    shift[c] = -p.mean[c] / p.std[c];
  }
  float* dst = out.data();
  for (const Taps& t : rows) {
    for (Index i = 0; i < row_values; ++i) {
      float sum = 0;
      for (std::size_t k = 0; k < t.weights.size(); ++k)
        sum += t.weights[k] *
               horizontal[static_cast<std::size_t>((t.first - first_row + static_cast<Index>(k)) * row_values + i)];
      dst[i] = sum * scale[static_cast<std::size_t>(i % 3)] + shift[static_cast<std::size_t>(i % 3)];
    }
    dst += row_values;
  }
}

}  // namespace detail

// in: one image, height x width x 3 (uint8 RGB)
// out: 1 x R x R x 3 float, R = out.shape().h = out.shape().w, written in place (a slot of a
// batch tensor works: pass tensor.view().batch(i)).
inline void preprocess_into(const Image& image, const Preprocessing& p, TensorView<float> out) {
  if (image.width < 1 || image.height < 1 ||
      image.pixels.size() != static_cast<std::size_t>(image.width * image.height * 3))
    throw ShapeError(detail::concat("preprocess: image of ", image.width, " x ", image.height,
                                    " with ", image.pixels.size(), " bytes is not a valid RGB image"));
  const auto sample = [&image](Index y, Index x) {
    const std::uint8_t* rgb = &image.pixels[static_cast<std::size_t>((y * image.width + x) * 3)];
    return std::array<std::uint8_t, 3>{rgb[0], rgb[1], rgb[2]};
  };
  detail::resample_into(image.width, image.height, sample, p, out);
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

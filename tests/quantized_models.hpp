// SPDX-License-Identifier: MIT
#pragma once
// Random quantized MobileNetV1s for tests that need no file: every field of
// QuantizedMobileNetV1 filled as a loader would, with scales chosen so that activations spread
// over their range.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "mobilenet/core/quantization.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"
#include "mobilenet/model/quantized_mobilenet_v1.hpp"

namespace mobilenet {
namespace testing {

enum class WeightScheme {
  PerTensorUInt8,   // official files: asymmetric uint8 weights (stored - 128), one scale
  PerChannelInt8,   // TFLite's full-integer scheme: symmetric int8 weights, zero point 0
};

struct RandomQuantizedOptions {
  double alpha = 0.25;
  Index resolution = 32;
  Index classes = 17;
  bool classifier = true;
  bool softmax = true;
  WeightScheme scheme = WeightScheme::PerTensorUInt8;
  Padding padding = Padding::same();
  unsigned seed = 1;
};

namespace detail {

inline QuantizedConv random_conv(std::mt19937& rng, const std::string& name, Index in, Index out, Index kernel,
                                 Index stride, bool depthwise, QuantParams input, bool relu6,
                                 const RandomQuantizedOptions& o) {
  QuantizedConv c;
  c.name = name;
  c.in_channels = in, c.out_channels = out, c.kernel = kernel, c.stride = stride, c.depthwise = depthwise;
  const Index taps = kernel * kernel * (depthwise ? 1 : in);
  const Index count = depthwise ? kernel * kernel * in : out * taps;
  const bool per_channel = o.scheme == WeightScheme::PerChannelInt8;
  std::uniform_int_distribution<int> zp(-30, 30), bias(-2000, 2000);
  c.weight_zero_point = per_channel ? 0 : zp(rng);
  // Weights spread around their zero point, so that sums do not drift to one end.
  std::normal_distribution<float> weight(static_cast<float>(c.weight_zero_point), 40.0f);
  c.weights.resize(static_cast<std::size_t>(count));
  for (auto& w : c.weights) w = static_cast<std::int8_t>(std::min(127.0f, std::max(-128.0f, std::round(weight(rng)))));
  c.bias.resize(static_cast<std::size_t>(out));
  for (auto& b : c.bias) b = bias(rng);
  c.input = input;
  // ReLU6 outputs use all of uint8 for [0, 6] as the official files do; the classifier's
  // logits span about +-12 around zero point 128.
  c.output = relu6 ? QuantParams{6.0f / 255.0f, 0} : QuantParams{0.1f, 128};
  // Real multipliers s_in * s_w / s_out near 1 / (24 sqrt(taps)): activations average about 40
  // with some at both ends of the range, so that requantization and clamps all take part.
  const float target = 1.0f / (24.0f * std::sqrt(static_cast<float>(taps)));
  std::uniform_real_distribution<float> spread(0.7f, 1.4f);
  c.weight_scales.assign(per_channel ? static_cast<std::size_t>(out) : 1, 0.0f);
  for (float& s : c.weight_scales) s = target * c.output.scale / input.scale * spread(rng);
  for (Index j = 0; j < out; ++j) {
    const float ws = c.weight_scales[per_channel ? static_cast<std::size_t>(j) : 0];
    c.requantization.push_back(per_channel ? conv_requantization_per_channel(input.scale, ws, c.output.scale)
                                           : conv_requantization_per_tensor(input.scale, ws, c.output.scale));
  }
  c.range = quantized_activation_range(relu6 ? QuantActivation::ReLU6 : QuantActivation::None, c.output, 0, 255);
  // As TFLite runs int8 files: full convolutions round once, depthwise ones twice.
  c.rounding = per_channel && !depthwise ? Rounding::Single : Rounding::Double;
  return c;
}

}  // namespace detail

inline QuantizedMobileNetV1 random_quantized_mobilenet(const RandomQuantizedOptions& o = {}) {
  std::mt19937 rng(o.seed);
  QuantizedMobileNetV1 m;
  m.config = MobileNetV1Config::tflite(o.alpha, o.resolution);
  m.config.padding = o.padding;
  m.config.num_classes = o.classifier ? o.classes : 0;
  m.config.head = o.classifier ? Head::Conv1x1 : Head::None;
  m.config.softmax = o.classifier && o.softmax;
  m.io_type = o.scheme == WeightScheme::PerChannelInt8 ? QuantType::Int8 : QuantType::UInt8;
  const QuantParams input{1.0f / 128.0f, 128};  // internal domain either way
  Index channels = scaled_channels(kStemChannels, o.alpha, m.config.min_depth);
  m.stem = detail::random_conv(rng, "stem.conv", 3, channels, 3, kStemStride, false, input, true, o);
  QuantParams at = m.stem.output;
  for (std::size_t i = 0; i < m.blocks.size(); ++i) {
    const std::string name = "dsconv" + std::to_string(i + 1);
    const Index out = scaled_channels(kMobileNetV1Table[i].out_channels, o.alpha, m.config.min_depth);
    m.blocks[i].depthwise = detail::random_conv(rng, name + ".depthwise", channels, channels, 3,
                                                kMobileNetV1Table[i].stride, true, at, true, o);
    at = m.blocks[i].depthwise.output;
    m.blocks[i].pointwise = detail::random_conv(rng, name + ".pointwise", channels, out, 1, 1, false, at, true, o);
    at = m.blocks[i].pointwise.output;
    channels = out;
  }
  m.pool.params = at;
  if (o.classifier) {
    m.classifier = detail::random_conv(rng, "classifier", channels, o.classes, 1, 1, false, at, false, o);
    if (m.config.softmax) {
      QuantizedSoftmax s;
      s.input = m.classifier->output;
      s.output = QuantParams{1.0f / 256.0f, 0};  // internal domain: int8 files hold zero point -128
      m.softmax = s;
    }
  }
  return m;
}

}  // namespace testing
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#pragma once
// The reference forward pass of a QuantizedMobileNetV1: every layer through the scalar twins of
// kernels/int8/reference.hpp, one image at a time, with plain vectors for activations. The
// slow, obviously correct path that the fast execution plan is tested against; it equals
// TensorFlow Lite's builtin integer kernels byte for byte.

#include <cstdint>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/int8/reference.hpp"
#include "mobilenet/model/quantized_mobilenet_v1.hpp"

namespace mobilenet {

// One layer's output for one image, in the file's domain (int8 files: the int8 bytes).
// `name` is the layer's ("stem.conv", "dsconv3.depthwise", "pool", "classifier", "softmax"),
// in the order of the file's operators (RESHAPE, which copies the logits, aside).
struct QuantizedLayerOutput {
  std::string name;
  Shape shape;  // 1 x H x W x C
  std::vector<std::uint8_t> data;
};

namespace detail {

inline kernels::int8::QuantConvArgs quant_conv_args(const QuantizedConv& c, Index side, const Padding& padding) {
  kernels::int8::QuantConvArgs a;
  a.in_h = a.in_w = side;
  a.in_channels = c.in_channels;
  a.out_channels = c.out_channels;
  a.kernel = c.kernel;
  a.stride = c.stride;
  a.padding = padding;
  a.input_zero_point = c.input.zero_point;
  a.weight_zero_point = c.weight_zero_point;
  a.output_zero_point = c.output.zero_point;
  a.weights = c.weights.data();
  a.bias = c.bias.data();
  a.requantization = c.requantization.data();
  a.rounding = c.rounding;
  a.range = c.range;
  return a;
}

// Runs one image (internal domain, R x R x C) through the model; `record` sees every layer
// (internal domain). `rq` is the convolutions' requantization (see kernels::int8::TfliteRequantize).
template <typename Record, typename Requantize = kernels::int8::TfliteRequantize>
std::vector<std::uint8_t> quantized_reference_image(const QuantizedMobileNetV1& m, std::vector<std::uint8_t> x,
                                                    Record&& record, Requantize rq = {}) {
  Index side = m.config.resolution;
  auto conv = [&](const QuantizedConv& c) {
    const kernels::int8::QuantConvArgs a = quant_conv_args(c, side, m.config.padding);
    const Index out_side = a.window().rows.out;
    std::vector<std::uint8_t> y(static_cast<std::size_t>(out_side * out_side * c.out_channels));
    if (c.depthwise) kernels::int8::depthwise_reference(x.data(), a, y.data(), rq);
    else kernels::int8::conv_reference(x.data(), a, y.data(), rq);
    side = out_side;
    x.swap(y);
    record(c.name, Shape(1, side, side, c.out_channels), x);
  };
  conv(m.stem);
  for (const QuantizedDSConv& block : m.blocks) {
    conv(block.depthwise);
    conv(block.pointwise);
  }
  const Index channels = m.pool_channels();
  std::vector<std::uint8_t> pooled(static_cast<std::size_t>(channels));
  kernels::int8::global_avg_pool_reference(
      x.data(), {side * side, channels, m.io_type == QuantType::Int8, QuantRange{0, 255}}, pooled.data());
  x.swap(pooled);
  side = 1;
  record("pool", Shape(1, 1, 1, channels), x);
  if (!m.classifier) return x;
  conv(*m.classifier);
  if (!m.softmax) return x;
  float table[256];
  kernels::int8::softmax_table_reference(m.softmax->input.scale, m.softmax->beta, table);
  std::vector<std::uint8_t> probabilities(x.size());
  kernels::int8::softmax_reference(x.data(), static_cast<Index>(x.size()), table, m.softmax->output.scale,
                                   m.softmax->output.zero_point, probabilities.data());
  record("softmax", Shape(1, 1, 1, static_cast<Index>(x.size())), probabilities);
  return probabilities;
}

}  // namespace detail

// Runs `batch` images given in the file's domain (uint8 bytes; int8 files: the int8 values'
// bytes), each input_size() bytes, NHWC, and returns batch x output_size() bytes in the file's
// domain. With `layers`, every layer's output of every image is appended to it (image by
// image, layers in order).
// in: N x R x R x C, out: N x classes (or N x features for a backbone)
inline std::vector<std::uint8_t> run_quantized_reference(const QuantizedMobileNetV1& m, const std::uint8_t* images,
                                                         Index batch,
                                                         std::vector<QuantizedLayerOutput>* layers = nullptr) {
  if (batch < 0) throw ConfigError(detail::concat("run_quantized_reference: batch ", batch, " < 0"));
  const std::size_t in_size = static_cast<std::size_t>(m.input_size());
  std::vector<std::uint8_t> out;
  out.reserve(static_cast<std::size_t>(batch * m.output_size()));
  auto to_file = [&](std::vector<std::uint8_t> v) {
    for (std::uint8_t& b : v) b = m.to_file(b);
    return v;
  };
  for (Index n = 0; n < batch; ++n) {
    std::vector<std::uint8_t> x(images + static_cast<std::size_t>(n) * in_size,
                                images + static_cast<std::size_t>(n + 1) * in_size);
    for (std::uint8_t& b : x) b = m.to_internal(b);
    const std::vector<std::uint8_t> y = detail::quantized_reference_image(
        m, std::move(x), [&](const std::string& name, const Shape& shape, const std::vector<std::uint8_t>& data) {
          if (layers) layers->push_back({name, shape, to_file(data)});
        });
    for (std::uint8_t b : y) out.push_back(m.to_file(b));
  }
  return out;
}

inline std::vector<std::uint8_t> run_quantized_reference(const QuantizedMobileNetV1& m,
                                                         const std::vector<std::uint8_t>& images, Index batch,
                                                         std::vector<QuantizedLayerOutput>* layers = nullptr) {
  if (images.size() != static_cast<std::size_t>(batch * m.input_size()))
    throw ShapeError(detail::concat("run_quantized_reference: ", images.size(), " input bytes for ", batch,
                                    " images of ", m.input_size()));
  return run_quantized_reference(m, images.data(), batch, layers);
}

}  // namespace mobilenet

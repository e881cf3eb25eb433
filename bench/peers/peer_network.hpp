// SPDX-License-Identifier: MIT
#pragma once
// MobileNetV1 as a flat list of BN-folded convolutions, the form inference engines run. The
// peer benchmark builds each peer's graph (XNNPACK, oneDNN, PyTorch) from this list, so all
// engines get exactly the weights of one of our models.

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <mobilenet/mobilenet.hpp>
#include <mobilenet/model/fold.hpp>

namespace mobilenet::peers {

// One convolution with its BatchNorm folded in and its activation as a clamp.
struct FoldedConv {
  enum class Kind { Full, Depthwise, Pointwise };
  std::string name;
  Kind kind = Kind::Full;
  Index kernel = 1, stride = 1;
  Index in_h = 0, in_w = 0, in_channels = 0, out_channels = 0;
  Window2D window;  // output size and the implicit zeros on each side
  // Our layouts: Full HWIO (k x k x Cin x Cout), Depthwise HWC (k x k x C), Pointwise IO.
  std::vector<float> weight;
  std::vector<float> bias;  // out_channels
  float output_min = -std::numeric_limits<float>::infinity();
  float output_max = std::numeric_limits<float>::infinity();
};

// in: N x R x R x Cin -> convs -> global average pool -> classifier (Cin x K, bias) -> softmax?
struct FoldedNetwork {
  Index resolution = 0, in_channels = 0;
  std::vector<FoldedConv> convs;
  Index features = 0, classes = 0;
  std::vector<float> classifier_weight;  // features x classes (IO)
  std::vector<float> classifier_bias;    // classes
  bool softmax = true;
};

namespace detail_peers {

inline void clamp_of(Activation a, FoldedConv& conv) {
  if (a == Activation::None) return;
  conv.output_min = 0.0f;
  if (a == Activation::ReLU6) conv.output_max = 6.0f;
}

// Copies the weight and bias of a convolution of a folded model (which always has a bias).
template <typename Layer>
FoldedConv copy_parameters(const Layer& layer, FoldedConv conv) {
  conv.weight.assign(layer.weight().data(), layer.weight().data() + layer.weight().count());
  conv.bias.assign(layer.bias().data(), layer.bias().data() + layer.bias().count());
  return conv;
}

inline FoldedConv describe(std::string name, FoldedConv::Kind kind, Index kernel, Index stride,
                           const Padding& padding, const Shape& in, Index out_channels) {
  FoldedConv conv;
  conv.name = std::move(name);
  conv.kind = kind;
  conv.kernel = kernel;
  conv.stride = stride;
  conv.in_h = in.h, conv.in_w = in.w, conv.in_channels = in.c, conv.out_channels = out_channels;
  conv.window = window_2d(in.h, in.w, kernel, stride, padding);
  return conv;
}

}  // namespace detail_peers

// The model's stem, blocks and head as convolutions with BatchNorm folded in (by
// fold_batch_norm). Needs a global average pool and a classifier (the 1x1-conv and the dense
// head are then the same C x K product).
inline FoldedNetwork fold_for_peers(const MobileNetV1<float>& unfolded) {
  using detail_peers::copy_parameters;
  using detail_peers::describe;
  using Kind = FoldedConv::Kind;
  const MobileNetV1<float> model = fold_batch_norm(unfolded);
  const MobileNetV1Config& config = model.config();
  if (!model.pool.is_global() || !model.has_classifier())
    throw ConfigError(model.name() + ": the peer benchmark needs a global average pool (pool_size 0) "
                      "and a classifier head");

  FoldedNetwork net;
  net.resolution = config.resolution;
  net.in_channels = config.in_channels;
  net.softmax = config.softmax;

  Shape shape = model.input_shape(1);
  const auto& stem = model.stem.options();
  net.convs.push_back(copy_parameters(model.stem, describe(model.stem.name(), Kind::Full, stem.kernel,
                                                           stem.stride, stem.padding, shape,
                                                           stem.out_channels)));
  shape = model.stem.output_shape(shape);
  for (const auto& block : model.blocks) {
    const auto& dw = block.depthwise.options();
    net.convs.push_back(copy_parameters(
        block.depthwise, describe(block.depthwise.name(), Kind::Depthwise, dw.kernel, dw.stride,
                                  dw.padding, shape, dw.channels)));
    shape = block.depthwise.output_shape(shape);
    net.convs.push_back(copy_parameters(
        block.pointwise, describe(block.pointwise.name(), Kind::Pointwise, 1, 1, Padding::valid(), shape,
                                  block.pointwise.options().out_channels)));
    shape = block.pointwise.output_shape(shape);
  }
  for (FoldedConv& conv : net.convs) detail_peers::clamp_of(config.activation, conv);

  net.features = shape.c;
  net.classes = config.num_classes;
  const auto copy_head = [&](const auto& head) {
    net.classifier_weight.assign(head.weight().data(), head.weight().data() + head.weight().count());
    net.classifier_bias.assign(static_cast<std::size_t>(net.classes), 0.0f);
    if (head.has_bias())
      net.classifier_bias.assign(head.bias().data(), head.bias().data() + net.classes);
  };
  if (model.has_dense_head()) copy_head(*model.dense_head()); else copy_head(*model.conv_head());
  return net;
}

}  // namespace mobilenet::peers

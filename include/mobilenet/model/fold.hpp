// SPDX-License-Identifier: MIT
#pragma once
// BatchNorm folding. At inference BatchNorm is a per-channel affine map y = scale * x + shift
// (layers/batch_norm.hpp), so a convolution followed by it is again a convolution:
//   w'[..., c] = w[..., c] * scale[c],   b'[c] = b[c] * scale[c] + shift[c].
// Folding removes a pass over every activation and is what runs in the fast path.

#include <optional>
#include <string>

#include "mobilenet/core/error.hpp"
#include "mobilenet/layers/batch_norm.hpp"
#include "mobilenet/layers/layer.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"

namespace mobilenet {
namespace detail {

// weight: [..., C] (output channel last, as in every layout of ours); bias: C or null (zero).
// Writes the folded weight and bias into `folded_weight` and `folded_bias` (same shapes).
template <typename T>
void fold_batch_norm_into(const Parameter<T>& weight, const Parameter<T>* bias, const BatchNorm<T>& bn,
                          Parameter<T>& folded_weight, Parameter<T>& folded_bias) {
  const Index channels = bn.options().channels;
  if (weight.shape().empty() || weight.shape().back() != channels || weight.shape() != folded_weight.shape() ||
      folded_bias.count() != channels || (bias && bias->count() != channels))
    throw ShapeError(concat(bn.label(), ": cannot fold into a weight of shape ",
                            shape_to_string(weight.shape()), " (", channels, " channels expected last)"));
  const Index taps = weight.count() / channels;
  for (Index c = 0; c < channels; ++c) {
    const auto affine = bn.affine(c);
    const double scale = static_cast<double>(affine.first), shift = static_cast<double>(affine.second);
    for (Index t = 0; t < taps; ++t)
      folded_weight.values()[t * channels + c] =
          static_cast<T>(static_cast<double>(weight.values()[t * channels + c]) * scale);
    const double b = bias ? static_cast<double>(bias->values()[c]) : 0.0;
    folded_bias.values()[c] = static_cast<T>(b * scale + shift);
  }
}

// Folds `bn` into `conv`, writing the result into the biased layer `folded` of the same shape.
template <typename T, typename Conv>
void fold_layer(const Conv& conv, const BatchNorm<T>& bn, Conv& folded) {
  fold_batch_norm_into(conv.weight(), conv.has_bias() ? &conv.bias() : nullptr, bn, folded.weight(),
                       folded.bias());
}

}  // namespace detail

// The same network with every BatchNorm absorbed into the convolution before it: a model
// with config().batch_norm == false whose outputs equal `model`'s up to rounding. A model
// that is already folded is returned as a copy.
template <typename T>
MobileNetV1<T> fold_batch_norm(const MobileNetV1<T>& model) {
  if (!model.config().batch_norm) return model;
  MobileNetV1Config config = model.config();
  config.batch_norm = false;
  MobileNetV1<T> folded(config);
  detail::fold_layer(model.stem, *model.stem_bn, folded.stem);
  for (std::size_t i = 0; i < model.blocks.size(); ++i) {
    const DSConv<T>& block = model.blocks[i];
    DSConv<T>& target = folded.blocks[i];
    detail::fold_layer(block.depthwise, *block.depthwise_bn, target.depthwise);
    detail::fold_layer(block.pointwise, *block.pointwise_bn, target.pointwise);
  }
  if (model.dense_head()) {
    folded.dense_head()->weight().values() = model.dense_head()->weight().values();
    folded.dense_head()->bias().values() = model.dense_head()->bias().values();
  }
  if (model.conv_head()) {
    folded.conv_head()->weight().values() = model.conv_head()->weight().values();
    folded.conv_head()->bias().values() = model.conv_head()->bias().values();
  }
  return folded;
}

}  // namespace mobilenet

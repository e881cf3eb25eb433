// SPDX-License-Identifier: MIT
#pragma once
// Depthwise-separable convolution block (the paper's Figure 3, right):
//   depthwise 3x3 (stride s) -> BatchNorm -> activation -> pointwise 1x1 -> BatchNorm -> activation.
// The layers stay separate objects so each can be loaded, inspected and tested. A folded
// block (batch_norm = false: BatchNorm already absorbed into the convolutions' weights and
// biases, as in TFLite files) has no BatchNorm layers and biased convolutions.

#include <optional>
#include <string>

#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/layers/activation.hpp"
#include "mobilenet/layers/batch_norm.hpp"
#include "mobilenet/layers/depthwise_conv2d.hpp"
#include "mobilenet/layers/pointwise.hpp"

namespace mobilenet {

struct DSConvOptions {
  Index in_channels = 0;
  Index out_channels = 0;
  Index stride = 1;
  Padding padding = Padding::same();
  Activation activation = Activation::ReLU6;
  bool bias = false;  // a bias on both convolutions (Keras' use_bias=True)
  double bn_epsilon = 1e-3;
  bool batch_norm = true;  // false: folded block, no BatchNorm layers (implies bias)
};

// in: N x H x W x Cin  ->  out: N x H/s x W/s x Cout (exact sizes from the padding rule)
template <typename T>
class DSConv {
 public:
  static const char* type_name() { return "DSConv"; }

  // Layers are named "<name>.depthwise", "<name>.depthwise_bn", "<name>.depthwise_relu",
  // "<name>.pointwise", "<name>.pointwise_bn", "<name>.pointwise_relu".
  DSConv(std::string name, const DSConvOptions& o)
      : depthwise(name + ".depthwise", {o.in_channels, 3, o.stride, o.padding, o.bias || !o.batch_norm}),
        depthwise_activation(name + ".depthwise_relu", o.activation),
        pointwise(name + ".pointwise", {o.in_channels, o.out_channels, o.bias || !o.batch_norm}),
        pointwise_activation(name + ".pointwise_relu", o.activation),
        name_(name),
        options_(o) {
    if (o.batch_norm) {
      depthwise_bn.emplace(name + ".depthwise_bn", BatchNormOptions{o.in_channels, o.bn_epsilon});
      pointwise_bn.emplace(name + ".pointwise_bn", BatchNormOptions{o.out_channels, o.bn_epsilon});
    }
  }

  const std::string& name() const { return name_; }
  const DSConvOptions& options() const { return options_; }

  Shape depthwise_output_shape(const Shape& in) const { return depthwise.output_shape(in); }
  Shape output_shape(const Shape& in) const {
    return pointwise.output_shape(depthwise.output_shape(in));
  }
  Index parameter_count() const {
    Index total = 0;
    for_each_layer([&](const auto& layer) { total += layer.parameter_count(); });
    return total;
  }
  Index multiply_adds(const Shape& in) const {
    return depthwise.multiply_adds(in) + pointwise.multiply_adds(depthwise.output_shape(in));
  }

  // Runs the block; `scratch` receives the depthwise result and must have the shape
  // depthwise_output_shape(in.shape()). Shapes are checked; nothing is allocated.
  void forward(TensorView<const T> in, TensorView<T> scratch, TensorView<T> out) const {
    depthwise.forward(in, scratch);
    if (depthwise_bn) depthwise_bn->forward_unchecked(scratch, scratch);
    depthwise_activation.forward_unchecked(scratch, scratch);
    pointwise.forward(scratch, out);
    if (pointwise_bn) pointwise_bn->forward_unchecked(out, out);
    pointwise_activation.forward_unchecked(out, out);
  }

  Tensor<T> operator()(const Tensor<T>& in) const {
    Tensor<T> scratch(depthwise_output_shape(in.shape()));
    Tensor<T> out(output_shape(in.shape()));
    forward(in.view(), scratch.view(), out.view());
    return out;
  }

  bool has_batch_norm() const { return options_.batch_norm; }

  // Calls f(layer) on the layers in execution order, six (four when folded), const and
  // mutable forms.
  template <typename F>
  void for_each_layer(F&& f) const {
    f(depthwise);
    if (depthwise_bn) f(*depthwise_bn);
    f(depthwise_activation), f(pointwise);
    if (pointwise_bn) f(*pointwise_bn);
    f(pointwise_activation);
  }
  template <typename F>
  void for_each_layer(F&& f) {
    f(depthwise);
    if (depthwise_bn) f(*depthwise_bn);
    f(depthwise_activation), f(pointwise);
    if (pointwise_bn) f(*pointwise_bn);
    f(pointwise_activation);
  }

  DepthwiseConv2D<T> depthwise;
  std::optional<BatchNorm<T>> depthwise_bn;  // empty in a folded block
  ActivationLayer<T> depthwise_activation;
  Pointwise<T> pointwise;
  std::optional<BatchNorm<T>> pointwise_bn;  // empty in a folded block
  ActivationLayer<T> pointwise_activation;

 private:
  std::string name_;
  DSConvOptions options_;
};

}  // namespace mobilenet

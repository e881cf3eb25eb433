// SPDX-License-Identifier: MIT
#pragma once
// Depthwise k x k convolution: one filter per channel (depth multiplier 1, as MobileNetV1
// uses), so it filters but never mixes channels.

#include <string>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/kernels/depthwise_reference.hpp"
#include "mobilenet/layers/layer.hpp"

namespace mobilenet {

struct DepthwiseConv2DOptions {
  Index channels = 0;
  Index kernel = 3;
  Index stride = 1;
  Padding padding = Padding::same();
  bool bias = false;
};

// in: N x H x W x C  ->  out: N x H' x W' x C
// weight: k x k x C; bias: C
template <typename T>
class DepthwiseConv2D : public Layer<DepthwiseConv2D<T>, T> {
  using Base = Layer<DepthwiseConv2D<T>, T>;

 public:
  static const char* type_name() { return "DepthwiseConv2D"; }

  DepthwiseConv2D(std::string name, const DepthwiseConv2DOptions& options)
      : Base(std::move(name)), options_(options) {
    const std::string label = this->label();
    detail::require_at_least(label, "channels", options.channels, 1);
    detail::require_at_least(label, "kernel", options.kernel, 1);
    detail::require_at_least(label, "stride", options.stride, 1);
    const Index k = options.kernel;
    weight_ = this->add_parameter("weight", {k, k, options.channels}, T(0));
    if (options.bias) bias_ = this->add_parameter("bias", {options.channels}, T(0));
  }

  const DepthwiseConv2DOptions& options() const { return options_; }
  Parameter<T>& weight() { return this->param(weight_); }
  const Parameter<T>& weight() const { return this->param(weight_); }
  bool has_bias() const { return options_.bias; }
  Parameter<T>& bias() { return this->param(bias_); }
  const Parameter<T>& bias() const { return this->param(bias_); }

  Window2D window(const Shape& in) const {
    return window_2d(in.h, in.w, options_.kernel, options_.stride, options_.padding);
  }

  Shape output_shape(const Shape& in) const {
    this->require_channels(in, options_.channels);
    return this->windowed_output_shape(in, window(in), options_.padding, options_.channels);
  }

  Index multiply_adds(const Shape& in) const {
    return output_shape(in).size() * options_.kernel * options_.kernel;
  }

  void forward_unchecked(TensorView<const T> in, TensorView<T> out) const {
    kernels::depthwise_conv2d_reference(in.data(), in.shape(), weight().data(),
                                        has_bias() ? bias().data() : nullptr, window(in.shape()),
                                        out.data());
  }

 private:
  DepthwiseConv2DOptions options_;
  std::size_t weight_ = 0;
  std::size_t bias_ = 0;
};

}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#pragma once
// Full k x k convolution (the MobileNetV1 stem, and the "standard convolution" that
// depthwise-separable blocks replace).

#include <string>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/kernels/conv2d_reference.hpp"
#include "mobilenet/layers/layer.hpp"

namespace mobilenet {

struct Conv2DOptions {
  Index in_channels = 0;
  Index out_channels = 0;
  Index kernel = 3;
  Index stride = 1;
  Padding padding = Padding::same();
  bool bias = false;
};

// in: N x H x W x Cin  ->  out: N x H' x W' x Cout (H', W' from the padding rule)
// weight: k x k x Cin x Cout (HWIO); bias: Cout
template <typename T>
class Conv2D : public Layer<Conv2D<T>, T> {
  using Base = Layer<Conv2D<T>, T>;

 public:
  static const char* type_name() { return "Conv2D"; }

  Conv2D(std::string name, const Conv2DOptions& options) : Base(std::move(name)), options_(options) {
    const std::string label = this->label();
    detail::require_at_least(label, "in_channels", options.in_channels, 1);
    detail::require_at_least(label, "out_channels", options.out_channels, 1);
    detail::require_at_least(label, "kernel", options.kernel, 1);
    detail::require_at_least(label, "stride", options.stride, 1);
    const Index k = options.kernel;
    weight_ = this->add_parameter("weight", {k, k, options.in_channels, options.out_channels}, T(0));
    if (options.bias) bias_ = this->add_parameter("bias", {options.out_channels}, T(0));
  }

  const Conv2DOptions& options() const { return options_; }
  Parameter<T>& weight() { return this->param(weight_); }
  const Parameter<T>& weight() const { return this->param(weight_); }
  bool has_bias() const { return options_.bias; }
  Parameter<T>& bias() { return this->param(bias_); }
  const Parameter<T>& bias() const { return this->param(bias_); }

  Window2D window(const Shape& in) const {
    return window_2d(in.h, in.w, options_.kernel, options_.stride, options_.padding);
  }

  Shape output_shape(const Shape& in) const {
    this->require_channels(in, options_.in_channels);
    return this->windowed_output_shape(in, window(in), options_.padding, options_.out_channels);
  }

  Index multiply_adds(const Shape& in) const {
    const Shape out = output_shape(in);
    return out.size() * options_.kernel * options_.kernel * options_.in_channels;
  }

  void forward_unchecked(TensorView<const T> in, TensorView<T> out) const {
    kernels::conv2d_reference(in.data(), in.shape(), weight().data(),
                              has_bias() ? bias().data() : nullptr, options_.out_channels,
                              window(in.shape()), out.data());
  }

 private:
  Conv2DOptions options_;
  std::size_t weight_ = 0;
  std::size_t bias_ = 0;
};

}  // namespace mobilenet

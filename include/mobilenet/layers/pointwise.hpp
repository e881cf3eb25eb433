// SPDX-License-Identifier: MIT
#pragma once
// Pointwise (1x1) convolution: mixes channels pixel by pixel, as one matrix product.
// forward_unchecked allocates nothing (kernels::pointwise_eigen_on_stack).

#include <Eigen/Core>
#include <algorithm>
#include <string>

#include "mobilenet/kernels/pointwise.hpp"
#include "mobilenet/layers/layer.hpp"

namespace mobilenet {

struct PointwiseOptions {
  Index in_channels = 0;
  Index out_channels = 0;
  bool bias = false;
};

// in: N x H x W x Cin  ->  out: N x H x W x Cout
// weight: Cin x Cout; bias: Cout
template <typename T>
class Pointwise : public Layer<Pointwise<T>, T> {
  using Base = Layer<Pointwise<T>, T>;

 public:
  static const char* type_name() { return "Pointwise"; }

  Pointwise(std::string name, const PointwiseOptions& options) : Base(std::move(name)), options_(options) {
    const std::string label = this->label();
    detail::require_at_least(label, "in_channels", options.in_channels, 1);
    detail::require_at_least(label, "out_channels", options.out_channels, 1);
    weight_ = this->add_parameter("weight", {options.in_channels, options.out_channels}, T(0));
    if (options.bias) bias_ = this->add_parameter("bias", {options.out_channels}, T(0));
  }

  const PointwiseOptions& options() const { return options_; }
  Parameter<T>& weight() { return this->param(weight_); }
  const Parameter<T>& weight() const { return this->param(weight_); }
  bool has_bias() const { return options_.bias; }
  Parameter<T>& bias() { return this->param(bias_); }
  const Parameter<T>& bias() const { return this->param(bias_); }

  Shape output_shape(const Shape& in) const {
    this->require_channels(in, options_.in_channels);
    return Shape(in.n, in.h, in.w, options_.out_channels);
  }

  Index multiply_adds(const Shape& in) const { return output_shape(in).size() * options_.in_channels; }

  void forward_unchecked(TensorView<const T> in, TensorView<T> out) const {
    kernels::pointwise_eigen_on_stack(in.data(), in.shape().rows(), options_.in_channels, weight().data(),
                               has_bias() ? bias().data() : nullptr, options_.out_channels, out.data());
  }

 private:
  PointwiseOptions options_;
  std::size_t weight_ = 0;
  std::size_t bias_ = 0;
};

}  // namespace mobilenet

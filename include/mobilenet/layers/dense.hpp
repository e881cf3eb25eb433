// SPDX-License-Identifier: MIT
#pragma once
// Fully connected layer. It flattens each image's H x W x C values in NHWC order (Keras'
// Flatten), so after a global pool it is a plain C -> K classifier.

#include <string>

#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/kernels/pointwise.hpp"
#include "mobilenet/layers/layer.hpp"

namespace mobilenet {

struct DenseOptions {
  Index in_features = 0;
  Index out_features = 0;
  bool bias = true;
  bool softmax = false;  // turn the outputs into probabilities
};

// in: N x H x W x C with H*W*C = in_features  ->  out: N x 1 x 1 x out_features
// weight: in_features x out_features; bias: out_features
template <typename T>
class Dense : public Layer<Dense<T>, T> {
  using Base = Layer<Dense<T>, T>;

 public:
  static const char* type_name() { return "Dense"; }

  Dense(std::string name, const DenseOptions& options) : Base(std::move(name)), options_(options) {
    detail::require_at_least(this->label(), "in_features", options.in_features, 1);
    detail::require_at_least(this->label(), "out_features", options.out_features, 1);
    weight_ = this->add_parameter("weight", {options.in_features, options.out_features}, T(0));
    if (options.bias) bias_ = this->add_parameter("bias", {options.out_features}, T(0));
  }

  const DenseOptions& options() const { return options_; }
  Parameter<T>& weight() { return this->param(weight_); }
  const Parameter<T>& weight() const { return this->param(weight_); }
  bool has_bias() const { return options_.bias; }
  Parameter<T>& bias() { return this->param(bias_); }
  const Parameter<T>& bias() const { return this->param(bias_); }

  Shape output_shape(const Shape& in) const {
    this->check_input(in);
    if (in.h * in.w * in.c != options_.in_features)
      throw ShapeError(detail::concat(this->label(), ": expected ", options_.in_features,
                                      " features per image, got shape ", in.str(), " (",
                                      in.h * in.w * in.c, " features)"));
    return Shape(in.n, 1, 1, options_.out_features);
  }

  Index multiply_adds(const Shape& in) const {
    return output_shape(in).n * options_.in_features * options_.out_features;
  }

  void forward_unchecked(TensorView<const T> in, TensorView<T> out) const {
    const Index n = in.shape().n;
    kernels::pointwise_eigen_on_stack(in.data(), n, options_.in_features, weight().data(),
                               has_bias() ? bias().data() : nullptr, options_.out_features, out.data());
    if (options_.softmax) kernels::softmax_rows_inplace(out.data(), n, options_.out_features);
  }

 private:
  DenseOptions options_;
  std::size_t weight_ = 0;
  std::size_t bias_ = 0;
};

}  // namespace mobilenet

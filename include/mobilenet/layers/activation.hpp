// SPDX-License-Identifier: MIT
#pragma once
// ReLU and ReLU6 as layers. In the model they run as the epilogue of the layer before.

#include <algorithm>
#include <string>

#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/layers/layer.hpp"

namespace mobilenet {

// The activation is a run-time choice because MobileNetV1's is a configuration option.
// in: any NHWC shape  ->  out: same shape (may be the same memory)
template <typename T>
class ActivationLayer : public Layer<ActivationLayer<T>, T> {
  using Base = Layer<ActivationLayer<T>, T>;

 public:
  ActivationLayer(std::string name, Activation kind) : Base(std::move(name)), kind_(kind) {}

  const char* type_name() const {
    switch (kind_) {
      case Activation::ReLU: return "ReLU";
      case Activation::ReLU6: return "ReLU6";
      case Activation::None: break;
    }
    return "Identity";
  }
  Activation kind() const { return kind_; }

  Shape output_shape(const Shape& in) const {
    this->check_input(in);
    return in;
  }
  Index multiply_adds(const Shape& in) const {
    output_shape(in);
    return 0;
  }

  void forward_unchecked(TensorView<const T> in, TensorView<T> out) const {
    if (out.data() != in.data()) std::copy(in.data(), in.data() + in.size(), out.data());
    kernels::activation_inplace(out.data(), out.size(), kind_);
  }

 private:
  Activation kind_;
};

// max(x, 0)
template <typename T>
class ReLU : public ActivationLayer<T> {
 public:
  explicit ReLU(std::string name) : ActivationLayer<T>(std::move(name), Activation::ReLU) {}
};

// min(max(x, 0), 6): bounded, so it survives low-precision arithmetic (the paper's choice
// in TensorFlow's releases).
template <typename T>
class ReLU6 : public ActivationLayer<T> {
 public:
  explicit ReLU6(std::string name) : ActivationLayer<T>(std::move(name), Activation::ReLU6) {}
};

}  // namespace mobilenet

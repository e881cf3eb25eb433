// SPDX-License-Identifier: MIT
#pragma once
// Average pooling: k x k with a stride (Keras' AveragePooling2D), or global over the whole map.

#include <string>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/kernels/pooling_reference.hpp"
#include "mobilenet/layers/layer.hpp"

namespace mobilenet {

struct AvgPoolOptions {
  Index kernel = 0;  // 0: global (the whole map, whatever its size)
  Index stride = 0;  // 0: equal to kernel, as in Keras
  Padding padding = Padding::valid();
};

// in: N x H x W x C  ->  out: N x H' x W' x C (global: N x 1 x 1 x C)
template <typename T>
class AvgPool : public Layer<AvgPool<T>, T> {
  using Base = Layer<AvgPool<T>, T>;

 public:
  static const char* type_name() { return "AvgPool"; }

  static AvgPool global(std::string name) { return AvgPool(std::move(name), AvgPoolOptions{}); }

  AvgPool(std::string name, const AvgPoolOptions& options) : Base(std::move(name)), options_(options) {
    detail::require_at_least(this->label(), "kernel", options.kernel, 0);
    detail::require_at_least(this->label(), "stride", options.stride, 0);
    if (options_.stride == 0) options_.stride = options_.kernel;
  }

  bool is_global() const { return options_.kernel == 0; }
  const AvgPoolOptions& options() const { return options_; }

  Window2D window(const Shape& in) const {
    return window_2d(in.h, in.w, options_.kernel, options_.stride, options_.padding);
  }

  Shape output_shape(const Shape& in) const {
    this->check_input(in);
    if (is_global()) return Shape(in.n, 1, 1, in.c);
    return this->windowed_output_shape(in, window(in), options_.padding, in.c);
  }

  // Pooling only adds; the paper's accounting counts no multiply-adds for it.
  Index multiply_adds(const Shape& in) const {
    output_shape(in);
    return 0;
  }

  void forward_unchecked(TensorView<const T> in, TensorView<T> out) const {
    if (is_global())
      kernels::global_average_pool(in.data(), in.shape(), out.data());
    else
      kernels::average_pool_reference(in.data(), in.shape(), window(in.shape()), out.data());
  }

 private:
  AvgPoolOptions options_;
};

}  // namespace mobilenet

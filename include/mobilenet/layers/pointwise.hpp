// SPDX-License-Identifier: MIT
#pragma once
// Pointwise (1x1) convolution: mixes channels pixel by pixel, as one matrix product.
// forward_unchecked allocates nothing (see detail::pointwise_on_stack).

#include <Eigen/Core>
#include <algorithm>
#include <string>

#include "mobilenet/layers/layer.hpp"

namespace mobilenet {
namespace detail {

// kernels::pointwise_eigen's product (out[p, :] = in[p, :] * W + bias, with in rows x Cin and
// W Cin x Cout row-major), cut into blocks that Eigen's GEMM packs on the stack: above
// EIGEN_STACK_ALLOCATION_LIMIT bytes it takes its packing buffers from the heap, and a
// layer's forward pass promises to allocate nothing. Eigen packs at most depth x columns of
// each operand, so every block keeps that under the limit.
template <typename T>
void pointwise_on_stack(const T* in, Index rows, Index cin, const T* weights, const T* bias, Index cout,
                        T* out) {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using Strided = Eigen::OuterStride<>;
  constexpr Index kStackValues = Index(EIGEN_STACK_ALLOCATION_LIMIT) / Index(sizeof(T));
  const Index depth = std::min<Index>(cin, 256);
  const Index block = std::max<Index>(1, kStackValues / depth);
  for (Index r0 = 0; r0 < rows; r0 += block) {
    const Index nr = std::min(block, rows - r0);
    for (Index c0 = 0; c0 < cout; c0 += block) {
      // Column-major views: y is Cout x rows, W^T is Cout x Cin, x is Cin x rows.
      const Index nc = std::min(block, cout - c0);
      Eigen::Map<Matrix, 0, Strided> y(out + r0 * cout + c0, nc, nr, Strided(cout));
      if (bias)
        y.colwise() = Eigen::Map<const Vector>(bias + c0, nc);
      else
        y.setZero();
      for (Index k0 = 0; k0 < cin; k0 += depth) {
        const Index nk = std::min(depth, cin - k0);
        Eigen::Map<const Matrix, 0, Strided> wt(weights + k0 * cout + c0, nc, nk, Strided(cout));
        Eigen::Map<const Matrix, 0, Strided> x(in + r0 * cin + k0, nk, nr, Strided(cin));
        y.noalias() += wt * x;
      }
    }
  }
}

}  // namespace detail

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
    detail::pointwise_on_stack(in.data(), in.shape().rows(), options_.in_channels, weight().data(),
                               has_bias() ? bias().data() : nullptr, options_.out_channels, out.data());
  }

 private:
  PointwiseOptions options_;
  std::size_t weight_ = 0;
  std::size_t bias_ = 0;
};

}  // namespace mobilenet

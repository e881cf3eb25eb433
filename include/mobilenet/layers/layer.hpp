// SPDX-License-Identifier: MIT
#pragma once
// What every layer shares: a name, named parameters with fixed shapes, shape checks that
// name the layer, and a convenience call that allocates the output.
//
// Every layer class template offers:
//   Shape output_shape(const Shape& in) const;     // throws ShapeError naming the layer
//   Index parameter_count() const;
//   Index multiply_adds(const Shape& in) const;    // for the whole batch of `in`
//   void forward(TensorView<const T> in, TensorView<T> out) const;
//   Tensor<T> operator()(const Tensor<T>& in) const;
//   std::vector<Parameter<T>>& parameters();        // "weight", "bias", "gamma", ...

#include <Eigen/Core>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/core/tensor.hpp"

namespace mobilenet {

// A learned tensor of a layer. Its shape is fixed when the layer is built; loaders fill it.
template <typename T>
class Parameter {
 public:
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

  Parameter(std::string name, std::vector<Index> shape, T initial, bool trainable = true)
      : name_(std::move(name)), shape_(std::move(shape)), trainable_(trainable) {
    Index count = 1;
    for (Index d : shape_) count *= d;
    values_ = Vector::Constant(count, initial);
  }

  const std::string& name() const { return name_; }
  const std::vector<Index>& shape() const { return shape_; }
  // Keras counts BatchNorm's moving statistics as non-trainable; the summary does too.
  bool trainable() const { return trainable_; }
  Index count() const { return values_.size(); }
  T* data() { return values_.data(); }
  const T* data() const { return values_.data(); }
  Vector& values() { return values_; }
  const Vector& values() const { return values_; }

  // Copies `source`, whose shape must be exactly this parameter's; `owner` names the layer
  // in the error message.
  template <typename U>
  void assign(const std::vector<Index>& source_shape, const U* source, const std::string& owner) {
    if (source_shape != shape_)
      throw ShapeError(detail::concat(owner, ": parameter '", name_, "' expects shape ",
                                      detail::shape_to_string(shape_), ", got ",
                                      detail::shape_to_string(source_shape)));
    for (Index i = 0; i < count(); ++i) values_[i] = static_cast<T>(source[i]);
  }
  void assign(const std::vector<T>& source, const std::string& owner) {
    if (static_cast<Index>(source.size()) != count())
      throw ShapeError(detail::concat(owner, ": parameter '", name_, "' of shape ",
                                      detail::shape_to_string(shape_), " needs ", count(),
                                      " values, got ", source.size()));
    assign(shape_, source.data(), owner);
  }

 private:
  std::string name_;
  std::vector<Index> shape_;
  bool trainable_;
  Vector values_;
};

namespace detail {

// Throws ConfigError naming the layer unless value >= minimum.
inline void require_at_least(const std::string& label, const char* what, Index value, Index minimum) {
  if (value < minimum)
    throw ConfigError(concat(label, ": ", what, " must be >= ", minimum, ", got ", value));
}

}  // namespace detail

// CRTP base: Derived provides output_shape() and forward_unchecked(); this adds the checked
// forward, the allocating call and the layer's label for messages.
template <typename Derived, typename T>
class Layer {
 public:
  using Scalar = T;

  const std::string& name() const { return name_; }
  // "layer 'dsconv1.depthwise' (DepthwiseConv2D)": how errors name a layer.
  std::string label() const { return detail::concat("layer '", name_, "' (", self().type_name(), ")"); }

  // Checks both shapes, then runs the layer. Element-wise layers allow out to alias in.
  void forward(TensorView<const T> in, TensorView<T> out) const {
    const Shape expected = self().output_shape(in.shape());
    if (out.shape() != expected)
      throw ShapeError(detail::concat(label(), ": output tensor should have shape ", expected.str(),
                                      " for input ", in.shape().str(), ", got ", out.shape().str()));
    self().forward_unchecked(in, out);
  }

  Tensor<T> operator()(const Tensor<T>& in) const {
    Tensor<T> out(self().output_shape(in.shape()));
    self().forward_unchecked(in.view(), out.view());
    return out;
  }

  // The layer's learned tensors in a fixed order; a file names each "<layer>.<parameter>".
  std::vector<Parameter<T>>& parameters() { return parameters_; }
  const std::vector<Parameter<T>>& parameters() const { return parameters_; }
  Index parameter_count() const {
    Index total = 0;
    for (const auto& p : parameters_) total += p.count();
    return total;
  }
  // The parameter called `name`; throws Error naming the layer if it has none.
  Parameter<T>& parameter(const std::string& name) {
    for (auto& p : parameters_)
      if (p.name() == name) return p;
    throw Error(detail::concat(label(), ": has no parameter '", name, "'"));
  }

 protected:
  explicit Layer(std::string name) : name_(std::move(name)) {}

  // Called by constructors only, so indices stay valid for the layer's lifetime.
  std::size_t add_parameter(std::string name, std::vector<Index> shape, T initial,
                            bool trainable = true) {
    parameters_.emplace_back(std::move(name), std::move(shape), initial, trainable);
    return parameters_.size() - 1;
  }
  Parameter<T>& param(std::size_t index) { return parameters_[index]; }
  const Parameter<T>& param(std::size_t index) const { return parameters_[index]; }

  // Output of a k x k window sliding over `in` (convolutions and pooling): N x H' x W' x
  // out_channels. Throws ShapeError naming the layer if the window does not fit.
  Shape windowed_output_shape(const Shape& in, const Window2D& win, const Padding& padding,
                              Index out_channels) const {
    if (win.rows.out <= 0 || win.cols.out <= 0)
      throw ShapeError(detail::concat(label(), ": input ", in.str(), " is smaller than its ",
                                      win.kernel, "x", win.kernel, " window with ", padding.str(),
                                      " padding"));
    return Shape(in.n, win.rows.out, win.cols.out, out_channels);
  }

  // Throws ShapeError naming the layer unless `in` is a valid NHWC shape. The message is
  // built only on failure, so checked forward passes allocate nothing.
  void check_input(const Shape& in) const {
    check_shape(in, [this] { return label() + ": input"; });
  }

  // Throws ShapeError unless `in` is a valid NHWC shape with `channels` channels.
  void require_channels(const Shape& in, Index channels) const {
    check_input(in);
    if (in.c != channels)
      throw ShapeError(detail::concat(label(), ": expected an input with ", channels,
                                      " channels, got shape ", in.str()));
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
  std::string name_;
  std::vector<Parameter<T>> parameters_;
};

}  // namespace mobilenet

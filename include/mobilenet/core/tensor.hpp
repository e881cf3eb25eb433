// SPDX-License-Identifier: MIT
#pragma once
// NHWC tensors. `Tensor<T>` owns aligned Eigen storage; `TensorView<T>` (and
// `TensorView<const T>`) is a pointer plus a shape that layers read and write without copying.
// Channels are innermost, so one pixel's channels are contiguous and an N x H x W x C tensor is,
// with no copy, a column-major C x (N*H*W) matrix: the operand of a 1x1 convolution.

#include <Eigen/Core>
#include <algorithm>
#include <cassert>
#include <type_traits>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/shape.hpp"

namespace mobilenet {

template <typename T>
class TensorView {
 public:
  using Scalar = std::remove_const_t<T>;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using MatrixMap =
      std::conditional_t<std::is_const<T>::value, Eigen::Map<const Matrix>, Eigen::Map<Matrix>>;
  using VectorMap =
      std::conditional_t<std::is_const<T>::value, Eigen::Map<const Vector>, Eigen::Map<Vector>>;

  TensorView() = default;
  TensorView(T* data, const Shape& shape) : data_(data), shape_(shape) {}
  // A mutable view converts to a read-only one.
  template <typename U, typename = std::enable_if_t<std::is_same<const U, T>::value &&
                                                    !std::is_same<U, T>::value>>
  TensorView(const TensorView<U>& other) : data_(other.data()), shape_(other.shape()) {}

  T* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  Index size() const { return shape_.size(); }
  bool empty() const { return data_ == nullptr || shape_.size() == 0; }

  Index offset(Index n, Index h, Index w, Index c) const {
    assert(n >= 0 && n < shape_.n && h >= 0 && h < shape_.h && w >= 0 && w < shape_.w && c >= 0 &&
           c < shape_.c);
    return ((n * shape_.h + h) * shape_.w + w) * shape_.c + c;
  }
  T& operator()(Index n, Index h, Index w, Index c) const { return data_[offset(n, h, w, c)]; }

  // Images [first, first + count) of the batch, sharing storage.
  TensorView batches(Index first, Index count) const {
    assert(first >= 0 && count >= 0 && first + count <= shape_.n);
    return TensorView(data_ + first * shape_.h * shape_.w * shape_.c,
                      Shape(count, shape_.h, shape_.w, shape_.c));
  }
  TensorView batch(Index i) const { return batches(i, 1); }

  // Column-major C x (N*H*W) matrix over the same memory: column j is pixel j's channels.
  MatrixMap matrix() const { return MatrixMap(data_, shape_.c, shape_.rows()); }
  // All elements as one column vector.
  VectorMap vector() const { return VectorMap(data_, shape_.size()); }

 private:
  T* data_ = nullptr;
  Shape shape_;
};

template <typename T>
class Tensor {
  static_assert(std::is_floating_point<T>::value, "Tensor<T> holds float or double");

 public:
  using Scalar = T;
  using Storage = Eigen::Matrix<T, Eigen::Dynamic, 1>;  // Eigen's allocator aligns it

  Tensor() = default;
  explicit Tensor(const Shape& shape) { resize(shape); }
  Tensor(const Shape& shape, T fill) {
    resize(shape);
    storage_.setConstant(fill);
  }
  // Copies `values` (NHWC order); throws ShapeError if their count does not match.
  Tensor(const Shape& shape, const std::vector<T>& values) {
    resize(shape);
    if (static_cast<Index>(values.size()) != shape.size())
      throw ShapeError(detail::concat("tensor of shape ", shape.str(), " needs ", shape.size(),
                                      " values, got ", values.size()));
    std::copy(values.begin(), values.end(), storage_.data());
  }

  // Reallocates only when the element count changes; contents are unspecified afterwards.
  void resize(const Shape& shape) {
    check_shape(shape, "tensor");
    shape_ = shape;
    if (storage_.size() != shape.size()) storage_.resize(shape.size());
  }

  T* data() { return storage_.data(); }
  const T* data() const { return storage_.data(); }
  const Shape& shape() const { return shape_; }
  Index size() const { return shape_.size(); }

  TensorView<T> view() { return TensorView<T>(data(), shape_); }
  TensorView<const T> view() const { return TensorView<const T>(data(), shape_); }
  operator TensorView<T>() { return view(); }
  operator TensorView<const T>() const { return view(); }

  T& operator()(Index n, Index h, Index w, Index c) { return view()(n, h, w, c); }
  const T& operator()(Index n, Index h, Index w, Index c) const { return view()(n, h, w, c); }

  Storage& storage() { return storage_; }
  const Storage& storage() const { return storage_; }
  std::vector<T> to_vector() const { return std::vector<T>(data(), data() + size()); }

  void fill(T value) { storage_.setConstant(value); }
  // Uniform values in [-1, 1] (Eigen's generator; for tests and benchmarks).
  void set_random() { storage_.setRandom(); }

  // Element type conversion, e.g. a float tensor from a double one.
  template <typename U>
  Tensor<U> cast() const {
    Tensor<U> out(shape_);
    std::transform(data(), data() + size(), out.data(), [](T v) { return static_cast<U>(v); });
    return out;
  }

 private:
  Shape shape_;
  Storage storage_;
};

}  // namespace mobilenet

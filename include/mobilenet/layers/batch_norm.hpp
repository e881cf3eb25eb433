// SPDX-License-Identifier: MIT
#pragma once
// BatchNorm in its inference form: y = gamma * (x - moving_mean) / sqrt(moving_variance + eps) + beta,
// which is a per-channel affine map y = scale * x + shift. That is what runs, and what a
// following or preceding linear layer can absorb (folding).

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>
#include <string>

#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/layers/layer.hpp"

namespace mobilenet {

struct BatchNormOptions {
  Index channels = 0;
  double epsilon = 1e-3;  // Keras' and TF-slim's default (PyTorch's is 1e-5)
};

// in: N x H x W x C  ->  out: same shape (may be the same memory)
// gamma, beta, moving_mean, moving_variance: C each
template <typename T>
class BatchNorm : public Layer<BatchNorm<T>, T> {
  using Base = Layer<BatchNorm<T>, T>;
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

 public:
  static const char* type_name() { return "BatchNorm"; }

  BatchNorm(std::string name, const BatchNormOptions& options) : Base(std::move(name)), options_(options) {
    const std::string label = this->label();
    detail::require_at_least(label, "channels", options.channels, 1);
    if (!(options.epsilon >= 0) || !std::isfinite(options.epsilon))
      throw ConfigError(detail::concat(label, ": epsilon must be a finite value >= 0, got ",
                                       options.epsilon));
    const Index c = options.channels;
    gamma_ = this->add_parameter("gamma", {c}, T(1));
    beta_ = this->add_parameter("beta", {c}, T(0));
    mean_ = this->add_parameter("moving_mean", {c}, T(0), /*trainable=*/false);
    variance_ = this->add_parameter("moving_variance", {c}, T(1), /*trainable=*/false);
  }

  const BatchNormOptions& options() const { return options_; }
  Parameter<T>& gamma() { return this->param(gamma_); }
  Parameter<T>& beta() { return this->param(beta_); }
  Parameter<T>& moving_mean() { return this->param(mean_); }
  Parameter<T>& moving_variance() { return this->param(variance_); }
  const Parameter<T>& gamma() const { return this->param(gamma_); }
  const Parameter<T>& beta() const { return this->param(beta_); }
  const Parameter<T>& moving_mean() const { return this->param(mean_); }
  const Parameter<T>& moving_variance() const { return this->param(variance_); }

  // Throws ConfigError naming the layer and channel if a statistic would give inf or NaN
  // (moving_variance + epsilon <= 0, or a non-finite value). Loaders call it.
  void validate() const {
    for (Index c = 0; c < options_.channels; ++c) {
      const double var = static_cast<double>(moving_variance().values()[c]);
      if (!(var + options_.epsilon > 0) || !std::isfinite(var))
        throw ConfigError(detail::concat(this->label(), ": moving_variance[", c, "] + epsilon = ",
                                         var + options_.epsilon, " must be finite and > 0"));
      for (const auto* p : {&gamma(), &beta(), &moving_mean()})
        if (!std::isfinite(static_cast<double>(p->values()[c])))
          throw ConfigError(detail::concat(this->label(), ": ", p->name(), "[", c, "] is not finite"));
    }
  }

  // The affine form y = scale * x + shift of channel c, computed in double so that a float
  // model folds without extra rounding.
  std::pair<T, T> affine(Index c) const {
    const double scale = static_cast<double>(gamma().values()[c]) /
                         std::sqrt(static_cast<double>(moving_variance().values()[c]) + options_.epsilon);
    const double shift = static_cast<double>(beta().values()[c]) -
                         static_cast<double>(moving_mean().values()[c]) * scale;
    return {static_cast<T>(scale), static_cast<T>(shift)};
  }
  Vector scale() const {
    Vector s(options_.channels);
    for (Index c = 0; c < options_.channels; ++c) s[c] = affine(c).first;
    return s;
  }
  Vector shift() const {
    Vector t(options_.channels);
    for (Index c = 0; c < options_.channels; ++c) t[c] = affine(c).second;
    return t;
  }

  Shape output_shape(const Shape& in) const {
    this->require_channels(in, options_.channels);
    return in;
  }

  // Folded into the neighbouring convolution at inference, so it costs no multiply-adds
  // (the paper's accounting, too).
  Index multiply_adds(const Shape& in) const {
    output_shape(in);
    return 0;
  }

  void forward_unchecked(TensorView<const T> in, TensorView<T> out) const {
    if (out.data() != in.data()) std::copy(in.data(), in.data() + in.size(), out.data());
    // Channels in stack-sized groups, so a forward pass allocates nothing and always sees the
    // current parameters.
    constexpr Index kGroup = 64;
    T scale[kGroup], shift[kGroup];
    const Index channels = options_.channels, rows = in.shape().rows();
    for (Index first = 0; first < channels; first += kGroup) {
      const Index count = std::min(kGroup, channels - first);
      for (Index i = 0; i < count; ++i) std::tie(scale[i], shift[i]) = affine(first + i);
      for (Index r = 0; r < rows; ++r)
        kernels::channel_affine_inplace(out.data() + r * channels + first, 1, count, scale, shift);
    }
  }

 private:
  BatchNormOptions options_;
  std::size_t gamma_ = 0, beta_ = 0, mean_ = 0, variance_ = 0;
};

}  // namespace mobilenet

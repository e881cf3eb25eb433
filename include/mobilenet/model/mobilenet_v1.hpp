// SPDX-License-Identifier: MIT
#pragma once
// MobileNetV1 (Howard et al., 2017), composed as Table 1 of the paper reads: a full 3x3
// stem convolution, thirteen depthwise-separable blocks, average pooling and a classifier.

#include <algorithm>
#include <array>
#include <cstdio>
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/layers/activation.hpp"
#include "mobilenet/layers/avg_pool.hpp"
#include "mobilenet/layers/batch_norm.hpp"
#include "mobilenet/layers/conv2d.hpp"
#include "mobilenet/layers/dense.hpp"
#include "mobilenet/layers/pointwise.hpp"
#include "mobilenet/model/dsconv.hpp"
#include "mobilenet/model/summary.hpp"

namespace mobilenet {

// One row of Table 1 after the stem: a DSConv block's stride and output channels (alpha 1).
struct DSConvRow {
  Index stride;
  Index out_channels;
};

// Stem: Conv 3x3, stride 2, 3 -> 32 channels. Then these rows, in order.
// (The paper prints the last depthwise row as "s2", but its input and output are both 7x7:
// it is stride 1, as in every released model.)
inline constexpr Index kStemChannels = 32;
inline constexpr Index kStemStride = 2;
inline constexpr std::array<DSConvRow, 13> kMobileNetV1Table = {{
    {1, 64},                                                      // 112x112x32 -> 112x112x64
    {2, 128},  {1, 128},                                          // -> 56x56x128
    {2, 256},  {1, 256},                                          // -> 28x28x256
    {2, 512},  {1, 512}, {1, 512}, {1, 512}, {1, 512}, {1, 512},  // -> 14x14x512, 5 x s1
    {2, 1024}, {1, 1024},                                         // -> 7x7x1024
}};

enum class Head {
  Conv1x1,  // pool -> 1x1 convolution with bias (TF-slim, Keras applications)
  Dense,    // pool -> fully connected with bias (the seed notebook)
  None,     // backbone only (an embedding extractor): predict() returns the pooled features
};

// Bounds on what a configuration may ask for (checked when a MobileNetV1 is built, so that no
// file can make a loader allocate without bound): 2^24 values in one activation of one image
// (64 MB in float; 1.0/224 needs 0.8 M, so alpha 1.0 runs up to resolution 1000) and 2^25
// weights (128 MB in float; 1.0 has 4.2 M, so alpha runs up to about 2.7).
inline constexpr Index kMaxActivationValues = Index(1) << 24;
inline constexpr Index kMaxWeights = Index(1) << 25;

struct MobileNetV1Config {
  double alpha = 1.0;      // width multiplier: channels = max(int(c * alpha), min_depth)
  Index resolution = 224;  // input is resolution x resolution
  Index num_classes = 1000;
  Index in_channels = 3;
  Activation activation = Activation::ReLU6;
  Padding padding = Padding::same();  // of every 3x3 convolution; symmetric(1) for PyTorch/Caffe
  bool conv_bias = false;             // a bias on every convolution before its BatchNorm
  double bn_epsilon = 1e-3;
  // false: a folded model, BatchNorm already absorbed into every convolution's weights and
  // bias (TFLite files; fold_batch_norm in model/fold.hpp). Such a model has no BatchNorm
  // layers and every convolution has a bias, whatever conv_bias says.
  bool batch_norm = true;
  Head head = Head::Conv1x1;
  Index pool_size = 0;  // 0: global average pool; k: AvgPool k x k, stride k (the seed's AvgPool(7))
  bool softmax = true;  // probabilities out; false gives logits
  Index min_depth = 8;  // TF-slim's floor on channels; Keras uses none (set 1)

  // TF-slim / TFLite release: ReLU6, SAME padding, no biases, 1x1-conv head, 1001 classes.
  static MobileNetV1Config tf_slim(double alpha = 1.0, Index resolution = 224) {
    MobileNetV1Config c;
    c.alpha = alpha;
    c.resolution = resolution;
    c.num_classes = 1001;
    return c;
  }
  // The official TFLite models: tf_slim with BatchNorm folded into biased convolutions.
  static MobileNetV1Config tflite(double alpha = 1.0, Index resolution = 224) {
    MobileNetV1Config c = tf_slim(alpha, resolution);
    c.batch_norm = false;
    c.conv_bias = true;
    return c;
  }
  // Convolutions have a bias when asked, and always in a folded model.
  bool biased_convolutions() const { return conv_bias || !batch_norm; }

  // The Keras notebook this project grew from: every convolution with a bias, then BatchNorm
  // and ReLU; AvgPool 7; Dense 1000 with softmax. 4,264,808 parameters in Keras' count.
  static MobileNetV1Config keras_seed() {
    MobileNetV1Config c;
    c.activation = Activation::ReLU;
    c.conv_bias = true;
    c.head = Head::Dense;
    c.pool_size = 7;
    c.min_depth = 1;
    return c;
  }
};

// Channels of a layer of `base` channels at width multiplier alpha, computed as TF-slim does
// (int() truncation in double, then the floor `min_depth`).
inline Index scaled_channels(Index base, double alpha, Index min_depth) {
  const Index scaled = static_cast<Index>(static_cast<double>(base) * alpha);
  return scaled > min_depth ? scaled : min_depth;
}

// Buffers for a forward pass. Reused across calls, they make `predict` allocation-free after
// its first call at a batch size (or a larger one). One per thread: the model is read-only.
template <typename T>
class Workspace {
 public:
  using Buffer = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  // Grows (never shrinks) to hold `activation` and `pooled` elements per buffer.
  void reserve(Index activation, Index pooled) {
    for (Buffer* b : {&ping_, &pong_})
      if (b->size() < activation) b->resize(activation);
    if (pooled_.size() < pooled) pooled_.resize(pooled);
  }
  Index bytes() const { return (ping_.size() + pong_.size() + pooled_.size()) * Index(sizeof(T)); }
  T* ping() { return ping_.data(); }
  T* pong() { return pong_.data(); }
  T* pooled() { return pooled_.data(); }

 private:
  Buffer ping_, pong_, pooled_;
};

template <typename T>
class MobileNetV1 {
  // First, because the layers below are built from it.
  MobileNetV1Config config_;

 public:
  using Scalar = T;

  explicit MobileNetV1(const MobileNetV1Config& config = {})
      : config_(validated(config)),
        stem(stem_name() + ".conv", {config.in_channels, channels(kStemChannels), 3, kStemStride,
                                     config.padding, config.biased_convolutions()}),
        stem_activation(stem_name() + ".relu", config.activation),
        pool(config.pool_size == 0 ? AvgPool<T>::global("pool")
                                   : AvgPool<T>("pool", {config.pool_size, config.pool_size})) {
    if (config.batch_norm)
      stem_bn.emplace(stem_name() + ".bn", BatchNormOptions{channels(kStemChannels), config.bn_epsilon});
    Index in = channels(kStemChannels);
    for (std::size_t i = 0; i < kMobileNetV1Table.size(); ++i) {
      const DSConvRow& row = kMobileNetV1Table[i];
      const Index out = channels(row.out_channels);
      blocks.emplace_back("dsconv" + std::to_string(i + 1),
                          DSConvOptions{in, out, row.stride, config.padding, config.activation,
                                        config.conv_bias, config.bn_epsilon, config.batch_norm});
      in = out;
    }
    // Walk the shapes once: this checks the resolution fits every window and sizes the head.
    const Shape pooled = pool.output_shape(feature_map_shape(1));
    if (config.head == Head::None) {
      // Backbone only: no classifier, no class count.
    } else if (config.head == Head::Dense) {
      dense_head_.emplace("classifier", DenseOptions{pooled.h * pooled.w * pooled.c,
                                                     config.num_classes, true, false});
    } else {
      if (pooled.h != 1 || pooled.w != 1)
        throw ConfigError(detail::concat(
            "MobileNetV1: a 1x1-convolution head needs the pool to reduce the map to 1x1, but ",
            "pool_size ", config.pool_size, " leaves ", pooled.str(), "; use pool_size 0 or Head::Dense"));
      conv_head_.emplace("classifier", PointwiseOptions{pooled.c, config.num_classes, true});
    }
  }

  const MobileNetV1Config& config() const { return config_; }
  std::string name() const {
    char alpha[16];
    std::snprintf(alpha, sizeof alpha, "%.2f", config_.alpha);
    return detail::concat("mobilenet_v1_", alpha, "_", config_.resolution);
  }

  // in: N x R x R x in_channels
  Shape input_shape(Index batch = 1) const {
    return Shape(batch, config_.resolution, config_.resolution, config_.in_channels);
  }
  // Output of the last DSConv block: N x R/32 x R/32 x 1024*alpha (for SAME padding).
  Shape feature_map_shape(Index batch = 1) const {
    Shape s = stem.output_shape(input_shape(batch));
    for (const auto& block : blocks) s = block.output_shape(s);
    return s;
  }
  // The pooled embedding, N x 1 x 1 x C for a global pool.
  Shape features_shape(Index batch = 1) const { return pool.output_shape(feature_map_shape(batch)); }
  // N x 1 x 1 x num_classes; for a backbone-only model (Head::None), features_shape().
  Shape output_shape(Index batch = 1) const {
    if (!has_classifier()) return features_shape(batch);
    return Shape(batch, 1, 1, config_.num_classes);
  }
  bool has_classifier() const { return config_.head != Head::None; }

  // in: N x R x R x C (NHWC, already preprocessed) -> out: N x 1 x 1 x num_classes
  // (probabilities when config.softmax, else logits).
  Tensor<T> predict(const Tensor<T>& images) const {
    Workspace<T> workspace;
    Tensor<T> out(output_shape(images.shape().n));
    predict(images.view(), out.view(), workspace);
    return out;
  }

  // Same, into `out`, with buffers from `workspace`: once the workspace has seen this batch
  // size or a larger one, nothing is allocated (tests/test_allocations.cpp counts). Safe to
  // call from several threads, each with its own workspace.
  void predict(TensorView<const T> images, TensorView<T> out, Workspace<T>& workspace) const {
    const Shape in = check_input(images.shape());
    if (out.shape() != output_shape(in.n))
      throw ShapeError(detail::concat(name(), ": output tensor should have shape ",
                                      output_shape(in.n).str(), ", got ", out.shape().str()));
    TensorView<T> pooled = run_backbone(images, workspace);
    if (dense_head_) {
      dense_head_->forward_unchecked(pooled, out);
    } else if (conv_head_) {
      conv_head_->forward_unchecked(pooled, out);
    } else {  // backbone only: the features are the output
      std::copy(pooled.data(), pooled.data() + pooled.size(), out.data());
      return;
    }
    if (config_.softmax) kernels::softmax_rows_inplace(out.data(), in.n, config_.num_classes);
  }

  // The pooled embedding (the classifier's input): N x 1 x 1 x C for a global pool.
  Tensor<T> features(const Tensor<T>& images) const {
    Workspace<T> workspace;
    const Shape in = check_input(images.shape());
    Tensor<T> out(features_shape(in.n));
    TensorView<T> pooled = run_backbone(images.view(), workspace);
    std::copy(pooled.data(), pooled.data() + pooled.size(), out.data());
    return out;
  }

  // Bytes of the workspace a batch of `batch` images needs.
  Index workspace_bytes(Index batch = 1) const {
    Workspace<T> w;
    const auto sizes = buffer_sizes(batch);
    w.reserve(sizes.first, sizes.second);
    return w.bytes();
  }

  Index parameter_count() const { return summary().total_parameters(); }
  Index multiply_adds() const { return summary().total_multiply_adds(); }

  // One row per layer, for a batch of one image.
  Summary summary() const {
    Summary s;
    s.model_name = name();
    s.input = input_shape(1);
    Shape shape = s.input;
    for_each_layer([&](const auto& layer) {
      SummaryRow row;
      row.name = layer.name();
      row.type = layer.type_name();
      row.multiply_adds = layer.multiply_adds(shape);
      shape = layer.output_shape(shape);
      row.output = shape;
      for (const auto& p : layer.parameters()) {
        row.parameters += p.count();
        if (p.trainable()) row.trainable_parameters += p.count();
      }
      s.rows.push_back(row);
    });
    return s;
  }

  // Calls f(layer) for every layer in execution order: stem conv, BN, activation; each
  // block's six layers; pool; classifier. Loaders and the summary walk the model this way.
  // A folded model has no BN layers; a backbone-only model (Head::None) has no classifier.
  template <typename F>
  void for_each_layer(F&& f) const {
    f(stem);
    if (stem_bn) f(*stem_bn);
    f(stem_activation);
    for (const auto& block : blocks) block.for_each_layer(f);
    f(pool);
    if (dense_head_) f(*dense_head_);
    if (conv_head_) f(*conv_head_);
  }
  template <typename F>
  void for_each_layer(F&& f) {
    f(stem);
    if (stem_bn) f(*stem_bn);
    f(stem_activation);
    for (auto& block : blocks) block.for_each_layer(f);
    f(pool);
    if (dense_head_) f(*dense_head_);
    if (conv_head_) f(*conv_head_);
  }

  // Calls f(full_name, parameter) for every learned tensor, full_name = "<layer>.<parameter>"
  // as in the weights format (docs/weights-format.md).
  template <typename F>
  void for_each_parameter(F&& f) {
    for_each_layer([&](auto& layer) {
      for (auto& p : layer.parameters()) f(layer.name() + "." + p.name(), p);
    });
  }
  template <typename F>
  void for_each_parameter(F&& f) const {
    for_each_layer([&](const auto& layer) {
      for (const auto& p : layer.parameters()) f(layer.name() + "." + p.name(), p);
    });
  }

  // Fills every parameter with reproducible random values of sensible scale (He-uniform
  // weights, BatchNorm near identity): for tests and benchmarks without a trained model.
  void randomize(unsigned seed = 0) {
    std::mt19937 rng(seed);
    for_each_layer([&](auto& layer) {
      for (auto& p : layer.parameters()) {
        const auto& shape = p.shape();
        double limit = 0.1, offset = 0.0;
        if (p.name() == "weight") {
          // fan-in: all but the last dimension (HWIO, HWC per channel, IO)
          Index fan_in = 1;
          for (std::size_t d = 0; d + 1 < shape.size(); ++d) fan_in *= shape[d];
          if (shape.size() == 3) fan_in = shape[0] * shape[1];  // depthwise: k x k taps
          limit = std::sqrt(6.0 / static_cast<double>(fan_in));
        } else if (p.name() == "gamma" || p.name() == "moving_variance") {
          limit = 0.25, offset = 1.0;
        }
        std::uniform_real_distribution<double> dist(offset - limit, offset + limit);
        for (Index i = 0; i < p.count(); ++i) p.values()[i] = static_cast<T>(dist(rng));
      }
    });
  }

  // The layers, public like a struct so the model reads as the paper's table.
  Conv2D<T> stem;
  std::optional<BatchNorm<T>> stem_bn;  // empty in a folded model
  ActivationLayer<T> stem_activation;
  std::vector<DSConv<T>> blocks;
  AvgPool<T> pool;

  bool has_dense_head() const { return dense_head_.has_value(); }
  const Dense<T>* dense_head() const { return dense_head_ ? &*dense_head_ : nullptr; }
  const Pointwise<T>* conv_head() const { return conv_head_ ? &*conv_head_ : nullptr; }
  Dense<T>* dense_head() { return dense_head_ ? &*dense_head_ : nullptr; }
  Pointwise<T>* conv_head() { return conv_head_ ? &*conv_head_ : nullptr; }

 private:
  static std::string stem_name() { return "stem"; }
  Index channels(Index base) const { return scaled_channels(base, config_.alpha, config_.min_depth); }

 public:
  // `c` when a model may be built from it, else a ConfigError (bounds included, see
  // check_memory_bounds); loaders of other model types check a file's configuration with it.
  static MobileNetV1Config validated(const MobileNetV1Config& c) {
    if (!(c.alpha > 0) || !std::isfinite(c.alpha) || c.alpha > 64)
      throw ConfigError(detail::concat("MobileNetV1: alpha must be in (0, 64], got ", c.alpha));
    detail::require_at_least("MobileNetV1", "resolution", c.resolution, 1);
    if (c.head != Head::None) detail::require_at_least("MobileNetV1", "num_classes", c.num_classes, 1);
    detail::require_at_least("MobileNetV1", "in_channels", c.in_channels, 1);
    detail::require_at_least("MobileNetV1", "pool_size", c.pool_size, 0);
    detail::require_at_least("MobileNetV1", "min_depth", c.min_depth, 1);
    check_memory_bounds(c);
    return c;
  }

 private:
  // Refuses configurations, and so files, that would ask for more memory than any MobileNetV1
  // anyone runs, before a layer allocates: at most kMaxActivationValues values in any one
  // activation of one image and kMaxWeights weights in all.
  static void check_memory_bounds(const MobileNetV1Config& c) {
    const auto fail = [&](const char* what, long double needed, Index limit) {
      throw ConfigError(detail::concat("MobileNetV1: alpha ", c.alpha, ", resolution ", c.resolution,
                                       ", ", c.in_channels, " input channels and ", c.padding.str(),
                                       " padding need ", static_cast<double>(needed), " ", what,
                                       ", more than the limit of ", limit));
    };
    const auto activation = [&](Index side, Index channels) {
      const long double values = static_cast<long double>(side) * side * channels;
      if (values > kMaxActivationValues) fail("values in one activation", values, kMaxActivationValues);
    };
    const auto weights_of = [&](Index base) { return scaled_channels(base, c.alpha, c.min_depth); };
    long double weights = 0;
    const auto add_weights = [&](long double count) {
      weights += count;
      if (weights > kMaxWeights) fail("weights", weights, kMaxWeights);
    };
    activation(c.resolution, c.in_channels);
    Index side = c.resolution, in = weights_of(kStemChannels);
    // The padded input of every 3x3 window is the largest buffer a layer reads.
    const auto window = [&](Index channels, Index stride) {
      const AxisWindow axis = window_axis(side, 3, stride, c.padding);
      activation(side + axis.pad_before + axis.pad_after, channels);
      side = axis.out;
    };
    add_weights(9.0L * c.in_channels * in);
    window(c.in_channels, kStemStride);
    activation(side, in);
    for (const DSConvRow& row : kMobileNetV1Table) {
      const Index out = weights_of(row.out_channels);
      add_weights(9.0L * in + static_cast<long double>(in) * out);
      window(in, row.stride);
      activation(side, out);
      in = out;
    }
    if (c.head != Head::None) add_weights(static_cast<long double>(in) * c.num_classes);
  }

  Shape check_input(const Shape& in) const {
    check_shape(in, [this] { return name() + ": input"; });  // the message only on failure
    if (in.h != config_.resolution || in.w != config_.resolution || in.c != config_.in_channels)
      throw ShapeError(detail::concat(name(), ": expected input [N, ", config_.resolution, ", ",
                                      config_.resolution, ", ", config_.in_channels, "] (NHWC), got ",
                                      in.str()));
    return in;
  }

  // Largest activation and the pooled size, in elements, for a batch.
  std::pair<Index, Index> buffer_sizes(Index batch) const {
    Shape s = stem.output_shape(input_shape(batch));
    Index largest = s.size();
    for (const auto& block : blocks) {
      largest = std::max(largest, block.depthwise_output_shape(s).size());
      s = block.output_shape(s);
      largest = std::max(largest, s.size());
    }
    return {largest, pool.output_shape(s).size()};
  }

  // Stem, blocks and pool, ping-ponging between two buffers: a block reads `ping`, writes its
  // depthwise result to `pong`, and its pointwise result back to `ping`.
  TensorView<T> run_backbone(TensorView<const T> images, Workspace<T>& workspace) const {
    const auto sizes = buffer_sizes(images.shape().n);
    workspace.reserve(sizes.first, sizes.second);
    TensorView<T> x(workspace.ping(), stem.output_shape(images.shape()));
    stem.forward_unchecked(images, x);
    if (stem_bn) stem_bn->forward_unchecked(x, x);
    stem_activation.forward_unchecked(x, x);
    for (const auto& block : blocks) {
      TensorView<T> mid(workspace.pong(), block.depthwise_output_shape(x.shape()));
      TensorView<T> out(workspace.ping(), block.output_shape(x.shape()));
      block.forward(x, mid, out);
      x = out;
    }
    TensorView<T> pooled(workspace.pooled(), pool.output_shape(x.shape()));
    pool.forward_unchecked(x, pooled);
    return pooled;
  }

  std::optional<Dense<T>> dense_head_;
  std::optional<Pointwise<T>> conv_head_;
};

}  // namespace mobilenet

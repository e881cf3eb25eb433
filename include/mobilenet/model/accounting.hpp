// SPDX-License-Identifier: MIT
#pragma once
// Multiply-add and parameter accounting as the MobileNet paper (Howard et al., 2017) does it,
// so its Tables 2, 4, 6 and 7 and the textbook comparison of a standard convolution with its
// depthwise-separable twin can be reproduced and tested.
//
// The paper's counting, worked out from its own figures:
// - Multiply-adds: every convolution (stem, depthwise, pointwise) and the fully connected
//   layer, 1024 x 1000 per image. BatchNorm, activations and pooling count nothing.
// - Parameters: the weights of those layers only. No BatchNorm (gamma, beta, moving
//   statistics) and no biases: with the 1000 classifier biases Table 2's FC share would be
//   24.35%, not the 24.33% printed; without them the four shares add up to 100.00%.
// - The classifier is the fully connected layer whichever head computes it (TF-slim's 1x1
//   convolution or a Dense layer).

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"
#include "mobilenet/model/summary.hpp"

namespace mobilenet {

// The rows of the paper's Table 2, plus the full 3x3 convolutions of "Conv MobileNet".
enum class LayerKind { Conv1x1, Depthwise3x3, Stem3x3, FullyConnected, Full3x3, Other };

inline const char* layer_kind_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::Conv1x1: return "Conv 1x1";
    case LayerKind::Depthwise3x3: return "Conv DW 3x3";
    case LayerKind::Stem3x3: return "Conv 3x3 (stem)";
    case LayerKind::FullyConnected: return "Fully connected";
    case LayerKind::Full3x3: return "Conv 3x3 (full)";
    case LayerKind::Other: return "Other";
  }
  return "?";
}

// A layer as the paper counts it.
struct CountedLayer {
  std::string name;
  LayerKind kind = LayerKind::Other;
  Index multiply_adds = 0;  // for one image
  Index parameters = 0;     // weights only
};

struct Accounting {
  std::string model_name;
  std::vector<CountedLayer> layers;

  Index multiply_adds(LayerKind kind) const { return sum(kind, &CountedLayer::multiply_adds); }
  Index parameters(LayerKind kind) const { return sum(kind, &CountedLayer::parameters); }
  Index total_multiply_adds() const { return sum_all(&CountedLayer::multiply_adds); }
  Index total_parameters() const { return sum_all(&CountedLayer::parameters); }
  // Shares in percent, as Table 2 prints them.
  double multiply_add_percent(LayerKind kind) const {
    return 100.0 * static_cast<double>(multiply_adds(kind)) / static_cast<double>(total_multiply_adds());
  }
  double parameter_percent(LayerKind kind) const {
    return 100.0 * static_cast<double>(parameters(kind)) / static_cast<double>(total_parameters());
  }

 private:
  Index sum(LayerKind kind, Index CountedLayer::*field) const {
    Index total = 0;
    for (const auto& l : layers)
      if (l.kind == kind) total += l.*field;
    return total;
  }
  Index sum_all(Index CountedLayer::*field) const {
    Index total = 0;
    for (const auto& l : layers) total += l.*field;
    return total;
  }
};

// Which convolutions the thirteen blocks use: the paper's depthwise-separable pair, or one
// full 3x3 convolution from the same input to the same output channels ("Conv MobileNet",
// Table 4).
enum class BlockConvolution { Separable, Full };

namespace detail {

inline LayerKind paper_layer_kind(const std::string& name, const std::string& type) {
  if (name == "classifier") return LayerKind::FullyConnected;
  if (type == "DepthwiseConv2D") return LayerKind::Depthwise3x3;
  if (type == "Pointwise") return LayerKind::Conv1x1;
  if (type == "Conv2D") return LayerKind::Stem3x3;
  return LayerKind::Other;
}

}  // namespace detail

// A standard k x k convolution against its depthwise-separable twin (depthwise k x k with
// the same window, then pointwise 1x1), for one image. Section 3.1 of the paper:
// separable / standard = 1/N + 1/Dk^2 for N output channels and a Dk x Dk kernel.
struct ConvPairCost {
  Shape input;   // 1 x H x W x M
  Shape output;  // 1 x H' x W' x N
  Index kernel = 0;
  Index stride = 1;
  Index standard_multiply_adds = 0;   // H'W' * Dk^2 * M * N
  Index depthwise_multiply_adds = 0;  // H'W' * Dk^2 * M
  Index pointwise_multiply_adds = 0;  // H'W' * M * N
  Index standard_parameters = 0;      // Dk^2 * M * N
  Index depthwise_parameters = 0;     // Dk^2 * M
  Index pointwise_parameters = 0;     // M * N

  Index separable_multiply_adds() const { return depthwise_multiply_adds + pointwise_multiply_adds; }
  Index separable_parameters() const { return depthwise_parameters + pointwise_parameters; }
  // separable / standard multiply-adds, counted.
  double multiply_add_ratio() const {
    return static_cast<double>(separable_multiply_adds()) / static_cast<double>(standard_multiply_adds);
  }
  // The paper's formula for the same ratio.
  double formula_ratio() const {
    return 1.0 / static_cast<double>(output.c) + 1.0 / static_cast<double>(kernel * kernel);
  }
};

// in: 1 x H x W x M, a k x k window with `stride` and `padding`, N output channels.
inline ConvPairCost conv_pair_cost(const Shape& in, Index kernel, Index stride,
                                   const Padding& padding, Index out_channels) {
  check_shape(in, "conv_pair_cost: input");
  if (kernel < 1 || stride < 1 || out_channels < 1)
    throw ConfigError(detail::concat("conv_pair_cost: kernel, stride and output channels must be >= 1, got ",
                                     kernel, ", ", stride, ", ", out_channels));
  const Window2D win = window_2d(in.h, in.w, kernel, stride, padding);
  if (win.rows.out <= 0 || win.cols.out <= 0)
    throw ShapeError(detail::concat("conv_pair_cost: input ", in.str(), " is smaller than its ",
                                    kernel, "x", kernel, " window with ", padding.str(), " padding"));
  ConvPairCost c;
  c.input = Shape(1, in.h, in.w, in.c);
  c.output = Shape(1, win.rows.out, win.cols.out, out_channels);
  c.kernel = kernel;
  c.stride = stride;
  const Index taps = kernel * kernel, m = in.c, n = out_channels, pixels = c.output.pixels();
  c.standard_parameters = taps * m * n;
  c.depthwise_parameters = taps * m;
  c.pointwise_parameters = m * n;
  c.standard_multiply_adds = pixels * c.standard_parameters;
  c.depthwise_multiply_adds = pixels * c.depthwise_parameters;
  c.pointwise_multiply_adds = pixels * c.pointwise_parameters;
  return c;
}

// The thirteen DSConv layers of a model as standard/separable pairs, in order.
template <typename T>
std::vector<ConvPairCost> block_pair_costs(const MobileNetV1<T>& model) {
  std::vector<ConvPairCost> pairs;
  Shape s = model.stem.output_shape(model.input_shape(1));
  for (const auto& block : model.blocks) {
    const DSConvOptions& o = block.options();
    pairs.push_back(conv_pair_cost(s, 3, o.stride, o.padding, o.out_channels));
    s = block.output_shape(s);
  }
  return pairs;
}

// The paper's counts for `model`, per layer, for one image. Multiply-adds come from
// model.summary(); the parameters are the layers' "weight" tensors.
template <typename T>
Accounting paper_accounting(const MobileNetV1<T>& model,
                            BlockConvolution blocks = BlockConvolution::Separable) {
  const Summary summary = model.summary();
  // summary() and for_each_layer() walk the layers in the same order.
  std::vector<Index> weights;
  model.for_each_layer([&](const auto& layer) {
    Index count = 0;
    for (const auto& p : layer.parameters())
      if (p.name() == "weight") count += p.count();
    weights.push_back(count);
  });
  if (weights.size() != summary.rows.size())
    throw Error(detail::concat(model.name(), ": the summary has ", summary.rows.size(),
                               " rows but the model has ", weights.size(), " layers"));

  Accounting a;
  a.model_name = blocks == BlockConvolution::Full ? "conv_" + model.name() : model.name();
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const SummaryRow& row = summary.rows[i];
    const LayerKind kind = detail::paper_layer_kind(row.name, row.type);
    if (kind == LayerKind::Other) continue;
    a.layers.push_back({row.name, kind, row.multiply_adds, weights[i]});
  }
  if (blocks == BlockConvolution::Full) {
    // Each block's depthwise + pointwise pair becomes one 3x3 convolution with the
    // depthwise's window (same stride, padding and output size) and the pointwise's channels.
    const std::vector<ConvPairCost> pairs = block_pair_costs(model);
    std::vector<CountedLayer> full;
    std::size_t b = 0;
    for (const CountedLayer& l : a.layers) {
      if (l.kind == LayerKind::Depthwise3x3) continue;
      if (b < pairs.size() && l.name == model.blocks[b].pointwise.name()) {
        full.push_back({model.blocks[b].name() + ".conv", LayerKind::Full3x3,
                        pairs[b].standard_multiply_adds, pairs[b].standard_parameters});
        ++b;
        continue;
      }
      full.push_back(l);
    }
    a.layers = std::move(full);
  }
  return a;
}

// The paper's published figures, to print beside ours and to test against.
namespace paper {

// Table 2: share of multiply-adds and of parameters by layer type, MobileNet 1.0 / 224.
struct LayerTypeShare {
  LayerKind kind;
  double multiply_add_percent;
  double parameter_percent;
};
inline constexpr std::array<LayerTypeShare, 4> kTable2 = {{
    {LayerKind::Conv1x1, 94.86, 74.59},
    {LayerKind::Depthwise3x3, 3.06, 1.06},
    {LayerKind::Stem3x3, 1.19, 0.02},  // our count gives 1.91%: see docs/conv-vs-dsconv.md
    {LayerKind::FullyConnected, 0.18, 24.33},
}};

// Tables 4, 6 and 7: million multiply-adds and million parameters, as printed.
struct ModelFigures {
  double alpha;
  Index resolution;
  double million_multiply_adds;
  double million_parameters;
};
inline constexpr ModelFigures kConvMobileNet = {1.0, 224, 4866, 29.3};  // Table 4
inline constexpr ModelFigures kMobileNet = {1.0, 224, 569, 4.2};        // Tables 4, 6, 7
inline constexpr std::array<ModelFigures, 4> kWidthMultiplierTable = {{  // Table 6
    kMobileNet, {0.75, 224, 325, 2.6}, {0.5, 224, 149, 1.3}, {0.25, 224, 41, 0.5}}};
inline constexpr std::array<ModelFigures, 4> kResolutionTable = {{  // Table 7
    kMobileNet, {1.0, 192, 418, 4.2}, {1.0, 160, 290, 4.2}, {1.0, 128, 186, 4.2}}};

}  // namespace paper
}  // namespace mobilenet

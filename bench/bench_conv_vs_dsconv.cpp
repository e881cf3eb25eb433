// SPDX-License-Identifier: MIT
// Standard convolution against its depthwise-separable twin, on one thread:
//   textbook/...           12x12x3 input, 5x5 kernels, 256 outputs, VALID (the textbook example)
//   layer/dsconvNN/...     each of MobileNetV1 1.0/224's 13 DSConv layers (shapes from
//                          kMobileNetV1Table) against a full 3x3 convolution with the same input,
//                          stride and output channels; .../im2col and .../depthwise time the
//                          standard side's copy and the separable side's depthwise half alone
//   network/...            "Conv MobileNet" (every DSConv a full 3x3 convolution) against
//                          MobileNetV1, the same stem, pool and classifier code around them;
//                          network/shared_layers times those shared layers alone
// Counters: mult_adds and params per image (the paper's counting), GFLOP/s = 2 * mult-adds / s.
// BatchNorm is taken as folded: every convolution has a bias and a ReLU6 epilogue.
//
//   bench_conv_vs_dsconv --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/kernels/conv2d_im2col.hpp"
#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/depthwise3x3.hpp"
#include "mobilenet/kernels/depthwise_reference.hpp"
#include "mobilenet/kernels/gemm.hpp"
#include "mobilenet/kernels/pooling_reference.hpp"
#include "mobilenet/model/accounting.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"

namespace mobilenet {
// A named namespace: the kernel choice not taken leaves names unused, which clang flags in an
// anonymous one.
namespace conv_vs_dsconv {

// ---- The kernels both sides run: the library's best. Switch to faster ones here. ----------
// A GEMM with its weights prepared once per layer: run(a, rows, c, activation) computes
// c[rows x N] = activation(a[rows x K] * W + bias) for W (K x N, row-major) and bias (N).
// It serves the standard convolution (after im2col), every pointwise layer, the stem and the
// classifier.
class EigenGemm {
 public:
  static constexpr const char* kName = "Eigen 3.4 matrix product + ReLU6 pass (kernels::pointwise_eigen)";
  EigenGemm(const std::vector<float>& weights, const std::vector<float>& bias, Index k, Index n)
      : weights_(weights), bias_(bias), k_(k), n_(n) {}
  void run(const float* a, Index rows, float* c, Activation activation) const {
    kernels::pointwise_eigen(a, rows, k_, weights_.data(), bias_.data(), n_, c);
    kernels::activation_inplace(c, rows * n_, activation);
  }

 private:
  std::vector<float> weights_, bias_;
  Index k_, n_;
};

// A 3x3 depthwise convolution of one image with bias and activation:
// run(in, in_shape, weights 3x3xC, bias C, win, out, activation).
struct ReferenceDepthwise {
  static constexpr const char* kName = "kernels::depthwise_conv2d_reference + ReLU6 pass";
  static void run(const float* in, const Shape& in_shape, const float* weights, const float* bias,
                  const Window2D& win, float* out, Activation activation) {
    kernels::depthwise_conv2d_reference(in, in_shape, weights, bias, win, out);
    kernels::activation_inplace(out, win.rows.out * win.cols.out * in_shape.c, activation);
  }
};

// The library's packed GEMM: weights packed once, bias and activation in the epilogue, the
// instruction set chosen at run time.
class PackedGemm {
 public:
  static constexpr const char* kName =
      "kernels::gemm_packed (packed weights, bias + activation fused, run-time ISA)";
  PackedGemm(const std::vector<float>& weights, const std::vector<float>& bias, Index k, Index n)
      : packed_(weights.data(), bias.data(), k, n) {}
  void run(const float* a, Index rows, float* c, Activation activation) const {
    kernels::gemm_packed(a, rows, packed_.k(), packed_, c, packed_.n(), activation);
  }

 private:
  kernels::PackedGemmWeights packed_;
};

// The library's SIMD 3x3 depthwise kernel, bias and activation fused.
struct SimdDepthwise {
  static constexpr const char* kName =
      "kernels::depthwise3x3 (SIMD, bias + activation fused, run-time ISA)";
  static void run(const float* in, const Shape& in_shape, const float* weights, const float* bias,
                  const Window2D& win, float* out, Activation activation) {
    assert(in_shape.n == 1 && win.kernel == 3);
    kernels::Depthwise3x3Params p;
    p.input = in;
    p.in_h = in_shape.h, p.in_w = in_shape.w, p.channels = in_shape.c;
    p.weights = weights, p.bias = bias, p.output = out;
    p.out_h = win.rows.out, p.out_w = win.cols.out, p.stride = win.stride;
    p.pad_top = win.rows.pad_before, p.pad_left = win.cols.pad_before;
    p.activation = activation;
    p.row_begin = 0, p.row_end = win.rows.out;
    kernels::depthwise3x3(p);
  }
};

// Eigen + the reference depthwise, as on main before the fast kernels: EigenGemm and
// ReferenceDepthwise.
using Gemm = PackedGemm;          // the switch for every GEMM
using Depthwise = SimdDepthwise;  // the switch for the 3x3 depthwise layers
// ---------------------------------------------------------------------------------------------

}  // namespace conv_vs_dsconv

namespace {

using conv_vs_dsconv::Depthwise;
using conv_vs_dsconv::Gemm;
using conv_vs_dsconv::ReferenceDepthwise;

std::vector<float> random_values(Index count, double low, double high, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(static_cast<float>(low), static_cast<float>(high));
  std::vector<float> v(static_cast<std::size_t>(count));
  for (float& x : v) x = dist(rng);
  return v;
}

// He-uniform weights and small positive biases keep activations alive (and away from
// denormals) through thirteen layers of ReLU6.
std::vector<float> weights_for(Index count, Index fan_in, unsigned seed) {
  const double limit = std::sqrt(6.0 / static_cast<double>(fan_in));
  return random_values(count, -limit, limit, seed);
}

// A k x k convolution run as im2col + GEMM.
struct StandardConv {
  Shape in;
  Index out_channels;
  Window2D win;
  Gemm gemm;  // weights (k*k*Cin) x Cout: HWIO flattened

  StandardConv(const Shape& input, Index cout, Index k, Index stride, const Padding& padding, unsigned seed)
      : in(input),
        out_channels(cout),
        win(window_2d(input.h, input.w, k, stride, padding)),
        gemm(weights_for(k * k * input.c * cout, k * k * input.c, seed),
             random_values(cout, 0.0, 0.1, seed + 1), k * k * input.c, cout) {}

  Shape out() const { return Shape(in.n, win.rows.out, win.cols.out, out_channels); }
  Index scratch_size() const { return kernels::im2col_size(in, win); }
  Index multiply_adds() const { return out().size() * win.kernel * win.kernel * in.c; }

  void run(const float* input, float* scratch, float* output) const {
    kernels::conv2d_im2col_with(input, in, win, scratch, out_channels, output,
                                [&](const float* a, Index rows, float* c) {
                                  gemm.run(a, rows, c, Activation::ReLU6);
                                });
  }
};

// Its depthwise-separable twin: depthwise k x k with the same window, then pointwise 1x1.
struct SeparableConv {
  Shape in;
  Index out_channels;
  Window2D win;
  std::vector<float> depthwise_weights, depthwise_bias;
  Gemm pointwise;  // Cin x Cout

  SeparableConv(const Shape& input, Index cout, Index k, Index stride, const Padding& padding,
                unsigned seed)
      : in(input),
        out_channels(cout),
        win(window_2d(input.h, input.w, k, stride, padding)),
        depthwise_weights(weights_for(k * k * input.c, k * k, seed)),
        depthwise_bias(random_values(input.c, 0.0, 0.1, seed + 1)),
        pointwise(weights_for(input.c * cout, input.c, seed + 2), random_values(cout, 0.0, 0.1, seed + 3),
                  input.c, cout) {}

  Shape out() const { return Shape(in.n, win.rows.out, win.cols.out, out_channels); }
  Index scratch_size() const { return in.n * win.rows.out * win.cols.out * in.c; }  // depthwise result
  Index multiply_adds() const {
    return out().rows() * in.c * (win.kernel * win.kernel + out_channels);
  }

  // The depthwise half alone, into `scratch`.
  void run_depthwise(const float* input, float* scratch) const {
    if (win.kernel == 3) {
      Depthwise::run(input, in, depthwise_weights.data(), depthwise_bias.data(), win, scratch,
                     Activation::ReLU6);
    } else {  // the textbook's 5x5: no specialised kernel
      ReferenceDepthwise::run(input, in, depthwise_weights.data(), depthwise_bias.data(), win,
                              scratch, Activation::ReLU6);
    }
  }

  void run(const float* input, float* scratch, float* output) const {
    run_depthwise(input, scratch);
    pointwise.run(scratch, out().rows(), output, Activation::ReLU6);
  }
};

void set_counters(benchmark::State& state, Index multiply_adds, Index parameters) {
  state.counters["mult_adds"] = static_cast<double>(multiply_adds);
  state.counters["params"] = static_cast<double>(parameters);
  state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * static_cast<double>(multiply_adds),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// Times `step(input, scratch, output)` of one layer on a random input.
template <typename Conv, typename Step>
void run_layer(benchmark::State& state, const Conv& conv, Index multiply_adds, Index parameters,
               const std::string& label, Step step) {
  const std::vector<float> input = random_values(conv.in.size(), 0.0, 1.0, 7);
  std::vector<float> scratch(static_cast<std::size_t>(std::max<Index>(conv.scratch_size(), 1)));
  std::vector<float> output(static_cast<std::size_t>(conv.out().size()));
  for (auto _ : state) {
    step(input.data(), scratch.data(), output.data());
    benchmark::DoNotOptimize(output.data());
    benchmark::DoNotOptimize(scratch.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, multiply_adds, parameters);
  state.SetLabel(label);
}

std::string shape_label(const ConvPairCost& c) {
  auto hwc = [](const Shape& s) {
    return std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c);
  };
  return hwc(c.input) + " -> " + hwc(c.output) + " k" + std::to_string(c.kernel) + " s" +
         std::to_string(c.stride);
}

// Registers the standard/separable pair for one shape, the standard side's im2col copy and
// the separable side's depthwise half.
void register_pair(const std::string& prefix, const ConvPairCost& cost, const Padding& padding) {
  const std::string label = shape_label(cost);
  const Shape in = cost.input;
  const Index cout = cost.output.c, k = cost.kernel, s = cost.stride;
  benchmark::RegisterBenchmark((prefix + "/standard").c_str(), [=](benchmark::State& state) {
    const StandardConv conv(in, cout, k, s, padding, 11);
    run_layer(state, conv, cost.standard_multiply_adds, cost.standard_parameters, label,
              [&](const float* x, float* scratch, float* y) { conv.run(x, scratch, y); });
  })->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark((prefix + "/separable").c_str(), [=](benchmark::State& state) {
    const SeparableConv conv(in, cout, k, s, padding, 13);
    run_layer(state, conv, cost.separable_multiply_adds(), cost.separable_parameters(), label,
              [&](const float* x, float* scratch, float* y) { conv.run(x, scratch, y); });
  })->Unit(benchmark::kMicrosecond);
  // The im2col copy alone: what the standard convolution pays before its GEMM.
  benchmark::RegisterBenchmark((prefix + "/im2col").c_str(), [=](benchmark::State& state) {
    const StandardConv conv(in, cout, k, s, padding, 11);
    run_layer(state, conv, 0, 0, label, [&](const float* x, float* scratch, float*) {
      kernels::im2col(x, conv.in, conv.win, scratch);
    });
  })->Unit(benchmark::kMicrosecond);
  // The depthwise half alone: how much of the separable time its few mult-adds take.
  benchmark::RegisterBenchmark((prefix + "/depthwise").c_str(), [=](benchmark::State& state) {
    const SeparableConv conv(in, cout, k, s, padding, 13);
    run_layer(state, conv, cost.depthwise_multiply_adds, cost.depthwise_parameters, label,
              [&](const float* x, float* scratch, float*) { conv.run_depthwise(x, scratch); });
  })->Unit(benchmark::kMicrosecond);
}

// A MobileNetV1 1.0/224 body whose 13 blocks are `Block` (StandardConv for Conv MobileNet,
// SeparableConv for MobileNet), with the same stem (im2col + GEMM), global average pool and
// 1024 -> 1000 classifier (GEMM) around them, ping-ponging between two buffers.
template <typename Block>
class Network {
 public:
  explicit Network(const MobileNetV1<float>& model)
      : stem_(model.input_shape(1), kStemChannels, 3, kStemStride, model.config().padding, 100) {
    Shape s = stem_.out();
    Index largest = s.size(), scratch = stem_.scratch_size();
    unsigned seed = 200;
    for (const auto& block : model.blocks) {
      const DSConvOptions& o = block.options();
      blocks_.emplace_back(s, o.out_channels, 3, o.stride, o.padding, seed += 10);
      s = blocks_.back().out();
      largest = std::max(largest, s.size());
      scratch = std::max(scratch, blocks_.back().scratch_size());
    }
    features_ = s;
    classes_ = model.config().num_classes;
    classifier_.emplace(weights_for(s.c * classes_, s.c, 300), random_values(classes_, 0.0, 0.1, 301),
                      s.c, classes_);
    input_ = random_values(model.input_shape(1).size(), -1.0, 1.0, 302);
    ping_.resize(static_cast<std::size_t>(largest));
    pong_.resize(static_cast<std::size_t>(largest));
    scratch_.resize(static_cast<std::size_t>(scratch));
    pooled_.resize(static_cast<std::size_t>(s.c));
    logits_.resize(static_cast<std::size_t>(classes_));
  }

  Index multiply_adds() const {
    Index total = stem_.multiply_adds() + features_.c * classes_;
    for (const Block& b : blocks_) total += b.multiply_adds();
    return total;
  }

  // The whole network, or (with_blocks false) only the layers both kinds share: stem, pool
  // and classifier.
  void run(bool with_blocks = true) {
    stem_.run(input_.data(), scratch_.data(), ping_.data());
    float* x = ping_.data();
    float* y = pong_.data();
    if (with_blocks) {
      for (const Block& b : blocks_) {
        b.run(x, scratch_.data(), y);
        std::swap(x, y);
      }
    }
    kernels::global_average_pool(x, features_, pooled_.data());
    classifier_->run(pooled_.data(), 1, logits_.data(), Activation::None);
    benchmark::DoNotOptimize(logits_.data());
    benchmark::ClobberMemory();
  }
  Index shared_multiply_adds() const { return stem_.multiply_adds() + features_.c * classes_; }

 private:
  StandardConv stem_;
  std::vector<Block> blocks_;
  Shape features_;
  Index classes_ = 0;
  std::optional<Gemm> classifier_;  // its depth is known only once the blocks are built
  std::vector<float> input_, ping_, pong_, scratch_, pooled_, logits_;
};

template <typename Block>
void register_network(const std::string& name, BlockConvolution kind) {
  benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
    const MobileNetV1<float> model;
    Network<Block> network(model);
    const Accounting counted = paper_accounting(model, kind);
    if (network.multiply_adds() != counted.total_multiply_adds()) {
      state.SkipWithError("the benchmarked network does not do the counted multiply-adds");
      return;
    }
    for (auto _ : state) network.run();
    set_counters(state, counted.total_multiply_adds(), counted.total_parameters());
    state.SetLabel("224x224x3 -> 1000");
  })->Unit(benchmark::kMillisecond);
}

bool register_all() {
  // Written into the JSON output's context, so a report says what ran.
  benchmark::AddCustomContext("gemm", Gemm::kName);
  benchmark::AddCustomContext("depthwise3x3", Depthwise::kName);
  benchmark::AddCustomContext("standard_convolution", std::string("im2col + ") + Gemm::kName);
  benchmark::AddCustomContext("isa", kernels::isa_name(kernels::best_isa()));
  register_pair("textbook", conv_pair_cost(Shape(1, 12, 12, 3), 5, 1, Padding::valid(), 256),
                Padding::valid());
  const MobileNetV1<float> model;
  const std::vector<ConvPairCost> pairs = block_pair_costs(model);
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const std::string number = (i + 1 < 10 ? "0" : "") + std::to_string(i + 1);
    register_pair("layer/dsconv" + number, pairs[i], model.blocks[i].options().padding);
  }
  register_network<StandardConv>("network/conv_mobilenet", BlockConvolution::Full);
  register_network<SeparableConv>("network/mobilenet", BlockConvolution::Separable);
  // What both networks share, timed alone (the pool reads a map of the right size).
  benchmark::RegisterBenchmark("network/shared_layers", [](benchmark::State& state) {
    Network<SeparableConv> network{MobileNetV1<float>()};
    for (auto _ : state) network.run(/*with_blocks=*/false);
    set_counters(state, network.shared_multiply_adds(), 0);
    state.SetLabel("stem, pool, classifier");
  })->Unit(benchmark::kMillisecond);
  return true;
}

[[maybe_unused]] const bool registered = register_all();

}  // namespace
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
// The 3x3 depthwise layers of MobileNetV1 1.0/224 (shapes from kMobileNetV1Table) in 8 bits,
// each runnable Int8Isa's kernel, beside the float kernel of the best ISA on the same shape,
// one core. Counter: GOPS (2 x 9 x output pixels x channels per second; GFLOP/s for float).
// "all13" runs the 13 layers back to back. Pixels are laid out as the execution plan lays out
// float activations (padded_pixel_stride), bytes for int8, floats for float.
//
//   build/bench/bench_depthwise_int8 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/kernels/depthwise3x3.hpp"
#include "mobilenet/kernels/int8/depthwise3x3.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"

namespace {

using mobilenet::Index;
using mobilenet::kernels::Int8Isa;

constexpr Index kResolution = 224;
constexpr Index kStemChannels = 32;

// One depthwise layer with its own random data, in 8 bits and in float.
struct Layer {
  std::string name;
  std::vector<std::uint8_t> input, output;
  std::vector<std::int8_t> weights;
  std::vector<std::int32_t> bias;
  std::vector<mobilenet::Requantization> requantization;
  mobilenet::kernels::DepthwiseInt8Layer layer;
  mobilenet::kernels::Depthwise3x3Int8Params params;
  std::vector<float> input_f, weights_f, bias_f, output_f;
  mobilenet::kernels::Depthwise3x3Params params_f;

  Index multiply_adds() const { return params.out_h * params.out_w * params.channels * 9; }
};

void fill_float(Layer& l, Index size, Index out, Index stride_px, std::mt19937& rng) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  auto random = [&](Index n) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = uniform(rng);
    return v;
  };
  const Index ch = l.params.channels;
  l.input_f = random(size * size * stride_px);
  l.weights_f = random(9 * ch);
  l.bias_f = random(ch);
  l.output_f.resize(static_cast<std::size_t>(out * out * stride_px));
  mobilenet::kernels::Depthwise3x3Params& p = l.params_f;
  p.input = l.input_f.data();
  p.in_h = p.in_w = size;
  p.channels = ch;
  p.weights = l.weights_f.data();
  p.bias = l.bias_f.data();
  p.output = l.output_f.data();
  p.out_h = p.out_w = out;
  p.stride = l.params.stride;
  p.pad_top = p.pad_left = l.params.pad_top;
  p.activation = mobilenet::Activation::ReLU6;
  p.row_begin = 0;
  p.row_end = out;
  p.in_pixel_stride = p.out_pixel_stride = stride_px;
}

std::unique_ptr<Layer> make_layer(Index size, Index channels, Index stride, std::mt19937& rng) {
  const mobilenet::AxisWindow axis = mobilenet::window_axis(size, 3, stride, mobilenet::Padding::same());
  auto l = std::make_unique<Layer>();
  const Index px = mobilenet::kernels::padded_pixel_stride(channels);
  auto byte = [&] { return static_cast<int>(rng() % 256); };
  l->input.resize(static_cast<std::size_t>(size * size * px));
  for (auto& x : l->input) x = static_cast<std::uint8_t>(byte());
  l->output.resize(static_cast<std::size_t>(axis.out * axis.out * px));
  l->weights.resize(static_cast<std::size_t>(9 * channels));
  for (auto& w : l->weights) w = static_cast<std::int8_t>(byte() - 128);
  l->bias.resize(static_cast<std::size_t>(channels));
  for (auto& b : l->bias) b = byte() * 40 - 5000;
  for (Index c = 0; c < channels; ++c)
    l->requantization.push_back(mobilenet::quantize_multiplier(0.0005 + 0.00001 * static_cast<double>(c % 50)));
  mobilenet::kernels::DepthwiseInt8Layer& q = l->layer;
  q.weights = l->weights.data();
  q.bias = l->bias.data();
  q.channels = channels;
  q.weight_zero_point = 5;
  q.input_zero_point = 128;
  q.requantization = l->requantization.data();
  q.output_zero_point = 0;
  q.range = mobilenet::QuantRange{0, 255};
  mobilenet::kernels::Depthwise3x3Int8Params& p = l->params;
  p.input = l->input.data();
  p.in_h = p.in_w = size;
  p.channels = channels;
  p.output = l->output.data();
  p.out_h = p.out_w = axis.out;
  p.stride = stride;
  p.pad_top = p.pad_left = axis.pad_before;
  p.row_begin = 0;
  p.row_end = axis.out;
  p.in_pixel_stride = p.out_pixel_stride = px;
  l->name = "dsconv_" + std::to_string(size) + "x" + std::to_string(size) + "x" + std::to_string(channels) + "_s" +
            std::to_string(stride);
  fill_float(*l, size, axis.out, px, rng);
  return l;
}

std::vector<std::unique_ptr<Layer>>& layers() {
  static std::vector<std::unique_ptr<Layer>> all = [] {
    std::mt19937 rng(7);
    std::vector<std::unique_ptr<Layer>> v;
    Index size = mobilenet::window_axis(kResolution, 3, 2, mobilenet::Padding::same()).out;
    Index channels = kStemChannels;
    int number = 1;
    for (const auto& row : mobilenet::kMobileNetV1Table) {
      v.push_back(make_layer(size, channels, row.stride, rng));
      v.back()->name = "dsconv" + std::to_string(number++) + v.back()->name.substr(6);
      size = mobilenet::window_axis(size, 3, row.stride, mobilenet::Padding::same()).out;
      channels = row.out_channels;
    }
    return v;
  }();
  return all;
}

void set_counter(benchmark::State& state, Index multiply_adds) {
  state.counters["GOPS"] =
      benchmark::Counter(2e-9 * static_cast<double>(multiply_adds), benchmark::Counter::kIsIterationInvariantRate);
}

// isa < 0: the float kernel of best_isa(). weight_zero_point 5 (asymmetric uint8 files) or 0
// (int8 files, whose weights AVX-512 VNNI packs in the quad layout).
void bench_layers(benchmark::State& state, std::vector<Layer*> chosen, int isa, std::int32_t weight_zero_point) {
  std::vector<mobilenet::kernels::PackedDepthwiseInt8Weights> packed;
  std::vector<mobilenet::kernels::Depthwise3x3Int8Params> params;
  Index multiply_adds = 0;
  for (Layer* l : chosen) {
    multiply_adds += l->multiply_adds();
    if (isa < 0) continue;
    mobilenet::kernels::DepthwiseInt8Layer layer = l->layer;
    layer.weight_zero_point = weight_zero_point;
    packed.emplace_back(layer, static_cast<Int8Isa>(isa));
  }
  for (std::size_t i = 0; isa >= 0 && i < chosen.size(); ++i) {
    params.push_back(chosen[i]->params);
    params.back().weights = &packed[i];
  }
  for (auto _ : state) {
    for (std::size_t i = 0; i < chosen.size(); ++i) {
      if (isa < 0) mobilenet::kernels::depthwise3x3(chosen[i]->params_f);
      else mobilenet::kernels::depthwise3x3_int8(params[i]);
    }
    benchmark::ClobberMemory();
  }
  set_counter(state, multiply_adds);
}

bool register_benchmarks() {
  struct Kernel {
    std::string name;
    int isa;
    std::int32_t weight_zero_point;
  };
  std::vector<Kernel> kernels;
  for (Int8Isa isa : mobilenet::kernels::runnable_int8_isas()) {
    const std::string name = std::string("int8-") + mobilenet::kernels::int8_isa_name(isa);
    kernels.push_back({name, static_cast<int>(isa), 5});
    kernels.push_back({name + "-symmetric", static_cast<int>(isa), 0});
  }
  kernels.push_back({std::string("float-") + mobilenet::kernels::isa_name(mobilenet::kernels::best_isa()), -1, 0});
  std::vector<Layer*> all;
  for (auto& l : layers()) all.push_back(l.get());
  for (const Kernel& k : kernels) {
    benchmark::RegisterBenchmark(("depthwise3x3/all13/" + k.name).c_str(), bench_layers, all, k.isa,
                                 k.weight_zero_point)
        ->Unit(benchmark::kMicrosecond);
    for (Layer* l : all)
      benchmark::RegisterBenchmark(("depthwise3x3/" + l->name + "/" + k.name).c_str(), bench_layers,
                                   std::vector<Layer*>{l}, k.isa, k.weight_zero_point)
          ->Unit(benchmark::kMicrosecond);
  }
  return true;
}

const bool registered = register_benchmarks();

}  // namespace

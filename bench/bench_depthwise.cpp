// SPDX-License-Identifier: MIT
// The 3x3 depthwise layers of MobileNetV1 1.0/224 (shapes from kMobileNetV1Table), each ISA's
// kernel against the reference twin, one core. Counters: GFLOP/s (2 x multiply-adds) and
// bytes/s (input + output + weights + bias read or written once). "all13" runs the 13 layers
// back to back: the depthwise share of one inference. Pixels are laid out as the execution
// plan lays them out (kernels::padded_pixel_stride: 256, 512 and 1024 channels get a cache
// line more per pixel); bytes/s counts the channels only.
//
//   build/bench/bench_depthwise --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/kernels/depthwise3x3.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"

namespace {

using mobilenet::Index;
using mobilenet::kernels::Depthwise3x3Params;
using mobilenet::kernels::Isa;

constexpr Index kResolution = 224;
constexpr Index kStemChannels = 32;

// One depthwise layer with its own random input, weights and output.
struct Layer {
  std::string name;
  std::vector<float> input, weights, bias, output;
  Depthwise3x3Params params;

  Index multiply_adds() const { return params.out_h * params.out_w * params.channels * 9; }
  Index bytes() const {
    const Index pixels = params.in_h * params.in_w + params.out_h * params.out_w;
    return static_cast<Index>(sizeof(float)) * (pixels * params.channels + static_cast<Index>(weights.size() + bias.size()));
  }
};

std::vector<Layer> mobilenet_v1_depthwise_layers() {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  auto random = [&](Index n) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = uniform(rng);
    return v;
  };
  const mobilenet::Padding same = mobilenet::Padding::same();
  Index size = mobilenet::window_axis(kResolution, 3, 2, same).out;  // after the stem
  Index channels = kStemChannels;
  std::vector<Layer> layers;
  int number = 1;
  for (const auto& row : mobilenet::kMobileNetV1Table) {
    const mobilenet::AxisWindow axis = mobilenet::window_axis(size, 3, row.stride, same);
    Layer l;
    l.name = "dsconv" + std::to_string(number++) + "_" + std::to_string(size) + "x" +
             std::to_string(size) + "x" + std::to_string(channels) + "_s" +
             std::to_string(row.stride);
    const Index stride = mobilenet::kernels::padded_pixel_stride(channels);
    l.input = random(size * size * stride);
    l.weights = random(9 * channels);
    l.bias = random(channels);
    l.output.resize(static_cast<std::size_t>(axis.out * axis.out * stride));
    Depthwise3x3Params& p = l.params;
    p = Depthwise3x3Params{};
    p.input = l.input.data();
    p.in_h = p.in_w = size;
    p.channels = channels;
    p.weights = l.weights.data();
    p.bias = l.bias.data();
    p.output = l.output.data();
    p.out_h = p.out_w = axis.out;
    p.stride = row.stride;
    p.pad_top = p.pad_left = axis.pad_before;
    p.activation = mobilenet::Activation::ReLU6;
    p.row_begin = 0;
    p.row_end = axis.out;
    p.in_pixel_stride = p.out_pixel_stride = stride;
    layers.push_back(std::move(l));
    size = axis.out;
    channels = row.out_channels;
  }
  return layers;
}

std::vector<Layer>& layers() {
  static std::vector<Layer> all = mobilenet_v1_depthwise_layers();
  return all;
}

// Kernel under test: an ISA, or the reference twin when `reference` is set.
void run(const Depthwise3x3Params& params, bool reference, Isa isa) {
  if (reference) mobilenet::kernels::depthwise3x3_reference(params);
  else mobilenet::kernels::depthwise3x3(params, isa);
}

void set_counters(benchmark::State& state, Index multiply_adds, Index bytes) {
  state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * static_cast<double>(multiply_adds),
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.SetBytesProcessed(state.iterations() * bytes);
}

void bench_layer(benchmark::State& state, const Layer* layer, bool reference, Isa isa) {
  for (auto _ : state) {
    run(layer->params, reference, isa);
    benchmark::DoNotOptimize(layer->output.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, layer->multiply_adds(), layer->bytes());
}

void bench_all_layers(benchmark::State& state, bool reference, Isa isa) {
  Index multiply_adds = 0, bytes = 0;
  for (const Layer& l : layers()) {
    multiply_adds += l.multiply_adds();
    bytes += l.bytes();
  }
  for (auto _ : state) {
    for (const Layer& l : layers()) run(l.params, reference, isa);
    benchmark::ClobberMemory();
  }
  set_counters(state, multiply_adds, bytes);
}

bool register_benchmarks() {
  struct Kernel {
    std::string name;
    bool reference;
    Isa isa;
  };
  std::vector<Kernel> kernels{{"reference", true, Isa::Generic}};
  for (Isa isa : mobilenet::kernels::depthwise3x3_runnable_isas())
    kernels.push_back({mobilenet::kernels::isa_name(isa), false, isa});
  for (const Kernel& k : kernels) {
    benchmark::RegisterBenchmark(("depthwise3x3/all13/" + k.name).c_str(), bench_all_layers,
                                 k.reference, k.isa)->Unit(benchmark::kMicrosecond);
    for (const Layer& l : layers())
      benchmark::RegisterBenchmark(("depthwise3x3/" + l.name + "/" + k.name).c_str(), bench_layer,
                                   &l, k.reference, k.isa)->Unit(benchmark::kMicrosecond);
  }
  return true;
}

const bool registered = register_benchmarks();

}  // namespace

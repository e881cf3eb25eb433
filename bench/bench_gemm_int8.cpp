// SPDX-License-Identifier: MIT
// The 8-bit GEMMs of MobileNetV1 1.0/224 (batch 1): the stem as im2col (K = 27), the 13
// pointwise layers of Table 1 and the classifier, through gemm_int8_packed on every 8-bit
// instruction set this CPU runs, with symmetric (zw = 0, int8 files) and asymmetric (zw != 0,
// uint8 files) weights; the deepest pointwise layer (dsconv13) also with single rounding
// (int8 files' convolutions, .../symmetric/single) beside its double-rounding run; and the
// scalar reference on the small ones. Counter: GOPS (2 operations a multiply-add), to set
// beside bench_bandwidth's vnni_peak.
//
//   build/bench/bench/bench_gemm_int8 --benchmark_filter=avx512
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "mobilenet/kernels/int8/gemm.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"

namespace {

using mobilenet::Index;
namespace kernels = mobilenet::kernels;

struct GemmShape {
  std::string name;
  Index m, k, n;
};

std::vector<GemmShape> mobilenet_shapes() {
  std::vector<GemmShape> shapes{{"stem_im2col", 112 * 112, 27, mobilenet::kStemChannels}};
  Index size = 112, in = mobilenet::kStemChannels;
  int block = 1;
  for (const auto& row : mobilenet::kMobileNetV1Table) {
    size /= row.stride;
    shapes.push_back({"dsconv" + std::to_string(block++), size * size, in, row.out_channels});
    in = row.out_channels;
  }
  shapes.push_back({"classifier", 1, in, 1001});
  return shapes;
}

// A layer of shape s with realistic parameters: weights and activations over their whole
// range, one multiplier per column.
struct Operands {
  std::vector<std::uint8_t> a, c;
  std::vector<std::int8_t> w;
  std::vector<std::int32_t> bias;
  std::vector<mobilenet::Requantization> requantization;
  kernels::Int8GemmLayer layer;
  Operands(const GemmShape& s, std::int32_t weight_zero_point,
           mobilenet::Rounding rounding = mobilenet::Rounding::Double) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> byte(0, 255), bias_value(-5000, 5000);
    for (Index i = 0; i < s.m * s.k; ++i) a.push_back(static_cast<std::uint8_t>(byte(rng)));
    for (Index i = 0; i < s.k * s.n; ++i) w.push_back(static_cast<std::int8_t>(byte(rng) - 128));
    for (Index j = 0; j < s.n; ++j) bias.push_back(bias_value(rng));
    for (Index j = 0; j < s.n; ++j) requantization.push_back(mobilenet::quantize_multiplier(0.0003 + 1e-6 * double(j)));
    c.resize(static_cast<std::size_t>(s.m * s.n));
    layer.weights = w.data(), layer.bias = bias.data(), layer.k = s.k, layer.n = s.n;
    layer.weight_zero_point = weight_zero_point, layer.input_zero_point = 128;
    layer.requantization = requantization.data(), layer.output_zero_point = 0, layer.range = {0, 255};
    layer.rounding = rounding;
  }
};

void set_counters(benchmark::State& state, const GemmShape& s) {
  const double ops = 2.0 * double(s.m) * double(s.k) * double(s.n);
  state.counters["GOPS"] = benchmark::Counter(ops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["M"] = double(s.m), state.counters["K"] = double(s.k), state.counters["N"] = double(s.n);
}

void bench_packed(benchmark::State& state, GemmShape s, kernels::Int8Isa isa, std::int32_t zw,
                  mobilenet::Rounding rounding = mobilenet::Rounding::Double) {
  if (!kernels::int8_isa_supported(isa)) return state.SkipWithError("instruction set not supported here");
  Operands o(s, zw, rounding);
  const kernels::PackedInt8GemmWeights packed(o.layer, isa);
  for (auto _ : state) {
    kernels::gemm_int8_packed(o.a.data(), s.m, s.k, packed, o.c.data(), s.n);
    benchmark::DoNotOptimize(o.c.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, s);
  state.SetLabel(kernels::int8_isa_name(isa));
}

void bench_reference(benchmark::State& state, GemmShape s) {
  Operands o(s, 3);
  for (auto _ : state) {
    kernels::gemm_int8_reference(o.a.data(), s.m, s.k, o.layer, o.c.data(), s.n);
    benchmark::DoNotOptimize(o.c.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, s);
}

const bool registered = [] {
  for (const GemmShape& s : mobilenet_shapes()) {
    for (kernels::Int8Isa isa : kernels::runnable_int8_isas())
      for (std::int32_t zw : {0, 3}) {
        const std::string name =
            "gemm_int8/" + s.name + "/" + kernels::int8_isa_name(isa) + (zw ? "/zw" : "/symmetric");
        benchmark::RegisterBenchmark(name.c_str(), bench_packed, s, isa, zw, mobilenet::Rounding::Double);
      }
    if (s.name == "dsconv13")
      for (kernels::Int8Isa isa : kernels::runnable_int8_isas()) {
        const std::string name = "gemm_int8/" + s.name + "/" + kernels::int8_isa_name(isa) + "/symmetric/single";
        benchmark::RegisterBenchmark(name.c_str(), bench_packed, s, isa, 0, mobilenet::Rounding::Single);
      }
    if (s.m * s.k * s.n <= 784 * 128 * 128)
      benchmark::RegisterBenchmark(("gemm_int8/" + s.name + "/reference").c_str(), bench_reference, s);
  }
  return true;
}();

}  // namespace

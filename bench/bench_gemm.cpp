// SPDX-License-Identifier: MIT
// Each GEMM of MobileNetV1 1.0/224 (batch 1), pointwise layers foremost, C[M x N] = A[M x K] * B + bias,
// ReLU6: our packed GEMM on each instruction set, Eigen's product (the foundation's
// pointwise_eigen, then the activation) and the plain reference. Counter: GFLOP/s (2 flops a
// multiply-add).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/kernels/gemm.hpp"
#include "mobilenet/kernels/pointwise.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"

namespace {

using mobilenet::Index;
namespace kernels = mobilenet::kernels;

struct GemmShape {
  std::string name;
  Index m, k, n;
};

// The GEMMs of MobileNetV1 1.0/224 at batch 1: the stem as im2col (K = 3 x 3 x 3), the 13
// pointwise layers of Table 1, and the classifier (M = batch).
std::vector<GemmShape> pointwise_shapes() {
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

std::vector<float> random_values(Index count) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (float& x : v) x = dist(rng);
  return v;
}

void set_counters(benchmark::State& state, const GemmShape& s) {
  const double flops = 2.0 * double(s.m) * double(s.k) * double(s.n);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["M"] = double(s.m), state.counters["K"] = double(s.k), state.counters["N"] = double(s.n);
}

// Times `multiply(a, w, bias, c)` on random operands of shape s.
template <typename Multiply>
void run_gemm(benchmark::State& state, const GemmShape& s, Multiply&& multiply) {
  const auto a = random_values(s.m * s.k), w = random_values(s.k * s.n), bias = random_values(s.n);
  std::vector<float> c(static_cast<std::size_t>(s.m * s.n));
  for (auto _ : state) {
    multiply(a.data(), w.data(), bias.data(), c.data());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, s);
}

// pairs_outer: the pass order GemmBlocking::pairs_outer (the plan's when the model stays in L3).
void bench_packed(benchmark::State& state, GemmShape s, kernels::Isa isa, bool pairs_outer) {
  if (!kernels::isa_supported(isa)) return state.SkipWithError("instruction set not supported here");
  // The same values run_gemm draws (same seed), packed once outside the timed loop.
  const auto w = random_values(s.k * s.n), bias = random_values(s.n);
  const kernels::PackedGemmWeights packed(w.data(), bias.data(), s.k, s.n);
  kernels::GemmOptions options;
  options.isa = isa;
  options.blocking.pairs_outer = pairs_outer;
  const kernels::GemmRange whole{0, s.m, 0, packed.panels()};
  run_gemm(state, s, [&](const float* a, const float*, const float*, float* c) {
    kernels::gemm_packed_range(a, s.k, packed, c, s.n, mobilenet::Activation::ReLU6, whole, options);
  });
}

void bench_eigen(benchmark::State& state, GemmShape s) {
  run_gemm(state, s, [&](const float* a, const float* w, const float* bias, float* c) {
    kernels::pointwise_eigen(a, s.m, s.k, w, bias, s.n, c);
    kernels::activation_inplace(c, s.m * s.n, mobilenet::Activation::ReLU6);
  });
}

void bench_reference(benchmark::State& state, GemmShape s) {
  run_gemm(state, s, [&](const float* a, const float* w, const float* bias, float* c) {
    kernels::gemm_reference(a, s.m, s.k, w, bias, s.k, s.n, c, s.n, mobilenet::Activation::ReLU6);
  });
}

int register_all() {
  for (const GemmShape& s : pointwise_shapes()) {
    const std::string shape = s.name + "/M:" + std::to_string(s.m) + "/K:" + std::to_string(s.k) +
                              "/N:" + std::to_string(s.n);
    for (kernels::Isa isa : {kernels::Isa::Avx512, kernels::Isa::Avx2, kernels::Isa::Neon, kernels::Isa::Generic})
      if (kernels::isa_supported(isa))
        benchmark::RegisterBenchmark(("Gemm/ours_" + std::string(kernels::isa_name(isa)) + "/" + shape).c_str(),
                                     bench_packed, s, isa, false);
    for (kernels::Isa isa : {kernels::Isa::Avx512, kernels::Isa::Avx2})  // the ISAs with two-panel tiles
      if (kernels::isa_supported(isa))
        benchmark::RegisterBenchmark(("Gemm/ours_" + std::string(kernels::isa_name(isa)) + "_pairs_outer/" + shape).c_str(),
                                     bench_packed, s, isa, true);
    benchmark::RegisterBenchmark(("Gemm/eigen/" + shape).c_str(), bench_eigen, s);
    benchmark::RegisterBenchmark(("Gemm/reference/" + shape).c_str(), bench_reference, s)
        ->MinTime(0.05);
  }
  return 0;
}
const int registered = register_all();

}  // namespace

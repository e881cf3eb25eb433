// SPDX-License-Identifier: MIT
// Every layer of Table 1 (MobileNetV1 1.0/224, batch 1). Counters: GFLOP/s (2 flops a
// multiply-add) and bytes/s (activations in and out plus weights).
// - Layer/<step>/threads:T: the plan's steps as they run (stem, the 13 fused DSConv blocks,
//   pool, classifier, softmax), each timed alone in place with Plan::run_step.
// - Layer/dsconvN.depthwise and Layer/dsconvN.pointwise: the two halves of each block apart,
//   one thread, whole image: kernels::depthwise3x3 and the packed GEMM on the block's shapes.
// - Layer/stem.direct, .im2col_gemm, .reference: the stem's kernels against its reference twin.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <vector>
#include <string>

#include "mobilenet/mobilenet.hpp"
#include "mobilenet/plan.hpp"

namespace {

struct Fixture {
  explicit Fixture(int threads)
      : model(mobilenet::MobileNetV1Config::tf_slim(1.0, 224)),
        images(model.input_shape(1)),
        out(model.output_shape(1)) {
    model.randomize(1);
    plan = std::make_unique<mobilenet::Plan>(model, mobilenet::PlanOptions{1, threads});
    images.set_random();
    plan->run(images.view(), out.view());
  }
  mobilenet::MobileNetV1<float> model;
  mobilenet::Tensor<float> images, out;
  std::unique_ptr<mobilenet::Plan> plan;
};

Fixture& fixture(int threads) {
  static Fixture one(1), two(2);
  return threads == 1 ? one : two;
}

void set_counters(benchmark::State& state, double multiply_adds, double bytes) {
  state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * multiply_adds, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes/s"] =
      benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1024);
}

// The input shape of block `block` (0-based) for one image.
mobilenet::Shape block_input(const mobilenet::MobileNetV1<float>& model, std::size_t block) {
  mobilenet::Shape in = model.stem.output_shape(model.input_shape(1));
  for (std::size_t b = 0; b < block; ++b) in = model.blocks[b].output_shape(in);
  return in;
}

// in: H x W x C -> out: H/s x W/s x C, ReLU6, the block's window.
void bench_depthwise(benchmark::State& state, std::size_t block) {
  const auto& model = fixture(1).model;
  const mobilenet::Shape in = block_input(model, block);
  const auto& layer = model.blocks[block].depthwise;
  const mobilenet::Shape out = layer.output_shape(in);
  const mobilenet::Window2D w = layer.window(in);
  mobilenet::Tensor<float> x(in), y(out);
  x.set_random();
  const std::vector<float> bias(static_cast<std::size_t>(in.c), 0.1f);
  mobilenet::kernels::Depthwise3x3Params p;
  p.input = x.data(), p.in_h = in.h, p.in_w = in.w, p.channels = in.c;
  p.weights = layer.weight().data(), p.bias = bias.data();
  p.output = y.data(), p.out_h = out.h, p.out_w = out.w;
  p.stride = w.stride, p.pad_top = w.rows.pad_before, p.pad_left = w.cols.pad_before;
  p.activation = mobilenet::Activation::ReLU6, p.row_begin = 0, p.row_end = out.h;
  for (auto _ : state) {
    mobilenet::kernels::depthwise3x3(p);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, double(out.size() * 9), 4.0 * double(in.size() + out.size() + 10 * in.c));
}

// in: H x W x Cin -> out: H x W x Cout, ReLU6.
void bench_pointwise(benchmark::State& state, std::size_t block) {
  const auto& model = fixture(1).model;
  const auto& layer = model.blocks[block].pointwise;
  const mobilenet::Index k = layer.options().in_channels, n = layer.options().out_channels;
  const mobilenet::Shape mid = model.blocks[block].depthwise_output_shape(block_input(model, block));
  const mobilenet::kernels::PackedGemmWeights packed(layer.weight().data(), nullptr, k, n);
  mobilenet::Tensor<float> x(mid), y(layer.output_shape(mid));
  x.set_random();
  for (auto _ : state) {
    mobilenet::kernels::gemm_packed(x.data(), mid.pixels(), k, packed, y.data(), n, mobilenet::Activation::ReLU6);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, double(mid.pixels() * k * n), 4.0 * double(x.size() + y.size() + k * n));
}

// The stem three ways, one thread, whole image: the direct convolution the plan runs on
// AVX-512, im2col + the packed GEMM (what it runs elsewhere), and the reference twin.
enum class StemKernel { Direct, Im2colGemm, Reference };
void bench_stem(benchmark::State& state, StemKernel kernel) {
  using namespace mobilenet;
  const auto& model = fixture(1).model;
  const Shape in = model.input_shape(1), out = model.stem.output_shape(in);
  const Window2D win = model.stem.window(in);
  const Index k = 9 * in.c;
  const kernels::PackedGemmWeights packed(model.stem.weight().data(), nullptr, k, out.c);
  if (kernel == StemKernel::Direct && !kernels::direct_conv_available(kernels::best_isa(), packed)) {
    state.SkipWithError("the direct stem needs AVX-512");
    return;
  }
  Tensor<float> x(in), y(out);
  x.set_random();
  std::vector<float> scratch(static_cast<std::size_t>(std::max(
      kernels::padded_rows_count(win, 0, out.h) * kernels::padded_row_width(win) * in.c, out.pixels() * k)));
  for (auto _ : state) {
    if (kernel == StemKernel::Direct) {
      kernels::padded_rows(x.data(), in, win, 0, out.h, scratch.data());
      kernels::conv2d_direct_rows(scratch.data(), in.c, win, 0, out.h, packed, y.data(), out.c, Activation::ReLU6);
    } else if (kernel == StemKernel::Im2colGemm) {
      kernels::im2col(x.data(), in, win, scratch.data());
      kernels::gemm_packed(scratch.data(), out.pixels(), k, packed, y.data(), out.c, Activation::ReLU6);
    } else {
      kernels::conv2d_reference(x.data(), in, model.stem.weight().data(), static_cast<const float*>(nullptr), out.c,
                                win, y.data());
      kernels::activation_inplace(y.data(), y.size(), Activation::ReLU6);
    }
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, double(out.pixels() * k * out.c), 4.0 * double(x.size() + y.size() + k * out.c));
}

void bench_step(benchmark::State& state, int threads, std::size_t step) {
  mobilenet::Plan& plan = *fixture(threads).plan;
  const auto info = plan.step_info(1)[step];
  for (auto _ : state) plan.run_step(step);
  set_counters(state, double(info.multiply_adds), double(info.bytes));
}

int register_all() {
  benchmark::RegisterBenchmark("Layer/stem.direct", bench_stem, StemKernel::Direct)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("Layer/stem.im2col_gemm", bench_stem, StemKernel::Im2colGemm)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("Layer/stem.reference", bench_stem, StemKernel::Reference)
      ->Unit(benchmark::kMicrosecond);
  for (std::size_t b = 0; b < mobilenet::kMobileNetV1Table.size(); ++b) {
    const std::string name = "Layer/dsconv" + std::to_string(b + 1);
    benchmark::RegisterBenchmark((name + ".depthwise").c_str(), bench_depthwise, b)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((name + ".pointwise").c_str(), bench_pointwise, b)->Unit(benchmark::kMicrosecond);
  }
  for (int threads : {1, 2}) {
    const auto steps = fixture(threads).plan->step_info(1);
    for (std::size_t i = 0; i < steps.size(); ++i)
      benchmark::RegisterBenchmark(("Layer/" + steps[i].name + "/threads:" + std::to_string(threads)).c_str(),
                                   bench_step, threads, i)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
  }
  return 0;
}
const int registered = register_all();

}  // namespace

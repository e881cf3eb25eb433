// SPDX-License-Identifier: MIT
// Every layer of Table 1 as the plan runs it (MobileNetV1 1.0/224, batch 1): the stem, the 13
// fused DSConv blocks (depthwise + pointwise), the pool and the classifier, each timed alone
// in place with Plan::run_step. Counters: GFLOP/s (2 flops a multiply-add) and bytes/s
// (activations in and out plus weights). Threads 1 and 2.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "mobilenet/mobilenet.hpp"
#include "mobilenet/model/plan.hpp"

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

void bench_step(benchmark::State& state, int threads, std::size_t step) {
  mobilenet::Plan& plan = *fixture(threads).plan;
  const auto info = plan.step_info(1)[step];
  for (auto _ : state) plan.run_step(step);
  state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * double(info.multiply_adds),
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes/s"] = benchmark::Counter(double(info.bytes), benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1024);
}

int register_all() {
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

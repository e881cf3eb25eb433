// SPDX-License-Identifier: MIT
// MobileNetV1 end to end through the execution plan, random weights:
// alpha {0.25, 0.5, 0.75, 1.0} x resolution {128, 160, 192, 224} x threads {1, 2} x batch {1, 8}.
// Counter: images/s. Use --benchmark_filter='alpha:1.0/res:224' for the headline case.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>

#include "mobilenet/mobilenet.hpp"
#include "mobilenet/plan.hpp"

namespace {

void bench_plan(benchmark::State& state, double alpha, mobilenet::Index resolution, int threads,
                mobilenet::Index batch) {
  mobilenet::MobileNetV1<float> model(mobilenet::MobileNetV1Config::tf_slim(alpha, resolution));
  model.randomize(1);
  mobilenet::Plan plan(model, {batch, threads});
  mobilenet::Tensor<float> images(plan.input_shape(batch));
  images.set_random();
  mobilenet::Tensor<float> out(plan.output_shape(batch));
  plan.run(images.view(), out.view());  // warm-up: touches the arena and the weights
  for (auto _ : state) {
    plan.run(images.view(), out.view());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["images/s"] =
      benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["arena_MB"] = double(plan.arena_bytes()) / 1e6;
}

int register_all() {
  for (double alpha : {1.0, 0.75, 0.5, 0.25})
    for (mobilenet::Index res : {224, 192, 160, 128})
      for (int threads : {1, 2})
        for (mobilenet::Index batch : {1, 8}) {
          char name[96];
          std::snprintf(name, sizeof name, "MobileNetV1/alpha:%.2g/res:%d/threads:%d/batch:%d",
                        alpha, int(res), threads, int(batch));
          std::string label = name;
          if (alpha == 1.0) label.replace(label.find("alpha:1/"), 8, "alpha:1.0/");
          benchmark::RegisterBenchmark(label.c_str(), bench_plan, alpha, res, threads, batch)
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
        }
  return 0;
}
const int registered = register_all();

}  // namespace

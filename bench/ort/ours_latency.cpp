// SPDX-License-Identifier: MIT
// Our side of scripts/bench-ort.sh: MobileNetV1 (TF-slim, random weights) in mobilenet::Plan,
//   ours_latency ALPHA RESOLUTION THREADS BATCH RUNS [--l2-bytes N] [--l3-bytes N] [--describe]
// timed as bench/ort/ort_latency.js times ONNX Runtime: 20 warm-up runs, then the median and
// fastest wall ms of RUNS back-to-back Plan::run calls.
//   --l2-bytes N  tune the plan for an L2 of N bytes a core instead of the detected one
//                 (PlanTuning::for_cpu), to see what the tuning is worth
//   --l3-bytes N  the same for the L3 (whether the model fits it decides the GEMMs' pass order)
//   --describe    print the plan's layout (Plan::describe) before timing
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "mobilenet/mobilenet.hpp"
#include "mobilenet/plan.hpp"

int main(int argc, char** argv) {
  const char* const usage =
      "usage: ours_latency ALPHA RESOLUTION THREADS BATCH RUNS [--l2-bytes N] [--l3-bytes N] [--describe]\n";
  if (argc < 6) {
    std::fprintf(stderr, "%s", usage);
    return 2;
  }
  const double alpha = std::atof(argv[1]);
  const int resolution = std::atoi(argv[2]), threads = std::atoi(argv[3]), batch = std::atoi(argv[4]),
            runs = std::max(1, std::atoi(argv[5]));
  mobilenet::PlanOptions options = mobilenet::PlanOptions().with_batch(batch).with_threads(threads);
  bool describe = false;
  mobilenet::kernels::CpuCaches caches = mobilenet::kernels::cpu_caches();
  for (int i = 6; i < argc; ++i) {
    if (std::strcmp(argv[i], "--describe") == 0) {
      describe = true;
    } else if (std::strcmp(argv[i], "--l2-bytes") == 0 && i + 1 < argc && std::atoll(argv[i + 1]) > 0) {
      caches.l2_bytes = std::atoll(argv[++i]);
      options = options.with_tuning(mobilenet::PlanTuning::for_cpu(caches));
    } else if (std::strcmp(argv[i], "--l3-bytes") == 0 && i + 1 < argc && std::atoll(argv[i + 1]) >= 0) {
      caches.l3_bytes = std::atoll(argv[++i]);
      options = options.with_tuning(mobilenet::PlanTuning::for_cpu(caches));
    } else {
      std::fprintf(stderr, "%s", usage);
      return 2;
    }
  }
  mobilenet::MobileNetV1<float> model(mobilenet::MobileNetV1Config::tf_slim(alpha, resolution));
  model.randomize(1);
  mobilenet::Plan plan(model, options);
  if (describe) std::printf("%s", plan.describe().c_str());
  mobilenet::Tensor<float> images(model.input_shape(batch)), out(model.output_shape(batch));
  images.set_random();
  for (int i = 0; i < 20; ++i) plan.run(images.view(), out.view());
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    plan.run(images.view(), out.view());
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  std::printf("ours threads %d batch %d: median %.3f ms, fastest %.3f ms\n", threads, batch, times[times.size() / 2],
              times.front());
}

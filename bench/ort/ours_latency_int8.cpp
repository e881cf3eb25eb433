// SPDX-License-Identifier: MIT
// Our 8-bit side of scripts/bench-int8.sh: a quantized MobileNetV1 in mobilenet::QuantizedPlan,
//   ours_latency_int8 MODEL.tflite THREADS BATCH RUNS [--describe] [--float] [--steps [PEAK_GOPS]]
// MODEL is a quantized .tflite (bench/quant/make_quant_models.py writes random ones). Timed
// as ours_latency and bench/ort/ort_latency.js time: 20 warm-up runs, then the median
// and fastest wall ms of RUNS back-to-back runs. --float runs the same file dequantized in
// the float Plan instead. --steps also times each step alone (median of RUNS) and prints its
// GOPS (2 x multiply-adds / time) by step and by kind of layer, and the fraction of PEAK_GOPS
// (one core's int8 peak times the threads: bench_bandwidth --benchmark_filter=vnni_peak).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "mobilenet/io/tflite.hpp"
#include "mobilenet/plan.hpp"
#include "mobilenet/quantized_plan.hpp"

namespace {

template <typename Run>
void time_runs(Run&& run, int runs, int threads, int batch, const char* what) {
  for (int i = 0; i < 20; ++i) run();
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  std::printf("ours%s threads %d batch %d: median %.3f ms, fastest %.3f ms\n", what, threads, batch,
              times[times.size() / 2], times.front());
}

// Each step alone, in place: median ms, GOPS, and the totals by kind of step; and each step's
// median when the steps run in turn, as in a whole run.
void time_steps(mobilenet::QuantizedPlan& plan, int runs, int batch, double peak) {
  const auto info = plan.step_info(batch);
  const char* kinds[] = {"stem", "dsconv", "pool", "classifier", "softmax"};
  double kind_ms[5] = {0}, kind_ops[5] = {0};
  // Each step in the order of a whole run, as the caches find it there.
  std::vector<std::vector<double>> in_run(info.size());
  for (int r = 0; r < runs; ++r)
    for (std::size_t i = 0; i < info.size(); ++i) {
      const auto start = std::chrono::steady_clock::now();
      plan.run_step(i);
      in_run[i].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
  for (std::size_t i = 0; i < info.size(); ++i) {
    std::vector<double> times;
    for (int r = 0; r < runs; ++r) {
      const auto start = std::chrono::steady_clock::now();
      plan.run_step(i);
      times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    const double ms = times[times.size() / 2], ops = 2.0 * static_cast<double>(info[i].multiply_adds);
    const int k = static_cast<int>(info[i].kind);
    kind_ms[k] += ms, kind_ops[k] += ops;
    std::printf("  %-12s %8.3f ms %8.1f GOPS", info[i].name.c_str(), ms, ops / ms / 1e6);
    if (peak > 0 && ops > 0) std::printf("  %5.1f%% of peak", 100.0 * ops / ms / 1e6 / peak);
    std::sort(in_run[i].begin(), in_run[i].end());
    std::printf("  in a run %8.3f ms\n", in_run[i][in_run[i].size() / 2]);
  }
  for (int k = 0; k < 5; ++k) {
    if (kind_ms[k] == 0) continue;
    std::printf("  all %-8s %8.3f ms %8.1f GOPS", kinds[k], kind_ms[k], kind_ops[k] / kind_ms[k] / 1e6);
    if (peak > 0 && kind_ops[k] > 0) std::printf("  %5.1f%% of peak", 100.0 * kind_ops[k] / kind_ms[k] / 1e6 / peak);
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* const usage = "usage: ours_latency_int8 MODEL.tflite THREADS BATCH RUNS [--describe] [--float] [--steps [PEAK_GOPS]]\n";
  if (argc < 5) {
    std::fprintf(stderr, "%s", usage);
    return 2;
  }
  const int threads = std::atoi(argv[2]), batch = std::atoi(argv[3]), runs = std::max(1, std::atoi(argv[4]));
  bool describe = false, as_float = false, steps = false;
  double peak = 0;
  for (int i = 5; i < argc; ++i) {
    if (std::strcmp(argv[i], "--describe") == 0) describe = true;
    else if (std::strcmp(argv[i], "--float") == 0) as_float = true;
    else if (std::strcmp(argv[i], "--steps") == 0) {
      steps = true;
      if (i + 1 < argc && std::atof(argv[i + 1]) > 0) peak = std::atof(argv[++i]);
    }
    else {
      std::fprintf(stderr, "%s", usage);
      return 2;
    }
  }
  try {
    const auto options = mobilenet::PlanOptions().with_batch(batch).with_threads(threads);
    if (as_float) {
      mobilenet::Plan plan(mobilenet::io::load_tflite(argv[1]).model, options);
      if (describe) std::printf("%s", plan.describe().c_str());
      mobilenet::Tensor<float> images(plan.input_shape(batch)), out(plan.output_shape(batch));
      images.set_random();
      time_runs([&] { plan.run(images.view(), out.view()); }, runs, threads, batch, " float");
      return 0;
    }
    mobilenet::QuantizedPlan plan(mobilenet::io::load_tflite_quantized(argv[1]).model, options);
    if (describe) std::printf("%s", plan.describe().c_str());
    std::vector<std::uint8_t> images(static_cast<std::size_t>(plan.input_shape(batch).size())),
        out(static_cast<std::size_t>(plan.output_shape(batch).size()));
    std::mt19937 rng(42);
    for (auto& v : images) v = static_cast<std::uint8_t>(rng() >> 24);
    time_runs([&] { plan.run(images.data(), batch, out.data()); }, runs, threads, batch, "");
    if (steps) time_steps(plan, runs, batch, peak);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ours_latency_int8: %s\n", e.what());
    return 1;
  }
}

// SPDX-License-Identifier: MIT
// XNNPACK's side of scripts/bench-int8.sh: MobileNetV1 (TF-slim, random weights) in XNNPACK,
//   xnnpack_latency fp32|qu8|qc8 ALPHA RESOLUTION THREADS BATCH RUNS
// fp32 is the float peer of bench_peers; qu8 and qc8 the quantized one (xnnpack_int8_mobilenet.hpp).
// Timed as bench/ort/ours_latency.cpp times ours: 20 warm-up runs, then the median and fastest
// wall ms of RUNS back-to-back runs, printed as "xnnpack-SCHEME threads T batch B: median X ms,
// fastest Y ms".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "peer_check.hpp"
#include "xnnpack_int8_mobilenet.hpp"
#include "xnnpack_mobilenet.hpp"

namespace {

template <typename Engine>
std::vector<double> time_runs(Engine& engine, int runs) {
  for (int i = 0; i < 20; ++i) engine.run();
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    engine.run();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: xnnpack_latency fp32|qu8|qc8 ALPHA RESOLUTION THREADS BATCH RUNS\n");
    return 2;
  }
  const std::string scheme = argv[1];
  const double alpha = std::atof(argv[2]);
  const int resolution = std::atoi(argv[3]), threads = std::atoi(argv[4]), batch = std::atoi(argv[5]),
            runs = std::max(1, std::atoi(argv[6]));
  if (scheme != "fp32" && scheme != "qu8" && scheme != "qc8") {
    std::fprintf(stderr, "xnnpack_latency: scheme '%s'; expected fp32, qu8 or qc8\n", scheme.c_str());
    return 2;
  }
  using namespace mobilenet;
  MobileNetV1<float> model(MobileNetV1Config::tf_slim(alpha, resolution));
  model.randomize(42);
  const peers::FoldedNetwork net = peers::fold_for_peers(model);
  std::vector<double> times;
  if (scheme == "fp32") {
    peers::XnnpackMobileNet engine(net, batch, threads);
    peers::fill_images(engine.input(), model.input_shape(batch).size(), 7);
    times = time_runs(engine, runs);
  } else {
    peers::XnnpackInt8MobileNet engine(net, batch, threads,
                                       scheme == "qu8" ? peers::XnnQuantScheme::Qu8 : peers::XnnQuantScheme::Qc8);
    engine.fill_input(7);
    times = time_runs(engine, runs);
  }
  std::printf("xnnpack-%s threads %d batch %d: median %.3f ms, fastest %.3f ms\n", scheme.c_str(), threads, batch,
              times[times.size() / 2], times.front());
}

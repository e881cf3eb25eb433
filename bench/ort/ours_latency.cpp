// SPDX-License-Identifier: MIT
// Our side of scripts/bench-ort.sh: MobileNetV1 (TF-slim, random weights) in mobilenet::Plan,
//   ours_latency ALPHA RESOLUTION THREADS BATCH RUNS [--l2-bytes N] [--l3-bytes N] [--describe]
//                [--against-l2-bytes N] [--against-l3-bytes N]
// timed as bench/ort/ort_latency.js times ONNX Runtime: 20 warm-up runs, then the median and
// fastest wall ms of RUNS back-to-back Plan::run calls.
//   --l2-bytes N  tune the plan for an L2 of N bytes a core instead of the detected one
//                 (PlanTuning::for_cpu), to see what the tuning is worth
//   --l3-bytes N  the same for the L3 (whether the model fits it decides the GEMMs' pass order)
//   --describe    print the plan's layout (Plan::describe) before timing
//   --turns DIR K  take turns with another process (bench/ort/ort_latency.js with TURNS_DIR=DIR):
//                 wait for a byte on the FIFO DIR/ours, time K runs, write a byte to DIR/peer;
//                 RUNS / K turns. Both engines then meet the same host conditions, turn by turn;
//                 prints each turn's median after the summary.
//   --against-l2-bytes N, --against-l3-bytes N
//                 also build a second plan tuned so, and time the two in turns (each timed run
//                 right after an untimed run of the same plan): the median of the per-turn
//                 ratios second / first holds on a host whose speed drifts, where two separate
//                 processes would not. One thread only (a second plan's idle pool would compete).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "mobilenet/mobilenet.hpp"
#include "mobilenet/plan.hpp"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double time_run(mobilenet::Plan& plan, const mobilenet::Tensor<float>& images, mobilenet::Tensor<float>& out) {
  const auto start = std::chrono::steady_clock::now();
  plan.run(images.view(), out.view());
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const char* const usage =
      "usage: ours_latency ALPHA RESOLUTION THREADS BATCH RUNS [--l2-bytes N] [--l3-bytes N] [--describe]\n"
      "                    [--turns DIR K] [--against-l2-bytes N] [--against-l3-bytes N]\n";
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
  long long against_l2 = -1, against_l3 = -1;  // -1: as the first plan
  std::string turns_dir;
  int per_turn = 0;
  for (int i = 6; i < argc; ++i) {
    const bool has_value = i + 1 < argc && std::atoll(argv[i + 1]) >= 0;
    if (std::strcmp(argv[i], "--describe") == 0) {
      describe = true;
    } else if (std::strcmp(argv[i], "--l2-bytes") == 0 && has_value && std::atoll(argv[i + 1]) > 0) {
      caches.l2_bytes = std::atoll(argv[++i]);
      options = options.with_tuning(mobilenet::PlanTuning::for_cpu(caches));
    } else if (std::strcmp(argv[i], "--l3-bytes") == 0 && has_value) {
      caches.l3_bytes = std::atoll(argv[++i]);
      options = options.with_tuning(mobilenet::PlanTuning::for_cpu(caches));
    } else if (std::strcmp(argv[i], "--turns") == 0 && i + 2 < argc && std::atoi(argv[i + 2]) > 0) {
      turns_dir = argv[i + 1];
      per_turn = std::atoi(argv[i + 2]);
      i += 2;
    } else if (std::strcmp(argv[i], "--against-l2-bytes") == 0 && has_value && std::atoll(argv[i + 1]) > 0) {
      against_l2 = std::atoll(argv[++i]);
    } else if (std::strcmp(argv[i], "--against-l3-bytes") == 0 && has_value) {
      against_l3 = std::atoll(argv[++i]);
    } else {
      std::fprintf(stderr, "%s", usage);
      return 2;
    }
  }
  // The second plan differs from the first only in what --against-* sets.
  const bool against = against_l2 >= 0 || against_l3 >= 0;
  mobilenet::kernels::CpuCaches against_caches = caches;
  if (against_l2 >= 0) against_caches.l2_bytes = against_l2;
  if (against_l3 >= 0) against_caches.l3_bytes = against_l3;
  if (against && per_turn > 0) {
    std::fprintf(stderr, "ours_latency: --turns and --against-* do not combine\n");
    return 2;
  }
  if (against && threads != 1) {
    std::fprintf(stderr, "ours_latency: --against-* needs THREADS 1\n");
    return 2;
  }
  mobilenet::MobileNetV1<float> model(mobilenet::MobileNetV1Config::tf_slim(alpha, resolution));
  model.randomize(1);
  mobilenet::Plan plan(model, options);
  if (describe) std::printf("%s", plan.describe().c_str());
  mobilenet::Tensor<float> images(model.input_shape(batch)), out(model.output_shape(batch));
  images.set_random();
  for (int i = 0; i < 20; ++i) plan.run(images.view(), out.view());
  if (against) {
    mobilenet::Plan second(model, options.with_tuning(mobilenet::PlanTuning::for_cpu(against_caches)));
    if (describe) std::printf("%s", second.describe().c_str());
    for (int i = 0; i < 20; ++i) second.run(images.view(), out.view());
    std::vector<double> first_ms, second_ms, ratios;
    for (int i = 0; i < runs; ++i) {
      plan.run(images.view(), out.view());
      first_ms.push_back(time_run(plan, images, out));
      second.run(images.view(), out.view());
      second_ms.push_back(time_run(second, images, out));
      ratios.push_back(second_ms.back() / first_ms.back());
    }
    std::printf("ours threads %d batch %d: first median %.3f ms, second median %.3f ms, "
                "second/first %.3f (median of %d turns)\n",
                threads, batch, median(first_ms), median(second_ms), median(ratios), runs);
    return 0;
  }
  std::vector<double> times, turn_medians;
  if (per_turn > 0) {
    // Opened in the order ort_latency.js opens them, so that neither waits for the other.
    const int from_peer = open((turns_dir + "/ours").c_str(), O_RDONLY);
    const int to_peer = from_peer < 0 ? -1 : open((turns_dir + "/peer").c_str(), O_WRONLY);
    if (to_peer < 0) {
      std::fprintf(stderr, "ours_latency: cannot open the FIFOs in %s\n", turns_dir.c_str());
      return 1;
    }
    char token = 0;
    for (int turn = 0; turn < std::max(1, runs / per_turn); ++turn) {
      if (read(from_peer, &token, 1) != 1) {
        std::fprintf(stderr, "ours_latency: the other process left after %d turns\n", turn);
        return 1;
      }
      std::vector<double> turn_times;
      for (int i = 0; i < per_turn; ++i) turn_times.push_back(time_run(plan, images, out));
      times.insert(times.end(), turn_times.begin(), turn_times.end());
      turn_medians.push_back(median(turn_times));
      if (write(to_peer, &token, 1) != 1) return 1;
    }
    close(to_peer);
    close(from_peer);
  } else {
    for (int i = 0; i < runs; ++i) times.push_back(time_run(plan, images, out));
  }
  std::printf("ours threads %d batch %d: median %.3f ms, fastest %.3f ms\n", threads, batch, median(times),
              *std::min_element(times.begin(), times.end()));
  if (!turn_medians.empty()) {
    std::printf("turn medians:");
    for (double m : turn_medians) std::printf(" %.3f", m);
    std::printf("\n");
  }
}

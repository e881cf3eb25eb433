// SPDX-License-Identifier: MIT
// Our side of scripts/bench-int8.sh, a stub until integer execution lands:
//   ours_latency_int8 MODEL.tflite THREADS BATCH RUNS
// is to run the quantized model in integers through mobilenet::Plan and print, as
// ours_latency does, "ours threads T batch B: median X ms, fastest Y ms" (20 warm-up runs,
// then RUNS back-to-back runs). Exits 2 so that the script skips ours.
#include <cstdio>

int main() {
  std::fprintf(stderr, "ours_latency_int8: not built yet (integer execution is not in mobilenet::Plan yet)\n");
  return 2;
}

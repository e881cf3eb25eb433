#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds and runs bench_conv_vs_dsconv (standard convolution vs depthwise-separable), then
# writes docs/conv-vs-dsconv.md (tables and explanation) and docs/img/conv_vs_dsconv.png
# (counted vs measured speed-up per layer). Takes about ten minutes on two cores.
#
# The library's fast kernels pick their instruction set at run time; bench/CMakeLists.txt
# compiles this benchmark with -march=native (MOBILENET_BENCH_NATIVE) so that Eigen, the other
# option, and the im2col copy use this machine's vector units too.
#
# Environment: CXXFLAGS (extra compiler flags, default none),
#              REPETITIONS (default 5), BUILD_DIR (default build/conv-vs-dsconv),
#              REUSE_JSON=1 (rewrite the page from the last run's JSON without running again).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --optional libbenchmark-dev python3-matplotlib
python=/usr/bin/python3
"$python" -c "import matplotlib" 2>/dev/null ||
  { echo "conv-vs-dsconv-report: needs matplotlib for $python (Debian: python3-matplotlib)" >&2; exit 1; }

cxxflags="${CXXFLAGS:-}"
repetitions="${REPETITIONS:-5}"
build="${BUILD_DIR:-build/conv-vs-dsconv}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS=$cxxflags" \
  -DMOBILENET_BUILD_BENCHMARKS=ON -DMOBILENET_BUILD_TESTS=OFF -DMOBILENET_BUILD_EXAMPLES=ON \
  -DMOBILENET_BENCH_NATIVE=ON -DMOBILENET_INSTALL=OFF >/dev/null
# The build output goes to a log; it is shown if the build fails.
cmake --build "$build" -j "${JOBS:-2}" --target bench_conv_vs_dsconv summary > "$build/build.log" 2>&1 ||
  { tail -n 40 "$build/build.log"; exit 1; }

bench_args=(--benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true
            --benchmark_format=json)
if [[ "${REUSE_JSON:-0}" != 1 || ! -s "$build/conv_vs_dsconv.json" ]]; then
  echo "conv-vs-dsconv-report: running the benchmark (one thread)..." >&2
  "$build/bench/bench_conv_vs_dsconv" "${bench_args[@]}" > "$build/conv_vs_dsconv.json"
fi
"$build/examples/summary" --paper-tables > "$build/paper_tables.txt"

mkdir -p docs/img
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
"$python" scripts/conv_vs_dsconv_report.py "$build/conv_vs_dsconv.json" "$build/paper_tables.txt" \
  docs/conv-vs-dsconv.md docs/img/conv_vs_dsconv.png \
  --flags "-O3 -DNDEBUG -march=native${cxxflags:+ $cxxflags}; $("${CXX:-c++}" --version | head -n 1)" \
  --command "bench_conv_vs_dsconv ${bench_args[*]}" --cpu "${cpu:-unknown CPU}"
echo "conv-vs-dsconv-report: wrote docs/conv-vs-dsconv.md and docs/img/conv_vs_dsconv.png" >&2

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Measures ours beside XNNPACK (and oneDNN) in one benchmark binary and prints a Markdown
# table of the median latencies, the ratios ours/peer and images/s.
#
#   scripts/bench-peers.sh [--quick] [Google Benchmark flags...]
#     --quick            only MobileNetV1 1.0/224 (skips 0.5/160 and 0.25/128)
#   Environment: REPETITIONS (default 10), MIN_TIME seconds per repetition (default 1),
#                JOBS (default: number of cores), CXX_COMPILER (default g++).
#
# It installs libxnnpack-dev, libpthreadpool-dev, libbenchmark-dev and libdnnl-dev (oneDNN, a
# second peer) with apt-get when missing, as optional packages: nothing else of the project
# needs them, and the benchmark builds without oneDNN.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --optional libxnnpack-dev libpthreadpool-dev libbenchmark-dev libdnnl-dev

args=()
for a in "$@"; do
  if [[ "$a" == "--quick" ]]; then args+=(--peers_quick); else args+=("$a"); fi
done
build=build/bench-peers
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="${CXX_COMPILER:-g++}" \
  -DMOBILENET_BENCH_PEERS=ON -DMOBILENET_BUILD_TESTS=OFF -DMOBILENET_BUILD_EXAMPLES=OFF >/dev/null
if ! cmake --build "$build" -j "$jobs" --target bench_peers; then
  echo "bench-peers: bench_peers was not built; the CMake warning above says what is missing" >&2
  exit 1
fi

log="$build/bench_peers.log"
# Random interleaving shuffles the repetitions of all engines, so a change in the machine's
# load during the run falls on every engine alike instead of on whichever ran then.
"$build/bench/peers/bench_peers" --benchmark_repetitions="${REPETITIONS:-10}" \
  --benchmark_min_time="${MIN_TIME:-1}" --benchmark_report_aggregates_only=true \
  --benchmark_enable_random_interleaving=true \
  ${args[@]+"${args[@]}"} 2>&1 | tee "$log"
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1);" \
  "load average before the run was printed above by Google Benchmark"
echo "log: $log"

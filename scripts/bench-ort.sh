#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Ours beside ONNX Runtime, the engine the speed goal is set against: MobileNetV1 in ONNX
# Runtime (onnxruntime-node from npm, which carries libonnxruntime for linux x64; Debian 12 has
# no ONNX Runtime package) and in mobilenet::Plan, run alternately, each timed the same way (20
# warm-up runs, then the median of back-to-back runs). Prints a Markdown table of medians and
# ours/ORT for each round.
#
#   scripts/bench-ort.sh [--alpha A] [--res R] [--rounds N] [--turns T]   (defaults 1.0, 224, 3, 0)
#   --turns T: after the rounds, run 1 thread at batch 1 and 8 once more with the two engines
#   taking T turns (6 runs a turn at batch 1, 1 at batch 8; two processes handing a byte over
#   FIFOs), so that both meet the same host conditions; prints the median of the per-turn
#   ratios ours/ORT. One thread only: at 2, an engine's idle workers go on spinning into the
#   other's turn (ONNX Runtime's do by default).
#   Environment: RUNS (batch-1 runs per measurement, default 300; batch 8 runs RUNS/8),
#                ORT_VERSION (default 1.30.0), CXX_COMPILER (default g++).
#
# Needs node and npm, and Debian's python3-torch to write the ONNX model (both installed here
# as optional packages). The model has random weights and symmetric padding where ours pads
# SAME; the multiply-adds are the same, and latency does not depend on the values.
set -euo pipefail
cd "$(dirname "$0")/.."

alpha=1.0 res=224 rounds=3 turns=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --alpha) alpha="$2"; shift 2 ;;
    --res) res="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --turns) turns="$2"; shift 2 ;;
    *) echo "usage: scripts/bench-ort.sh [--alpha A] [--res R] [--rounds N] [--turns T]" >&2; exit 2 ;;
  esac
done
runs="${RUNS:-300}"
runs8=$((runs / 8 > 20 ? runs / 8 : 20))

# Debian's nodejs and npm only where there is no node yet (a NodeSource node carries its own
# npm, which Debian's npm package would conflict with).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  bash scripts/install-deps.sh --optional nodejs npm
fi
/usr/bin/python3 -c "import torch" 2>/dev/null || bash scripts/install-deps.sh --optional python3-torch
for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench-ort: $tool not found" >&2; exit 1; }
done
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "bench-ort: /usr/bin/python3 has no torch" >&2; exit 1; }

out=build/ort
mkdir -p "$out"
version="${ORT_VERSION:-1.30.0}"
if [[ ! -f "$out/node_modules/onnxruntime-node/package.json" ]] ||
   ! grep -q "\"version\": \"$version\"" "$out/node_modules/onnxruntime-node/package.json"; then
  npm install --prefix "$out" --ignore-scripts --no-audit --no-fund "onnxruntime-node@$version" >/dev/null
fi
model="$out/mobilenet_v1_${alpha}_${res}.onnx"
[[ -f "$model" ]] || /usr/bin/python3 bench/ort/export_onnx.py "$alpha" "$res" "$model"
"${CXX_COMPILER:-g++}" -std=c++17 -O3 -DNDEBUG -Iinclude -I/usr/include/eigen3 bench/ort/ours_latency.cpp \
  -o "$out/ours_latency" -pthread

median() { sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'; }
rows=()
for ((round = 1; round <= rounds; round++)); do
  for threads in 1 2; do
    for batch in 1 8; do
      n=$([[ $batch == 1 ]] && echo "$runs" || echo "$runs8")
      ort_line="$(NODE_PATH="$out/node_modules" node bench/ort/ort_latency.js "$model" "$res" "$threads" "$batch" "$n")"
      ours_line="$("$out/ours_latency" "$alpha" "$res" "$threads" "$batch" "$n")"
      echo "round $round: $ort_line"
      echo "round $round: $ours_line"
      o="$(echo "$ort_line" | median)" m="$(echo "$ours_line" | median)"
      rows+=("| $alpha/$res | $threads | $batch | $round | $o | $m | $(awk -v a="$m" -v b="$o" 'BEGIN { printf "%.3f", a / b }') |")
    done
  done
done
echo
echo "| MobileNetV1 | threads | batch | round | ONNX Runtime $version ms | ours ms | ours/ORT |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
if ((turns > 0)); then
  fifos="$(mktemp -d)"
  trap 'rm -rf "$fifos"' EXIT
  mkfifo "$fifos/ours" "$fifos/peer"
  fastest() { sed -n 's/.*fastest \([0-9.]*\) ms.*/\1/p' "$1"; }
  turn_rows=()
  for threads in 1; do
    for batch in 1 8; do
      per_turn=$([[ $batch == 1 ]] && echo 6 || echo 1)
      n=$((turns * per_turn))
      # Each waits on the other at a FIFO; the time limit ends a wait whose partner failed.
      TURNS_DIR="$fifos" PER_TURN="$per_turn" NODE_PATH="$out/node_modules" timeout 1800 \
        node bench/ort/ort_latency.js "$model" "$res" "$threads" "$batch" "$n" >"$fifos/ort.txt" &
      timeout 1800 "$out/ours_latency" "$alpha" "$res" "$threads" "$batch" "$n" --turns "$fifos" "$per_turn" \
        >"$fifos/ours.txt"
      wait $!
      echo "turns: $(head -n 1 "$fifos/ort.txt")"
      echo "turns: $(head -n 1 "$fifos/ours.txt")"
      ratio="$(paste <(sed -n 's/^turn medians: //p' "$fifos/ours.txt" | tr ' ' '\n') \
                     <(sed -n 's/^turn medians: //p' "$fifos/ort.txt" | tr ' ' '\n') |
               awk '{ print $1 / $2 }' | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", v[int((NR + 1) / 2)] }')"
      turn_rows+=("| $alpha/$res | $threads | $batch | $turns | $(median <"$fifos/ort.txt") ($(fastest "$fifos/ort.txt")) |\
 $(median <"$fifos/ours.txt") ($(fastest "$fifos/ours.txt")) | $ratio |")
    done
  done
  echo
  echo "Taking turns ($turns turns; median ms of all runs, fastest in brackets; ours/ORT: median of the per-turn ratios):"
  echo
  echo "| MobileNetV1 | threads | batch | turns | ONNX Runtime $version ms | ours ms | ours/ORT |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${turn_rows[@]}"
fi
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); load average $(cut -d' ' -f1-3 /proc/loadavg)"

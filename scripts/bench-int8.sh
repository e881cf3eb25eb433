#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integer inference beside its peers, in one interleaved run: ONNX Runtime fp32 and int8
# (onnxruntime-node, as scripts/bench-ort.sh), XNNPACK fp32 and int8 (Debian's libxnnpack-dev)
# and ours (fp32 and int8), 1 and 2 threads, batch 1 and 8, on
#   1.0/224 int8:  random weights, TFLite's full-integer scheme (per-channel symmetric int8)
#   1.0/224 uint8: random weights, the official scheme (per-tensor asymmetric uint8)
#   0.75/192 real: the official mobilenet_v1_0.75_192_quant.tflite
# Each round measures every engine once per case, in turn, so a change in the machine's load
# falls on all of them. Prints every measurement, the per-round ratios ours / ORT int8 (same
# file converted; for the uint8 files also ours / ORT with the weights re-quantized to
# symmetric int8, which is what ORT is fast with; for the int8 file also ours / ORT with the
# activations as uint8 = int8 + 128, the same bytes and ORT's fast path: "ort-int8-u8act")
# and ours int8 / ours fp32, and a table of medians over the rounds.
#
#   scripts/bench-int8.sh [--rounds N] [--data DIR]   (defaults 3, $MOBILENET_DATA_DIR or ../shared/data)
#   Environment: RUNS (batch-1 runs per measurement, default 200; batch 8 runs RUNS/8, at least 20),
#                ORT_VERSION (default 1.30.0), CXX_COMPILER (default g++), JOBS (default 2).
#
# Ours int8 is build/ort/ours_latency_int8 MODEL.tflite THREADS BATCH RUNS (bench/ort/
# ours_latency_int8.cpp); while it exits 2 ("not built yet") ours int8 is skipped. The ONNX
# models come from bench/quant/tflite_to_onnx.py (QLinearConv; check them against TFLite with
# bench/quant/check_onnx.py), the random .tflite files from bench/quant/make_quant_models.py.
# XNNPACK's int8 peer has random weights of the same architecture in the matching scheme (qc8
# for the int8 file, qu8 for the uint8 ones), not the file's weights: latency does not depend
# on the values.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 data="${MOBILENET_DATA_DIR:-../shared/data}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    *) echo "usage: scripts/bench-int8.sh [--rounds N] [--data DIR]" >&2; exit 2 ;;
  esac
done
runs="${RUNS:-200}"
runs8=$((runs / 8 > 20 ? runs / 8 : 20))
version="${ORT_VERSION:-1.30.0}"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  bash scripts/install-deps.sh --optional nodejs npm
fi
bash scripts/install-deps.sh --optional python3-torch python3-numpy python3-onnx python3-flatbuffers \
  libxnnpack-dev libpthreadpool-dev
/usr/bin/python3 -c "import torch, numpy, onnx, flatbuffers" ||
  { echo "bench-int8: /usr/bin/python3 needs torch, numpy, onnx and flatbuffers" >&2; exit 1; }

out=build/ort quant=build/quant
mkdir -p "$out" "$quant"
if [[ ! -f "$out/node_modules/onnxruntime-node/package.json" ]] ||
   ! grep -q "\"version\": \"$version\"" "$out/node_modules/onnxruntime-node/package.json"; then
  npm install --prefix "$out" --ignore-scripts --no-audit --no-fund "onnxruntime-node@$version" >/dev/null
fi

# Models: .tflite (ours), .onnx (ORT), fp32 ONNX of the same architecture.
real="$data/models/mobilenet_v1_0.75_192_quant.tflite"
[[ -f "$real" ]] || { echo "bench-int8: $real not found (use --data DIR)" >&2; exit 1; }
random_u8="$quant/mobilenet_v1_1.0_224_random_uint8.tflite" random_s8="$quant/mobilenet_v1_1.0_224_random_int8.tflite"
[[ -f "$random_u8" && -f "$random_s8" ]] || /usr/bin/python3 bench/quant/make_quant_models.py "$quant" >/dev/null
convert() {  # TFLITE NAME WEIGHTS [--uint8-activations]
  [[ -f "$quant/$2.onnx" ]] || /usr/bin/python3 bench/quant/tflite_to_onnx.py "$1" "$quant/$2.onnx" --weights "$3" ${4:-} >/dev/null
}
convert "$random_s8" r224_int8_file file
convert "$random_s8" r224_int8_u8act file --uint8-activations
convert "$random_u8" r224_uint8_file file
convert "$random_u8" r224_uint8_s8 s8
convert "$real" real192_file file
convert "$real" real192_s8 s8
for ar in "1.0 224" "0.75 192"; do
  set -- $ar
  [[ -f "$out/mobilenet_v1_${1}_${2}.onnx" ]] || /usr/bin/python3 bench/ort/export_onnx.py "$1" "$2" "$out/mobilenet_v1_${1}_${2}.onnx"
done

# Binaries: ours fp32 and int8, XNNPACK.
cxx="${CXX_COMPILER:-g++}"
"$cxx" -std=c++17 -O3 -DNDEBUG -Iinclude -I/usr/include/eigen3 bench/ort/ours_latency.cpp -o "$out/ours_latency" -pthread
"$cxx" -std=c++17 -O3 -DNDEBUG -Iinclude -I/usr/include/eigen3 bench/ort/ours_latency_int8.cpp \
  -o "$out/ours_latency_int8" -pthread
cmake -S . -B build/bench-peers -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" -DMOBILENET_BENCH_PEERS=ON \
  -DMOBILENET_BUILD_TESTS=OFF -DMOBILENET_BUILD_EXAMPLES=OFF >/dev/null
xnnpack=build/bench-peers/bench/peers/xnnpack_latency
cmake --build build/bench-peers -j "${JOBS:-2}" --target xnnpack_latency >/dev/null ||
  echo "bench-int8: xnnpack_latency was not built; XNNPACK is skipped" >&2
ours_int8=1
if ! "$out/ours_latency_int8" "$random_s8" 1 1 1 >/dev/null 2>"$out/ours_latency_int8.err"; then
  echo "bench-int8: ours int8 skipped: $(cat "$out/ours_latency_int8.err")" >&2
  ours_int8=0
fi

# One measurement: prints "CASE THREADS BATCH ROUND ENGINE MS" into $results.
results="$out/bench_int8.tsv"
: >"$results"
median() { sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'; }
measure() {  # CASE ENGINE THREADS BATCH ROUND COMMAND...
  local case="$1" engine="$2" threads="$3" batch="$4" round="$5" line
  shift 5
  if line="$("$@")"; then
    echo "round $round $case $engine: $line"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$threads" "$batch" "$round" "$engine" "$(echo "$line" | median)" >>"$results"
  else
    echo "round $round $case $engine: failed" >&2
  fi
}
ort() { NODE_PATH="$out/node_modules" node bench/ort/ort_latency.js "$@"; }

for ((round = 1; round <= rounds; round++)); do
  for threads in 1 2; do
    for batch in 1 8; do
      n=$([[ $batch == 1 ]] && echo "$runs" || echo "$runs8")
      m() { measure "$1" "$2" "$threads" "$batch" "$round" "${@:3}"; }
      for c in "1.0/224 1.0 224" "0.75/192 0.75 192"; do
        set -- $c
        m "$1" ort-fp32 ort "$out/mobilenet_v1_${2}_${3}.onnx" "$3" "$threads" "$batch" "$n"
        m "$1" ours-fp32 "$out/ours_latency" "$2" "$3" "$threads" "$batch" "$n"
        [[ -x "$xnnpack" ]] && m "$1" xnnpack-fp32 "$xnnpack" fp32 "$2" "$3" "$threads" "$batch" "$n"
      done
      m 1.0/224-int8 ort-int8 ort "$quant/r224_int8_file.onnx" 224 "$threads" "$batch" "$n" int8
      m 1.0/224-int8 ort-int8-u8act ort "$quant/r224_int8_u8act.onnx" 224 "$threads" "$batch" "$n" uint8
      [[ -x "$xnnpack" ]] && m 1.0/224-int8 xnnpack-qc8 "$xnnpack" qc8 1.0 224 "$threads" "$batch" "$n"
      ((ours_int8)) && m 1.0/224-int8 ours-int8 "$out/ours_latency_int8" "$random_s8" "$threads" "$batch" "$n"
      m 1.0/224-uint8 ort-file ort "$quant/r224_uint8_file.onnx" 224 "$threads" "$batch" "$n" uint8
      m 1.0/224-uint8 ort-s8 ort "$quant/r224_uint8_s8.onnx" 224 "$threads" "$batch" "$n" uint8
      [[ -x "$xnnpack" ]] && m 1.0/224-uint8 xnnpack-qu8 "$xnnpack" qu8 1.0 224 "$threads" "$batch" "$n"
      ((ours_int8)) && m 1.0/224-uint8 ours-int8 "$out/ours_latency_int8" "$random_u8" "$threads" "$batch" "$n"
      m 0.75/192-real ort-file ort "$quant/real192_file.onnx" 192 "$threads" "$batch" "$n" uint8
      m 0.75/192-real ort-s8 ort "$quant/real192_s8.onnx" 192 "$threads" "$batch" "$n" uint8
      [[ -x "$xnnpack" ]] && m 0.75/192-real xnnpack-qu8 "$xnnpack" qu8 0.75 192 "$threads" "$batch" "$n"
      ((ours_int8)) && m 0.75/192-real ours-int8 "$out/ours_latency_int8" "$real" "$threads" "$batch" "$n"
    done
  done
done

/usr/bin/python3 - "$results" "$version" <<'EOF'
import collections, statistics, sys
rows = [line.split("\t") for line in open(sys.argv[1]).read().splitlines()]
ms = collections.defaultdict(dict)  # (case, threads, batch) -> {(engine, round): ms}
for case, threads, batch, rnd, engine, value in rows:
    ms[(case, int(threads), int(batch))][(engine, int(rnd))] = float(value)
fp32_case = {"1.0/224-int8": "1.0/224", "1.0/224-uint8": "1.0/224", "0.75/192-real": "0.75/192"}
ratios = [("ours/ORT-int8", "ours-int8", "ort-int8"), ("ours/ORT-int8-u8act", "ours-int8", "ort-int8-u8act"), ("ours/ORT-same-file", "ours-int8", "ort-file"),
          ("ours/ORT-s8", "ours-int8", "ort-s8"), ("XNNPACK/ORT-int8-u8act", "xnnpack-qc8", "ort-int8-u8act"),
          ("XNNPACK/ORT-same-file", "xnnpack-qu8", "ort-file")]
print("\nPer-round ratios (ms / ms; below 1: the first is faster)")
print("| case | threads | batch | round | ratio | value |\n|---|---:|---:|---:|---|---:|")
summary = []
for key in sorted(ms):
    case, threads, batch = key
    rounds = sorted({r for (_, r) in ms[key]})
    for name, a, b in ratios + [("ours-int8/ours-fp32", "ours-int8", None)]:
        values = []
        for r in rounds:
            x = ms[key].get((a, r))
            y = (ms.get((fp32_case.get(case), threads, batch), {}).get(("ours-fp32", r)) if b is None
                 else ms[key].get((b, r)))
            if x is not None and y is not None:
                values.append(x / y)
                print(f"| {case} | {threads} | {batch} | {r} | {name} | {x / y:.3f} |")
        if values:
            summary.append((case, threads, batch, name, statistics.median(values)))
print(f"\nMedian ms over the rounds (ONNX Runtime {sys.argv[2]})")
engines = sorted({e for key in ms for (e, _) in ms[key]})
print("| case | threads | batch | " + " | ".join(engines) + " |")
print("|---|---:|---:|" + "---:|" * len(engines))
for key in sorted(ms):
    cells = []
    for e in engines:
        v = [t for (name, _), t in ms[key].items() if name == e]
        cells.append(f"{statistics.median(v):.2f}" if v else "")
    print(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(cells) + " |")
if summary:
    print("\nMedian ratios over the rounds")
    print("| case | threads | batch | ratio | median |\n|---|---:|---:|---|---:|")
    for case, threads, batch, name, v in summary:
        print(f"| {case} | {threads} | {batch} | {name} | {v:.3f} |")
EOF
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "measurements: $results"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/mobilenet_bench as a user runs it: --json is one JSON object with the fields the
# README promises, on random weights always and on every .tflite of the shared data (the
# directory in MOBILENET_DATA_DIR, else SOURCE_DIR/../shared/data) when present.
#   test_mobilenet_bench.sh SOURCE_DIR BENCH_BINARY
set -uo pipefail
source_dir="$1" bench="$2"
failures=0

# Runs the bench with "$@" and checks its output parses as JSON with the expected fields; a
# quantized file runs in int8 unless --precision float is asked for, anything else in float.
check_json() {
  local name="$1"; shift
  local out status want=""
  out=$("$bench" "$@" --json)
  status=$?
  if [[ $status -ne 0 ]]; then
    echo "FAIL $name: exit status $status from $bench $*"; failures=$((failures + 1)); return
  fi
  [[ " $* " == *" --precision float "* ]] && want=float
  if ! printf '%s' "$out" | python3 -c '
import json, sys
j = json.load(sys.stdin)
for key in ("latency_ms", "images_per_s", "weight_mb", "arena_mb", "peak_rss_mb", "isa", "steps", "threads", "batch",
            "precision"):
    assert key in j, "missing " + key
want = sys.argv[1] or ("int8" if j["format"] in ("tflite-uint8", "tflite-int8") else "float")
assert j["precision"] == want, (j["precision"], want)
lat = j["latency_ms"]
assert 0 < lat["min"] <= lat["median"] <= lat["max"], lat
assert j["images_per_s"] > 0 and j["weight_mb"] > 0 and j["arena_mb"] > 0 and j["peak_rss_mb"] > 0
assert len(j["steps"]) >= 15 and all(s["median_ms"] >= 0 for s in j["steps"]), j["steps"]
' "$want"; then
    echo "FAIL $name: output is not the expected JSON:"; echo "$out"; failures=$((failures + 1)); return
  fi
  echo "ok   $name: $(printf '%s' "$out" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["name"], j["format"], j["precision"], "%.3f ms" % j["latency_ms"]["median"], j["isa"])')"
}

check_json random --alpha 0.25 --resolution 96 --runs 3
check_json random-batch-threads --alpha 0.25 --resolution 64 --runs 2 --warmup 1 --batch 2 --threads 2

# The shipped quantized model, in int8 (as classify runs it) and dequantized in float.
check_json shipped-int8 --model "$source_dir/models/mobilenet_v1_0.5_160_quant.tflite" --runs 2
check_json shipped-float --model "$source_dir/models/mobilenet_v1_0.5_160_quant.tflite" --runs 2 --precision float

# The table, and refusals with exit status 2.
if ! "$bench" --alpha 0.25 --resolution 64 --runs 2 | grep -q "sum of steps"; then
  echo "FAIL table: no 'sum of steps' line"; failures=$((failures + 1))
fi
for bad in "--runs 0" "--threads -1" "--model x.tflite --alpha 0.5" "--frobnicate" "--precision int4" \
  "--alpha 0.25 --resolution 64 --precision int8"; do
  # shellcheck disable=SC2086
  "$bench" $bad > /dev/null 2>&1
  status=$?
  if [[ $status -ne 2 ]]; then echo "FAIL '$bad': exit status $status, expected 2"; failures=$((failures + 1)); fi
done

data="${MOBILENET_DATA_DIR:-$source_dir/../shared/data}"
if [[ -d "$data/models" ]]; then
  shopt -s nullglob
  models=("$data"/models/*.tflite)
  [[ ${#models[@]} -gt 0 ]] || echo "note: no .tflite in $data/models"
  for model in "${models[@]}"; do check_json "$(basename "$model")" --model "$model" --runs 2; done
  float_model="$data/models/mobilenet_v1_0.25_224.tflite"
  if [[ -f "$float_model" ]]; then  # int8 only for a quantized file: an error, exit status 1
    out=$("$bench" --model "$float_model" --precision int8 --runs 1 2>&1)
    status=$?
    if [[ $status -ne 1 ]] || ! grep -q "is not quantized" <<<"$out"; then
      echo "FAIL int8-of-float-model: status $status: $out"; failures=$((failures + 1))
    fi
  fi
else
  echo "note: no shared models in $data (set MOBILENET_DATA_DIR): only random weights timed"
fi
[[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/mobilenet_bench as a user runs it: --json is one JSON object with the fields the
# README promises, on random weights always and on every .tflite of the shared data (the
# directory in MOBILENET_DATA_DIR, else SOURCE_DIR/../shared/data) when present.
#   test_mobilenet_bench.sh SOURCE_DIR BENCH_BINARY
set -uo pipefail
source_dir="$1" bench="$2"
failures=0

# Runs the bench with "$@" and checks its output parses as JSON with the expected fields.
check_json() {
  local name="$1"; shift
  local out status
  out=$("$bench" "$@" --json)
  status=$?
  if [[ $status -ne 0 ]]; then
    echo "FAIL $name: exit status $status from $bench $*"; failures=$((failures + 1)); return
  fi
  if ! printf '%s' "$out" | python3 -c '
import json, sys
j = json.load(sys.stdin)
for key in ("latency_ms", "images_per_s", "weight_mb", "arena_mb", "peak_rss_mb", "isa", "steps", "threads", "batch"):
    assert key in j, "missing " + key
lat = j["latency_ms"]
assert 0 < lat["min"] <= lat["median"] <= lat["max"], lat
assert j["images_per_s"] > 0 and j["weight_mb"] > 0 and j["arena_mb"] > 0 and j["peak_rss_mb"] > 0
assert len(j["steps"]) >= 15 and all(s["median_ms"] >= 0 for s in j["steps"]), j["steps"]
'; then
    echo "FAIL $name: output is not the expected JSON:"; echo "$out"; failures=$((failures + 1)); return
  fi
  echo "ok   $name: $(printf '%s' "$out" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["name"], j["format"], "%.3f ms" % j["latency_ms"]["median"], j["isa"])')"
}

check_json random --alpha 0.25 --resolution 96 --runs 3
check_json random-batch-threads --alpha 0.25 --resolution 64 --runs 2 --warmup 1 --batch 2 --threads 2

# The table, and refusals with exit status 2.
if ! "$bench" --alpha 0.25 --resolution 64 --runs 2 | grep -q "sum of steps"; then
  echo "FAIL table: no 'sum of steps' line"; failures=$((failures + 1))
fi
for bad in "--runs 0" "--threads -1" "--model x.tflite --alpha 0.5" "--frobnicate"; do
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
else
  echo "note: no shared models in $data (set MOBILENET_DATA_DIR): only random weights timed"
fi
[[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }

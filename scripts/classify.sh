#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job, from a fresh clone: install what is missing, build examples/classify, and
# classify photos with a real pretrained MobileNetV1. Works offline.
#
#   bash scripts/classify.sh [OPTIONS] IMAGE|DIR...
#     --model FILE    .tflite (float32 or uint8) or .safetensors model (also --model=FILE)
#     --labels FILE   one label per line, 1000 or 1001 lines (also --labels=FILE)
#     --top K         how many classes to print per image (default 5)
#     --threads N     threads for one inference (default 1)
#     --tsv           one line per image: path<TAB>class_index<TAB>label<TAB>probability
#     -h, --help      this text
#
# The model is --model FILE, else $MOBILENET_MODEL, else the one shipped in this repository,
# models/mobilenet_v1_0.5_160_quant.tflite (no download). Labels are --labels FILE, else the
# model's own, else the shipped models/imagenet_labels.txt. Larger models:
#   MOBILENET_MODEL="$(bash scripts/download-models.sh 1.0 224)" bash scripts/classify.sh photo.jpg
# Image paths are taken relative to the directory you run this from. Try:
#   bash scripts/classify.sh examples/data/chelsea.jpg
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() { sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
fail() { echo "classify.sh: $*" >&2; echo "Run 'bash scripts/classify.sh --help' for usage." >&2; exit 2; }
positive() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || fail "$1 expects a positive whole number, got '$2'"; }

# Every argument is checked here, before anything is installed, built or downloaded; classify
# gets them back as --option VALUE.
args=() images=0 model=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage 0 ;;
    --tsv) args+=("$1") ;;
    --model|--labels|--top|--threads)
      [[ $# -ge 2 && -n "$2" ]] || fail "$1 needs a value"
      option="$1" value="$2"
      shift ;;
    --model=*|--labels=*|--top=*|--threads=*)
      option="${1%%=*}" value="${1#*=}"
      [[ -n "$value" ]] || fail "$option needs a value" ;;
    -*) fail "unknown option '$1'" ;;
    *) args+=("$1"); images=$((images + 1)) ;;
  esac
  if [[ -n "${option:-}" ]]; then
    case "$option" in
      --top|--threads) positive "$option" "$value" ;;
      --model) model="$value" ;;
    esac
    args+=("$option" "$value")
    option=""
  fi
  shift
done
[[ $images -gt 0 ]] || fail "no images given (try examples/data/chelsea.jpg)"

# Without --model: $MOBILENET_MODEL, else the shipped model (both passed on as --model).
if [[ -z "$model" ]]; then
  model="${MOBILENET_MODEL:-}"
  if [[ -z "$model" ]]; then
    model="$root/models/mobilenet_v1_0.5_160_quant.tflite"
    if [[ ! -s "$model" ]]; then  # a checkout without models/: fall back to a download
      echo "classify.sh: $model is missing; downloading MobileNetV1 0.5/160 uint8 instead" >&2
      model="$(bash "$root/scripts/download-models.sh" 0.5 160 --quant)"
    fi
  fi
  args=(--model "$model" "${args[@]}")
fi

bash "$root/scripts/install-deps.sh"
build="${MOBILENET_RUN_BUILD_DIR:-$root/build/run}"  # the tests point it elsewhere
if [[ -x "$build/examples/classify" ]]; then
  echo "classify.sh: checking the build of examples/classify in $build..." >&2
else
  echo "classify.sh: building examples/classify in $build (once: about a minute on 2 cores)..." >&2
fi
mkdir -p "$build"
log="$build/classify-build.log"
{ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMOBILENET_BUILD_TESTS=OFF \
    -DMOBILENET_BUILD_BENCHMARKS=OFF &&
  cmake --build "$build" --target classify -j "$(nproc 2>/dev/null || echo 2)"; } >"$log" 2>&1 ||
  { tail -n 30 "$log" >&2; echo "classify.sh: the build failed; the whole log is $log" >&2; exit 1; }
exec "$build/examples/classify" "${args[@]}"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job, from a fresh clone: install what is missing, build examples/classify, and
# classify photos with a real pretrained MobileNetV1.
#
#   bash scripts/classify.sh [--model FILE] [--labels FILE] [--top K] [--threads N] [--tsv] IMAGE|DIR...
#
# The model is --model FILE, else $MOBILENET_MODEL, else TensorFlow's official float
# MobileNetV1 1.0/224, downloaded once into the cache by scripts/download-models.sh.
# Image paths are taken relative to the directory you run this from.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build/run" -DCMAKE_BUILD_TYPE=Release -DMOBILENET_BUILD_TESTS=OFF \
  -DMOBILENET_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$root/build/run" --target classify -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

has_model=0
for arg in "$@"; do [[ "$arg" == "--model" ]] && has_model=1; done
if [[ $has_model == 0 && -z "${MOBILENET_MODEL:-}" ]]; then
  MOBILENET_MODEL="$(bash "$root/scripts/download-models.sh" 1.0 224)"
  export MOBILENET_MODEL
fi
exec "$root/build/run/examples/classify" "$@"

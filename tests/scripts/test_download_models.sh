#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks scripts/download-models.sh without the network: argument handling, the URL and paths
# it derives, and extraction from an archive already in its cache (a fake one made here).
#   test_download_models.sh SOURCE_DIR WORK_DIR
set -uo pipefail
script="$1/scripts/download-models.sh"
work="$2/download_models"
rm -rf "$work" && mkdir -p "$work"
source "$(dirname "$0")/check.sh"

check defaults 0 "mobilenet_v1_2018_08_02/mobilenet_v1_1.0_224.tgz" -- bash "$script" --dry-run --dir "$work"
check quant 0 "model: $work/mobilenet_v1_0.25_128_quant.tflite" -- bash "$script" 0.25 128 --quant --dir "$work" --dry-run
check short-alpha 0 "mobilenet_v1_0.5_160.tgz" -- bash "$script" .5 160 --dry-run --dir="$work"
check cache-env 0 "archive: $work/env/mobilenet_v1_0.75_192.tgz" -- env MOBILENET_CACHE_DIR="$work/env" bash "$script" 0.75 192 --dry-run
check bad-alpha 2 "ALPHA must be 0.25, 0.5, 0.75 or 1.0, got '0.3'" -- bash "$script" 0.3 --dry-run
check bad-resolution 2 "RESOLUTION must be 128, 160, 192 or 224, got '100'" -- bash "$script" 1.0 100 --dry-run
check extra-argument 2 "unexpected argument '7'" -- bash "$script" 1.0 224 7 --dry-run
check unknown-option 2 "unknown option '--fast'" -- bash "$script" --fast
check dir-needs-value 2 "--dir needs a directory" -- bash "$script" --dir
check help 0 "Downloads one of TensorFlow's hosted" -- bash "$script" --help

# A cached archive laid out as the hosted ones (./<name>.tflite among other files) is
# extracted without any download, and the model path is printed.
mkdir -p "$work/pack" "$work/cache"
echo "not really a model" > "$work/pack/mobilenet_v1_0.5_160.tflite"
echo "checkpoint" > "$work/pack/mobilenet_v1_0.5_160.ckpt.meta"
tar -czf "$work/cache/mobilenet_v1_0.5_160.tgz" -C "$work/pack" ./mobilenet_v1_0.5_160.tflite ./mobilenet_v1_0.5_160.ckpt.meta
check cached-archive 0 "^$work/cache/mobilenet_v1_0.5_160.tflite$" -- bash "$script" 0.5 160 --dir "$work/cache"
check cached-model 0 "^$work/cache/mobilenet_v1_0.5_160.tflite$" -- bash "$script" 0.5 160 --dir "$work/cache"
[[ ! -e "$work/cache/mobilenet_v1_0.5_160.ckpt.meta" ]] || { echo "FAIL: extracted more than the .tflite"; failures=$((failures + 1)); }
tar -czf "$work/cache/mobilenet_v1_0.25_224.tgz" -C "$work/pack" ./mobilenet_v1_0.5_160.ckpt.meta
check archive-without-model 2 "does not hold mobilenet_v1_0.25_224.tflite" -- bash "$script" 0.25 224 --dir "$work/cache"

echo "$failures failed"
[[ $failures -eq 0 ]]

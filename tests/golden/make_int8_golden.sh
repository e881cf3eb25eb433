#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the small int8 MobileNetV1 of tests/int8_tflite_model.hpp through the real TensorFlow
# Lite runtime (TFLite's builtin integer kernels, tfjs-tflite under Node: see
# ../shared/tools/tflite-ref/README.md) and stores in tests/golden/data/:
#   int8_small.tsv                     the model's FNV-1a hash, size, and the runtime's report
#   int8_small__random__layers.i8.bin  every operator output, in operator order, concatenated
#   int8_small__random__output.i8.bin  the output (10 int8 probabilities)
# Usage: tests/golden/make_int8_golden.sh TFLITE_REF_DIR
#   TFLITE_REF_DIR: a copy of ../shared/tools/tflite-ref with `npm install` done in it.
set -euo pipefail
ref=${1:?usage: make_int8_golden.sh TFLITE_REF_DIR}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
${CXX:-g++} -std=c++17 -O1 -I"$here/.." "$here/write_int8_model.cpp" -o "$work/write_int8_model"
hash=$("$work/write_int8_model" "$work/int8_small.tflite" "$work/input.bin")
# builtin: XNNPACK kept off the quantized operators; --profile lists the kernels that ran.
report=$(cd "$ref" && node tflite_ref.mjs "$work/int8_small.tflite" "$work/input.bin" "$work/output.bin" \
           --runtime tfjs --kernels builtin --profile --dump-dir "$work/dump" 2>&1 | grep -v '^INFO')
echo "$report"
grep -q '"DEPTHWISE_CONV_2D":13' <<<"$report" || { echo "builtin kernels not confirmed" >&2; exit 1; }
out="$here/data"
cp "$work/output.bin" "$out/int8_small__random__output.i8.bin"
: > "$out/int8_small__random__layers.i8.bin"
tail -n +2 "$work/dump/tensors.tsv" | cut -f5 | while read -r file; do
  cat "$work/dump/$file" >> "$out/int8_small__random__layers.i8.bin"
done
{
  printf 'model_fnv1a64\t%s\n' "$hash"
  printf 'model_bytes\t%s\n' "$(stat -c %s "$work/int8_small.tflite")"
  printf 'runtime\t%s\n' "$(grep -m1 tfjs-tflite <<<"$report")"
  printf 'kernels\t%s\n' "$(grep -m1 'nodes run' <<<"$report")"
  printf 'layers\t%s\n' "$(tail -n +2 "$work/dump/tensors.tsv" | cut -f2,3,4 | tr '\t\n' ' ;')"
} > "$out/int8_small.tsv"

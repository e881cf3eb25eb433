#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/run-tensor as a user proving parity runs it: bad arguments and inputs always; with
# the shared data (MOBILENET_DATA_DIR, else SOURCE_DIR/../shared/data), every golden input of
# every quantized model gives TFLite's builtin output byte for byte, and the dumped layers of
# the `random` case equal TFLite's intermediate tensors. Exits 77 (skipped) when the data is absent.
#   test_run_tensor.sh SOURCE_DIR RUN_TENSOR_BINARY WORK_DIR
set -uo pipefail
source_dir="$1" run_tensor="$2" work="$3/run_tensor"
source "$(dirname "$0")/check.sh"
rm -rf "$work" && mkdir -p "$work"
model="$source_dir/models/mobilenet_v1_0.5_160_quant.tflite"

check help 0 "usage: run-tensor --model FILE" -- "$run_tensor" --help
check no-output 2 "no --output given" -- "$run_tensor" --model "$model" in.bin
check no-inputs 2 "no input tensors given" -- "$run_tensor" --model "$model" --output o.bin
check bad-precision 2 "--precision expects int8 or float, got 'fp16'" -- "$run_tensor" --model "$model" --precision fp16 --output o.bin a
head -c 1000 /dev/zero > "$work/short.bin"
check short-input 1 "short.bin: 1000 bytes; one uint8 image of \[1, 160, 160, 3\] needs exactly 76800" -- \
  "$run_tensor" --model "$model" --output "$work/o.bin" "$work/short.bin"
check missing-input 1 "nope.bin" -- "$run_tensor" --model "$model" --output "$work/o.bin" "$work/nope.bin"
head -c 76800 /dev/zero > "$work/zeros.bin"
check shipped-model 0 "int8 on" -- "$run_tensor" --model "$model" --output "$work/o.bin" "$work/zeros.bin" "$work/zeros.bin"
check output-size 0 "^2002$" -- stat -c %s "$work/o.bin"
check float-precision 0 "float on" -- "$run_tensor" --model "$model" --precision float --output "$work/f.bin" "$work/zeros.bin"

data="${MOBILENET_DATA_DIR:-$source_dir/../shared/data}"
golden="$data/tflite-golden"
if [[ ! -f "$golden/manifest.tsv" ]]; then
  echo "skipped: no TFLite golden data in $golden (set MOBILENET_DATA_DIR)"
  [[ $failures -eq 0 ]] && exit 77
  exit 1
fi
compared=0
for input in "$golden"/inputs/*_quant*__*.u8.bin; do
  name="$(basename "$input" .u8.bin)"  # <model>__<case>
  model_name="${name%%__*}" case_name="${name##*__}"
  expected="$golden/outputs/${name}__builtin.u8.bin"
  dump=""
  [[ "$case_name" == random ]] && dump="--dump-dir $work/dump_$model_name"
  # shellcheck disable=SC2086
  if ! "$run_tensor" --model "$data/models/$model_name.tflite" $dump --output "$work/out.bin" "$input" >/dev/null 2>&1 ||
     ! cmp -s "$work/out.bin" "$expected"; then
    echo "FAIL golden $name: output differs from TFLite's builtin kernels"
    failures=$((failures + 1))
    continue
  fi
  compared=$((compared + 1))
  if [[ -n "$dump" ]]; then
    tensors="$golden/tensors/${name}"
    while IFS=$'\t' read -r index _ _ _ file _; do
      [[ "$index" == index ]] && continue
      ours="$(ls "$work/dump_$model_name/0/$(printf %02d "$index")"_*.bin 2>/dev/null | head -1)"
      [[ -z "$ours" ]] && continue  # RESHAPE: a copy of the logits, not dumped
      if ! cmp -s "$ours" "$tensors/$file"; then
        echo "FAIL layer $name $file: differs from TFLite's"
        failures=$((failures + 1))
      fi
    done < "$tensors/tensors.tsv"
  fi
done
echo "compared $compared golden outputs"
[[ $compared -gt 0 ]] || { echo "FAIL no golden input found"; failures=$((failures + 1)); }
exit $((failures > 0))

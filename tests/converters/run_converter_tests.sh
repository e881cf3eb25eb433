#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ctest driver for the converters in tools/: makes a tiny synthetic Keras .h5 and a tiny
# PyTorch state dict with their expected outputs, converts them, converts the real Keras model
# from the shared data when there is one, then runs the C++ checks on the results. A converter
# whose Python packages are missing is left out (its C++ test skips); exit 77 (skip) when both are.
#   run_converter_tests.sh SOURCE_DIR WORK_DIR TEST_BINARY [gtest args...]
set -euo pipefail
source_dir="$1" work_dir="$2" test_binary="$3"
shift 3
python="${MOBILENET_PYTHON:-}"
if [[ -z "$python" ]]; then
  # Debian's interpreter has python3-h5py and python3-torch; a python3 earlier on PATH (pyenv,
  # venv) may not.
  if [[ -x /usr/bin/python3 ]]; then python=/usr/bin/python3; else python=python3; fi
fi
mkdir -p "$work_dir"
ran=0
if "$python" "$source_dir/tests/converters/make_tiny_keras_h5.py" "$work_dir"; then
  "$python" "$source_dir/tools/keras_to_safetensors.py" "$work_dir/tiny.h5" "$work_dir/tiny.safetensors"
  export MOBILENET_KERAS_TINY_DIR="$work_dir"
  data_dir="${MOBILENET_DATA_DIR:-$source_dir/../shared/data}"
  if [[ -f "$data_dir/models/mobilenet_v1_0.25_224.h5" ]]; then
    "$python" "$source_dir/tools/keras_to_safetensors.py" "$data_dir/models/mobilenet_v1_0.25_224.h5" \
      "$work_dir/keras_0.25_224.safetensors"
    export MOBILENET_KERAS_CONVERTED="$work_dir/keras_0.25_224.safetensors"
  fi
  ran=1
elif [[ $? -ne 77 ]]; then
  exit 1
fi
if "$python" "$source_dir/tests/converters/make_tiny_torch.py" "$work_dir"; then
  "$python" "$source_dir/tools/torch_to_safetensors.py" "$work_dir/tiny.pth" "$work_dir/tiny_torch.safetensors" \
    --resolution 32
  export MOBILENET_TORCH_TINY_DIR="$work_dir"
  ran=1
elif [[ $? -ne 77 ]]; then
  exit 1
fi
[[ $ran -eq 1 ]] || exit 77
exec "$test_binary" "$@"

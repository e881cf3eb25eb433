#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ctest driver for tools/keras_to_safetensors.py: makes a tiny synthetic Keras .h5 with its
# expected output, converts it, converts the real Keras model from the shared data when there
# is one, then runs the C++ checks on the results. Exit 77 (skip) without h5py/NumPy.
#   run_converter_test.sh SOURCE_DIR WORK_DIR TEST_BINARY [gtest args...]
set -euo pipefail
source_dir="$1" work_dir="$2" test_binary="$3"
shift 3
python="${MOBILENET_PYTHON:-}"
if [[ -z "$python" ]]; then
  # Debian's interpreter has python3-h5py; a python3 earlier on PATH (pyenv, venv) may not.
  if [[ -x /usr/bin/python3 ]]; then python=/usr/bin/python3; else python=python3; fi
fi
mkdir -p "$work_dir"
status=0
"$python" "$source_dir/tests/keras/make_tiny_keras_h5.py" "$work_dir" || status=$?
[[ $status -eq 0 ]] || exit "$status"
"$python" "$source_dir/tools/keras_to_safetensors.py" "$work_dir/tiny.h5" "$work_dir/tiny.safetensors"
export MOBILENET_KERAS_TINY_DIR="$work_dir"
data_dir="${MOBILENET_DATA_DIR:-$source_dir/../shared/data}"
if [[ -f "$data_dir/models/mobilenet_v1_0.25_224.h5" ]]; then
  "$python" "$source_dir/tools/keras_to_safetensors.py" "$data_dir/models/mobilenet_v1_0.25_224.h5" \
    "$work_dir/keras_0.25_224.safetensors"
  export MOBILENET_KERAS_CONVERTED="$work_dir/keras_0.25_224.safetensors"
fi
exec "$test_binary" "$@"

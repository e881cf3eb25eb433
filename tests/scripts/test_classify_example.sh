#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/classify as a user runs it: bad arguments and files, and the shipped model on the
# shipped photos, always; real models and photos from the shared data (MOBILENET_DATA_DIR, else
# SOURCE_DIR/../shared/data) when present.
#   test_classify_example.sh SOURCE_DIR CLASSIFY_BINARY WORK_DIR
set -uo pipefail
source_dir="$1" classify="$2" work="$3/classify_example"
source "$(dirname "$0")/check.sh"
rm -rf "$work" && mkdir -p "$work/photos"
unset MOBILENET_MODEL

# With no model given, the shipped model and labels (models/) name the shipped photos.
check default-model-cat 0 "^ +286  0\.[0-9]+  Egyptian cat$" -- "$classify" --top 1 "$source_dir/examples/data/chelsea.jpg"
check default-model-coffee 0 "968	espresso	0\.9" -- "$classify" --tsv "$source_dir/examples/data/coffee.jpg"
check default-labels 0 "^ +286  0\.[0-9]+  Egyptian cat$" -- "$classify" --top 1 \
  --model "$source_dir/models/mobilenet_v1_0.5_160_quant.tflite" "$source_dir/examples/data/chelsea.jpg"
check no-images 2 "no images given" -- "$classify" --model m.tflite
check bad-top 2 "--top expects a positive whole number, got '0'" -- "$classify" --model m --top 0 a.jpg
check bad-threads 2 "--threads expects a positive whole number, got 'x'" -- "$classify" --model m --threads x a.jpg
check too-many-threads 2 "--threads expects at most 256, got 1000" -- "$classify" --model m --threads 1000 a.jpg
check unknown-option 2 "unknown option '--fast'" -- "$classify" --model m --fast a.jpg
check missing-value 2 "--labels needs a value" -- "$classify" --model m a.jpg --labels
check help 0 "usage: classify --model FILE" -- "$classify" --help
check missing-model 1 "nope.tflite" -- "$classify" --model "$work/nope.tflite" a.jpg
echo "not a model" > "$work/junk.tflite"
check junk-model 1 "junk.tflite" -- "$classify" --model "$work/junk.tflite" a.jpg
check env-model-used 1 "env.tflite" -- env MOBILENET_MODEL="$work/env.tflite" "$classify" a.jpg
check model-is-directory 1 "photos: is a directory, expected a model file" -- "$classify" --model "$work/photos" a.jpg

data="${MOBILENET_DATA_DIR:-$source_dir/../shared/data}"
model="$data/models/mobilenet_v1_0.25_224.tflite"
if [[ -f "$model" && -f "$data/images/burger.jpg" ]]; then
  check top-k 0 "^ +934  0\.9[0-9]+  cheeseburger$" -- "$classify" --model "$model" --top 3 "$data/images/burger.jpg"
  check labels-file 0 "934  0\.9[0-9]+  cheeseburger" -- "$classify" --model "$model" \
    --labels "$data/labels/imagenet_labels_1001.txt" "$data/images/burger.jpg"
  check embedded-labels 0 "cheeseburger" -- "$classify" --model "$data/models/mobilenet_v1_0.25_224_metadata.tflite" \
    "$data/images/burger.jpg"
  check two-threads 0 "^ +934  0\.9[0-9]+  cheeseburger$" -- "$classify" --model "$model" --threads 2 --top 1 "$data/images/burger.jpg"
  check timing 0 "burger.jpg \(480 x 325\): [0-9.]+ ms" -- "$classify" --model "$model" "$data/images/burger.jpg"
  check env-model 0 "Egyptian cat" -- env MOBILENET_MODEL="$model" "$classify" \
    --labels "$data/labels/imagenet_labels_1001.txt" --threads 2 "$data/images/cat.bmp"
  # A directory: every image in it, sorted, one TSV line each; a bad file is reported and
  # makes the exit status 1 while the others are still classified.
  cp "$data/images/parrot.jpg" "$work/photos/b.JPG"
  cp "$data/images/burger.jpg" "$work/photos/a.jpg"
  echo "notes" > "$work/photos/readme.txt"
  tsv="$("$classify" --model "$model" --labels "$data/labels/imagenet_labels_1001.txt" --tsv "$work/photos" 2>/dev/null)"
  expected="$(printf '%s\t934\tcheeseburger\t0.9\n%s\t89\tmacaw\t0.9\n' "$work/photos/a.jpg" "$work/photos/b.JPG")"
  if [[ "$(sed 's/\t\(0\.9\)[0-9]*$/\t\1/' <<<"$tsv")" == "$expected" ]]; then echo "ok   tsv-directory"; else
    echo "FAIL tsv-directory: got"; echo "$tsv"; failures=$((failures + 1)); fi
  printf 'garbage' > "$work/photos/c.png"
  check bad-file-in-directory 1 "c.png: not a JPEG, PNG or BMP image" -- "$classify" --model "$model" --tsv "$work/photos"
  ln -s "$work/photos/missing.jpg" "$work/photos/d.jpg"
  check dangling-link-reported 1 "d.jpg: cannot open image file: a symbolic link to a missing file" -- \
    "$classify" --model "$model" --tsv "$work/photos"
  [[ "$("$classify" --model "$model" --tsv "$work/photos" 2>/dev/null | wc -l)" -eq 2 ]] && echo "ok   others-still-classified" ||
    { echo "FAIL others-still-classified"; failures=$((failures + 1)); }
  # A directory that cannot be listed is reported; the other inputs still run (root lists anything).
  if [[ "$(id -u)" -ne 0 ]]; then
    mkdir -p "$work/locked" && chmod 000 "$work/locked"
    check unreadable-directory 1 "locked: cannot list directory" -- "$classify" --model "$model" --tsv "$work/locked" \
      "$data/images/burger.jpg"
    [[ "$("$classify" --model "$model" --tsv "$work/locked" "$data/images/burger.jpg" 2>/dev/null | wc -l)" -eq 1 ]] &&
      echo "ok   unreadable-directory-others-run" || { echo "FAIL unreadable-directory-others-run"; failures=$((failures + 1)); }
    chmod 700 "$work/locked"
  else
    echo "skip unreadable-directory: root can list any directory"
  fi
  check backbone 1 "backbone without a classifier" -- "$classify" \
    --model "$data/models/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite" "$data/images/cat.bmp"
else
  echo "skip real-model checks: no $model (set MOBILENET_DATA_DIR)"
fi
echo "$failures failed"
[[ $failures -eq 0 ]]

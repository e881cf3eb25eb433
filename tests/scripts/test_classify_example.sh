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
check negative-threads 2 "--threads expects a positive whole number, got '-1' \(0: all cores\)" -- "$classify" --model m --threads -1 a.jpg
check bad-batch 2 "--batch expects a positive whole number, got '0'" -- "$classify" --model m --batch 0 a.jpg
check too-large-batch 2 "--batch expects at most 256, got 1000" -- "$classify" --model m --batch 1000 a.jpg
check tsv-and-json 2 "--tsv and --json exclude each other" -- "$classify" --model m --tsv --json a.jpg
check features-needs-file 2 "--features needs a value" -- "$classify" --model m a.jpg --features
check too-many-threads 2 "--threads expects at most 256, got 1000" -- "$classify" --model m --threads 1000 a.jpg
check unknown-option 2 "unknown option '--fast'" -- "$classify" --model m --fast a.jpg
check missing-value 2 "--labels needs a value" -- "$classify" --model m a.jpg --labels
check help 0 "usage: classify --model FILE" -- "$classify" --help
check missing-model 1 "nope.tflite" -- "$classify" --model "$work/nope.tflite" a.jpg
echo "not a model" > "$work/junk.tflite"
check junk-model 1 "junk.tflite" -- "$classify" --model "$work/junk.tflite" a.jpg
check env-model-used 1 "env.tflite" -- env MOBILENET_MODEL="$work/env.tflite" "$classify" a.jpg
check model-is-directory 1 "photos: is a directory, expected a model file" -- "$classify" --model "$work/photos" a.jpg

# pass_if NAME COMMAND...: a failure unless COMMAND exits with 0.
pass_if() {
  local name="$1"
  shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}

# --version: the three numbers of include/mobilenet/version.hpp.
version="$(sed -n 's/^#define MOBILENET_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' \
  "$source_dir/include/mobilenet/version.hpp" | paste -sd.)"
check version 0 "^classify \(mobilenet\) ${version//./\\.}$" -- "$classify" --version
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] && echo "ok   version-read" || { echo "FAIL version-read: '$version'"; failures=$((failures + 1)); }

# --threads 0: every core.
check all-cores 0 "^ +286  0\.[0-9]+  Egyptian cat$" -- "$classify" --threads 0 --top 1 "$source_dir/examples/data/chelsea.jpg"

# The output the README and docs/getting-started.md show for the shipped model and photo is what
# classify prints, but for the model's directory, the instruction set and the time.
sample="$(cd "$source_dir" && "$classify" --top 3 examples/data/chelsea.jpg)"
for doc in README.md docs/getting-started.md; do
  pass_if "sample-output-$doc" python3 -c '
import re, sys
doc, printed = open(sys.argv[1], encoding="utf-8").read(), sys.stdin.read()
shown = re.search(r"With `--top 3`:\n\n```\n(.*?)```", doc, re.S).group(1)
def normal(text):
    text = re.sub(r"^\S*/models/", "models/", text, flags=re.M)
    text = re.sub(r"running in (\w+) \(\w+\)", r"running in \1 (ISA)", text)
    return re.sub(r": [0-9.]+ ms$", ": T ms", text, flags=re.M).strip()
assert normal(shown) == normal(printed), (normal(shown), normal(printed))
' "$source_dir/$doc" <<<"$sample"
done

# --json on the shipped photos: one valid object per image, with its size, the model format and
# the top K, most probable first.
photos=("$source_dir/examples/data/chelsea.jpg" "$source_dir/examples/data/coffee.jpg")
json="$("$classify" --json --top 3 "${photos[@]}")"
pass_if json-valid python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <<<"$json"
pass_if json-fields python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin]
assert len(lines) == 2, lines
cat, coffee = lines
assert cat["path"].endswith("chelsea.jpg") and (cat["width"], cat["height"]) == (451, 300), cat
assert coffee["path"].endswith("coffee.jpg") and (coffee["width"], coffee["height"]) == (600, 400), coffee
assert cat["model_format"] == "tflite-uint8", cat
assert [t["index"] for t in cat["top"]][0] == 286 and cat["top"][0]["label"] == "Egyptian cat", cat
assert coffee["top"][0]["index"] == 968 and coffee["top"][0]["label"] == "espresso", coffee
for image in lines:
    p = [t["probability"] for t in image["top"]]
    assert len(p) == 3 and p == sorted(p, reverse=True) and 0 < p[0] <= 1, image
' <<<"$json"
# Names with quotes, backslashes, control characters and non-ASCII survive as JSON strings; a
# byte that is not UTF-8 becomes U+FFFD.
mkdir -p "$work/names"
cp "${photos[0]}" "$work/names/"$'quote" back\\slash\ttab\x01 caf\xc3\xa9.jpg'
cp "${photos[0]}" "$work/names/"$'latin1 \xe9.jpg'
pass_if json-escaping python3 -c '
import json, sys
data = sys.stdin.buffer.read().decode("utf-8")  # strict: the output must be UTF-8
paths = sorted(json.loads(l)["path"].rsplit("/", 1)[1] for l in data.splitlines())
assert paths == ["latin1 \ufffd.jpg", "quote\" back\\slash\ttab\x01 caf\u00e9.jpg"], paths
' < <("$classify" --json --top 1 "$work/names")

# --batch: the same answers as one image at a time (probabilities to 4 decimals), in the same
# order, with a batch larger than, equal to and smaller than the list.
round4() { awk -F'\t' -v OFS='\t' '{ $4 = sprintf("%.4f", $4); print }'; }
one_by_one="$("$classify" --tsv --batch 1 "${photos[@]}" | round4)"
for b in 2 3; do
  batched="$("$classify" --tsv --batch "$b" --threads 2 "${photos[@]}" | round4)"
  pass_if "batch-$b-equals-one-by-one" test "$batched" == "$one_by_one" -a "$(wc -l <<<"$batched")" -eq 2
done
# The per-image time with a batch is the batch's time shared out.
check batch-timing 0 "chelsea.jpg \(451 x 300\): [0-9.]+ ms" -- "$classify" --batch 2 "${photos[@]}"
# A bad file in a batch is reported; the others in it are still classified, in sorted order.
mkdir -p "$work/batch"
cp "${photos[0]}" "$work/batch/a.jpg" && printf 'garbage' > "$work/batch/b.png" && cp "${photos[1]}" "$work/batch/c.jpg"
check bad-file-in-batch 1 "b.png: not a JPEG, PNG or BMP image" -- "$classify" --batch 3 --tsv "$work/batch"
expected="$(printf '%s\t286\tEgyptian cat\n%s\t968\tespresso\n' "$work/batch/a.jpg" "$work/batch/c.jpg")"
pass_if bad-file-in-batch-others test "$("$classify" --batch 3 --tsv "$work/batch" 2>/dev/null | cut -f1-3)" == "$expected"

# --features: one line per classified image, path<TAB>values, 512 finite values for the 0.5
# model, the same with and without batching; a bad file gets no line.
"$classify" --tsv --batch 1 --features "$work/features1.txt" "${photos[@]}" >/dev/null
"$classify" --tsv --batch 2 --features "$work/features2.txt" "${photos[@]}" >/dev/null
pass_if features-format python3 - "$work/features1.txt" "$work/features2.txt" "${photos[@]}" <<'PY'
import math, sys
one, two, *photos = sys.argv[1:]
def read(path):
    rows = [line.rstrip("\n").split("\t") for line in open(path)]
    return [r[0] for r in rows], [[float(v) for v in r[1].split(",")] for r in rows]
paths, a = read(one)
paths2, b = read(two)
assert paths == photos and paths2 == photos, (paths, paths2)
assert all(len(v) == 512 and all(math.isfinite(x) for x in v) for v in a + b)
assert a[0] != a[1], "two photos, one embedding"
assert max(abs(x - y) for u, v in zip(a, b) for x, y in zip(u, v)) < 1e-4
PY
"$classify" --tsv --batch 3 --features "$work/features3.txt" "$work/batch" >/dev/null 2>&1
pass_if features-skip-bad-file test "$(cut -f1 "$work/features3.txt")" == "$(printf '%s\n%s' "$work/batch/a.jpg" "$work/batch/c.jpg")"
# The image after the bad one (moved up a row in the batch) keeps its own embedding.
pass_if features-after-bad-file python3 -c '
import sys
rows = [[float(v) for v in line.split("\t")[1].split(",")] for line in open(sys.argv[1])]
alone = [[float(v) for v in line.split("\t")[1].split(",")] for line in open(sys.argv[2])]
assert len(rows) == 2 and max(abs(x - y) for u, v in zip(rows, alone) for x, y in zip(u, v)) < 1e-4
' "$work/features3.txt" "$work/features1.txt"
check features-unwritable 1 "nodir/f.txt: cannot write features" -- "$classify" --features "$work/nodir/f.txt" "${photos[0]}"

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
  # Batches over the shared photos (five images, so a partial last batch) agree with one by one.
  one_by_one="$("$classify" --model "$model" --tsv --batch 1 "$data/images" | round4)"
  batched="$("$classify" --model "$model" --tsv --batch 2 --threads 0 "$data/images" | round4)"
  pass_if batch-shared-photos test "$batched" == "$one_by_one" -a "$(wc -l <<<"$batched")" -eq 5
  pass_if json-shared-photos python3 -c 'import json,sys; l = [json.loads(l) for l in sys.stdin]; assert len(l) == 5
assert l[0]["top"][0]["label"] == "cheeseburger" and l[0]["model_format"] == "tflite-float32", l[0]' \
    < <("$classify" --model "$model" --json "$data/images")
  check backbone 1 "backbone without a classifier" -- "$classify" \
    --model "$data/models/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite" "$data/images/cat.bmp"
else
  echo "skip real-model checks: no $model (set MOBILENET_DATA_DIR)"
fi
echo "$failures failed"
[[ $failures -eq 0 ]]

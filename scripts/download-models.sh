#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Downloads one of TensorFlow's hosted pretrained MobileNetV1 models (Apache-2.0), caches the
# archive, and extracts its .tflite file. Prints the path of the .tflite on stdout, so that
#   export MOBILENET_MODEL="$(bash scripts/download-models.sh 0.5 160)"
# points the classify example at it.
#
#   scripts/download-models.sh [ALPHA] [RESOLUTION] [--quant] [--dir DIR] [--dry-run]
#     ALPHA        width multiplier: 0.25, 0.5, 0.75 or 1.0 (default 1.0)
#     RESOLUTION   input size: 128, 160, 192 or 224 (default 224)
#     --quant      the uint8-quantized model instead of the float one
#     --dir DIR    where to keep archives and models (default: $MOBILENET_CACHE_DIR, else
#                  ${XDG_CACHE_HOME:-~/.cache}/mobilenet)
#     --dry-run    print the URL and the target path, download nothing
#
# Environment: MOBILENET_MODELS_URL, the release folder to download from (default: TensorFlow's
# mobilenet_v1_2018_08_02), for a mirror. Without a network, a model already in the cache folder
# is used as is; the repository's own models/mobilenet_v1_0.5_160_quant.tflite needs no download.
set -euo pipefail

usage() { sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }
fail() { echo "download-models: $*" >&2; exit 2; }

alpha="" resolution="" quant=0 dry_run=0
dir="${MOBILENET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mobilenet}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage 0 ;;
    --quant) quant=1 ;;
    --dry-run) dry_run=1 ;;
    --dir) [[ $# -ge 2 && -n "$2" ]] || fail "--dir needs a directory"; dir="$2"; shift ;;
    --dir=*) dir="${1#--dir=}"; [[ -n "$dir" ]] || fail "--dir needs a directory" ;;
    -*) fail "unknown option '$1' (see --help)" ;;
    *)
      if [[ -z "$alpha" ]]; then alpha="$1"
      elif [[ -z "$resolution" ]]; then resolution="$1"
      else fail "unexpected argument '$1' (see --help)"; fi ;;
  esac
  shift
done
alpha="${alpha:-1.0}"
resolution="${resolution:-224}"
case "$alpha" in
  0.25|0.5|0.75|1.0) ;;
  .25) alpha=0.25 ;; .5) alpha=0.5 ;; .75) alpha=0.75 ;; 1|1.00) alpha=1.0 ;; 0.50) alpha=0.5 ;;
  *) fail "ALPHA must be 0.25, 0.5, 0.75 or 1.0, got '$alpha'" ;;
esac
case "$resolution" in
  128|160|192|224) ;;
  *) fail "RESOLUTION must be 128, 160, 192 or 224, got '$resolution'" ;;
esac

name="mobilenet_v1_${alpha}_${resolution}"
if [[ $quant -eq 1 ]]; then name="${name}_quant"; fi
# The 2018-08-02 release holds float and quantized models of every size.
base="${MOBILENET_MODELS_URL:-https://storage.googleapis.com/download.tensorflow.org/models/mobilenet_v1_2018_08_02}"
url="${base%/}/${name}.tgz"
archive="$dir/${name}.tgz"
model="$dir/${name}.tflite"

if [[ $dry_run -eq 1 ]]; then
  echo "url: $url"
  echo "archive: $archive"
  echo "model: $model"
  exit 0
fi
if [[ -s "$model" ]]; then
  echo "$model"
  exit 0
fi
# What to do instead when the download cannot happen (no network, no curl or wget).
offline_fail() {
  local root
  root="$(cd "$(dirname "$0")/.." && pwd)"
  {
    echo "download-models: $*"
    echo "Offline? Any of these works without a network:"
    echo "  - the model shipped in the repository: $root/models/mobilenet_v1_0.5_160_quant.tflite"
    echo "    (scripts/classify.sh uses it when given no model)"
    echo "  - a model file you have: bash scripts/classify.sh --model FILE IMAGE, or export MOBILENET_MODEL=FILE"
    echo "  - copy ${name}.tflite, or the archive ${name}.tgz from $url,"
    echo "    into the cache folder $dir and run this again"
  } >&2
  exit 2
}
mkdir -p "$dir" || fail "cannot create '$dir'"
if [[ ! -s "$archive" ]]; then
  echo "download-models: fetching $url" >&2
  partial="$archive.partial"
  if command -v curl >/dev/null 2>&1; then
    curl -fL --retry 3 -o "$partial" "$url" || { rm -f "$partial"; offline_fail "download failed: $url"; }
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$partial" "$url" || { rm -f "$partial"; offline_fail "download failed: $url"; }
  else
    offline_fail "needs curl or wget to download (Debian: apt-get install curl)"
  fi
  mv "$partial" "$archive"
fi
# The archive holds the checkpoint, frozen graph and ./<name>.tflite; take only the last.
tar -xzf "$archive" -C "$dir" --wildcards --no-anchored "${name}.tflite" ||
  fail "$archive does not hold ${name}.tflite (delete it to download again)"
[[ -s "$model" ]] || model="$(find "$dir" -name "${name}.tflite" -print -quit)"
[[ -s "$model" ]] || fail "extracted nothing from $archive"
echo "$model"

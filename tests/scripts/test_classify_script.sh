#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks scripts/classify.sh without the network and without building: help and argument errors
# come before any install, build or download; --option=VALUE is passed on as --option VALUE; the
# model defaults to the shipped one; a build message comes first; a failed download says what
# to do offline. cmake, dpkg-query and the classify binary are stand-ins made here.
#   test_classify_script.sh SOURCE_DIR WORK_DIR
set -uo pipefail
source_dir="$1" work="$2/classify_script"
script="$source_dir/scripts/classify.sh"
source "$(dirname "$0")/check.sh"
rm -rf "$work" && mkdir -p "$work/bin" "$work/run/examples"

# Stand-ins: cmake records each call in $work/cmake.calls and exits with $FAKE_CMAKE_STATUS;
# dpkg-query says every package is installed; classify prints the arguments it was given.
cat > "$work/bin/cmake" <<STUB
#!/usr/bin/env bash
echo "cmake \$*" >> "$work/cmake.calls"
echo "fake cmake output"
exit \${FAKE_CMAKE_STATUS:-0}
STUB
printf '#!/usr/bin/env bash\nprintf "install ok installed"\n' > "$work/bin/dpkg-query"
printf '#!/usr/bin/env bash\necho "classify args: $*"\n' > "$work/run/examples/classify"
chmod +x "$work/bin/cmake" "$work/bin/dpkg-query" "$work/run/examples/classify"
run() { env -u MOBILENET_MODEL PATH="$work/bin:$PATH" MOBILENET_RUN_BUILD_DIR="$work/run" bash "$script" "$@"; }
no_build() {  # no_build NAME: fails unless cmake was never called
  if [[ -e "$work/cmake.calls" ]]; then
    echo "FAIL $1: cmake ran:"; cat "$work/cmake.calls"; failures=$((failures + 1)); rm -f "$work/cmake.calls"
  else
    echo "ok   $1-before-build"
  fi
}

check help 0 "bash scripts/classify.sh \[OPTIONS\] IMAGE\|DIR" -- run --help
no_build help
check help-after-image 0 "--model FILE +\.tflite" -- run photo.jpg -h
no_build help-after-image
check unknown-option 2 "unknown option '--fast'.*" -- run --fast photo.jpg
no_build unknown-option
check bad-top 2 "--top expects a positive whole number, got '0'" -- run --top=0 photo.jpg
check bad-threads 2 "--threads expects a positive whole number, got 'x'" -- run --threads x photo.jpg
check model-needs-value 2 "--model needs a value" -- run photo.jpg --model
check empty-model 2 "--model needs a value" -- run --model= photo.jpg
check no-images 2 "no images given" -- run --top 3
no_build argument-errors

# Arguments reach classify as --option VALUE, in order; the build is announced first.
check equals-form 0 "classify args: --model m\.tflite --top 3 --labels l\.txt a\.jpg --tsv --threads 2 b\.png$" -- \
  run --model=m.tflite --top=3 --labels l.txt a.jpg --tsv --threads=2 b.png
check build-message 0 "^classify.sh: (building|checking the build of) examples/classify in $work/run" -- run --model m a.jpg
check default-model 0 "classify args: --model $source_dir/models/mobilenet_v1_0\.5_160_quant\.tflite a\.jpg$" -- run a.jpg
check env-model 0 "classify args: --model env\.tflite a\.jpg$" -- env MOBILENET_MODEL=env.tflite \
  PATH="$work/bin:$PATH" MOBILENET_RUN_BUILD_DIR="$work/run" bash "$script" a.jpg
rm -f "$work/cmake.calls"
check build-failure 1 "the build failed; the whole log is $work/run/classify-build.log" -- \
  env FAKE_CMAKE_STATUS=1 PATH="$work/bin:$PATH" MOBILENET_RUN_BUILD_DIR="$work/run" bash "$script" --model m a.jpg
[[ -s "$work/cmake.calls" ]] && echo "ok   build-failure-ran-cmake" || { echo "FAIL build-failure-ran-cmake"; failures=$((failures + 1)); }

# A download that cannot connect (a closed local port) says what to do offline.
download() { env MOBILENET_MODELS_URL=http://127.0.0.1:9 bash "$source_dir/scripts/download-models.sh" "$@"; }
check offline-hint-flag 2 "bash scripts/classify.sh --model FILE IMAGE, or export MOBILENET_MODEL=FILE" -- \
  download 0.5 160 --dir "$work/cache"
check offline-hint-cache 2 "into the cache folder $work/cache and run this again" -- download 0.5 160 --dir "$work/cache"
check offline-hint-shipped 2 "shipped in the repository: $source_dir/models/mobilenet_v1_0\.5_160_quant\.tflite" -- \
  download 1.0 224 --dir "$work/cache"
[[ ! -e "$work/cache/mobilenet_v1_0.5_160.tgz.partial" ]] && echo "ok   no-partial-left" ||
  { echo "FAIL no-partial-left"; failures=$((failures + 1)); }

echo "$failures failed"
[[ $failures -eq 0 ]]

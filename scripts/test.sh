#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds mobilenet with -Wall -Wextra -Werror and runs every test:
#   0. scripts/check-source.sh, when present (long functions, timing notes in comments)
#   1. g++, Release
#   2. g++, AddressSanitizer + UndefinedBehaviorSanitizer
#   2b. g++, ThreadSanitizer, the tests that run threads
#   3. clang++, Release (when clang is installed)
#   4. a short libFuzzer run of each loader (when clang's fuzzer runtime is installed)
#   5. the ARM64 depthwise kernels under qemu (when the cross compiler and qemu are installed)
# Environment: JOBS (default: number of cores), FUZZ_SECONDS (default 60; 0 skips fuzzing),
# MOBILENET_DATA_DIR (the real models and photos; tests that need them are skipped without).
#
# Each suite ends with "--- NAME: N passed, M skipped (T s)"; the last line is
#   tests: N passed, F failed, M skipped
# (a skipped test is a GoogleTest GTEST_SKIP or a script test's skip code, not a pass). A
# failing suite prints that line with its failures and exits 1. Benchmarks are compiled by the
# first suite only (they are not run); the sanitizer and clang suites leave them out.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --optional clang libclang-rt-14-dev g++-aarch64-linux-gnu qemu-user \
  python3-numpy python3-h5py python3-torch
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
fuzz_seconds="${FUZZ_SECONDS:-60}"

total_passed=0 total_failed=0 total_skipped=0
summary() {
  echo "tests: $total_passed passed, $total_failed failed, $total_skipped skipped"
  if [[ $total_skipped -gt 0 ]]; then
    echo "$total_skipped skipped: set MOBILENET_DATA_DIR to the shared data folder (the real models" \
      "and photos; default ../shared/data); the skipped tests are listed in build/*/ctest.log"
  fi
}

suite() {  # suite NAME CTEST_ARGS CMAKE_ARGS...
  local name="$1" ctest_args="$2"
  shift 2
  echo "=== $name ==="
  local start=$SECONDS
  cmake -S . -B "build/$name" -DMOBILENET_WARNINGS_AS_ERRORS=ON "$@" >/dev/null
  # shellcheck disable=SC2086
  cmake --build "build/$name" -j "$jobs" ${SUITE_TARGETS:+--target $SUITE_TARGETS}
  local log="build/$name/ctest.log" status=0
  # shellcheck disable=SC2086
  (cd "build/$name" && ctest --output-on-failure -j "$jobs" $ctest_args) | tee "$log" || status=$?
  local passed failed skipped
  read -r passed failed skipped < <(bash scripts/ctest-counts.sh "$log")
  if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; fi  # ctest itself failed
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  total_skipped=$((total_skipped + skipped))
  echo "--- $name: $passed passed, $failed failed, $skipped skipped ($((SECONDS - start)) s)"
  if [[ $status -ne 0 ]]; then
    summary
    exit 1
  fi
}

# Source checks first: a finding fails the run before anything is built.
if [[ -f scripts/check-source.sh ]]; then
  echo "=== check-source ==="
  bash scripts/check-source.sh ||
    { echo "scripts/check-source.sh failed: fix what it lists above (see docs/testing.md)" >&2; exit 1; }
fi

# The only suite that compiles the benchmarks (when Google Benchmark is installed).
suite gcc-release "" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++

sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# The sanitizer builds: -O1 with line tables only (-g1), which is what their reports print;
# full debug info adds half again to the compile time of the heaviest test programs.
sanitized_debug="-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1"
# Packaging tests build a separate project without sanitizers: once (above) is enough.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  suite gcc-asan-ubsan "-LE packaging" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=g++ \
  -DMOBILENET_BUILD_BENCHMARKS=OFF -DMOBILENET_CHECK_HEADERS=OFF \
  "$sanitized_debug" "-DCMAKE_CXX_FLAGS=$sanitize" "-DCMAKE_EXE_LINKER_FLAGS=$sanitize"

# Every test that runs threads, under ThreadSanitizer (only the programs that hold them).
TSAN_OPTIONS=halt_on_error=1 SUITE_TARGETS="test_thread_pool test_plan test_sessions test_quantized_plan" \
  suite gcc-tsan "-R ^(ThreadPool|GuidedCounter|WorkSharing|PlanThreads|Session|QuantizedPlan\.)" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_COMPILER=g++ -DMOBILENET_BUILD_BENCHMARKS=OFF -DMOBILENET_BUILD_EXAMPLES=OFF \
  "$sanitized_debug" "-DCMAKE_CXX_FLAGS=-fsanitize=thread" "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread"

if command -v clang++ >/dev/null 2>&1; then
  suite clang-release "-LE packaging" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
    -DMOBILENET_BUILD_BENCHMARKS=OFF -DMOBILENET_BUILD_FUZZERS=ON
  if [[ "$fuzz_seconds" != 0 ]]; then
    for fuzzer in build/clang-release/fuzz/fuzz_*; do
      [[ -x "$fuzzer" ]] || continue
      name="$(basename "$fuzzer")"
      [[ "$name" == *_seeds ]] && continue  # a seed writer, not a fuzzer
      corpus="build/clang-release/fuzz/corpus_$name"
      mkdir -p "$corpus"
      echo "=== $name for ${fuzz_seconds}s ==="
      # Seeds: the committed golden files (valid inputs whose headers the fuzzer mutates), or
      # what the fuzzer's own seed writer <fuzzer>_seeds makes; max_len fits the largest seed.
      seeds=tests/golden/data max_len=4096
      if [[ -x "${fuzzer}_seeds" ]]; then
        seeds="build/clang-release/fuzz/seeds_$name"
        mkdir -p "$seeds"
        "${fuzzer}_seeds" "$seeds" >/dev/null
        max_len=$(($(find "$seeds" -type f -printf '%s\n' | sort -n | tail -n 1) * 2))
      fi
      # A dictionary of the format's tokens, and the regression corpus as seeds too.
      dict=()
      [[ -f "fuzz/$name.dict" ]] && dict=("-dict=fuzz/$name.dict")
      "$fuzzer" -max_total_time="$fuzz_seconds" -max_len="$max_len" -print_final_stats=1 "${dict[@]}" \
        "$corpus" "$seeds" "fuzz/regression/$name" > "build/clang-release/fuzz/$name.log" 2>&1 ||
        { tail -n 40 "build/clang-release/fuzz/$name.log"; exit 1; }
      grep -E "^(#[0-9]+.*DONE|Done|stat::number_of_executed_units)" "build/clang-release/fuzz/$name.log" || true
    done
  fi
else
  echo "=== clang++ not found: clang build and fuzzing skipped ==="
fi
# ARM64 NEON kernels, cross-compiled and run under qemu (skipped when either is missing).
bash scripts/test-arm64.sh
echo "=== all test suites passed ==="
summary

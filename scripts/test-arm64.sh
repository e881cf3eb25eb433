#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cross-compiles the standalone ARM64 checks and runs them under qemu-aarch64: the NEON and
# generic depthwise and GEMM kernels against their reference twins, and the execution plan on
# them against the reference path. Exits 0 with a message, without
# testing, when the cross compiler or qemu is missing (scripts/test.sh asks for them as
# optional packages: g++-aarch64-linux-gnu, qemu-user).
# The checks are independent: up to JOBS of them build and run at once, each into its own log,
# and the logs are printed in order at the end.
# Environment: CXX_ARM64 (default aarch64-linux-gnu-g++), QEMU_ARM64 (default qemu-aarch64),
# JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."

cxx="${CXX_ARM64:-aarch64-linux-gnu-g++}"
qemu="${QEMU_ARM64:-qemu-aarch64}"
sysroot="${ARM64_SYSROOT:-/usr/aarch64-linux-gnu}"
for tool in "$cxx" "$qemu"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "=== ARM64 check skipped: $tool not found (install g++-aarch64-linux-gnu qemu-user) ==="
    exit 0
  fi
done

out=build/arm64
mkdir -p "$out"
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
eigen="${EIGEN_INCLUDE:-/usr/include/eigen3}"
echo "=== ARM64: $cxx, run under $qemu ==="

# check NAME CPU SOURCE FLAGS... -- ARGS...: builds $out/NAME from tests/arm64/SOURCE with FLAGS
# and runs it with ARGS under qemu (-cpu CPU unless CPU is empty); output in $out/NAME.log.
check() {
  local name="$1" cpu="$2" source="$3" flags=() qemu_flags=()
  shift 3
  while [[ $# -gt 0 && "$1" != "--" ]]; do flags+=("$1"); shift; done
  if [[ $# -gt 0 ]]; then shift; fi
  if [[ -n "$cpu" ]]; then qemu_flags=(-cpu "$cpu"); fi
  { "$cxx" -std=c++17 -O2 "${flags[@]}" -Wall -Wextra -Werror -Iinclude "tests/arm64/$source" \
      -o "$out/$name" &&
    "$qemu" -L "$sysroot" "${qemu_flags[@]}" "$out/$name" "$@"; } >"$out/$name.log" 2>&1
}
names=()
start() {  # start NAME ...: check NAME ... in the background once fewer than $jobs run
  while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do wait -n || true; done
  rm -f "$out/$1.status"
  { if check "$@"; then echo 0; else echo $?; fi >"$out/$1.status"; } &
  names+=("$1")
}

start check_depthwise "" check_depthwise.cpp
start check_gemm "" check_gemm.cpp
# The plan needs Eigen (the reference path it is checked against); -Wno-psabi: GCC's note that
# std::pair<float, float> is passed differently since GCC 10, which is no problem here.
start check_plan "" check_plan.cpp -Wno-psabi -I"$eigen" -pthread
# The 8-bit GEMM: NEON without the dot product, then with it (+dotprod; qemu's -cpu max has it).
start check_gemm_int8 "" check_gemm_int8.cpp
start check_gemm_int8_dotprod max check_gemm_int8.cpp -march=armv8.2-a+dotprod -- --expect-dotprod
# The integer reference path against real TFLite outputs (tests/golden/data/int8_small__*).
start check_quantized_reference "" check_quantized_reference.cpp -Wno-psabi -I"$eigen" -- tests/golden/data
# The 8-bit depthwise kernels: NEON and generic, then again built with the dot product
# extension (run with -cpu max) so that the NeonDot path is swept too.
start check_depthwise_int8 "" check_depthwise_int8.cpp
start check_depthwise_int8_dotprod max check_depthwise_int8.cpp -march=armv8.2-a+dotprod
# The 8-bit plan against the integer reference and real TFLite, without and with the dot product.
start check_quantized_plan "" check_quantized_plan.cpp -Wno-psabi -I"$eigen" -pthread -- tests/golden/data
start check_quantized_plan_dotprod max check_quantized_plan.cpp -march=armv8.2-a+dotprod -Wno-psabi \
  -I"$eigen" -pthread -- tests/golden/data --expect-dotprod
wait

# Each check's output in the order above; a failed check fails the script.
for name in "${names[@]}"; do
  cat "$out/$name.log"
  status="$(cat "$out/$name.status" 2>/dev/null || echo 1)"
  if [[ "$status" != 0 ]]; then
    echo "=== ARM64: $name failed (exit $status) ===" >&2
    exit 1
  fi
done

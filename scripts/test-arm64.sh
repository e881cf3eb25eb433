#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cross-compiles the standalone ARM64 checks and runs them under qemu-aarch64: the NEON and
# generic depthwise and GEMM kernels against their reference twins, and the execution plan on
# them against the reference path. Exits 0 with a message, without
# testing, when the cross compiler or qemu is missing (scripts/test.sh asks for them as
# optional packages: g++-aarch64-linux-gnu, qemu-user).
# Environment: CXX_ARM64 (default aarch64-linux-gnu-g++), QEMU_ARM64 (default qemu-aarch64).
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
echo "=== ARM64: $cxx, run under $qemu ==="
"$cxx" -std=c++17 -O2 -Wall -Wextra -Werror -Iinclude tests/arm64/check_depthwise.cpp \
  -o "$out/check_depthwise"
"$qemu" -L "$sysroot" "$out/check_depthwise"
"$cxx" -std=c++17 -O2 -Wall -Wextra -Werror -Iinclude tests/arm64/check_gemm.cpp -o "$out/check_gemm"
"$qemu" -L "$sysroot" "$out/check_gemm"
# The plan needs Eigen (the reference path it is checked against); -Wno-psabi: GCC's note that
# std::pair<float, float> is passed differently since GCC 10, which is no problem here.
"$cxx" -std=c++17 -O2 -Wall -Wextra -Werror -Wno-psabi -Iinclude -I"${EIGEN_INCLUDE:-/usr/include/eigen3}" \
  tests/arm64/check_plan.cpp -o "$out/check_plan" -pthread
"$qemu" -L "$sysroot" "$out/check_plan"
# The 8-bit GEMM: NEON without the dot product, then with it (+dotprod; qemu's -cpu max has it).
"$cxx" -std=c++17 -O2 -Wall -Wextra -Werror -Iinclude tests/arm64/check_gemm_int8.cpp -o "$out/check_gemm_int8"
"$qemu" -L "$sysroot" "$out/check_gemm_int8"
"$cxx" -std=c++17 -O2 -march=armv8.2-a+dotprod -Wall -Wextra -Werror -Iinclude tests/arm64/check_gemm_int8.cpp \
  -o "$out/check_gemm_int8_dotprod"
"$qemu" -L "$sysroot" -cpu max "$out/check_gemm_int8_dotprod" --expect-dotprod
# The integer reference path against real TFLite outputs (tests/golden/data/int8_small__*).
"$cxx" -std=c++17 -O2 -Wall -Wextra -Werror -Wno-psabi -Iinclude -I"${EIGEN_INCLUDE:-/usr/include/eigen3}" \
  tests/arm64/check_quantized_reference.cpp -o "$out/check_quantized_reference"
"$qemu" -L "$sysroot" "$out/check_quantized_reference" tests/golden/data
# The 8-bit depthwise kernels: NEON and generic, then again built with the dot product
# extension (run with -cpu max) so that the NeonDot path is swept too.
"$cxx" -std=c++17 -O2 -Wall -Wextra -Werror -Iinclude tests/arm64/check_depthwise_int8.cpp \
  -o "$out/check_depthwise_int8"
"$qemu" -L "$sysroot" "$out/check_depthwise_int8"
"$cxx" -std=c++17 -O2 -march=armv8.2-a+dotprod -Wall -Wextra -Werror -Iinclude \
  tests/arm64/check_depthwise_int8.cpp -o "$out/check_depthwise_int8_dotprod"
"$qemu" -L "$sysroot" -cpu max "$out/check_depthwise_int8_dotprod"
# The 8-bit plan against the integer reference and real TFLite, without and with the dot product.
for flags in "" "-march=armv8.2-a+dotprod"; do
  "$cxx" -std=c++17 -O2 $flags -Wall -Wextra -Werror -Wno-psabi -Iinclude -I"${EIGEN_INCLUDE:-/usr/include/eigen3}" \
    tests/arm64/check_quantized_plan.cpp -o "$out/check_quantized_plan" -pthread
  if [[ -z "$flags" ]]; then
    "$qemu" -L "$sysroot" "$out/check_quantized_plan" tests/golden/data
  else
    "$qemu" -L "$sysroot" -cpu max "$out/check_quantized_plan" tests/golden/data --expect-dotprod
  fi
done

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cross-compiles the standalone depthwise-kernel check for ARM64 (NEON and generic kernels
# against the reference twin) and runs it under qemu-aarch64. Exits 0 with a message, without
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

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job, from a fresh clone: install what is missing, build, print MobileNetV1's layer
# table. Arguments go to examples/summary (try --alpha 0.5 --resolution 160, or --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/run -DCMAKE_BUILD_TYPE=Release -DMOBILENET_BUILD_TESTS=OFF >/dev/null
cmake --build build/run --target summary -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
exec build/run/examples/summary "$@"

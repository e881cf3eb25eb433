#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what building and testing mobilenet needs. On Debian/Ubuntu it uses apt-get (as
# root, or through sudo); elsewhere it says what to install.
#
#   scripts/install-deps.sh [--optional PKG...]   # optional packages may fail to install
set -euo pipefail

required=(cmake make g++ pkg-config libeigen3-dev libgtest-dev libbenchmark-dev libstb-dev)
optional=()
if [[ "${1:-}" == "--optional" ]]; then
  shift
  optional=("$@")
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  for tool in cmake c++; do
    command -v "$tool" >/dev/null 2>&1 || {
      echo "mobilenet: '$tool' is missing. Install CMake >= 3.16, a C++17 compiler, Eigen 3.4 and" >&2
      echo "GoogleTest with your package manager (CMake fetches Eigen and GoogleTest if absent)." >&2
      exit 1
    }
  done
  exit 0
fi

missing=()
for p in "${required[@]}"; do installed "$p" || missing+=("$p"); done
missing_optional=()
for p in "${optional[@]}"; do installed "$p" || missing_optional+=("$p"); done
[[ ${#missing[@]} -eq 0 && ${#missing_optional[@]} -eq 0 ]] && exit 0

sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "mobilenet: please install as root: apt-get install ${missing[*]} ${missing_optional[*]}" >&2
    [[ ${#missing[@]} -eq 0 ]] && exit 0 || exit 1
  fi
fi

echo "mobilenet: installing ${missing[*]} ${missing_optional[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
if [[ ${#missing[@]} -gt 0 ]]; then
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for p in "${missing_optional[@]}"; do
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$p" >/dev/null ||
    echo "mobilenet: optional package $p could not be installed; its checks will be skipped" >&2
done

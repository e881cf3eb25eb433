// SPDX-License-Identifier: MIT
#pragma once

#define MOBILENET_VERSION_MAJOR 0
#define MOBILENET_VERSION_MINOR 1
#define MOBILENET_VERSION_PATCH 0

namespace mobilenet {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace mobilenet

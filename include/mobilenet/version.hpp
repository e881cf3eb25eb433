// SPDX-License-Identifier: MIT
#pragma once
// The library's version, in this one place: CMakeLists.txt reads the three numbers below for
// project(VERSION), the CMake package and mobilenet.pc. Semantic versioning (CHANGELOG.md):
// before 1.0, a new minor version may change the API; patch versions never do.

#define MOBILENET_VERSION_MAJOR 0
#define MOBILENET_VERSION_MINOR 1
#define MOBILENET_VERSION_PATCH 0

#define MOBILENET_VERSION_STRINGIFY_(x) #x
#define MOBILENET_VERSION_STRINGIFY(x) MOBILENET_VERSION_STRINGIFY_(x)
// "MAJOR.MINOR.PATCH", made from the numbers above so the two cannot disagree.
#define MOBILENET_VERSION_STRING                                                           \
  MOBILENET_VERSION_STRINGIFY(MOBILENET_VERSION_MAJOR)                                     \
  "." MOBILENET_VERSION_STRINGIFY(MOBILENET_VERSION_MINOR) "." MOBILENET_VERSION_STRINGIFY( \
      MOBILENET_VERSION_PATCH)

namespace mobilenet {
inline constexpr const char* kVersion = MOBILENET_VERSION_STRING;
}  // namespace mobilenet

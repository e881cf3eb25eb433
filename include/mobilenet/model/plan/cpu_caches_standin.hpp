// SPDX-License-Identifier: MIT
#pragma once
// Stand-in for kernels::CpuCaches and kernels::cpu_caches() until kernels/cpu_features.hpp
// declares them: the same interface, read from Linux's sysfs only. Delete this file (and its
// include in tuning.hpp) once cpu_features.hpp has the real ones.

#include <algorithm>
#include <fstream>
#include <string>

#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/cpu_features.hpp"

namespace mobilenet {
namespace kernels {

// Data cache sizes of the core the process starts on, and where they came from.
struct CpuCaches {
  Index l1d_bytes = 32 * 1024;
  Index l2_bytes = 1024 * 1024;
  Index l3_bytes = 8 * 1024 * 1024;
  int l3_shared_by = 1;       // logical CPUs sharing the L3
  const char* source = "default";  // "cpuid", "sysfs" or "default"
  // One CPU's part of the L3.
  Index l3_share_bytes() const { return l3_bytes / (l3_shared_by > 0 ? l3_shared_by : 1); }
};

namespace detail {
// "48K", "1024K", "32M" as in sysfs cache/index*/size: bytes, or 0 when unreadable.
inline Index sysfs_size_bytes(const std::string& text) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (...) {
    return 0;
  }
  const char unit = used < text.size() ? text[used] : ' ';
  return unit == 'K' ? value * 1024 : unit == 'M' ? value * 1024 * 1024 : value;
}
// How many CPUs a sysfs shared_cpu_list such as "0-1,4" names.
inline int sysfs_cpu_count(const std::string& list) {
  int count = 0;
  std::size_t at = 0;
  while (at < list.size()) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    const std::string part = list.substr(at, comma - at);
    const std::size_t dash = part.find('-');
    try {
      count += dash == std::string::npos ? 1 : std::stoi(part.substr(dash + 1)) - std::stoi(part) + 1;
    } catch (...) {
      return count > 0 ? count : 1;
    }
    at = comma + 1;
  }
  return count > 0 ? count : 1;
}
}  // namespace detail

inline CpuCaches cpu_caches_from_sysfs(const std::string& dir = "/sys/devices/system/cpu/cpu0/cache") {
  CpuCaches caches;
  bool found = false;
  for (int index = 0; index < 8; ++index) {
    const std::string base = dir + "/index" + std::to_string(index) + "/";
    std::ifstream level_file(base + "level"), type_file(base + "type"), size_file(base + "size"),
        shared_file(base + "shared_cpu_list");
    int level = 0;
    std::string type, size, shared;
    if (!(level_file >> level) || !(type_file >> type) || !(size_file >> size) || type == "Instruction") continue;
    const Index bytes = detail::sysfs_size_bytes(size);
    if (bytes <= 0) continue;
    found = true;
    if (level == 1) caches.l1d_bytes = bytes;
    if (level == 2) caches.l2_bytes = bytes;
    if (level == 3) {
      caches.l3_bytes = bytes;
      if (shared_file >> shared) caches.l3_shared_by = detail::sysfs_cpu_count(shared);
    }
  }
  if (found) caches.source = "sysfs";
  return caches;
}

// Detected once.
inline const CpuCaches& cpu_caches() {
  static const CpuCaches caches = cpu_caches_from_sysfs();
  return caches;
}

}  // namespace kernels
}  // namespace mobilenet

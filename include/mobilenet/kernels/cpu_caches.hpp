// SPDX-License-Identifier: MIT
#pragma once
// The data cache sizes of the CPU the library runs on, for the kernels' blocking: from CPUID
// on x86 (AMD's cache topology leaf 0x8000001D, Intel's deterministic cache leaf 4), else
// from Linux sysfs, else defaults. Included by cpu_features.hpp.

#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/cpu_features.hpp"

namespace mobilenet {
namespace kernels {

// Sizes in bytes of one core's L1 data cache and L2, and of the L3 with the number of
// logical CPUs that share it; 0 = unknown. `source` says where they came from.
struct CpuCaches {
  Index l1d_bytes = 0;
  Index l2_bytes = 0;
  Index l3_bytes = 0;
  int l3_shared_by = 1;
  const char* source = "default";  // "cpuid", "sysfs" or "default"
  // One sharer's part of the L3.
  Index l3_share_bytes() const { return l3_bytes / (l3_shared_by > 0 ? l3_shared_by : 1); }
};

namespace detail {

// "48K", "1024K", "32M", "1G" or a plain number of bytes; 0 if it is none of these.
inline Index parse_cache_size(const std::string& text) {
  std::size_t i = 0;
  Index value = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) value = value * 10 + (text[i] - '0');
  if (i == 0) return 0;
  const char unit = i < text.size() ? text[i] : '\0';
  if (unit == 'K' || unit == 'k') return value << 10;
  if (unit == 'M' || unit == 'm') return value << 20;
  if (unit == 'G' || unit == 'g') return value << 30;
  return unit == '\0' || unit == '\n' || unit == ' ' ? value : 0;
}

// The number of CPUs in a Linux CPU list such as "0-7", "0,2,4" or "0-3,8-11"; at least 1.
inline int count_cpu_list(const std::string& list) {
  int count = 0;
  std::size_t i = 0;
  const auto number = [&](long& out) {
    const std::size_t start = i;
    out = 0;
    for (; i < list.size() && list[i] >= '0' && list[i] <= '9'; ++i) out = out * 10 + (list[i] - '0');
    return i > start;
  };
  while (i < list.size()) {
    long first = 0, last = 0;
    if (!number(first)) break;
    last = first;
    if (i < list.size() && list[i] == '-') {
      ++i;
      if (!number(last)) break;
    }
    if (last >= first) count += static_cast<int>(last - first + 1);
    if (i < list.size() && list[i] == ',') ++i;
    else break;
  }
  return count > 0 ? count : 1;
}

// The first line of a file, or "" if it cannot be read.
inline std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  return line;
}

#if MOBILENET_X86_DISPATCH
// The caches that a CPUID cache-parameters leaf (AMD 0x8000001D, Intel 4; same layout)
// describes, sub-leaf by sub-leaf until type 0.
inline void read_cache_leaf(unsigned leaf, CpuCaches& c) {
  for (unsigned sub = 0; sub < 16; ++sub) {
    std::uint32_t r[4];
    cpuid(leaf, sub, r);
    const unsigned type = r[0] & 0x1F, level = (r[0] >> 5) & 0x7;
    if (type == 0) break;
    if (type == 2) continue;  // instruction cache
    const Index ways = (r[1] >> 22) + 1, partitions = ((r[1] >> 12) & 0x3FF) + 1, line = (r[1] & 0xFFF) + 1;
    const Index bytes = ways * partitions * line * (Index(r[2]) + 1);
    if (level == 1) c.l1d_bytes = bytes;
    if (level == 2) c.l2_bytes = bytes;
    if (level == 3) c.l3_bytes = bytes, c.l3_shared_by = static_cast<int>(((r[0] >> 14) & 0xFFF) + 1);
  }
}
#endif

}  // namespace detail

// Caches from CPUID; zeros and source "default" where CPUID does not say (or off x86).
// AMD's leaf 0x8000001D first (some hypervisors hide the topology-extensions bit but answer
// it), then Intel's leaf 4, then AMD's older leaves 0x80000005/6 for what is still missing.
// l3_shared_by is what CPUID claims, which under a hypervisor can exceed the CPUs there are.
inline CpuCaches cpu_caches_from_cpuid() {
  CpuCaches c;
#if MOBILENET_X86_DISPATCH
  std::uint32_t r[4];
  detail::cpuid(0x80000000u, 0, r);
  const std::uint32_t max_extended = r[0];
  if (max_extended >= 0x8000001Du) detail::read_cache_leaf(0x8000001Du, c);
  detail::cpuid(0, 0, r);
  if (c.l1d_bytes == 0 && c.l2_bytes == 0 && c.l3_bytes == 0 && r[0] >= 4) detail::read_cache_leaf(4, c);
  if (c.l1d_bytes == 0 && max_extended >= 0x80000005u) {
    detail::cpuid(0x80000005u, 0, r);
    c.l1d_bytes = Index(r[2] >> 24) << 10;
  }
  if ((c.l2_bytes == 0 || c.l3_bytes == 0) && max_extended >= 0x80000006u) {
    detail::cpuid(0x80000006u, 0, r);
    if (c.l2_bytes == 0) c.l2_bytes = Index(r[2] >> 16) << 10;
    if (c.l3_bytes == 0) c.l3_bytes = Index(r[3] >> 18) << 19;
  }
  if (c.l1d_bytes || c.l2_bytes || c.l3_bytes) c.source = "cpuid";
#endif
  return c;
}

// Caches from a Linux sysfs directory of the form /sys/devices/system/cpu/cpu0/cache:
// index*/level, type ("Data", "Instruction", "Unified"), size ("48K") and shared_cpu_list.
// A missing directory gives zeros and source "default".
inline CpuCaches cpu_caches_from_sysfs(const std::string& dir = "/sys/devices/system/cpu/cpu0/cache") {
  CpuCaches c;
  for (int i = 0; i < 16; ++i) {
    const std::string index = dir + "/index" + std::to_string(i) + "/";
    const std::string level = detail::read_first_line(index + "level");
    const std::string type = detail::read_first_line(index + "type");
    if (level.empty() || type == "Instruction") continue;
    const Index bytes = detail::parse_cache_size(detail::read_first_line(index + "size"));
    if (level == "1") c.l1d_bytes = bytes;
    if (level == "2") c.l2_bytes = bytes;
    if (level == "3") {
      c.l3_bytes = bytes;
      c.l3_shared_by = detail::count_cpu_list(detail::read_first_line(index + "shared_cpu_list"));
    }
  }
  if (c.l1d_bytes || c.l2_bytes || c.l3_bytes) c.source = "sysfs";
  return c;
}

namespace detail {
inline CpuCaches detect_cpu_caches() {
  CpuCaches c = cpu_caches_from_cpuid();
  if (c.l1d_bytes == 0 || c.l2_bytes == 0 || c.l3_bytes == 0) {
    const CpuCaches s = cpu_caches_from_sysfs();
    if (c.l1d_bytes == 0) c.l1d_bytes = s.l1d_bytes;
    if (c.l2_bytes == 0) c.l2_bytes = s.l2_bytes;
    if (c.l3_bytes == 0) c.l3_bytes = s.l3_bytes, c.l3_shared_by = s.l3_shared_by;
    if (std::string(c.source) == "default") c.source = s.source;
  }
  if (c.l1d_bytes == 0) c.l1d_bytes = Index(32) << 10;
  if (c.l2_bytes == 0) c.l2_bytes = Index(1) << 20;
  if (c.l3_bytes == 0) c.l3_bytes = Index(8) << 20, c.l3_shared_by = 1;
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  if (cpus > 0 && c.l3_shared_by > cpus) c.l3_shared_by = cpus;
  if (c.l3_shared_by < 1) c.l3_shared_by = 1;
  return c;
}
}  // namespace detail

// This CPU's caches, detected once: CPUID, then sysfs, then 32 KiB / 1 MiB / 8 MiB, each
// size falling back on its own. Never zero; l3_shared_by is at most the logical CPUs there are.
inline const CpuCaches& cpu_caches() {
  static const CpuCaches caches = detail::detect_cpu_caches();
  return caches;
}

}  // namespace kernels
}  // namespace mobilenet

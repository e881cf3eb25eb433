// SPDX-License-Identifier: MIT
#pragma once
// A zero-filled block of floats for the plan's weights and activations, on 2 MB pages where
// the OS gives them.
//
// Why: one inference streams 17 MB of weights (1.0/224) and ~10 MB of activations. On 4 KB
// pages that is ~7000 pages, more than a second-level TLB maps (a few thousand entries), so
// 2 MB pages save page walks, and the GEMM's prefetches of the next weights pay off only on
// them (docs/performance.md has the measurements). Linux's default (transparent huge pages in "madvise" mode) only
// gives huge pages to memory that asks, which madvise(MADV_HUGEPAGE) on a 2 MB-aligned block
// does.
// Elsewhere, or when the kernel says no, the block is ordinary memory: only speed differs.

#include <cstddef>
#include <cstdlib>
#include <cstring>
#if defined(_MSC_VER)
#include <malloc.h>
#endif
#include <new>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace mobilenet {
namespace runtime {

class HugePageBuffer {
 public:
  // Blocks at least this large are aligned to and sized in whole huge pages; smaller ones
  // only to a cache line (a 2 MB page for a few KB would waste memory for nothing).
  static constexpr std::size_t kHugePage = std::size_t(2) << 20;
  static constexpr std::size_t kCacheLine = 64;

  HugePageBuffer() = default;
  explicit HugePageBuffer(std::size_t floats) : size_(floats) {
    if (floats == 0) return;
    const std::size_t bytes = floats * sizeof(float);
    const bool huge = bytes >= kHugePage / 2;
    const std::size_t align = huge ? kHugePage : kCacheLine;
    const std::size_t rounded = (bytes + align - 1) / align * align;  // aligned_alloc wants a multiple
    data_ = static_cast<float*>(allocate(align, rounded));
    if (!data_) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // Advice only: if it fails the memory is simply on small pages.
    if (huge) (void)madvise(data_, rounded, MADV_HUGEPAGE);
#endif
    std::memset(data_, 0, rounded);  // also faults the pages in now, not during the first run
  }
  ~HugePageBuffer() { release(data_); }

  HugePageBuffer(HugePageBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  HugePageBuffer& operator=(HugePageBuffer&& other) noexcept {
    if (this != &other) {
      release(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  HugePageBuffer(const HugePageBuffer&) = delete;
  HugePageBuffer& operator=(const HugePageBuffer&) = delete;

  float* data() { return data_; }
  const float* data() const { return data_; }
  // Floats asked for (the block itself may be rounded up).
  std::size_t size() const { return size_; }

 private:
  static void* allocate(std::size_t align, std::size_t bytes) {
#if defined(_MSC_VER)
    return _aligned_malloc(bytes, align);
#else
    return std::aligned_alloc(align, bytes);
#endif
  }
  static void release(void* p) {
#if defined(_MSC_VER)
    _aligned_free(p);
#else
    std::free(p);
#endif
  }

  float* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace runtime
}  // namespace mobilenet

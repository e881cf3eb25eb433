// SPDX-License-Identifier: MIT
// The plan's memory block (runtime/huge_page_buffer.hpp): zero-filled, aligned to a cache line
// (to a huge page when large), movable, and empty when asked for nothing.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>

#include "mobilenet/runtime/huge_page_buffer.hpp"

namespace mobilenet {
namespace runtime {
namespace {

std::uintptr_t address(const float* p) { return reinterpret_cast<std::uintptr_t>(p); }

TEST(HugePageBuffer, SmallBlocksAreZeroedAndCacheLineAligned) {
  for (std::size_t floats : {std::size_t(1), std::size_t(17), std::size_t(1000)}) {
    HugePageBuffer b(floats);
    ASSERT_NE(b.data(), nullptr);
    EXPECT_EQ(b.size(), floats);
    EXPECT_EQ(address(b.data()) % HugePageBuffer::kCacheLine, 0u);
    for (std::size_t i = 0; i < floats; ++i) ASSERT_EQ(b.data()[i], 0.0f) << i;
    b.data()[floats - 1] = 1.0f;  // the whole block is writable (ASan checks the bounds)
  }
}

TEST(HugePageBuffer, LargeBlocksStartOnAHugePage) {
  const std::size_t floats = 3 * HugePageBuffer::kHugePage / sizeof(float) + 5;
  HugePageBuffer b(floats);
  EXPECT_EQ(address(b.data()) % HugePageBuffer::kHugePage, 0u);
  EXPECT_EQ(b.data()[0], 0.0f);
  EXPECT_EQ(b.data()[floats - 1], 0.0f);
  b.data()[floats - 1] = 2.0f;
}

TEST(HugePageBuffer, MovesOwnership) {
  HugePageBuffer a(100);
  a.data()[3] = 5.0f;
  const float* where = a.data();
  HugePageBuffer b(std::move(a));
  EXPECT_EQ(b.data(), where);
  EXPECT_EQ(b.size(), 100u);
  EXPECT_EQ(b.data()[3], 5.0f);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(a.size(), 0u);
  HugePageBuffer c(7);
  c = std::move(b);
  EXPECT_EQ(c.data(), where);
  EXPECT_EQ(c.size(), 100u);
}

TEST(HugePageBuffer, EmptyBlockHasNoMemory) {
  HugePageBuffer none(0);
  EXPECT_EQ(none.data(), nullptr);
  EXPECT_EQ(none.size(), 0u);
  HugePageBuffer defaulted;
  EXPECT_EQ(defaulted.data(), nullptr);
}

}  // namespace
}  // namespace runtime
}  // namespace mobilenet

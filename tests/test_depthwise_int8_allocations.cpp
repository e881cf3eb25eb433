// SPDX-License-Identifier: MIT
// "No heap allocation in a kernel call", counted: this file replaces the global operator new
// (plain and array forms; the kernels use no aligned or nothrow new) for the whole
// test_depthwise_int8 binary and counts calls made while a counter is armed.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "depthwise_int8_cases.hpp"

namespace {
std::atomic<bool> armed{false};
std::atomic<long long> allocations{0};
void* counted(std::size_t size) {
  if (armed.load()) allocations.fetch_add(1);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) { return counted(size); }
void* operator new[](std::size_t size) { return counted(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace mobilenet {
namespace {

TEST(DepthwiseInt8Kernels, AllocateNothing) {
  const testing::Int8LayerData d = testing::make_int8_layer(37, testing::Int8Data::Random, 4);
  const std::vector<std::uint8_t> input = testing::make_int8_input(15 * 15 * 37, testing::Int8Data::Random, 2);
  std::vector<std::uint8_t> output(15 * 15 * 37);
  for (kernels::Int8Isa isa : kernels::runnable_int8_isas()) {
    const kernels::PackedDepthwiseInt8Weights packed(d.layer, isa);
    for (Index stride : {1, 2, 3}) {
      kernels::Depthwise3x3Int8Params p;
      p.input = input.data();
      p.in_h = p.in_w = 15;
      p.channels = 37;
      p.weights = &packed;
      p.output = output.data();
      p.out_h = p.out_w = p.row_end = (15 - 1) / stride + 1;
      p.stride = stride;
      p.pad_top = p.pad_left = 1;
      allocations.store(0);
      armed.store(true);
      kernels::depthwise3x3_int8(p);
      armed.store(false);
      EXPECT_EQ(allocations.load(), 0) << kernels::int8_isa_name(isa) << ", stride " << stride;
    }
  }
  // The counter works (a direct call, which the compiler may not elide).
  armed.store(true);
  void* volatile block = ::operator new(8);
  armed.store(false);
  ::operator delete(block);
  EXPECT_GE(allocations.load(), 1);
}

}  // namespace
}  // namespace mobilenet

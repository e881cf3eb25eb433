// SPDX-License-Identifier: MIT
// Standalone check for ARM64 (cross-compiled, run under qemu-aarch64 by scripts/test-arm64.sh):
// the NEON (with and without the dot product extension) and generic 8-bit depthwise kernels
// against the reference twin over tests/depthwise_int8_cases.hpp's table. No GoogleTest.
// Exit status 0 when every case agrees.

#include <cstdio>
#include <string>
#include <vector>

#include "../depthwise_int8_cases.hpp"

int main() {
  using mobilenet::kernels::Int8Isa;
  const std::vector<Int8Isa> isas = mobilenet::kernels::runnable_int8_isas();
  std::size_t cases = 0, failures = 0;
  for (const auto& c : mobilenet::testing::depthwise_int8_cases()) {
    for (Int8Isa isa : isas) {
      const auto errors = mobilenet::testing::check_depthwise_int8_case(c, isa);
      ++cases;
      failures += errors.size();
      for (const std::string& e : errors) std::printf("FAIL %s\n", e.c_str());
    }
  }
  std::string names;
  for (Int8Isa isa : isas) names += std::string(" ") + mobilenet::kernels::int8_isa_name(isa);
  std::printf("depthwise3x3_int8 kernels:%s; %zu table cases, %zu failures\n", names.c_str(), cases, failures);
#if !defined(MOBILENET_HAVE_DEPTHWISE3X3_INT8_NEON)
  std::printf("FAIL the NEON kernel was not compiled\n");
  return 1;
#else
  return failures == 0 ? 0 : 1;
#endif
}

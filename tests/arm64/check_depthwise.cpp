// SPDX-License-Identifier: MIT
// Standalone check for ARM64 (cross-compiled, run under qemu-aarch64 by scripts/test-arm64.sh):
// the NEON and generic 3x3 depthwise kernels against the reference twin over the same table
// as tests/test_depthwise_kernels.cpp. No GoogleTest, because it is not built for ARM here.
// Exit status 0 when every case agrees.

#include <cstdio>
#include <string>
#include <vector>

#include "../depthwise_cases.hpp"

int main() {
  using mobilenet::kernels::Depthwise3x3Params;
  using mobilenet::kernels::Isa;
  const std::vector<Isa> isas = mobilenet::kernels::depthwise3x3_runnable_isas();
  std::size_t cases = 0, failures = 0;
  for (const auto& c : mobilenet::testing::depthwise_cases()) {
    for (Isa isa : isas) {
      const auto errors = mobilenet::testing::check_depthwise_case(
          c, [isa](const Depthwise3x3Params& p) { mobilenet::kernels::depthwise3x3(p, isa); },
          mobilenet::kernels::isa_name(isa));
      ++cases;
      failures += errors.size();
      for (const std::string& e : errors) std::printf("FAIL %s\n", e.c_str());
    }
  }
  std::string names;
  for (Isa isa : isas) names += std::string(" ") + mobilenet::kernels::isa_name(isa);
  std::printf("depthwise3x3 kernels:%s; %zu table cases, %zu failures\n", names.c_str(), cases,
              failures);
#if !defined(MOBILENET_HAVE_DEPTHWISE3X3_NEON)
  std::printf("FAIL the NEON kernel was not compiled\n");
  return 1;
#else
  return failures == 0 ? 0 : 1;
#endif
}

// SPDX-License-Identifier: MIT
// The CPUID-based ISA detection (what MSVC builds use) against the compiler's own
// __builtin_cpu_supports (what GCC and clang builds use): both must name the same ISAs here.
#include <mobilenet/kernels/cpu_features.hpp>

#include <gtest/gtest.h>

namespace {

using mobilenet::kernels::Isa;

#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
TEST(CpuFeatures, CpuidAgreesWithCompilerBuiltins) {
  for (Isa isa : {Isa::Avx2, Isa::Avx512})
    EXPECT_EQ(mobilenet::kernels::detail::cpuid_supports(isa), mobilenet::kernels::isa_supported(isa))
        << mobilenet::kernels::isa_name(isa);
}

TEST(CpuFeatures, CpuidAnswersOnlyForX86Isas) {
  EXPECT_FALSE(mobilenet::kernels::detail::cpuid_supports(Isa::Neon));
  EXPECT_FALSE(mobilenet::kernels::detail::cpuid_supports(Isa::Generic));
}
#endif

TEST(CpuFeatures, GenericAlwaysSupported) {
  EXPECT_TRUE(mobilenet::kernels::isa_supported(Isa::Generic));
  Isa isas[4];
  const int n = mobilenet::kernels::supported_isas(isas);
  ASSERT_GE(n, 1);
  EXPECT_EQ(isas[0], Isa::Generic);
}

}  // namespace

// SPDX-License-Identifier: MIT
// Standalone check for ARM64 (cross-compiled, run under qemu-aarch64 by scripts/test-arm64.sh):
// the NEON and generic GEMM micro-kernels, through gemm_packed, against gemm_reference over
// odd shapes (M, K, N below, at and above the tiles), strided A and C, each activation, and
// split ranges as the plan's threads take them. No GoogleTest, because it is not built for
// ARM here. Exit status 0 when every case agrees.

#include <cmath>
#include <cstdio>
#include <vector>

#include "../depthwise_cases.hpp"
#include "mobilenet/kernels/gemm.hpp"

namespace {

using mobilenet::Activation;
using mobilenet::Index;
using mobilenet::kernels::Isa;


// Mismatches of one case; C's padding columns must keep their sentinel.
std::size_t check(Isa isa, Index m, Index k, Index n, Activation activation, bool split) {
  constexpr float kSentinel = -12345.0f;
  const Index lda = k + 3, ldc = n + 5;
  using mobilenet::testing::random_values;
  const std::vector<float> a = random_values(m * lda, 1), w = random_values(k * n, 2), bias = random_values(n, 3);
  std::vector<float> want(static_cast<std::size_t>(m * ldc), kSentinel), got = want;
  mobilenet::kernels::gemm_reference(a.data(), m, lda, w.data(), bias.data(), k, n, want.data(), ldc, activation);
  const mobilenet::kernels::PackedGemmWeights packed(w.data(), bias.data(), k, n);
  if (split) {  // rows and panels in two parts each, as two threads would take them
    const Index rows = m / 2, panels = packed.panels() / 2;
    mobilenet::kernels::GemmOptions options;
    options.isa = isa;
    for (auto range : {mobilenet::kernels::GemmRange{0, rows, 0, panels},
                       mobilenet::kernels::GemmRange{0, rows, panels, packed.panels()},
                       mobilenet::kernels::GemmRange{rows, m, 0, panels},
                       mobilenet::kernels::GemmRange{rows, m, panels, packed.panels()}})
      mobilenet::kernels::gemm_packed_range(a.data(), lda, packed, got.data(), ldc, activation, range, options);
  } else {
    mobilenet::kernels::gemm_packed(a.data(), m, lda, packed, got.data(), ldc, activation, isa);
  }
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const float tolerance = 1e-4f * (1.0f + std::fabs(want[i])) * (1.0f + float(k) / 64.0f);
    if (!(std::fabs(got[i] - want[i]) <= tolerance)) {
      if (bad++ < 3)
        std::printf("FAIL %s m=%ld k=%ld n=%ld act=%s split=%d: C[%ld][%ld] = %g, reference %g\n",
                    mobilenet::kernels::isa_name(isa), long(m), long(k), long(n),
                    mobilenet::activation_name(activation), int(split), long(i / ldc), long(i % ldc),
                    double(got[i]), double(want[i]));
    }
  }
  return bad;
}

}  // namespace

int main() {
  std::vector<Isa> isas{Isa::Generic};
  if (mobilenet::kernels::isa_supported(Isa::Neon)) isas.push_back(Isa::Neon);
  const Index shapes[][3] = {{1, 1, 1},   {3, 5, 7},    {6, 16, 16},  {7, 32, 33},  {13, 17, 64},
                             {29, 64, 48}, {49, 257, 100}, {50, 600, 17}, {7, 40, 545}, {31, 3, 1001}};
  std::size_t cases = 0, failures = 0;
  for (Isa isa : isas)
    for (const auto& s : shapes)
      for (Activation a : {Activation::None, Activation::ReLU, Activation::ReLU6})
        for (bool split : {false, true}) {
          ++cases;
          failures += check(isa, s[0], s[1], s[2], a, split) > 0;
        }
  std::printf("gemm kernels:");
  for (Isa isa : isas) std::printf(" %s", mobilenet::kernels::isa_name(isa));
  std::printf("; %zu cases, %zu failures\n", cases, failures);
#if !MOBILENET_NEON
  std::printf("FAIL the NEON kernel was not compiled\n");
  return 1;
#else
  return failures == 0 && isas.size() == 2 ? 0 : 1;
#endif
}

// SPDX-License-Identifier: MIT
#pragma once
// 3x3 depthwise convolution, float32, one image, NHWC, BatchNorm folded into weights and bias,
// activation fused: the scalar reference twin and the dispatcher that picks the fastest
// kernel the CPU runs (AVX-512, AVX2+FMA, NEON, or the portable generic kernel).
//
// The kernels are float-only; double models run through depthwise_conv2d_reference.

#include <cassert>
#include <initializer_list>
#include <vector>

#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/depthwise3x3_avx2.hpp"
#include "mobilenet/kernels/depthwise3x3_avx512.hpp"
#include "mobilenet/kernels/depthwise3x3_common.hpp"
#include "mobilenet/kernels/depthwise3x3_generic.hpp"
#include "mobilenet/kernels/depthwise3x3_neon.hpp"

namespace mobilenet {
namespace kernels {

// The plain-loop twin every kernel is tested against: same contract, no tiling, no SIMD.
// in:  in_h x in_w x C, weights 3 x 3 x C, bias C
// out: rows [row_begin, row_end) of out_h x out_w x C, starting at params.output
// (pixels in_pixel_stride / out_pixel_stride floats apart when those are set)
inline void depthwise3x3_reference(const Depthwise3x3Params& p) {
  assert(detail::valid_params(p));
  const Index ch = p.channels, in_stride = detail::in_stride(p), out_stride = detail::out_stride(p);
  for (Index oy = p.row_begin; oy < p.row_end; ++oy) {
    for (Index ox = 0; ox < p.out_w; ++ox) {
      float* acc = p.output + ((oy - p.row_begin) * p.out_w + ox) * out_stride;
      for (Index c = 0; c < ch; ++c) acc[c] = p.bias[c];
      for (Index ky = 0; ky < 3; ++ky) {
        const Index iy = oy * p.stride - p.pad_top + ky;
        if (iy < 0 || iy >= p.in_h) continue;
        for (Index kx = 0; kx < 3; ++kx) {
          const Index ix = ox * p.stride - p.pad_left + kx;
          if (ix < 0 || ix >= p.in_w) continue;
          const float* pixel = p.input + (iy * p.in_w + ix) * in_stride;
          const float* tap = p.weights + (ky * 3 + kx) * ch;
          for (Index c = 0; c < ch; ++c) acc[c] += pixel[c] * tap[c];
        }
      }
      for (Index c = 0; c < ch; ++c) acc[c] = activate(acc[c], p.activation);
    }
  }
}

// Whether this build has a kernel for `isa` (the CPU may still lack it; see best_isa()).
inline bool depthwise3x3_compiled(Isa isa) {
  switch (isa) {
    case Isa::Generic: return true;
#if defined(MOBILENET_HAVE_DEPTHWISE3X3_AVX2)
    case Isa::Avx2: return true;
#endif
#if defined(MOBILENET_HAVE_DEPTHWISE3X3_AVX512)
    case Isa::Avx512: return true;
#endif
#if defined(MOBILENET_HAVE_DEPTHWISE3X3_NEON)
    case Isa::Neon: return true;
#endif
    default: return false;
  }
}

// The kernels this build has and this CPU runs, capped by best_isa() (so MOBILENET_ISA
// applies), generic first: what tests compare and benchmarks time.
inline std::vector<Isa> depthwise3x3_runnable_isas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::Generic, Isa::Neon, Isa::Avx2, Isa::Avx512})
    if (depthwise3x3_compiled(isa) && isa_supported(isa) &&
        static_cast<int>(isa) <= static_cast<int>(best_isa()))
      isas.push_back(isa);
  return isas;
}

// Runs the kernel for `isa`, which the CPU must support; an ISA this build has no kernel for
// runs the generic kernel.
// in:  in_h x in_w x C, weights 3 x 3 x C, bias C
// out: rows [row_begin, row_end) of out_h x out_w x C, starting at params.output
inline void depthwise3x3(const Depthwise3x3Params& params, Isa isa = best_isa()) {
  switch (isa) {
#if defined(MOBILENET_HAVE_DEPTHWISE3X3_AVX512)
    case Isa::Avx512: depthwise3x3_avx512(params); return;
#endif
#if defined(MOBILENET_HAVE_DEPTHWISE3X3_AVX2)
    case Isa::Avx2: depthwise3x3_avx2(params); return;
#endif
#if defined(MOBILENET_HAVE_DEPTHWISE3X3_NEON)
    case Isa::Neon: depthwise3x3_neon(params); return;
#endif
    default: depthwise3x3_generic(params); return;
  }
}

}  // namespace kernels
}  // namespace mobilenet

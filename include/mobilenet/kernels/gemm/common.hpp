// SPDX-License-Identifier: MIT
#pragma once
// What every GEMM micro-kernel shares: the packed-weight layout and the tile epilogue.

#include <algorithm>
#include <cassert>
#include <limits>

#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/activation.hpp"

namespace mobilenet {
namespace kernels {

// Weights are packed in panels of kGemmPanelWidth output columns: panel p holds columns
// [32p, 32p + 32) as K rows of 32 contiguous floats (zero-padded past N). A micro-kernel
// then reads one 32-float row per step of k, at a fixed stride, from one stream.
inline constexpr Index kGemmPanelWidth = 32;

// What a micro-kernel does around its sum over k, for one tile of C.
struct GemmTileEpilogue {
  const float* bias = nullptr;  // this tile's first column in the padded bias; used if !accumulate
  bool accumulate = false;      // add to C (a later block of k) instead of starting from bias
  bool activate = false;        // clamp to [lower, upper] (the last block of k)
  float lower = -std::numeric_limits<float>::infinity();
  float upper = std::numeric_limits<float>::infinity();
};

// The clamp range of an activation: None is (-inf, inf), ReLU [0, inf), ReLU6 [0, 6].
inline void set_clamp(GemmTileEpilogue& e, Activation activation) {
  e.lower = activation == Activation::None ? -std::numeric_limits<float>::infinity() : 0.0f;
  e.upper = activation == Activation::ReLU6 ? 6.0f : std::numeric_limits<float>::infinity();
}

// Every micro-kernel has this signature:
//   a:  rows x kc, row i at a + i * lda        (activations, k contiguous)
//   b:  kc x 32 panel rows, row k at b + 32 k  (packed weights, already offset to k0)
//   c:  rows x columns, row i at c + i * ldc   (columns <= the kernel's width)
using GemmMicroKernel = void (*)(Index kc, const float* a, Index lda, const float* b, float* c,
                                 Index ldc, Index columns, const GemmTileEpilogue& epilogue);

// A kernel for 16 columns of a panel (columns <= 16; bias of those columns).
using GemmHalfKernel = void (*)(Index kc, const float* a, Index lda, const float* b, float* c,
                                Index ldc, Index columns, const float* bias,
                                const GemmTileEpilogue& epilogue);

// A GemmMicroKernel that runs a 32-column tile as two 16-column halves, for the instruction
// sets whose register files hold 16 columns of a tile.
template <GemmHalfKernel Half>
void gemm_tile_in_halves(Index kc, const float* a, Index lda, const float* b, float* c, Index ldc,
                         Index columns, const GemmTileEpilogue& e) {
  Half(kc, a, lda, b, c, ldc, std::min<Index>(columns, 16), e.bias, e);
  if (columns > 16)
    Half(kc, a, lda, b + 16, c + 16, ldc, columns - 16, e.bias ? e.bias + 16 : nullptr, e);
}

}  // namespace kernels
}  // namespace mobilenet

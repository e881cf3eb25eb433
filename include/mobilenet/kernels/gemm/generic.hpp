// SPDX-License-Identifier: MIT
#pragma once
// Portable GEMM micro-kernel, gemm_tile_generic<Rows, 32>: plain C++ over up to 4 x 32 tiles,
// written so that compilers vectorise the inner loop over columns for whatever the target
// offers.

#include "mobilenet/kernels/gemm/common.hpp"

namespace mobilenet {
namespace kernels {

// Rows x 32 tile of C (rows <= 4, columns <= 32); see GemmMicroKernel.
template <int Rows, int Columns>
void gemm_tile_generic(Index kc, const float* a, Index lda, const float* b, float* c, Index ldc,
                       Index columns, const GemmTileEpilogue& e) {
  static_assert(Columns == kGemmPanelWidth, "generic tiles are one panel wide");
  constexpr Index W = kGemmPanelWidth;
  float acc[Rows][W];
  for (int i = 0; i < Rows; ++i)
    for (Index j = 0; j < W; ++j)
      acc[i][j] = e.accumulate ? (j < columns ? c[i * ldc + j] : 0.0f) : e.bias[j];
  for (Index k = 0; k < kc; ++k) {
    const float* brow = b + k * W;
    for (int i = 0; i < Rows; ++i) {
      const float x = a[i * lda + k];
      for (Index j = 0; j < W; ++j) acc[i][j] += x * brow[j];
    }
  }
  for (int i = 0; i < Rows; ++i)
    for (Index j = 0; j < columns; ++j) {
      float v = acc[i][j];
      if (e.activate) v = v < e.lower ? e.lower : (v > e.upper ? e.upper : v);
      c[i * ldc + j] = v;
    }
}

}  // namespace kernels
}  // namespace mobilenet

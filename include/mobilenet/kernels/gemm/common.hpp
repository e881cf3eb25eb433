// SPDX-License-Identifier: MIT
#pragma once
// What every GEMM micro-kernel shares: the packed-weight layout and the tile epilogue.

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>

#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/kernels/cpu_features.hpp"

namespace mobilenet {
namespace kernels {

// Weights are packed in panels of kGemmPanelWidth output columns: panel p holds columns
// [32p, 32p + 32) as K rows of 32 contiguous floats (zero-padded past N). A micro-kernel
// then reads one 32-float row per step of k, at a fixed stride, from one stream.
inline constexpr Index kGemmPanelWidth = 32;

// The tallest tile of each instruction set's micro-kernels (a tile of a given width runs every
// height from 1 up to this).
inline constexpr Index kGemmAvx512Rows = 14;     // x 16 and x 32: 28 zmm accumulators
// x 64 (two panels): 24 accumulators. Seven rows would need 28 with the 4 weight vectors and
// the broadcast: 33 registers, and the accumulator left on the stack costs more than the
// seventh row saves.
inline constexpr Index kGemmAvx512PairRows = 6;
inline constexpr Index kGemmAvx2Rows = 6;        // x 16 at a time: 12 of the 16 ymm registers
inline constexpr Index kGemmNeonRows = 6;        // x 16: 24 of the 32 q registers
inline constexpr Index kGemmGenericRows = 4;     // x 32: plain C++

// One micro-kernel tile: `kernel`<rows, columns> for `isa` (docs/kernels.md lists the same).
struct GemmTileShape {
  Isa isa;
  const char* kernel;
  Index rows;
  Index columns;
};
inline constexpr GemmTileShape kGemmTiles[] = {
    {Isa::Avx512, "gemm_tile_avx512", kGemmAvx512PairRows, 64},
    {Isa::Avx512, "gemm_tile_avx512", kGemmAvx512Rows, 32},
    {Isa::Avx512, "gemm_tile_avx512", kGemmAvx512Rows, 16},
    {Isa::Avx2, "gemm_tile_avx2", kGemmAvx2Rows, 64},
    {Isa::Avx2, "gemm_half_tile_avx2", kGemmAvx2Rows, 16},
    {Isa::Neon, "gemm_tile_neon", kGemmNeonRows, 16},
    {Isa::Generic, "gemm_tile_generic", kGemmGenericRows, 32},
};

// Cache lines a micro-kernel prefetches while it runs: `lines` lines from `at` on (nullptr:
// none), spread evenly over the steps of its sum over k: step k prefetches line(k), which moves
// on by step / 2^16 bytes a step (fixed point: an add and a shift a step in the kernel).
struct TilePrefetch {
  const char* at = nullptr;
  Index lines = 0;
  std::uint64_t step = 0;
  const char* line(Index k) const { return at + ((static_cast<std::uint64_t>(k) * step) >> 16); }
};

// A range of cache lines that the GEMM driver deals out to its tiles to prefetch, a share per
// tile, so that the loads spread over the FMAs instead of stalling them in a burst.
class PrefetchStream {
 public:
  PrefetchStream() = default;
  // The lines that hold bytes [begin, begin + bytes).
  PrefetchStream(const void* begin, Index bytes) {
    if (!begin || bytes <= 0) return;
    const auto first = reinterpret_cast<std::uintptr_t>(begin) / kLine * kLine;
    const auto end = reinterpret_cast<std::uintptr_t>(begin) + static_cast<std::uintptr_t>(bytes);
    at_ = reinterpret_cast<const char*>(first);
    lines_ = static_cast<Index>((end - first + kLine - 1) / kLine);
  }
  Index lines() const { return lines_; }
  // The next `count` lines (or all that are left), to issue at once.
  TilePrefetch take_lines(Index count) {
    TilePrefetch share;
    if (lines_ <= 0 || count <= 0) return share;
    share.lines = std::min(lines_, count);
    share.at = at_;
    at_ += kLine * share.lines;
    lines_ -= share.lines;
    return share;
  }
  // The share of a tile that runs kc steps of k: `want` lines (at most kc; fewer when fewer are
  // left), with the step that spreads them over the kc steps (each line is met, none past the
  // share: consecutive steps are at most a line apart).
  TilePrefetch take(Index want, Index kc) {
    if (want <= 0 || kc <= 0) return {};
    TilePrefetch share = take_lines(std::min(want, kc));
    share.step = (static_cast<std::uint64_t>(share.lines) * kLine << 16) / static_cast<std::uint64_t>(kc);
    return share;
  }

 private:
  static constexpr Index kLine = 64;
  const char* at_ = nullptr;
  Index lines_ = 0;
};

// What a micro-kernel does around its sum over k, for one tile of C.
struct GemmTileEpilogue {
  const float* bias = nullptr;  // this tile's first column in the padded bias; used if !accumulate
  bool accumulate = false;      // add to C (a later block of k) instead of starting from bias
  bool activate = false;        // clamp to [lower, upper] (the last block of k)
  float lower = -std::numeric_limits<float>::infinity();
  float upper = std::numeric_limits<float>::infinity();
  // Lines to prefetch while the tile runs (only the two-panel tiles do): the GEMM's
  // next block of weights, and what its caller asked for (GemmPrefetch). A second stream is
  // only set when the first is.
  TilePrefetch prefetch[2];
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

// SPDX-License-Identifier: MIT
#pragma once
// Packed-weight GEMM for the 1x1 convolutions (and the stem's im2col and the classifier):
//   C[M x N] = act(A[M x K] * B[K x N] + bias)
// A is activations (M pixels, K input channels contiguous per pixel), B the weights, packed
// once into 32-column panels (PackedGemmWeights); bias and activation are applied in the
// micro-kernel's epilogue, so C is written once.
//
// Blocking (sized for Zen 4: 32 KB L1d, 1 MB L2 per core): the driver walks
//   column blocks of up to kGemmBlockPanels panels (KC x 512 floats of B = 512 KB, stays in L2)
//   -> blocks of up to kGemmBlockDepth of K
//   -> row tiles of the micro-kernel's height (the tile's slice of A, <= 14 x 256 floats = 14 KB,
//      stays in L1 while it meets every panel of the column block)
//   -> panels, two at a time where the instruction set has two-panel tiles (AVX-512: 7 x 64,
//      which also divides MobileNet's 49, 196, 784 and 12544 pixels into whole tiles).
// A is read in place (no packing): its rows are already contiguous in k.

#include <algorithm>
#include <cassert>
#include <utility>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/gemm/avx2.hpp"
#include "mobilenet/kernels/gemm/avx512.hpp"
#include "mobilenet/kernels/gemm/common.hpp"
#include "mobilenet/kernels/gemm/generic.hpp"
#include "mobilenet/kernels/gemm/neon.hpp"

namespace mobilenet {
namespace kernels {

inline constexpr Index kGemmBlockDepth = 256;
inline constexpr Index kGemmBlockPanels = 16;
// The shortest block of k that runs two-panel tiles (where the instruction set has them).
inline constexpr Index kGemmPairMinDepth = 16;

// B (K x N, row-major) and its bias, packed for the micro-kernels. Built once per layer.
// Layout: K is cut into equal blocks of at most kGemmBlockDepth rows; block by block, each
// panel's rows of that block are contiguous (depth x 32 floats). So the slice of B one pass of
// the driver streams is one contiguous range. (Panels stored whole, K x 32 each, put the
// slices of one pass 128 KB apart at K = 1024: all in the same L2 sets, which thrashed.)
class PackedGemmWeights {
 public:
  PackedGemmWeights() = default;
  // weights: K x N row-major (Cin x Cout, as Pointwise stores it); bias: N, or nullptr.
  PackedGemmWeights(const float* weights, const float* bias, Index k, Index n)
      : k_(k), n_(n), panels_((n + kGemmPanelWidth - 1) / kGemmPanelWidth) {
    if (k < 1 || n < 1)
      throw ShapeError(mobilenet::detail::concat("GEMM weights must be at least 1 x 1, got ", k, " x ", n));
    const Index blocks = (k + kGemmBlockDepth - 1) / kGemmBlockDepth;
    block_depth_ = (k + blocks - 1) / blocks;
    data_.assign(static_cast<std::size_t>(panels_ * k * kGemmPanelWidth), 0.0f);
    bias_.assign(static_cast<std::size_t>(panels_ * kGemmPanelWidth), 0.0f);
    for (Index k0 = 0; k0 < k; k0 += block_depth_)
      for (Index p = 0; p < panels_; ++p) {
        const Index first = p * kGemmPanelWidth, width = std::min(kGemmPanelWidth, n - first);
        float* out = data_.data() + (slice(k0, p) - data_.data());
        for (Index kk = k0; kk < std::min(k, k0 + block_depth_); ++kk)
          std::copy(weights + kk * n + first, weights + kk * n + first + width,
                    out + (kk - k0) * kGemmPanelWidth);
      }
    if (bias) std::copy(bias, bias + n, bias_.begin());
  }

  // Moves the packed weights to `storage` (floats() floats, 64-byte aligned), which must
  // outlive this object and its copies. A plan uses it to keep every layer's weights in one
  // block on huge pages (runtime/huge_page_buffer.hpp).
  void move_to(float* storage) {
    std::copy(data_.begin(), data_.end(), storage);
    external_ = storage;
    std::vector<float>().swap(data_);
  }
  // Floats of packed weights (without the bias).
  Index floats() const { return panels_ * k_ * kGemmPanelWidth; }

  Index k() const { return k_; }
  Index n() const { return n_; }
  Index panels() const { return panels_; }
  // Rows of K per block (the last block may have fewer).
  Index block_depth() const { return block_depth_; }
  // Rows [k0, k0 + depth of that block) of panel p, 32 floats a row; k0 is a block start.
  const float* slice(Index k0, Index p) const {
    const Index depth = std::min(block_depth_, k_ - k0);
    return (external_ ? external_ : data_.data()) + (k0 * panels_ + p * depth) * kGemmPanelWidth;
  }
  // N values, zero-padded to a whole number of panels.
  const float* bias() const { return bias_.data(); }
  Index bytes() const { return Index((floats() + Index(bias_.size())) * Index(sizeof(float))); }

 private:
  Index k_ = 0, n_ = 0, panels_ = 0, block_depth_ = 0;
  std::vector<float> data_, bias_;
  const float* external_ = nullptr;  // where the weights are after move_to
};

// The part of C one call computes: rows [row_begin, row_end) x panels [panel_begin, panel_end).
// Threads split a GEMM by giving each a disjoint range.
struct GemmRange {
  Index row_begin = 0, row_end = 0;
  Index panel_begin = 0, panel_end = 0;
};

namespace detail {

// Micro-kernels of one instruction set, indexed by tile height; `narrow` is for tiles of at
// most 16 columns (the last panel of an N that is not a multiple of 32).
struct GemmKernelTable {
  Index rows = 0;
  GemmMicroKernel wide[15] = {};
  GemmMicroKernel narrow[15] = {};
  // Kernels for a tile over two neighbouring panels, indexed by height (up to pair_rows;
  // pair_rows = 0: this instruction set has none).
  Index pair_rows = 0;
  GemmMicroKernel pair[15] = {};
};

template <template <int> class Kernel, int... Rows>
GemmKernelTable make_gemm_table(std::integer_sequence<int, Rows...>) {
  GemmKernelTable t;
  t.rows = sizeof...(Rows);
  ((t.wide[Rows + 1] = Kernel<Rows + 1>::wide, t.narrow[Rows + 1] = Kernel<Rows + 1>::narrow), ...);
  return t;
}

template <template <int> class Kernel, int... Rows>
void add_pair_kernels(GemmKernelTable& t, std::integer_sequence<int, Rows...>) {
  t.pair_rows = sizeof...(Rows);
  ((t.pair[Rows + 1] = Kernel<Rows + 1>::pair), ...);
}

template <int Rows>
struct GenericKernel {
  static constexpr GemmMicroKernel wide = &gemm_tile_generic<Rows>;
  static constexpr GemmMicroKernel narrow = wide;
};
#if MOBILENET_X86_DISPATCH
template <int Rows>
struct Avx512Kernel {
  static constexpr GemmMicroKernel wide = &gemm_tile_avx512<Rows, 2>;
  static constexpr GemmMicroKernel narrow = &gemm_tile_avx512<Rows, 1>;
};
template <int Rows>
struct Avx512PairKernel {
  static constexpr GemmMicroKernel pair = &gemm_pair_tile_avx512<Rows>;
};
template <int Rows>
struct Avx2Kernel {
  static constexpr GemmMicroKernel wide = &gemm_tile_in_halves<&gemm_half_tile_avx2<Rows>>;
  static constexpr GemmMicroKernel narrow = wide;
};
#endif
#if MOBILENET_NEON
template <int Rows>
struct NeonKernel {
  static constexpr GemmMicroKernel wide = &gemm_tile_in_halves<&gemm_half_tile_neon<Rows>>;
  static constexpr GemmMicroKernel narrow = wide;
};
#endif

inline const GemmKernelTable& gemm_kernels(Isa isa) {
  static const GemmKernelTable generic =
      make_gemm_table<GenericKernel>(std::make_integer_sequence<int, kGemmGenericRows>());
#if MOBILENET_X86_DISPATCH
  static const GemmKernelTable avx512 = [] {
    GemmKernelTable t = make_gemm_table<Avx512Kernel>(std::make_integer_sequence<int, kGemmAvx512Rows>());
    add_pair_kernels<Avx512PairKernel>(t, std::make_integer_sequence<int, kGemmAvx512PairRows>());
    return t;
  }();
  static const GemmKernelTable avx2 =
      make_gemm_table<Avx2Kernel>(std::make_integer_sequence<int, kGemmAvx2Rows>());
  if (isa == Isa::Avx512) return avx512;
  if (isa == Isa::Avx2) return avx2;
#endif
#if MOBILENET_NEON
  static const GemmKernelTable neon =
      make_gemm_table<NeonKernel>(std::make_integer_sequence<int, kGemmNeonRows>());
  if (isa == Isa::Neon) return neon;
#endif
  return generic;
}

// Row tiles of at most `tallest` rows over `rows` rows, made as equal as possible (49 rows
// run as 13+12+12+12, not 14+14+14+7, since a short tile wastes most of the micro-kernel's
// FMAs) and worked out once: tile t has rows(t) rows, the first `tall` tiles one more than
// the rest. Against two divisions per tile, gemm_packed in L1 (alternating runs): K = 27,
// N = 32 (14 x 32 tiles) 89 -> 93.5 GFLOP/s; K = 32, N = 64 (7 x 64 tiles) 91 -> 94.
struct BalancedTiles {
  Index tiles = 0, short_rows = 0, tall = 0;
  BalancedTiles(Index rows, Index tallest)
      : tiles((rows + tallest - 1) / tallest), short_rows(tiles > 0 ? rows / tiles : 0), tall(rows - short_rows * tiles) {}
  Index rows(Index t) const { return short_rows + (t < tall ? 1 : 0); }
};

}  // namespace detail

// Memory the caller will want right after this call (the plan: the next layer's first
// weights), which would otherwise come from DRAM while nothing else runs. gemm_packed
// prefetches it in shares spread over its tiles, after the next block of its own weights and
// the next row tile of C (on AVX-512, in the two-panel tile; elsewhere it is ignored).
// conv2d_direct_rows takes one too.
struct GemmPrefetch {
  const void* begin = nullptr;
  Index bytes = 0;
};

// The weights gemm_packed reads first (the first block of k of the first column block), for
// the step before to prefetch.
inline GemmPrefetch first_weights(const PackedGemmWeights& w) {
  return {w.slice(0, 0), w.block_depth() * std::min(kGemmBlockPanels, w.panels()) * kGemmPanelWidth * Index(sizeof(float))};
}

// a: M x K, row i at a + i * lda (lda >= K)
// c: M x N, row i at c + i * ldc (ldc >= N); only `range` of it is written
// C = act(A * B + bias) over `range`. `isa` must be supported (isa_supported).
inline void gemm_packed(const float* a, Index lda, const PackedGemmWeights& w, float* c, Index ldc,
                        Activation activation, const GemmRange& range, Isa isa = best_isa(),
                        const GemmPrefetch& prefetch = {}) {
  assert(a && c && lda >= w.k() && ldc >= w.n() && isa_supported(isa));
  assert(range.panel_begin >= 0 && range.panel_end <= w.panels());
  const detail::GemmKernelTable& kernels = detail::gemm_kernels(isa);
  const Index depth = w.k(), W = kGemmPanelWidth;
  const Index kc_max = w.block_depth();
  GemmTileEpilogue e;
  set_clamp(e, activation);
  // The caller's lines, spread over all passes over a block of B.
  PrefetchStream wanted(prefetch.begin, prefetch.bytes);
  Index passes_left = (range.panel_end - range.panel_begin + kGemmBlockPanels - 1) / kGemmBlockPanels *
                      ((depth + kc_max - 1) / kc_max);
  for (Index pb = range.panel_begin; pb < range.panel_end; pb += kGemmBlockPanels) {
    const Index pe = std::min(pb + kGemmBlockPanels, range.panel_end);
    for (Index k0 = 0; k0 < depth; k0 += kc_max) {
      const Index kc = std::min(kc_max, depth - k0);
      e.accumulate = k0 > 0;
      e.activate = k0 + kc == depth;
      // Two panels at a time where the instruction set has such tiles and the sum over k is
      // long enough to pay for their shorter tiles' extra epilogues.
      const bool pairs = kernels.pair_rows > 0 && pe - pb >= 2 && kc >= kGemmPairMinDepth;
      const Index tallest = pairs ? kernels.pair_rows : kernels.rows;
      // While this pass runs from L2, the next one's slice of B comes in from memory.
      // (Only the two-panel tiles prefetch.)
      PrefetchStream next_weights;
      if (pairs && k0 + kc < depth)
        next_weights = PrefetchStream(w.slice(k0 + kc, pb),
                                      std::min(kc_max, depth - k0 - kc) * (pe - pb) * W * Index(sizeof(float)));
      else if (pairs && pe < range.panel_end)
        next_weights = PrefetchStream(w.slice(0, pe), std::min(kc_max, depth) *
                                                          (std::min(pe + kGemmBlockPanels, range.panel_end) - pe) *
                                                          W * Index(sizeof(float)));
      const Index calls_per_tile = (pe - pb + 1) / 2;
      const detail::BalancedTiles row_tiles(range.row_end - range.row_begin, tallest);
      const Index tiles = std::max<Index>(1, row_tiles.tiles * calls_per_tile);
      const Index next_per_tile = (next_weights.lines() + tiles - 1) / tiles;
      const Index wanted_per_tile = (wanted.lines() + tiles * passes_left - 1) / (tiles * passes_left);
      --passes_left;
      Index rows = 0;
      for (Index m = range.row_begin, t = 0; m < range.row_end; m += rows, ++t) {
        rows = row_tiles.rows(t);
        const float* a_tile = a + m * lda + k0;
        float* c_tile = c + m * ldc;
        // On the first pass over these columns, the next row tile's part of C, which has not
        // been touched yet (the output of an early layer is a large buffer last used a whole
        // inference ago: its lines come from DRAM before they can be written).
        PrefetchStream next_c;
        if (pairs && k0 == 0 && m + rows < range.row_end) {
          const Index next_rows = row_tiles.rows(t + 1);
          const float* first = c + (m + rows) * ldc + pb * W;
          const float* last = c + (m + rows + next_rows - 1) * ldc + std::min(pe * W, w.n());
          next_c = PrefetchStream(first, Index(last - first) * Index(sizeof(float)));
        }
        const Index next_c_per_call = (next_c.lines() + calls_per_tile - 1) / calls_per_tile;
        for (Index p = pb; p < pe;) {
          const Index columns = std::min(pairs && p + 1 < pe ? 2 * W : W, w.n() - p * W);
          e.bias = w.bias() + p * W;
          const GemmMicroKernel kernel =
              columns > W ? kernels.pair[rows] : columns > 16 ? kernels.wide[rows] : kernels.narrow[rows];
          e.prefetch[0] = e.prefetch[1] = TilePrefetch{};
          if (columns > W) {
            // Two streams at most, in this order of need; what does not fit waits for the
            // next tiles.
            int streams = 0;
            for (auto [stream, want] : {std::pair{&next_weights, next_per_tile}, std::pair{&next_c, next_c_per_call},
                                        std::pair{&wanted, wanted_per_tile}})
              if (streams < 2 && stream->lines() > 0) e.prefetch[streams++] = stream->take(want, kc);
          }
          kernel(kc, a_tile, lda, w.slice(k0, p), c_tile + p * W, ldc, columns, e);
          p += columns > W ? 2 : 1;
        }
      }
    }
  }
}

// The whole of C.
inline void gemm_packed(const float* a, Index m, Index lda, const PackedGemmWeights& w, float* c,
                        Index ldc, Activation activation, Isa isa = best_isa()) {
  gemm_packed(a, lda, w, c, ldc, activation, GemmRange{0, m, 0, w.panels()}, isa);
}

// The reference twin: plain loops, the same contract with unpacked row-major weights (K x N).
template <typename T>
void gemm_reference(const T* a, Index m, Index lda, const T* weights, const T* bias, Index k,
                    Index n, T* c, Index ldc, Activation activation) {
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j) {
      T sum = bias ? bias[j] : T(0);
      for (Index kk = 0; kk < k; ++kk) sum += a[i * lda + kk] * weights[kk * n + j];
      c[i * ldc + j] = activate(sum, activation);
    }
}

}  // namespace kernels
}  // namespace mobilenet

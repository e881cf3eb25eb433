// SPDX-License-Identifier: MIT
#pragma once
// Packed-weight GEMM for the 1x1 convolutions (and the stem's im2col and the classifier):
//   C[M x N] = act(A[M x K] * B[K x N] + bias)
// A is activations (M pixels, K input channels contiguous per pixel), B the weights, packed
// once into 32-column panels (PackedGemmWeights); bias and activation are applied in the
// micro-kernel's epilogue, so C is written once.
//
// Blocking: the driver walks
//   column blocks of GemmBlocking::panels panels (a block of B, depth x panels x 32 floats,
//      sized to half the L2 so that it stays there while every row tile meets it)
//   -> blocks of up to kGemmBlockDepth of K
//   -> row tiles of the micro-kernel's height (the tile's slice of A, <= 14 x 256 floats = 14 KB,
//      stays in L1 while it meets every panel of the column block)
//   -> panels, two at a time where the instruction set has two-panel tiles (AVX-512, AVX2: 6 x 64).
// With GemmBlocking::pairs_outer the last two swap: each pair of panels meets every row tile.
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

// Rows of K per block of the packed weights. Fixed, not derived from the caches: it is the
// packed layout, and the results do not depend on it (a later block reloads C exactly).
inline constexpr Index kGemmBlockDepth = 256;
// The depth of each block of k PackedGemmWeights cuts K into: equal blocks of at most
// kGemmBlockDepth rows.
inline Index gemm_block_depth(Index k) {
  const Index blocks = (k + kGemmBlockDepth - 1) / kGemmBlockDepth;
  return blocks > 0 ? (k + blocks - 1) / blocks : 0;
}
// The shortest block of k that runs two-panel tiles (where the instruction set has them).
inline constexpr Index kGemmPairMinDepth = 16;

// B (K x N, row-major) and its bias, packed for the micro-kernels. Built once per layer.
// Layout: K is cut into equal blocks of at most kGemmBlockDepth rows; block by block, each
// panel's rows of that block are contiguous (depth x 32 floats). So the slice of B one pass of
// the driver streams is one contiguous range (panels stored whole, K x 32 each, would put the
// slices of one pass K x 128 bytes apart, in the same few L2 sets).
class PackedGemmWeights {
 public:
  PackedGemmWeights() = default;
  // weights: K x N row-major (Cin x Cout, as Pointwise stores it); bias: N, or nullptr.
  PackedGemmWeights(const float* weights, const float* bias, Index k, Index n)
      : k_(k), n_(n), panels_((n + kGemmPanelWidth - 1) / kGemmPanelWidth) {
    if (k < 1 || n < 1)
      throw ShapeError(mobilenet::detail::concat("GEMM weights must be at least 1 x 1, got ", k, " x ", n));
    block_depth_ = gemm_block_depth(k);
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

// How many panels of weights one block of the GEMM streams (see the top of this file).
struct GemmBlocking {
  Index panels = 16;
  // The order of a pass over a block of B where two-panel tiles run. false: row tile by row
  // tile across the panels, each tile prefetching a share of the next pass's weights, for
  // weights that come from DRAM. true: pair of panels by pair down the row tiles, with no
  // prefetch of its own weights, for weights that stay in the L3 between calls (the hardware
  // prefetcher streams a pair's slice, which the row tiles then reuse from L1 and L2).
  bool pairs_outer = false;
  // With pairs_outer, in GEMMs of several row tiles whose weights take more bytes than this:
  // while the row tiles run over one pair of panels they prefetch the next pair's slice.
  // Weights from half the L2 up do not stay there whole beside the activations and the weights
  // the step before streamed, and the hardware prefetcher alone would keep each pair's first
  // row tile waiting on the L3.
  Index prefetch_pairs_above_bytes = Index(512) << 10;
};

// Panels whose block of kGemmBlockDepth rows fills half of `caches.l2_bytes` (16 for a 1 MiB
// L2), at least 2 so that two-panel tiles have a pair; pairs prefetched above half the L2.
inline GemmBlocking gemm_blocking_for(const CpuCaches& caches) {
  const Index block_bytes = kGemmBlockDepth * kGemmPanelWidth * Index(sizeof(float));
  GemmBlocking b;
  b.panels = std::max<Index>(2, caches.l2_bytes / 2 / block_bytes);
  if (caches.l2_bytes > 0) b.prefetch_pairs_above_bytes = caches.l2_bytes / 2;
  return b;
}

// The blocking for this CPU's caches (cpu_caches()), worked out once.
inline const GemmBlocking& gemm_blocking() {
  static const GemmBlocking blocking = gemm_blocking_for(cpu_caches());
  return blocking;
}

namespace detail {

// Micro-kernels of one instruction set, indexed by tile height: `x32` for tiles of up to 32
// columns (one panel), `x16` for tiles of at most 16 columns (the last panel of an N that is
// not a multiple of 32) and `x64` for tiles over two neighbouring panels (up to rows_x64 rows;
// rows_x64 = 0: this instruction set has none).
struct GemmKernelTable {
  Index rows = 0;
  GemmMicroKernel x32[15] = {};
  GemmMicroKernel x16[15] = {};
  Index rows_x64 = 0;
  GemmMicroKernel x64[15] = {};
};

template <template <int> class Kernel, int... Rows>
GemmKernelTable make_gemm_table(std::integer_sequence<int, Rows...>) {
  GemmKernelTable t;
  t.rows = sizeof...(Rows);
  ((t.x32[Rows + 1] = Kernel<Rows + 1>::x32, t.x16[Rows + 1] = Kernel<Rows + 1>::x16), ...);
  return t;
}

template <template <int> class Kernel, int... Rows>
void add_x64_kernels(GemmKernelTable& t, std::integer_sequence<int, Rows...>) {
  t.rows_x64 = sizeof...(Rows);
  ((t.x64[Rows + 1] = Kernel<Rows + 1>::x64), ...);
}

template <int Rows>
struct GenericKernel {
  static constexpr GemmMicroKernel x32 = &gemm_tile_generic<Rows, 32>;
  static constexpr GemmMicroKernel x16 = x32;
};
#if MOBILENET_X86_DISPATCH
template <int Rows>
struct Avx512Kernel {
  static constexpr GemmMicroKernel x32 = &gemm_tile_avx512<Rows, 32>;
  static constexpr GemmMicroKernel x16 = &gemm_tile_avx512<Rows, 16>;
};
template <int Rows>
struct Avx512TwoPanelKernel {
  static constexpr GemmMicroKernel x64 = &gemm_tile_avx512<Rows, 64>;
};
template <int Rows>
struct Avx2Kernel {
  static constexpr GemmMicroKernel x32 = &gemm_tile_in_halves<&gemm_half_tile_avx2<Rows>>;
  static constexpr GemmMicroKernel x16 = x32;
};
template <int Rows>
struct Avx2TwoPanelKernel {
  static constexpr GemmMicroKernel x64 = &gemm_tile_avx2<Rows, 64>;
};
#endif
#if MOBILENET_NEON
template <int Rows>
struct NeonKernel {
  static constexpr GemmMicroKernel x32 = &gemm_tile_in_halves<&gemm_tile_neon<Rows, 16>>;
  static constexpr GemmMicroKernel x16 = x32;
};
#endif

inline const GemmKernelTable& gemm_kernels(Isa isa) {
  static const GemmKernelTable generic =
      make_gemm_table<GenericKernel>(std::make_integer_sequence<int, kGemmGenericRows>());
#if MOBILENET_X86_DISPATCH
  static const GemmKernelTable avx512 = [] {
    GemmKernelTable t = make_gemm_table<Avx512Kernel>(std::make_integer_sequence<int, kGemmAvx512Rows>());
    add_x64_kernels<Avx512TwoPanelKernel>(t, std::make_integer_sequence<int, kGemmAvx512PairRows>());
    return t;
  }();
  static const GemmKernelTable avx2 = [] {
    GemmKernelTable t = make_gemm_table<Avx2Kernel>(std::make_integer_sequence<int, kGemmAvx2Rows>());
    add_x64_kernels<Avx2TwoPanelKernel>(t, std::make_integer_sequence<int, kGemmAvx2Rows>());
    return t;
  }();
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
// the rest.
struct BalancedTiles {
  Index tiles = 0, short_rows = 0, tall = 0;
  BalancedTiles(Index rows, Index tallest)
      : tiles((rows + tallest - 1) / tallest), short_rows(tiles > 0 ? rows / tiles : 0), tall(rows - short_rows * tiles) {}
  Index rows(Index t) const { return short_rows + (t < tall ? 1 : 0); }
};

}  // namespace detail

// Bytes the kernel touches while it computes so the next step finds them in cache: memory the
// caller wants right after this call (the plan: the next layer's first weights), which would
// otherwise come from DRAM while nothing else runs. gemm_packed_range prefetches it in shares
// spread over its tiles, after the next block of its own weights and the next row tile of C
// (in the AVX-512 and AVX2 two-panel tiles; elsewhere it is ignored); conv2d_direct_rows in a short
// burst per tile. It changes nothing but timing.
struct GemmPrefetch {
  const void* begin = nullptr;
  Index bytes = 0;
};

// How a GEMM-based kernel call runs, besides its operands.
struct GemmOptions {
  Isa isa = best_isa();                      // must be supported (isa_supported)
  GemmPrefetch prefetch;                     // what to bring into cache for the caller
  GemmBlocking blocking = gemm_blocking();   // panels per block of B
};

// The weights gemm_packed_range reads first (the first block of k of the first column block),
// for the step before to prefetch.
inline GemmPrefetch first_weights(const PackedGemmWeights& w, const GemmBlocking& blocking = gemm_blocking()) {
  return {w.slice(0, 0), w.block_depth() * std::min(blocking.panels, w.panels()) * kGemmPanelWidth * Index(sizeof(float))};
}

namespace detail {

// One gemm_packed_range call: its operands, the epilogue its tiles share, and the caller's
// prefetch stream, dealt out over every pass over a block of B.
class GemmDriver {
 public:
  GemmDriver(const float* a, Index lda, const PackedGemmWeights& w, float* c, Index ldc, Activation activation,
             const GemmRange& range, const GemmOptions& options)
      : kernels_(gemm_kernels(options.isa)), a_(a), lda_(lda), w_(w), c_(c), ldc_(ldc), range_(range),
        block_panels_(std::max<Index>(1, options.blocking.panels)), pairs_outer_(options.blocking.pairs_outer),
        prefetch_pairs_(w.bytes() > options.blocking.prefetch_pairs_above_bytes),
        wanted_(options.prefetch.begin, options.prefetch.bytes) {
    set_clamp(e_, activation);
  }

  void run() {
    const Index depth = w_.k(), kc_max = w_.block_depth();
    passes_left_ = (range_.panel_end - range_.panel_begin + block_panels_ - 1) / block_panels_ *
                   ((depth + kc_max - 1) / kc_max);
    for (Index pb = range_.panel_begin; pb < range_.panel_end; pb += block_panels_) {
      const Index pe = std::min(pb + block_panels_, range_.panel_end);
      for (Index k0 = 0; k0 < depth; k0 += kc_max) pass(pb, pe, k0, std::min(kc_max, depth - k0));
    }
  }

 private:
  static constexpr Index W = kGemmPanelWidth;

  // The slice of B the pass after (pb, pe, k0, kc) streams, to come in from memory while this
  // one runs from L2.
  PrefetchStream next_weights(Index pb, Index pe, Index k0, Index kc) const {
    const Index depth = w_.k(), kc_max = w_.block_depth(), bytes = W * Index(sizeof(float));
    if (k0 + kc < depth) return PrefetchStream(w_.slice(k0 + kc, pb), std::min(kc_max, depth - k0 - kc) * (pe - pb) * bytes);
    if (pe < range_.panel_end)
      return PrefetchStream(w_.slice(0, pe), std::min(kc_max, depth) * (std::min(pe + block_panels_, range_.panel_end) - pe) * bytes);
    return {};
  }

  // Panels [pb, pe) x k [k0, k0 + kc) over every row tile.
  void pass(Index pb, Index pe, Index k0, Index kc) {
    e_.accumulate = k0 > 0;
    e_.activate = k0 + kc == w_.k();
    // Two panels at a time where the instruction set has such tiles and the sum over k is
    // long enough to pay for their shorter tiles' extra epilogues. Only they prefetch.
    const bool pairs = kernels_.rows_x64 > 0 && pe - pb >= 2 && kc >= kGemmPairMinDepth;
    if (pairs && pairs_outer_) return pass_by_pairs(pb, pe, k0, kc);
    PrefetchStream next = pairs ? next_weights(pb, pe, k0, kc) : PrefetchStream();
    const Index calls_per_tile = (pe - pb + 1) / 2;
    const BalancedTiles row_tiles(range_.row_end - range_.row_begin, pairs ? kernels_.rows_x64 : kernels_.rows);
    const Index tiles = std::max<Index>(1, row_tiles.tiles * calls_per_tile);
    const Index next_per_tile = (next.lines() + tiles - 1) / tiles;
    const Index wanted_per_tile = (wanted_.lines() + tiles * passes_left_ - 1) / (tiles * passes_left_);
    --passes_left_;
    Index rows = 0;
    for (Index m = range_.row_begin, t = 0; m < range_.row_end; m += rows, ++t) {
      rows = row_tiles.rows(t);
      // On the first pass over these columns, the next row tile's part of C, which has not
      // been touched yet (the output of an early layer is a large buffer last used a whole
      // inference ago: its lines come from DRAM before they can be written).
      PrefetchStream next_c;
      if (pairs && k0 == 0 && m + rows < range_.row_end) next_c = c_lines(m + rows, row_tiles.rows(t + 1), pb, pe);
      const Index next_c_per_call = (next_c.lines() + calls_per_tile - 1) / calls_per_tile;
      const TileStreams streams{{{&next, next_per_tile}, {&next_c, next_c_per_call}, {&wanted_, wanted_per_tile}}};
      row_tile(m, rows, pb, pe, k0, kc, pairs, streams);
    }
  }

  // C's rows [m, m + rows) x panels [p0, p1), as the lines from the first float to the last.
  PrefetchStream c_lines(Index m, Index rows, Index p0, Index p1) const {
    const float* first = c_ + m * ldc_ + p0 * W;
    const float* last = c_ + (m + rows - 1) * ldc_ + std::min(p1 * W, w_.n());
    return PrefetchStream(first, Index(last - first) * Index(sizeof(float)));
  }

  // GemmBlocking::pairs_outer: each pair of panels over every row tile. Its tiles prefetch, two
  // streams at most and in this order: on the first pass over these columns, the next row
  // tile's part of C (as pass does); for weights above GemmBlocking::prefetch_pairs_above_bytes,
  // the next pair's slice; the caller's stream.
  void pass_by_pairs(Index pb, Index pe, Index k0, Index kc) {
    const BalancedTiles row_tiles(range_.row_end - range_.row_begin, kernels_.rows_x64);
    const Index calls = std::max<Index>(1, row_tiles.tiles * ((pe - pb + 1) / 2));
    const Index wanted_per_call = (wanted_.lines() + calls * passes_left_ - 1) / (calls * passes_left_);
    --passes_left_;
    for (Index p = pb; p < pe;) {
      const Index columns = std::min(p + 1 < pe ? 2 * W : W, w_.n() - p * W);
      e_.bias = w_.bias() + p * W;
      // A lone row tile would fetch the next pair as soon as the hardware prefetcher does.
      PrefetchStream next_pair;
      if (prefetch_pairs_ && row_tiles.tiles > 1 && p + 2 < pe)
        next_pair = PrefetchStream(w_.slice(k0, p + 2), kc * std::min<Index>(2, pe - p - 2) * W * Index(sizeof(float)));
      const Index next_pair_per_call = (next_pair.lines() + row_tiles.tiles - 1) / std::max<Index>(1, row_tiles.tiles);
      Index rows = 0;
      for (Index m = range_.row_begin, t = 0; m < range_.row_end; m += rows, ++t) {
        rows = row_tiles.rows(t);
        PrefetchStream next_c;
        if (k0 == 0 && m + rows < range_.row_end) next_c = c_lines(m + rows, row_tiles.rows(t + 1), p, p + 2);
        const TileStreams streams{{{&next_c, next_c.lines()}, {&next_pair, next_pair_per_call}, {&wanted_, wanted_per_call}}};
        set_prefetch(columns, kc, streams);
        kernel_for(rows, columns)(kc, a_ + m * lda_ + k0, lda_, w_.slice(k0, p), c_ + m * ldc_ + p * W, ldc_,
                                  columns, e_);
      }
      p += columns > W ? 2 : 1;
    }
  }

  // The micro-kernel for a tile of `rows` x `columns` (over two panels above 32 columns).
  GemmMicroKernel kernel_for(Index rows, Index columns) const {
    return columns > W ? kernels_.x64[rows] : columns > 16 ? kernels_.x32[rows] : kernels_.x16[rows];
  }

  // The prefetch streams of one row tile, in order of need, with each one's share per call.
  struct TileStreams {
    std::pair<PrefetchStream*, Index> stream[3];
  };

  // The next tile's prefetch slots: the first two streams that have lines left, each its share
  // (only two-panel tiles prefetch; what does not fit waits for the next tiles). The slots are
  // reset one by one: copying one cleared slot into the other compiles to a load that cannot be
  // forwarded from the two stores before it, and so waits for the last tile's stores of C.
  void set_prefetch(Index columns, Index kc, const TileStreams& s) {
    e_.prefetch[0] = TilePrefetch{}, e_.prefetch[1] = TilePrefetch{};
    if (columns <= W) return;
    int streams = 0;
    for (const auto& [stream, want] : s.stream)
      if (streams < 2 && stream->lines() > 0) e_.prefetch[streams++] = stream->take(want, kc);
  }

  // Rows [m, m + rows) x panels [pb, pe), two panels a call when `pairs`.
  void row_tile(Index m, Index rows, Index pb, Index pe, Index k0, Index kc, bool pairs, const TileStreams& s) {
    const float* a_tile = a_ + m * lda_ + k0;
    float* c_tile = c_ + m * ldc_;
    for (Index p = pb; p < pe;) {
      const Index columns = std::min(pairs && p + 1 < pe ? 2 * W : W, w_.n() - p * W);
      e_.bias = w_.bias() + p * W;
      const GemmMicroKernel kernel = kernel_for(rows, columns);
      set_prefetch(columns, kc, s);
      kernel(kc, a_tile, lda_, w_.slice(k0, p), c_tile + p * W, ldc_, columns, e_);
      p += columns > W ? 2 : 1;
    }
  }

  const GemmKernelTable& kernels_;
  const float* a_;
  Index lda_;
  const PackedGemmWeights& w_;
  float* c_;
  Index ldc_;
  GemmRange range_;
  Index block_panels_;
  bool pairs_outer_;
  bool prefetch_pairs_;  // pass_by_pairs prefetches the next pair of panels
  GemmTileEpilogue e_;
  PrefetchStream wanted_;
  Index passes_left_ = 0;
};

}  // namespace detail

// a: M x K, row i at a + i * lda (lda >= K)
// c: M x N, row i at c + i * ldc (ldc >= N); only `range` of it is written
// C = act(A * B + bias) over `range` (threads split a GEMM into disjoint ranges).
inline void gemm_packed_range(const float* a, Index lda, const PackedGemmWeights& w, float* c, Index ldc,
                              Activation activation, const GemmRange& range, const GemmOptions& options = {}) {
  assert(a && c && lda >= w.k() && ldc >= w.n() && isa_supported(options.isa));
  assert(range.panel_begin >= 0 && range.panel_end <= w.panels());
  detail::GemmDriver(a, lda, w, c, ldc, activation, range, options).run();
}

// The whole of C (M rows): gemm_packed_range over rows [0, m) and every panel.
inline void gemm_packed(const float* a, Index m, Index lda, const PackedGemmWeights& w, float* c, Index ldc,
                        Activation activation, Isa isa = best_isa()) {
  GemmOptions options;
  options.isa = isa;
  gemm_packed_range(a, lda, w, c, ldc, activation, GemmRange{0, m, 0, w.panels()}, options);
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

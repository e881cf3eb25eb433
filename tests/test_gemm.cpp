// SPDX-License-Identifier: MIT
// The packed GEMM against its reference twin, on every instruction set this machine runs:
// odd M, N and K (tails of the row tile, of the 16/32-column panels and of the k blocks),
// each activation, and split ranges as the threads use them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "mobilenet/kernels/depthwise3x3.hpp"
#include "mobilenet/kernels/gemm.hpp"

namespace mobilenet {
namespace kernels {
namespace {

std::vector<float> random_values(Index count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<Isa> runnable_isas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512, Isa::Neon})
    if (isa_supported(isa)) isas.push_back(isa);
  return isas;
}

GemmOptions options_for(Isa isa) {
  GemmOptions options;
  options.isa = isa;
  return options;
}

// m, k, n
using GemmShape = std::tuple<Index, Index, Index>;

using GemmCase = std::tuple<Isa, GemmShape, Activation>;
std::string gemm_case_name(const ::testing::TestParamInfo<GemmCase>& info) {
  const GemmShape& shape = std::get<1>(info.param);
  return std::string(isa_name(std::get<0>(info.param))) + "_" + std::to_string(std::get<0>(shape)) +
         "x" + std::to_string(std::get<1>(shape)) + "x" + std::to_string(std::get<2>(shape)) + "_" +
         activation_name(std::get<2>(info.param));
}

class GemmTest : public ::testing::TestWithParam<GemmCase> {};

TEST_P(GemmTest, MatchesReference) {
  const auto [isa, shape, activation] = GetParam();
  const auto [m, k, n] = shape;
  // Row strides wider than the rows, as when A or C is a slice of a larger buffer.
  const Index lda = k + 3, ldc = n + 5;
  const std::vector<float> a = random_values(m * lda, 1), w = random_values(k * n, 2),
                           bias = random_values(n, 3);
  const PackedGemmWeights packed(w.data(), bias.data(), k, n);
  std::vector<float> got(static_cast<std::size_t>(m * ldc), -7.0f), want = got;
  gemm_packed(a.data(), m, lda, packed, got.data(), ldc, activation, isa);
  gemm_reference(a.data(), m, lda, w.data(), bias.data(), k, n, want.data(), ldc, activation);
  // Different summation orders: allow a few ulps of the largest partial sums (|a|,|w| <= 1).
  const float tolerance = 1e-6f * static_cast<float>(k) + 1e-6f;
  Index bad = 0;
  for (Index i = 0; i < m && bad < 5; ++i)
    for (Index j = 0; j < ldc && bad < 5; ++j) {
      const float g = got[i * ldc + j], r = want[i * ldc + j];
      if (!(std::abs(g - r) <= tolerance)) {
        ++bad;
        ADD_FAILURE() << isa_name(isa) << " m=" << m << " k=" << k << " n=" << n << " act="
                      << activation_name(activation) << ": C[" << i << "][" << j << "] = " << g
                      << ", reference " << r << (j >= n ? " (padding column must stay untouched)" : "");
      }
    }
}

INSTANTIATE_TEST_SUITE_P(
    OddShapes, GemmTest,
    ::testing::Combine(::testing::ValuesIn(runnable_isas()),
                       ::testing::Values(GemmShape{1, 1, 1}, GemmShape{3, 5, 7}, GemmShape{13, 17, 16},
                                         GemmShape{14, 32, 32}, GemmShape{15, 33, 33},
                                         GemmShape{29, 64, 48}, GemmShape{49, 257, 100},
                                         GemmShape{50, 600, 17}, GemmShape{7, 40, 545},
                                         GemmShape{31, 3, 1001}, GemmShape{20, 70, 57},
                                         GemmShape{9, 128, 80}),
                       ::testing::Values(Activation::None, Activation::ReLU, Activation::ReLU6)),
    gemm_case_name);

// Disjoint ranges (as threads take them) together give the same C as one call.
TEST(GemmRanges, SplitRowsAndPanelsGiveTheWholeProduct) {
  const Index m = 37, k = 70, n = 90;
  const std::vector<float> a = random_values(m * k, 4), w = random_values(k * n, 5);
  const PackedGemmWeights packed(w.data(), nullptr, k, n);
  for (Isa isa : runnable_isas()) {
    std::vector<float> whole(static_cast<std::size_t>(m * n)), split(whole.size());
    gemm_packed(a.data(), m, k, packed, whole.data(), n, Activation::ReLU, isa);
    for (Index rows : {Index(0), Index(11), m})
      for (Index panel : {Index(0), Index(1), packed.panels()}) {
        GemmOptions options = options_for(isa);
        options.blocking.pairs_outer = rows == 11;  // both pass orders
        gemm_packed_range(a.data(), k, packed, split.data(), n, Activation::ReLU, {0, rows, 0, panel}, options);
        gemm_packed_range(a.data(), k, packed, split.data(), n, Activation::ReLU, {rows, m, 0, panel}, options);
        gemm_packed_range(a.data(), k, packed, split.data(), n, Activation::ReLU, {0, m, panel, packed.panels()},
                          options);
        EXPECT_EQ(whole, split) << isa_name(isa) << " rows " << rows << " panel " << panel;
      }
  }
}

// A plan moves each layer's packed weights into one shared block (move_to): the product must
// not change, and the slices must come from the new place.
TEST(GemmWeights, MovedWeightsGiveTheSameProduct) {
  const Index m = 23, k = 300, n = 70;  // two blocks of k, three panels
  const std::vector<float> a = random_values(m * k, 6), w = random_values(k * n, 7), bias = random_values(n, 8);
  PackedGemmWeights packed(w.data(), bias.data(), k, n);
  const Index floats = packed.floats(), bytes = packed.bytes();
  EXPECT_EQ(floats, packed.panels() * k * kGemmPanelWidth);
  std::vector<float> before(static_cast<std::size_t>(m * n)), after(before.size());
  gemm_packed(a.data(), m, k, packed, before.data(), n, Activation::ReLU6);
  std::vector<float> storage(static_cast<std::size_t>(floats) + 16);
  float* aligned = storage.data() + (16 - reinterpret_cast<std::uintptr_t>(storage.data()) / sizeof(float) % 16) % 16;
  packed.move_to(aligned);
  EXPECT_EQ(packed.slice(0, 0), aligned);
  EXPECT_EQ(packed.floats(), floats);
  EXPECT_EQ(packed.bytes(), bytes);
  gemm_packed(a.data(), m, k, packed, after.data(), n, Activation::ReLU6);
  EXPECT_EQ(before, after);
  // The product reads the new place: change a weight there and C changes.
  aligned[0] += 1.0f;
  gemm_packed(a.data(), m, k, packed, after.data(), n, Activation::None);
  gemm_packed(a.data(), m, k, PackedGemmWeights(w.data(), bias.data(), k, n), before.data(), n, Activation::None);
  EXPECT_NE(before, after);
}

// The lines a GEMM prefetches: every line of the range is dealt out exactly once, and a
// tile's prefetches stay inside its share, whatever the alignment and the share sizes.
TEST(GemmPrefetch, StreamDealsOutEveryLineOnce) {
  alignas(64) static char memory[64 * 40];
  for (Index offset : {Index(0), Index(5), Index(63)})
    for (Index bytes : {Index(1), Index(64), Index(65), Index(1000), Index(64 * 39 - 63)}) {
      PrefetchStream stream(memory + offset, bytes);
      const Index lines = (offset + bytes + 63) / 64;
      ASSERT_EQ(stream.lines(), lines) << offset << " " << bytes;
      std::vector<int> issued(static_cast<std::size_t>(lines), 0);
      for (Index want : {Index(1), Index(5)})
        for (Index kc : {Index(1), Index(3), Index(16), Index(256)}) {
          const TilePrefetch share = stream.take(want, kc);
          if (!share.at) continue;
          ASSERT_GE(share.lines, 1);
          std::vector<bool> seen(static_cast<std::size_t>(share.lines), false);
          for (Index k = 0; k < kc; ++k) {
            const Index line = (share.line(k) - memory) / 64;
            ASSERT_GE(share.line(k), share.at);
            ASSERT_LT(share.line(k), share.at + 64 * share.lines);
            seen[static_cast<std::size_t>((share.line(k) - share.at) / 64)] = true;
            ASSERT_LT(line, lines);
          }
          for (Index l = 0; l < share.lines; ++l) {
            EXPECT_TRUE(seen[static_cast<std::size_t>(l)]) << "line " << l << " of a share never prefetched";
            ++issued[static_cast<std::size_t>((share.at - memory) / 64 + l)];
          }
        }
      while (stream.lines() > 0) {
        const TilePrefetch share = stream.take(7, 64);
        for (Index l = 0; l < share.lines; ++l) ++issued[static_cast<std::size_t>((share.at - memory) / 64 + l)];
      }
      for (Index l = 0; l < lines; ++l) EXPECT_EQ(issued[static_cast<std::size_t>(l)], 1) << "line " << l;
    }
  EXPECT_EQ(PrefetchStream(nullptr, 100).lines(), 0);
  EXPECT_EQ(PrefetchStream(memory, 0).lines(), 0);
}

// A prefetch hint changes when memory arrives, never the product.
TEST(GemmPrefetch, HintLeavesTheProductAlone) {
  const Index m = 50, k = 600, n = 100;  // three blocks of k, pairs of panels and a lone one
  const std::vector<float> a = random_values(m * k, 9), w = random_values(k * n, 10), bias = random_values(n, 11);
  const PackedGemmWeights packed(w.data(), bias.data(), k, n);
  const std::vector<float> elsewhere = random_values(100000, 12);
  for (Isa isa : runnable_isas()) {
    std::vector<float> plain(static_cast<std::size_t>(m * n)), hinted(plain.size());
    gemm_packed_range(a.data(), k, packed, plain.data(), n, Activation::ReLU6, {0, m, 0, packed.panels()},
                      options_for(isa));
    for (const GemmPrefetch& hint : {GemmPrefetch{elsewhere.data() + 3, 4 * 99997}, first_weights(packed),
                                     GemmPrefetch{elsewhere.data(), 10}, GemmPrefetch{}}) {
      for (bool pairs_outer : {false, true}) {
        std::fill(hinted.begin(), hinted.end(), -1.0f);
        GemmOptions options = options_for(isa);
        options.prefetch = hint;
        options.blocking.pairs_outer = pairs_outer;
        gemm_packed_range(a.data(), k, packed, hinted.data(), n, Activation::ReLU6, {0, m, 0, packed.panels()},
                          options);
        EXPECT_EQ(plain, hinted) << isa_name(isa) << " hint of " << hint.bytes << " bytes"
                                 << (pairs_outer ? ", pairs outer" : "");
      }
    }
  }
}

// The panel blocking follows the L2 size (16 panels of 256 x 32 floats for a 1 MiB L2), and so
// does the size above which pairs prefetch the next pair (half the L2); they and the pass order
// (pairs_outer) change when memory is read, never the product.
TEST(GemmBlocking, FollowsTheL2AndLeavesTheProductAlone) {
  CpuCaches caches;
  caches.l2_bytes = Index(1) << 20;
  EXPECT_EQ(gemm_blocking_for(caches).panels, 16);
  EXPECT_EQ(gemm_blocking_for(caches).prefetch_pairs_above_bytes, caches.l2_bytes / 2);
  caches.l2_bytes = Index(2) << 20;
  EXPECT_EQ(gemm_blocking_for(caches).panels, 32);
  EXPECT_EQ(gemm_blocking_for(caches).prefetch_pairs_above_bytes, caches.l2_bytes / 2);
  caches.l2_bytes = Index(64) << 10;
  EXPECT_EQ(gemm_blocking_for(caches).panels, 2);
  EXPECT_EQ(gemm_blocking().panels, gemm_blocking_for(cpu_caches()).panels);

  const Index m = 30, k = 600, n = 230;  // three blocks of k, eight panels (the last 6 columns)
  const std::vector<float> a = random_values(m * k, 13), w = random_values(k * n, 14), bias = random_values(n, 15);
  const PackedGemmWeights packed(w.data(), bias.data(), k, n);
  for (Isa isa : runnable_isas()) {
    std::vector<float> want(static_cast<std::size_t>(m * n)), got(want.size());
    gemm_packed(a.data(), m, k, packed, want.data(), n, Activation::ReLU6, isa);
    for (bool pairs_outer : {false, true})
      for (Index panels : {1, 2, 3, 5, 16})
        for (Index prefetch_pairs_above : {Index(0), Index(1) << 40}) {
          GemmOptions options = options_for(isa);
          options.blocking.panels = panels;
          options.blocking.pairs_outer = pairs_outer;
          options.blocking.prefetch_pairs_above_bytes = prefetch_pairs_above;
          std::fill(got.begin(), got.end(), -1.0f);
          gemm_packed_range(a.data(), k, packed, got.data(), n, Activation::ReLU6, {0, m, 0, packed.panels()},
                            options);
          EXPECT_EQ(want, got) << isa_name(isa) << ", blocks of " << panels << " panels"
                               << (pairs_outer ? ", pairs outer" : "")
                               << (prefetch_pairs_above == 0 ? ", prefetching pairs" : "");
        }
  }
}

// The cells of the Markdown table rows of `path` whose second cell is a kernel name that starts
// with `prefix` (backticks removed), one "cell|cell|..." string a row.
std::set<std::string> doc_table_rows(const std::string& path, const std::string& prefix) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::set<std::string> rows;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| ", 0) != 0) continue;
    line.erase(std::remove(line.begin(), line.end(), '`'), line.end());
    std::vector<std::string> cells;
    std::istringstream cells_in(line.substr(1));
    for (std::string cell; std::getline(cells_in, cell, '|');) {
      const auto first = cell.find_first_not_of(' '), last = cell.find_last_not_of(' ');
      cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
    }
    while (!cells.empty() && cells.back().empty()) cells.pop_back();  // after the closing '|'
    if (cells.size() < 4 || cells[1].rfind(prefix, 0) != 0) continue;
    std::string row = cells[0];
    for (std::size_t i = 1; i < cells.size(); ++i) row += "|" + cells[i];
    rows.insert(row);
  }
  return rows;
}

// docs/kernels.md's tile tables name the tiles the code has (kGemmTiles, kDepthwiseTiles), and
// the dispatch tables of the GEMM run the tallest tiles kGemmTiles lists.
TEST(GemmTiles, DocsTableMatchesTheCode) {
  const std::string doc = std::string(MOBILENET_SOURCE_DIR) + "/docs/kernels.md";
  std::set<std::string> gemm_code, gemm_doc;
  for (const GemmTileShape& t : kGemmTiles)
    gemm_code.insert(std::string(isa_name(t.isa)) + "|" + t.kernel + "|" + std::to_string(t.rows) + " x " +
                     std::to_string(t.columns));
  for (const std::string& row : doc_table_rows(doc, "gemm_"))
    gemm_doc.insert(row.substr(0, row.rfind('|')));  // the last cell is prose
  EXPECT_EQ(gemm_doc, gemm_code);

  std::set<std::string> depthwise_code;
  for (const DepthwiseTileShape& t : kDepthwiseTiles)
    depthwise_code.insert(std::string(isa_name(t.isa)) + "|" + t.kernel + "|" +
                          std::to_string(vector_bytes(t.isa) / int(sizeof(float))) + "|" +
                          std::to_string(t.pixels[0]) + " / " + std::to_string(t.pixels[1]) + "|" +
                          (t.rows > 1 ? std::to_string(t.rows) + " x " + std::to_string(t.block_pixels) : "-") +
                          "|" + (t.weights_in_registers ? "registers" : "by input row"));
  EXPECT_EQ(doc_table_rows(doc, "depthwise3x3_"), depthwise_code);

  for (Isa isa : runnable_isas()) {
    const detail::GemmKernelTable& table = detail::gemm_kernels(isa);
    for (const GemmTileShape& t : kGemmTiles) {
      if (t.isa != isa) continue;
      EXPECT_EQ(t.columns == 64 ? table.rows_x64 : table.rows, t.rows) << t.kernel << " " << t.columns;
      EXPECT_NE((t.columns == 64 ? table.x64 : t.columns == 16 ? table.x16 : table.x32)[t.rows], nullptr);
    }
  }
}

TEST(GemmWeights, RejectsEmptyShapes) {
  const float w = 1.0f;
  EXPECT_THROW(PackedGemmWeights(&w, nullptr, 0, 1), ShapeError);
  EXPECT_THROW(PackedGemmWeights(&w, nullptr, 1, 0), ShapeError);
}

}  // namespace
}  // namespace kernels
}  // namespace mobilenet

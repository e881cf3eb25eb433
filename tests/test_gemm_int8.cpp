// SPDX-License-Identifier: MIT
// The packed 8-bit GEMM against its reference twin on every 8-bit instruction set this machine
// runs and with either rounding (Rounding::Double, Single), bit for bit: MobileNetV1's shapes
// (pixels subsampled), odd K and N (tails of the groups of 4 and of the panels), extreme values
// and zero points, zero and non-zero weight zero points, per-column multipliers with shifts of
// both signs (-31..+6), exact ties, and split ranges (guard bytes around C must survive). The
// reference itself is checked against the formula computed a second way (int64 sums, the
// rounding written as floor and division) and on hand-checked ties; a kernel that rounds the
// other way is shown to fail the comparison.
#include <algorithm>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "mobilenet/kernels/conv2d_im2col.hpp"
#include "mobilenet/kernels/int8/gemm.hpp"
#include "mobilenet/kernels/int8/im2col.hpp"
#include "mobilenet/kernels/int8/im2col_avx512.hpp"

// Counts the plain operator new (this file replaces it; its test binary is its own), for the
// promise that a GEMM call allocates nothing.
// malloc and free sit in functions of their own, out of GCC's sight (-Wmismatched-new-delete).
namespace {
std::atomic<long> g_allocations{0};
[[gnu::noinline]] void* counted_malloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size ? size : 1);
}
[[gnu::noinline]] void release(void* p) { std::free(p); }
}  // namespace
void* operator new(std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }

namespace mobilenet {
namespace kernels {
namespace {

constexpr std::uint8_t kGuard = 0xA5;

// Which values a case draws: random, or pushed to the ends of their ranges.
enum class Values { Random, Extreme };

// A layer with its storage; the Int8GemmLayer points into it.
struct LayerData {
  std::vector<std::int8_t> weights;
  std::vector<std::int32_t> bias;
  std::vector<Requantization> requantization;
  Int8GemmLayer layer;
};

// Multipliers in [2^30, 2^31) with shifts from -20 to 0 (real layers' multipliers are below 1),
// or to +4 with left_shifts (which take the kernels' general epilogue).
Requantization random_requantization(std::mt19937& rng, bool left_shifts) {
  std::uniform_int_distribution<std::int32_t> mult(1 << 30, 2147483647);
  std::uniform_int_distribution<int> shift(-20, left_shifts ? 4 : 0);
  return {mult(rng), shift(rng)};
}

LayerData make_layer(Index k, Index n, std::int32_t zw, std::int32_t za, Values values, unsigned seed,
                     bool left_shifts = false, Rounding rounding = Rounding::Double, bool relu_range = false,
                     bool high_shifts = false) {
  std::mt19937 rng(seed);
  LayerData d;
  d.weights.resize(static_cast<std::size_t>(k * n));
  std::uniform_int_distribution<int> w(-128, 127), coin(0, 1);
  for (auto& x : d.weights) x = static_cast<std::int8_t>(values == Values::Extreme ? (coin(rng) ? 127 : -128) : w(rng));
  std::uniform_int_distribution<std::int32_t> bias(-100000, 100000);
  for (Index j = 0; j < n; ++j) d.bias.push_back(bias(rng));
  for (Index j = 0; j < n; ++j) d.requantization.push_back(random_requantization(rng, left_shifts));
  // The accumulators of a layer grow with k: scale the right shifts with it so that outputs
  // do not all clamp, still varied per column.
  for (auto& r : d.requantization) r.shift -= k > 256 ? 4 : 0;
  if (left_shifts)
    for (std::size_t j = 2; j < d.requantization.size(); j += 5) d.requantization[j].shift = 1 + int(j % 4);
  // Every total shift 31 - shift within [kInt8HighShiftMin, kInt8HighShiftMax], both ends included.
  if (high_shifts) {
    for (auto& r : d.requantization) r.shift = std::clamp(r.shift, 31 - kInt8HighShiftMax, 31 - kInt8HighShiftMin);
    d.requantization[0].shift = 31 - kInt8HighShiftMin;
    if (n > 1) d.requantization[1].shift = 31 - kInt8HighShiftMax;
  }
  // Multipliers 1/2 and 3/4 put exact ties into both roundings (the doubling high multiply's
  // for every odd accumulator): a kernel that rounds one tie the wrong way fails.
  for (std::size_t j = 0; j < d.requantization.size(); j += 3) d.requantization[j].multiplier = 1 << 30;
  for (std::size_t j = 1; j < d.requantization.size(); j += 3) d.requantization[j].multiplier = 3 << 29;
  d.layer.weights = d.weights.data();
  d.layer.bias = d.bias.data();
  d.layer.k = k, d.layer.n = n;
  d.layer.weight_zero_point = zw;
  d.layer.input_zero_point = za;
  d.layer.requantization = d.requantization.data();
  d.layer.output_zero_point = static_cast<std::int32_t>(seed % 256);
  d.layer.range = {static_cast<std::int32_t>(seed % 7), 255 - static_cast<std::int32_t>(seed % 5)};
  // A ReLU's range: nothing below the zero point (real 0), whatever the zero point.
  if (relu_range) d.layer.range = {d.layer.output_zero_point, std::max(d.layer.output_zero_point, 255 - int(seed % 3) * 40)};
  d.layer.rounding = rounding;
  return d;
}

const char* rounding_name(Rounding r) { return r == Rounding::Single ? "single" : "double"; }

// m rows of k bytes, lda apart, garbage in the gaps; the buffer ends right after the last
// row's k bytes (an over-read shows under ASan).
std::vector<std::uint8_t> make_input(Index m, Index k, Index lda, Values values, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255), coin(0, 1);
  std::vector<std::uint8_t> a(static_cast<std::size_t>((m - 1) * lda + k));
  for (auto& x : a) x = static_cast<std::uint8_t>(values == Values::Extreme ? (coin(rng) ? 255 : 0) : byte(rng));
  return a;
}

struct Case {
  Index m, k, n;
  std::int32_t zw, za;
  Values values;
  bool left_shifts = false;
  bool relu_range = false;
  bool high_shifts = false;
};

std::string describe(Int8Isa isa, Rounding rounding, const Case& c) {
  return std::string(int8_isa_name(isa)) + " " + rounding_name(rounding) + " rounding m=" + std::to_string(c.m) + " k=" + std::to_string(c.k) +
         " n=" + std::to_string(c.n) + " zw=" + std::to_string(c.zw) + " za=" + std::to_string(c.za) +
         (c.values == Values::Extreme ? " extreme" : " random") + (c.left_shifts ? " left shifts" : "") +
         (c.relu_range ? " relu range" : "") + (c.high_shifts ? " high shifts" : "");
}

// Runs `c` on `isa` (whole, or split in rows and panels as two threads would) and compares every
// byte of C, guards included, with the reference.
void expect_matches_reference(Int8Isa isa, Rounding rounding, const Case& c, bool split, unsigned seed) {
  const LayerData d =
      make_layer(c.k, c.n, c.zw, c.za, c.values, seed, c.left_shifts, rounding, c.relu_range, c.high_shifts);
  const Index lda = c.k + 3, ldc = c.n + 5;
  const std::vector<std::uint8_t> a = make_input(c.m, c.k, lda, c.values, seed + 1);
  std::vector<std::uint8_t> want(static_cast<std::size_t>(c.m * ldc + 7), kGuard), got = want;
  gemm_int8_reference(a.data(), c.m, lda, d.layer, want.data(), ldc);
  const PackedInt8GemmWeights packed(d.layer, isa);
  EXPECT_EQ(packed.one_shift_requantization(),
            rounding == Rounding::Double && d.layer.range.lo >= d.layer.output_zero_point && !c.left_shifts)
      << describe(isa, rounding, c);
  if (c.left_shifts) {
    EXPECT_FALSE(packed.plain_requantization()) << describe(isa, rounding, c);
  }
  if (c.high_shifts) {
    EXPECT_EQ(packed.high_shift_requantization(), rounding == Rounding::Single || packed.one_shift_requantization())
        << describe(isa, rounding, c);
  }
  if (split) {
    const Index rows = c.m / 2, panels = packed.panels() / 2;
    for (auto range : {Int8GemmRange{0, rows, 0, panels}, Int8GemmRange{0, rows, panels, packed.panels()},
                       Int8GemmRange{rows, c.m, panels, packed.panels()}, Int8GemmRange{rows, c.m, 0, panels}})
      gemm_int8_packed_range(a.data(), c.m, lda, packed, got.data(), ldc, range);
  } else {
    gemm_int8_packed(a.data(), c.m, lda, packed, got.data(), ldc);
  }
  int shown = 0;
  for (std::size_t i = 0; i < got.size() && shown < 3; ++i)
    if (got[i] != want[i]) {
      ADD_FAILURE() << describe(isa, rounding, c) << " split=" << split << ": C[" << i / std::size_t(ldc) << "]["
                    << i % std::size_t(ldc) << "] = " << int(got[i]) << ", reference " << int(want[i]);
      ++shown;
    }
}

class GemmInt8Isa : public ::testing::TestWithParam<std::tuple<Int8Isa, Rounding>> {
 protected:
  Int8Isa isa() const { return std::get<0>(GetParam()); }
  Rounding rounding() const { return std::get<1>(GetParam()); }
  void check(const Case& c, bool split, unsigned seed) const {
    expect_matches_reference(isa(), rounding(), c, split, seed);
  }
};

TEST_P(GemmInt8Isa, MobileNetShapes) {
  // Pointwise layers (k x n) at 49 and 196 pixels, the stem's im2col and the classifier.
  const Index pointwise[][2] = {{32, 64},   {64, 128},  {128, 128}, {128, 256}, {256, 256},
                                {256, 512}, {512, 512}, {512, 1024}, {1024, 1024}};
  unsigned seed = 1;
  for (const auto& kn : pointwise)
    for (Index m : {Index(49), Index(196)}) {
      if (m == 196 && kn[0] * kn[1] > 256 * 512) continue;  // the larger ones at 49 pixels only
      check({m, kn[0], kn[1], 0, 128, Values::Random}, false, seed);
      check({m, kn[0], kn[1], -5, 3, Values::Random, m == 49}, false, seed + 1);
      seed += 2;
    }
  check({300, 27, 32, 14, 128, Values::Random}, false, seed++);
  for (Index m = 1; m <= 8; ++m)
    check({m, 1024, 1001, 0, 0, Values::Random}, false, seed++);
  check({3, 1024, 1001, -21, 255, Values::Random}, false, seed++);
}

TEST_P(GemmInt8Isa, OddShapesAndOtherAlphas) {
  unsigned seed = 100;
  for (Index m : {1, 2, 5, 13, 25})
    for (Index k : {1, 2, 3, 4, 5, 8, 16, 24, 27, 33, 48, 65})
      for (Index n : {1, 3, 8, 15, 16, 17, 24, 31, 32, 33, 48, 65, 1001}) {
        if (n == 1001 && m > 2) continue;
        check({m, k, n, 0, 77, Values::Random}, false, seed);
        check({m, k, n, 101, 200, Values::Random, n > 2 && seed % 3 == 0}, seed % 4 == 0,
                                 seed + 1);
        seed += 2;
      }
}

TEST_P(GemmInt8Isa, ExtremeValuesAndZeroPoints) {
  unsigned seed = 5000;
  for (std::int32_t zw : {-128, 0, 127})
    for (std::int32_t za : {0, 255})
      for (Index k : {Index(3), Index(33), Index(1024), kInt8GemmMaxDepth}) {
        check({13, k, 45, zw, za, Values::Extreme}, false, seed);
        check({13, k, 45, zw, za, Values::Extreme, true}, false, seed + 1);
        check({7, k, 33, zw, za, Values::Random}, true, seed + 2);
        seed += 3;
      }
}

// ReLU ranges (lo at the zero point), where double rounding may take the one-shift form: every
// zero point from 0 to 255, ties from the multipliers 1/2 and 3/4, and outputs around 0.
TEST_P(GemmInt8Isa, ReluRanges) {
  unsigned seed = 7000;
  for (Index k : {Index(3), Index(27), Index(32), Index(64), Index(512)})
    for (int i = 0; i < 6; ++i, seed += 37) {
      check({25, k, 45, 0, int(seed % 256), Values::Random, false, true}, i % 2 == 0, seed);
      check({13, k, 33, -3, 128, Values::Extreme, false, true}, false, seed + 1);
      check({13, k, 33, 5, 7, Values::Random, true, true}, false, seed + 2);
    }
}

// Right shifts only, with total shifts from kInt8HighShiftMin to kInt8HighShiftMax (the
// high-dword form of AVX-512 for ReLU ranges and for single rounding): every zero point, ties.
TEST_P(GemmInt8Isa, HighShiftRanges) {
  unsigned seed = 8000;
  for (Index k : {Index(3), Index(32), Index(64), Index(512)})
    for (int i = 0; i < 6; ++i, seed += 41) {
      Case relu{25, k, 45, 0, int(seed % 256), Values::Random, false, true, true};
      check(relu, i % 2 == 0, seed);
      Case wide{13, k, 33, -3, 128, i % 2 ? Values::Extreme : Values::Random, false, false, true};
      check(wide, false, seed + 1);
    }
  // Output zero point 0 and range [0, 255], as in real int8 files (seeds 768 j: a ReLU range
  // over everything), where the AVX-512 epilogue leaves the clamp to the byte pack's saturation.
  for (Index n : {Index(8), Index(45), Index(64)})
    for (unsigned j = 11; j < 14; ++j) {
      Case full{14, 64, n, 0, 128, j % 2 ? Values::Extreme : Values::Random, false, true, true};
      check(full, j == 12, 768 * j);
    }
}

TEST_P(GemmInt8Isa, SplitRanges) {
  unsigned seed = 9000;
  for (Index m : {2, 14, 49, 50})
    for (Index n : {33, 64, 100, 257})
      check({m, 40, n, 9, 31, Values::Random}, true, seed++);
}

// A range writes exactly its rows and panels' columns.
TEST_P(GemmInt8Isa, RangeWritesOnlyItsPart) {
  const Index m = 30, k = 50, n = 100, lda = k, ldc = n + 4;
  const LayerData d = make_layer(k, n, 3, 10, Values::Random, 77, false, rounding());
  const std::vector<std::uint8_t> a = make_input(m, k, lda, Values::Random, 78);
  std::vector<std::uint8_t> full(static_cast<std::size_t>(m * ldc), kGuard), part = full;
  gemm_int8_reference(a.data(), m, lda, d.layer, full.data(), ldc);
  const PackedInt8GemmWeights packed(d.layer, isa());
  ASSERT_GE(packed.panels(), 3);
  const Int8GemmRange range{7, 19, 1, 3};
  gemm_int8_packed_range(a.data(), m, lda, packed, part.data(), ldc, range);
  const Index pw = packed.panel_width();
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < ldc; ++j) {
      const bool inside = i >= range.row_begin && i < range.row_end && j >= range.panel_begin * pw &&
                          j < std::min(n, range.panel_end * pw);
      const auto at = static_cast<std::size_t>(i * ldc + j);
      ASSERT_EQ(part[at], inside ? full[at] : kGuard) << "row " << i << " column " << j;
    }
}

TEST_P(GemmInt8Isa, PackedSizes) {
  const LayerData d = make_layer(1024, 1001, 0, 0, Values::Random, 3, false, rounding());
  const PackedInt8GemmWeights packed(d.layer, isa());
  EXPECT_EQ(packed.k(), 1024);
  EXPECT_EQ(packed.n(), 1001);
  EXPECT_EQ(packed.isa(), isa());
  EXPECT_EQ(packed.rounding(), rounding());
  EXPECT_EQ(packed.panels(), (1001 + packed.panel_width() - 1) / packed.panel_width());
  // Weights padded to whole panels, and an int32 per padded column for each per-column array
  // that is not all zero: offset, multiplier, right_shift, and with double rounding and right
  // shifts only (shift in [-20, 0]) rounding_half, but not left_shift.
  const auto padded = static_cast<std::size_t>(packed.panels() * packed.panel_width());
  const std::size_t arrays = rounding() == Rounding::Single ? 3 : 4;
  EXPECT_EQ(packed.bytes(), padded * 1024 + padded * 4 * arrays);
  // The dropped arrays read as zeros in every panel.
  for (Index p : {Index(0), packed.panels() - 1}) {
    for (Index j = 0; j < packed.panel_width(); ++j) {
      EXPECT_EQ(packed.columns(p).left_shift[j], 0);
      if (rounding() == Rounding::Single) {
        EXPECT_EQ(packed.columns(p).rounding_half[j], 0);
      }
    }
  }
  // Shifts both ways keep all five arrays.
  const LayerData both = make_layer(1024, 1001, 0, 0, Values::Random, 3, true, Rounding::Double);
  EXPECT_EQ(PackedInt8GemmWeights(both.layer, isa()).bytes(), padded * 1024 + padded * 4 * 5);
}

// A call allocates nothing (after the process's first, which may set up the kernel tables and
// read the cache sizes).
TEST_P(GemmInt8Isa, AllocatesNothing) {
  const LayerData d = make_layer(100, 70, 3, 9, Values::Random, 8, false, rounding());
  const std::vector<std::uint8_t> a = make_input(30, 100, 100, Values::Random, 9);
  std::vector<std::uint8_t> c(30 * 70);
  const PackedInt8GemmWeights packed(d.layer, isa());
  gemm_int8_packed(a.data(), 30, 100, packed, c.data(), 70);
  const long before = g_allocations.load();
  gemm_int8_packed(a.data(), 30, 100, packed, c.data(), 70);
  gemm_int8_packed_range(a.data(), 30, 100, packed, c.data(), 70, Int8GemmRange{3, 20, 1, packed.panels()});
  EXPECT_EQ(g_allocations.load(), before);
  std::vector<int> v(3);  // the counter counts
  EXPECT_GT(g_allocations.load(), before);
}

// The short epilogue applies exactly when no column shifts left and |acc| stays below 2^30.
TEST_P(GemmInt8Isa, PlainRequantizationWhenProvablySafe) {
  LayerData d = make_layer(1024, 40, -128, 255, Values::Random, 5, false, rounding());
  EXPECT_TRUE(PackedInt8GemmWeights(d.layer, isa()).plain_requantization());
  d.requantization[17].shift = 1;
  EXPECT_FALSE(PackedInt8GemmWeights(d.layer, isa()).plain_requantization());
  d.requantization[17].shift = 0;
  d.bias[3] = 1 << 30;
  EXPECT_FALSE(PackedInt8GemmWeights(d.layer, isa()).plain_requantization());
  // Accumulators beyond 2^30 still come out exact (through the general epilogue, or the
  // single rounding's).
  for (auto& b : d.bias) b = (b & 1) ? 1 << 30 : -(1 << 30);
  for (auto& r : d.requantization) r.shift = -21;
  const Index m = 13;
  const std::vector<std::uint8_t> a = make_input(m, 1024, 1024, Values::Random, 6);
  std::vector<std::uint8_t> want(static_cast<std::size_t>(m * 40)), got(want.size());
  gemm_int8_reference(a.data(), m, 1024, d.layer, want.data(), 40);
  gemm_int8_packed(a.data(), m, 1024, PackedInt8GemmWeights(d.layer, isa()), got.data(), 40);
  EXPECT_EQ(got, want);
}

// Every shift from -31 to +6 (twice each), multipliers 1/2, 3/4, the largest and random ones,
// accumulators up to 2^31 - 2^23 in magnitude (biases at the ends of int32), extreme inputs,
// weights and zero points.
TEST_P(GemmInt8Isa, EveryShiftAndExtremeAccumulators) {
  const Index m = 11, k = 64, n = 76;
  unsigned seed = 700;
  for (std::int32_t zw : {-128, 0, 127})
    for (std::int32_t za : {0, 255})
      for (Values values : {Values::Extreme, Values::Random}) {
        LayerData d = make_layer(k, n, zw, za, values, seed, false, rounding());
        const std::int32_t big = 2147483647 - (1 << 24);  // + |sum| <= 64 * 255 * 255 < 2^24 fits
        for (Index j = 0; j < n; ++j) {
          const auto u = static_cast<std::size_t>(j);
          d.requantization[u].shift = int(j % 38) - 31;
          if (j % 4 == 2) d.requantization[u].multiplier = 2147483647;
          d.bias[u] = j % 5 == 0 ? big : j % 5 == 1 ? -big : j % 5 == 2 ? d.bias[u] * 10000 : d.bias[u];
        }
        const std::vector<std::uint8_t> a = make_input(m, k, k, values, seed + 1);
        std::vector<std::uint8_t> want(static_cast<std::size_t>(m * n)), got(want.size());
        gemm_int8_reference(a.data(), m, k, d.layer, want.data(), n);
        gemm_int8_packed(a.data(), m, k, PackedInt8GemmWeights(d.layer, isa()), got.data(), n);
        for (std::size_t i = 0; i < got.size(); ++i)
          ASSERT_EQ(int(got[i]), int(want[i])) << "zw=" << zw << " za=" << za << " row " << i / std::size_t(n)
                                               << " column " << i % std::size_t(n);
        ++seed;
      }
}

// One output per column with acc = bias (k = 1, a = 0, zero points 0), each hand-checked in
// both roundings: exact ties of either sign, double rounding's two steps, shifts at the ends.
struct HandCase {
  std::int32_t acc;
  Requantization r;
  std::int32_t double_rounded, single_rounded;
};
const HandCase kHandCases[] = {
    {-2, {1 << 30, -1}, -1, 0},        // -0.5: away from zero once, half up once
    {2, {1 << 30, -1}, 1, 1},          // +0.5
    {-3, {1 << 30, 0}, -1, -1},        // -1.5: the doubling high multiply sends ties up too
    {-4, {3 << 29, -1}, -2, -1},       // -1.5 after -3 / 2: the second rounding's tie
    {4, {3 << 29, -1}, 2, 2},          // +1.5
    {2, {3 << 29, -2}, 1, 0},          // 0.375: rounded to 2 / 4 first, then up
    {-6, {3 << 29, -2}, -1, -1},       // -1.125
    {3, {3 << 29, 1}, 5, 5},           // +4.5 with a left shift
    {-3, {3 << 29, 1}, -4, -4},        // -4.5
    {-2147483647 - 1, {1 << 30, -31}, -1, 0},   // -0.5 at the largest right shift
    {2147483647, {2147483647, -31}, 1, 1},      // just below 1
    {-2147483647 - 1, {2147483647, -31}, -1, -1},
    {100, {1 << 30, 6}, 127, 127},     // 3200, clamped
    {-100, {1 << 30, 6}, -128, -128},  // -3200, clamped
};

TEST_P(GemmInt8Isa, HandCheckedTies) {
  const Index n = sizeof(kHandCases) / sizeof(kHandCases[0]);
  std::vector<std::int8_t> weights(static_cast<std::size_t>(n), 1);
  std::vector<std::int32_t> bias;
  std::vector<Requantization> requantization;
  for (const HandCase& h : kHandCases) bias.push_back(h.acc), requantization.push_back(h.r);
  Int8GemmLayer layer;
  layer.weights = weights.data(), layer.bias = bias.data(), layer.k = 1, layer.n = n;
  layer.requantization = requantization.data(), layer.output_zero_point = 128, layer.rounding = rounding();
  const std::uint8_t a = 0;
  std::vector<std::uint8_t> want(static_cast<std::size_t>(n)), got(want.size());
  gemm_int8_reference(&a, 1, 1, layer, want.data(), n);
  gemm_int8_packed(&a, 1, 1, PackedInt8GemmWeights(layer, isa()), got.data(), n);
  for (Index j = 0; j < n; ++j) {
    const HandCase& h = kHandCases[j];
    const int expected = 128 + (rounding() == Rounding::Single ? h.single_rounded : h.double_rounded);
    EXPECT_EQ(int(want[static_cast<std::size_t>(j)]), expected) << "reference, case " << j;
    EXPECT_EQ(int(got[static_cast<std::size_t>(j)]), expected) << "kernel, case " << j;
  }
}

// Every accumulator from -128 to 127 (one per row) times 1/2 and 3/4 with shifts -7..+1: exact
// ties of both signs for both roundings. The kernel matches the reference of its rounding, and
// differs from the other rounding's on negative and on positive accumulators, so that a kernel
// rounding once where it should round twice (or the reverse) fails the comparisons above.
TEST_P(GemmInt8Isa, TiesOfBothSignsTellTheRoundingsApart) {
  const Index m = 256, n = 18;
  std::vector<std::uint8_t> a(static_cast<std::size_t>(m));
  for (Index i = 0; i < m; ++i) a[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
  std::vector<std::int8_t> weights(static_cast<std::size_t>(n), 1);
  std::vector<Requantization> requantization;
  for (std::int32_t multiplier : {1 << 30, 3 << 29})
    for (int shift = -7; shift <= 1; ++shift) requantization.push_back({multiplier, shift});
  Int8GemmLayer layer;
  layer.weights = weights.data(), layer.k = 1, layer.n = n, layer.input_zero_point = 128;
  layer.requantization = requantization.data(), layer.output_zero_point = 128, layer.rounding = rounding();
  std::vector<std::uint8_t> want(static_cast<std::size_t>(m * n)), got(want.size()), other(want.size());
  gemm_int8_reference(a.data(), m, 1, layer, want.data(), n);
  gemm_int8_packed(a.data(), m, 1, PackedInt8GemmWeights(layer, isa()), got.data(), n);
  EXPECT_EQ(got, want);
  Int8GemmLayer swapped = layer;
  swapped.rounding = rounding() == Rounding::Single ? Rounding::Double : Rounding::Single;
  gemm_int8_reference(a.data(), m, 1, swapped, other.data(), n);
  int negative = 0, positive = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i] != other[i]) (i / std::size_t(n) < 128 ? negative : positive)++;
  EXPECT_GT(negative, 50);
  EXPECT_GT(positive, 5);
}

INSTANTIATE_TEST_SUITE_P(Runnable, GemmInt8Isa,
                         ::testing::Combine(::testing::ValuesIn(runnable_int8_isas()),
                                            ::testing::Values(Rounding::Double, Rounding::Single)),
                         [](const ::testing::TestParamInfo<std::tuple<Int8Isa, Rounding>>& info) {
                           std::string name = int8_isa_name(std::get<0>(info.param));
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name + "_" + rounding_name(std::get<1>(info.param));
                         });

// The formula of the reference written a second way: int64 sums, the doubling high multiply
// as floor((x m + 2^30) / 2^31), the rounding shift as a division rounded half away from zero.
std::uint8_t direct_output(std::int64_t acc, Requantization r, std::int32_t zp, QuantRange range) {
  const std::int64_t x = static_cast<std::int32_t>(static_cast<std::uint32_t>(acc) << (r.shift > 0 ? r.shift : 0));
  const std::int64_t num = x * r.multiplier + (std::int64_t(1) << 30);
  const std::int64_t den = std::int64_t(1) << 31;
  const std::int64_t high = num >= 0 ? num / den : -((-num + den - 1) / den);  // floor
  const std::int64_t div = std::int64_t(1) << (r.shift > 0 ? 0 : -r.shift);
  const std::int64_t magnitude = ((high < 0 ? -high : high) * 2 + div) / (2 * div);  // |high| / div, ties up
  const std::int64_t q = zp + (high < 0 ? -magnitude : magnitude);
  return static_cast<std::uint8_t>(std::min<std::int64_t>(range.hi, std::max<std::int64_t>(range.lo, q)));
}

// Single rounding: floor((acc m + 2^(30 - shift)) / 2^(31 - shift)), its low 32 bits.
std::uint8_t direct_output_single(std::int64_t acc, Requantization r, std::int32_t zp, QuantRange range) {
  const std::int64_t den = std::int64_t(1) << (31 - r.shift);
  const std::int64_t num = acc * r.multiplier + den / 2;
  const std::int64_t floor = num >= 0 ? num / den : -((-num + den - 1) / den);
  const std::int64_t q = zp + std::int64_t(static_cast<std::int32_t>(static_cast<std::uint32_t>(floor)));
  return static_cast<std::uint8_t>(std::min<std::int64_t>(range.hi, std::max<std::int64_t>(range.lo, q)));
}

TEST(GemmInt8Reference, MatchesTheFormulaComputedDirectly) {
  unsigned seed = 42;
  for (Rounding rounding : {Rounding::Double, Rounding::Single}) {
    for (Index k : {1, 7, 64, 1024, 4096})
      for (std::int32_t zw : {-128, -3, 0, 127}) {
        const Case c{9, k, 37, zw, static_cast<std::int32_t>(seed * 37 % 256), Values::Random};
        LayerData d = make_layer(c.k, c.n, c.zw, c.za, c.values, seed, false, rounding);
        // Every right shift 0..31 and left shifts up to 6 somewhere in the columns.
        for (Index j = 0; j < c.n; ++j) d.requantization[static_cast<std::size_t>(j)].shift = int(j % 38) - 31;
        const std::vector<std::uint8_t> a = make_input(c.m, c.k, c.k, c.values, seed + 1);
        std::vector<std::uint8_t> c_ref(static_cast<std::size_t>(c.m * c.n));
        gemm_int8_reference(a.data(), c.m, c.k, d.layer, c_ref.data(), c.n);
        for (Index i = 0; i < c.m; ++i)
          for (Index j = 0; j < c.n; ++j) {
            std::int64_t acc = d.bias[static_cast<std::size_t>(j)];
            for (Index x = 0; x < c.k; ++x)
              acc += (std::int64_t(a[static_cast<std::size_t>(i * c.k + x)]) - c.za) *
                     (std::int64_t(d.weights[static_cast<std::size_t>(j * c.k + x)]) - c.zw);
            const Requantization r = d.requantization[static_cast<std::size_t>(j)];
            const auto want = rounding == Rounding::Single
                                  ? direct_output_single(acc, r, d.layer.output_zero_point, d.layer.range)
                                  : direct_output(acc, r, d.layer.output_zero_point, d.layer.range);
            ASSERT_EQ(int(c_ref[static_cast<std::size_t>(i * c.n + j)]), int(want))
                << rounding_name(rounding) << " k=" << k << " zw=" << zw << " row " << i << " column " << j;
          }
        ++seed;
      }
  }
}

// Outputs that are not all one clamped value: the cases above test something.
TEST(GemmInt8Reference, CasesSpreadOverTheRange) {
  const LayerData d = make_layer(512, 64, 0, 128, Values::Random, 11);
  const std::vector<std::uint8_t> a = make_input(20, 512, 512, Values::Random, 12);
  std::vector<std::uint8_t> c(20 * 64);
  gemm_int8_reference(a.data(), 20, 512, d.layer, c.data(), 64);
  int distinct = 0;
  std::vector<bool> seen(256);
  for (auto v : c)
    if (!seen[v]) seen[v] = true, ++distinct;
  EXPECT_GT(distinct, 30);
}

TEST(GemmInt8Packing, RefusesBadLayers) {
  LayerData d = make_layer(8, 4, 0, 0, Values::Random, 1);
  auto pack = [&](Int8GemmLayer layer) { return PackedInt8GemmWeights(layer, Int8Isa::Generic); };
  Int8GemmLayer bad = d.layer;
  bad.k = 0;
  EXPECT_THROW(pack(bad), ShapeError);
  bad = d.layer, bad.k = kInt8GemmMaxDepth + 1;
  EXPECT_THROW(pack(bad), ShapeError);
  bad = d.layer, bad.n = 0;
  EXPECT_THROW(pack(bad), ShapeError);
  bad = d.layer, bad.weight_zero_point = 128;
  EXPECT_THROW(pack(bad), ConfigError);
  bad = d.layer, bad.input_zero_point = -1;
  EXPECT_THROW(pack(bad), ConfigError);
  bad = d.layer, bad.output_zero_point = 256;
  EXPECT_THROW(pack(bad), ConfigError);
  bad = d.layer, bad.range = {10, 9};
  EXPECT_THROW(pack(bad), ConfigError);
  bad = d.layer, bad.requantization = nullptr;
  EXPECT_THROW(pack(bad), ConfigError);
  d.requantization[2].shift = 31;
  EXPECT_THROW(pack(d.layer), ConfigError);
  d.requantization[2] = {-1, 0};
  EXPECT_THROW(pack(d.layer), ConfigError);
  d.requantization[2] = {1 << 30, 0};
  for (Int8Isa isa : {Int8Isa::Neon, Int8Isa::NeonDot, Int8Isa::Avx2, Int8Isa::AvxVnni, Int8Isa::Avx512Vnni})
    if (!int8_isa_supported(isa)) {
      EXPECT_THROW(PackedInt8GemmWeights(d.layer, isa), ConfigError);
    }
}

// The stem's im2col equals im2col_rows with the image flipped and `fill` as padding, byte for
// byte including a guard after the rows: every size from 1 pixel up, both strides, every
// padding, several depths, bands that end at the image's last row and before it, the last rows
// of the image (where 16-byte copies would read past it).
TEST(Im2colU8, EqualsTheReferenceIm2colOfTheFlippedImage) {
  std::mt19937 rng(11);
  for (Index cin : {1, 3, 5})
    for (Index size : {1, 2, 3, 5, 8, 13, 30})
      for (Index stride : {1, 2})
        for (const Padding& padding : {Padding::same(), Padding::valid(), Padding::symmetric(1)})
          for (std::uint8_t flip : {0x00, 0x80}) {
            const Shape shape(1, size, size + 1, cin);
            const Window2D win = window_2d(shape.h, shape.w, 3, stride, padding);
            if (win.rows.out <= 0 || win.cols.out <= 0) continue;
            std::vector<std::uint8_t> image(static_cast<std::size_t>(shape.h * shape.w * cin));
            for (auto& x : image) x = static_cast<std::uint8_t>(rng());
            std::vector<std::uint8_t> flipped = image;
            for (auto& x : flipped) x ^= flip;
            const std::uint8_t fill = static_cast<std::uint8_t>(rng());
            for (Index depth : {9 * cin, (9 * cin + 3) / 4 * 4, 9 * cin + 5})
              for (const auto& [first, end] : {std::pair<Index, Index>{0, win.rows.out}, {win.rows.out / 2, win.rows.out},
                                              {0, (win.rows.out + 1) / 2}}) {
                const Index count = (end - first) * win.cols.out * depth;
                std::vector<std::uint8_t> want(static_cast<std::size_t>(count + 16), 0xA5), got = want;
                im2col_rows(flipped.data(), shape, win, first, end, want.data(), fill, depth);
                im2col_rows_u8(image.data(), shape, win, first, end, got.data(), depth, fill, flip);
                ASSERT_EQ(got, want) << "cin " << cin << " size " << size << " stride " << stride << " depth " << depth
                                     << " rows " << first << ".." << end << " flip " << int(flip);
              }
          }
}

// The stem's VBMI im2col (3x3, stride 2, 3 channels, rows of 28 bytes) against the reference
// twin: images from too narrow for one group of 16 windows to MobileNet's sizes, every padding,
// both domains, row ranges that start and end anywhere; guard bytes after the columns.
TEST(Im2colU8, StemAvx512EqualsTheReferenceIm2col) {
  if (!im2col_stem_avx512_supported()) GTEST_SKIP() << "this CPU has no AVX-512 VBMI";
#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
  std::mt19937 rng(12);
  const Index depth = 28;
  for (const auto& [h, w] : {std::pair<Index, Index>{5, 33}, {7, 34}, {9, 35}, {8, 64}, {3, 97}, {224, 224}, {161, 129},
                             {192, 192}, {128, 128}})
    for (const Padding& padding : {Padding::same(), Padding::valid(), Padding::symmetric(1)})
      for (std::uint8_t flip : {0x00, 0x80}) {
        const Shape shape(1, h, w, 3);
        const Window2D win = window_2d(h, w, 3, 2, padding);
        ASSERT_TRUE(im2col_stem_avx512_applies(shape, win, depth));
        std::vector<std::uint8_t> image(static_cast<std::size_t>(h * w * 3));
        for (auto& x : image) x = static_cast<std::uint8_t>(rng());
        std::vector<std::uint8_t> flipped = image;
        for (auto& x : flipped) x ^= flip;
        const std::uint8_t fill = static_cast<std::uint8_t>(rng());
        const Index rows = win.rows.out;
        for (const auto& [first, end] : {std::pair<Index, Index>{0, rows}, {rows / 3, rows}, {1, rows / 2 + 1}}) {
          if (first >= end) continue;
          const Index count = (end - first) * win.cols.out * depth;
          std::vector<std::uint8_t> want(static_cast<std::size_t>(count + 64), 0xA5), got = want;
          im2col_rows(flipped.data(), shape, win, first, end, want.data(), fill, depth);
          im2col_stem_rows_u8_avx512(image.data(), shape, win, first, end, got.data(), depth, fill, flip);
          ASSERT_EQ(got, want) << h << "x" << w << " rows " << first << ".." << end << " flip " << int(flip);
        }
      }
#endif
}

}  // namespace
}  // namespace kernels
}  // namespace mobilenet

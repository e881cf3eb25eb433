// SPDX-License-Identifier: MIT
// The 8-bit 3x3 depthwise kernels: every runnable Int8Isa bit-identical to the reference twin
// over depthwise_int8_cases.hpp's table and MobileNet's shapes; the twin against a direct
// computation written differently (an explicitly padded input filled with zp_in, int64 sums,
// the requantization in 64-bit arithmetic); the packer's checks.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "depthwise_int8_cases.hpp"

namespace mobilenet {
namespace {

using kernels::Int8Isa;
using testing::DepthwiseInt8Case;

class DepthwiseInt8Kernels : public ::testing::TestWithParam<DepthwiseInt8Case> {};

TEST_P(DepthwiseInt8Kernels, EveryIsaMatchesTheReferenceTwin) {
  const std::vector<Int8Isa> isas = kernels::runnable_int8_isas();
  ASSERT_FALSE(isas.empty());
  for (Int8Isa isa : isas)
    for (const std::string& e : testing::check_depthwise_int8_case(GetParam(), isa)) ADD_FAILURE() << e;
}

INSTANTIATE_TEST_SUITE_P(Table, DepthwiseInt8Kernels, ::testing::ValuesIn(testing::depthwise_int8_cases()));

// MobileNet's own depthwise shapes at full size (alpha 1 and 0.25, resolution 224 and 128),
// TensorFlow SAME, random data; the pixel strides the plan pads wide channels to.
TEST(DepthwiseInt8Kernels, MobileNetShapes) {
  struct Shape3 {
    Index size, channels, stride;
  };
  const Shape3 shapes[] = {{112, 32, 1}, {112, 64, 2}, {56, 128, 1}, {56, 128, 2}, {28, 256, 1}, {28, 256, 2},
                           {14, 512, 1}, {14, 512, 2}, {7, 1024, 1}, {64, 8, 1},   {64, 16, 2}, {16, 96, 2},
                           {8, 192, 1},  {4, 256, 1}};
  for (Int8Isa isa : kernels::runnable_int8_isas()) {
    for (const Shape3& s : shapes) {
     for (testing::Int8Data data : {testing::Int8Data::Random, testing::Int8Data::SymmetricRelu}) {
      const DepthwiseInt8Case c{s.channels, s.stride, 0, data};
      const testing::Int8LayerData d = testing::make_int8_layer(s.channels, c.data, 77);
      const kernels::PackedDepthwiseInt8Weights packed(d.layer, isa);
      const Index extra = s.channels % 256 == 0 ? 16 : 0;
      for (const std::string& e :
           testing::check_depthwise_int8(c, s.size, s.size, packed, d.layer,
                                         [](const auto& p) { kernels::depthwise3x3_int8(p); },
                                         kernels::int8_isa_name(isa), extra, 5))
        ADD_FAILURE() << e;
     }
    }
  }
}

// Stride 3 has no tile: every pixel runs the per-pixel path.
TEST(DepthwiseInt8Kernels, OtherStridesRunPerPixel) {
  for (Int8Isa isa : kernels::runnable_int8_isas()) {
    for (Index ch : {5, 16, 40, 70}) {
      const DepthwiseInt8Case c{ch, 3, 1, ch < 64 ? testing::Int8Data::Random : testing::Int8Data::Symmetric};
      const testing::Int8LayerData d = testing::make_int8_layer(ch, c.data, 3);
      const kernels::PackedDepthwiseInt8Weights packed(d.layer, isa);
      for (const std::string& e : testing::check_depthwise_int8(
               c, 13, 11, packed, d.layer, [](const auto& p) { kernels::depthwise3x3_int8(p); },
               kernels::int8_isa_name(isa), 0, 9))
        ADD_FAILURE() << e;
    }
  }
}

// TFLite's requantization written out in 64-bit arithmetic, independently of
// core/quantization.hpp: round half up of acc * 2^left * m / 2^31 (the multiplier is never
// INT32_MIN, so the doubling high multiply never saturates), then a right shift rounding
// half away from zero.
std::int64_t direct_requantize(std::int64_t acc, Requantization r, std::int32_t zp, QuantRange range) {
  const int left = r.shift > 0 ? r.shift : 0, right = r.shift > 0 ? 0 : -r.shift;
  const auto shifted = static_cast<std::int64_t>(static_cast<std::int32_t>(static_cast<std::uint32_t>(acc) << left));
  const std::int64_t product = shifted * r.multiplier;
  const std::int64_t high = (product + (std::int64_t(1) << 30)) >> 31;  // floor: ties go up
  std::int64_t q = high;
  if (right > 0) {
    const std::int64_t magnitude = high < 0 ? -high : high;
    const std::int64_t rounded = (magnitude + (std::int64_t(1) << (right - 1))) >> right;
    q = high < 0 ? -rounded : rounded;
  }
  q += zp;
  return q < range.lo ? range.lo : q > range.hi ? range.hi : q;
}

TEST(DepthwiseInt8Reference, MatchesAPaddedDirectComputation) {
  for (int padding : {0, 1, 2})
    for (Index stride : {1, 2})
      for (testing::Int8Data data : {testing::Int8Data::Random, testing::Int8Data::Extremes, testing::Int8Data::Saturate})
        for (Index h : {1, 4, 7})
          for (Index w : {2, 5, 8}) {
            const Index ch = 5;
            const DepthwiseInt8Case c{ch, stride, padding, data};
            const testing::Int8LayerData d = testing::make_int8_layer(ch, data, static_cast<std::uint32_t>(h * 10 + w));
            const kernels::DepthwiseInt8Layer& l = d.layer;
            const Window2D win = window_2d(h, w, 3, stride, testing::int8_case_padding(padding));
            if (win.rows.out <= 0 || win.cols.out <= 0) continue;
            const std::vector<std::uint8_t> input = testing::make_int8_input(h * w * ch, data, 3);
            // The input inside a frame of zp_in, wide enough for every tap.
            const Index ph = h + 4, pw = w + 4;
            std::vector<std::int64_t> padded(static_cast<std::size_t>(ph * pw * ch), l.input_zero_point);
            for (Index y = 0; y < h; ++y)
              for (Index x = 0; x < w; ++x)
                for (Index k = 0; k < ch; ++k)
                  padded[static_cast<std::size_t>(((y + 2) * pw + x + 2) * ch + k)] = input[static_cast<std::size_t>((y * w + x) * ch + k)];
            kernels::Depthwise3x3Int8Params p;
            p.input = input.data();
            p.in_h = h;
            p.in_w = w;
            p.channels = ch;
            p.out_h = p.row_end = win.rows.out;
            p.out_w = win.cols.out;
            p.stride = stride;
            p.pad_top = win.rows.pad_before;
            p.pad_left = win.cols.pad_before;
            std::vector<std::uint8_t> out(static_cast<std::size_t>(p.out_h * p.out_w * ch));
            p.output = out.data();
            kernels::depthwise3x3_int8_reference(p, l);
            for (Index oy = 0; oy < p.out_h; ++oy)
              for (Index ox = 0; ox < p.out_w; ++ox)
                for (Index k = 0; k < ch; ++k) {
                  std::int64_t acc = l.bias ? l.bias[k] : 0;
                  for (Index ky = 0; ky < 3; ++ky)
                    for (Index kx = 0; kx < 3; ++kx) {
                      const Index y = oy * stride - p.pad_top + ky + 2, x = ox * stride - p.pad_left + kx + 2;
                      acc += (padded[static_cast<std::size_t>((y * pw + x) * ch + k)] - l.input_zero_point) *
                             (std::int64_t(l.weights[(ky * 3 + kx) * ch + k]) - l.weight_zero_point);
                    }
                  const std::int64_t want = direct_requantize(acc, l.requantization[k], l.output_zero_point, l.range);
                  ASSERT_EQ(out[static_cast<std::size_t>((oy * p.out_w + ox) * ch + k)], want)
                      << testing::describe(c) << ", input " << h << "x" << w << ", output (" << oy << ", " << ox
                      << ", " << k << ")";
                }
          }
}

TEST(DepthwiseInt8Packing, RefusesParametersTheKernelsCannotRun) {
  testing::Int8LayerData d = testing::make_int8_layer(4, testing::Int8Data::Random, 1);
  auto refuses = [](kernels::DepthwiseInt8Layer l) {
    EXPECT_THROW(kernels::PackedDepthwiseInt8Weights(l, Int8Isa::Generic), ConfigError);
  };
  kernels::DepthwiseInt8Layer l = d.layer;
  l.channels = 0;
  refuses(l);
  l = d.layer;
  l.input_zero_point = 256;
  refuses(l);
  l = d.layer;
  l.output_zero_point = -1;
  refuses(l);
  l = d.layer;
  l.weight_zero_point = 300;
  refuses(l);
  l = d.layer;
  l.range = QuantRange{10, 5};
  refuses(l);
  d.requantization[2] = Requantization{12345, -3};
  refuses(d.layer);
  d.requantization[2] = Requantization{1 << 30, 31};
  refuses(d.layer);
}

TEST(DepthwiseInt8Packing, KeepsTheLayerParametersAndIsa) {
  const testing::Int8LayerData d = testing::make_int8_layer(17, testing::Int8Data::Random, 1);
  for (Int8Isa isa : kernels::runnable_int8_isas()) {
    const kernels::PackedDepthwiseInt8Weights packed(d.layer, isa);
    EXPECT_EQ(packed.channels(), 17);
    EXPECT_EQ(packed.isa(), isa);
    // 17 channels padded to 32, each 33 bytes: 6 tap words, bias, multiplier and a shift byte.
    EXPECT_EQ(packed.bytes(), std::size_t(32 * 33));
    const kernels::PackedDepthwiseInt8Weights copy = packed;  // a copy views its own storage
    EXPECT_NE(copy.view().w01, packed.view().w01);
  }
}

// The quad layout: AVX-512 VNNI only, 32 or at least 64 channels, every w - zw within int8;
// padded to whole blocks of 64 channels of 21 bytes (3 tap words, bias, multiplier, shift).
TEST(DepthwiseInt8Packing, QuadLayoutOnlyWhereTheWeightsFitInt8) {
  testing::Int8LayerData d = testing::make_int8_layer(100, testing::Int8Data::Symmetric, 2);
  for (Int8Isa isa : kernels::runnable_int8_isas()) {
    const kernels::PackedDepthwiseInt8Weights packed(d.layer, isa);
    const bool quads = isa == Int8Isa::Avx512Vnni && kernels::depthwise3x3_int8_compiled(isa);
    EXPECT_EQ(packed.quads(), quads) << kernels::int8_isa_name(isa);
    EXPECT_EQ(packed.view().quads != nullptr, quads);
    EXPECT_EQ(packed.bytes(), quads ? std::size_t(128 * 21) : std::size_t(112 * 33));
  }
  if (!kernels::int8_isa_supported(Int8Isa::Avx512Vnni)) GTEST_SKIP() << "no AVX-512 VNNI here";
  d.layer.weight_zero_point = 1;  // some w - zw reach -129
  EXPECT_FALSE(kernels::PackedDepthwiseInt8Weights(d.layer, Int8Isa::Avx512Vnni).quads());
  d.layer.weight_zero_point = 0;
  d.layer.channels = 63;
  EXPECT_FALSE(kernels::PackedDepthwiseInt8Weights(d.layer, Int8Isa::Avx512Vnni).quads());
  d.layer.channels = 33;
  EXPECT_FALSE(kernels::PackedDepthwiseInt8Weights(d.layer, Int8Isa::Avx512Vnni).quads());
  d.layer.channels = 32;  // one block holding the channels twice
  const kernels::PackedDepthwiseInt8Weights pairs(d.layer, Int8Isa::Avx512Vnni);
  EXPECT_TRUE(pairs.quads());
  EXPECT_TRUE(pairs.view().quad_pairs);
  EXPECT_EQ(pairs.bytes(), std::size_t(64 * 21));
}

// The one-shift requantization is allowed exactly where every q <= 0 clamps to lo and no
// channel shifts left.
TEST(DepthwiseInt8Packing, OneShiftOnlyForReluRangesWithoutLeftShifts) {
  testing::Int8LayerData d = testing::make_int8_layer(17, testing::Int8Data::Relu, 3);
  EXPECT_TRUE(kernels::PackedDepthwiseInt8Weights(d.layer, Int8Isa::Generic).view().one_shift);
  d.layer.range.lo = d.layer.output_zero_point - 1;
  if (d.layer.range.lo >= 0) {
    EXPECT_FALSE(kernels::PackedDepthwiseInt8Weights(d.layer, Int8Isa::Generic).view().one_shift);
  }
  d.layer.range.lo = d.layer.output_zero_point;
  d.requantization[3] = Requantization{1 << 30, 1};
  EXPECT_FALSE(kernels::PackedDepthwiseInt8Weights(d.layer, Int8Isa::Generic).view().one_shift);
}

}  // namespace
}  // namespace mobilenet

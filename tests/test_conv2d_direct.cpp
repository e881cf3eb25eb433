// SPDX-License-Identifier: MIT
// The direct k x k convolution (padded rows + in-place micro-kernel, the plan's stem on
// AVX-512 and AVX2) against its reference twin conv2d_reference: input channels 1-4, output channels
// below, at and above the 16- and 32-lane tiles, strides 1 and 2, both paddings, odd and even
// sizes, every activation, and bands of output rows (as the plan's threads take them).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "depthwise_cases.hpp"
#include "mobilenet/kernels/conv2d_direct.hpp"
#include "mobilenet/kernels/conv2d_reference.hpp"

namespace mobilenet {
namespace {


TEST(PaddedRows, HoldTheInputRowsWithZerosWhereTheWindowOverhangs) {
  const Shape in(1, 5, 4, 2);
  std::vector<float> image(static_cast<std::size_t>(in.size()));
  for (std::size_t i = 0; i < image.size(); ++i) image[i] = float(i + 1);
  const Window2D win = window_2d(5, 4, 3, 1, Padding::symmetric(1));  // 5 x 4 out, 6 x 2 floats a row
  ASSERT_EQ(kernels::padded_row_width(win), 6);
  ASSERT_EQ(kernels::padded_rows_count(win, 0, 2), 4);
  std::vector<float> band(4 * 6 * 2, -1.0f);
  kernels::padded_rows(image.data(), in, win, 0, 2, band.data());
  for (Index r = 0; r < 4; ++r)
    for (Index x = 0; x < 6; ++x)
      for (Index c = 0; c < 2; ++c) {
        const Index iy = r - 1, ix = x - 1;
        const float want = iy < 0 || ix < 0 || ix >= 4 ? 0.0f : image[static_cast<std::size_t>((iy * 4 + ix) * 2 + c)];
        EXPECT_EQ(band[static_cast<std::size_t>((r * 6 + x) * 2 + c)], want) << "row " << r << " column " << x;
      }
}

struct DirectCase {
  Index cin, cout, stride;
  bool symmetric;
  Activation activation;
};

class DirectConv : public ::testing::TestWithParam<DirectCase> {};

TEST_P(DirectConv, MatchesTheReferenceTwinBandByBand) {
  std::vector<kernels::Isa> isas;
  for (kernels::Isa isa : {kernels::Isa::Avx512, kernels::Isa::Avx2})
    if (kernels::isa_supported(isa) && kernels::direct_conv_available(isa, 27)) isas.push_back(isa);
  if (isas.empty()) GTEST_SKIP() << "the direct convolution kernels need AVX-512 or AVX2";
  const DirectCase c = GetParam();
  const Padding padding = c.symmetric ? Padding::symmetric(1) : Padding::same();
  for (kernels::Isa isa : isas)
    for (Index h : {Index(1), Index(6), Index(13), Index(32)})
      for (Index w : {Index(2), Index(9), Index(31)}) {
        const Window2D win = window_2d(h, w, 3, c.stride, padding);
        if (win.rows.out == 0 || win.cols.out == 0) continue;
        const Shape in(1, h, w, c.cin);
        const Index depth = 9 * c.cin, out_w = win.cols.out;
        const auto image = testing::random_values(in.size(), 1), weights = testing::random_values(depth * c.cout, 2),
                   bias = testing::random_values(c.cout, 3);
        std::vector<float> want(static_cast<std::size_t>(win.rows.out * out_w * c.cout));
        kernels::conv2d_reference(image.data(), in, weights.data(), bias.data(), c.cout, win, want.data());
        kernels::activation_inplace(want.data(), Index(want.size()), c.activation);

        const kernels::PackedGemmWeights packed(weights.data(), bias.data(), depth, c.cout);
        ASSERT_TRUE(kernels::direct_conv_available(isa, packed));
        // Output pixels ldc = Cout + 3 floats apart; the gaps must keep their sentinel.
        const Index ldc = c.cout + 3;
        constexpr float kSentinel = -999.0f;
        std::vector<float> got(static_cast<std::size_t>(win.rows.out * out_w * ldc), kSentinel);
        const Index band_rows = 2;
        for (Index first = 0; first < win.rows.out; first += band_rows) {
          const Index end = std::min(win.rows.out, first + band_rows);
          std::vector<float> band(static_cast<std::size_t>(kernels::padded_rows_count(win, first, end) *
                                                           kernels::padded_row_width(win) * c.cin));
          kernels::padded_rows(image.data(), in, win, first, end, band.data());
          // Every other band with a prefetch hint (the whole image), which must change nothing.
          kernels::GemmOptions options;
          options.isa = isa;
          if (first % (2 * band_rows) == 0) options.prefetch = {image.data(), Index(image.size() * sizeof(float))};
          kernels::conv2d_direct_rows(band.data(), c.cin, win, first, end, packed, got.data() + first * out_w * ldc,
                                      ldc, c.activation, options);
        }
        for (Index p = 0; p < win.rows.out * out_w; ++p)
          for (Index o = 0; o < ldc; ++o) {
            const float g = got[static_cast<std::size_t>(p * ldc + o)];
            const float r = o < c.cout ? want[static_cast<std::size_t>(p * c.cout + o)] : kSentinel;
            ASSERT_NEAR(g, r, 1e-5f * (1.0f + std::fabs(r)))
                << kernels::isa_name(isa) << ", input " << h << "x" << w << "x" << c.cin << ", " << c.cout
                << " out, stride " << c.stride
                << (c.symmetric ? ", symmetric" : ", same") << ", pixel " << p << ", channel " << o
                << (o >= c.cout ? " (gap)" : "");
          }
      }
}

std::vector<DirectCase> direct_cases() {
  std::vector<DirectCase> cases;
  for (Index cin : {1, 3, 4})
    for (Index cout : {1, 8, 16, 17, 32, 40, 64})
      for (Index stride : {1, 2})
        for (bool symmetric : {false, true})
          cases.push_back({cin, cout, stride, symmetric, cout % 2 ? Activation::ReLU : Activation::ReLU6});
  cases.push_back({3, 32, 2, false, Activation::None});
  return cases;
}

std::string case_name(const ::testing::TestParamInfo<DirectCase>& info) {
  const DirectCase& c = info.param;
  return "cin" + std::to_string(c.cin) + "_cout" + std::to_string(c.cout) + "_s" + std::to_string(c.stride) +
         (c.symmetric ? "_symmetric_" : "_same_") + activation_name(c.activation);
}

INSTANTIATE_TEST_SUITE_P(Shapes, DirectConv, ::testing::ValuesIn(direct_cases()), case_name);

}  // namespace
}  // namespace mobilenet

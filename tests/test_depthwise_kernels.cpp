// SPDX-License-Identifier: MIT
// Every 3x3 depthwise kernel this build has and this CPU runs (generic, AVX2, AVX-512, NEON)
// against the scalar reference twin, over depthwise_cases.hpp's table; and the twin itself
// against the layer-level reference with the library's padding maths.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "depthwise_cases.hpp"
#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/kernels/depthwise_reference.hpp"

namespace mobilenet {
namespace {

using kernels::Depthwise3x3Params;
using kernels::Isa;
using testing::DepthwiseCase;

class DepthwiseKernels : public ::testing::TestWithParam<DepthwiseCase> {};

TEST_P(DepthwiseKernels, EveryIsaMatchesTheReferenceTwin) {
  const std::vector<Isa> isas = kernels::depthwise3x3_runnable_isas();
  ASSERT_FALSE(isas.empty());
  for (Isa isa : isas) {
    const auto errors = testing::check_depthwise_case(
        GetParam(), [isa](const Depthwise3x3Params& p) { kernels::depthwise3x3(p, isa); },
        kernels::isa_name(isa));
    for (const std::string& e : errors) ADD_FAILURE() << e;
  }
}

TEST_P(DepthwiseKernels, DefaultDispatchMatchesTheReferenceTwin) {
  const auto errors = testing::check_depthwise_case(
      GetParam(), [](const Depthwise3x3Params& p) { kernels::depthwise3x3(p); }, "best_isa");
  for (const std::string& e : errors) ADD_FAILURE() << e;
}

// The twin must agree with depthwise_conv2d_reference + bias + activation, which takes its
// padding from window_2d: this pins the contract's pad_top/pad_left and implied bottom/right.
TEST_P(DepthwiseKernels, ReferenceTwinMatchesTheLayerReference) {
  const DepthwiseCase c = GetParam();
  const Padding padding = c.symmetric ? Padding::symmetric(1) : Padding::same();
  for (Index h : testing::depthwise_sizes()) {
    for (Index w : {Index(1), Index(6), Index(15)}) {
      const Window2D win = window_2d(h, w, 3, c.stride, padding);
      if (win.rows.out == 0 || win.cols.out == 0) continue;
      const std::vector<float> input = testing::random_values(h * w * c.channels, 11);
      const std::vector<float> weights = testing::random_values(9 * c.channels, 12);
      const std::vector<float> bias = testing::random_values(c.channels, 13);
      const Index count = win.rows.out * win.cols.out * c.channels;
      std::vector<float> layer(static_cast<std::size_t>(count)), twin(layer.size());
      kernels::depthwise_conv2d_reference(input.data(), Shape(1, h, w, c.channels), weights.data(),
                                          bias.data(), win, layer.data());
      kernels::activation_inplace(layer.data(), count, c.activation);
      Depthwise3x3Params p =
          testing::depthwise_params(input.data(), h, w, c.channels, weights.data(), bias.data(), win, c.activation);
      p.output = twin.data();
      kernels::depthwise3x3_reference(p);
      for (Index i = 0; i < count; ++i)
        ASSERT_EQ(twin[static_cast<std::size_t>(i)], layer[static_cast<std::size_t>(i)])
            << testing::describe(c) << ", input " << h << "x" << w << ", element " << i;
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<DepthwiseCase>& info) {
  const DepthwiseCase& c = info.param;
  return "c" + std::to_string(c.channels) + "_s" + std::to_string(c.stride) +
         (c.symmetric ? "_symmetric_" : "_same_") + activation_name(c.activation);
}

INSTANTIATE_TEST_SUITE_P(Table, DepthwiseKernels, ::testing::ValuesIn(testing::depthwise_cases()),
                         case_name);

TEST(DepthwiseKernels, GenericIsAlwaysRunnable) {
  const std::vector<Isa> isas = kernels::depthwise3x3_runnable_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::Generic);
  std::string names;
  for (Isa isa : isas) names += std::string(kernels::isa_name(isa)) + " ";
  RecordProperty("isas", names);
  std::printf("depthwise3x3 kernels tested here: %s\n", names.c_str());
}

// Pixels further apart than the channel count (the plan pads 512 and 1024 channels): every
// kernel, and the twin, read only the channels of each input pixel (the gaps hold NaN) and
// write only those of each output pixel (the gaps keep their sentinel), and agree with the
// dense twin.
TEST(DepthwiseKernels, PaddedPixelStridesReadAndWriteOnlyTheChannels) {
  constexpr float kSentinel = -777.0f;
  for (Index channels : {Index(5), Index(16), Index(33), Index(64)})
    for (Index stride : {Index(1), Index(2)})
      for (Index size : {Index(7), Index(14)}) {
        const Window2D win = window_2d(size, size + 1, 3, stride, Padding::same());
        const Index in_stride = channels + 16, out_stride = channels + 7;
        const Index pixels_in = size * (size + 1), pixels_out = win.rows.out * win.cols.out;
        const std::vector<float> dense = testing::random_values(pixels_in * channels, 21);
        const std::vector<float> weights = testing::random_values(9 * channels, 22);
        const std::vector<float> bias = testing::random_values(channels, 23);
        std::vector<float> strided(static_cast<std::size_t>(pixels_in * in_stride), std::nanf(""));
        for (Index i = 0; i < pixels_in; ++i)
          std::copy(dense.begin() + i * channels, dense.begin() + (i + 1) * channels,
                    strided.begin() + i * in_stride);
        Depthwise3x3Params p = testing::depthwise_params(dense.data(), size, size + 1, channels, weights.data(),
                                                         bias.data(), win, Activation::ReLU6);
        std::vector<float> expected(static_cast<std::size_t>(pixels_out * channels));
        p.output = expected.data();
        kernels::depthwise3x3_reference(p);
        p.input = strided.data();
        p.in_pixel_stride = in_stride, p.out_pixel_stride = out_stride;
        std::vector<std::pair<std::string, std::function<void(const Depthwise3x3Params&)>>> kernels{
            {"reference", [](const Depthwise3x3Params& q) { kernels::depthwise3x3_reference(q); }}};
        for (Isa isa : kernels::depthwise3x3_runnable_isas())
          kernels.emplace_back(kernels::isa_name(isa),
                               [isa](const Depthwise3x3Params& q) { kernels::depthwise3x3(q, isa); });
        for (const auto& [name, kernel] : kernels) {
          std::vector<float> out(static_cast<std::size_t>(pixels_out * out_stride), kSentinel);
          p.output = out.data();
          kernel(p);
          for (Index i = 0; i < pixels_out; ++i)
            for (Index c = 0; c < out_stride; ++c) {
              const float got = out[static_cast<std::size_t>(i * out_stride + c)];
              const float want = c < channels ? expected[static_cast<std::size_t>(i * channels + c)] : kSentinel;
              ASSERT_NEAR(got, want, 1e-5f * (1.0f + std::fabs(want)))
                  << name << ": channels " << channels << ", stride " << stride << ", size " << size
                  << ", pixel " << i << ", lane " << c << (c >= channels ? " (gap)" : "");
            }
        }
      }
}

// Blocks of output rows (kDepthwiseTiles' rows, where an ISA has them) sum each pixel's taps
// in the order a lone row does: all rows in one call give the bits of one call per row, in
// which no block can form.
TEST(DepthwiseKernels, RowBlocksGiveTheBitsOfRowByRow) {
  for (Isa isa : kernels::depthwise3x3_runnable_isas())
    for (Index channels : {Index(16), Index(35)})
      for (bool symmetric : {false, true})
        for (Index size : {Index(6), Index(9), Index(20)}) {
          const Window2D win = window_2d(size, size + 3, 3, 1, symmetric ? Padding::symmetric(1) : Padding::same());
          const std::vector<float> input = testing::random_values(size * (size + 3) * channels, 31);
          const std::vector<float> weights = testing::random_values(9 * channels, 32);
          const std::vector<float> bias = testing::random_values(channels, 33);
          Depthwise3x3Params p = testing::depthwise_params(input.data(), size, size + 3, channels, weights.data(),
                                                           bias.data(), win, Activation::ReLU6);
          const Index row_floats = win.cols.out * channels;
          std::vector<float> whole(static_cast<std::size_t>(win.rows.out * row_floats));
          std::vector<float> by_row(whole.size());
          p.output = whole.data();
          kernels::depthwise3x3(p, isa);
          for (Index row = 0; row < win.rows.out; ++row) {
            p.output = by_row.data() + row * row_floats, p.row_begin = row, p.row_end = row + 1;
            kernels::depthwise3x3(p, isa);
          }
          for (std::size_t i = 0; i < whole.size(); ++i)
            ASSERT_EQ(std::memcmp(&whole[i], &by_row[i], sizeof(float)), 0)
                << kernels::isa_name(isa) << ": channels " << channels << ", size " << size << ", float " << i << ": "
                << whole[i] << " against " << by_row[i];
        }
}

}  // namespace
}  // namespace mobilenet

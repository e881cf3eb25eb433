// SPDX-License-Identifier: MIT
// Padding maths against a table worked out by hand from each framework's rule.
#include <gtest/gtest.h>

#include "mobilenet/core/padding.hpp"

namespace mobilenet {
namespace {

struct PaddingCase {
  Index in, kernel, stride;
  Padding padding;
  Index out, before, after;
};

std::ostream& operator<<(std::ostream& os, const PaddingCase& c) {
  return os << "in " << c.in << " k " << c.kernel << " s " << c.stride << " " << c.padding.str();
}

class PaddingTable : public ::testing::TestWithParam<PaddingCase> {};

TEST_P(PaddingTable, OutputLengthAndPads) {
  const PaddingCase& c = GetParam();
  const AxisWindow a = window_axis(c.in, c.kernel, c.stride, c.padding);
  EXPECT_EQ(a.out, c.out);
  EXPECT_EQ(a.pad_before, c.before);
  EXPECT_EQ(a.pad_after, c.after);
}

INSTANTIATE_TEST_SUITE_P(
    TensorFlowSame, PaddingTable,
    ::testing::Values(
        // MobileNetV1 at 224: the stride-2 layers pad 0 before and 1 after.
        PaddingCase{224, 3, 2, Padding::same(), 112, 0, 1},
        PaddingCase{112, 3, 2, Padding::same(), 56, 0, 1},
        PaddingCase{14, 3, 2, Padding::same(), 7, 0, 1},
        PaddingCase{112, 3, 1, Padding::same(), 112, 1, 1},
        PaddingCase{7, 3, 1, Padding::same(), 7, 1, 1},
        // Odd inputs at stride 2 pad evenly: (34 - 1) * 2 + 3 - 67 = 2.
        PaddingCase{67, 3, 2, Padding::same(), 34, 1, 1},
        PaddingCase{7, 3, 2, Padding::same(), 4, 1, 1},
        PaddingCase{1, 3, 2, Padding::same(), 1, 1, 1},
        PaddingCase{1, 3, 1, Padding::same(), 1, 1, 1},
        // 5x5 and 1x1 windows, stride 3.
        PaddingCase{10, 5, 1, Padding::same(), 10, 2, 2},
        PaddingCase{10, 5, 3, Padding::same(), 4, 2, 2},
        PaddingCase{11, 5, 3, Padding::same(), 4, 1, 2},
        PaddingCase{9, 1, 2, Padding::same(), 5, 0, 0},
        // Even kernel: the extra zero goes after.
        PaddingCase{8, 2, 1, Padding::same(), 8, 0, 1}));

INSTANTIATE_TEST_SUITE_P(
    Valid, PaddingTable,
    ::testing::Values(PaddingCase{12, 5, 1, Padding::valid(), 8, 0, 0},  // the textbook 12 -> 8
                      PaddingCase{7, 7, 7, Padding::valid(), 1, 0, 0},    // Keras AvgPool(7)
                      PaddingCase{224, 3, 2, Padding::valid(), 111, 0, 0},
                      PaddingCase{5, 3, 2, Padding::valid(), 2, 0, 0},
                      PaddingCase{2, 3, 1, Padding::valid(), 0, 0, 0}));  // window does not fit

INSTANTIATE_TEST_SUITE_P(
    Symmetric, PaddingTable,
    ::testing::Values(PaddingCase{224, 3, 2, Padding::symmetric(1), 112, 1, 1},
                      PaddingCase{67, 3, 2, Padding::symmetric(1), 34, 1, 1},
                      PaddingCase{64, 3, 1, Padding::symmetric(1), 64, 1, 1},
                      PaddingCase{7, 3, 2, Padding::symmetric(1), 4, 1, 1},
                      PaddingCase{6, 5, 2, Padding::symmetric(2), 3, 2, 2},
                      PaddingCase{5, 3, 1, Padding::symmetric(0), 3, 0, 0}));

TEST(Padding, SameMatchesCeilDivisionForEveryLength) {
  for (Index in = 1; in < 300; ++in)
    for (Index stride = 1; stride <= 3; ++stride) {
      const AxisWindow a = window_axis(in, 3, stride, Padding::same());
      EXPECT_EQ(a.out, (in + stride - 1) / stride) << in << " " << stride;
      // Every output's window lies within [-before, in + after).
      EXPECT_LE((a.out - 1) * stride + 3, in + a.pad_before + a.pad_after);
      EXPECT_LE(a.pad_before, a.pad_after);
      EXPECT_LE(a.pad_after - a.pad_before, 1);
    }
}

TEST(Padding, NegativeSymmetricPaddingIsRejected) {
  EXPECT_THROW(Padding::symmetric(-1), ConfigError);
}

TEST(Padding, DegenerateAxesGiveNoOutput) {
  EXPECT_EQ(window_axis(0, 3, 1, Padding::same()).out, 0);
  EXPECT_EQ(window_axis(5, 3, 0, Padding::same()).out, 0);
  EXPECT_EQ(window_axis(5, 0, 1, Padding::valid()).out, 0);
}

}  // namespace
}  // namespace mobilenet

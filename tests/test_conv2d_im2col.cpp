// SPDX-License-Identifier: MIT
// im2col + GEMM convolution against its reference twin, conv2d_reference, over odd shapes,
// strides, paddings, kernel sizes, biases and activations, in float and double.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <random>
#include <vector>

#include "mobilenet/kernels/conv2d_im2col.hpp"
#include "mobilenet/kernels/conv2d_reference.hpp"

namespace mobilenet {
namespace {

struct ConvCase {
  Shape input;
  Index out_channels;
  Index kernel;
  Index stride;
  Padding padding;
  bool bias;
  Activation activation;
};

std::ostream& operator<<(std::ostream& os, const ConvCase& c) {
  return os << "input " << c.input << " -> " << c.out_channels << " channels, " << c.kernel << "x"
            << c.kernel << " stride " << c.stride << ", " << c.padding.str() << " padding, "
            << (c.bias ? "bias" : "no bias") << ", " << activation_name(c.activation);
}

template <typename T>
std::vector<T> random_values(Index count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> v(static_cast<std::size_t>(count));
  for (T& x : v) x = static_cast<T>(dist(rng));
  return v;
}

// Runs both kernels on the same random data. With `reference_gemm`, conv2d_im2col_with runs
// the plain GEMM loop instead of Eigen's product.
template <typename T>
void expect_matches_reference(const ConvCase& c, double tolerance, bool reference_gemm = false) {
  SCOPED_TRACE(::testing::PrintToString(c));
  const Window2D win = window_2d(c.input.h, c.input.w, c.kernel, c.stride, c.padding);
  ASSERT_GT(win.rows.out, 0);
  ASSERT_GT(win.cols.out, 0);
  const Shape out_shape(c.input.n, win.rows.out, win.cols.out, c.out_channels);
  const Index depth = c.kernel * c.kernel * c.input.c;
  const auto in = random_values<T>(c.input.size(), 1);
  const auto weights = random_values<T>(depth * c.out_channels, 2);
  const auto bias = random_values<T>(c.out_channels, 3);
  const T* bias_data = c.bias ? bias.data() : nullptr;

  std::vector<T> want(static_cast<std::size_t>(out_shape.size()));
  kernels::conv2d_reference(in.data(), c.input, weights.data(), bias_data, c.out_channels, win,
                            want.data());
  kernels::activation_inplace(want.data(), out_shape.size(), c.activation);

  // Poison the buffers so a row the kernel forgets to write shows up.
  std::vector<T> columns(static_cast<std::size_t>(kernels::im2col_size(c.input, win)), T(1e30));
  std::vector<T> got(want.size(), T(-1e30));
  if (reference_gemm) {
    kernels::conv2d_im2col_with(in.data(), c.input, win, columns.data(), c.out_channels, got.data(),
                                [&](const T* a, Index rows, T* out) {
                                  kernels::pointwise_reference(a, rows, depth, weights.data(), bias_data,
                                                               c.out_channels, out);
                                  kernels::activation_inplace(out, rows * c.out_channels, c.activation);
                                });
  } else {
    kernels::conv2d_im2col(in.data(), c.input, weights.data(), bias_data, c.out_channels, win,
                           c.activation, columns.data(), got.data());
  }
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], tolerance * (1 + std::abs(want[i]))) << "at element " << i;
  }
}

class Conv2DIm2col : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2DIm2col, MatchesReferenceInFloat) { expect_matches_reference<float>(GetParam(), 1e-5); }
TEST_P(Conv2DIm2col, MatchesReferenceInDouble) { expect_matches_reference<double>(GetParam(), 1e-12); }

// The GEMM is a parameter: the plain pointwise loop gives the same answer.
TEST_P(Conv2DIm2col, MatchesReferenceWithAnyGemm) {
  expect_matches_reference<double>(GetParam(), 1e-12, /*reference_gemm=*/true);
}

const Activation kRelu = Activation::ReLU, kRelu6 = Activation::ReLU6, kNone = Activation::None;

INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2DIm2col,
    ::testing::Values(
        ConvCase{Shape(1, 7, 9, 3), 5, 3, 1, Padding::same(), true, kRelu6},
        ConvCase{Shape(2, 8, 8, 4), 7, 3, 2, Padding::same(), false, kRelu},  // asymmetric SAME
        ConvCase{Shape(1, 9, 7, 5), 3, 3, 2, Padding::symmetric(1), true, kNone},
        ConvCase{Shape(1, 12, 12, 3), 16, 5, 1, Padding::valid(), false, kNone},  // textbook, fewer outputs
        ConvCase{Shape(1, 11, 13, 2), 9, 5, 3, Padding::symmetric(2), true, kRelu6},
        ConvCase{Shape(1, 6, 5, 8), 8, 1, 1, Padding::valid(), true, kRelu},  // no copy needed
        ConvCase{Shape(1, 7, 7, 8), 4, 1, 2, Padding::same(), false, kNone},  // 1x1, strided
        ConvCase{Shape(1, 5, 5, 3), 4, 7, 1, Padding::same(), true, kRelu},   // kernel > input
        ConvCase{Shape(3, 4, 5, 17), 33, 3, 1, Padding::same(), true, kRelu6},
        ConvCase{Shape(1, 10, 3, 1), 1, 2, 2, Padding::valid(), false, kNone},  // even kernel
        ConvCase{Shape(1, 3, 3, 2), 2, 3, 1, Padding::symmetric(3), true, kNone}  // rows all padding
        ));

// A case worked by hand: the rows of im2col are the 2x2 receptive fields.
TEST(Im2col, RowsAreReceptiveFields) {
  const std::vector<float> in = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // 3 x 3 x 1
  const Shape shape(1, 3, 3, 1);
  const Window2D win = window_2d(3, 3, 2, 1, Padding::valid());
  ASSERT_EQ(kernels::im2col_size(shape, win), 16);
  std::vector<float> columns(16);
  kernels::im2col(in.data(), shape, win, columns.data());
  EXPECT_EQ(columns, (std::vector<float>{1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9}));

  // SAME at stride 2 on 3x3 with a 2x2 window: out 2x2, one zero column/row after.
  const Window2D same = window_2d(3, 3, 2, 2, Padding::same());
  std::vector<float> padded(static_cast<std::size_t>(kernels::im2col_size(shape, same)));
  kernels::im2col(in.data(), shape, same, padded.data());
  EXPECT_EQ(padded, (std::vector<float>{1, 2, 4, 5, 3, 0, 6, 0, 7, 8, 0, 0, 9, 0, 0, 0}));
}

}  // namespace
}  // namespace mobilenet

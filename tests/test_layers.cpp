// SPDX-License-Identifier: MIT
// Each layer against tiny cases worked by hand (values in the comments), in float and double.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "mobilenet/mobilenet.hpp"
#include "mobilenet/kernels/pointwise.hpp"  // the Eigen product and its reference twin

namespace mobilenet {
namespace {

// A 1 x h x w x 1 tensor holding 1, 2, 3, ... in reading order.
template <typename T>
Tensor<T> counting(Index h, Index w, Index c = 1) {
  Tensor<T> t(Shape(1, h, w, c));
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = static_cast<T>(i + 1);
  return t;
}

template <typename T>
std::vector<T> values(const Tensor<T>& t) {
  return t.to_vector();
}

template <typename T>
class LayerTest : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(LayerTest, Scalars);

//  1 2 3
//  4 5 6      an all-ones 3x3 kernel sums each pixel's neighbourhood
//  7 8 9
TYPED_TEST(LayerTest, Conv2DSameStride1SumsNeighbourhoods) {
  using T = TypeParam;
  Conv2D<T> conv("conv", {1, 1, 3, 1, Padding::same(), false});
  conv.weight().values().setOnes();
  const Tensor<T> out = conv(counting<T>(3, 3));
  EXPECT_EQ(out.shape(), Shape(1, 3, 3, 1));
  EXPECT_EQ(values(out), (std::vector<T>{12, 21, 16, 27, 45, 33, 24, 39, 28}));
}

TYPED_TEST(LayerTest, Conv2DAddsBiasWhenEnabled) {
  using T = TypeParam;
  Conv2D<T> conv("conv", {1, 1, 3, 1, Padding::same(), true});
  conv.weight().values().setOnes();
  conv.bias().values()[0] = T(0.5);
  EXPECT_EQ(conv.parameter_count(), 10);
  EXPECT_EQ(values(conv(counting<T>(3, 3))),
            (std::vector<T>{12.5, 21.5, 16.5, 27.5, 45.5, 33.5, 24.5, 39.5, 28.5}));
}

// Convolution is cross-correlation: a kernel whose only tap is its top-left corner copies
// the pixel up and to the left, and reads zeros from the padding.
TYPED_TEST(LayerTest, Conv2DIsNotFlipped) {
  using T = TypeParam;
  Conv2D<T> conv("conv", {1, 1, 3, 1, Padding::same(), false});
  conv.weight().values()[0] = 1;  // (ky, kx) = (0, 0)
  EXPECT_EQ(values(conv(counting<T>(3, 3))), (std::vector<T>{0, 0, 0, 0, 1, 2, 0, 4, 5}));
}

//  1  2  3  4
//  5  6  7  8    stride 2 on an even input
//  9 10 11 12
// 13 14 15 16
TYPED_TEST(LayerTest, Conv2DStride2SamePadsOnlyAfter) {
  using T = TypeParam;
  Conv2D<T> conv("conv", {1, 1, 3, 2, Padding::same(), false});
  conv.weight().values().setOnes();
  // windows: rows/cols {0,1,2} and {2,3,pad}
  EXPECT_EQ(values(conv(counting<T>(4, 4))), (std::vector<T>{54, 45, 72, 54}));
}

TYPED_TEST(LayerTest, Conv2DStride2SymmetricPadsBothSides) {
  using T = TypeParam;
  Conv2D<T> conv("conv", {1, 1, 3, 2, Padding::symmetric(1), false});
  conv.weight().values().setOnes();
  // windows: rows/cols {pad,0,1} and {1,2,3}
  EXPECT_EQ(values(conv(counting<T>(4, 4))), (std::vector<T>{14, 30, 57, 99}));
}

TYPED_TEST(LayerTest, Conv2DValidHasNoPadding) {
  using T = TypeParam;
  Conv2D<T> conv("conv", {1, 1, 3, 1, Padding::valid(), false});
  conv.weight().values().setOnes();
  EXPECT_EQ(values(conv(counting<T>(4, 4))), (std::vector<T>{54, 63, 90, 99}));
}

// Odd height and width, stride 2: 5 x 3 -> 3 x 2 with SAME. Rows need (3-1)*2+3-5 = 2 pads
// and columns (2-1)*2+3-3 = 2, so both split 1 before, 1 after.
TYPED_TEST(LayerTest, Conv2DOddSizesStride2) {
  using T = TypeParam;
  Conv2D<T> conv("conv", {1, 1, 3, 2, Padding::same(), false});
  conv.weight().values().setOnes();
  //  1  2  3
  //  4  5  6
  //  7  8  9
  // 10 11 12
  // 13 14 15
  const Tensor<T> out = conv(counting<T>(5, 3));
  EXPECT_EQ(out.shape(), Shape(1, 3, 2, 1));
  // row windows {-1,0,1}, {1,2,3}, {3,4,5}; col windows {-1,0,1}, {1,2,3}
  EXPECT_EQ(values(out), (std::vector<T>{1 + 2 + 4 + 5, 2 + 3 + 5 + 6,
                                         4 + 5 + 7 + 8 + 10 + 11, 5 + 6 + 8 + 9 + 11 + 12,
                                         10 + 11 + 13 + 14, 11 + 12 + 14 + 15}));
}

// HWIO layout: weight[0][0][ci][co]. With W = [[1, 2], [3, 4]] and x = (1, 10):
// out0 = 1*1 + 10*3 = 31, out1 = 1*2 + 10*4 = 42.
TYPED_TEST(LayerTest, Conv2DMixesChannelsInHwioLayout) {
  using T = TypeParam;
  Conv2D<T> conv("conv", {2, 2, 1, 1, Padding::valid(), false});
  conv.weight().assign({1, 2, 3, 4}, conv.label());
  Tensor<T> x(Shape(1, 1, 1, 2), std::vector<T>{1, 10});
  EXPECT_EQ(values(conv(x)), (std::vector<T>{31, 42}));
  EXPECT_EQ(conv.multiply_adds(x.shape()), 4);
}

// Channel 0 filters with all ones, channel 1 with a centre tap of 2: channels never mix.
TYPED_TEST(LayerTest, DepthwiseFiltersEachChannelAlone) {
  using T = TypeParam;
  DepthwiseConv2D<T> dw("dw", {2, 3, 1, Padding::same(), true});
  auto& w = dw.weight().values();  // [ky][kx][c]
  for (Index tap = 0; tap < 9; ++tap) w[tap * 2 + 0] = 1;
  w[4 * 2 + 1] = 2;
  dw.bias().values() << T(0), T(-1);
  Tensor<T> x(Shape(1, 3, 3, 2));
  for (Index p = 0; p < 9; ++p) {
    x.data()[2 * p] = static_cast<T>(p + 1);
    x.data()[2 * p + 1] = static_cast<T>(10 * (p + 1));
  }
  const Tensor<T> out = dw(x);
  const std::vector<T> sums{12, 21, 16, 27, 45, 33, 24, 39, 28};
  for (Index p = 0; p < 9; ++p) {
    EXPECT_EQ(out.data()[2 * p], sums[p]) << "pixel " << p;
    EXPECT_EQ(out.data()[2 * p + 1], 20 * (p + 1) - 1) << "pixel " << p;
  }
  EXPECT_EQ(dw.parameter_count(), 2 * 9 + 2);
  EXPECT_EQ(dw.multiply_adds(x.shape()), 9 * 2 * 9);
}

TYPED_TEST(LayerTest, DepthwiseStride2BothPaddings) {
  using T = TypeParam;
  for (const auto& [padding, expected] :
       {std::make_pair(Padding::same(), std::vector<T>{54, 45, 72, 54}),
        std::make_pair(Padding::symmetric(1), std::vector<T>{14, 30, 57, 99})}) {
    DepthwiseConv2D<T> dw("dw", {1, 3, 2, padding, false});
    dw.weight().values().setOnes();
    EXPECT_EQ(values(dw(counting<T>(4, 4))), expected) << padding.str();
  }
}

// rows: (1, 2, 3) and (0, -1, 0.5); W (3 x 2) = [[1, 0], [0, 1], [1, 1]]; bias (10, 20).
TYPED_TEST(LayerTest, PointwiseIsAMatrixProductPerPixel) {
  using T = TypeParam;
  Pointwise<T> pw("pw", {3, 2, true});
  pw.weight().assign({1, 0, 0, 1, 1, 1}, pw.label());
  pw.bias().assign({10, 20}, pw.label());
  Tensor<T> x(Shape(1, 1, 2, 3), std::vector<T>{1, 2, 3, 0, -1, 0.5});
  EXPECT_EQ(values(pw(x)), (std::vector<T>{1 + 3 + 10, 2 + 3 + 20, 0 + 0.5 + 10, -1 + 0.5 + 20}));
  EXPECT_EQ(pw.multiply_adds(x.shape()), 2 * 3 * 2);
  EXPECT_EQ(pw.parameter_count(), 8);
}

// The layers' product (kernels::pointwise_eigen_on_stack, in blocks across every dimension once Cin
// passes 256 and Cout or rows pass the stack's block) and kernels::pointwise_eigen against
// the plain loops.
TYPED_TEST(LayerTest, PointwiseProductsMatchTheReferenceTwin) {
  using T = TypeParam;
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> dist(-1, 1);
  for (Index rows : {7, 140})
    for (Index cin : {1, 3, 16, 17, 300})
      for (Index cout : {1, 5, 32, 33, 150}) {
        std::vector<T> x(rows * cin), w(cin * cout), b(cout), fast(rows * cout), blocked(rows * cout),
            slow(rows * cout);
        for (auto* v : {&x, &w, &b})
          for (auto& e : *v) e = static_cast<T>(dist(rng));
        const T* bias = cout % 2 ? b.data() : nullptr;  // with and without a bias
        kernels::pointwise_eigen(x.data(), rows, cin, w.data(), bias, cout, fast.data());
        kernels::pointwise_eigen_on_stack(x.data(), rows, cin, w.data(), bias, cout, blocked.data());
        kernels::pointwise_reference(x.data(), rows, cin, w.data(), bias, cout, slow.data());
        const double tolerance = 1e-5 * double(std::max<Index>(1, cin / 16));
        for (std::size_t i = 0; i < fast.size(); ++i) {
          ASSERT_NEAR(fast[i], slow[i], tolerance) << "rows " << rows << " cin " << cin << " cout " << cout << " at " << i;
          ASSERT_NEAR(blocked[i], slow[i], tolerance) << "rows " << rows << " cin " << cin << " cout " << cout << " at " << i;
        }
      }
}

// gamma 2, beta 1, mean 3, variance 4, epsilon 0: y = 2 (x - 3) / 2 + 1 = x - 2.
TYPED_TEST(LayerTest, BatchNormInferenceForm) {
  using T = TypeParam;
  BatchNorm<T> bn("bn", {2, 0.0});
  bn.gamma().assign({2, 1}, bn.label());
  bn.beta().assign({1, 0}, bn.label());
  bn.moving_mean().assign({3, 0}, bn.label());
  bn.moving_variance().assign({4, 1}, bn.label());
  Tensor<T> x(Shape(1, 1, 2, 2), std::vector<T>{5, 7, -1, 0.25});
  EXPECT_EQ(values(bn(x)), (std::vector<T>{3, 7, -3, 0.25}));
  EXPECT_EQ(bn.parameter_count(), 8);
}

TYPED_TEST(LayerTest, BatchNormEpsilonEntersUnderTheRoot) {
  using T = TypeParam;
  BatchNorm<T> bn("bn", {1, 1e-3});
  bn.moving_variance().assign({0.5}, bn.label());
  Tensor<T> x(Shape(1, 1, 1, 1), std::vector<T>{1});
  EXPECT_NEAR(bn(x).data()[0], 1.0 / std::sqrt(0.501), 1e-7);
}

// More channels than BatchNorm's stack group of 64: every channel gets its own affine map.
TYPED_TEST(LayerTest, BatchNormManyChannelsMatchesTheFormula) {
  using T = TypeParam;
  const Index channels = 150;
  BatchNorm<T> bn("bn", {channels, 1e-3});
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> dist(0.1, 2.0);
  for (auto& p : bn.parameters())
    for (Index c = 0; c < channels; ++c) p.values()[c] = static_cast<T>(dist(rng));
  Tensor<T> x(Shape(2, 3, 1, channels));
  x.set_random();
  const Tensor<T> y = bn(x);
  for (Index n = 0; n < 2; ++n)
    for (Index h = 0; h < 3; ++h)
      for (Index c = 0; c < channels; ++c) {
        const double expected = bn.gamma().values()[c] * (x(n, h, 0, c) - bn.moving_mean().values()[c]) /
                                    std::sqrt(double(bn.moving_variance().values()[c]) + 1e-3) +
                                bn.beta().values()[c];
        ASSERT_NEAR(y(n, h, 0, c), expected, 1e-5) << "channel " << c;
      }
}

TYPED_TEST(LayerTest, ReLUAndReLU6Clamp) {
  using T = TypeParam;
  Tensor<T> x(Shape(1, 1, 1, 5), std::vector<T>{-1, 0, 3, 6, 7.5});
  EXPECT_EQ(values(ReLU<T>("relu")(x)), (std::vector<T>{0, 0, 3, 6, 7.5}));
  EXPECT_EQ(values(ReLU6<T>("relu6")(x)), (std::vector<T>{0, 0, 3, 6, 6}));
  EXPECT_STREQ(ReLU6<T>("r").type_name(), "ReLU6");
}

TYPED_TEST(LayerTest, AvgPoolWindowsAndGlobal) {
  using T = TypeParam;
  AvgPool<T> pool("pool", {2, 2});
  // 4x4 counting input, 2x2 blocks: (1+2+5+6)/4 = 3.5, 5.5, 11.5, 13.5
  EXPECT_EQ(values(pool(counting<T>(4, 4))), (std::vector<T>{3.5, 5.5, 11.5, 13.5}));
  const Tensor<T> g = AvgPool<T>::global("gap")(counting<T>(3, 3, 2));
  EXPECT_EQ(g.shape(), Shape(1, 1, 1, 2));
  EXPECT_EQ(values(g), (std::vector<T>{9, 10}));  // mean of 1,3,...,17 and of 2,4,...,18
}

// SAME pooling leaves padded taps out of the mean: 3x3 input, 2x2 window, stride 2 -> the
// bottom-right window holds only the pixel 9.
TYPED_TEST(LayerTest, AvgPoolSameAveragesOnlyRealPixels) {
  using T = TypeParam;
  AvgPool<T> pool("pool", {2, 2, Padding::same()});
  EXPECT_EQ(values(pool(counting<T>(3, 3))), (std::vector<T>{3, 4.5, 7.5, 9}));
}

// 2 x 2 x 1 flattened to 4 features -> 2 outputs; then softmax of (0, ln 3) = (1/4, 3/4).
TYPED_TEST(LayerTest, DenseFlattensAndOptionallySoftmaxes) {
  using T = TypeParam;
  Dense<T> dense("fc", {4, 2, true, false});
  dense.weight().assign({1, 0, 0, 1, 1, 0, 0, 1}, dense.label());
  dense.bias().assign({0, 1}, dense.label());
  const Tensor<T> out = dense(counting<T>(2, 2));
  EXPECT_EQ(out.shape(), Shape(1, 1, 1, 2));
  EXPECT_EQ(values(out), (std::vector<T>{1 + 3, 2 + 4 + 1}));
  EXPECT_EQ(dense.multiply_adds(Shape(1, 2, 2, 1)), 8);

  Dense<T> soft("fc", {1, 2, true, true});
  soft.weight().assign({0, 1}, soft.label());
  soft.bias().assign({0, 0}, soft.label());
  Tensor<T> x(Shape(1, 1, 1, 1), std::vector<T>{static_cast<T>(std::log(3.0))});
  const Tensor<T> p = soft(x);
  EXPECT_NEAR(p.data()[0], 0.25, 1e-6);
  EXPECT_NEAR(p.data()[1], 0.75, 1e-6);
}

TYPED_TEST(LayerTest, DenseWithoutBiasHasNoBiasParameter) {
  using T = TypeParam;
  Dense<T> dense("fc", {3, 2, false, false});
  EXPECT_EQ(dense.parameters().size(), 1u);
  EXPECT_EQ(dense.parameter_count(), 6);
}

TYPED_TEST(LayerTest, SoftmaxSurvivesHugeLogits) {
  using T = TypeParam;
  std::vector<T> row{1000, 1000, -1000};
  kernels::softmax_rows_inplace(row.data(), 1, 3);
  EXPECT_NEAR(row[0], 0.5, 1e-6);
  EXPECT_NEAR(row[1], 0.5, 1e-6);
  EXPECT_EQ(row[2], 0);
}

// A DSConv block equals its five layers run one after another.
TYPED_TEST(LayerTest, DSConvComposesItsLayers) {
  using T = TypeParam;
  DSConv<T> block("b", {3, 4, 2, Padding::same(), Activation::ReLU6, true, 1e-3});
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> dist(-2, 2);
  block.for_each_layer([&](auto& layer) {
    for (auto& p : layer.parameters())
      for (Index i = 0; i < p.count(); ++i)
        p.values()[i] = static_cast<T>(p.name() == "moving_variance" ? 1 + dist(rng) / 4 : dist(rng));
  });
  Tensor<T> x(Shape(2, 5, 6, 3));
  x.set_random();
  x.storage() *= T(4);
  const Tensor<T> y = block(x);
  EXPECT_EQ(y.shape(), Shape(2, 3, 3, 4));
  const Tensor<T> expected = ReLU6<T>("r")((*block.pointwise_bn)(block.pointwise(
      ReLU6<T>("r")((*block.depthwise_bn)(block.depthwise(x))))));
  for (Index i = 0; i < y.size(); ++i) ASSERT_NEAR(y.data()[i], expected.data()[i], 1e-6);
  EXPECT_EQ(block.parameter_count(), (9 * 3 + 3) + 4 * 3 + (3 * 4 + 4) + 4 * 4);
  EXPECT_EQ(block.multiply_adds(x.shape()), 2 * (3 * 3 * 3 * 9 + 3 * 3 * 3 * 4));
}

}  // namespace
}  // namespace mobilenet

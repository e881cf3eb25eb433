// SPDX-License-Identifier: MIT
// Bad input raises an exception naming the layer, what was expected and what was found.
#include <gtest/gtest.h>

#include "error_matchers.hpp"
#include "mobilenet/mobilenet.hpp"

namespace mobilenet {
namespace {

TEST(Errors, ImpossibleLayerParameters) {
  EXPECT_THROW_MESSAGE((Conv2D<float>("stem.conv", {3, 0, 3, 2})), ConfigError,
                       {"layer 'stem.conv' (Conv2D)", "out_channels must be >= 1, got 0"});
  EXPECT_THROW_MESSAGE((Conv2D<float>("c", {3, 8, 3, 0})), ConfigError, {"stride must be >= 1, got 0"});
  EXPECT_THROW_MESSAGE((Conv2D<float>("c", {-2, 8, 3, 1})), ConfigError, {"in_channels", "got -2"});
  EXPECT_THROW_MESSAGE((DepthwiseConv2D<float>("dw", {8, 0, 1})), ConfigError,
                       {"layer 'dw' (DepthwiseConv2D)", "kernel must be >= 1, got 0"});
  EXPECT_THROW_MESSAGE((Pointwise<float>("pw", {0, 8})), ConfigError, {"'pw' (Pointwise)", "in_channels"});
  EXPECT_THROW_MESSAGE((BatchNorm<float>("bn", {8, -1.0})), ConfigError, {"'bn' (BatchNorm)", "epsilon"});
  EXPECT_THROW_MESSAGE((BatchNorm<float>("bn", {0})), ConfigError, {"channels must be >= 1"});
  EXPECT_THROW_MESSAGE((AvgPool<float>("pool", {-1})), ConfigError, {"'pool' (AvgPool)", "kernel"});
  EXPECT_THROW_MESSAGE((Dense<float>("fc", {1024, 0})), ConfigError, {"'fc' (Dense)", "out_features"});
}

TEST(Errors, WrongChannelCountNamesLayerAndShapes) {
  Conv2D<float> conv("stem.conv", {3, 8, 3, 2});
  Tensor<float> gray(Shape(1, 32, 32, 1));
  EXPECT_THROW_MESSAGE(conv(gray), ShapeError,
                       {"layer 'stem.conv' (Conv2D)", "expected an input with 3 channels",
                        "[1, 32, 32, 1]"});
  DepthwiseConv2D<float> dw("dsconv4.depthwise", {128, 3, 2});
  EXPECT_THROW_MESSAGE(dw(Tensor<float>(Shape(1, 28, 28, 64))), ShapeError,
                       {"'dsconv4.depthwise'", "128 channels", "[1, 28, 28, 64]"});
  Pointwise<double> pw("dsconv4.pointwise", {128, 256});
  EXPECT_THROW_MESSAGE(pw(Tensor<double>(Shape(2, 4, 4, 127))), ShapeError,
                       {"'dsconv4.pointwise'", "128 channels", "[2, 4, 4, 127]"});
  BatchNorm<float> bn("bn", {16});
  EXPECT_THROW_MESSAGE(bn(Tensor<float>(Shape(1, 2, 2, 8))), ShapeError, {"'bn'", "16 channels"});
  Dense<float> fc("classifier", {1024, 10});
  EXPECT_THROW_MESSAGE(fc(Tensor<float>(Shape(1, 7, 7, 1024))), ShapeError,
                       {"'classifier' (Dense)", "expected 1024 features", "[1, 7, 7, 1024]",
                        "50176 features"});
}

TEST(Errors, InputSmallerThanAValidWindow) {
  Conv2D<float> conv("c", {1, 1, 5, 1, Padding::valid()});
  EXPECT_THROW_MESSAGE(conv(Tensor<float>(Shape(1, 4, 9, 1))), ShapeError,
                       {"'c' (Conv2D)", "[1, 4, 9, 1]", "smaller than its 5x5 window", "valid"});
  AvgPool<float> pool("pool", {7, 7});
  EXPECT_THROW_MESSAGE(pool(Tensor<float>(Shape(1, 4, 4, 8))), ShapeError, {"'pool'", "7x7 window"});
}

TEST(Errors, WrongOutputTensorIsRejectedBeforeWriting) {
  Pointwise<float> pw("pw", {4, 8});
  Tensor<float> in(Shape(1, 3, 3, 4), 1.0f);
  Tensor<float> out(Shape(1, 3, 3, 7), -1.0f);
  EXPECT_THROW_MESSAGE(pw.forward(in.view(), out.view()), ShapeError,
                       {"'pw' (Pointwise)", "should have shape [1, 3, 3, 8]", "got [1, 3, 3, 7]"});
  EXPECT_EQ(out.storage().maxCoeff(), -1.0f);  // untouched
}

TEST(Errors, EmptyOrNegativeShapes) {
  ReLU<float> relu("relu");
  EXPECT_THROW_MESSAGE(relu.output_shape(Shape(1, 0, 4, 4)), ShapeError, {"'relu' (ReLU)", "positive"});
  EXPECT_THROW(Pointwise<float>("pw", {4, 4}).output_shape(Shape(-1, 2, 2, 4)), ShapeError);
}

TEST(Errors, ParameterAssignmentChecksShape) {
  Conv2D<float> conv("stem.conv", {3, 8, 3, 2});
  std::vector<float> wrong(3 * 3 * 3 * 7);
  EXPECT_THROW_MESSAGE(conv.weight().assign({3, 3, 3, 7}, wrong.data(), conv.label()), ShapeError,
                       {"'stem.conv'", "parameter 'weight' expects shape [3, 3, 3, 8]", "got [3, 3, 3, 7]"});
  EXPECT_THROW_MESSAGE(conv.weight().assign(std::vector<float>(5), conv.label()), ShapeError,
                       {"needs 216 values, got 5"});
  EXPECT_THROW_MESSAGE(conv.parameter("gamma"), Error, {"'stem.conv'", "no parameter 'gamma'"});
}

TEST(Errors, BatchNormStatisticsThatWouldGiveNaN) {
  BatchNorm<float> bn("dsconv2.pointwise_bn", {4, 1e-3});
  bn.moving_variance().values()[2] = -0.5f;
  EXPECT_THROW_MESSAGE(bn.validate(), ConfigError,
                       {"'dsconv2.pointwise_bn'", "moving_variance[2]", "must be finite and > 0"});
  bn.moving_variance().values()[2] = 1.0f;
  bn.gamma().values()[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW_MESSAGE(bn.validate(), ConfigError, {"gamma[1] is not finite"});
}

TEST(Errors, ImpossibleModelConfigurations) {
  MobileNetV1Config c;
  c.alpha = 0;
  EXPECT_THROW_MESSAGE(MobileNetV1<float>{c}, ConfigError, {"alpha must be in (0, 64], got 0"});
  c = {};
  c.alpha = std::nan("");
  EXPECT_THROW(MobileNetV1<float>{c}, ConfigError);
  c = {};
  c.resolution = 0;
  EXPECT_THROW_MESSAGE(MobileNetV1<float>{c}, ConfigError, {"resolution must be >= 1, got 0"});
  c = {};
  c.num_classes = -3;
  EXPECT_THROW_MESSAGE(MobileNetV1<float>{c}, ConfigError, {"num_classes"});
  // AvgPool 7 at 128 (a 4x4 map) cannot work: the window does not fit.
  c = MobileNetV1Config::keras_seed();
  c.resolution = 128;
  EXPECT_THROW_MESSAGE(MobileNetV1<float>{c}, ShapeError, {"'pool' (AvgPool)", "[1, 4, 4, 1024]"});
  // A 1x1-conv head needs a 1x1 map after pooling.
  c = {};
  c.resolution = 448;
  c.pool_size = 7;
  EXPECT_THROW_MESSAGE(MobileNetV1<float>{c}, ConfigError, {"1x1-convolution head", "Head::Dense"});
  // VALID padding on a tiny input runs out of pixels and says where.
  c = {};
  c.padding = Padding::valid();
  c.resolution = 32;
  EXPECT_THROW_MESSAGE(MobileNetV1<float>{c}, ShapeError, {"smaller than its 3x3 window"});
}

TEST(Errors, ModelRejectsWrongInputAndOutputShapes) {
  MobileNetV1Config c;
  c.alpha = 0.25;
  c.resolution = 32;
  c.num_classes = 5;
  const MobileNetV1<float> model(c);
  EXPECT_THROW_MESSAGE(model.predict(Tensor<float>(Shape(1, 32, 32, 1))), ShapeError,
                       {"mobilenet_v1_0.25_32", "expected input [N, 32, 32, 3]", "got [1, 32, 32, 1]"});
  EXPECT_THROW_MESSAGE(model.predict(Tensor<float>(Shape(1, 33, 32, 3))), ShapeError, {"[1, 33, 32, 3]"});
  Tensor<float> in(model.input_shape(2), 0.0f);
  Tensor<float> out(Shape(2, 1, 1, 4));
  Workspace<float> ws;
  EXPECT_THROW_MESSAGE(model.predict(in.view(), out.view(), ws), ShapeError,
                       {"output tensor should have shape [2, 1, 1, 5]", "got [2, 1, 1, 4]"});
  // The names in these messages are built only when a check fails (test_allocations.cpp).
  EXPECT_THROW_MESSAGE(model.predict(TensorView<const float>(in.data(), Shape(0, 32, 32, 3)), out.view(), ws),
                       ShapeError, {"mobilenet_v1_0.25_32: input", "must be positive", "[0, 32, 32, 3]"});
  const DSConv<float>& block = model.blocks[0];
  Tensor<float> x(Shape(1, 8, 8, block.options().in_channels)), mid(Shape(1, 8, 8, 1));
  Tensor<float> y(block.output_shape(x.shape()));
  EXPECT_THROW_MESSAGE(block.forward(x.view(), mid.view(), y.view()), ShapeError,
                       {"layer 'dsconv1.depthwise' (DepthwiseConv2D): output tensor", "got [1, 8, 8, 1]"});
}

}  // namespace
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <thread>

#include "mobilenet/mobilenet.hpp"

namespace mobilenet {
namespace {

MobileNetV1Config small_config() {
  MobileNetV1Config c;
  c.alpha = 0.25;
  c.resolution = 48;
  c.num_classes = 12;
  return c;
}

// Table 1 is typed once, as kMobileNetV1Table; the paper's totals (test_accounting.cpp)
// check its rows. Here: the model chains them, each block's input the previous output.
TEST(MobileNetV1, BlocksFollowTable1) {
  const MobileNetV1<float> model;
  ASSERT_EQ(model.blocks.size(), kMobileNetV1Table.size());
  Index in = kStemChannels;
  for (std::size_t i = 0; i < kMobileNetV1Table.size(); ++i) {
    const DSConvOptions& o = model.blocks[i].options();
    EXPECT_EQ(o.stride, kMobileNetV1Table[i].stride) << "block " << i + 1;
    EXPECT_EQ(o.in_channels, in) << "block " << i + 1;
    EXPECT_EQ(o.out_channels, kMobileNetV1Table[i].out_channels) << "block " << i + 1;
    in = o.out_channels;
  }
  EXPECT_EQ(model.stem.options().stride, 2);
  EXPECT_EQ(model.stem.options().out_channels, 32);
  EXPECT_EQ(model.feature_map_shape(), Shape(1, 7, 7, 1024));
  EXPECT_EQ(model.features_shape(), Shape(1, 1, 1, 1024));
}

TEST(MobileNetV1, WidthMultiplierScalesChannelsLikeTfSlim) {
  EXPECT_EQ(scaled_channels(32, 0.75, 8), 24);
  EXPECT_EQ(scaled_channels(1024, 0.75, 8), 768);
  EXPECT_EQ(scaled_channels(32, 0.25, 8), 8);
  EXPECT_EQ(scaled_channels(32, 0.125, 8), 8);  // TF-slim's floor
  EXPECT_EQ(scaled_channels(32, 0.125, 1), 4);  // Keras: no floor
  EXPECT_EQ(scaled_channels(64, 0.35, 8), 22);  // int() truncates
  MobileNetV1Config c;
  c.alpha = 0.5;
  c.resolution = 160;
  const MobileNetV1<float> half(c);
  EXPECT_EQ(half.feature_map_shape(), Shape(1, 5, 5, 512));
  EXPECT_EQ(half.blocks[0].options().in_channels, 16);
}

TEST(MobileNetV1, ProbabilitiesSumToOneAndLogitsModeSkipsSoftmax) {
  MobileNetV1Config c = small_config();
  MobileNetV1<float> probs(c);
  probs.randomize(11);
  c.softmax = false;
  MobileNetV1<float> logits(c);
  logits.randomize(11);
  Tensor<float> x(probs.input_shape(3));
  x.set_random();
  const Tensor<float> p = probs.predict(x), z = logits.predict(x);
  ASSERT_EQ(p.shape(), Shape(3, 1, 1, 12));
  for (Index n = 0; n < 3; ++n) {
    double sum = 0, zsum = 0;
    for (Index k = 0; k < 12; ++k) sum += p(n, 0, 0, k), zsum += std::exp(z(n, 0, 0, k));
    EXPECT_NEAR(sum, 1.0, 1e-5);
    for (Index k = 0; k < 12; ++k) EXPECT_NEAR(p(n, 0, 0, k), std::exp(z(n, 0, 0, k)) / zsum, 1e-5);
  }
}

TEST(MobileNetV1, BatchEqualsImagesOneByOne) {
  MobileNetV1<double> model(small_config());
  model.randomize(2);
  Tensor<double> batch(model.input_shape(3));
  batch.set_random();
  const Tensor<double> together = model.predict(batch);
  for (Index n = 0; n < 3; ++n) {
    Tensor<double> one(model.input_shape(1));
    std::copy(batch.view().batch(n).data(), batch.view().batch(n).data() + one.size(), one.data());
    const Tensor<double> alone = model.predict(one);
    for (Index k = 0; k < 12; ++k) EXPECT_NEAR(alone(0, 0, 0, k), together(n, 0, 0, k), 1e-12);
  }
}

TEST(MobileNetV1, WorkspaceIsReusedWithoutReallocation) {
  MobileNetV1<float> model(small_config());
  model.randomize(3);
  Tensor<float> x(model.input_shape(2));
  x.set_random();
  Tensor<float> out(model.output_shape(2));
  Workspace<float> ws;
  model.predict(x.view(), out.view(), ws);
  const float* ping = ws.ping();
  const Index bytes = ws.bytes();
  EXPECT_EQ(bytes, model.workspace_bytes(2));
  const std::vector<float> first = out.to_vector();
  model.predict(x.view(), out.view(), ws);
  EXPECT_EQ(ws.ping(), ping);
  EXPECT_EQ(ws.bytes(), bytes);
  EXPECT_EQ(out.to_vector(), first);
  // A smaller batch fits in the same buffers.
  Tensor<float> one_out(model.output_shape(1));
  model.predict(x.view().batch(0), one_out.view(), ws);
  EXPECT_EQ(ws.ping(), ping);
}

// The full 224 model needs two buffers of the largest activation (112 x 112 x 64 floats).
TEST(MobileNetV1, WorkspaceSizeAt224) {
  const MobileNetV1<float> model;
  EXPECT_EQ(model.workspace_bytes(1), (2 * 112 * 112 * 64 + 1024) * 4);
}

TEST(MobileNetV1, ConcurrentPredictionsAreIdentical) {
  MobileNetV1<float> model(small_config());
  model.randomize(4);
  Tensor<float> x(model.input_shape(2));
  x.set_random();
  const std::vector<float> expected = model.predict(x).to_vector();
  std::vector<std::vector<float>> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results)
    threads.emplace_back([&model, &x, &r] {
      Workspace<float> ws;
      Tensor<float> out(model.output_shape(2));
      for (int rep = 0; rep < 3; ++rep) model.predict(x.view(), out.view(), ws);
      r = out.to_vector();
    });
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, expected);
}

TEST(MobileNetV1, DenseAndConvHeadsAgreeOnTheSameWeights) {
  MobileNetV1Config c = small_config();
  MobileNetV1<double> conv_head(c);
  conv_head.randomize(9);
  c.head = Head::Dense;
  MobileNetV1<double> dense_head(c);
  // Same names, same shapes: copy parameter by parameter.
  std::vector<const Parameter<double>*> source;
  conv_head.for_each_parameter([&](const std::string&, const Parameter<double>& p) { source.push_back(&p); });
  std::size_t i = 0;
  dense_head.for_each_parameter([&](const std::string&, Parameter<double>& p) {
    p.assign(source[i]->shape(), source[i]->data(), "copy");
    ++i;
  });
  ASSERT_EQ(i, source.size());
  Tensor<double> x(conv_head.input_shape(2));
  x.set_random();
  const Tensor<double> a = conv_head.predict(x), b = dense_head.predict(x);
  for (Index k = 0; k < a.size(); ++k) EXPECT_NEAR(a.data()[k], b.data()[k], 1e-12);
  EXPECT_TRUE(dense_head.has_dense_head());
  EXPECT_FALSE(conv_head.has_dense_head());
}

TEST(MobileNetV1, FloatAgreesWithDouble) {
  MobileNetV1Config c = small_config();
  c.softmax = false;
  MobileNetV1<double> d(c);
  d.randomize(21);
  MobileNetV1<float> f(c);
  f.randomize(21);
  Tensor<double> x(d.input_shape(1));
  x.set_random();
  const Tensor<double> zd = d.predict(x);
  const Tensor<float> zf = f.predict(x.cast<float>());
  for (Index k = 0; k < zd.size(); ++k) EXPECT_NEAR(zf.data()[k], zd.data()[k], 1e-3 + 1e-4 * std::abs(zd.data()[k]));
}

TEST(MobileNetV1, FeaturesAreThePooledEmbedding) {
  MobileNetV1Config c = small_config();
  c.alpha = 1.0;
  c.resolution = 32;
  MobileNetV1<float> model(c);
  model.randomize(5);
  Tensor<float> x(model.input_shape(1));
  x.set_random();
  const Tensor<float> f = model.features(x);
  EXPECT_EQ(f.shape(), Shape(1, 1, 1, 1024));
  EXPECT_GT(f.storage().cwiseAbs().maxCoeff(), 0.0f);  // ReLU6 outputs, not all zero
  EXPECT_GE(f.storage().minCoeff(), 0.0f);
  EXPECT_LE(f.storage().maxCoeff(), 6.0f);
  EXPECT_EQ(f.to_vector(), model.features(x).to_vector());
}

TEST(MobileNetV1, RandomizeIsReproducible) {
  MobileNetV1<float> a(small_config()), b(small_config()), c(small_config());
  a.randomize(1), b.randomize(1), c.randomize(2);
  EXPECT_EQ(a.blocks[5].pointwise.weight().values(), b.blocks[5].pointwise.weight().values());
  EXPECT_NE(a.blocks[5].pointwise.weight().values(), c.blocks[5].pointwise.weight().values());
}

TEST(MobileNetV1, ParameterNamesFollowTheWeightsFormat) {
  MobileNetV1Config c = small_config();
  c.conv_bias = true;
  const MobileNetV1<float> model(c);
  std::vector<std::string> names;
  model.for_each_parameter([&](const std::string& name, const Parameter<float>&) { names.push_back(name); });
  ASSERT_EQ(names.size(), 2u + 4 + 13 * (2 + 4 + 2 + 4) + 2);
  EXPECT_EQ(names[0], "stem.conv.weight");
  EXPECT_EQ(names[1], "stem.conv.bias");
  EXPECT_EQ(names[2], "stem.bn.gamma");
  EXPECT_EQ(names[5], "stem.bn.moving_variance");
  EXPECT_EQ(names[6], "dsconv1.depthwise.weight");
  EXPECT_EQ(names[8], "dsconv1.depthwise_bn.gamma");
  EXPECT_EQ(names[12], "dsconv1.pointwise.weight");
  EXPECT_EQ(names[14], "dsconv1.pointwise_bn.gamma");
  EXPECT_EQ(names[names.size() - 2], "classifier.weight");
  EXPECT_EQ(names.back(), "classifier.bias");
}

}  // namespace
}  // namespace mobilenet

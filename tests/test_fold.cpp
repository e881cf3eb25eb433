// SPDX-License-Identifier: MIT
// Folded models (BatchNorm absorbed into the convolutions), backbone-only models, and the
// run-time instruction-set choice.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "mobilenet/io/weights.hpp"
#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/mobilenet.hpp"

namespace mobilenet {
namespace {

MobileNetV1Config small_config() {
  MobileNetV1Config c;
  c.alpha = 0.25;
  c.resolution = 40;
  c.num_classes = 10;
  c.softmax = false;
  return c;
}

template <typename T>
void expect_close(const Tensor<T>& a, const Tensor<T>& b, double tolerance) {
  ASSERT_EQ(a.shape(), b.shape());
  for (Index i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a.data()[i], b.data()[i], tolerance * (1 + std::abs(static_cast<double>(b.data()[i]))))
        << "element " << i;
}

TEST(FoldBatchNorm, FoldedModelHasNoBatchNormAndBiasedConvolutions) {
  const MobileNetV1<float> folded(MobileNetV1Config::tflite(0.25, 64));
  EXPECT_FALSE(folded.stem_bn.has_value());
  EXPECT_TRUE(folded.stem.has_bias());
  for (const auto& block : folded.blocks) {
    EXPECT_FALSE(block.depthwise_bn.has_value());
    EXPECT_FALSE(block.pointwise_bn.has_value());
    EXPECT_TRUE(block.depthwise.has_bias());
    EXPECT_TRUE(block.pointwise.has_bias());
  }
  int batch_norms = 0;
  folded.for_each_layer([&](const auto& layer) {
    if (std::string(layer.type_name()) == "BatchNorm") ++batch_norms;
  });
  EXPECT_EQ(batch_norms, 0);
  EXPECT_EQ(folded.config().num_classes, 1001);
  // Folding removes exactly the BatchNorm parameters (4 per channel) and adds one bias per
  // convolution channel.
  MobileNetV1Config unfolded_config = MobileNetV1Config::tf_slim(0.25, 64);
  const MobileNetV1<float> unfolded(unfolded_config);
  Index bn_channels = 0, conv_channels = 0;
  unfolded.for_each_layer([&](const auto& layer) {
    using Layer = std::decay_t<decltype(layer)>;
    if constexpr (std::is_same<Layer, BatchNorm<float>>::value) {
      bn_channels += layer.options().channels;
      conv_channels += layer.options().channels;
    }
  });
  EXPECT_EQ(folded.parameter_count(), unfolded.parameter_count() - 4 * bn_channels + conv_channels);
}

template <typename T>
void check_fold_preserves_outputs(MobileNetV1Config config, double tolerance) {
  MobileNetV1<T> model(config);
  model.randomize(17);
  const MobileNetV1<T> folded = fold_batch_norm(model);
  EXPECT_FALSE(folded.config().batch_norm);
  Tensor<T> x(model.input_shape(2));
  x.set_random();
  expect_close(folded.predict(x), model.predict(x), tolerance);
}

TEST(FoldBatchNorm, PreservesOutputsFloat) {
  check_fold_preserves_outputs<float>(small_config(), 1e-4);
}

TEST(FoldBatchNorm, PreservesOutputsDoubleWithBiasesReLUAndSymmetricPadding) {
  MobileNetV1Config c = small_config();
  c.conv_bias = true;
  c.activation = Activation::ReLU;
  c.padding = Padding::symmetric(1);
  c.bn_epsilon = 1e-5;
  check_fold_preserves_outputs<double>(c, 1e-10);
}

TEST(FoldBatchNorm, PreservesOutputsWithDenseHead) {
  MobileNetV1Config c = MobileNetV1Config::keras_seed();
  c.alpha = 0.25;
  c.resolution = 64;
  c.pool_size = 2;
  c.num_classes = 7;
  check_fold_preserves_outputs<double>(c, 1e-10);
}

TEST(FoldBatchNorm, ChangesNothingOnAFoldedModel) {
  MobileNetV1<float> folded(MobileNetV1Config::tflite(0.25, 32));
  folded.randomize(3);
  const MobileNetV1<float> again = fold_batch_norm(folded);
  EXPECT_EQ(again.blocks[4].pointwise.weight().values(), folded.blocks[4].pointwise.weight().values());
  EXPECT_EQ(again.stem.bias().values(), folded.stem.bias().values());
}

TEST(FoldBatchNorm, FoldingIsTheAffineFormOfBatchNorm) {
  // One channel by hand: w' = w * gamma / sqrt(var + eps), b' = (b - mean) * that + beta.
  MobileNetV1Config c = small_config();
  c.conv_bias = true;
  MobileNetV1<double> model(c);
  model.randomize(8);
  const MobileNetV1<double> folded = fold_batch_norm(model);
  const auto& bn = *model.blocks[2].pointwise_bn;
  const Index ch = 5;
  const double scale = bn.gamma().values()[ch] / std::sqrt(bn.moving_variance().values()[ch] + c.bn_epsilon);
  const Index cout = model.blocks[2].pointwise.options().out_channels;
  EXPECT_NEAR(folded.blocks[2].pointwise.weight().values()[3 * cout + ch],
              model.blocks[2].pointwise.weight().values()[3 * cout + ch] * scale, 1e-14);
  EXPECT_NEAR(folded.blocks[2].pointwise.bias().values()[ch],
              (model.blocks[2].pointwise.bias().values()[ch] - bn.moving_mean().values()[ch]) * scale +
                  bn.beta().values()[ch],
              1e-14);
}

TEST(FoldBatchNorm, FoldedWeightsRoundTripThroughSafetensors) {
  MobileNetV1<float> model(small_config());
  model.randomize(4);
  const MobileNetV1<float> folded = fold_batch_norm(model);
  const std::string path = ::testing::TempDir() + "folded.safetensors";
  io::save_weights(folded, path);
  const io::SafetensorsFile file = io::SafetensorsFile::read(path);
  EXPECT_FALSE(file.contains("stem.bn.gamma"));
  const MobileNetV1Config config = io::config_from_weights(file, small_config());
  EXPECT_FALSE(config.batch_norm);
  MobileNetV1<float> loaded(config);
  io::load_weights(loaded, file);
  Tensor<float> x(model.input_shape(1));
  x.set_random();
  expect_close(loaded.predict(x), model.predict(x), 1e-4);
  std::remove(path.c_str());
}

TEST(BackboneOnly, PredictReturnsThePooledFeatures) {
  MobileNetV1Config c = MobileNetV1Config::tflite(0.25, 64);
  c.head = Head::None;
  c.num_classes = 0;  // no classifier, so no class count is needed
  MobileNetV1<float> model(c);
  model.randomize(9);
  EXPECT_FALSE(model.has_classifier());
  EXPECT_EQ(model.output_shape(3), model.features_shape(3));
  EXPECT_EQ(model.output_shape(), Shape(1, 1, 1, 256));
  Tensor<float> x(model.input_shape(2));
  x.set_random();
  const Tensor<float> y = model.predict(x);
  EXPECT_EQ(y.to_vector(), model.features(x).to_vector());
  std::vector<std::string> names;
  model.for_each_parameter([&](const std::string& name, const Parameter<float>&) { names.push_back(name); });
  EXPECT_EQ(names.back(), "dsconv13.pointwise.bias");
}

TEST(BackboneOnly, AClassifierStillNeedsClasses) {
  MobileNetV1Config c = small_config();
  c.num_classes = 0;
  EXPECT_THROW(MobileNetV1<float>{c}, ConfigError);
}

TEST(CpuFeatures, BestIsaIsSupportedAndNamed) {
  using kernels::Isa;
  const Isa best = kernels::best_isa();
  EXPECT_TRUE(kernels::isa_supported(best));
  EXPECT_TRUE(kernels::isa_supported(Isa::Generic));
  Isa all[4];
  const int n = kernels::supported_isas(all);
  ASSERT_GE(n, 1);
  EXPECT_EQ(all[0], Isa::Generic);
  EXPECT_STRNE(kernels::isa_name(best), "unknown");
#if defined(__x86_64__)
  EXPECT_FALSE(kernels::isa_supported(Isa::Neon));
#endif
}

}  // namespace
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
// XNNPACK, given our folded weights, must agree with our reference path: otherwise the peer
// benchmark compares different computations.

#include <gtest/gtest.h>

#include "peer_check.hpp"

namespace {

using mobilenet::Activation;
using mobilenet::MobileNetV1;
using mobilenet::MobileNetV1Config;
using mobilenet::Padding;

void expect_agreement(const MobileNetV1Config& config, mobilenet::Index batch, int threads) {
  MobileNetV1<float> model(config);
  model.randomize(3);
  const auto a = mobilenet::peers::compare_with_xnnpack(model, batch, threads, 11);
  EXPECT_LE(a.max_abs_difference, mobilenet::peers::kAbsoluteTolerance) << model.name();
  EXPECT_LE(a.max_abs_difference, mobilenet::peers::kRelativeTolerance * a.largest_probability)
      << model.name();
  EXPECT_EQ(a.same_top1, a.images) << model.name();
}

TEST(PeersXnnpack, AgreesOnTfSlimModels) {
  expect_agreement(MobileNetV1Config::tf_slim(0.25, 128), 2, 1);
  expect_agreement(MobileNetV1Config::tf_slim(0.5, 96), 3, 2);
}

// Odd sizes make SAME padding uneven on both sides; symmetric padding and ReLU exercise the
// other border and clamp settings.
TEST(PeersXnnpack, AgreesOnOddSizesAndOtherConventions) {
  expect_agreement(MobileNetV1Config::tf_slim(0.25, 97), 1, 1);
  MobileNetV1Config torch_like = MobileNetV1Config::tf_slim(0.25, 64);
  torch_like.padding = Padding::symmetric(1);
  torch_like.activation = Activation::ReLU;
  torch_like.conv_bias = true;
  torch_like.num_classes = 10;
  expect_agreement(torch_like, 2, 1);
}

}  // namespace

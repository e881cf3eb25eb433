// SPDX-License-Identifier: MIT
// tools/keras_to_safetensors.py, checked from C++: a tiny synthetic Keras model converted by
// the script must load and reproduce the probabilities of an independent NumPy forward pass of
// the Keras graph. Run through tests/keras/run_converter_test.sh, which makes the files and
// sets MOBILENET_KERAS_TINY_DIR.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "mobilenet/io/weights.hpp"

namespace mobilenet {
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

TEST(KerasConverter, TinyModelMatchesNumPyKerasForward) {
  const std::string dir = env("MOBILENET_KERAS_TINY_DIR");
  if (dir.empty()) GTEST_SKIP() << "MOBILENET_KERAS_TINY_DIR unset: run through run_converter_test.sh";
  const io::SafetensorsFile weights = io::SafetensorsFile::read(dir + "/tiny.safetensors");
  EXPECT_EQ(weights.metadata().at("source"), "keras");
  EXPECT_EQ(weights.metadata().at("activation"), "relu6");
  MobileNetV1Config base;
  base.resolution = std::stoi(weights.metadata().at("resolution"));
  const MobileNetV1Config config = io::config_from_weights(weights, base);
  EXPECT_EQ(config.alpha, 0.25);
  EXPECT_EQ(config.num_classes, 7);
  EXPECT_EQ(config.bn_epsilon, 1e-3);
  EXPECT_FALSE(config.conv_bias);
  MobileNetV1<float> model(config);
  io::load_weights(model, weights);

  const io::SafetensorsFile expected = io::SafetensorsFile::read(dir + "/tiny_case.safetensors");
  const auto input_values = expected.to_vector<float>("input");
  const Tensor<float> input(model.input_shape(1), input_values);
  const auto want = expected.to_vector<float>("probabilities");
  const auto got = model.predict(input).to_vector();
  ASSERT_EQ(got.size(), want.size());
  float sum = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], 2e-6) << "class " << i;  // float vs NumPy float64
    sum += got[i];
  }
  EXPECT_NEAR(sum, 1.0f, 1e-5);
}

}  // namespace
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
// The converters in tools/, checked from C++: a tiny synthetic Keras .h5 and a tiny PyTorch
// state dict, converted by the scripts, must load and reproduce the probabilities computed
// independently (a NumPy forward pass of the Keras graph; PyTorch itself). Run through
// tests/converters/run_converter_tests.sh, which makes the files and sets the variables below.
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

// Loads converted weights with the configuration their metadata describes.
MobileNetV1<float> load_converted(const std::string& path) {
  const io::SafetensorsFile weights = io::SafetensorsFile::read(path);
  const auto& meta = weights.metadata();
  MobileNetV1Config base;
  base.resolution = meta.count("resolution") ? std::stoi(meta.at("resolution")) : 32;
  base.activation = meta.at("activation") == "relu" ? Activation::ReLU : Activation::ReLU6;
  base.padding = meta.at("padding") == "symmetric" ? Padding::symmetric(1) : Padding::same();
  MobileNetV1<float> model(io::config_from_weights(weights, base));
  io::load_weights(model, weights);
  return model;
}

// Largest |difference| between the model's probabilities and the case file's.
double worst_difference(const MobileNetV1<float>& model, const std::string& case_path) {
  const io::SafetensorsFile expected = io::SafetensorsFile::read(case_path);
  const Tensor<float> input(model.input_shape(1), expected.to_vector<float>("input"));
  const auto want = expected.to_vector<float>("probabilities");
  const auto got = model.predict(input).to_vector();
  EXPECT_EQ(got.size(), want.size());
  double worst = 0;
  for (std::size_t i = 0; i < got.size() && i < want.size(); ++i)
    worst = std::max(worst, std::abs(double(got[i]) - double(want[i])));
  return worst;
}

TEST(KerasConverter, TinyModelMatchesNumPyKerasForward) {
  const std::string dir = env("MOBILENET_KERAS_TINY_DIR");
  if (dir.empty()) GTEST_SKIP() << "no converted Keras model: run through run_converter_tests.sh (needs h5py)";
  const MobileNetV1<float> model = load_converted(dir + "/tiny.safetensors");
  EXPECT_EQ(model.config().alpha, 0.25);
  EXPECT_EQ(model.config().num_classes, 7);
  EXPECT_EQ(model.config().bn_epsilon, 1e-3);
  EXPECT_FALSE(model.config().conv_bias);
  EXPECT_EQ(model.config().activation, Activation::ReLU6);
  const double worst = worst_difference(model, dir + "/tiny_case.safetensors");
  std::printf("Keras tiny: max |probability difference| %.2g\n", worst);
  EXPECT_LT(worst, 2e-6);  // float vs NumPy float64
}

TEST(TorchConverter, TinyModelMatchesPyTorch) {
  const std::string dir = env("MOBILENET_TORCH_TINY_DIR");
  if (dir.empty()) GTEST_SKIP() << "no converted PyTorch model: run through run_converter_tests.sh (needs torch)";
  const MobileNetV1<float> model = load_converted(dir + "/tiny_torch.safetensors");
  EXPECT_EQ(model.config().num_classes, 5);
  EXPECT_EQ(model.config().bn_epsilon, 1e-5);
  EXPECT_EQ(model.config().activation, Activation::ReLU);
  const double worst = worst_difference(model, dir + "/tiny_torch_case.safetensors");
  std::printf("PyTorch tiny: max |probability difference| %.2g\n", worst);
  EXPECT_LT(worst, 2e-6);  // float vs PyTorch float64
}

}  // namespace
}  // namespace mobilenet

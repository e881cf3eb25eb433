// SPDX-License-Identifier: MIT
// The converters in tools/, checked from C++: a tiny synthetic Keras .h5 and a tiny PyTorch
// state dict, converted by the scripts, must load and reproduce the probabilities computed
// independently (a NumPy forward pass of the Keras graph; PyTorch itself). Run through
// tests/converters/run_converter_tests.sh, which makes the files and sets the variables below.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>
#include <cstdlib>
#include <string>

#include "mobilenet/io/image.hpp"
#include "mobilenet/io/model_file.hpp"
#include "mobilenet/io/preprocess.hpp"
#include "mobilenet/io/weights.hpp"
#include "shared_data.hpp"

namespace mobilenet {
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// The configuration a converted file describes (BatchNorm unfolded, as written).
MobileNetV1Config converted_config(const std::string& path) {
  return io::config_from_weights(io::SafetensorsFile::read(path));
}

// Loads converted weights as an app would (io::load_model: BatchNorm folded, preprocessing
// from the metadata) and checks their probabilities on the case file's input against the
// reference framework's. float vs float64: rounding only (seen: 3e-8 and 1.5e-8).
void expect_reproduces(const std::string& weights, const std::string& case_path,
                       io::Preprocessing::Mode mode, const char* what) {
  const io::LoadedModel loaded = io::load_model(weights);
  EXPECT_EQ(loaded.preprocessing.mode, mode) << what;
  const io::SafetensorsFile expected = io::SafetensorsFile::read(case_path);
  const Tensor<float> input(loaded.model.input_shape(1), expected.to_vector<float>("input"));
  const auto want = expected.to_vector<float>("probabilities");
  const auto got = loaded.model.predict(input).to_vector();
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(double(got[i]) - double(want[i])));
  std::printf("%s: max |probability difference| %.2g\n", what, worst);
  EXPECT_LT(worst, 2e-6) << what;
}

TEST(KerasConverter, TinyModelMatchesNumPyKerasForward) {
  const std::string dir = env("MOBILENET_KERAS_TINY_DIR");
  if (dir.empty()) GTEST_SKIP() << "no converted Keras model: run through run_converter_tests.sh (needs h5py)";
  const MobileNetV1Config config = converted_config(dir + "/tiny.safetensors");
  EXPECT_EQ(config.alpha, 0.25);
  EXPECT_EQ(config.resolution, 32);
  EXPECT_EQ(config.num_classes, 7);
  EXPECT_EQ(config.bn_epsilon, 1e-3);
  EXPECT_TRUE(config.batch_norm);
  EXPECT_FALSE(config.conv_bias);
  EXPECT_EQ(config.activation, Activation::ReLU6);
  EXPECT_EQ(config.padding, Padding::same());
  expect_reproduces(dir + "/tiny.safetensors", dir + "/tiny_case.safetensors",
                    io::Preprocessing::Mode::TensorFlow, "Keras tiny vs NumPy");
}

TEST(TorchConverter, TinyModelMatchesPyTorch) {
  const std::string dir = env("MOBILENET_TORCH_TINY_DIR");
  if (dir.empty()) GTEST_SKIP() << "no converted PyTorch model: run through run_converter_tests.sh (needs torch)";
  const MobileNetV1Config config = converted_config(dir + "/tiny_torch.safetensors");
  EXPECT_EQ(config.num_classes, 5);
  EXPECT_EQ(config.bn_epsilon, 1e-5);
  EXPECT_EQ(config.activation, Activation::ReLU);
  EXPECT_EQ(config.padding, Padding::symmetric(1));
  EXPECT_EQ(config.head, Head::Dense);
  expect_reproduces(dir + "/tiny_torch.safetensors", dir + "/tiny_torch_case.safetensors",
                    io::Preprocessing::Mode::MeanStd, "PyTorch tiny vs PyTorch");
}

// The Keras 0.25/224 model of the shared data, converted by the script, against the TFLite
// float 0.25/224 model on the shared photos. They are separately trained models (their weights
// differ), so they agree on most photos, not all, and their probabilities differ by more
// than rounding: the bounds below hold these two models' answers with a margin.
TEST(KerasConverter, SharedKerasModelAgainstTfliteFloatOnPhotos) {
  const std::string keras = env("MOBILENET_KERAS_CONVERTED");
  const std::string tflite = testing::shared_data_file("models/mobilenet_v1_0.25_224.tflite");
  if (keras.empty() || tflite.empty() || testing::shared_data_file("images/cat.bmp").empty())
    GTEST_SKIP() << "needs the shared data (" << testing::shared_data_dir()
                 << ") and run_converter_tests.sh with h5py";
  const io::LoadedModel k = io::load_model(keras);
  const io::LoadedModel t = io::load_model(tflite);
  ASSERT_EQ(k.model.config().num_classes, 1000);  // Keras: no background class
  ASSERT_EQ(t.model.config().num_classes, 1001);  // TFLite: class i + 1
  double worst = 0;
  int agree = 0;
  for (const char* photo : {"burger.jpg", "parrot.jpg", "cat.bmp", "hot_dog.jpg", "grace_hopper.bmp"}) {
    const io::Image image = io::load_image(testing::shared_data_file(std::string("images/") + photo));
    const Tensor<float> input = io::preprocess(image, 224, io::Preprocessing::tensorflow());
    const auto pk = k.model.predict(input).to_vector();
    const auto pt = t.model.predict(input).to_vector();
    std::vector<Index> rank_k(1000), rank_t(1000);
    for (Index i = 0; i < 1000; ++i) rank_k[std::size_t(i)] = rank_t[std::size_t(i)] = i;
    auto by = [](const std::vector<float>& p, Index shift) {
      return [&p, shift](Index a, Index b) { return p[std::size_t(a + shift)] > p[std::size_t(b + shift)]; };
    };
    std::sort(rank_k.begin(), rank_k.end(), by(pk, 0));
    std::sort(rank_t.begin(), rank_t.end(), by(pt, 1));  // TFLite's 1000 real classes
    double photo_worst = 0;
    for (std::size_t i = 0; i < 1000; ++i) photo_worst = std::max(photo_worst, std::abs(double(pk[i]) - double(pt[i + 1])));
    worst = std::max(worst, photo_worst);
    std::printf("%-17s Keras top-1 %4lld (p %.3f)  TFLite top-1 %4lld (p %.3f)  max |dp| %.3f\n", photo,
                static_cast<long long>(rank_k[0] + 1), double(pk[std::size_t(rank_k[0])]),
                static_cast<long long>(rank_t[0] + 1), double(pt[std::size_t(rank_t[0] + 1)]), photo_worst);
    if (rank_k[0] == rank_t[0]) {
      ++agree;
    } else {  // where they differ, each model's choice is in the other's top 3
      EXPECT_TRUE(std::find(rank_t.begin(), rank_t.begin() + 3, rank_k[0]) != rank_t.begin() + 3) << photo;
      EXPECT_TRUE(std::find(rank_k.begin(), rank_k.begin() + 3, rank_t[0]) != rank_k.begin() + 3) << photo;
    }
  }
  std::printf("top-1 agrees on %d of 5 photos; max |probability difference| %.3f\n", agree, worst);
  EXPECT_GE(agree, 4);     // seen: 4 (the cat: Keras says tiger cat, TFLite Egyptian cat)
  EXPECT_LT(worst, 0.35);  // seen: 0.306 (the hot dog: Keras p 0.55, TFLite p 0.24)
}

}  // namespace
}  // namespace mobilenet

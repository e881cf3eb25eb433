// SPDX-License-Identifier: MIT
// Preprocessing (io/preprocess.hpp) against golden data from tests/golden/make_preprocess_golden.py:
// a NumPy re-implementation of TF-slim's evaluation steps and PyTorch's bilinear interpolate
// (plain bilinear), and Pillow's BILINEAR filter (the default, antialiased resize). Plus
// hand-checked properties and bad arguments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "error_matchers.hpp"
#include "mobilenet/io/preprocess.hpp"
#include "mobilenet/io/safetensors.hpp"

namespace mobilenet {
namespace {

io::Image image_from(const io::SafetensorsFile& file, const std::string& name) {
  const auto& shape = file.info(name).shape;
  io::Image image;
  image.height = shape.at(0);
  image.width = shape.at(1);
  for (float v : file.to_vector<float>(name)) image.pixels.push_back(static_cast<std::uint8_t>(v));
  return image;
}

io::Image solid(Index width, Index height, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  io::Image image;
  image.width = width;
  image.height = height;
  for (Index i = 0; i < width * height; ++i) image.pixels.insert(image.pixels.end(), {r, g, b});
  return image;
}

TEST(Preprocess, MatchesGoldenReferences) {
  const auto file = io::SafetensorsFile::read(MOBILENET_GOLDEN_DIR "/preprocess.safetensors");
  const int cases = std::stoi(file.metadata().at("cases"));
  ASSERT_GE(cases, 4);
  for (int i = 0; i < cases; ++i) {
    const io::Image image = image_from(file, "image" + std::to_string(i));
    for (const std::string mode : {"tensorflow", "torch", "tensorflow_antialias", "torch_antialias"}) {
      const std::string name = mode + std::to_string(i);
      const auto want = file.to_vector<float>(name);
      const Index resolution = file.info(name).shape.at(1);
      io::Preprocessing p =
          mode.rfind("torch", 0) == 0 ? io::Preprocessing::torch() : io::Preprocessing::tensorflow();
      p.antialias = mode.find("antialias") != std::string::npos;
      const Tensor<float> got = io::preprocess(image, resolution, p);
      ASSERT_EQ(got.shape(), Shape(1, resolution, resolution, 3)) << name;
      float worst = 0;
      for (std::size_t k = 0; k < want.size(); ++k)
        worst = std::max(worst, std::abs(got.data()[k] - want[k]));
      // Same arithmetic in float, in another order: rounding only, amplified up to 4.4x by
      // 1/std in the mean/std mode (seen: at most 6.1e-6).
      std::printf("%s (%lld x %lld -> %lld): max |difference| %.2g\n", name.c_str(),
                  static_cast<long long>(image.width), static_cast<long long>(image.height),
                  static_cast<long long>(resolution), static_cast<double>(worst));
      EXPECT_LT(worst, 2e-5f) << name << " from a " << image.width << " x " << image.height << " image";
    }
  }
}

TEST(Preprocess, TensorFlowModeScalesToMinusOneOne) {
  const Tensor<float> black = io::preprocess(solid(9, 6, 0, 0, 0), 4, io::Preprocessing::tensorflow());
  const Tensor<float> white = io::preprocess(solid(9, 6, 255, 255, 255), 4, io::Preprocessing::tensorflow());
  for (Index k = 0; k < black.size(); ++k) {
    EXPECT_FLOAT_EQ(black.data()[k], -1.0f);
    EXPECT_FLOAT_EQ(white.data()[k], 1.0f);
  }
}

TEST(Preprocess, MeanStdModeNormalisesEachChannel) {
  const Tensor<float> out = io::preprocess(solid(5, 8, 255, 0, 128), 3, io::Preprocessing::torch());
  EXPECT_NEAR(out(0, 1, 1, 0), (1.0 - 0.485) / 0.229, 1e-5);
  EXPECT_NEAR(out(0, 1, 1, 1), (0.0 - 0.456) / 0.224, 1e-5);
  EXPECT_NEAR(out(0, 1, 1, 2), (128 / 255.0 - 0.406) / 0.225, 1e-5);
}

TEST(Preprocess, CentralCropFollowsTensorFlow) {
  // margin = int((size - size * 0.875) / 2): 224 -> 14, 100 -> 6, 7 -> 0, 17 -> 1
  EXPECT_EQ(io::central_crop(224, 0.875).start, 14);
  EXPECT_EQ(io::central_crop(224, 0.875).size, 196);
  EXPECT_EQ(io::central_crop(100, 0.875).start, 6);
  EXPECT_EQ(io::central_crop(7, 0.875).size, 7);
  EXPECT_EQ(io::central_crop(17, 0.875).size, 15);
}

TEST(Preprocess, CropKeepsTheCentre) {
  // A 16 x 16 image whose 2-pixel border is white and centre black: the TF crop (margin 1)
  // keeps one white pixel each side, so the output's centre is black and its corner is not.
  io::Image image = solid(16, 16, 0, 0, 0);
  for (Index y = 0; y < 16; ++y)
    for (Index x = 0; x < 16; ++x)
      if (y < 2 || x < 2 || y >= 14 || x >= 14)
        for (Index c = 0; c < 3; ++c) image.pixels[std::size_t((y * 16 + x) * 3 + c)] = 255;
  const Tensor<float> out = io::preprocess(image, 14, io::Preprocessing::tensorflow());
  EXPECT_FLOAT_EQ(out(0, 7, 7, 0), -1.0f);
  EXPECT_FLOAT_EQ(out(0, 0, 0, 0), 1.0f);
}

TEST(Preprocess, BatchHoldsEachImage) {
  const std::vector<io::Image> images = {solid(4, 4, 0, 0, 0), solid(6, 3, 255, 255, 255)};
  const Tensor<float> batch = io::preprocess(images, 2, io::Preprocessing::tensorflow());
  EXPECT_EQ(batch.shape(), Shape(2, 2, 2, 3));
  EXPECT_FLOAT_EQ(batch(0, 1, 1, 2), -1.0f);
  EXPECT_FLOAT_EQ(batch(1, 1, 1, 2), 1.0f);
}

TEST(PreprocessErrors, BadArguments) {
  const io::Image image = solid(4, 4, 1, 2, 3);
  io::Preprocessing p = io::Preprocessing::tensorflow();
  p.central_fraction = 0;
  EXPECT_THROW_MESSAGE(io::preprocess(image, 4, p), ConfigError, {"central_fraction", "(0, 1]"});
  p = io::Preprocessing::torch();
  p.std[1] = 0;
  EXPECT_THROW_MESSAGE(io::preprocess(image, 4, p), ConfigError, {"std"});
  io::Image broken = image;
  broken.pixels.pop_back();
  EXPECT_THROW_MESSAGE(io::preprocess(broken, 4, io::Preprocessing::tensorflow()), ShapeError,
                       {"4 x 4", "47 bytes"});
  Tensor<float> wrong(Shape(1, 4, 5, 3));
  EXPECT_THROW_MESSAGE(io::preprocess_into(image, io::Preprocessing::tensorflow(), wrong.view()),
                       ShapeError, {"1 x R x R x 3", "[1, 4, 5, 3]"});
}

}  // namespace
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
// io::load_model(data, size, source): a model held in memory (what mobilenet_embed_model
// provides) loads as the same file does, keeps no pointer into the bytes, and names `source`
// in its errors.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "mobilenet/io/file.hpp"
#include "mobilenet/io/model_file.hpp"
#include "mobilenet/io/weights.hpp"
#include "mobilenet/mobilenet.hpp"

namespace mobilenet {
namespace {

const std::string kShippedModel = std::string(MOBILENET_SOURCE_DIR) + "/models/mobilenet_v1_0.5_160_quant.tflite";

Tensor<float> predict_constant(const MobileNetV1<float>& model) {
  return model.predict(Tensor<float>(model.input_shape(1), 0.25f));
}

void expect_same_model(const io::LoadedModel& a, const io::LoadedModel& b) {
  EXPECT_EQ(a.format, b.format);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.model.config().alpha, b.model.config().alpha);
  EXPECT_EQ(a.model.config().resolution, b.model.config().resolution);
  EXPECT_EQ(a.model.config().num_classes, b.model.config().num_classes);
  const Tensor<float> pa = predict_constant(a.model), pb = predict_constant(b.model);
  ASSERT_EQ(pa.shape(), pb.shape());
  EXPECT_TRUE(std::equal(pa.data(), pa.data() + pa.size(), pb.data()));
}

TEST(ModelFromMemory, ShippedTfliteLoadsAsFromItsFile) {
  std::vector<std::uint8_t> bytes = io::read_file(kShippedModel, io::kMaxModelFileBytes);
  const io::LoadedModel from_file = io::load_model(kShippedModel);
  const io::LoadedModel from_memory = io::load_model(bytes.data(), bytes.size(), "embedded");
  EXPECT_EQ(from_memory.format, "tflite-uint8");
  EXPECT_EQ(from_memory.model.config().resolution, 160);
  expect_same_model(from_file, from_memory);
  // The model owns its weights: wiping the bytes afterwards changes nothing.
  std::fill(bytes.begin(), bytes.end(), std::uint8_t(0xAB));
  expect_same_model(from_file, from_memory);
}

TEST(ModelFromMemory, SafetensorsLoadsAsFromItsFile) {
  MobileNetV1Config config;
  config.alpha = 0.25;
  config.resolution = 64;
  config.num_classes = 10;
  MobileNetV1<float> source(config);
  source.randomize(3);
  const std::string path = ::testing::TempDir() + "/model_memory.safetensors";
  io::save_weights(source, path);
  const std::vector<std::uint8_t> bytes = io::read_file(path, io::kMaxModelFileBytes);
  const io::LoadedModel from_memory = io::load_model(bytes.data(), bytes.size(), "weights");
  EXPECT_EQ(from_memory.format, "safetensors");
  expect_same_model(io::load_model(path), from_memory);
  std::remove(path.c_str());
}

TEST(ModelFromMemory, ErrorsNameTheSource) {
  const std::vector<std::uint8_t> junk(64, std::uint8_t('x'));
  try {
    io::load_model(junk.data(), junk.size(), "my embedded model");
    FAIL() << "junk bytes loaded";
  } catch (const FormatError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("my embedded model: neither a TensorFlow Lite model", 0), 0u)
        << error.what();
  }
  EXPECT_THROW(io::load_model(nullptr, 0, "empty"), FormatError);
  EXPECT_THROW(io::load_model(nullptr, 16, "null"), Error);
  // A TFLite header over a cut-off file: the flatbuffer reader refuses it, naming the source.
  std::vector<std::uint8_t> bytes = io::read_file(kShippedModel, io::kMaxModelFileBytes);
  try {
    io::load_model(bytes.data(), 4096, "cut");
    FAIL() << "a truncated model loaded";
  } catch (const FormatError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("cut", 0), 0u) << error.what();
  }
}

}  // namespace
}  // namespace mobilenet

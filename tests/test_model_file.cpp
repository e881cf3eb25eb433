// SPDX-License-Identifier: MIT
// io::load_model: format sniffing, safetensors files that record their whole configuration
// and preprocessing, BatchNorm folded at load, and the errors for files that are neither.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mobilenet/io/model_file.hpp"
#include "error_matchers.hpp"
#include "tflite_builder.hpp"

namespace mobilenet {
namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "/" + name; }

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Everything but the defaults, so a field the file forgets shows up.
MobileNetV1Config unusual() {
  MobileNetV1Config c;
  c.alpha = 0.25;
  c.resolution = 67;
  c.num_classes = 7;
  c.activation = Activation::ReLU;
  c.padding = Padding::symmetric(1);
  c.conv_bias = true;
  c.head = Head::Dense;
  c.pool_size = 3;
  c.softmax = false;
  c.min_depth = 4;
  c.bn_epsilon = 1e-5;
  return c;
}

// Writes `model`'s parameters with only the metadata keys of the first file format.
void save_old_style(const MobileNetV1<float>& model, const std::string& path) {
  io::SafetensorsWriter writer;
  model.for_each_parameter([&](const std::string& name, const Parameter<float>& p) {
    writer.add(name, p.shape(), p.data());
  });
  writer.set_metadata("format", "mobilenet_v1");
  writer.set_metadata("alpha", "0.25");
  writer.write(path);
}

TEST(ModelFile, SafetensorsRecordsTheWholeConfiguration) {
  MobileNetV1<float> source(unusual());
  source.randomize(3);
  const std::string path = temp_path("unusual.safetensors");
  io::save_weights(source, path, io::Preprocessing::torch());
  const io::SafetensorsFile file = io::SafetensorsFile::read(path);
  const MobileNetV1Config c = io::config_from_weights(file);
  const MobileNetV1Config want = unusual();
  EXPECT_EQ(c.alpha, want.alpha);
  EXPECT_EQ(c.resolution, want.resolution);
  EXPECT_EQ(c.num_classes, want.num_classes);
  EXPECT_EQ(c.activation, want.activation);
  EXPECT_EQ(c.padding, want.padding);
  EXPECT_EQ(c.conv_bias, want.conv_bias);
  EXPECT_EQ(c.head, want.head);
  EXPECT_EQ(c.pool_size, want.pool_size);
  EXPECT_EQ(c.softmax, want.softmax);
  EXPECT_EQ(c.min_depth, want.min_depth);
  EXPECT_EQ(c.bn_epsilon, want.bn_epsilon);
  EXPECT_TRUE(c.batch_norm);
  const io::Preprocessing p = io::preprocessing_from_weights(file);
  const io::Preprocessing torch = io::Preprocessing::torch();
  EXPECT_EQ(p.mode, torch.mode);
  EXPECT_EQ(p.mean, torch.mean);
  EXPECT_EQ(p.std, torch.std);
  EXPECT_EQ(p.central_fraction, torch.central_fraction);
  std::remove(path.c_str());
}

TEST(ModelFile, LoadModelFoldsBatchNormAndKeepsTheOutputs) {
  MobileNetV1<float> source(unusual());
  source.randomize(4);
  const std::string path = temp_path("fold.safetensors");
  io::save_weights(source, path);
  const io::LoadedModel loaded = io::load_model(path);
  EXPECT_EQ(loaded.format, "safetensors");
  EXPECT_FALSE(loaded.model.config().batch_norm);
  EXPECT_EQ(loaded.preprocessing.mode, io::Preprocessing::Mode::TensorFlow);
  EXPECT_TRUE(loaded.labels.empty());
  Tensor<float> x(source.input_shape(2));
  x.set_random();
  const std::vector<float> want = source.predict(x).to_vector();
  const std::vector<float> got = loaded.model.predict(x).to_vector();
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-4 * (1 + std::abs(want[i]))) << "output " << i;
  std::remove(path.c_str());
}

TEST(ModelFile, OldFilesStillLoadWithDefaults) {
  MobileNetV1Config c = MobileNetV1Config::tf_slim(0.25, 224);
  c.num_classes = 3;
  MobileNetV1<float> source(c);
  source.randomize(5);
  const std::string path = temp_path("old.safetensors");
  save_old_style(source, path);
  const io::LoadedModel loaded = io::load_model(path);
  EXPECT_EQ(loaded.model.config().resolution, 224);
  EXPECT_EQ(loaded.model.config().activation, Activation::ReLU6);
  EXPECT_EQ(loaded.model.config().head, Head::Conv1x1);
  EXPECT_EQ(loaded.preprocessing.mode, io::Preprocessing::Mode::TensorFlow);
  std::remove(path.c_str());
}

TEST(ModelFile, LabelsFromSafetensorsMetadata) {
  MobileNetV1Config c = MobileNetV1Config::tf_slim(0.25, 32);
  c.num_classes = 3;
  MobileNetV1<float> source(c);
  io::SafetensorsWriter writer;
  source.for_each_parameter([&](const std::string& name, const Parameter<float>& p) {
    writer.add(name, p.shape(), p.data());
  });
  writer.set_metadata("resolution", "32");
  writer.set_metadata("labels", "cat\ndog\nfish\n");
  const std::string path = temp_path("labels.safetensors");
  writer.write(path);
  EXPECT_EQ(io::load_model(path).labels, (std::vector<std::string>{"cat", "dog", "fish"}));
  writer.set_metadata("labels", "cat\ndog\n");
  writer.write(path);
  EXPECT_THROW_MESSAGE(io::load_model(path), FormatError, {path.c_str(), "'labels' has 2 lines", "3 classes"});
  std::remove(path.c_str());
}

TEST(ModelFile, BadMetadataIsNamed) {
  MobileNetV1<float> source(MobileNetV1Config::tf_slim(0.25, 32));
  const std::string path = temp_path("meta.safetensors");
  auto write_with = [&](const std::string& key, const std::string& value) {
    io::SafetensorsWriter writer;
    source.for_each_parameter([&](const std::string& name, const Parameter<float>& p) {
      writer.add(name, p.shape(), p.data());
    });
    writer.set_metadata(key, value);
    writer.write(path);
  };
  write_with("activation", "gelu");
  EXPECT_THROW_MESSAGE(io::load_model(path), FormatError, {path.c_str(), "'activation' = 'gelu'", "'relu6'"});
  write_with("resolution", "1e12");
  EXPECT_THROW_MESSAGE(io::load_model(path), FormatError, {"'resolution' = '1e12'", "0 to 8192"});
  write_with("padding", "symmetric:x");
  EXPECT_THROW_MESSAGE(io::load_model(path), FormatError, {"'padding' = 'symmetric:x'"});
  write_with("preprocessing", "caffe");
  EXPECT_THROW_MESSAGE(io::load_model(path), FormatError, {"'preprocessing' = 'caffe'"});
  // A claimed alpha of 64 would allocate gigabytes before the tensors could disagree.
  write_with("alpha", "64");
  EXPECT_THROW_MESSAGE(io::load_model(path), FormatError, {"stem.conv.weight", "alpha 64", "needs 2048"});
  std::remove(path.c_str());
}

TEST(ModelFile, HostileConfigurationsAreRefusedNamingTheFile) {
  MobileNetV1<float> source(MobileNetV1Config::tf_slim(0.25, 32));
  const std::string path = temp_path("hostile.safetensors");
  auto write_with = [&](const std::string& key, const std::string& value) {
    io::SafetensorsWriter writer;
    source.for_each_parameter([&](const std::string& name, const Parameter<float>& p) {
      writer.add(name, p.shape(), p.data());
    });
    writer.set_metadata(key, value);
    writer.write(path);
  };
  // Padding of 100 a side grows the maps past the model's activation bound (gigabytes).
  write_with("padding", "symmetric:100");
  EXPECT_THROW_MESSAGE(io::load_model(path), ConfigError, {path.c_str(), "symmetric(100)", "values in one activation"});
  write_with("padding", "symmetric:99999");
  EXPECT_THROW_MESSAGE(io::load_model(path), FormatError, {path.c_str(), "'padding' = 'symmetric:99999'", "0 to 8192"});
  // A 1x1-convolution head needs a 1x1 pooled map: the model's check, naming the file.
  write_with("pool_size", "1");
  EXPECT_THROW_MESSAGE(io::load_model(path), ConfigError, {path.c_str(), "pool_size 1"});
  // Preprocessing constants must be floats.
  write_with("preprocessing_mean", "1e39,0,0");
  EXPECT_THROW_MESSAGE(io::load_model(path), FormatError, {path.c_str(), "'preprocessing_mean' = '1e39,0,0'", "float"});
  std::remove(path.c_str());
}

TEST(ModelFile, BatchNormThatFoldsBeyondFloatIsRefused) {
  MobileNetV1<float> source(MobileNetV1Config::tf_slim(0.25, 32));
  source.randomize(2);
  // Finite statistics, but gamma / sqrt(variance + epsilon) = 3e38 / 0.03 is not a float.
  source.blocks[4].pointwise_bn->gamma().values()[6] = 3e38f;
  source.blocks[4].pointwise_bn->moving_variance().values()[6] = 0.0f;
  const std::string path = temp_path("fold.safetensors");
  io::save_weights(source, path);
  EXPECT_THROW_MESSAGE(io::load_model(path), FormatError,
                       {path.c_str(), "folding 'dsconv5.pointwise_bn' into 'dsconv5.pointwise'", "channel 6"});
  std::remove(path.c_str());
}

TEST(ModelFile, DirectoriesAndOversizedFilesAreRefusedBeforeReading) {
  const std::string dir = temp_path("model_dir.tflite");
  std::filesystem::create_directories(dir);
  EXPECT_THROW_MESSAGE(io::load_model(dir), IoError, {dir.c_str(), "is a directory"});
  std::filesystem::remove(dir);
  // Sparse, so no disk is used; the size alone must refuse it.
  const std::string big = temp_path("sparse.safetensors");
  { std::ofstream touch(big); }
  std::filesystem::resize_file(big, io::kMaxModelFileBytes + 1);
  EXPECT_THROW_MESSAGE(io::load_model(big), FormatError, {big.c_str(), "exceeds the limit"});
  std::remove(big.c_str());
}

TEST(ModelFile, SniffsTfliteFromTheBytes) {
  const std::string path = temp_path("model.bin");  // the name says nothing
  write_bytes(path, tflite_test::serialize(tflite_test::mobilenet({})));
  const io::LoadedModel loaded = io::load_model(path);
  EXPECT_EQ(loaded.format, "tflite-float32");
  EXPECT_FALSE(loaded.model.config().batch_norm);
  EXPECT_EQ(loaded.preprocessing.mode, io::Preprocessing::Mode::TensorFlow);
  std::remove(path.c_str());
}

TEST(ModelFile, ForeignAndMissingFiles) {
  const std::string path = temp_path("foreign.txt");
  write_bytes(path, std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
  EXPECT_THROW_MESSAGE(io::load_model(path), FormatError, {path.c_str(), "neither a TensorFlow Lite model", "safetensors"});
  write_bytes(path, {});
  EXPECT_THROW_MESSAGE(io::load_model(path), FormatError, {path.c_str(), "neither"});
  std::remove(path.c_str());
  EXPECT_THROW_MESSAGE(io::load_model(path), IoError, {path.c_str(), "cannot open"});
}

// io::read_file, which every loader opens its path with: a path that cannot be read is an
// IoError, one that can but holds too much a FormatError, and every message names the path.
TEST(ReadFile, PathsThatCannotBeReadAreIoErrors) {
  const std::string missing = temp_path("read_file_missing.bin");
  EXPECT_THROW_MESSAGE(io::read_file(missing, 16, "thing"), IoError,
                       {missing.c_str(), "cannot open thing"});
  EXPECT_THROW_MESSAGE(io::read_file(::testing::TempDir(), 16, "thing"), IoError,
                       {"is a directory, expected a thing"});
  EXPECT_THROW_MESSAGE(io::read_file("/dev/null", 16, "thing"), IoError,
                       {"/dev/null", "is not a regular file"});
  const std::string dangling = temp_path("read_file_dangling.bin");
  std::filesystem::remove(dangling);
  std::filesystem::create_symlink(missing, dangling);
  EXPECT_THROW_MESSAGE(io::read_file(dangling, 16, "thing"), IoError,
                       {dangling.c_str(), "a symbolic link to a missing file"});
  std::filesystem::remove(dangling);
  const std::string file = temp_path("read_file_ok.bin");
  write_bytes(file, {1, 2, 3});
  EXPECT_EQ(io::read_file(file, 3, "thing"), (std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_THROW_MESSAGE(io::read_file(file, 2, "thing"), FormatError,
                       {file.c_str(), "thing of 3 bytes exceeds the limit of 2 bytes"});
  // Without read permission (not testable as root, who reads any file).
  std::filesystem::permissions(file, std::filesystem::perms::none);
  if (!std::ifstream(file)) EXPECT_THROW_MESSAGE(io::read_file(file, 16, "thing"), IoError, {file.c_str()});
  std::remove(file.c_str());
}

}  // namespace
}  // namespace mobilenet

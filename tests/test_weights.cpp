// SPDX-License-Identifier: MIT
// Loading and saving MobileNetV1 weights (safetensors, docs/weights-format.md).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "error_matchers.hpp"
#include "mobilenet/io/weights.hpp"

namespace mobilenet {
namespace {

MobileNetV1Config tiny(bool bias = false) {
  MobileNetV1Config c;
  c.alpha = 0.25;
  c.resolution = 32;
  c.num_classes = 7;
  c.conv_bias = bias;
  return c;
}

// Serialises all of a model's parameters, with `edit` free to drop, reshape or add tensors.
template <typename Edit>
io::SafetensorsFile weights_file(const MobileNetV1<float>& model, Edit edit) {
  io::SafetensorsWriter writer;
  model.for_each_parameter([&](const std::string& name, const Parameter<float>& p) {
    std::vector<Index> shape = p.shape();
    std::string out_name = name;
    if (edit(out_name, shape)) writer.add(out_name, shape, p.data());
  });
  return io::SafetensorsFile::parse(writer.serialize(), "weights.safetensors");
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/" + name;
}

TEST(Weights, SaveThenLoadRestoresEveryParameter) {
  MobileNetV1<float> source(tiny(true));
  source.randomize(8);
  const std::string path = temp_path("roundtrip.safetensors");
  io::save_weights(source, path);
  MobileNetV1<float> loaded(tiny(true));
  io::load_weights(loaded, path);
  Tensor<float> x(source.input_shape(1));
  x.set_random();
  EXPECT_EQ(loaded.predict(x).to_vector(), source.predict(x).to_vector());
  const auto file = io::SafetensorsFile::read(path);
  EXPECT_EQ(file.metadata().at("format"), "mobilenet_v1");
  EXPECT_EQ(file.info("dsconv13.pointwise.weight").shape, (std::vector<std::int64_t>{256, 256}));
  EXPECT_EQ(file.info("stem.conv.weight").dtype, io::DType::F32);
  std::remove(path.c_str());
}

TEST(Weights, DoubleModelLoadsFloatWeights) {
  MobileNetV1<float> source(tiny());
  source.randomize(1);
  MobileNetV1<double> target(tiny());
  io::load_weights(target, weights_file(source, [](std::string&, std::vector<Index>&) { return true; }));
  EXPECT_EQ(target.blocks[3].depthwise.weight().values().cast<float>(),
            source.blocks[3].depthwise.weight().values());
}

TEST(Weights, ConfigIsInferredFromTheFile) {
  MobileNetV1<float> source(tiny(true));
  const std::string path = temp_path("infer.safetensors");
  io::save_weights(source, path);
  const auto c = io::config_from_weights(io::SafetensorsFile::read(path));
  EXPECT_EQ(c.alpha, 0.25);
  EXPECT_EQ(c.num_classes, 7);
  EXPECT_TRUE(c.conv_bias);
  EXPECT_EQ(c.resolution, 32);  // recorded in the metadata
  std::remove(path.c_str());
}

TEST(Weights, MissingTensorNamesLayerAndShape) {
  MobileNetV1<float> model(tiny());
  const auto file = weights_file(model, [](std::string& name, std::vector<Index>&) {
    return name != "dsconv7.pointwise_bn.moving_variance";
  });
  EXPECT_THROW_MESSAGE(io::load_weights(model, file), FormatError,
                       {"weights.safetensors", "missing tensor 'dsconv7.pointwise_bn.moving_variance'",
                        "layer 'dsconv7.pointwise_bn' (BatchNorm)", "expected shape [128]"});
}

TEST(Weights, MisShapedTensorNamesLayerExpectedAndActual) {
  MobileNetV1<float> model(tiny());
  const auto file = weights_file(model, [](std::string& name, std::vector<Index>& shape) {
    if (name == "dsconv2.depthwise.weight") shape = {3, 3, 8, 2};  // same count, wrong shape
    return true;
  });
  EXPECT_THROW_MESSAGE(io::load_weights(model, file), ShapeError,
                       {"tensor 'dsconv2.depthwise.weight'", "layer 'dsconv2.depthwise' (DepthwiseConv2D)",
                        "has shape [3, 3, 8, 2]", "expected [3, 3, 16]"});
}

TEST(Weights, ClassifierForOtherClassCountIsRejected) {
  MobileNetV1<float> source(tiny());
  MobileNetV1Config other = tiny();
  other.num_classes = 1001;
  MobileNetV1<float> target(other);
  const auto file = weights_file(source, [](std::string&, std::vector<Index>&) { return true; });
  EXPECT_THROW_MESSAGE(io::load_weights(target, file), ShapeError,
                       {"'classifier.weight'", "has shape [256, 7]", "expected [256, 1001]"});
}

TEST(Weights, ForeignTensorsAreRejected) {
  MobileNetV1<float> with_bias(tiny(true));
  MobileNetV1<float> without_bias(tiny(false));
  const auto file = weights_file(with_bias, [](std::string&, std::vector<Index>&) { return true; });
  EXPECT_THROW_MESSAGE(io::load_weights(without_bias, file), FormatError,
                       {"unexpected tensor", "without convolution biases"});
  const auto no_bias_file = weights_file(without_bias, [](std::string&, std::vector<Index>&) { return true; });
  EXPECT_THROW_MESSAGE(io::load_weights(with_bias, no_bias_file), FormatError,
                       {"missing tensor 'stem.conv.bias'", "with convolution biases"});
}

TEST(Weights, WidthMismatchIsAShapeError) {
  MobileNetV1<float> quarter(tiny());
  MobileNetV1Config half = tiny();
  half.alpha = 0.5;
  MobileNetV1<float> target(half);
  const auto file = weights_file(quarter, [](std::string&, std::vector<Index>&) { return true; });
  EXPECT_THROW_MESSAGE(io::load_weights(target, file), ShapeError,
                       {"'stem.conv.weight'", "[3, 3, 3, 8]", "expected [3, 3, 3, 16]"});
}

TEST(Weights, NonFloatTensorIsRejected) {
  MobileNetV1<float> model(tiny());
  io::SafetensorsWriter writer;
  model.for_each_parameter([&](const std::string& name, const Parameter<float>& p) {
    if (name == "stem.bn.gamma") {
      std::vector<std::int32_t> ints(static_cast<std::size_t>(p.count()), 1);
      writer.add(name, p.shape(), ints.data());
    } else {
      writer.add(name, p.shape(), p.data());
    }
  });
  EXPECT_THROW_MESSAGE(io::load_weights(model, io::SafetensorsFile::parse(writer.serialize(), "w")),
                       FormatError, {"'stem.bn.gamma'", "I32"});
}

TEST(Weights, NegativeVarianceIsRejectedAtLoad) {
  MobileNetV1<float> model(tiny());
  model.blocks[0].depthwise_bn->moving_variance().values()[3] = -1.0f;
  const auto file = weights_file(model, [](std::string&, std::vector<Index>&) { return true; });
  MobileNetV1<float> target(tiny());
  EXPECT_THROW_MESSAGE(io::load_weights(target, file), ConfigError,
                       {"'dsconv1.depthwise_bn'", "moving_variance[3]"});
}

TEST(Weights, UnreadableFileNamesThePath) {
  MobileNetV1<float> model(tiny());
  EXPECT_THROW_MESSAGE(io::load_weights(model, "/nonexistent/dir/w.safetensors"), IoError,
                       {"/nonexistent/dir/w.safetensors"});
}

TEST(Weights, TruncatedFileIsAFormatError) {
  MobileNetV1<float> model(tiny());
  io::SafetensorsWriter writer;
  model.for_each_parameter([&](const std::string& name, const Parameter<float>& p) { writer.add(name, p.shape(), p.data()); });
  std::vector<std::uint8_t> bytes = writer.serialize();
  for (std::size_t keep : {std::size_t(0), std::size_t(5), std::size_t(100), bytes.size() - 1}) {
    std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep));
    EXPECT_THROW(io::SafetensorsFile::parse(cut, "cut.safetensors"), FormatError) << keep;
  }
}

}  // namespace
}  // namespace mobilenet

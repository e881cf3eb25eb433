// SPDX-License-Identifier: MIT
// Loading and saving MobileNetV1 weights (safetensors, docs/weights-format.md).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

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

// A tensor as a safetensors file stores it: dtype name, shape, little-endian bytes.
struct RawTensor {
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;
};

// Any little-endian scalar's bytes, repeated `count` times, with `odd` at index `at`.
template <typename U>
std::vector<std::uint8_t> repeated(std::size_t count, U value, std::size_t at, U odd) {
  std::vector<std::uint8_t> bytes(count * sizeof(U));
  for (std::size_t i = 0; i < count; ++i) io::detail::store_le(bytes.data() + i * sizeof(U), i == at ? odd : value);
  return bytes;
}

// A safetensors file of tensors in any dtype (the writer only makes F32, F64, I32 and U8).
std::vector<std::uint8_t> raw_file(const std::map<std::string, RawTensor>& tensors,
                                   const std::string& metadata = "") {
  std::string header = "{" + metadata;
  std::vector<std::uint8_t> data;
  for (const auto& item : tensors) {
    if (header.size() > 1) header += ",";
    header += "\"" + item.first + "\":{\"dtype\":\"" + item.second.dtype + "\",\"shape\":[";
    for (std::size_t i = 0; i < item.second.shape.size(); ++i)
      header += (i ? "," : "") + std::to_string(item.second.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(data.size()) + "," +
              std::to_string(data.size() + item.second.bytes.size()) + "]}";
    data.insert(data.end(), item.second.bytes.begin(), item.second.bytes.end());
  }
  header += "}";
  std::vector<std::uint8_t> file(8 + header.size() + data.size());
  io::detail::store_le(file.data(), static_cast<std::uint64_t>(header.size()));
  std::memcpy(file.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(file.data() + 8 + header.size(), data.data(), data.size());
  return file;
}

// Every parameter of `model` as F32.
std::map<std::string, RawTensor> raw_tensors(const MobileNetV1<float>& model) {
  std::map<std::string, RawTensor> tensors;
  model.for_each_parameter([&](const std::string& name, const Parameter<float>& p) {
    RawTensor& t = tensors[name];
    t.dtype = "F32";
    t.shape = p.shape();
    t.bytes.resize(static_cast<std::size_t>(p.count()) * 4);
    for (Index i = 0; i < p.count(); ++i) io::detail::store_le(t.bytes.data() + 4 * i, p.data()[i]);
  });
  return tensors;
}

TEST(Weights, NonFiniteValuesAreRefusedInEveryDType) {
  MobileNetV1<float> model(tiny());
  model.randomize(4);
  struct Case {
    std::string tensor, dtype;
    std::vector<std::uint8_t> (*bytes)(std::size_t);
    const char* element;
  };
  // Each replaces one tensor by 0.5s with one NaN or infinity (for F64, a value beyond float).
  const std::vector<Case> cases = {
      {"stem.conv.weight", "F32", [](std::size_t n) { return repeated<float>(n, 0.5f, 5, std::numeric_limits<float>::quiet_NaN()); }, "element 5"},
      {"classifier.bias", "F32", [](std::size_t n) { return repeated<float>(n, 0.5f, 2, -std::numeric_limits<float>::infinity()); }, "element 2"},
      {"dsconv3.pointwise.weight", "F16", [](std::size_t n) { return repeated<std::uint16_t>(n, 0x3800, 1, 0x7C00); }, "element 1"},
      {"dsconv1.depthwise.weight", "BF16", [](std::size_t n) { return repeated<std::uint16_t>(n, 0x3F00, 7, 0x7FC0); }, "element 7"},
      {"dsconv2.pointwise.weight", "F64", [](std::size_t n) { return repeated<double>(n, 0.5, 3, 1e300); }, "element 3"},
  };
  for (const Case& c : cases) {
    auto tensors = raw_tensors(model);
    RawTensor& t = tensors.at(c.tensor);
    std::size_t count = 1;
    for (std::int64_t d : t.shape) count *= static_cast<std::size_t>(d);
    t.dtype = c.dtype;
    t.bytes = c.bytes(count);
    const auto file = io::SafetensorsFile::parse(raw_file(tensors), "w.safetensors");
    MobileNetV1<float> target(tiny());
    const std::string tensor = "tensor '" + c.tensor + "'", read_as = c.dtype + " read as float";
    EXPECT_THROW_MESSAGE(io::load_weights(target, file), FormatError,
                         {"w.safetensors: ", tensor.c_str(), "non-finite", c.element, read_as.c_str()});
  }
  // 1e300 is finite as a double: a double model takes it.
  auto tensors = raw_tensors(model);
  tensors.at("dsconv2.pointwise.weight").dtype = "F64";
  tensors.at("dsconv2.pointwise.weight").bytes = repeated<double>(16 * 32, 0.5, 3, 1e300);
  MobileNetV1<double> wide(tiny());
  io::load_weights(wide, io::SafetensorsFile::parse(raw_file(tensors), "w.safetensors"));
  EXPECT_EQ(wide.blocks[1].pointwise.weight().values()[3], 1e300);
}

TEST(Weights, PathsThatAreNotRegularFilesOrTooLargeAreRefusedBeforeReading) {
  MobileNetV1<float> model(tiny());
  const std::string dir = temp_path("weights_dir.safetensors");
  std::filesystem::create_directories(dir);
  const std::string dir_source = dir + ": ";
  EXPECT_THROW_MESSAGE(io::load_weights(model, dir), IoError, {dir_source.c_str(), "directory"});
  std::filesystem::remove(dir);
  // Sparse: the size is set without writing, so no disk is used.
  const std::string big = temp_path("sparse.safetensors");
  { std::ofstream touch(big); }
  std::filesystem::resize_file(big, io::SafetensorsFile::kMaxFileBytes + 1);
  const std::string big_source = big + ": ";
  EXPECT_THROW_MESSAGE(io::load_weights(model, big), FormatError, {big_source.c_str(), "exceeds the limit"});
  std::remove(big.c_str());
}

// A file with `stem` as its stem weight and whatever `extra` adds, as U8 (the configuration
// reads shapes only, so the values need not be float).
io::SafetensorsFile shapes_only(const std::map<std::string, std::vector<std::int64_t>>& shapes,
                                const std::string& metadata = "") {
  std::map<std::string, RawTensor> tensors;
  for (const auto& item : shapes) {
    std::size_t count = 1;
    for (std::int64_t d : item.second) count *= static_cast<std::size_t>(d);
    tensors[item.first] = RawTensor{"U8", item.second, std::vector<std::uint8_t>(count)};
  }
  return io::SafetensorsFile::parse(raw_file(tensors, metadata), "w.safetensors");
}

TEST(Weights, ConfigurationsNeedingMoreValuesThanTheFileHoldsAreRefused) {
  // A 55 KB stem claims alpha 64: billions of weights.
  EXPECT_THROW_MESSAGE(io::config_from_weights(shapes_only({{"stem.conv.weight", {3, 3, 3, 2048}}})), FormatError,
                       {"w.safetensors: ", "hold 55296 values", "alpha 64", "'stem.conv.weight' of shape [3, 3, 3, 2048]"});
  // A channel floor of 4096 makes every layer 4096 wide: 200 M weights from a 110 KB stem.
  EXPECT_THROW_MESSAGE(io::config_from_weights(shapes_only({{"stem.conv.weight", {3, 3, 3, 4096}}},
                                                           R"("__metadata__":{"alpha":"1","min_depth":"4096"})")),
                       FormatError, {"w.safetensors: ", "hold 110592 values", "min_depth 4096"});
  // A 100 KB classifier.bias claims 100,000 classes: 25.6 M classifier weights at alpha 0.25.
  MobileNetV1<float> model(tiny());
  std::map<std::string, std::vector<std::int64_t>> shapes;
  model.for_each_parameter([&](const std::string& name, const Parameter<float>& p) {
    if (name != "classifier.weight") shapes[name] = p.shape();
  });
  shapes["classifier.bias"] = {100000};
  EXPECT_THROW_MESSAGE(io::config_from_weights(shapes_only(shapes)), FormatError,
                       {"w.safetensors: ", "100000 classes ('classifier.bias' of shape [100000])"});
  // A Dense head over an unpooled 32 x 32 map needs 32 * 32 * 256 inputs per class.
  shapes["classifier.bias"] = {7};
  const std::string dense = R"("__metadata__":{"head":"dense","pool_size":"1","resolution":"1024"})";
  EXPECT_THROW_MESSAGE(io::config_from_weights(shapes_only(shapes, dense)), FormatError,
                       {"w.safetensors: ", "7 classes", "has at least"});
  // The same file with its classifier, pooled globally, is fine.
  shapes["classifier.weight"] = {256, 7};
  EXPECT_EQ(io::config_from_weights(shapes_only(shapes)).num_classes, 7);
}

TEST(Weights, AlphaOutsideTheModelsRangeIsRefusedBeforeUse) {
  EXPECT_THROW_MESSAGE(io::config_from_weights(shapes_only({{"stem.conv.weight", {3, 3, 3, 4096}}})), FormatError,
                       {"w.safetensors: ", "alpha 128", "'stem.conv.weight' of shape [3, 3, 3, 4096]", "(0, 64]"});
  EXPECT_THROW_MESSAGE(io::config_from_weights(shapes_only({{"stem.conv.weight", {3, 3, 3, 8}}},
                                                           R"("__metadata__":{"alpha":"1e300"})")),
                       FormatError, {"w.safetensors: ", "metadata 'alpha'", "(0, 64]"});
  EXPECT_THROW_MESSAGE(io::config_from_weights(shapes_only({{"stem.conv.weight", {3, 3, 3, 0}}})), FormatError,
                       {"w.safetensors: ", "alpha 0", "(0, 64]"});
}

TEST(Weights, ModelRefusalsNameTheFile) {
  MobileNetV1<float> model(tiny());
  std::map<std::string, std::vector<std::int64_t>> shapes;
  model.for_each_parameter([&](const std::string& name, const Parameter<float>& p) { shapes[name] = p.shape(); });
  // Resolution 0: the model's own check, reported against the file.
  EXPECT_THROW_MESSAGE(io::config_from_weights(shapes_only(shapes, R"("__metadata__":{"resolution":"0"})")),
                       ConfigError, {"w.safetensors: ", "resolution"});
  model.blocks[0].depthwise_bn->moving_variance().values()[3] = -1.0f;
  MobileNetV1<float> target(tiny());
  EXPECT_THROW_MESSAGE(io::load_weights(target, weights_file(model, [](std::string&, std::vector<Index>&) { return true; })),
                       ConfigError, {"weights.safetensors: ", "moving_variance[3]"});
}

TEST(Weights, SymmetricPaddingIsBoundedByTheModelAndTheMetadata) {
  MobileNetV1<float> model(tiny());
  std::map<std::string, std::vector<std::int64_t>> shapes;
  model.for_each_parameter([&](const std::string& name, const Parameter<float>& p) { shapes[name] = p.shape(); });
  // 100 pixels a side grows every stride-1 layer's map by 198: far over the activation bound.
  EXPECT_THROW_MESSAGE(io::config_from_weights(shapes_only(shapes, R"("__metadata__":{"padding":"symmetric:100"})")),
                       ConfigError, {"w.safetensors: ", "symmetric(100)", "values in one activation"});
  EXPECT_THROW_MESSAGE(io::config_from_weights(shapes_only(shapes, R"("__metadata__":{"padding":"symmetric:99999"})")),
                       FormatError, {"w.safetensors: ", "'padding' = 'symmetric:99999'", "0 to 8192"});
  EXPECT_EQ(io::config_from_weights(shapes_only(shapes, R"("__metadata__":{"padding":"symmetric:1"})")).padding,
            Padding::symmetric(1));
}

}  // namespace
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
// The TFLite loader: synthetic files written by tests/tflite_builder.hpp for the layouts and
// every error path, and the real models of ../shared/data (MOBILENET_DATA_DIR) against the
// independent float64 reference of tests/golden/make_tflite_golden.py.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "mobilenet/io/safetensors.hpp"
#include "mobilenet/io/tflite.hpp"
#include "error_matchers.hpp"
#include "tflite_builder.hpp"

namespace {

using mobilenet::Activation;
using mobilenet::FormatError;
using mobilenet::Head;
using mobilenet::Index;
using mobilenet::Tensor;
using mobilenet::io::load_tflite;
using mobilenet::io::TfliteModel;

TfliteModel load(const tflite_test::Model& m, const std::string& name = "synthetic.tflite") {
  return load_tflite(tflite_test::serialize(m), name);
}

template <typename T>
T read_as(const std::vector<std::uint8_t>& bytes, std::size_t index) {
  T value;
  std::memcpy(&value, bytes.data() + index * sizeof(T), sizeof(T));
  return value;
}

const mobilenet::Parameter<float>& parameter(const mobilenet::MobileNetV1<float>& model,
                                             const std::string& name) {
  const mobilenet::Parameter<float>* found = nullptr;
  model.for_each_parameter([&](const std::string& full, const mobilenet::Parameter<float>& p) {
    if (full == name) found = &p;
  });
  if (!found) throw std::runtime_error("no parameter " + name);
  return *found;
}

// ---- Layouts and inference on synthetic files --------------------------------------------

TEST(TfliteSynthetic, FloatModelInfersItsConfiguration) {
  const TfliteModel loaded = load(tflite_test::mobilenet({}));
  const auto& c = loaded.model.config();
  EXPECT_EQ(loaded.format, "tflite-float32");
  EXPECT_DOUBLE_EQ(c.alpha, 1.0 / 128);
  EXPECT_EQ(c.resolution, 32);
  EXPECT_EQ(c.num_classes, 5);
  EXPECT_FALSE(c.batch_norm);
  EXPECT_EQ(c.activation, Activation::ReLU6);
  EXPECT_EQ(c.padding, mobilenet::Padding::same());
  EXPECT_TRUE(c.softmax);
  EXPECT_EQ(c.head, Head::Conv1x1);
  EXPECT_TRUE(loaded.labels.empty());
}

TEST(TfliteSynthetic, AlphaComesFromTheWidestLayer) {
  tflite_test::MobileNetSpec spec;
  spec.alpha = 0.03125;  // 1024 -> 32 channels at the end, 8 (the floor) at the start
  const TfliteModel loaded = load(tflite_test::mobilenet(spec));
  EXPECT_DOUBLE_EQ(loaded.model.config().alpha, 0.03125);
  EXPECT_EQ(loaded.model.features_shape(1).c, 32);
}

// OHWI -> HWIO, [1, kh, kw, C] -> [kh, kw, C], [O, 1, 1, I] -> [I, O], element by element.
TEST(TfliteSynthetic, WeightsAreMappedToOurLayouts) {
  const tflite_test::Model m = tflite_test::mobilenet({});
  const TfliteModel loaded = load(m);
  const auto& ops = m.operators;
  auto weights = [&](std::size_t op) { return m.tensors[static_cast<std::size_t>(ops[op].inputs[1])]; };

  const tflite_test::Tensor& stem = weights(0);  // [8, 3, 3, 3]
  const auto& stem_ours = parameter(loaded.model, "stem.conv.weight");
  ASSERT_EQ(stem_ours.shape(), (std::vector<Index>{3, 3, 3, 8}));
  for (int o = 0; o < 8; ++o)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 3; ++x)
        for (int i = 0; i < 3; ++i)
          ASSERT_EQ(stem_ours.data()[((y * 3 + x) * 3 + i) * 8 + o],
                    read_as<float>(stem.data, static_cast<std::size_t>(((o * 3 + y) * 3 + x) * 3 + i)));

  const tflite_test::Tensor& depthwise = weights(3);  // block 2 depthwise [1, 3, 3, 8]
  const auto& depthwise_ours = parameter(loaded.model, "dsconv2.depthwise.weight");
  ASSERT_EQ(depthwise_ours.shape(), (std::vector<Index>{3, 3, 8}));
  for (std::size_t k = 0; k < 72; ++k) ASSERT_EQ(depthwise_ours.data()[k], read_as<float>(depthwise.data, k));

  const tflite_test::Tensor& pointwise = weights(4);  // block 2 pointwise [8, 1, 1, 8]
  const auto& pointwise_ours = parameter(loaded.model, "dsconv2.pointwise.weight");
  for (int o = 0; o < 8; ++o)
    for (int i = 0; i < 8; ++i)
      ASSERT_EQ(pointwise_ours.data()[i * 8 + o], read_as<float>(pointwise.data, static_cast<std::size_t>(o * 8 + i)));

  const tflite_test::Tensor& classifier = weights(28);  // [5, 1, 1, 8]
  const auto& classifier_ours = parameter(loaded.model, "classifier.weight");
  ASSERT_EQ(classifier_ours.shape(), (std::vector<Index>{8, 5}));
  for (int o = 0; o < 5; ++o)
    for (int i = 0; i < 8; ++i)
      ASSERT_EQ(classifier_ours.data()[i * 5 + o], read_as<float>(classifier.data, static_cast<std::size_t>(o * 8 + i)));
  const tflite_test::Tensor& bias = m.tensors[static_cast<std::size_t>(ops[28].inputs[2])];
  for (std::size_t o = 0; o < 5; ++o)
    EXPECT_EQ(parameter(loaded.model, "classifier.bias").data()[o], read_as<float>(bias.data, o));
}

TEST(TfliteSynthetic, QuantizedWeightsAndBiasesAreDequantized) {
  tflite_test::MobileNetSpec spec;
  spec.quantized = true;
  const tflite_test::Model m = tflite_test::mobilenet(spec);
  const TfliteModel loaded = load(m);
  EXPECT_EQ(loaded.format, "tflite-uint8");
  EXPECT_EQ(loaded.model.config().activation, Activation::ReLU6);
  const auto& ops = m.operators;
  const tflite_test::Tensor& w = m.tensors[static_cast<std::size_t>(ops[2].inputs[1])];  // [8,1,1,8]
  const tflite_test::Tensor& b = m.tensors[static_cast<std::size_t>(ops[2].inputs[2])];
  const auto& ours = parameter(loaded.model, "dsconv1.pointwise.weight");
  for (int o = 0; o < 8; ++o)
    for (int i = 0; i < 8; ++i)
      ASSERT_FLOAT_EQ(ours.data()[i * 8 + o], (w.data[static_cast<std::size_t>(o * 8 + i)] - 128.0f) * w.scale[0]);
  for (std::size_t o = 0; o < 8; ++o)
    ASSERT_FLOAT_EQ(parameter(loaded.model, "dsconv1.pointwise.bias").data()[o],
                    static_cast<float>(read_as<std::int32_t>(b.data, o) * double(b.scale[0])));
}

TEST(TfliteSynthetic, PerChannelScalesFollowTheQuantizedDimension) {
  tflite_test::MobileNetSpec spec;
  spec.quantized = true;
  tflite_test::Model m = tflite_test::mobilenet(spec);
  tflite_test::Tensor& w = m.tensors[static_cast<std::size_t>(m.operators[0].inputs[1])];  // [8,3,3,3]
  w.scale = {0.01f, 0.02f, 0.03f, 0.04f, 0.05f, 0.06f, 0.07f, 0.08f};
  w.zero_point = {120, 121, 122, 123, 124, 125, 126, 127};
  const TfliteModel loaded = load(m);
  const auto& ours = parameter(loaded.model, "stem.conv.weight");
  for (int o = 0; o < 8; ++o)
    for (int k = 0; k < 27; ++k)  // k = (y * 3 + x) * 3 + i: HWIO puts it before o
      ASSERT_FLOAT_EQ(ours.data()[k * 8 + o], (w.data[static_cast<std::size_t>(o * 27 + k)] - (120.0f + o)) * w.scale[o]);

  w.scale.pop_back(), w.zero_point.pop_back();
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"7 scales along dimension 0", "Conv2d_0/weights"});
}

TEST(TfliteSynthetic, Float16AndInt8WeightsAreWidened) {
  tflite_test::Model m = tflite_test::mobilenet({});
  tflite_test::Tensor& w = m.tensors[static_cast<std::size_t>(m.operators[0].inputs[1])];  // [8,3,3,3]
  // IEEE half bit patterns and their values, including a subnormal (2^-24).
  const std::uint16_t halves[] = {0x3C00, 0xBC00, 0x3800, 0x3400, 0x0000, 0xC000, 0x3E00, 0x0001};
  const float values[] = {1.0f, -1.0f, 0.5f, 0.25f, 0.0f, -2.0f, 1.5f, 5.9604645e-8f};
  w.type = 1;
  w.data.resize(2 * 216);
  for (std::size_t k = 0; k < 216; ++k) std::memcpy(w.data.data() + 2 * k, &halves[k % 8], 2);
  {
    const TfliteModel loaded = load(m);
    EXPECT_EQ(loaded.format, "tflite-float16");
    const auto& ours = parameter(loaded.model, "stem.conv.weight");
    for (std::size_t o = 0; o < 8; ++o)
      for (std::size_t k = 0; k < 27; ++k)  // OHWI element o * 27 + k is HWIO element k * 8 + o
        ASSERT_EQ(ours.data()[k * 8 + o], values[(o * 27 + k) % 8]);
  }
  w.type = 9;  // INT8, asymmetric
  w.scale = {0.5f};
  w.zero_point = {-3};
  w.data.resize(216);
  for (std::size_t k = 0; k < 216; ++k) w.data[k] = static_cast<std::uint8_t>(static_cast<std::int8_t>(k % 200 - 100));
  const TfliteModel loaded = load(m);
  EXPECT_EQ(loaded.format, "tflite-int8");
  const auto& ours = parameter(loaded.model, "stem.conv.weight");
  for (std::size_t o = 0; o < 8; ++o)
    for (std::size_t k = 0; k < 27; ++k)
      ASSERT_EQ(ours.data()[k * 8 + o], (static_cast<float>((o * 27 + k) % 200) - 100.0f + 3.0f) * 0.5f);
}

// Float16 models keep their weights as FLOAT16 constants behind DEQUANTIZE operators.
TEST(TfliteSynthetic, DequantizeOperatorsAreReadThrough) {
  tflite_test::Model m = tflite_test::mobilenet({});
  const std::int32_t weights = m.operators[0].inputs[1];
  tflite_test::Tensor half = m.tensors[static_cast<std::size_t>(weights)];
  half.type = 1;
  half.data.assign(2 * 216, 0);
  for (std::size_t k = 0; k < 216; ++k) half.data[2 * k + 1] = 0x38;  // 0x3800 = 0.5
  m.tensors[static_cast<std::size_t>(weights)].data.clear();  // the float tensor is computed
  m.tensors.push_back(half);
  tflite_test::Operator dequantize;
  dequantize.code = 6;
  dequantize.inputs = {static_cast<std::int32_t>(m.tensors.size() - 1)};
  dequantize.outputs = {weights};
  m.operators.insert(m.operators.begin(), dequantize);
  const TfliteModel loaded = load(m);
  EXPECT_EQ(loaded.format, "tflite-float16");
  const auto& ours = parameter(loaded.model, "stem.conv.weight");
  for (Index k = 0; k < ours.count(); ++k) ASSERT_EQ(ours.data()[k], 0.5f);
}

TEST(TfliteSynthetic, QuantizedOutputRangeImpliesTheActivation) {
  tflite_test::MobileNetSpec spec;
  spec.quantized = true;
  spec.implied_relu6 = true;  // no fused activation; outputs quantized over [0, 6]
  tflite_test::Model m = tflite_test::mobilenet(spec);
  EXPECT_EQ(load(m).model.config().activation, Activation::ReLU6);
  for (std::size_t op = 0; op < 27; ++op)  // [0, 12]: unbounded above 6, so ReLU
    m.tensors[static_cast<std::size_t>(m.operators[op].outputs[0])].scale = {12.0f / 255};
  EXPECT_EQ(load(m).model.config().activation, Activation::ReLU);
  m.tensors[static_cast<std::size_t>(m.operators[5].outputs[0])].zero_point = {128};  // [-6, 6]
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"operator 5", "dsconv3.depthwise", "applies none", "stem applies relu"});
}

TEST(TfliteSynthetic, BackboneOnlyModelGivesFeatures) {
  tflite_test::MobileNetSpec spec;
  spec.classifier = false;
  spec.quantized = true;
  const TfliteModel loaded = load(tflite_test::mobilenet(spec));
  EXPECT_EQ(loaded.model.config().head, Head::None);
  EXPECT_FALSE(loaded.model.has_classifier());
  Tensor<float> image(loaded.model.input_shape(1));
  for (Index i = 0; i < image.size(); ++i) image.data()[i] = std::sin(0.1f * static_cast<float>(i));
  const Tensor<float> out = loaded.model.predict(image);
  const Tensor<float> features = loaded.model.features(image);
  ASSERT_EQ(out.shape(), mobilenet::Shape(1, 1, 1, 8));
  for (Index i = 0; i < 8; ++i) EXPECT_EQ(out.data()[i], features.data()[i]);
}

TEST(TfliteSynthetic, LabelsComeFromTheAppendedZip) {
  tflite_test::Model m = tflite_test::mobilenet({});
  m.trailer = tflite_test::stored_zip("labels.txt", "background\ncat\ndog\r\nfish\nbird\n");
  EXPECT_EQ(load(m).labels, (std::vector<std::string>{"background", "cat", "dog", "fish", "bird"}));

  m.trailer = tflite_test::stored_zip("labels.txt", "background\ncat\ndog\n");
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"synthetic.tflite", "labels.txt", "3 lines", "5 classes"});
  m.trailer = tflite_test::stored_zip("labels.txt", "a\nb\nc\nd\ne\n", /*corrupt_crc=*/true);
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"labels.txt", "CRC-32"});
}

// ---- Hostile and foreign files -----------------------------------------------------------

TEST(TfliteErrors, TruncatedFilesAreRejectedAtEveryLength) {
  const std::vector<std::uint8_t> bytes = tflite_test::serialize(tflite_test::mobilenet({}));
  for (std::size_t length = 0; length < bytes.size(); length += 1 + length / 16) {
    const std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_THROW(load_tflite(cut, "cut.tflite"), FormatError) << "length " << length;
  }
  EXPECT_THROW_MESSAGE(load_tflite(std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + 6), "x.tflite"), FormatError,
                      {"x.tflite", "at least 8 bytes"});
}

TEST(TfliteErrors, BadRootOffset) {
  std::vector<std::uint8_t> bytes = tflite_test::serialize(tflite_test::mobilenet({}));
  const std::uint32_t huge = 0xFFFFFFF0u;
  std::memcpy(bytes.data(), &huge, 4);
  EXPECT_THROW_MESSAGE(load_tflite(bytes, "root.tflite"), FormatError, {"root.tflite: byte 0", "root table offset"});
}

TEST(TfliteErrors, VtableOutOfRange) {
  std::vector<std::uint8_t> bytes = tflite_test::serialize(tflite_test::mobilenet({}));
  std::uint32_t root;
  std::memcpy(&root, bytes.data(), 4);
  const std::int32_t back = -0x7FFFFFF0;  // vtable far past the end
  std::memcpy(bytes.data() + root, &back, 4);
  const std::string where = "vt.tflite: byte " + std::to_string(root);
  EXPECT_THROW_MESSAGE(load_tflite(bytes, "vt.tflite"), FormatError, {where.c_str(), "vtable"});
}

TEST(TfliteErrors, HugeVectorCount) {
  std::vector<std::uint8_t> bytes = tflite_test::serialize(tflite_test::mobilenet({}));
  // Walk root -> vtable -> field 2 (subgraphs) -> the vector's count, by hand.
  auto u32 = [&](std::size_t at) { std::uint32_t v; std::memcpy(&v, bytes.data() + at, 4); return v; };
  const std::size_t root = u32(0);
  std::int32_t back;
  std::memcpy(&back, bytes.data() + root, 4);
  std::uint16_t field;
  std::memcpy(&field, bytes.data() + (root - static_cast<std::size_t>(back)) + 4 + 2 * 2, 2);
  const std::size_t slot = root + field, vector = slot + u32(slot);
  const std::uint32_t huge = 0xFFFFFFFFu;
  std::memcpy(bytes.data() + vector, &huge, 4);
  EXPECT_THROW_MESSAGE(load_tflite(bytes, "count.tflite"), FormatError, {"count.tflite", "4294967295 elements", "does not fit"});
}

TEST(TfliteErrors, WrongIdentifierAndVersion) {
  tflite_test::Model m = tflite_test::mobilenet({});
  std::vector<std::uint8_t> bytes = tflite_test::serialize(m);
  bytes[4] = 'X';
  EXPECT_THROW_MESSAGE(load_tflite(bytes, "id.tflite"), FormatError, {"'TFL3'", "TensorFlow Lite"});
  m.version = 2;
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"schema version 2, expected 3"});
}

TEST(TfliteErrors, WrongTensorTypeOrSize) {
  tflite_test::Model m = tflite_test::mobilenet({});
  tflite_test::Tensor& w = m.tensors[static_cast<std::size_t>(m.operators[1].inputs[1])];
  w.type = 4;  // INT64
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"operator 1 (DEPTHWISE_CONV_2D)", "dsconv1.depthwise", "type INT64"});
  w.type = 0;
  w.data.resize(w.data.size() - 4);
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"needs 288 bytes, its buffer has 284"});
  w.data.clear();  // no buffer at all
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"needs 288 bytes, its buffer has 0"});
}

TEST(TfliteErrors, ForeignGraphsSayWhatWasExpected) {
  tflite_test::Model m = tflite_test::mobilenet({});
  m.operators[3].code = tflite_test::kAdd;
  m.operators[3].options_type = 0;
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"operator 3 (builtin operator 0)", "block 2 depthwise (DEPTHWISE_CONV_2D)",
                                         "is this a MobileNetV1 model?"});
  m = tflite_test::mobilenet({});
  m.operators.resize(9);
  m.outputs = m.operators.back().outputs;
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"the graph ends after 9 operators", "block 5 depthwise"});
  m = tflite_test::mobilenet({});
  m.operators[7].inputs[0] = m.operators[5].outputs[0];  // skips a layer
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"operator 7", "does not read the previous layer's output"});
  m = tflite_test::mobilenet({});
  m.operators[3].stride = 1;
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"operator 3", "stride 1x1; MobileNetV1 has 2"});
}

TEST(TfliteErrors, WrongChannelCounts) {
  tflite_test::Model m = tflite_test::mobilenet({});
  // Block 5's pointwise outputs 16 channels instead of 8 (weights, bias and activation agree).
  tflite_test::Operator& op = m.operators[10];
  tflite_test::Tensor& w = m.tensors[static_cast<std::size_t>(op.inputs[1])];
  tflite_test::Tensor& b = m.tensors[static_cast<std::size_t>(op.inputs[2])];
  w.shape[0] = 16, w.data.resize(w.data.size() * 2);
  b.shape[0] = 16, b.data.resize(b.data.size() * 2);
  m.tensors[static_cast<std::size_t>(op.outputs[0])].shape[3] = 16;
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"operator 10 (CONV_2D)", "dsconv5.pointwise", "have shape [16, 1, 1, 8]",
                                         "expects [8, 1, 1, 8]"});
  // Weights right, but the activation the file declares is not what the layers compute.
  m = tflite_test::mobilenet({});
  m.tensors[static_cast<std::size_t>(m.operators[10].outputs[0])].shape[3] = 16;
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"operator 10 (CONV_2D)", "dsconv5.pointwise", "outputs [1, 4, 4, 16]",
                                         "computes [1, 4, 4, 8]"});
}

// ---- Every index the file holds is checked against what it indexes --------------------

std::string range_of(const tflite_test::Model& m) { return "[0, " + std::to_string(m.tensors.size()) + ")"; }

// An operator's output must be a tensor: -1 (allowed for inputs) would index tensors[-1].
TEST(TfliteIndices, OperatorOutputMinusOneIsRefused) {
  tflite_test::Model m = tflite_test::mobilenet({});
  m.operators[5].outputs[0] = -1;
  m.operators[6].inputs[0] = -1;  // the next layer reads it, so the chain stays intact
  const std::string range = "outside the valid range " + range_of(m);
  EXPECT_THROW_MESSAGE(load(m, "out.tflite"), FormatError,
                       {"out.tflite: byte ", "operator 5 output 0 refers to tensor -1", range.c_str()});
  // The same at the end of a backbone, where the graph output names the pool's output.
  tflite_test::MobileNetSpec spec;
  spec.classifier = false;
  m = tflite_test::mobilenet(spec);
  m.operators.back().outputs[0] = -1;
  m.outputs = {-1};
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"output 0 refers to tensor -1, outside the valid range"});
}

TEST(TfliteIndices, OperatorInputsAreTensorsOrAbsent) {
  tflite_test::Model m = tflite_test::mobilenet({});
  const std::int32_t count = static_cast<std::int32_t>(m.tensors.size());
  m.operators[3].inputs[1] = count;
  const std::string refers = "operator 3 input 1 refers to tensor " + std::to_string(count);
  const std::string range = "-1 (absent) or " + range_of(m);
  EXPECT_THROW_MESSAGE(load(m), FormatError, {refers.c_str(), range.c_str()});
  m.operators[3].inputs[1] = -2;
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"operator 3 input 1 refers to tensor -2"});
  // -1 is TFLite's optional input left out: a layer without a bias loads with zero bias.
  m = tflite_test::mobilenet({});
  m.operators[3].inputs[2] = -1;
  const TfliteModel loaded = load(m);
  for (Index c = 0; c < 8; ++c) EXPECT_EQ(parameter(loaded.model, "dsconv2.depthwise.bias").data()[c], 0.0f);
}

TEST(TfliteIndices, GraphInputsAndOutputsAreTensors) {
  tflite_test::Model m = tflite_test::mobilenet({});
  const std::string range = range_of(m);
  m.inputs = {-1};
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"graph input 0 refers to tensor -1", range.c_str()});
  m = tflite_test::mobilenet({});
  m.outputs = {static_cast<std::int32_t>(m.tensors.size())};
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"graph output 0 refers to tensor", range.c_str()});
}

TEST(TfliteIndices, TensorBufferIndexIsABuffer) {
  tflite_test::Model m = tflite_test::mobilenet({});
  m.tensors[0].buffer = 1000;  // the input, which has no data
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"tensor 0 'input' refers to buffer 1000, outside the valid range [0, "});
}

TEST(TfliteIndices, OpcodeIndexIsAnOpcode) {
  tflite_test::Model m = tflite_test::mobilenet({});
  m.operators[4].code_index = 7;  // the file has 5 opcodes
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"operator 4 refers to opcode 7, outside the valid range [0, 5)"});
}

TEST(TfliteIndices, MetadataBufferIndicesAreBuffers) {
  tflite_test::Model m = tflite_test::mobilenet({});
  m.metadata = {{"min_runtime_version", 0}};
  EXPECT_NO_THROW(load(m));
  m.metadata = {{"min_runtime_version", 4096}};
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"metadata 0 refers to buffer 4096, outside the valid range"});
  m.metadata.clear();
  m.metadata_buffer = {0, -5};
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"metadata buffer entry 1 refers to buffer -5"});
}

// ---- Quantization parameters dequantize to finite values ----------------------------------

tflite_test::Model quantized_model() {
  tflite_test::MobileNetSpec spec;
  spec.quantized = true;
  return tflite_test::mobilenet(spec);
}

tflite_test::Tensor& weights_of(tflite_test::Model& m, std::size_t op) {
  return m.tensors[static_cast<std::size_t>(m.operators[op].inputs[1])];
}
tflite_test::Tensor& bias_of(tflite_test::Model& m, std::size_t op) {
  return m.tensors[static_cast<std::size_t>(m.operators[op].inputs[2])];
}

TEST(TfliteQuantization, ScaleMustBePositiveAndFinite) {
  for (float bad : {0.0f, -0.004f, std::nanf(""), INFINITY}) {
    tflite_test::Model m = quantized_model();
    weights_of(m, 2).scale = {bad};
    EXPECT_THROW_MESSAGE(load(m, "scale.tflite"), FormatError,
                         {"scale.tflite: byte ", "'Conv2d_1_pointwise/weights' has quantization scale",
                          "must be positive and finite"});
  }
}

TEST(TfliteQuantization, ZeroPointMustFitTheType) {
  tflite_test::Model m = quantized_model();
  weights_of(m, 2).zero_point = {256};
  EXPECT_THROW_MESSAGE(load(m), FormatError,
                       {"'Conv2d_1_pointwise/weights' of type UINT8 has zero point 256", "outside [0, 255]"});
  m = quantized_model();
  weights_of(m, 2).type = 9;  // INT8
  weights_of(m, 2).zero_point = {-129};
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"of type INT8 has zero point -129", "outside [-128, 127]"});
  m = quantized_model();
  bias_of(m, 2).zero_point = {3};
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_1_pointwise/bias' of type INT32 has zero point 3"});
}

TEST(TfliteQuantization, PerChannelParametersMatchTheChannels) {
  tflite_test::Model m = quantized_model();
  tflite_test::Tensor& w = weights_of(m, 0);  // [8, 3, 3, 3]
  w.scale.assign(8, 0.01f);
  w.zero_point.assign(7, 128);
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_0/weights' has 8 scales but 7 zero points"});
  w.zero_point.assign(8, 128);
  w.quantized_dimension = 4;  // past the rank
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_0/weights' has 8 scales along dimension 4"});
  w.quantized_dimension = 3;  // 3 channels there, not 8
  EXPECT_THROW_MESSAGE(load(m), FormatError,
                       {"'Conv2d_0/weights' has 8 scales along dimension 3 of shape [8, 3, 3, 3]"});
  w.quantized_dimension = 0;
  EXPECT_NO_THROW(load(m));
}

// Float models with int8 weights keep float biases (see Float16AndInt8WeightsAreWidened).
TEST(TfliteQuantization, QuantizedModelsHaveInt32Biases) {
  tflite_test::Model m = quantized_model();
  bias_of(m, 2).type = 0;  // FLOAT32, same byte count as INT32
  EXPECT_THROW_MESSAGE(load(m), FormatError,
                       {"operator 2 (CONV_2D)", "dsconv1.pointwise", "'Conv2d_1_pointwise/bias') is FLOAT32",
                        "with a UINT8 input it must be INT32"});
}

// A bias without its own scale takes input scale x weight scale; without an input scale there is none.
TEST(TfliteQuantization, ABiasScaleCannotBeDerivedFromNothing) {
  tflite_test::Model m = quantized_model();
  bias_of(m, 0).scale.clear(), bias_of(m, 0).zero_point.clear();
  EXPECT_NO_THROW(load(m));
  m.tensors[static_cast<std::size_t>(m.inputs[0])].scale.clear();
  m.tensors[static_cast<std::size_t>(m.inputs[0])].zero_point.clear();
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_0/bias') has no scale", "input scale 0"});
}

// ---- Memory bounds -------------------------------------------------------------------------

// A small file can declare a huge input; the model's activation bound refuses it at load.
TEST(TfliteBounds, HugeInputIsRefusedAtLoad) {
  tflite_test::MobileNetSpec spec;
  spec.resolution = 8192;  // 8192 x 8192 x 3 values in the input alone
  EXPECT_THROW_MESSAGE(load(tflite_test::mobilenet(spec), "huge.tflite"), FormatError,
                       {"huge.tflite: input tensor 'input' has shape [1, 8192, 8192, 3]",
                        "values in one activation"});
}

// Random byte flips of a valid file: each must load or throw a mobilenet::Error; under the
// sanitizers this also shows nothing reads out of bounds.
TEST(TfliteErrors, CorruptedFilesLoadOrThrowCleanly) {
  tflite_test::MobileNetSpec spec;
  spec.quantized = true;
  tflite_test::Model m = tflite_test::mobilenet(spec);
  m.trailer = tflite_test::stored_zip("labels.txt", "a\nb\nc\nd\ne\n");
  const std::vector<std::uint8_t> bytes = tflite_test::serialize(m);
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> position(0, bytes.size() - 1);
  std::uniform_int_distribution<int> value(0, 255);
  int rejected = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<std::uint8_t> corrupted = bytes;
    for (int flips = 0; flips < 4; ++flips)
      corrupted[position(rng)] = static_cast<std::uint8_t>(value(rng));
    try {
      load_tflite(corrupted, "corrupted.tflite");
    } catch (const mobilenet::Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
}

// ---- The real models ---------------------------------------------------------------------

std::string data_dir() {
  const char* env = std::getenv("MOBILENET_DATA_DIR");
  return env && *env ? env : std::string(MOBILENET_SOURCE_DIR) + "/../shared/data";
}

std::string model_path(const std::string& file) { return data_dir() + "/models/" + file; }

bool exists(const std::string& path) { return std::ifstream(path).good(); }

#define REQUIRE_MODEL(file)                                                                   \
  if (!exists(model_path(file)))                                                              \
  GTEST_SKIP() << model_path(file) << " not found: set MOBILENET_DATA_DIR to the shared data " \
                                      "directory (see README) to run the real-model tests"

struct RealModel {
  const char* file;
  double alpha;
  Index resolution;
  Index classes;  // 0: backbone only
  const char* format;
  std::size_t labels;
};

void PrintTo(const RealModel& model, std::ostream* os) { *os << model.file; }

const RealModel kRealModels[] = {
    {"mobilenet_v1_0.25_224.tflite", 0.25, 224, 1001, "tflite-float32", 0},
    {"mobilenet_v1_0.25_224_metadata.tflite", 0.25, 224, 1001, "tflite-float32", 1001},
    {"mobilenet_v1_0.25_224_quant.tflite", 0.25, 224, 1001, "tflite-uint8", 1001},
    {"mobilenet_v1_0.25_128_quant.tflite", 0.25, 128, 1001, "tflite-uint8", 1001},
    {"mobilenet_v1_0.5_160_quant.tflite", 0.5, 160, 1001, "tflite-uint8", 1001},
    {"mobilenet_v1_0.75_192_quant.tflite", 0.75, 192, 1001, "tflite-uint8", 1001},
    {"mobilenet_v1_1.0_224_quant_embedding_extractor.tflite", 1.0, 224, 0, "tflite-uint8", 0},
};

class TfliteRealModel : public ::testing::TestWithParam<RealModel> {};

TEST_P(TfliteRealModel, LoadsWithItsConfiguration) {
  const RealModel& expected = GetParam();
  REQUIRE_MODEL(expected.file);
  const TfliteModel loaded = load_tflite(model_path(expected.file));
  const auto& c = loaded.model.config();
  EXPECT_DOUBLE_EQ(c.alpha, expected.alpha);
  EXPECT_EQ(c.resolution, expected.resolution);
  EXPECT_EQ(loaded.format, expected.format);
  EXPECT_EQ(loaded.labels.size(), expected.labels);
  EXPECT_EQ(c.activation, Activation::ReLU6);
  EXPECT_EQ(c.padding, mobilenet::Padding::same());
  EXPECT_FALSE(c.batch_norm);
  if (expected.classes == 0) {
    EXPECT_EQ(c.head, Head::None);
    EXPECT_EQ(loaded.model.output_shape(1), mobilenet::Shape(1, 1, 1, 1024));
  } else {
    EXPECT_EQ(c.num_classes, expected.classes);
    EXPECT_TRUE(c.softmax);
  }
}

// Our reader against the dump.txt written by another tool: every tensor's type, shape,
// buffer, name and quantization, and every operator's code and operands.
TEST_P(TfliteRealModel, ReaderAgreesWithTheDump) {
  const std::string file = GetParam().file;
  REQUIRE_MODEL(file);
  const std::string dump_path = model_path(file.substr(0, file.size() - 7) + ".dump.txt");
  if (!exists(dump_path)) GTEST_SKIP() << "no " << dump_path;
  const std::vector<std::uint8_t> bytes = mobilenet::io::read_file(model_path(file), 1u << 30);
  const auto parsed = mobilenet::io::parse_tflite(bytes.data(), bytes.size(), file);
  std::ifstream dump(dump_path);
  std::string line;
  std::size_t tensors = 0, operators = 0;
  while (std::getline(dump, line)) {
    std::istringstream in(line);
    std::string kind;
    in >> kind;
    if (kind == "t") {
      std::size_t index;
      std::string type, rest;
      in >> index >> type;
      ASSERT_LT(index, parsed.tensors.size());
      const auto& t = parsed.tensors[index];
      std::string upper = type;
      for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      EXPECT_EQ(mobilenet::io::tflite_schema::type_name(t.type), upper) << line;
      EXPECT_NE(line.find(mobilenet::detail::shape_to_string(t.shape) + " "), std::string::npos) << line;
      EXPECT_NE(line.find(" " + t.name), std::string::npos) << line;
      std::ostringstream buffer;
      buffer << "buf=" << (t.buffer < 10 ? "  " : t.buffer < 100 ? " " : "") << t.buffer;
      EXPECT_NE(line.find(buffer.str()), std::string::npos) << line << " vs " << buffer.str();
      const std::size_t scale_at = line.find("scale=");
      if (scale_at != std::string::npos) {
        ASSERT_FALSE(t.scale.empty()) << line;
        EXPECT_NEAR(std::stod(line.substr(scale_at + 6)), t.scale[0], 1e-5 * t.scale[0]) << line;
        EXPECT_EQ(std::stoll(line.substr(line.find("zp=") + 3)), t.zero_point[0]) << line;
      }
      ++tensors;
    } else if (kind == "op") {
      std::size_t index;
      std::string name;
      in >> index >> name;
      ASSERT_LT(index, parsed.operators.size());
      const auto& op = parsed.operators[index];
      EXPECT_EQ(mobilenet::io::tflite_schema::operator_name(op.code), name) << line;
      const std::string operands = "in=" + mobilenet::detail::shape_to_string(op.inputs) +
                                   " out=" + mobilenet::detail::shape_to_string(op.outputs);
      EXPECT_NE(line.find(operands), std::string::npos) << line << " vs " << operands;
      ++operators;
    }
  }
  EXPECT_EQ(tensors, parsed.tensors.size());
  EXPECT_EQ(operators, parsed.operators.size());
}

INSTANTIATE_TEST_SUITE_P(SharedData, TfliteRealModel, ::testing::ValuesIn(kRealModels),
                         [](const ::testing::TestParamInfo<RealModel>& info) {
                           std::string name = info.param.file;
                           name = name.substr(0, name.size() - 7);
                           for (char& ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(TfliteRealLabels, MetadataLabelsMatchTheImageNetList) {
  REQUIRE_MODEL("mobilenet_v1_0.25_224_metadata.tflite");
  const std::vector<std::string> reference = read_lines(data_dir() + "/labels/imagenet_labels_1001.txt");
  ASSERT_EQ(reference.size(), 1001u);
  // This file keeps the first name of each class ("tench" for "tench, Tinca tinca").
  const auto short_names = load_tflite(model_path("mobilenet_v1_0.25_224_metadata.tflite")).labels;
  ASSERT_EQ(short_names.size(), 1001u);
  for (std::size_t i = 0; i < 1001; ++i)
    EXPECT_EQ(short_names[i], reference[i].substr(0, reference[i].find(','))) << "line " << i;
  REQUIRE_MODEL("mobilenet_v1_0.25_128_quant.tflite");
  EXPECT_EQ(load_tflite(model_path("mobilenet_v1_0.25_128_quant.tflite")).labels, reference);
}

// The synthetic image of make_tflite_golden.py.
Tensor<float> synthetic_image(Index resolution) {
  Tensor<float> image(mobilenet::Shape(1, resolution, resolution, 3));
  for (Index h = 0; h < resolution; ++h)
    for (Index w = 0; w < resolution; ++w)
      for (Index c = 0; c < 3; ++c)
        image.data()[(h * resolution + w) * 3 + c] = static_cast<float>(
            0.9 * std::sin(0.07 * double(h) + 0.11 * double(w) + 1.3 * double(c)) *
            std::cos(0.05 * double(h - w) + 0.4 * double(c)));
  return image;
}

struct GoldenCase {
  const char* file;
  const char* key;
  double tolerance;  // absolute, on probabilities or features
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.file; }

// Tolerances: float32 against float64 over 28 layers stays below 1e-5 on these outputs. The
// 0.25/224 uint8 model has no fused activation; TFLite clamps its outputs to the uint8 range
// [0, 5.9998] where we apply ReLU6's [0, 6], which moves its probabilities by up to ~2e-4.
const GoldenCase kGoldenCases[] = {
    {"mobilenet_v1_0.25_224.tflite", "mobilenet_v1_0.25_224.probabilities", 1e-5},
    {"mobilenet_v1_0.25_224_quant.tflite", "mobilenet_v1_0.25_224_quant.probabilities", 5e-4},
    {"mobilenet_v1_0.5_160_quant.tflite", "mobilenet_v1_0.5_160_quant.probabilities", 1e-5},
    {"mobilenet_v1_1.0_224_quant_embedding_extractor.tflite",
     "mobilenet_v1_1.0_224_quant_embedding_extractor.features", 1e-4},
};

class TfliteGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(TfliteGolden, MatchesTheIndependentReference) {
  const GoldenCase& c = GetParam();
  REQUIRE_MODEL(c.file);
  const auto golden = mobilenet::io::SafetensorsFile::read(std::string(MOBILENET_GOLDEN_DIR) +
                                                           "/tflite_reference.safetensors");
  const std::vector<double> expected = golden.to_vector<double>(c.key);
  const TfliteModel loaded = load_tflite(model_path(c.file));
  const Tensor<float> out = loaded.model.predict(synthetic_image(loaded.model.config().resolution));
  ASSERT_EQ(static_cast<std::size_t>(out.size()), expected.size());
  std::size_t top = 0, expected_top = 0;
  double worst = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    worst = std::max(worst, std::abs(double(out.data()[i]) - expected[i]));
    if (out.data()[i] > out.data()[top]) top = i;
    if (expected[i] > expected[expected_top]) expected_top = i;
  }
  EXPECT_LE(worst, c.tolerance);
  EXPECT_EQ(top, expected_top);
}

INSTANTIATE_TEST_SUITE_P(SharedData, TfliteGolden, ::testing::ValuesIn(kGoldenCases),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) {
                           return std::to_string(info.index);
                         });

TEST(TfliteRealEmbedding, BackboneGivesAStableNonTrivialEmbedding) {
  const char* file = "mobilenet_v1_1.0_224_quant_embedding_extractor.tflite";
  REQUIRE_MODEL(file);
  const TfliteModel loaded = load_tflite(model_path(file));
  const Tensor<float> image = synthetic_image(224);
  const Tensor<float> first = loaded.model.predict(image);
  const Tensor<float> second = loaded.model.features(image);
  ASSERT_EQ(first.size(), 1024);
  ASSERT_EQ(second.size(), 1024);
  double sum = 0, sum_squares = 0;
  for (Index i = 0; i < 1024; ++i) {
    ASSERT_TRUE(std::isfinite(first.data()[i]));
    ASSERT_EQ(first.data()[i], second.data()[i]) << "feature " << i;
    sum += first.data()[i], sum_squares += double(first.data()[i]) * first.data()[i];
  }
  const double mean = sum / 1024, spread = std::sqrt(sum_squares / 1024 - mean * mean);
  EXPECT_GT(spread, 0.1) << "features nearly constant";
  const Tensor<float> again = load_tflite(model_path(file)).model.predict(image);
  EXPECT_EQ(std::memcmp(again.data(), first.data(), 1024 * sizeof(float)), 0);
}

// The official float model with its input shape rewritten to [1, 8192, 8192, 3]: a 1.9 MB file
// that would need gigabytes per image is refused at load.
TEST(TfliteRealErrors, HugeDeclaredInputIsRefusedAtLoad) {
  REQUIRE_MODEL("mobilenet_v1_0.25_224.tflite");
  std::vector<std::uint8_t> bytes = mobilenet::io::read_file(model_path("mobilenet_v1_0.25_224.tflite"), 1u << 30);
  const std::int32_t shape[5] = {4, 1, 224, 224, 3};  // the input's shape vector: count, then dims
  const auto at = std::search(bytes.begin(), bytes.end(), reinterpret_cast<const std::uint8_t*>(shape),
                              reinterpret_cast<const std::uint8_t*>(shape) + sizeof(shape));
  ASSERT_NE(at, bytes.end());
  const std::int32_t huge = 8192;
  std::memcpy(&*at + 8, &huge, 4);
  std::memcpy(&*at + 12, &huge, 4);
  EXPECT_THROW_MESSAGE(load_tflite(bytes, "huge_input.tflite"), FormatError,
                       {"huge_input.tflite: input tensor", "[1, 8192, 8192, 3]", "values in one activation"});
}

TEST(TfliteRealErrors, AForeignFileIsNotMistakenForAModel) {
  REQUIRE_MODEL("mobilenet_v1_0.25_224.h5");
  EXPECT_THROW_MESSAGE(load_tflite(model_path("mobilenet_v1_0.25_224.h5")), FormatError,
                      {"mobilenet_v1_0.25_224.h5", "TensorFlow Lite"});
}

TEST(TfliteFile, PathsThatCannotBeOpenedAreIoErrors) {
  const std::string missing = ::testing::TempDir() + "/no_such_model.tflite";
  EXPECT_THROW_MESSAGE(load_tflite(missing), mobilenet::IoError, {missing.c_str(), "cannot open"});
  EXPECT_THROW_MESSAGE(load_tflite(::testing::TempDir()), mobilenet::IoError, {"is a directory"});
}

}  // namespace

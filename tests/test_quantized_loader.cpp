// SPDX-License-Identifier: MIT
// core/quantization.hpp on hand-checked values; io::load_tflite_quantized on synthetic files
// (tests/tflite_builder.hpp): what it fills in, the int8 per-channel scheme end to end, and
// every refusal of bad quantization parameters, each naming the tensor.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "mobilenet/io/file.hpp"
#include "mobilenet/io/tflite.hpp"
#include "mobilenet/io/tflite_quantized.hpp"
#include "mobilenet/model/quantized_reference.hpp"
#include "error_matchers.hpp"
#include "shared_data.hpp"
#include "int8_tflite_model.hpp"
#include "tflite_builder.hpp"

namespace {

using mobilenet::FormatError;
using mobilenet::QuantizedMobileNetV1;
using mobilenet::Requantization;
namespace io = mobilenet::io;

constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();

// ---- core/quantization.hpp -----------------------------------------------------------------

TEST(Quantization, QuantizeMultiplierByHand) {
  // 0.75 = 0.75 * 2^0: mantissa 0.75 * 2^31 = 1610612736, shift 0.
  EXPECT_EQ(mobilenet::quantize_multiplier(0.75).multiplier, 1610612736);
  EXPECT_EQ(mobilenet::quantize_multiplier(0.75).shift, 0);
  // 0.1 = 0.8 * 2^-3: round(0.8 * 2^31) = 1717986918.4 -> 1717986918.
  EXPECT_EQ(mobilenet::quantize_multiplier(0.1).multiplier, 1717986918);
  EXPECT_EQ(mobilenet::quantize_multiplier(0.1).shift, -3);
  // 3.0 = 0.75 * 2^2: shift > 0.
  EXPECT_EQ(mobilenet::quantize_multiplier(3.0).multiplier, 1610612736);
  EXPECT_EQ(mobilenet::quantize_multiplier(3.0).shift, 2);
  // A mantissa that rounds up to 2^31 becomes 2^30 with the exponent one higher.
  const double almost_one = 1.0 - std::ldexp(1.0, -40);
  EXPECT_EQ(mobilenet::quantize_multiplier(almost_one).multiplier, 1 << 30);
  EXPECT_EQ(mobilenet::quantize_multiplier(almost_one).shift, 1);
  EXPECT_EQ(mobilenet::quantize_multiplier(0.0).multiplier, 0);
  EXPECT_EQ(mobilenet::quantize_multiplier(std::ldexp(1.0, -40)).multiplier, 0);  // below 2^-32
  EXPECT_THROW(mobilenet::quantize_multiplier(-1.0), mobilenet::ConfigError);
  EXPECT_THROW(mobilenet::quantize_multiplier(std::ldexp(1.0, 31)), mobilenet::ConfigError);
}

TEST(Quantization, PerTensorMultiplierRoundsTheScaleProductToFloat) {
  // float(s_in * s_w) differs from the double product; TFLite divides the float one.
  const float s_in = 0.0235294122f, s_w = 0.00415681582f, s_out = 0.0235294122f;
  const Requantization t = mobilenet::conv_requantization_per_tensor(s_in, s_w, s_out);
  const Requantization want = mobilenet::quantize_multiplier(double(s_in * s_w) / double(s_out));
  EXPECT_EQ(t.multiplier, want.multiplier);
  EXPECT_EQ(t.shift, want.shift);
  const Requantization d = mobilenet::conv_requantization_per_channel(s_in, s_w, s_out);
  const Requantization want_d = mobilenet::quantize_multiplier(double(s_in) * double(s_w) / double(s_out));
  EXPECT_EQ(d.multiplier, want_d.multiplier);
}

TEST(Quantization, DoublingHighMulByHand) {
  // (a * b * 2) / 2^32 rounded to nearest; gemmlowp's nudge then truncating division sends a
  // negative tie up (-1.5 -> -1), a positive one up too (1.5 -> 2).
  EXPECT_EQ(mobilenet::saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
  EXPECT_EQ(mobilenet::saturating_rounding_doubling_high_mul(kMin, kMin), kMax);  // the one overflow
  EXPECT_EQ(mobilenet::saturating_rounding_doubling_high_mul(kMin, kMax), -kMax);
  EXPECT_EQ(mobilenet::saturating_rounding_doubling_high_mul(3, 1 << 30), 2);    // 1.5 -> 2
  EXPECT_EQ(mobilenet::saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);  // -1.5 -> -1
  EXPECT_EQ(mobilenet::saturating_rounding_doubling_high_mul(5, 1 << 29), 1);    // 1.25 -> 1
  EXPECT_EQ(mobilenet::saturating_rounding_doubling_high_mul(-5, 1 << 29), -1);  // -1.25 -> -1
}

TEST(Quantization, RoundingDivideByPotByHand) {
  EXPECT_EQ(mobilenet::rounding_divide_by_pot(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(mobilenet::rounding_divide_by_pot(-5, 1), -3);  // -2.5 -> -3: ties away from zero
  EXPECT_EQ(mobilenet::rounding_divide_by_pot(-6, 2), -2);  // -1.5 -> -2
  EXPECT_EQ(mobilenet::rounding_divide_by_pot(-5, 2), -1);  // -1.25 -> -1
  EXPECT_EQ(mobilenet::rounding_divide_by_pot(7, 0), 7);
  EXPECT_EQ(mobilenet::rounding_divide_by_pot(kMin, 31), -1);
  EXPECT_EQ(mobilenet::rounding_divide_by_pot(kMax, 31), 1);
}

TEST(Quantization, MultiplyByQuantizedMultiplierBothShifts) {
  // 100 * 0.75: double rounding, shift 0.
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier(100, {1610612736, 0}), 75);
  // 100 * 0.1 = 10 (shift -3).
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier(100, {1717986918, -3}), 10);
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier(-100, {1717986918, -3}), -10);
  // 5 * 3 = 15 (shift 2: a left shift first).
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier(5, {1610612736, 2}), 15);
  // -3 * 0.5 = -1.5 -> -1 (the high multiply's tie goes up), 3 * 0.5 -> 2; with a right
  // shift the tie is rounded away from zero instead: -3 * 0.25 -> high_mul gives -3 * 0.5 =
  // -1.5 -> -1, then -1 / 2 = -0.5 -> -1.
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier(-3, {1 << 30, 0}), -1);
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier(-3, {1 << 30, -1}), -1);
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier(-2, {1 << 30, -1}), -1);  // -1 / 2 -> -1
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier(3, {1 << 30, 0}), 2);
  // Double rounding differs from single: 1 * 0.75 * 2^-1 = 0.375; first round gives
  // high_mul(1, 0.75 * 2^31) = 2^0 * 0.75 * 2 -> round(1.5) = 2, then 2 / 2^1 = 1 (ties away);
  // a single rounding of 0.375 would give 0.
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier(1, {1610612736, -1}), 1);
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier_single_rounding(1, {1610612736, -1}), 0);
  // Single rounding sends ties up: -1.5 -> -1, 1.5 -> 2, -2.5 -> -2.
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier_single_rounding(-3, {1 << 30, 0}), -1);
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier_single_rounding(3, {1 << 30, 0}), 2);
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier_single_rounding(-5, {1 << 30, 0}), -2);
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier_single_rounding(5, {1610612736, 2}), 15);
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier_single_rounding(kMax, {kMax, 0}), kMax - 1);
  EXPECT_EQ(mobilenet::multiply_by_quantized_multiplier_single_rounding(kMin, {1 << 30, 0}), -(1 << 30));
}

TEST(Quantization, ActivationRangesByHand) {
  const mobilenet::QuantParams p{6.0f / 255, 0};
  const auto relu6 = mobilenet::quantized_activation_range(mobilenet::QuantActivation::ReLU6, p, 0, 255);
  EXPECT_EQ(relu6.lo, 0);
  EXPECT_EQ(relu6.hi, 255);
  const mobilenet::QuantParams q{0.05f, 10};  // 6 / 0.05 = 120
  const auto r = mobilenet::quantized_activation_range(mobilenet::QuantActivation::ReLU6, q, 0, 255);
  EXPECT_EQ(r.lo, 10);
  EXPECT_EQ(r.hi, 130);
  const auto none = mobilenet::quantized_activation_range(mobilenet::QuantActivation::None, q, 0, 255);
  EXPECT_EQ(none.lo, 0);
  EXPECT_EQ(none.hi, 255);
  EXPECT_EQ(mobilenet::requantize(1000, {1 << 30, 0}, 10, r), 130);  // 500 + 10, clamped
  EXPECT_EQ(mobilenet::requantize(-1000, {1 << 30, 0}, 10, r), 10);
}

// ---- The loader on synthetic files ---------------------------------------------------------

tflite_test::Model quantized_model(bool int8 = false) {
  tflite_test::MobileNetSpec spec;
  spec.quantized = true;
  spec.int8 = int8;
  return tflite_test::mobilenet(spec);
}

io::QuantizedTfliteModel load(const tflite_test::Model& m, const std::string& name = "q.tflite") {
  return io::load_tflite_quantized(tflite_test::serialize(m), name);
}

tflite_test::Tensor& weights_of(tflite_test::Model& m, std::size_t op) {
  return m.tensors[static_cast<std::size_t>(m.operators[op].inputs[1])];
}
tflite_test::Tensor& bias_of(tflite_test::Model& m, std::size_t op) {
  return m.tensors[static_cast<std::size_t>(m.operators[op].inputs[2])];
}
tflite_test::Tensor& output_of(tflite_test::Model& m, std::size_t op) {
  return m.tensors[static_cast<std::size_t>(m.operators[op].outputs[0])];
}

TEST(QuantizedLoader, Uint8FileFillsTheModel) {
  const tflite_test::Model file = quantized_model();
  const io::QuantizedTfliteModel loaded = load(file);
  const QuantizedMobileNetV1& m = loaded.model;
  EXPECT_EQ(loaded.format, "tflite-uint8");
  EXPECT_EQ(m.io_type, mobilenet::QuantType::UInt8);
  EXPECT_EQ(m.config.resolution, 32);
  EXPECT_EQ(m.input_params().zero_point, 128);
  EXPECT_FLOAT_EQ(m.input_params().scale, 1.0f / 128);
  // Stem: OHWI kept, q - 128 with the zero point shifted alike (128 -> 0).
  const tflite_test::Tensor& w = file.tensors[static_cast<std::size_t>(file.operators[0].inputs[1])];
  ASSERT_EQ(m.stem.weights.size(), w.data.size());
  for (std::size_t i = 0; i < w.data.size(); ++i) ASSERT_EQ(m.stem.weights[i], int(w.data[i]) - 128) << i;
  EXPECT_EQ(m.stem.weight_zero_point, 0);
  EXPECT_EQ(m.stem.kernel, 3);
  EXPECT_EQ(m.stem.stride, 2);
  EXPECT_TRUE(m.blocks[0].depthwise.depthwise);
  EXPECT_EQ(m.blocks[1].depthwise.stride, 2);
  const auto want = mobilenet::conv_requantization_per_tensor(1.0f / 128, 0.004f, 6.0f / 255);
  ASSERT_EQ(m.stem.requantization.size(), 8u);
  EXPECT_EQ(m.stem.requantization[7].multiplier, want.multiplier);
  EXPECT_EQ(m.stem.requantization[7].shift, want.shift);
  EXPECT_EQ(m.stem.range.lo, 0);
  EXPECT_EQ(m.stem.range.hi, 255);
  ASSERT_TRUE(m.classifier && m.softmax);
  EXPECT_EQ(m.classifier->output.zero_point, 100);
  EXPECT_EQ(m.classifier->range.lo, 0);  // no fused activation: the type's range
  EXPECT_FLOAT_EQ(m.softmax->beta, 1.0f);
  EXPECT_EQ(m.output_params().zero_point, 0);
  EXPECT_EQ(m.output_size(), 5);
  const std::vector<std::uint8_t> out = mobilenet::run_quantized_reference(m, std::vector<std::uint8_t>(32 * 32 * 3, 77), 1);
  EXPECT_EQ(out.size(), 5u);
}

// The int8 scheme end to end: the stem's first output pixel computed here from the file's own
// int8 tensors with TFLite's per-channel formula, against what the reference path records.
// (Int8Golden below holds a whole int8 model against the real TFLite runtime.)
TEST(QuantizedLoader, Int8PerChannelFileLoadsAndRuns) {
  const tflite_test::Model file = quantized_model(true);
  const io::QuantizedTfliteModel loaded = load(file);
  const QuantizedMobileNetV1& m = loaded.model;
  EXPECT_EQ(loaded.format, "tflite-int8");
  EXPECT_EQ(m.io_type, mobilenet::QuantType::Int8);
  EXPECT_EQ(m.input_params().zero_point, 0);
  EXPECT_EQ(m.stem.input.zero_point, 128);  // internal domain
  EXPECT_EQ(m.stem.weight_scales.size(), 8u);
  EXPECT_EQ(m.blocks[0].depthwise.weight_scales.size(), 8u);
  EXPECT_EQ(m.output_params().zero_point, -128);

  std::mt19937 rng(7);
  std::vector<std::uint8_t> image(32 * 32 * 3);
  for (auto& b : image) b = static_cast<std::uint8_t>(rng());
  image[0] = 0x80, image[1] = 0x7F;  // -128 and 127
  std::vector<mobilenet::QuantizedLayerOutput> layers;
  const std::vector<std::uint8_t> out = mobilenet::run_quantized_reference(m, image, 1, &layers);
  ASSERT_EQ(out.size(), 5u);
  ASSERT_EQ(layers.front().name, "stem.conv");

  const tflite_test::Tensor& w = file.tensors[static_cast<std::size_t>(file.operators[0].inputs[1])];
  const tflite_test::Tensor& b = file.tensors[static_cast<std::size_t>(file.operators[0].inputs[2])];
  const tflite_test::Tensor& y = file.tensors[static_cast<std::size_t>(file.operators[0].outputs[0])];
  for (int o = 0; o < 8; ++o) {
    std::int32_t acc;
    std::memcpy(&acc, b.data.data() + 4 * o, 4);
    for (int ky = 0; ky < 3; ++ky)  // output (0, 0): SAME at stride 2 on 32 pads 0 before
      for (int kx = 0; kx < 3; ++kx)
        for (int c = 0; c < 3; ++c)
          acc += std::int32_t(static_cast<std::int8_t>(image[(ky * 32 + kx) * 3 + c])) *
                 static_cast<std::int8_t>(w.data[((o * 3 + ky) * 3 + kx) * 3 + c]);
    const auto r = mobilenet::quantize_multiplier(double(1.0f / 128) * double(w.scale[o]) / double(y.scale[0]));
    // TFLite's int8 CONV_2D rounds once (ruy); see tests/golden/data/int8_small.tsv.
    const std::int32_t q =
        std::clamp(mobilenet::multiply_by_quantized_multiplier_single_rounding(acc, r) - 128, -128, 127);
    EXPECT_EQ(static_cast<std::int8_t>(layers.front().data[o]), q) << "channel " << o;
  }
  // Probabilities in int8 with zero point -128: they sum to about 256 steps.
  int sum = 0;
  for (std::uint8_t p : out) sum += static_cast<std::int8_t>(p) + 128;
  EXPECT_NEAR(sum, 256, 5);
}

TEST(QuantizedLoader, TheFloatLoaderStillDequantizesTheSameFiles) {
  for (bool int8 : {false, true}) {
    const io::TfliteModel loaded = io::load_tflite(tflite_test::serialize(quantized_model(int8)), "f.tflite");
    EXPECT_EQ(loaded.format, int8 ? "tflite-int8" : "tflite-uint8");
  }
}

TEST(QuantizedLoader, AFloatModelIsRefusedClearly) {
  EXPECT_THROW_MESSAGE(load(tflite_test::mobilenet({}), "float.tflite"), FormatError,
                       {"float.tflite", "float model", "load_tflite"});
  const std::string real = mobilenet::testing::shared_data_file("models/mobilenet_v1_0.25_224.tflite");
  if (!real.empty())
    EXPECT_THROW_MESSAGE(io::load_tflite_quantized(real), FormatError, {"mobilenet_v1_0.25_224.tflite", "float model"});
}

TEST(QuantizedLoaderErrors, BadScalesNameTheTensor) {
  for (float bad : {0.0f, -0.004f, std::nanf(""), INFINITY}) {
    tflite_test::Model m = quantized_model();
    weights_of(m, 2).scale = {bad};
    EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_1_pointwise/weights' has quantization scale"});
    m = quantized_model();
    output_of(m, 3).scale = {bad};
    EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_2_depthwise/Relu6' has quantization scale"});
  }
}

TEST(QuantizedLoaderErrors, ZeroPointsOutsideTheTypeNameTheTensor) {
  tflite_test::Model m = quantized_model();
  output_of(m, 4).zero_point = {256};
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_2_pointwise/Relu6' of type UINT8 has zero point 256"});
  m = quantized_model(true);
  output_of(m, 4).zero_point = {-129};
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_2_pointwise/Relu6' of type INT8 has zero point -129"});
}

TEST(QuantizedLoaderErrors, PerChannelCountsMustMatchTheChannels) {
  tflite_test::Model m = quantized_model(true);
  weights_of(m, 2).scale.pop_back();  // 7 scales for 8 channels
  weights_of(m, 2).zero_point.pop_back();
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_1_pointwise/weights' has 7 scales along dimension 0"});
  m = quantized_model(true);
  weights_of(m, 1).quantized_dimension = 0;  // depthwise [1, 3, 3, 8]: channels are dimension 3
  weights_of(m, 1).scale.resize(1), weights_of(m, 1).zero_point.resize(1);
  weights_of(m, 1).scale = {0.1f, 0.2f}, weights_of(m, 1).zero_point = {0, 0};
  EXPECT_THROW(load(m), FormatError);
  m = quantized_model(true);
  bias_of(m, 2).data.resize(4 * 7), bias_of(m, 2).shape = {7};
  bias_of(m, 2).scale.resize(7), bias_of(m, 2).zero_point.resize(7);
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_1_pointwise/bias'", "7 values for 8 channels"});
}

TEST(QuantizedLoaderErrors, PerChannelWeightsAreSymmetric) {
  tflite_test::Model m = quantized_model(true);
  weights_of(m, 4).zero_point[3] = 5;
  EXPECT_THROW_MESSAGE(load(m), FormatError,
                       {"dsconv2.pointwise", "'Conv2d_2_pointwise/weights'", "zero point 5 at channel 3", "symmetric"});
  m = quantized_model(true);
  weights_of(m, 0).scale.resize(1), weights_of(m, 0).zero_point = {3};  // per tensor, not symmetric
  weights_of(m, 0).quantized_dimension = 0;
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_0/weights'", "zero point 3", "symmetric"});
  m = quantized_model();  // uint8 weights are per tensor only
  weights_of(m, 2).scale.assign(8, 0.004f), weights_of(m, 2).zero_point.assign(8, 128);
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_1_pointwise/weights'", "UINT8 weights are quantized per tensor"});
}

TEST(QuantizedLoaderErrors, BiasMustBeInt32) {
  tflite_test::Model m = quantized_model();
  bias_of(m, 2).type = 0;  // FLOAT32, same byte count
  bias_of(m, 2).scale.clear(), bias_of(m, 2).zero_point.clear();
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"dsconv1.pointwise", "'Conv2d_1_pointwise/bias'", "is FLOAT32", "INT32"});
}

TEST(QuantizedLoaderErrors, MissingQuantizationNamesTheTensor) {
  tflite_test::Model m = quantized_model();
  output_of(m, 5).scale.clear(), output_of(m, 5).zero_point.clear();
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_3_depthwise/Relu6'", "without quantization parameters"});
  m = quantized_model();
  weights_of(m, 6).scale.clear(), weights_of(m, 6).zero_point.clear();
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_3_pointwise/weights'", "without quantization parameters"});
}

TEST(QuantizedLoaderErrors, APerChannelActivationIsRefused) {
  tflite_test::Model m = quantized_model();
  output_of(m, 0).scale.assign(8, 6.0f / 255), output_of(m, 0).zero_point.assign(8, 0);
  output_of(m, 0).quantized_dimension = 3;
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_0/Relu6'", "8 scales", "per tensor"});
}

TEST(QuantizedLoaderErrors, APoolThatRequantizesIsRefused) {
  tflite_test::Model m = quantized_model();
  output_of(m, 27).zero_point = {3};
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"operator 27 (AVERAGE_POOL_2D)", "'AvgPool'", "does not requantize"});
}

TEST(QuantizedLoaderErrors, SoftmaxOutputsScaleOne256th) {
  tflite_test::Model m = quantized_model();
  m.tensors.back().scale = {1.0f / 255};
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"(SOFTMAX)", "'Softmax'", "scale 1/256, zero point 0"});
  m = quantized_model(true);
  m.tensors.back().zero_point = {0};
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Softmax'", "zero point -128"});
}

TEST(QuantizedLoaderErrors, MixedTypesAreRefused) {
  tflite_test::Model f = quantized_model();
  weights_of(f, 6).type = 0, weights_of(f, 6).scale.clear(), weights_of(f, 6).zero_point.clear();
  weights_of(f, 6).data.resize(4 * weights_of(f, 6).data.size());  // float weights mid-model
  EXPECT_THROW_MESSAGE(load(f), FormatError, {"dsconv3.pointwise", "'Conv2d_3_pointwise/weights'", "are FLOAT32"});
  tflite_test::Model m = quantized_model();
  output_of(m, 8).type = 9, output_of(m, 8).zero_point = {-128};  // one int8 activation in a uint8 model
  EXPECT_THROW_MESSAGE(load(m), FormatError, {"'Conv2d_4_pointwise/Relu6'", "is INT8; expected UINT8"});
}

// Every truncation and random byte flips: each loads or throws a mobilenet::Error.
TEST(QuantizedLoaderErrors, DamagedFilesLoadOrThrowOurErrors) {
  for (bool int8 : {false, true}) {
    const std::vector<std::uint8_t> bytes = tflite_test::serialize(quantized_model(int8));
    for (std::size_t length = 0; length < bytes.size(); length += 97) {
      const std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
      EXPECT_THROW(io::load_tflite_quantized(cut, "cut.tflite"), mobilenet::Error) << length;
    }
    std::mt19937 rng(3);
    for (int trial = 0; trial < 300; ++trial) {
      std::vector<std::uint8_t> flipped = bytes;
      flipped[rng() % flipped.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      try {
        const io::QuantizedTfliteModel loaded = io::load_tflite_quantized(flipped, "flip.tflite");
        mobilenet::run_quantized_reference(loaded.model, std::vector<std::uint8_t>(
            static_cast<std::size_t>(loaded.model.input_size()), 1), 1);
      } catch (const mobilenet::Error&) {
      }
    }
  }
}

// ---- A whole int8 model against the real TFLite runtime ------------------------------------

// tests/golden/data/int8_small__*: tests/int8_tflite_model.hpp's model run by TFLite's builtin
// integer kernels (tests/golden/make_int8_golden.sh). Every operator output, byte for byte.
std::vector<std::uint8_t> golden_file(const std::string& name) {
  return io::read_file(std::string(MOBILENET_GOLDEN_DIR) + "/" + name, 1u << 20, "golden");
}

std::string golden_model_hash() {
  std::ifstream tsv(std::string(MOBILENET_GOLDEN_DIR) + "/int8_small.tsv");
  std::string key, value;
  while (tsv >> key >> value)
    if (key == "model_fnv1a64") return value;
  return "";
}

std::vector<std::uint8_t> concatenated_layers(const QuantizedMobileNetV1& m, std::vector<std::string>* names = nullptr) {
  std::vector<mobilenet::QuantizedLayerOutput> layers;
  mobilenet::run_quantized_reference(m, tflite_test::golden_random_input(32 * 32 * 3), 1, &layers);
  std::vector<std::uint8_t> all;
  for (const auto& l : layers) {
    all.insert(all.end(), l.data.begin(), l.data.end());
    if (names) names->insert(names->end(), l.data.size(), l.name);
  }
  return all;
}

TEST(Int8Golden, ASmallPerChannelModelIsByteIdenticalWithTflite) {
  const std::vector<std::uint8_t> file = tflite_test::serialize(tflite_test::small_int8_mobilenet());
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(tflite_test::fnv1a64(file)));
  ASSERT_EQ(golden_model_hash(), hash) << "tests/int8_tflite_model.hpp no longer writes the model of the "
                                          "golden data; rerun tests/golden/make_int8_golden.sh";
  const QuantizedMobileNetV1 m = io::load_tflite_quantized(file, "int8_small.tflite").model;
  std::vector<std::string> names;
  const std::vector<std::uint8_t> ours = concatenated_layers(m, &names);
  const std::vector<std::uint8_t> expected = golden_file("int8_small__random__layers.i8.bin");
  ASSERT_EQ(ours.size(), expected.size());
  std::map<std::string, int> differing;
  for (std::size_t i = 0; i < ours.size(); ++i)
    if (ours[i] != expected[i]) ++differing[names[i]];
  for (const auto& d : differing) ADD_FAILURE() << d.first << ": " << d.second << " bytes differ from TFLite";
  const std::vector<std::uint8_t> out = mobilenet::run_quantized_reference(m, tflite_test::golden_random_input(32 * 32 * 3), 1);
  EXPECT_EQ(out, golden_file("int8_small__random__output.i8.bin"));
}

// TFLite's int8 CONV_2D rounds once and its depthwise kernel twice: either rounding used
// everywhere differs from TFLite, so the golden comparison tells them apart.
TEST(Int8Golden, OneRoundingForEveryLayerIsCaught) {
  const QuantizedMobileNetV1 loaded =
      io::load_tflite_quantized(tflite_test::serialize(tflite_test::small_int8_mobilenet()), "int8.tflite").model;
  const std::vector<std::uint8_t> expected = golden_file("int8_small__random__layers.i8.bin");
  for (mobilenet::Rounding rounding : {mobilenet::Rounding::Double, mobilenet::Rounding::Single}) {
    QuantizedMobileNetV1 m = loaded;
    m.stem.rounding = rounding;
    for (auto& b : m.blocks) b.depthwise.rounding = b.pointwise.rounding = rounding;
    m.classifier->rounding = rounding;
    EXPECT_NE(concatenated_layers(m), expected) << (rounding == mobilenet::Rounding::Double ? "double" : "single");
  }
}

}  // namespace

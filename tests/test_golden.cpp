// SPDX-License-Identifier: MIT
// The whole network against PyTorch (tests/golden/make_golden.py): random weights with real
// BatchNorm statistics, both activations, both padding conventions, with and without biases,
// even and odd resolutions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "mobilenet/io/weights.hpp"
#include "mobilenet/mobilenet.hpp"

namespace mobilenet {
namespace {

// Worst absolute error allowed against the float64 PyTorch logits. Float accumulates
// ~1e-7 relative error per operation over 28 layers; the aim set for the library is 1e-4.
constexpr double kFloatTolerance = 1e-4;
// Double runs the same arithmetic as the reference up to summation order.
constexpr double kDoubleTolerance = 1e-10;

struct GoldenCase {
  std::string name;
  Head head;
};

std::string golden(const std::string& file) { return std::string(MOBILENET_GOLDEN_DIR) + "/" + file; }

// Builds the configuration a case file describes in its metadata.
MobileNetV1Config config_of(const io::SafetensorsFile& file, Head head, bool softmax) {
  const auto& m = file.metadata();
  const io::SafetensorsFile weights = io::SafetensorsFile::read(golden(m.at("weights")));
  MobileNetV1Config base;
  base.resolution = std::stoll(m.at("resolution"));
  base.activation = m.at("activation") == "relu6" ? Activation::ReLU6 : Activation::ReLU;
  base.padding = m.at("padding") == "same" ? Padding::same() : Padding::symmetric(1);
  base.head = head;
  base.softmax = softmax;
  MobileNetV1Config c = io::config_from_weights(weights, base);
  EXPECT_EQ(c.alpha, std::stod(m.at("alpha")));
  EXPECT_EQ(c.num_classes, std::stoll(m.at("num_classes")));
  EXPECT_EQ(c.conv_bias, m.at("conv_bias") == "true");
  EXPECT_EQ(c.bn_epsilon, std::stod(m.at("bn_epsilon")));
  return c;
}

template <typename T>
double max_abs_error(const Tensor<T>& got, const std::vector<double>& expected) {
  EXPECT_EQ(static_cast<std::size_t>(got.size()), expected.size());
  double worst = 0;
  for (std::size_t i = 0; i < expected.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(got.data()[i]) - expected[i]));
  return worst;
}

template <typename T>
void check_case(const GoldenCase& gc, double tolerance) {
  const auto file = io::SafetensorsFile::read(golden("case_" + gc.name + ".safetensors"));
  const std::vector<double> logits = file.to_vector<double>("logits");
  const std::vector<double> probabilities = file.to_vector<double>("probabilities");
  for (bool softmax : {false, true}) {
    MobileNetV1<T> model(config_of(file, gc.head, softmax));
    io::load_weights(model, golden(file.metadata().at("weights")));
    const auto& shape = file.info("input").shape;
    ASSERT_EQ(shape.size(), 4u);
    const Tensor<T> input(Shape(shape[0], shape[1], shape[2], shape[3]), file.to_vector<T>("input"));
    const Tensor<T> out = model.predict(input);
    const double error = max_abs_error(out, softmax ? probabilities : logits);
    EXPECT_LE(error, tolerance) << gc.name << (softmax ? " probabilities" : " logits");
    const std::string what = gc.name + (softmax ? " probabilities" : " logits");
    ::testing::Test::RecordProperty(what, std::to_string(error));
    std::printf("  %-40s max abs error %.3g (tolerance %.0e)\n", what.c_str(), error, tolerance);
    // The check must be able to fail: the reference's logits are far from constant.
    if (!softmax) {
      double spread = 0;
      for (double v : logits) spread = std::max(spread, std::abs(v - logits[0]));
      EXPECT_GT(spread, 1.0);
    }
  }
}

std::ostream& operator<<(std::ostream& os, const GoldenCase& c) { return os << c.name; }

class Golden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(Golden, FloatMatchesPyTorch) { check_case<float>(GetParam(), kFloatTolerance); }
TEST_P(Golden, DoubleMatchesPyTorch) { check_case<double>(GetParam(), kDoubleTolerance); }

INSTANTIATE_TEST_SUITE_P(
    Cases, Golden,
    ::testing::Values(GoldenCase{"same_relu6_nobias", Head::Conv1x1},
                      GoldenCase{"symmetric_relu_nobias", Head::Conv1x1},
                      GoldenCase{"same_relu_bias", Head::Dense},
                      GoldenCase{"symmetric_relu6_bias", Head::Dense}),
    [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

// The same weights under the other activation or padding give clearly different logits, so
// each case really pins its own setting.
TEST(GoldenSensitivity, WrongPaddingOrActivationIsDetected) {
  const auto file = io::SafetensorsFile::read(golden("case_same_relu6_nobias.safetensors"));
  const std::vector<double> logits = file.to_vector<double>("logits");
  for (int variant = 0; variant < 2; ++variant) {
    MobileNetV1Config c = config_of(file, Head::Conv1x1, false);
    if (variant == 0) c.padding = Padding::symmetric(1);
    else c.activation = Activation::ReLU;
    MobileNetV1<double> model(c);
    io::load_weights(model, golden("weights_nobias.safetensors"));
    const auto& shape = file.info("input").shape;
    const Tensor<double> input(Shape(shape[0], shape[1], shape[2], shape[3]), file.to_vector<double>("input"));
    EXPECT_GT(max_abs_error(model.predict(input), logits), 0.1) << "variant " << variant;
  }
}

}  // namespace
}  // namespace mobilenet

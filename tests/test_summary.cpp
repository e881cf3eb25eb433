// SPDX-License-Identifier: MIT
// Parameter and multiply-add counts against Keras' summary and the paper's tables.
#include <gtest/gtest.h>

#include "mobilenet/mobilenet.hpp"
#include "mobilenet/model/accounting.hpp"

namespace mobilenet {
namespace {

// The seed notebook's Keras model: Keras reports 4,264,808 parameters.
TEST(Summary, KerasSeedModelHasKerasParameterCount) {
  const MobileNetV1<float> model(MobileNetV1Config::keras_seed());
  const Summary s = model.summary();
  EXPECT_EQ(s.total_parameters(), 4264808);
  EXPECT_EQ(s.non_trainable_parameters(), 21888);  // BatchNorm moving statistics
  const SummaryRow* fc = s.find("classifier");
  ASSERT_NE(fc, nullptr);
  EXPECT_EQ(fc->type, "Dense");
  EXPECT_EQ(fc->parameters, 1024 * 1000 + 1000);
  EXPECT_EQ(s.find("pool")->output, Shape(1, 1, 1, 1024));
  EXPECT_EQ(s.find("stem.conv")->parameters, 3 * 3 * 3 * 32 + 32);
}

// keras.applications.MobileNet(alpha=1.0): Total 4,253,864, trainable 4,231,976.
TEST(Summary, KerasApplicationsMobileNet) {
  MobileNetV1Config c;
  c.min_depth = 1;
  const Summary s = MobileNetV1<float>(c).summary();
  EXPECT_EQ(s.total_parameters(), 4253864);
  EXPECT_EQ(s.trainable_parameters(), 4231976);
}

// Tables 6 and 7 of the paper (model/accounting.hpp): million multiply-adds and million
// parameters for the classification network, 1000 classes, against the summary's totals.
// Trainable parameters, as the paper counts them (BatchNorm's gamma and beta are too few to
// move the rounded figure).
class PaperTables : public ::testing::TestWithParam<paper::ModelFigures> {};

TEST_P(PaperTables, MatchTheirRoundedFigures) {
  const paper::ModelFigures& row = GetParam();
  MobileNetV1Config c;
  c.alpha = row.alpha;
  c.resolution = row.resolution;
  const Summary s = MobileNetV1<float>(c).summary();
  // The paper truncates (290.7 M is printed as 290), so allow up to 1 M.
  EXPECT_NEAR(s.total_multiply_adds() / 1e6, row.million_multiply_adds, 1.0) << row.alpha << "/" << row.resolution;
  EXPECT_NEAR(s.trainable_parameters() / 1e6, row.million_parameters, 0.05) << row.alpha << "/" << row.resolution;
}

INSTANTIATE_TEST_SUITE_P(Table6, PaperTables, ::testing::ValuesIn(paper::kWidthMultiplierTable));
INSTANTIATE_TEST_SUITE_P(Table7, PaperTables, ::testing::ValuesIn(paper::kResolutionTable));

TEST(Summary, ExactCountsOfTheFullModel) {
  const Summary s = MobileNetV1<float>().summary();
  EXPECT_EQ(s.total_multiply_adds(), 568740352);
  // 112 x 112 x 32 outputs of a 3x3x3 stem
  EXPECT_EQ(s.find("stem.conv")->multiply_adds, 112 * 112 * 32 * 27);
  EXPECT_EQ(s.find("dsconv13.pointwise")->multiply_adds, 7 * 7 * 1024 * 1024);
  EXPECT_EQ(s.find("dsconv12.depthwise")->output, Shape(1, 7, 7, 512));
  EXPECT_EQ(s.find("dsconv13.depthwise_bn")->multiply_adds, 0);
}

TEST(Summary, TableTextListsEveryLayerAndTotals) {
  MobileNetV1Config c;
  c.alpha = 0.25;
  c.resolution = 128;
  const std::string text = MobileNetV1<float>(c).summary().to_string();
  EXPECT_NE(text.find("Model: \"mobilenet_v1_0.25_128\""), std::string::npos) << text;
  EXPECT_NE(text.find("dsconv13.pointwise (Pointwise)"), std::string::npos);
  EXPECT_NE(text.find("(None, 4, 4, 256)"), std::string::npos);
  EXPECT_NE(text.find("Total params: "), std::string::npos);
  EXPECT_NE(text.find("Total mult-adds: "), std::string::npos);
  EXPECT_EQ(with_thousands(4264808), "4,264,808");
  EXPECT_EQ(with_thousands(999), "999");
  EXPECT_EQ(with_thousands(1000), "1,000");
}

}  // namespace
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
// The paper's accounting (Tables 2, 4, 6, 7 of Howard et al., 2017) and the textbook
// comparison of a standard convolution with its depthwise-separable twin.
#include <gtest/gtest.h>

#include <cmath>

#include "error_matchers.hpp"
#include "mobilenet/mobilenet.hpp"
#include "mobilenet/model/accounting.hpp"

namespace mobilenet {
namespace {

// An independent count straight from Table 1 of the paper: SAME padding, so each stride-2
// layer halves the map (rounding up). Weights only; FC 1024*alpha x 1000, no bias.
struct HandCount {
  Index stem_multiply_adds = 0, depthwise_multiply_adds = 0, pointwise_multiply_adds = 0,
        full_multiply_adds = 0, fc_multiply_adds = 0;
  Index stem_weights = 0, depthwise_weights = 0, pointwise_weights = 0, full_weights = 0,
        fc_weights = 0;
};

HandCount count_by_hand(double alpha, Index resolution) {
  auto width = [&](Index c) { return std::max<Index>(static_cast<Index>(c * alpha), 8); };
  HandCount h;
  Index size = (resolution + 1) / 2, in = width(32);
  h.stem_weights = 3 * 3 * 3 * in;
  h.stem_multiply_adds = size * size * h.stem_weights;
  for (const DSConvRow& row : kMobileNetV1Table) {
    const Index out = width(row.out_channels);
    size = (size + row.stride - 1) / row.stride;
    h.depthwise_weights += 9 * in;
    h.depthwise_multiply_adds += size * size * 9 * in;
    h.pointwise_weights += in * out;
    h.pointwise_multiply_adds += size * size * in * out;
    h.full_weights += 9 * in * out;
    h.full_multiply_adds += size * size * 9 * in * out;
    in = out;
  }
  h.fc_weights = h.fc_multiply_adds = in * 1000;
  return h;
}

MobileNetV1<float> model_at(double alpha, Index resolution) {
  MobileNetV1Config c;
  c.alpha = alpha;
  c.resolution = resolution;
  return MobileNetV1<float>(c);
}

TEST(Accounting, Table2ExactCountsByLayerType) {
  const Accounting a = paper_accounting(MobileNetV1<float>());
  EXPECT_EQ(a.multiply_adds(LayerKind::Conv1x1), 539492352);
  EXPECT_EQ(a.multiply_adds(LayerKind::Depthwise3x3), 17385984);
  EXPECT_EQ(a.multiply_adds(LayerKind::Stem3x3), 112 * 112 * 32 * 27);
  EXPECT_EQ(a.multiply_adds(LayerKind::FullyConnected), 1024 * 1000);
  EXPECT_EQ(a.total_multiply_adds(), 568740352);
  EXPECT_EQ(a.parameters(LayerKind::Conv1x1), 3139584);
  EXPECT_EQ(a.parameters(LayerKind::Depthwise3x3), 44640);
  EXPECT_EQ(a.parameters(LayerKind::Stem3x3), 864);
  EXPECT_EQ(a.parameters(LayerKind::FullyConnected), 1024000);
  EXPECT_EQ(a.total_parameters(), 4209088);
  EXPECT_EQ(a.multiply_adds(LayerKind::Full3x3), 0);
  // stem, 13 x (depthwise, pointwise), classifier
  EXPECT_EQ(a.layers.size(), 1u + 26u + 1u);
}

TEST(Accounting, Table2SharesMatchThePaper) {
  const Accounting a = paper_accounting(MobileNetV1<float>());
  for (const auto& row : paper::kTable2) {
    SCOPED_TRACE(layer_kind_name(row.kind));
    EXPECT_NEAR(a.parameter_percent(row.kind), row.parameter_percent, 0.005);
    if (row.kind == LayerKind::Stem3x3) {
      // The paper prints 1.19%: the digits of 1.91% swapped.
      EXPECT_NEAR(a.multiply_add_percent(row.kind), 1.91, 0.005);
    } else {
      EXPECT_NEAR(a.multiply_add_percent(row.kind), row.multiply_add_percent, 0.005);
    }
  }
}

// Counting the classifier's biases would move the FC share off the paper's 24.33%.
TEST(Accounting, PaperCountsNoBiasesAndNoBatchNorm) {
  const MobileNetV1<float> keras(MobileNetV1Config::keras_seed());  // biases everywhere, Dense head
  const Accounting a = paper_accounting(keras);
  EXPECT_EQ(a.parameters(LayerKind::FullyConnected), 1024000);
  EXPECT_EQ(a.total_parameters(), 4209088);
  EXPECT_LT(a.total_parameters(), keras.summary().trainable_parameters());
  const Index biases = keras.summary().find("classifier")->parameters - a.parameters(LayerKind::FullyConnected);
  EXPECT_EQ(biases, 1000);
  const double with_biases = 100.0 * double(a.parameters(LayerKind::FullyConnected) + biases) /
                             double(a.total_parameters() + biases);
  EXPECT_GT(std::abs(with_biases - paper::kTable2.back().parameter_percent), 0.01);
}

// A BN-folded model (every convolution biased, no BatchNorm layers) counts the same: the
// paper counts weights only. A backbone-only model has no FC layer.
TEST(Accounting, FoldedAndBackboneModelsCountTheSameWeights) {
  MobileNetV1Config folded;
  folded.batch_norm = false;
  const Accounting a = paper_accounting(MobileNetV1<float>(folded));
  EXPECT_EQ(a.total_multiply_adds(), 568740352);
  EXPECT_EQ(a.total_parameters(), 4209088);
  folded.head = Head::None;
  const Accounting backbone = paper_accounting(MobileNetV1<float>(folded));
  EXPECT_EQ(backbone.parameters(LayerKind::FullyConnected), 0);
  EXPECT_EQ(backbone.total_multiply_adds(), 568740352 - 1024000);
}

TEST(Accounting, Table4ConvMobileNet) {
  const MobileNetV1<float> model;
  const Accounting full = paper_accounting(model, BlockConvolution::Full);
  const HandCount h = count_by_hand(1.0, 224);
  EXPECT_EQ(full.multiply_adds(LayerKind::Full3x3), h.full_multiply_adds);
  EXPECT_EQ(full.multiply_adds(LayerKind::Full3x3), Index(9) * 539492352);  // 9x the pointwise work
  EXPECT_EQ(full.total_multiply_adds(), 4867293184);
  EXPECT_EQ(full.total_parameters(), 29281120);
  EXPECT_EQ(full.multiply_adds(LayerKind::Depthwise3x3), 0);
  EXPECT_EQ(full.multiply_adds(LayerKind::Conv1x1), 0);
  EXPECT_EQ(full.multiply_adds(LayerKind::Stem3x3), 10838016);
  EXPECT_EQ(full.layers.size(), 1u + 13u + 1u);
  EXPECT_EQ(full.layers[1].name, "dsconv1.conv");
  // The paper: 4866 M mult-adds (ours is 0.03% more) and 29.3 M parameters.
  EXPECT_NEAR(full.total_multiply_adds() / 1e6, paper::kConvMobileNet.million_multiply_adds,
              0.0005 * paper::kConvMobileNet.million_multiply_adds);
  EXPECT_DOUBLE_EQ(std::round(full.total_parameters() / 1e5) / 10, paper::kConvMobileNet.million_parameters);
}

class ScalingTable : public ::testing::TestWithParam<paper::ModelFigures> {};

TEST_P(ScalingTable, MatchesHandCountAndThePaper) {
  const paper::ModelFigures& row = GetParam();
  const Accounting a = paper_accounting(model_at(row.alpha, row.resolution));
  const HandCount h = count_by_hand(row.alpha, row.resolution);
  EXPECT_EQ(a.multiply_adds(LayerKind::Stem3x3), h.stem_multiply_adds);
  EXPECT_EQ(a.multiply_adds(LayerKind::Depthwise3x3), h.depthwise_multiply_adds);
  EXPECT_EQ(a.multiply_adds(LayerKind::Conv1x1), h.pointwise_multiply_adds);
  EXPECT_EQ(a.multiply_adds(LayerKind::FullyConnected), h.fc_multiply_adds);
  EXPECT_EQ(a.total_parameters(),
            h.stem_weights + h.depthwise_weights + h.pointwise_weights + h.fc_weights);
  // The paper rounds some figures and truncates others (290.7 M is printed as 290).
  EXPECT_NEAR(a.total_multiply_adds() / 1e6, row.million_multiply_adds, 1.0);
  EXPECT_DOUBLE_EQ(std::round(a.total_parameters() / 1e5) / 10, row.million_parameters);
}

INSTANTIATE_TEST_SUITE_P(Table6, ScalingTable, ::testing::ValuesIn(paper::kWidthMultiplierTable));
INSTANTIATE_TEST_SUITE_P(Table7, ScalingTable, ::testing::ValuesIn(paper::kResolutionTable));

TEST(Accounting, ExactScalingCounts) {
  EXPECT_EQ(paper_accounting(model_at(0.75, 224)).total_multiply_adds(), 325400448);
  EXPECT_EQ(paper_accounting(model_at(0.5, 224)).total_multiply_adds(), 149497088);
  EXPECT_EQ(paper_accounting(model_at(0.25, 224)).total_multiply_adds(), 41030272);
  EXPECT_EQ(paper_accounting(model_at(0.25, 224)).total_parameters(), 463600);
  EXPECT_EQ(paper_accounting(model_at(1.0, 192)).total_multiply_adds(), 418121728);
  EXPECT_EQ(paper_accounting(model_at(1.0, 160)).total_multiply_adds(), 290675200);
  EXPECT_EQ(paper_accounting(model_at(1.0, 128)).total_multiply_adds(), 186400768);
}

TEST(ConvPairCost, TextbookExample) {
  const ConvPairCost c = conv_pair_cost(Shape(1, 12, 12, 3), 5, 1, Padding::valid(), 256);
  EXPECT_EQ(c.output, Shape(1, 8, 8, 256));
  EXPECT_EQ(c.standard_multiply_adds, 8 * 8 * 5 * 5 * 3 * 256);
  EXPECT_EQ(c.depthwise_multiply_adds, 4800);
  EXPECT_EQ(c.pointwise_multiply_adds, 49152);
  EXPECT_EQ(c.separable_multiply_adds(), 53952);
  EXPECT_EQ(c.standard_parameters, 5 * 5 * 3 * 256);
  EXPECT_EQ(c.separable_parameters(), 5 * 5 * 3 + 3 * 256);
  EXPECT_DOUBLE_EQ(c.multiply_add_ratio(), 1.0 / 256 + 1.0 / 25);
  EXPECT_DOUBLE_EQ(c.formula_ratio(), 0.04390625);  // 4.4% of the work: 22.8 times less
}

TEST(ConvPairCost, MobileNetBlocks) {
  const MobileNetV1<float> model;
  const std::vector<ConvPairCost> pairs = block_pair_costs(model);
  ASSERT_EQ(pairs.size(), kMobileNetV1Table.size());
  EXPECT_EQ(pairs[0].input, Shape(1, 112, 112, 32));
  EXPECT_EQ(pairs[0].output, Shape(1, 112, 112, 64));
  EXPECT_EQ(pairs[0].standard_multiply_adds, 112 * 112 * 9 * 32 * 64);
  EXPECT_EQ(pairs[1].output, Shape(1, 56, 56, 128));
  EXPECT_EQ(pairs[12].input, Shape(1, 7, 7, 1024));
  Index separable = 0;
  for (const ConvPairCost& p : pairs) {
    separable += p.separable_multiply_adds();
    // With SAME padding every tap is counted, so the count equals the formula.
    EXPECT_NEAR(p.multiply_add_ratio(), p.formula_ratio(), 1e-12);
  }
  const Accounting a = paper_accounting(model);
  EXPECT_EQ(separable, a.multiply_adds(LayerKind::Depthwise3x3) + a.multiply_adds(LayerKind::Conv1x1));
}

TEST(ConvPairCost, RejectsImpossibleWindows) {
  EXPECT_THROW_MESSAGE(conv_pair_cost(Shape(1, 4, 4, 3), 5, 1, Padding::valid(), 8), ShapeError,
                    {"conv_pair_cost", "smaller than its 5x5 window"});
  EXPECT_THROW_MESSAGE(conv_pair_cost(Shape(1, 4, 4, 3), 3, 0, Padding::same(), 8), ConfigError,
                    {"conv_pair_cost", "must be >= 1"});
  EXPECT_THROW_MESSAGE(conv_pair_cost(Shape(1, 0, 4, 3), 3, 1, Padding::same(), 8), ShapeError,
                    {"conv_pair_cost: input", "must be positive"});
}

}  // namespace
}  // namespace mobilenet

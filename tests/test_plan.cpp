// SPDX-License-Identifier: MIT
// The execution plan against the reference path (model.predict) and PyTorch's golden logits:
// random models over alpha, resolution, padding, activation, bias and head; 1 and 2 threads;
// batch 1 and 3; plans used from several threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <string>
#include <thread>
#include <vector>

#include "mobilenet/io/weights.hpp"
#include "mobilenet/mobilenet.hpp"
#include "mobilenet/plan.hpp"

namespace mobilenet {
namespace {

// The golden tests' bound on float logits (tests/test_golden.cpp), relative to the logits'
// scale for random models whose logits may exceed 1.
constexpr double kLogitTolerance = 1e-4;

double max_abs_difference(const Tensor<float>& a, const Tensor<float>& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double worst = 0;
  for (Index i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(double(a.data()[i]) - double(b.data()[i])));
  return worst;
}
double max_abs(const Tensor<float>& a) {
  double top = 0;
  for (Index i = 0; i < a.size(); ++i) top = std::max(top, std::abs(double(a.data()[i])));
  return top;
}

Tensor<float> random_images(const MobileNetV1<float>& model, Index batch, unsigned seed) {
  Tensor<float> images(model.input_shape(batch));
  std::srand(seed);
  images.set_random();
  return images;
}

struct PlanCase {
  std::string name;
  MobileNetV1Config config;
};

MobileNetV1Config make_config(double alpha, Index resolution, Padding padding, Activation activation,
                              bool bias, Head head, Index pool_size, bool softmax) {
  MobileNetV1Config c;
  c.alpha = alpha, c.resolution = resolution, c.padding = padding, c.activation = activation;
  c.conv_bias = bias, c.head = head, c.pool_size = pool_size, c.softmax = softmax;
  c.num_classes = 37;
  return c;
}

MobileNetV1Config backbone_only(double alpha, Index resolution) {
  MobileNetV1Config c = make_config(alpha, resolution, Padding::same(), Activation::ReLU6, false,
                                    Head::None, 0, false);
  return c;
}

std::vector<PlanCase> plan_cases() {
  return {
      {"a05_r64_tflite_folded", MobileNetV1Config::tflite(0.5, 64)},
      {"a025_r80_backbone_features", backbone_only(0.25, 80)},
      {"a025_r64_same_relu6", make_config(0.25, 64, Padding::same(), Activation::ReLU6, false, Head::Conv1x1, 0, false)},
      {"a05_r97_symmetric_relu_bias", make_config(0.5, 97, Padding::symmetric(1), Activation::ReLU, true, Head::Conv1x1, 0, false)},
      {"a075_r128_same_softmax", make_config(0.75, 128, Padding::same(), Activation::ReLU6, false, Head::Conv1x1, 0, true)},
      {"a035_r96_dense_pool3", make_config(0.35, 96, Padding::same(), Activation::ReLU, true, Head::Dense, 3, false)},
      {"a1_r33_symmetric_dense", make_config(1.0, 33, Padding::symmetric(1), Activation::ReLU6, false, Head::Dense, 0, false)},
  };
}

class PlanTest : public ::testing::TestWithParam<PlanCase> {};

TEST_P(PlanTest, MatchesReferencePath) {
  MobileNetV1<float> model(GetParam().config);
  model.randomize(11);
  for (Index batch : {1, 3}) {
    const Tensor<float> images = random_images(model, batch, 5);
    const Tensor<float> want = model.predict(images);
    const double bound = kLogitTolerance * std::max(1.0, max_abs(want));
    for (int threads : {1, 2}) {
      Plan plan(model, {batch, threads});
      const Tensor<float> got = plan.predict(images);
      EXPECT_LE(max_abs_difference(got, want), bound)
          << GetParam().name << " batch " << batch << " threads " << threads;
      // Twice: the arena's leftovers from the first run must not leak into the second.
      EXPECT_LE(max_abs_difference(plan.predict(images), want), bound);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, PlanTest, ::testing::ValuesIn(plan_cases()),
                         [](const auto& info) { return info.param.name; });

// Every instruction set this machine runs gives the reference's result (GEMM and depthwise
// kernels of that set, through the whole plan).
TEST(PlanIsa, EveryInstructionSetMatchesReference) {
  MobileNetV1<float> model(make_config(0.5, 61, Padding::same(), Activation::ReLU6, true, Head::Conv1x1, 0, false));
  model.randomize(21);
  const Tensor<float> images = random_images(model, 2, 4);
  const Tensor<float> want = model.predict(images);
  kernels::Isa isas[4];
  const int count = kernels::supported_isas(isas);
  for (int i = 0; i < count; ++i) {
    Plan plan(model, {2, 2, isas[i]});
    EXPECT_EQ(plan.isa(), isas[i]);
    EXPECT_LE(max_abs_difference(plan.predict(images), want), kLogitTolerance * std::max(1.0, max_abs(want)))
        << kernels::isa_name(isas[i]);
  }
}

// PyTorch's logits for the committed golden cases (tests/golden/README.md), through the plan.
TEST(PlanGolden, MatchesPyTorchLogits) {
  const std::string dir = MOBILENET_GOLDEN_DIR;
  for (const std::string name : {"same_relu6_nobias", "same_relu_bias", "symmetric_relu6_bias",
                                 "symmetric_relu_nobias"}) {
    const auto file = io::SafetensorsFile::read(dir + "/case_" + name + ".safetensors");
    const auto& m = file.metadata();
    const auto weights = io::SafetensorsFile::read(dir + "/" + m.at("weights"));
    MobileNetV1Config base;
    base.resolution = std::stoll(m.at("resolution"));
    base.activation = m.at("activation") == "relu6" ? Activation::ReLU6 : Activation::ReLU;
    base.padding = m.at("padding") == "same" ? Padding::same() : Padding::symmetric(1);
    base.softmax = false;
    MobileNetV1<float> model(io::config_from_weights(weights, base));
    io::load_weights(model, dir + "/" + m.at("weights"));
    const auto& s = file.info("input").shape;
    const Tensor<float> input(Shape(s[0], s[1], s[2], s[3]), file.to_vector<float>("input"));
    const std::vector<double> logits = file.to_vector<double>("logits");
    for (int threads : {1, 2}) {
      Plan plan(model, {s[0], threads});
      const Tensor<float> got = plan.predict(input);
      ASSERT_EQ(std::size_t(got.size()), logits.size());
      double worst = 0;
      for (std::size_t i = 0; i < logits.size(); ++i)
        worst = std::max(worst, std::abs(double(got.data()[i]) - logits[i]));
      EXPECT_LE(worst, kLogitTolerance) << name << " threads " << threads;
    }
  }
}

// At batch > 1 the plan runs the early blocks image by image (their activations outweigh
// their weights and would leave the caches batched) and the late ones over the batch: both
// kinds of step, and the hand-over between them, match the reference path.
TEST(PlanBatch, EarlyBlocksRunImageByImageAndMatchTheReference) {
  MobileNetV1<float> model(MobileNetV1Config::tf_slim(0.5, 224));
  model.randomize(5);
  const Tensor<float> images = random_images(model, 3, 17);
  const Tensor<float> want = model.predict(images);
  // The layout's threshold follows the L2 (twice it); fixed here so the test does not depend
  // on the CPU it runs on.
  kernels::CpuCaches one_mib_l2;
  one_mib_l2.l2_bytes = 1024 * 1024;
  const PlanTuning tuning = PlanTuning::for_cpu(one_mib_l2);
  for (int threads : {1, 2}) {
    Plan plan(model, PlanOptions().with_batch(3).with_threads(threads).with_tuning(tuning));
    const auto steps = plan.step_info();
    EXPECT_TRUE(steps.front().per_image) << "the stem's batch output is 2.4 MB, above 2 MiB";
    EXPECT_FALSE(steps.back().per_image);
    EXPECT_GT(std::count_if(steps.begin(), steps.end(), [](const Plan::StepInfo& s) { return !s.per_image; }), 3);
    EXPECT_LE(max_abs_difference(plan.predict(images), want), kLogitTolerance * std::max(1.0, max_abs(want)))
        << "threads " << threads;
    // Fewer images than the plan's batch run the same way.
    Tensor<float> one(model.input_shape(1));
    std::copy(images.data(), images.data() + one.size(), one.data());
    const Tensor<float> first = plan.predict(one), all = plan.predict(images);
    for (Index c = 0; c < first.size(); ++c) ASSERT_EQ(first.data()[c], all.data()[c]) << "class " << c;
    Plan single(model, PlanOptions().with_threads(threads).with_tuning(tuning));
    EXPECT_FALSE(single.step_info().front().per_image) << "batch 1 has nothing to split";
  }
}

// Tuning changes speed, never outputs: plans whose GEMMs run in either pass order (the L3
// share decides, PlanLayout::gemm_blocking) and with other band sizes give the same bits.
TEST(PlanTuningOutputs, EveryTuningGivesTheSameOutputs) {
  MobileNetV1<float> model(MobileNetV1Config::tf_slim(0.5, 160));
  model.randomize(7);
  const Tensor<float> images = random_images(model, 2, 19);
  kernels::CpuCaches caches = kernels::cpu_caches();
  PlanTuning rows_outer = PlanTuning::for_cpu(caches), pairs_outer = rows_outer;
  rows_outer.l3_resident_below_bytes = 0;
  pairs_outer.l3_resident_below_bytes = Index(1) << 40;
  caches.l2_bytes = 256 * 1024;
  PlanTuning small_l2 = PlanTuning::for_cpu(caches);
  for (int threads : {1, 2}) {
    const PlanOptions options = PlanOptions().with_batch(2).with_threads(threads);
    Plan reference(model, options.with_tuning(rows_outer)), other(model, options.with_tuning(pairs_outer)),
        smaller(model, options.with_tuning(small_l2));
    const Tensor<float> want = reference.predict(images), got = other.predict(images), got_small = smaller.predict(images);
    for (Index c = 0; c < want.size(); ++c) {
      ASSERT_EQ(want.data()[c], got.data()[c]) << "pairs outer, threads " << threads << ", output " << c;
      ASSERT_EQ(want.data()[c], got_small.data()[c]) << "256 KiB L2, threads " << threads << ", output " << c;
    }
  }
}

// Several plans over one model, each run from its own thread, and one plan called from
// several threads at once (runs are serialised): every result equals the reference's.
TEST(PlanThreads, ConcurrentRunsGiveTheReferenceResult) {
  MobileNetV1<float> model(make_config(0.25, 64, Padding::same(), Activation::ReLU6, false, Head::Conv1x1, 0, true));
  model.randomize(3);
  const Tensor<float> images = random_images(model, 2, 9);
  const Tensor<float> want = model.predict(images);
  Plan shared(model, {2, 2});
  std::vector<Tensor<float>> own(4), from_shared(4);
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t)
    workers.emplace_back([&, t] {
      Plan plan(model, {2, 1 + t % 2});
      for (int repeat = 0; repeat < 3; ++repeat) {
        own[t] = plan.predict(images);
        from_shared[t] = shared.predict(images);
      }
    });
  for (auto& w : workers) w.join();
  for (int t = 0; t < 4; ++t) {
    EXPECT_LE(max_abs_difference(own[t], want), kLogitTolerance) << "own plan " << t;
    EXPECT_EQ(own[t].to_vector(), own[0].to_vector()) << "plans over one model differ";
    EXPECT_EQ(from_shared[t].to_vector(), from_shared[0].to_vector());
    EXPECT_LE(max_abs_difference(from_shared[t], want), kLogitTolerance) << "shared plan " << t;
  }
}

Index count_nan(const Tensor<float>& t) {
  return static_cast<Index>(std::count_if(t.data(), t.data() + t.size(), [](float x) { return std::isnan(x); }));
}

// A NaN weight anywhere, or a NaN pixel, gives NaN out on every path (never a plausible answer
// from a clamp that dropped it): the plan on every instruction set agrees with model.predict.
TEST(PlanNonFinite, NanWeightsAndInputsGiveNanOutputEverywhere) {
  const char* const poisoned[] = {"stem.conv.weight", "dsconv1.depthwise.weight", "dsconv2.pointwise.weight",
                                  "dsconv13.pointwise.weight", "classifier.bias"};
  kernels::Isa isas[4];
  const int count = kernels::supported_isas(isas);
  for (const Activation activation : {Activation::ReLU6, Activation::ReLU}) {
    for (const char* name : poisoned) {
      MobileNetV1<float> model(make_config(0.5, 64, Padding::same(), activation, true, Head::Conv1x1, 0, true));
      model.randomize(5);
      bool found = false;
      model.for_each_parameter([&](const std::string& param, auto& p) {
        if (param == name) p.data()[p.count() / 2] = std::numeric_limits<float>::quiet_NaN(), found = true;
      });
      ASSERT_TRUE(found) << name;
      const Tensor<float> images = random_images(model, 2, 6);
      const Tensor<float> want = model.predict(images);
      EXPECT_EQ(count_nan(want), want.size()) << name;
      for (int i = 0; i < count; ++i) {
        Plan plan(model, {2, 2, isas[i]});
        EXPECT_EQ(count_nan(plan.predict(images)), want.size()) << name << " on " << kernels::isa_name(isas[i]);
      }
    }
    MobileNetV1<float> model(make_config(0.5, 64, Padding::same(), activation, true, Head::Conv1x1, 0, false));
    model.randomize(5);
    Tensor<float> images = random_images(model, 2, 6);
    images.data()[images.size() / 4] = std::numeric_limits<float>::quiet_NaN();  // one pixel of image 0
    const Index classes = model.output_shape(1).size();
    EXPECT_EQ(count_nan(model.predict(images)), classes);
    for (int i = 0; i < count; ++i) {
      Plan plan(model, {2, 1, isas[i]});
      const Tensor<float> out = plan.predict(images);
      EXPECT_EQ(count_nan(out), classes) << kernels::isa_name(isas[i]);  // image 1 is untouched
      EXPECT_EQ(std::count_if(out.data(), out.data() + classes, [](float x) { return std::isnan(x); }), classes);
    }
  }
}

TEST(PlanErrors, RejectsWrongShapesAndOptions) {
  MobileNetV1<float> model(make_config(0.25, 32, Padding::same(), Activation::ReLU6, false, Head::Conv1x1, 0, true));
  Plan plan(model, {2, 1});
  Tensor<float> out(plan.output_shape(1));
  EXPECT_THROW(plan.run(Tensor<float>(Shape(1, 31, 32, 3)).view(), out.view()), ShapeError);
  EXPECT_THROW(plan.run(Tensor<float>(Shape(3, 32, 32, 3)).view(), Tensor<float>(plan.output_shape(3)).view()),
               ShapeError);
  EXPECT_THROW(plan.run(Tensor<float>(Shape(2, 32, 32, 3)).view(), out.view()), ShapeError);
  EXPECT_THROW(Plan(model, {0, 1}), ConfigError);
  EXPECT_THROW(Plan(model, {1, -1}), ConfigError);
}

TEST(PlanArena, ReportsItsBytes) {
  MobileNetV1<float> model(MobileNetV1Config::tf_slim(1.0, 224));
  Plan plan(model, {1, 1});
  // Two 112 x 112 x 64 activations at least; well under the reference workspace's size.
  EXPECT_GE(plan.arena_bytes(), 2 * 112 * 112 * 64 * 4);
  EXPECT_LE(plan.arena_bytes(), model.workspace_bytes(1) + (1 << 20));
  // Every convolution and classifier weight is there (BatchNorm is folded away).
  Index weights = 0;
  model.for_each_parameter([&](const std::string& name, const auto& p) {
    if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0) weights += p.count();
  });
  EXPECT_GE(plan.weight_bytes(), weights * 4);
  EXPECT_LE(plan.weight_bytes(), model.parameter_count() * 4 + (1 << 20));
}

}  // namespace
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
// Every engine of the peer benchmark (ours, XNNPACK, and oneDNN or PyTorch when built) must
// agree with our reference path: otherwise the benchmark compares different computations.

#include <gtest/gtest.h>

#include <algorithm>

#include "peer_check.hpp"
#include "xnnpack_int8_mobilenet.hpp"
#include "xnnpack_mobilenet.hpp"
#if MOBILENET_PEERS_HAVE_ONEDNN
#include "onednn_mobilenet.hpp"
#endif
#if MOBILENET_PEERS_HAVE_TORCH
#include "torch_mobilenet.hpp"
#endif

namespace {

using mobilenet::Activation;
using mobilenet::MobileNetV1;
using mobilenet::MobileNetV1Config;
using mobilenet::Padding;

template <typename Engine>
void expect_close(const char* engine, const MobileNetV1<float>& model, mobilenet::Index batch, int threads) {
  const auto a = mobilenet::peers::compare_with<Engine>(model, batch, threads, 11);
  EXPECT_LE(a.max_abs_difference, mobilenet::peers::kAbsoluteTolerance) << engine << " " << model.name();
  EXPECT_LE(a.max_abs_difference, mobilenet::peers::kRelativeTolerance * a.largest_probability)
      << engine << " " << model.name();
  EXPECT_EQ(a.same_top1, a.images) << engine << " " << model.name();
}

void expect_agreement(const MobileNetV1Config& config, mobilenet::Index batch, int threads) {
  MobileNetV1<float> model(config);
  model.randomize(3);
  expect_close<mobilenet::peers::OursMobileNet>("mobilenet", model, batch, threads);
  expect_close<mobilenet::peers::XnnpackMobileNet>("xnnpack", model, batch, threads);
#if MOBILENET_PEERS_HAVE_ONEDNN
  expect_close<mobilenet::peers::OnednnMobileNet>("onednn", model, batch, threads);
#endif
#if MOBILENET_PEERS_HAVE_TORCH
  expect_close<mobilenet::peers::TorchMobileNet>("torch", model, batch, threads);
#endif
}

TEST(Peers, AgreesOnTfSlimModels) {
  expect_agreement(MobileNetV1Config::tf_slim(0.25, 128), 2, 1);
  expect_agreement(MobileNetV1Config::tf_slim(0.5, 96), 3, 2);
}

// A model that is folded already (TFLite's form: biases, no BatchNorm) goes through as it is.
TEST(Peers, AgreesOnFoldedModels) { expect_agreement(MobileNetV1Config::tflite(0.25, 128), 2, 1); }

// Odd sizes make SAME padding uneven on both sides; symmetric padding and ReLU exercise the
// other border and clamp settings.
TEST(Peers, AgreesOnOddSizesAndOtherConventions) {
  expect_agreement(MobileNetV1Config::tf_slim(0.25, 97), 1, 1);
  MobileNetV1Config torch_like = MobileNetV1Config::tf_slim(0.25, 64);
  torch_like.padding = Padding::symmetric(1);
  torch_like.activation = Activation::ReLU;
  torch_like.conv_bias = true;
  torch_like.num_classes = 10;
  expect_agreement(torch_like, 2, 1);
}

}  // namespace

namespace {

// XNNPACK's quantized network runs in both schemes: its probabilities are a distribution and
// not all equal (a graph that saturated or lost its input would give a constant output).
void expect_int8_runs(mobilenet::peers::XnnQuantScheme scheme, mobilenet::Index batch, int threads) {
  MobileNetV1<float> model(MobileNetV1Config::tf_slim(0.25, 128));
  model.randomize(3);
  mobilenet::peers::XnnpackInt8MobileNet engine(mobilenet::peers::fold_for_peers(model), batch, threads, scheme);
  engine.fill_input(11);
  engine.run();
  const char* name = mobilenet::peers::xnn_quant_scheme_name(scheme);
  const mobilenet::Index classes = engine.classes();
  for (mobilenet::Index n = 0; n < batch; ++n) {
    const float* p = engine.output() + n * classes;
    double sum = 0;
    for (mobilenet::Index k = 0; k < classes; ++k) sum += p[k];
    EXPECT_NEAR(sum, 1.0, 1e-3) << name << " image " << n;
    EXPECT_GT(*std::max_element(p, p + classes), *std::min_element(p, p + classes)) << name << " image " << n;
  }
  if (batch > 1) {  // different random images give different outputs
    EXPECT_FALSE(std::equal(engine.output(), engine.output() + classes, engine.output() + classes)) << name;
  }
}

TEST(Peers, XnnpackInt8Runs) {
  expect_int8_runs(mobilenet::peers::XnnQuantScheme::Qu8, 2, 1);
  expect_int8_runs(mobilenet::peers::XnnQuantScheme::Qc8, 2, 2);
}

}  // namespace

// SPDX-License-Identifier: MIT
// The 8-bit plan against a plain forward pass built from the kernels' reference twins, on
// random quantized models (both weight schemes, both paddings, with and without classifier)
// for every 8-bit instruction set, thread count, batch and tuning: the bytes must be the same.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "mobilenet/kernels/conv2d_im2col.hpp"
#include "mobilenet/kernels/int8/depthwise3x3.hpp"
#include "mobilenet/kernels/int8/gemm.hpp"
#include "mobilenet/kernels/int8/pooling.hpp"
#include "mobilenet/quantized_plan.hpp"
#include "mobilenet/model/quantized_reference.hpp"
#include "int8_tflite_model.hpp"
#include "quantized_models.hpp"
#include "shared_data.hpp"

namespace mobilenet {
namespace {

using testing::RandomQuantizedOptions;
using testing::WeightScheme;

// One image through the reference twins, dense layouts, layer by layer (file domain in and out).
std::vector<std::uint8_t> reference_forward(const QuantizedMobileNetV1& m, const std::uint8_t* image) {
  const Index r = m.config.resolution, cin = m.config.in_channels;
  std::vector<std::uint8_t> x(image, image + r * r * cin);
  for (auto& v : x) v = m.to_internal(v);
  Shape s(1, r, r, cin);
  const Window2D stem = window_2d(r, r, 3, m.stem.stride, m.config.padding);
  std::vector<std::uint8_t> cols(static_cast<std::size_t>(stem.rows.out * stem.cols.out * 9 * cin));
  kernels::im2col_rows(x.data(), s, stem, 0, stem.rows.out, cols.data(),
                       static_cast<std::uint8_t>(m.stem.input.zero_point));
  s = Shape(1, stem.rows.out, stem.cols.out, m.stem.out_channels);
  std::vector<std::uint8_t> y(static_cast<std::size_t>(s.size()));
  kernels::gemm_int8_reference(cols.data(), s.h * s.w, 9 * cin, detail::int8_gemm_layer(m.stem), y.data(), s.c);
  for (const QuantizedDSConv& b : m.blocks) {
    const Window2D w = window_2d(s.h, s.w, 3, b.depthwise.stride, m.config.padding);
    const kernels::DepthwiseInt8Layer dw = detail::int8_depthwise_layer(b.depthwise);
    const kernels::PackedDepthwiseInt8Weights packed(dw, kernels::Int8Isa::Generic);
    std::vector<std::uint8_t> mid(static_cast<std::size_t>(w.rows.out * w.cols.out * s.c));
    kernels::Depthwise3x3Int8Params p;
    p.input = y.data(), p.in_h = s.h, p.in_w = s.w, p.channels = s.c, p.weights = &packed;
    p.output = mid.data(), p.out_h = w.rows.out, p.out_w = w.cols.out, p.stride = b.depthwise.stride;
    p.pad_top = w.rows.pad_before, p.pad_left = w.cols.pad_before, p.row_begin = 0, p.row_end = w.rows.out;
    kernels::depthwise3x3_int8_reference(p, dw);
    const Shape next(1, w.rows.out, w.cols.out, b.pointwise.out_channels);
    y.assign(static_cast<std::size_t>(next.size()), 0);
    kernels::gemm_int8_reference(mid.data(), next.h * next.w, s.c, detail::int8_gemm_layer(b.pointwise), y.data(),
                                 next.c);
    s = next;
  }
  std::vector<std::uint8_t> out(static_cast<std::size_t>(s.c));
  std::vector<std::int32_t> sums(static_cast<std::size_t>(s.c));
  kernels::global_average_pool_u8(y.data(), s.h * s.w, s.c, s.c, sums.data(), out.data(), 0, 255,
                                  m.io_type == QuantType::Int8);
  if (m.classifier) {
    std::vector<std::uint8_t> logits(static_cast<std::size_t>(m.classifier->out_channels));
    kernels::gemm_int8_reference(out.data(), 1, s.c, detail::int8_gemm_layer(*m.classifier), logits.data(),
                                 m.classifier->out_channels);
    out = logits;
    if (m.softmax) {
      const kernels::SoftmaxTable table(m.softmax->input.scale, m.softmax->beta, m.softmax->output.scale,
                                        m.softmax->output.zero_point);
      kernels::softmax_u8(logits.data(), static_cast<Index>(logits.size()), table, out.data());
    }
  }
  for (auto& v : out) v = m.to_file(v);
  return out;
}

std::vector<std::uint8_t> random_images(Index count, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> images(static_cast<std::size_t>(count));
  for (auto& v : images) v = static_cast<std::uint8_t>(rng() >> 24);
  return images;
}

// Bands of a few rows and split panels wherever two threads run, so that small models take
// every path of the plan.
PlanTuning small_bands() {
  PlanTuning t = PlanTuning::detected();
  t.min_band_bytes = 512, t.max_band_bytes = 2048;
  t.split_panels_below_pixels = 100;
  return t;
}

struct Case {
  WeightScheme scheme;
  Index resolution;
  bool classifier;
  bool symmetric_padding;
};

class QuantizedPlanMatchesReference : public ::testing::TestWithParam<Case> {};

TEST_P(QuantizedPlanMatchesReference, EveryIsaThreadsBatchAndTuning) {
  const Case c = GetParam();
  RandomQuantizedOptions o;
  o.scheme = c.scheme, o.resolution = c.resolution, o.classifier = c.classifier;
  o.padding = c.symmetric_padding ? Padding::symmetric(1) : Padding::same();
  o.seed = static_cast<unsigned>(c.resolution);
  const QuantizedMobileNetV1 m = testing::random_quantized_mobilenet(o);
  const Index batch = 3, in_size = m.input_size();
  const std::vector<std::uint8_t> images = random_images(batch * in_size, 7);
  std::vector<std::uint8_t> expected;
  for (Index i = 0; i < batch; ++i) {
    const std::vector<std::uint8_t> one = reference_forward(m, images.data() + i * in_size);
    expected.insert(expected.end(), one.begin(), one.end());
  }
  // The outputs must carry information, or equality would prove little.
  ASSERT_GT(std::count_if(expected.begin(), expected.end(), [&](std::uint8_t v) { return v != expected[0]; }), 0);
  for (kernels::Int8Isa isa : kernels::runnable_int8_isas())
    for (int threads : {1, 2})
      for (Index b : {Index(1), batch})
        for (bool small : {false, true}) {
          PlanOptions options = PlanOptions().with_batch(b).with_threads(threads).with_isa(kernels::int8_isa_family(isa));
          if (small) options = options.with_tuning(small_bands());
          QuantizedPlan plan(m, options);
          if (plan.isa() != isa) continue;  // another ISA of the same family runs this one
          const std::vector<std::uint8_t> out =
              plan.run(std::vector<std::uint8_t>(images.begin(), images.begin() + b * in_size));
          const std::vector<std::uint8_t> want(expected.begin(), expected.begin() + b * m.output_size());
          EXPECT_EQ(out, want) << kernels::int8_isa_name(isa) << ", " << threads << " threads, batch " << b
                               << (small ? ", small bands" : "");
        }
}

INSTANTIATE_TEST_SUITE_P(RandomModels, QuantizedPlanMatchesReference,
                         ::testing::Values(Case{WeightScheme::PerTensorUInt8, 32, true, false},
                                           Case{WeightScheme::PerTensorUInt8, 37, false, true},
                                           Case{WeightScheme::PerChannelInt8, 32, true, false},
                                           Case{WeightScheme::PerChannelInt8, 48, true, true}));

TEST(QuantizedPlan, RefusesWrongSizes) {
  const QuantizedMobileNetV1 m = testing::random_quantized_mobilenet();
  QuantizedPlan plan(m, PlanOptions().with_batch(2));
  std::vector<std::uint8_t> in(static_cast<std::size_t>(3 * m.input_size())), out(3 * 17);
  EXPECT_THROW(plan.run(in.data(), 3, out.data()), ShapeError);
  EXPECT_THROW(plan.run(in.data(), 0, out.data()), ShapeError);
  EXPECT_THROW(plan.run(std::vector<std::uint8_t>(5)), ShapeError);
  QuantizedMobileNetV1 broken = m;
  broken.blocks[3].pointwise.bias.pop_back();
  EXPECT_THROW(QuantizedPlan{broken}, ConfigError);
}

TEST(QuantizedPlan, FloatInputIsQuantizedWithTheInputParameters) {
  const QuantizedMobileNetV1 m = testing::random_quantized_mobilenet();
  QuantizedPlan plan(m);
  Tensor<float> images(plan.input_shape(1));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(m.input_size()));
  std::mt19937 rng(5);
  for (Index i = 0; i < m.input_size(); ++i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(rng() >> 24);
    images.data()[i] = (bytes[static_cast<std::size_t>(i)] - 128) / 128.0f;  // the input's (1/128, 128)
  }
  const Tensor<float> p = plan.predict(images);
  const std::vector<std::uint8_t> q = plan.run(bytes);
  ASSERT_EQ(p.shape().size(), static_cast<Index>(q.size()));
  for (std::size_t j = 0; j < q.size(); ++j) EXPECT_EQ(p.data()[j], q[j] / 256.0f);
}

// The plan against the integer reference (which equals TFLite), on the model kinds the random
// models above do not cover: int8 files' single rounding is the loader's to set.
TEST(QuantizedPlan, MatchesTheReferencePath) {
  for (WeightScheme scheme : {WeightScheme::PerTensorUInt8, WeightScheme::PerChannelInt8}) {
    RandomQuantizedOptions o;
    o.scheme = scheme, o.resolution = 40;
    QuantizedMobileNetV1 m = testing::random_quantized_mobilenet(o);
    const std::vector<std::uint8_t> images = random_images(2 * m.input_size(), 11);
    const std::vector<std::uint8_t> expected = run_quantized_reference(m, images, 2);
    for (int threads : {1, 2}) {
      QuantizedPlan plan(m, PlanOptions().with_batch(2).with_threads(threads));
      EXPECT_EQ(plan.run(images), expected) << quant_type_name(m.io_type) << ", " << threads << " threads";
    }
  }
}

// An int8 per-channel file (tests/int8_tflite_model.hpp) as real TFLite ran it (its output is
// committed in tests/golden/data): the plan's single- and double-rounding layers on every ISA.
TEST(QuantizedPlanGolden, Int8FileIsByteIdenticalWithTflite) {
  const QuantizedMobileNetV1 m =
      io::load_tflite_quantized(tflite_test::serialize(tflite_test::small_int8_mobilenet()), "int8_small.tflite").model;
  const std::vector<std::uint8_t> expected = io::read_file(
      std::string(MOBILENET_GOLDEN_DIR) + "/int8_small__random__output.i8.bin", 1 << 20, "golden output");
  const std::vector<std::uint8_t> input = tflite_test::golden_random_input(static_cast<std::size_t>(m.input_size()));
  for (kernels::Int8Isa isa : kernels::runnable_int8_isas())
    for (int threads : {1, 2}) {
      QuantizedPlan plan(m, PlanOptions().with_threads(threads).with_isa(kernels::int8_isa_family(isa)));
      if (plan.isa() != isa) continue;
      EXPECT_EQ(plan.run(input), expected) << kernels::int8_isa_name(isa) << ", " << threads << " threads";
    }
}

// Real TensorFlow Lite's outputs (tflite-golden, builtin kernels) from the plan on every 8-bit
// instruction set this machine runs, on 1 and 2 threads, each case alone and all in one batch.
TEST(QuantizedPlanGolden, EveryModelEveryIsaIsByteIdenticalWithTflite) {
  const std::string dir = testing::shared_data_dir() + "/tflite-golden";
  std::ifstream manifest(dir + "/manifest.tsv");
  if (!manifest) GTEST_SKIP() << dir << "/manifest.tsv not found: set MOBILENET_DATA_DIR to the shared data directory";
  struct Case {
    std::string model, input, output;
  };
  std::vector<Case> cases;
  std::string line;
  std::getline(manifest, line);
  while (std::getline(manifest, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, '\t');) cells.push_back(cell);
    if (cells.size() >= 8 && cells[2] == "builtin" && cells[4] == "uint8") cases.push_back({cells[0], cells[3], cells[7]});
  }
  ASSERT_EQ(cases.size(), 15u);  // five models, three cases
  auto bytes = [&](const std::string& file) { return io::read_file(dir + "/" + file, 1u << 26, "golden"); };
  std::size_t first = 0;
  while (first < cases.size()) {
    std::size_t end = first;
    std::vector<std::uint8_t> inputs, expected;
    for (; end < cases.size() && cases[end].model == cases[first].model; ++end) {
      const std::vector<std::uint8_t> in = bytes(cases[end].input), out = bytes(cases[end].output);
      inputs.insert(inputs.end(), in.begin(), in.end());
      expected.insert(expected.end(), out.begin(), out.end());
    }
    const auto n = static_cast<Index>(end - first);
    const QuantizedMobileNetV1 m =
        io::load_tflite_quantized(testing::shared_data_dir() + "/models/" + cases[first].model + ".tflite").model;
    for (kernels::Int8Isa isa : kernels::runnable_int8_isas())
      for (int threads : {1, 2}) {
        QuantizedPlan plan(m, PlanOptions().with_batch(n).with_threads(threads).with_isa(kernels::int8_isa_family(isa)));
        if (plan.isa() != isa) continue;
        EXPECT_EQ(plan.run(inputs), expected) << cases[first].model << " on " << kernels::int8_isa_name(isa) << ", "
                                              << threads << " threads, batch " << n;
        const std::vector<std::uint8_t> one(inputs.begin(), inputs.begin() + m.input_size());
        EXPECT_EQ(plan.run(one), std::vector<std::uint8_t>(expected.begin(), expected.begin() + m.output_size()))
            << cases[first].model << " on " << kernels::int8_isa_name(isa) << ", batch 1";
      }
    first = end;
  }
}

// Issue 14's bar: the packed weights of MobileNetV1 1.0/224 (4.23 M weights with the 1001-class
// classifier) take at most 4.5 MB, in either weight scheme and for every 8-bit ISA's packing.
TEST(QuantizedPlanSize, PackedWeightsOf1_0_224FitIn4_5MB) {
  for (WeightScheme scheme : {WeightScheme::PerTensorUInt8, WeightScheme::PerChannelInt8}) {
    RandomQuantizedOptions o;
    o.alpha = 1.0, o.resolution = 224, o.classes = 1001, o.scheme = scheme;
    const QuantizedMobileNetV1 m = testing::random_quantized_mobilenet(o);
    for (kernels::Int8Isa isa : kernels::runnable_int8_isas()) {
      const QuantizedPlan plan(m, PlanOptions().with_isa(kernels::int8_isa_family(isa)));
      if (plan.isa() != isa) continue;
      const std::string where = std::string(kernels::int8_isa_name(isa)) +
                                (scheme == WeightScheme::PerChannelInt8 ? ", int8 per channel" : ", uint8");
      EXPECT_LE(plan.weight_bytes(), 4'500'000) << where;
      EXPECT_GE(plan.weight_bytes(), 4'230'000) << where;  // every weight is held, once
    }
  }
}

}  // namespace
}  // namespace mobilenet

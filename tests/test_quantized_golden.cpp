// SPDX-License-Identifier: MIT
// The integer reference path (io::load_tflite_quantized + run_quantized_reference) against the
// real TensorFlow Lite runtime: ../shared/data/tflite-golden holds the outputs and every
// intermediate layer of TFLite's builtin integer kernels on the official uint8 models. No
// tolerance: byte-identical. Perturbed arithmetic (multipliers in double, single rounding, a
// ReLU6 bound off by one) must make a comparison fail, which shows the comparison catches them.
// Top-1 on the shared photos, with float preprocessing quantized by the model's input params.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "mobilenet/io/file.hpp"
#include "mobilenet/io/tflite_quantized.hpp"
#include "mobilenet/model/quantized_reference.hpp"
#include "shared_data.hpp"
#ifdef MOBILENET_TEST_IMAGES
#include "mobilenet/io/image.hpp"
#include "mobilenet/io/preprocess.hpp"
#endif

namespace {

using mobilenet::Index;
using mobilenet::QuantizedLayerOutput;
using mobilenet::QuantizedMobileNetV1;
namespace io = mobilenet::io;

std::string golden_dir() { return mobilenet::testing::shared_data_dir() + "/tflite-golden"; }

#define REQUIRE_GOLDEN()                                                                            \
  if (mobilenet::testing::shared_data_file("tflite-golden/manifest.tsv").empty())                  \
  GTEST_SKIP() << golden_dir() << "/manifest.tsv not found: set MOBILENET_DATA_DIR to the shared " \
                  "data directory (tflite-golden/) to compare with real TensorFlow Lite outputs"

std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
  std::ifstream file(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(file, line);  // header
  while (std::getline(file, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, '\t')) cells.push_back(cell);
    if (!cells.empty()) rows.push_back(cells);
  }
  return rows;
}

std::vector<std::uint8_t> read_bytes(const std::string& path) { return io::read_file(path, 1u << 28, "golden"); }

// Loaded models, once per test binary.
const QuantizedMobileNetV1& model(const std::string& name) {
  static std::map<std::string, std::unique_ptr<QuantizedMobileNetV1>> cache;
  auto& slot = cache[name];
  if (!slot)
    slot = std::make_unique<QuantizedMobileNetV1>(
        io::load_tflite_quantized(mobilenet::testing::shared_data_dir() + "/models/" + name + ".tflite").model);
  return *slot;
}

std::size_t differences(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  if (a.size() != b.size()) return std::max(a.size(), b.size());
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
  return n;
}

// Every final output of TFLite's builtin kernels in manifest.tsv, byte for byte.
TEST(QuantizedGolden, EveryOutputIsByteIdenticalWithTflite) {
  REQUIRE_GOLDEN();
  int compared = 0;
  for (const auto& row : read_tsv(golden_dir() + "/manifest.tsv")) {
    if (row.size() < 8 || row[2] != "builtin" || row[4] != "uint8") continue;
    const QuantizedMobileNetV1& m = model(row[0]);
    const std::vector<std::uint8_t> input = read_bytes(golden_dir() + "/" + row[3]);
    const std::vector<std::uint8_t> expected = read_bytes(golden_dir() + "/" + row[7]);
    const std::vector<std::uint8_t> got = mobilenet::run_quantized_reference(m, input, 1);
    EXPECT_EQ(differences(got, expected), 0u) << row[0] << " case " << row[1];
    ++compared;
  }
  EXPECT_EQ(compared, 15);  // five models, three cases
}

// The file's operator outputs in tensors.tsv order, matched to ours: the RESHAPE between the
// classifier and the softmax copies the classifier's bytes.
struct LayerPair {
  std::string tflite_name, file;
  const QuantizedLayerOutput* ours;
};

std::vector<LayerPair> match_layers(const std::vector<std::vector<std::string>>& rows,
                                    const std::vector<QuantizedLayerOutput>& ours) {
  const bool has_reshape = rows.size() == ours.size() + 1;
  std::vector<LayerPair> pairs;
  std::size_t j = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const bool reshape = has_reshape && i + 2 == rows.size();
    const QuantizedLayerOutput* layer = reshape ? &ours[j - 1] : (j < ours.size() ? &ours[j++] : nullptr);
    pairs.push_back({rows[i][1], rows[i][4], layer});
  }
  return pairs;
}

// Total differing bytes over the intermediate layers of `name`'s random case.
std::size_t intermediate_differences(const std::string& name, const std::vector<QuantizedLayerOutput>& ours,
                                     bool report) {
  const std::string dir = golden_dir() + "/tensors/" + name + "__random/";
  const auto rows = read_tsv(dir + "tensors.tsv");
  std::size_t total = 0;
  for (const LayerPair& p : match_layers(rows, ours)) {
    if (!p.ours) {
      ADD_FAILURE() << name << ": no layer of ours for " << p.tflite_name;
      continue;
    }
    const std::size_t d = differences(p.ours->data, read_bytes(dir + p.file));
    total += d;
    if (report) {
      EXPECT_EQ(d, 0u) << name << ": our " << p.ours->name << " (" << p.ours->shape.str() << ") against "
                       << p.tflite_name;
    }
  }
  return total;
}

std::vector<QuantizedLayerOutput> run_layers(const QuantizedMobileNetV1& m, const std::string& name) {
  std::vector<QuantizedLayerOutput> layers;
  mobilenet::run_quantized_reference(m, read_bytes(golden_dir() + "/inputs/" + name + "__random.u8.bin"), 1,
                                     &layers);
  return layers;
}

const char* const kModels[] = {"mobilenet_v1_0.25_224_quant", "mobilenet_v1_0.25_128_quant",
                               "mobilenet_v1_0.5_160_quant", "mobilenet_v1_0.75_192_quant",
                               "mobilenet_v1_1.0_224_quant_embedding_extractor"};

// Every operator output of TFLite's run, layer by layer; names are matched too.
TEST(QuantizedGolden, EveryIntermediateLayerIsByteIdentical) {
  REQUIRE_GOLDEN();
  for (const char* name : kModels) {
    const QuantizedMobileNetV1& m = model(name);
    const std::vector<QuantizedLayerOutput> layers = run_layers(m, name);
    const auto rows = read_tsv(golden_dir() + "/tensors/" + std::string(name) + "__random/tensors.tsv");
    ASSERT_EQ(rows.size(), layers.size() + (m.classifier ? 1 : 0)) << name;
    for (const LayerPair& p : match_layers(rows, layers)) {
      ASSERT_NE(p.ours, nullptr);
      const std::string& ours = p.ours->name;
      std::string expected;  // the TF-slim scope our layer name stands for
      if (ours == "stem.conv") expected = "Conv2d_0/";
      else if (ours.rfind("dsconv", 0) == 0)
        expected = "Conv2d_" + ours.substr(6, ours.find('.') - 6) + "_" + ours.substr(ours.find('.') + 1) + "/";
      else if (ours == "pool") expected = "AvgPool";
      else if (ours == "classifier") expected = "Logits/";
      else expected = "Predictions";
      EXPECT_NE(p.tflite_name.find(expected), std::string::npos) << ours << " matched to " << p.tflite_name;
    }
    EXPECT_EQ(intermediate_differences(name, layers, true), 0u) << name;
  }
}

// ---- Perturbations: each must be caught by the golden comparisons ------------------------

std::size_t perturbed_differences(const std::function<void(QuantizedMobileNetV1&)>& perturb) {
  std::size_t total = 0;
  for (const char* name : {"mobilenet_v1_0.25_224_quant", "mobilenet_v1_0.25_128_quant"}) {
    QuantizedMobileNetV1 m = model(name);
    perturb(m);
    total += intermediate_differences(name, run_layers(m, name), false);
  }
  return total;
}

template <typename F>
void for_each_conv(QuantizedMobileNetV1& m, F f) {
  f(m.stem);
  for (auto& b : m.blocks) f(b.depthwise), f(b.pointwise);
  if (m.classifier) f(*m.classifier);
}

TEST(QuantizedGolden, MultipliersComputedInDoubleAreCaught) {
  REQUIRE_GOLDEN();
  const std::size_t d = perturbed_differences([](QuantizedMobileNetV1& m) {
    for_each_conv(m, [](mobilenet::QuantizedConv& c) {
      for (auto& r : c.requantization)
        r = mobilenet::conv_requantization_per_channel(c.input.scale, c.weight_scales[0], c.output.scale);
    });
  });
  EXPECT_GT(d, 0u);
}

TEST(QuantizedGolden, AReluSixBoundOffByOneIsCaught) {
  REQUIRE_GOLDEN();
  EXPECT_GT(perturbed_differences([](QuantizedMobileNetV1& m) {
              for_each_conv(m, [](mobilenet::QuantizedConv& c) {
                if (c.name != "classifier") c.range.hi -= 1;
              });
            }),
            0u);
}

// Single rounding: acc * M * 2^(shift - 31) rounded once, half away from zero, instead of
// gemmlowp's two roundings. Run through the reference kernels' requantize policy.
struct SingleRounding {
  std::int32_t operator()(std::int32_t acc, mobilenet::Requantization r, std::int32_t zp,
                          mobilenet::QuantRange range) const {
    std::int64_t product = std::int64_t(acc) * r.multiplier;
    int right = 31 - r.shift;
    if (r.shift > 0) product *= std::int64_t(1) << r.shift, right = 31;
    const std::int64_t nudge = std::int64_t(1) << (right - 1);
    const std::int64_t q = product >= 0 ? (product + nudge) >> right : -((-product + nudge) >> right);
    return std::clamp(static_cast<std::int32_t>(q) + zp, range.lo, range.hi);
  }
};

TEST(QuantizedGolden, SingleRoundingIsCaught) {
  REQUIRE_GOLDEN();
  std::size_t total = 0;
  for (const char* name : {"mobilenet_v1_0.25_224_quant", "mobilenet_v1_0.25_128_quant"}) {
    const QuantizedMobileNetV1& m = model(name);
    std::vector<std::uint8_t> x = read_bytes(golden_dir() + "/inputs/" + name + "__random.u8.bin");
    std::vector<QuantizedLayerOutput> layers;
    mobilenet::detail::quantized_reference_image(
        m, x,
        [&](const std::string& layer, const mobilenet::Shape& shape, const std::vector<std::uint8_t>& data) {
          layers.push_back({layer, shape, data});
        },
        SingleRounding{});
    total += intermediate_differences(name, layers, false);
  }
  EXPECT_GT(total, 0u);
}

// ---- Top-1 on the shared photos ------------------------------------------------------------

#ifdef MOBILENET_TEST_IMAGES
struct PhotoCase {
  const char* model;
  const char* photo;
  Index expected;
};

TEST(QuantizedPhotos, TopOneAsTheDataReadmeSays) {
  const PhotoCase cases[] = {
      {"mobilenet_v1_0.25_224_quant", "burger.jpg", 934}, {"mobilenet_v1_0.25_224_quant", "parrot.jpg", 89},
      {"mobilenet_v1_0.25_224_quant", "cat.bmp", 286},    {"mobilenet_v1_0.25_224_quant", "hot_dog.jpg", 935},
      {"mobilenet_v1_0.25_128_quant", "burger.jpg", 934}, {"mobilenet_v1_0.25_128_quant", "parrot.jpg", 89},
      {"mobilenet_v1_0.25_128_quant", "cat.bmp", 286},    {"mobilenet_v1_0.5_160_quant", "burger.jpg", 934},
      {"mobilenet_v1_0.5_160_quant", "parrot.jpg", 89},   {"mobilenet_v1_0.5_160_quant", "cat.bmp", 286},
      {"mobilenet_v1_0.5_160_quant", "hot_dog.jpg", 935}, {"mobilenet_v1_0.75_192_quant", "burger.jpg", 934},
      {"mobilenet_v1_0.75_192_quant", "parrot.jpg", 89},  {"mobilenet_v1_0.75_192_quant", "cat.bmp", 286},
      {"mobilenet_v1_0.75_192_quant", "hot_dog.jpg", 935}, {"mobilenet_v1_0.75_192_quant", "grace_hopper.bmp", 653},
  };
  int run = 0;
  for (const PhotoCase& c : cases) {
    const std::string model_file = mobilenet::testing::shared_data_file(std::string("models/") + c.model + ".tflite");
    const std::string photo = mobilenet::testing::shared_data_file(std::string("images/") + c.photo);
    if (model_file.empty() || photo.empty()) continue;
    const QuantizedMobileNetV1& m = model(c.model);
    const mobilenet::Tensor<float> x =
        io::preprocess(io::load_image(photo), m.config.resolution, io::Preprocessing::tensorflow());
    // q = round(x / scale) + zp, clamped: the model's input quantization.
    const mobilenet::QuantParams p = m.input_params();
    std::vector<std::uint8_t> q(static_cast<std::size_t>(x.size()));
    for (std::size_t i = 0; i < q.size(); ++i)
      q[i] = static_cast<std::uint8_t>(
          std::clamp<long>(std::lround(x.data()[i] / p.scale) + p.zero_point, 0, 255));
    const std::vector<std::uint8_t> out = mobilenet::run_quantized_reference(m, q, 1);
    const Index top = std::max_element(out.begin(), out.end()) - out.begin();
    EXPECT_EQ(top, c.expected) << c.model << " on " << c.photo;
    ++run;
  }
  if (run == 0) GTEST_SKIP() << "models or photos not found in " << mobilenet::testing::shared_data_dir();
}
#endif

}  // namespace

// SPDX-License-Identifier: MIT
// Real photos through real pretrained models (never committed: read from the shared data
// directory, MOBILENET_DATA_DIR). Every model classifies every photo as the table in the data's
// README says, with the default preprocessing each model file asks for. Skipped when absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mobilenet/io/image.hpp"
#include "mobilenet/io/model_file.hpp"
#include "mobilenet/io/preprocess.hpp"
#include "mobilenet/model/inference_plan.hpp"
#include "shared_data.hpp"

namespace mobilenet {
namespace {

struct PhotoModel {
  const char* file;
  double alpha;
  Index resolution;
};

const PhotoModel kModels[] = {
    {"mobilenet_v1_0.25_224.tflite", 0.25, 224},
    {"mobilenet_v1_0.25_224_metadata.tflite", 0.25, 224},
    {"mobilenet_v1_0.25_224_quant.tflite", 0.25, 224},
    {"mobilenet_v1_0.25_128_quant.tflite", 0.25, 128},
    {"mobilenet_v1_0.5_160_quant.tflite", 0.5, 160},
    {"mobilenet_v1_0.75_192_quant.tflite", 0.75, 192},
};

// The README's table (1001-class indices): the classes a model's top-1 may be. A model not
// listed for a photo has no expectation there (the 0.25/128 model misses the hot dog).
std::set<Index> expected_top1(const std::string& photo, const std::string& model) {
  if (photo == "burger.jpg") return {934};
  if (photo == "parrot.jpg") return {89};
  if (photo == "cat.bmp") return {286};
  if (photo == "hot_dog.jpg") return model.find("0.25_128") == std::string::npos ? std::set<Index>{935} : std::set<Index>{};
  if (photo == "grace_hopper.bmp")
    return model.find("0.75_192") != std::string::npos ? std::set<Index>{653} : std::set<Index>{458, 401};
  return {};
}

const char* const kPhotos[] = {"burger.jpg", "parrot.jpg", "cat.bmp", "hot_dog.jpg", "grace_hopper.bmp"};

TEST(Photos, EveryModelClassifiesEveryPhotoAsTheDataReadmeSays) {
  if (testing::shared_data_file("images/burger.jpg").empty())
    GTEST_SKIP() << "no shared photos in " << testing::shared_data_dir() << " (set MOBILENET_DATA_DIR)";
  int checked = 0;
  for (const PhotoModel& m : kModels) {
    const std::string path = testing::shared_data_file(std::string("models/") + m.file);
    if (path.empty()) {
      std::printf("%s: absent, skipped\n", m.file);
      continue;
    }
    const io::LoadedModel loaded = io::load_model(path);
    const MobileNetV1Config& config = loaded.model.config();
    EXPECT_EQ(config.alpha, m.alpha) << m.file;
    EXPECT_EQ(config.resolution, m.resolution) << m.file;
    EXPECT_EQ(config.num_classes, 1001) << m.file;
    EXPECT_EQ(loaded.preprocessing.mode, io::Preprocessing::Mode::TensorFlow) << m.file;
    for (const char* photo : kPhotos) {
      const io::Image image = io::load_image(testing::shared_data_file(std::string("images/") + photo));
      const Tensor<float> p = loaded.model.predict(io::preprocess(image, config.resolution, loaded.preprocessing));
      const Index top = static_cast<Index>(std::max_element(p.data(), p.data() + p.size()) - p.data());
      const std::set<Index> want = expected_top1(photo, m.file);
      std::printf("%-40s %-17s top-1 %4lld  p %.3f%s\n", m.file, photo, static_cast<long long>(top),
                  static_cast<double>(p.data()[top]), want.empty() ? "  (no expectation)" : "");
      if (!want.empty()) {
        EXPECT_TRUE(want.count(top)) << m.file << " calls " << photo << " class " << top;
        ++checked;
      }
    }
  }
  if (checked == 0) GTEST_SKIP() << "no models in " << testing::shared_data_dir() << "/models";
}

}  // namespace
// The same photos through the 8-bit plan (as classify runs quantized files by default): every
// quantized model's top-1 as the data README gives it.
TEST(Photos, EveryQuantizedModelInIntegersClassifiesEveryPhotoAsTheDataReadmeSays) {
  if (testing::shared_data_file("images/burger.jpg").empty())
    GTEST_SKIP() << "no shared photos in " << testing::shared_data_dir() << " (set MOBILENET_DATA_DIR)";
  int checked = 0;
  for (const PhotoModel& m : kModels) {
    const std::string path = testing::shared_data_file(std::string("models/") + m.file);
    if (path.empty()) continue;
    const io::LoadedModel loaded = io::load_model(path);
    if (!loaded.quantized) continue;
    InferencePlan plan(*loaded.quantized, PlanOptions());
    ASSERT_EQ(plan.precision(), Precision::Int8);
    for (const char* photo : kPhotos) {
      const io::Image image = io::load_image(testing::shared_data_file(std::string("images/") + photo));
      const Tensor<float> in = io::preprocess(image, m.resolution, loaded.preprocessing);
      Tensor<float> p(plan.output_shape(1));
      plan.run(in.view(), p.view());
      const Index top = static_cast<Index>(std::max_element(p.data(), p.data() + p.size()) - p.data());
      const std::set<Index> want = expected_top1(photo, m.file);
      std::printf("int8 %-35s %-17s top-1 %4lld  p %.3f\n", m.file, photo, static_cast<long long>(top),
                  static_cast<double>(p.data()[top]));
      if (!want.empty()) {
        EXPECT_TRUE(want.count(top)) << m.file << " in int8 calls " << photo << " class " << top;
        ++checked;
      }
    }
  }
  if (checked == 0) GTEST_SKIP() << "no quantized models in " << testing::shared_data_dir() << "/models";
}

}  // namespace mobilenet

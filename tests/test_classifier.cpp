// SPDX-License-Identifier: MIT
// The Classifier facade (classifier.hpp) and io::top_k: the answer is the plan's output sorted,
// with the right labels; batches equal single calls; features are the backbone's pooled output;
// overridden resolution and preprocessing are the ones used; a broken model gives no answer.
// Real photos and models from the shared data (MOBILENET_DATA_DIR) when present.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "error_matchers.hpp"
#include "image_encoders.hpp"
#include "mobilenet/classifier.hpp"
#include "mobilenet/io/top_k.hpp"
#include "mobilenet/model/fold.hpp"
#include "shared_data.hpp"

namespace mobilenet {
namespace {

// ---- io::top_k ----

TEST(TopK, HighestFirstWithTiesInClassOrder) {
  const std::vector<float> p = {0.1f, 0.3f, 0.05f, 0.3f, 0.25f, 0.0f};
  const std::vector<io::ClassScore> top = io::top_k(p, 4);
  ASSERT_EQ(top.size(), 4u);
  EXPECT_EQ(top[0].index, 1);  // 0.3, tied with 3: the lower index first
  EXPECT_EQ(top[1].index, 3);
  EXPECT_EQ(top[2].index, 4);
  EXPECT_EQ(top[3].index, 0);
  EXPECT_EQ(top[2].probability, 0.25f);
  // All equal: class order.
  const std::vector<io::ClassScore> flat = io::top_k(std::vector<float>(7, 0.5f), 7);
  ASSERT_EQ(flat.size(), 7u);
  for (std::size_t i = 0; i < flat.size(); ++i) EXPECT_EQ(flat[i].index, Index(i));
}

TEST(TopK, KIsClampedToTheClassCountAndZeroGivesNothing) {
  const float p[3] = {0.2f, 0.7f, 0.1f};
  EXPECT_EQ(io::top_k(p, 3, 10).size(), 3u);
  EXPECT_EQ(io::top_k(p, 3, 10)[2].index, 2);
  EXPECT_TRUE(io::top_k(p, 3, 0).empty());
  EXPECT_THROW_MESSAGE(io::top_k(p, 3, -1), ConfigError, {"k = -1"});
}

TEST(TopK, NonFiniteScoresGiveNoAnswer) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    const std::vector<float> p = {0.2f, bad, 0.1f};
    EXPECT_THROW_MESSAGE(io::top_k(p, 1), Error, {"score 1 of 3 is not finite"});
  }
}

// ---- the facade on a small random model ----

constexpr Index kClasses = 10;

io::LoadedModel small_model(Index resolution = 32, Head head = Head::Conv1x1) {
  MobileNetV1Config config = MobileNetV1Config::tf_slim(0.25, resolution);
  config.num_classes = kClasses;
  config.head = head;
  MobileNetV1<float> model(config);
  model.randomize(11);
  std::vector<std::string> labels;
  for (Index k = 0; k < kClasses; ++k) labels.push_back("class " + std::to_string(k));
  return io::LoadedModel{fold_batch_norm(model), labels, "test", io::Preprocessing::tensorflow(), std::nullopt};
}

io::Image random_image(Index width, Index height, unsigned seed) {
  std::mt19937 rng(seed);
  io::Image image;
  image.width = width;
  image.height = height;
  for (Index i = 0; i < width * height * 3; ++i) image.pixels.push_back(static_cast<std::uint8_t>(rng() & 0xFF));
  return image;
}

// The answer the facade should give, computed the long way: the reference path, then top_k.
std::vector<io::ClassScore> expected(const MobileNetV1<float>& model, const io::Image& image, const io::Preprocessing& p,
                                     Index k) {
  const Tensor<float> out = model.predict(io::preprocess(image, model.config().resolution, p));
  return io::top_k(out.data(), out.size(), k);
}

void expect_same_answer(const std::vector<Prediction>& got, const std::vector<io::ClassScore>& want,
                        const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].index, want[i].index) << what << " rank " << i;
    // The plan against the reference path: rounding only.
    EXPECT_NEAR(got[i].probability, want[i].probability, 1e-5) << what << " rank " << i;
  }
}

TEST(Classifier, AnswersWhatThePlanComputesWithTheModelsLabels) {
  const io::LoadedModel loaded = small_model();
  Classifier classifier(loaded);
  EXPECT_EQ(classifier.resolution(), 32);
  EXPECT_EQ(classifier.num_classes(), kClasses);
  EXPECT_EQ(classifier.labels(), loaded.labels);
  for (unsigned seed = 0; seed < 3; ++seed) {
    const io::Image image = random_image(41 + seed, 29, seed);
    const std::vector<Prediction> got = classifier.classify(image, 3);
    expect_same_answer(got, expected(loaded.model, image, loaded.preprocessing, 3), "seed " + std::to_string(seed));
    for (const Prediction& p : got) EXPECT_EQ(p.label, "class " + std::to_string(p.index));
    EXPECT_GE(got[0].probability, got[1].probability);
  }
  EXPECT_EQ(classifier.classify(random_image(8, 8, 1), 100).size(), std::size_t(kClasses));
}

TEST(Classifier, LabelsFromAFileElseClassNumbers) {
  io::LoadedModel unlabelled = small_model();
  unlabelled.labels.clear();
  Classifier numbered(unlabelled);
  EXPECT_EQ(numbered.labels().at(7), "7");
  EXPECT_EQ(numbered.classify(random_image(9, 9, 2), 1).at(0).label, std::to_string(numbered.classify(random_image(9, 9, 2), 1).at(0).index));

  const std::string path = ::testing::TempDir() + "/classifier_labels.txt";
  {
    std::ofstream file(path);
    file << "background\n";  // 11 lines for 10 classes: the first is dropped (io::load_labels)
    for (Index k = 0; k < kClasses; ++k) file << "file label " << k << "\n";
  }
  ClassifierOptions options;
  options.labels_file = path;
  Classifier from_file(small_model(), options);  // the file wins over the model's own labels
  EXPECT_EQ(from_file.labels().at(3), "file label 3");
  const Prediction top = from_file.classify(random_image(9, 9, 2), 1).at(0);
  EXPECT_EQ(top.label, "file label " + std::to_string(top.index));

  options.labels_file = path + ".missing";
  EXPECT_THROW(Classifier(small_model(), options), IoError);
}

TEST(Classifier, BatchEqualsOneByOneForEveryInputKind) {
  ClassifierOptions options;
  options.batch = 2;  // 5 images: chunks of 2, 2, 1
  Classifier classifier(small_model(), options);
  std::vector<io::Image> images;
  std::vector<std::vector<std::uint8_t>> bgr(5);
  std::vector<io::Pixels> frames;
  for (unsigned i = 0; i < 5; ++i) {
    images.push_back(random_image(30 + i, 35 - i, 100 + i));
    for (Index p = 0; p < images.back().width * images.back().height; ++p)
      for (Index c = 2; c >= 0; --c) bgr[i].push_back(images.back().pixels[std::size_t(p * 3 + c)]);
  }
  for (unsigned i = 0; i < 5; ++i)
    frames.emplace_back(bgr[i].data(), bgr[i].size(), images[i].width, images[i].height, io::PixelFormat::BGR);
  const auto batched = classifier.classify_batch(images, 3);
  const auto from_frames = classifier.classify_batch(frames, 3);
  ASSERT_EQ(batched.size(), 5u);
  ASSERT_EQ(from_frames.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    const std::vector<Prediction> single = classifier.classify(images[i], 3);
    ASSERT_EQ(batched[i].size(), 3u);
    for (std::size_t r = 0; r < 3; ++r) {
      EXPECT_EQ(batched[i][r].index, single[r].index) << "image " << i;
      EXPECT_NEAR(batched[i][r].probability, single[r].probability, 1e-6) << "image " << i;
      // The same pixels as a BGR frame: the same input bits, so the same answer.
      EXPECT_EQ(from_frames[i][r].index, batched[i][r].index) << "image " << i;
      EXPECT_EQ(from_frames[i][r].probability, batched[i][r].probability) << "image " << i;
    }
  }
  EXPECT_TRUE(classifier.classify_batch(std::vector<io::Image>{}).empty());
}

TEST(Classifier, ImageFilesGiveWhatTheirDecodedPixelsGive) {
  Classifier classifier(small_model());
  const io::Image image = random_image(23, 17, 5);
  const std::string path = ::testing::TempDir() + "/classifier_image.bmp";
  {
    const std::vector<std::uint8_t> bmp =
        testing::encode(testing::Encoding::BMP, 23, 17, 3, image.pixels);  // lossless
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bmp.data()), std::streamsize(bmp.size()));
  }
  const std::vector<Prediction> from_file = classifier.classify(path, 4);
  const std::vector<Prediction> from_image = classifier.classify(image, 4);
  for (std::size_t r = 0; r < 4; ++r) {
    EXPECT_EQ(from_file[r].index, from_image[r].index);
    EXPECT_EQ(from_file[r].probability, from_image[r].probability);
  }
  EXPECT_EQ(classifier.classify_batch(std::vector<std::string>{path, path}).size(), 2u);
  EXPECT_THROW_MESSAGE(classifier.classify(path + ".missing"), IoError, {".missing"});
}

TEST(Classifier, FeaturesAreTheBackbonesPooledOutput) {
  const io::LoadedModel loaded = small_model();
  Classifier classifier(loaded);
  EXPECT_EQ(classifier.feature_size(), 256);  // 1024 * 0.25
  const io::Image image = random_image(40, 40, 9);
  const std::vector<float> features = classifier.features(image);
  ASSERT_EQ(features.size(), 256u);
  const Tensor<float> want = loaded.model.features(io::preprocess(image, 32, loaded.preprocessing));
  for (std::size_t i = 0; i < features.size(); ++i) EXPECT_NEAR(features[i], want.data()[i], 1e-4) << i;
  const auto batch = classifier.features_batch(std::vector<io::Image>{image, random_image(12, 50, 1)});
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0], features);
  EXPECT_NE(batch[1], features);
  // Classifying still works after the backbone plan was built.
  expect_same_answer(classifier.classify(image, 2), expected(loaded.model, image, loaded.preprocessing, 2), "after features");
}

TEST(Classifier, ABackboneGivesFeaturesAndRefusesToClassify) {
  const io::LoadedModel backbone = small_model(32, Head::None);
  Classifier classifier(backbone);
  EXPECT_EQ(classifier.num_classes(), 0);
  EXPECT_TRUE(classifier.labels().empty());
  const io::Image image = random_image(20, 20, 4);
  EXPECT_EQ(classifier.features(image).size(), 256u);
  EXPECT_THROW_MESSAGE(classifier.classify(image), ConfigError, {"without a classifier", "use features()"});
}

TEST(Classifier, ResolutionAndPreprocessingCanBeOverridden) {
  const io::LoadedModel loaded = small_model(32);
  ClassifierOptions options;
  options.resolution = 48;
  options.preprocessing = io::Preprocessing::torch();
  Classifier classifier(loaded, options);
  EXPECT_EQ(classifier.resolution(), 48);
  EXPECT_EQ(classifier.plan().input_shape(1), Shape(1, 48, 48, 3));
  EXPECT_EQ(classifier.preprocessing().mode, io::Preprocessing::Mode::MeanStd);
  // The same weights at 48 x 48, fed the torch preprocessing.
  MobileNetV1Config config = loaded.model.config();
  config.resolution = 48;
  const MobileNetV1<float> at48 = with_config(loaded.model, config);
  const io::Image image = random_image(70, 50, 8);
  expect_same_answer(classifier.classify(image, 5), expected(at48, image, io::Preprocessing::torch(), 5), "48, torch");
  // And the override is not a no-op: the default classifier answers otherwise.
  const std::vector<Prediction> plain = Classifier(loaded).classify(image, 1);
  EXPECT_NE(plain[0].probability, classifier.classify(image, 1)[0].probability);
}

TEST(Classifier, NonFiniteOutputIsAnErrorNotAnAnswer) {
  io::LoadedModel broken = small_model();
  broken.model.conv_head()->bias().values()(3) = std::numeric_limits<float>::quiet_NaN();
  Classifier classifier(broken);
  EXPECT_THROW_MESSAGE(classifier.classify(random_image(10, 10, 1)), Error, {"image 0", "not finite"});
  EXPECT_THROW_MESSAGE(classifier.classify_batch(std::vector<io::Image>{random_image(10, 10, 1), random_image(9, 9, 2)}),
                       Error, {"image 0", "not finite"});
}

TEST(Classifier, BadOptionsAreRefused) {
  ClassifierOptions options;
  options.batch = 0;
  EXPECT_THROW_MESSAGE(Classifier(small_model(), options), ConfigError, {"batch must be >= 1"});
  options = {};
  options.threads = -1;
  EXPECT_THROW_MESSAGE(Classifier(small_model(), options), ConfigError, {"threads"});
  Classifier classifier(small_model());
  EXPECT_THROW_MESSAGE(classifier.classify(random_image(4, 4, 1), -2), ConfigError, {"top must be >= 0"});
  EXPECT_THROW(Classifier("/nonexistent/model.tflite"), IoError);
}

// ---- real models and photos ----

TEST(ClassifierPhotos, BurgerIsACheeseburgerWithTheQuantModelAndTheLabelsFile) {
  const std::string model = testing::shared_data_file("models/mobilenet_v1_0.25_224_quant.tflite");
  const std::string labels = testing::shared_data_file("labels/imagenet_labels_1001.txt");
  const std::string photo = testing::shared_data_file("images/burger.jpg");
  if (model.empty() || labels.empty() || photo.empty())
    GTEST_SKIP() << "needs models/mobilenet_v1_0.25_224_quant.tflite, labels/imagenet_labels_1001.txt and "
                    "images/burger.jpg in "
                 << testing::shared_data_dir() << " (set MOBILENET_DATA_DIR)";
  ClassifierOptions options;
  options.labels_file = labels;
  options.threads = 2;
  Classifier classifier(model, options);
  const std::vector<Prediction> top = classifier.classify(photo, 5);
  ASSERT_EQ(top.size(), 5u);
  EXPECT_EQ(top[0].index, 934);
  EXPECT_EQ(top[0].label, "cheeseburger");
  EXPECT_GT(top[0].probability, 0.9f);  // the data's README: about 0.97
  for (std::size_t i = 1; i < top.size(); ++i) EXPECT_LE(top[i].probability, top[i - 1].probability);
}

TEST(ClassifierPhotos, LabelsComeFromTheModelsMetadata) {
  const std::string model = testing::shared_data_file("models/mobilenet_v1_0.25_224_metadata.tflite");
  const std::string photo = testing::shared_data_file("images/parrot.jpg");
  if (model.empty() || photo.empty())
    GTEST_SKIP() << "needs models/mobilenet_v1_0.25_224_metadata.tflite and images/parrot.jpg in "
                 << testing::shared_data_dir();
  Classifier classifier(model);
  const Prediction top = classifier.classify(photo, 1).at(0);
  EXPECT_EQ(top.index, 89);
  EXPECT_EQ(top.label, "macaw");
}

TEST(ClassifierPhotos, TheEmbeddingExtractorGives1024Features) {
  const std::string model = testing::shared_data_file("models/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite");
  const std::string photo = testing::shared_data_file("images/cat.bmp");
  if (model.empty() || photo.empty())
    GTEST_SKIP() << "needs models/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite and images/cat.bmp in "
                 << testing::shared_data_dir();
  Classifier classifier(model);
  const std::vector<float> features = classifier.features(photo);
  ASSERT_EQ(features.size(), 1024u);
  float largest = 0;
  for (float f : features) largest = std::max(largest, f);
  EXPECT_GT(largest, 0.0f);  // pooled ReLU6 outputs: non-negative, not all zero
  EXPECT_THROW(classifier.classify(photo), ConfigError);
}

}  // namespace
}  // namespace mobilenet

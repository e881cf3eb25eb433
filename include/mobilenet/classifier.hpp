// SPDX-License-Identifier: MIT
#pragma once
// One object, one call: a model file in, the top-k classes of a photo out.
//
//   mobilenet::Classifier classifier("mobilenet_v1_1.0_224.tflite");
//   for (const mobilenet::Prediction& p : classifier.classify("photo.jpg", 5))
//     std::printf("%s %.3f\n", p.label.c_str(), p.probability);
//
// The model file's format is read from its bytes (io::load_model), and so are its resolution
// and preprocessing; both can be overridden. Images may be files (JPEG, PNG, BMP), decoded
// io::Image, or raw camera pixels (io::Pixels: RGB, BGR, RGBA, BGRA, gray, NV21, NV12 with a
// stride). Inference runs on the fast path: QuantizedPlan in 8-bit integers for a quantized
// .tflite (as TensorFlow Lite computes it), Plan in float otherwise or when asked
// (ClassifierOptions::precision). features() gives the pooled embedding.
//
// This header decodes images with stb_image: link the CMake target mobilenet::image, which
// carries everything (an app links nothing else). It is not part of mobilenet.hpp, so an app
// that uses only the layers does not compile the plan's loaders or stb.

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/io/image.hpp"
#include "mobilenet/io/labels.hpp"
#include "mobilenet/io/model_file.hpp"
#include "mobilenet/io/pixels.hpp"
#include "mobilenet/io/preprocess.hpp"
#include "mobilenet/io/top_k.hpp"
#include "mobilenet/model/inference_plan.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"
#include "mobilenet/model/plan.hpp"
#include "mobilenet/model/quantized_mobilenet_v1.hpp"

namespace mobilenet {

struct ClassifierOptions {
  int threads = 1;          // threads per inference (Plan); 0: one per core
  Index batch = 1;          // images per inference; longer lists run in chunks of this many
  std::string labels_file;  // one label per line (io::load_labels); "": the model file's own
                            // labels, else class numbers ("0", "1", ...)
  Index resolution = 0;     // input R x R; 0: the model's. The weights fit any R (global pool).
  std::optional<io::Preprocessing> preprocessing;  // default: what the model file asks for
  // Int8 runs a quantized file in integers, Float runs any file in float (a quantized one
  // dequantized); unset: int8 for a quantized file, else float.
  std::optional<Precision> precision;
};

// One class of an answer: the model's output number, its label, its probability.
struct Prediction {
  Index index = 0;
  std::string label;
  float probability = 0;
};

// The same network (same parameter names and shapes) under another configuration: another
// resolution, or the backbone alone (Head::None). Throws ConfigError when `config` is not
// valid for the weights (a parameter it needs has another shape).
inline MobileNetV1<float> with_config(const MobileNetV1<float>& source, const MobileNetV1Config& config) {
  std::map<std::string, const Parameter<float>*> by_name;
  source.for_each_parameter([&](const std::string& name, const Parameter<float>& p) { by_name[name] = &p; });
  MobileNetV1<float> target(config);
  target.for_each_parameter([&](const std::string& name, Parameter<float>& p) {
    const auto found = by_name.find(name);
    if (found == by_name.end() || found->second->shape() != p.shape())
      throw ConfigError(detail::concat(source.name(), ": parameter '", name, "' does not carry over to ",
                                       target.name()));
    p.values() = found->second->values();
  });
  return target;
}

// Not for concurrent use: calls on one Classifier run one after another (each inference uses
// all of options.threads); give each thread of yours its own Classifier.
class Classifier {
 public:
  // Loads a .tflite (float32, uint8 or int8) or .safetensors model. Throws IoError/FormatError
  // for the file, FormatError for a labels file that does not fit, ConfigError for bad options
  // (int8 precision for a float file among them).
  explicit Classifier(const std::string& model_file, const ClassifierOptions& options = {})
      : Classifier(io::load_model(model_file), options) {}

  // A model already in memory (io::load_model's result, or one of yours with its labels and
  // preprocessing).
  explicit Classifier(io::LoadedModel loaded, const ClassifierOptions& options = {})
      : options_(checked(options)),
        model_(resized(std::move(loaded.model), options.resolution)),
        preprocessing_(options.preprocessing.value_or(loaded.preprocessing)),
        precision_(options.precision.value_or(loaded.quantized ? Precision::Int8 : Precision::Float)) {
    if (precision_ == Precision::Int8) {
      if (!loaded.quantized)
        throw ConfigError(model_.name() + " (" + loaded.format + ") is not quantized: int8 precision needs a uint8 "
                          "or int8 .tflite; use float");
      quantized_ = quantized_with(std::move(*loaded.quantized), options.resolution, false);
    }
    if (model_.has_classifier()) {
      const Index classes = model_.config().num_classes;
      if (!options_.labels_file.empty()) labels_ = io::load_labels(options_.labels_file, classes);
      else if (static_cast<Index>(loaded.labels.size()) == classes) labels_ = std::move(loaded.labels);
      else
        for (Index k = 0; k < classes; ++k) labels_.push_back(std::to_string(k));
    }
    main_ = quantized_ ? std::make_unique<Runner>(*quantized_, options_) : std::make_unique<Runner>(model_, options_);
  }

  // in: a JPEG, PNG or BMP file / a decoded RGB image / a camera frame
  // out: the `top` most probable classes, most probable first (ties: lower index first).
  // Throws Error when the model's output is not finite, ConfigError for a model without a
  // classifier (use features()).
  std::vector<Prediction> classify(const std::string& image_file, Index top = 5) {
    return std::move(classify_all(&image_file, 1, top).front());
  }
  std::vector<Prediction> classify(const io::Image& image, Index top = 5) {
    return std::move(classify_all(&image, 1, top).front());
  }
  std::vector<Prediction> classify(const io::Pixels& pixels, Index top = 5) {
    return std::move(classify_all(&pixels, 1, top).front());
  }

  // in: N images -> out: N answers, in order, the same as N calls to classify().
  std::vector<std::vector<Prediction>> classify_batch(const std::vector<std::string>& image_files, Index top = 5) {
    return classify_all(image_files.data(), image_files.size(), top);
  }
  std::vector<std::vector<Prediction>> classify_batch(const std::vector<io::Image>& images, Index top = 5) {
    return classify_all(images.data(), images.size(), top);
  }
  std::vector<std::vector<Prediction>> classify_batch(const std::vector<io::Pixels>& frames, Index top = 5) {
    return classify_all(frames.data(), frames.size(), top);
  }

  // in: one image -> out: the pooled embedding, feature_size() = 1024 * alpha values (the
  // classifier's input). For a model with a classifier, the first call builds a second plan
  // for the backbone alone.
  std::vector<float> features(const std::string& image_file) { return std::move(features_all(&image_file, 1).front()); }
  std::vector<float> features(const io::Image& image) { return std::move(features_all(&image, 1).front()); }
  std::vector<float> features(const io::Pixels& pixels) { return std::move(features_all(&pixels, 1).front()); }
  std::vector<std::vector<float>> features_batch(const std::vector<std::string>& image_files) {
    return features_all(image_files.data(), image_files.size());
  }
  std::vector<std::vector<float>> features_batch(const std::vector<io::Image>& images) {
    return features_all(images.data(), images.size());
  }
  std::vector<std::vector<float>> features_batch(const std::vector<io::Pixels>& frames) {
    return features_all(frames.data(), frames.size());
  }

  // The network as it runs (BatchNorm folded, at resolution()).
  const MobileNetV1<float>& model() const { return model_; }
  Index resolution() const { return model_.config().resolution; }
  // Classes of the output; 0 for a backbone without a classifier.
  Index num_classes() const { return model_.has_classifier() ? model_.config().num_classes : 0; }
  Index feature_size() const { return model_.features_shape(1).size(); }
  // labels()[k] names class k (empty for a backbone).
  const std::vector<std::string>& labels() const { return labels_; }
  const io::Preprocessing& preprocessing() const { return preprocessing_; }
  // The plan that classifies (for a backbone, the one that gives features), in either precision.
  InferencePlan& plan() { return main_->plan; }
  // Float, or Int8 for a quantized model run in integers.
  Precision precision() const { return precision_; }

 private:
  // A plan with its input and output tensors, sized for options.batch images.
  struct Runner {
    InferencePlan plan;
    Tensor<float> input, output;
    template <typename Model>
    Runner(const Model& model, const ClassifierOptions& o)
        : plan(model, PlanOptions{o.batch, o.threads}),
          input(plan.input_shape(o.batch)),
          output(plan.output_shape(o.batch)) {}
  };

  static ClassifierOptions checked(const ClassifierOptions& o) {
    if (o.threads < 0 || o.threads > 256)
      throw ConfigError(detail::concat("Classifier: threads must be in 0..256 (0: one per core), got ", o.threads));
    if (o.batch < 1) throw ConfigError(detail::concat("Classifier: batch must be >= 1, got ", o.batch));
    if (o.resolution < 0)
      throw ConfigError(detail::concat("Classifier: resolution must be >= 1 (0: the model's), got ", o.resolution));
    return o;
  }

  static MobileNetV1<float> resized(MobileNetV1<float> model, Index resolution) {
    if (resolution == 0 || resolution == model.config().resolution) return model;
    MobileNetV1Config config = model.config();
    config.resolution = resolution;
    return with_config(model, config);
  }

  // Preprocesses one input into `slot` (1 x R x R x 3).
  void fill(const std::string& file, TensorView<float> slot) const {
    io::preprocess_into(io::load_image(file), preprocessing_, slot);
  }
  void fill(const io::Image& image, TensorView<float> slot) const { io::preprocess_into(image, preprocessing_, slot); }
  void fill(const io::Pixels& pixels, TensorView<float> slot) const {
    io::preprocess_into(pixels, preprocessing_, slot);
  }
  static std::string describe(const std::string& file, std::size_t) { return file; }
  template <typename Input>
  static std::string describe(const Input&, std::size_t i) { return detail::concat("image ", i); }

  // inputs[0 .. count) through `runner`, plan.batch() at a time: take(values) gets each
  // input's output in order (plan.output_shape(1).size() floats, valid during the call), so
  // nothing is copied that the answer does not keep. A non-finite output (only non-finite or
  // overflowing weights make one) throws Error.
  template <typename Input, typename Take>
  void run(Runner& runner, const Input* inputs, std::size_t count, Take&& take) {
    const Index batch = runner.plan.batch();
    const Index size = runner.plan.output_shape(1).size();
    for (std::size_t first = 0; first < count; first += static_cast<std::size_t>(batch)) {
      const Index n = std::min<Index>(batch, static_cast<Index>(count - first));
      for (Index i = 0; i < n; ++i) fill(inputs[first + static_cast<std::size_t>(i)], runner.input.view().batch(i));
      runner.plan.run(TensorView<const float>(runner.input.data(), runner.plan.input_shape(n)),
                      TensorView<float>(runner.output.data(), runner.plan.output_shape(n)));
      for (Index i = 0; i < n; ++i) {
        const std::size_t index = first + static_cast<std::size_t>(i);
        const float* values = runner.output.data() + i * size;
        if (!std::all_of(values, values + size, [](float x) { return std::isfinite(x); }))
          throw Error(detail::concat(describe(inputs[index], index),
                                     ": the model's output is not finite (NaN or infinity): its weights overflow ",
                                     "or hold non-finite values, so there is no answer"));
        take(values);
      }
    }
  }

  // The plan allocates nothing; a call allocates its answers (a vector per image and the
  // labels' strings), io::top_k's working vectors, and what decoding and preprocessing take.
  template <typename Input>
  std::vector<std::vector<Prediction>> classify_all(const Input* inputs, std::size_t count, Index top) {
    if (!model_.has_classifier())
      throw ConfigError(model_.name() + ": a backbone without a classifier (its output is " +
                        model_.output_shape(1).str() + " features), nothing to classify: use features()");
    if (top < 0) throw ConfigError(detail::concat("Classifier: top must be >= 0, got ", top));
    std::vector<std::vector<Prediction>> answers;
    answers.reserve(count);
    const Index classes = model_.config().num_classes;
    run(*main_, inputs, count, [&](const float* probabilities) {
      const std::vector<io::ClassScore> best = io::top_k(probabilities, classes, top);
      std::vector<Prediction> answer;
      answer.reserve(best.size());
      for (const io::ClassScore& s : best)
        answer.push_back({s.index, labels_[static_cast<std::size_t>(s.index)], s.probability});
      answers.push_back(std::move(answer));
    });
    return answers;
  }
  template <typename Input>
  std::vector<std::vector<float>> features_all(const Input* inputs, std::size_t count) {
    if (model_.has_classifier() && !backbone_) {
      MobileNetV1Config config = model_.config();
      config.head = Head::None;
      backbone_ = quantized_ ? std::make_unique<Runner>(quantized_with(*quantized_, 0, true), options_)
                             : std::make_unique<Runner>(with_config(model_, config), options_);
    }
    Runner& runner = model_.has_classifier() ? *backbone_ : *main_;
    const Index size = runner.plan.output_shape(1).size();
    std::vector<std::vector<float>> outputs;
    outputs.reserve(count);
    run(runner, inputs, count, [&](const float* values) { outputs.emplace_back(values, values + size); });
    return outputs;
  }

  ClassifierOptions options_;
  MobileNetV1<float> model_;
  io::Preprocessing preprocessing_;
  Precision precision_;
  std::optional<QuantizedMobileNetV1> quantized_;  // at resolution(), when precision_ is Int8
  std::vector<std::string> labels_;
  std::unique_ptr<Runner> main_;      // the whole model
  std::unique_ptr<Runner> backbone_;  // the model without its classifier, built for features()
};

}  // namespace mobilenet

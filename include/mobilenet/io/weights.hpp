// SPDX-License-Identifier: MIT
#pragma once
// MobileNetV1 weights in the native format: safetensors, one tensor per parameter, named
// "<layer>.<parameter>" (docs/weights-format.md), in the library's layouts (HWIO convolution,
// [kh, kw, C] depthwise, [Cin, Cout] pointwise and classifier, BatchNorm unfolded).

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>

#include "mobilenet/core/error.hpp"
#include "mobilenet/io/preprocess.hpp"
#include "mobilenet/io/safetensors.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"

namespace mobilenet {
namespace io {

namespace detail {

// Calls `build` (which builds or checks a model from what `source` holds) and prefixes the
// ConfigError or ShapeError it throws (model bounds, impossible shapes, statistics) with `source`.
template <typename Build>
auto naming_source(const std::string& source, Build&& build) -> decltype(build()) {
  try {
    return build();
  } catch (const ConfigError& error) {
    throw ConfigError(concat(source, ": ", error.what()));
  } catch (const ShapeError& error) {
    throw ShapeError(concat(source, ": ", error.what()));
  }
}

}  // namespace detail

// Fills every parameter of `model` from `file`. Every parameter must be present with exactly
// its shape, and the file may hold nothing else: a missing, mis-shaped or unexpected tensor
// throws (FormatError or ShapeError) naming the file, the tensor, the layer and both shapes.
// Every value must be finite once converted to T, whatever the tensor's dtype (a FormatError
// naming the tensor and the element): one NaN weight silently corrupts every prediction.
// BatchNorm statistics are checked (finite, variance + epsilon > 0) before returning.
template <typename T>
void load_weights(MobileNetV1<T>& model, const SafetensorsFile& file) {
  std::set<std::string> used;
  model.for_each_layer([&](auto& layer) {
    for (auto& parameter : layer.parameters()) {
      const std::string tensor = layer.name() + "." + parameter.name();
      if (!file.contains(tensor))
        throw FormatError(detail::concat(file.source(), ": missing tensor '", tensor, "' for ",
                                         layer.label(), ", expected shape ",
                                         detail::shape_to_string(parameter.shape()),
                                         " (is this a MobileNetV1 file for ", model.name(),
                                         model.config().conv_bias ? " with" : " without",
                                         " convolution biases?)"));
      const TensorInfo& info = file.info(tensor);
      if (info.shape != parameter.shape())
        throw ShapeError(detail::concat(file.source(), ": tensor '", tensor, "' for ", layer.label(),
                                        " has shape ", detail::shape_to_string(info.shape),
                                        ", expected ", detail::shape_to_string(parameter.shape()),
                                        " (", model.name(), ")"));
      const std::vector<T> values = file.to_vector<T>(tensor);
      for (std::size_t i = 0; i < values.size(); ++i)
        if (!std::isfinite(values[i]))
          throw FormatError(detail::concat(file.source(), ": tensor '", tensor, "' for ", layer.label(),
                                           " holds a non-finite value (", values[i], ") at element ", i,
                                           " (", dtype_name(info.dtype), " read as ",
                                           std::is_same<T, float>::value ? "float" : "double", ")"));
      parameter.assign(info.shape, values.data(), layer.label());
      used.insert(tensor);
    }
  });
  for (const auto& name : file.names())
    if (!used.count(name))
      throw FormatError(detail::concat(file.source(), ": unexpected tensor '", name,
                                       "': it is not a parameter of ", model.name(),
                                       model.config().conv_bias ? " with" : " without",
                                       " convolution biases"));
  model.for_each_layer([&](const auto& layer) {
    using Layer = std::decay_t<decltype(layer)>;
    if constexpr (std::is_same<Layer, BatchNorm<T>>::value)
      detail::naming_source(file.source(), [&] { layer.validate(); });
  });
}

template <typename T>
void load_weights(MobileNetV1<T>& model, const std::string& path) {
  load_weights(model, SafetensorsFile::read(path));
}

namespace detail {

inline std::string head_name(Head head) {
  switch (head) {
    case Head::Conv1x1: return "conv1x1";
    case Head::Dense: return "dense";
    case Head::None: return "none";
  }
  return "?";
}

inline std::string number_list(const std::array<float, 3>& values) {
  std::ostringstream os;
  os.precision(9);  // float round-trips exactly
  os << values[0] << ',' << values[1] << ',' << values[2];
  return os.str();
}

// Metadata keys of a weights file, parsed strictly: a malformed value is a FormatError naming
// the file, the key and the value.
class WeightsMetadata {
 public:
  explicit WeightsMetadata(const SafetensorsFile& file) : file_(file) {}

  const std::string* find(const std::string& key) const {
    const auto found = file_.metadata().find(key);
    return found == file_.metadata().end() ? nullptr : &found->second;
  }
  // Sets `out` from the key's value when present.
  void number(const std::string& key, double& out) const {
    if (const std::string* text = find(key)) out = parse_number(key, *text);
  }
  void integer(const std::string& key, Index& out, Index most) const {
    if (const std::string* text = find(key)) {
      const double value = parse_number(key, *text);
      if (value != std::floor(value) || value < 0 || value > static_cast<double>(most))
        bad(key, *text, concat("a whole number from 0 to ", most));
      out = static_cast<Index>(value);
    }
  }
  void boolean(const std::string& key, bool& out) const {
    if (const std::string* text = find(key)) {
      if (*text != "true" && *text != "false") bad(key, *text, "'true' or 'false'");
      out = *text == "true";
    }
  }
  // One of `names`: returns its index, or -1 when the key is absent.
  int choice(const std::string& key, const std::vector<std::string>& names) const {
    const std::string* text = find(key);
    if (!text) return -1;
    for (std::size_t i = 0; i < names.size(); ++i)
      if (*text == names[i]) return static_cast<int>(i);
    std::string expected;
    for (const std::string& name : names) expected += (expected.empty() ? "'" : ", '") + name + "'";
    bad(key, *text, "one of " + expected);
  }
  void floats(const std::string& key, std::array<float, 3>& out) const {
    const std::string* text = find(key);
    if (!text) return;
    std::istringstream in(*text);
    std::string part;
    std::size_t n = 0;
    while (std::getline(in, part, ',')) {
      if (n == 3) bad(key, *text, "three comma-separated numbers");
      const double value = parse_number(key, part);
      if (std::fabs(value) > std::numeric_limits<float>::max()) bad(key, *text, "numbers within float's range");
      out[n++] = static_cast<float>(value);
    }
    if (n != 3) bad(key, *text, "three comma-separated numbers");
  }
  [[noreturn]] void bad(const std::string& key, const std::string& text, const std::string& expected) const {
    throw FormatError(concat(file_.source(), ": metadata '", key, "' = '", text, "': expected ", expected));
  }

 private:
  double parse_number(const std::string& key, const std::string& text) const {
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value))
      bad(key, text, "a number");
    return value;
  }
  const SafetensorsFile& file_;
};

// Tensor `name`, when present, must have `expected` in dimension `dim` under configuration `c`.
inline void require_dim(const SafetensorsFile& file, const MobileNetV1Config& c, const std::string& name,
                        std::size_t dim, Index expected) {
  if (!file.contains(name)) return;  // load_weights reports missing tensors
  const auto& shape = file.info(name).shape;
  if (shape.size() <= dim || shape[dim] != expected)
    throw FormatError(concat(file.source(), ": tensor '", name, "' has shape ", shape_to_string(shape),
                             " but the configuration (alpha ", c.alpha, ", min_depth ", c.min_depth,
                             ") needs ", expected, " in dimension ", dim));
}

// Metadata can claim any alpha or head; before a model of that configuration allocates its
// parameters, its widest tensors must match the file's (which the file's size bounds).
inline void check_config_against_tensors(const SafetensorsFile& file, const MobileNetV1Config& c) {
  require_dim(file, c, "stem.conv.weight", 3, scaled_channels(kStemChannels, c.alpha, c.min_depth));
  const Index widest = scaled_channels(kMobileNetV1Table.back().out_channels, c.alpha, c.min_depth);
  require_dim(file, c, "dsconv13.pointwise.weight", 1, widest);
  if (c.head == Head::Conv1x1) require_dim(file, c, "classifier.weight", 0, widest);
}

// Symmetric padding of at most this many pixels a side: far above the 1 of PyTorch-style
// models, small enough that no size computed from it overflows.
constexpr Index kMaxSymmetricPadding = 8192;

// Values held by all of the file's tensors together.
inline std::uint64_t file_values(const SafetensorsFile& file) {
  std::uint64_t values = 0;
  for (const std::string& name : file.names()) values += file.info(name).element_count();
  return values;
}

// A file can only fill a model whose parameters it holds, so a configuration needing more
// values than the file's tensors hold is refused before a model allocates: what a model
// allocates is then bounded by the file's size. `classifier_inputs` is the classifier's input
// size (the widest channels, or the pooled map for a Dense head); biases and BatchNorm are
// left out, so this is a lower bound and never refuses a complete file.
inline void check_values_for_config(const SafetensorsFile& file, const MobileNetV1Config& c,
                                    long double classifier_inputs) {
  const auto channels = [&](Index base) {
    return static_cast<long double>(scaled_channels(base, c.alpha, c.min_depth));
  };
  long double in = channels(kStemChannels);
  long double needed = 9.0L * static_cast<long double>(c.in_channels) * in;
  for (const DSConvRow& row : kMobileNetV1Table) {
    const long double out = channels(row.out_channels);
    needed += 9.0L * in + in * out;
    in = out;
  }
  if (c.head != Head::None) needed += classifier_inputs * static_cast<long double>(c.num_classes);
  const std::uint64_t held = file_values(file);
  if (needed > static_cast<long double>(held)) {
    const TensorInfo& stem = file.info("stem.conv.weight");
    std::string classes;
    if (file.contains("classifier.bias"))
      classes = concat(", ", c.num_classes, " classes ('classifier.bias' of shape ",
                       shape_to_string(file.info("classifier.bias").shape), ")");
    throw FormatError(concat(file.source(), ": its tensors hold ", held, " values, but the configuration they ",
                             "and the metadata give (alpha ", c.alpha, ", ", c.in_channels, " input channels ",
                             "('stem.conv.weight' of shape ", shape_to_string(stem.shape), ")", classes,
                             ", min_depth ", c.min_depth, ") has at least ", static_cast<double>(needed),
                             " parameters"));
  }
}

}  // namespace detail

// Writes every parameter (F32 for a float model, F64 for double) with metadata recording the
// whole configuration (config_from_weights reads it back) and the preprocessing the weights
// expect (preprocessing_from_weights).
template <typename T>
void save_weights(const MobileNetV1<T>& model, const std::string& path,
                  const Preprocessing& preprocessing = Preprocessing::tensorflow()) {
  SafetensorsWriter writer;
  model.for_each_parameter([&](const std::string& name, const Parameter<T>& p) {
    writer.add(name, p.shape(), p.data());
  });
  const MobileNetV1Config& c = model.config();
  std::ostringstream alpha, epsilon;
  alpha << c.alpha;
  epsilon << c.bn_epsilon;
  writer.set_metadata("format", "mobilenet_v1");
  writer.set_metadata("alpha", alpha.str());
  writer.set_metadata("num_classes", std::to_string(c.num_classes));
  writer.set_metadata("conv_bias", c.conv_bias ? "true" : "false");
  writer.set_metadata("bn_epsilon", epsilon.str());
  writer.set_metadata("batch_norm", c.batch_norm ? "true" : "false");
  writer.set_metadata("resolution", std::to_string(c.resolution));
  writer.set_metadata("activation", activation_name(c.activation));
  writer.set_metadata("padding", c.padding.kind() == Padding::Kind::Symmetric
                                     ? "symmetric:" + std::to_string(c.padding.amount())
                                     : c.padding.str());
  writer.set_metadata("head", detail::head_name(c.head));
  writer.set_metadata("pool_size", std::to_string(c.pool_size));
  writer.set_metadata("softmax", c.softmax ? "true" : "false");
  writer.set_metadata("min_depth", std::to_string(c.min_depth));
  std::ostringstream fraction;
  fraction.precision(17);
  fraction << preprocessing.central_fraction;
  writer.set_metadata("preprocessing",
                      preprocessing.mode == Preprocessing::Mode::TensorFlow ? "tensorflow" : "mean_std");
  writer.set_metadata("preprocessing_central_fraction", fraction.str());
  writer.set_metadata("preprocessing_mean", detail::number_list(preprocessing.mean));
  writer.set_metadata("preprocessing_std", detail::number_list(preprocessing.std));
  writer.write(path);
}

// The configuration of a weights file. Its tensors give alpha (the stem's channels), the
// input channels, the classes (no classifier: Head::None), the biases and whether BatchNorm is
// folded; its metadata, when present, the exact alpha, BatchNorm epsilon, resolution,
// activation, padding ("same", "valid", "symmetric:N"), head, pool size, softmax and channel
// floor. What neither says is taken from `base` (files of older versions lack most keys).
// A configuration the model refuses (its bounds) is a ConfigError, and one needing more values
// than the file's tensors hold a FormatError, both naming the file and raised before anything
// large is allocated, so a model built from the result allocates in proportion to the file.
inline MobileNetV1Config config_from_weights(const SafetensorsFile& file, MobileNetV1Config base = {}) {
  auto shape_of = [&](const std::string& name, std::size_t rank) {
    const TensorInfo& info = file.info(name);
    if (info.shape.size() != rank)
      throw FormatError(detail::concat(file.source(), ": tensor '", name, "' has shape ",
                                       detail::shape_to_string(info.shape), ", expected rank ", rank,
                                       " (is this a MobileNetV1 weights file?)"));
    return info.shape;
  };
  const detail::WeightsMetadata meta(file);
  base.alpha = static_cast<double>(shape_of("stem.conv.weight", 4)[3]) / kStemChannels;
  base.in_channels = shape_of("stem.conv.weight", 4)[2];
  if (file.contains("classifier.bias")) {
    base.num_classes = shape_of("classifier.bias", 1)[0];
    if (base.head == Head::None) base.head = Head::Conv1x1;
  } else {
    base.head = Head::None;
  }
  // A folded file (BatchNorm absorbed into the convolutions) has biases and no BatchNorm.
  base.batch_norm = file.contains("stem.bn.gamma");
  base.conv_bias = file.contains("stem.conv.bias");
  meta.number("alpha", base.alpha);
  meta.number("bn_epsilon", base.bn_epsilon);
  // Bounds far above any MobileNetV1, low enough that predict() cannot be made to overflow.
  meta.integer("resolution", base.resolution, 8192);
  meta.integer("pool_size", base.pool_size, 8192);
  meta.integer("min_depth", base.min_depth, 4096);
  meta.boolean("softmax", base.softmax);
  const int activation = meta.choice("activation", {"none", "relu", "relu6"});
  if (activation >= 0)
    base.activation = activation == 0 ? Activation::None : activation == 1 ? Activation::ReLU : Activation::ReLU6;
  const int head = meta.choice("head", {"conv1x1", "dense", "none"});
  if (head >= 0) base.head = head == 0 ? Head::Conv1x1 : head == 1 ? Head::Dense : Head::None;
  if (const std::string* padding = meta.find("padding")) {
    const std::string prefix = "symmetric:";
    const std::string digits = padding->size() > prefix.size() ? padding->substr(prefix.size()) : "";
    if (*padding == "same") base.padding = Padding::same();
    else if (*padding == "valid") base.padding = Padding::valid();
    else if (padding->compare(0, prefix.size(), prefix) == 0 && !digits.empty() && digits.size() <= 5 &&
             digits.find_first_not_of("0123456789") == std::string::npos &&
             std::stol(digits) <= detail::kMaxSymmetricPadding)
      base.padding = Padding::symmetric(std::stol(digits));
    else meta.bad("padding", *padding, detail::concat("'same', 'valid' or 'symmetric:N' with N from 0 to ",
                                                      detail::kMaxSymmetricPadding));
  }
  // The model's own range for alpha, checked here because channel counts are computed from it
  // below (and converting a huge alpha times 1024 to an integer is undefined).
  if (!(base.alpha > 0 && base.alpha <= 64))
    throw FormatError(detail::concat(file.source(), ": alpha ", base.alpha,
                                     meta.find("alpha") ? " (metadata 'alpha')"
                                                        : detail::concat(" ('stem.conv.weight' of shape ",
                                                                         detail::shape_to_string(file.info("stem.conv.weight").shape),
                                                                         ": its channels / 32)"),
                                     " must be in (0, 64]"));
  detail::check_config_against_tensors(file, base);
  // Every model built from this configuration is bounded by the file's size: first with the
  // widest channels as the classifier's input, then, once the backbone (whose constructor
  // checks the model's bounds) gives the pooled map, with a Dense head's real input size.
  const long double widest = static_cast<long double>(
      scaled_channels(kMobileNetV1Table.back().out_channels, base.alpha, base.min_depth));
  detail::check_values_for_config(file, base, widest);
  MobileNetV1Config backbone = base;
  backbone.head = Head::None;
  const Shape pooled =
      detail::naming_source(file.source(), [&] { return MobileNetV1<float>(backbone).features_shape(1); });
  if (base.head == Head::Dense) {
    const Index inputs = pooled.h * pooled.w * pooled.c;
    detail::require_dim(file, base, "classifier.weight", 0, inputs);
    detail::check_values_for_config(file, base, static_cast<long double>(inputs));
  }
  return base;
}

// The preprocessing a weights file asks for: metadata "preprocessing" = "tensorflow" (the
// default when absent), "torch" (ImageNet mean/std) or "mean_std" with explicit
// "preprocessing_mean", "preprocessing_std" and "preprocessing_central_fraction".
inline Preprocessing preprocessing_from_weights(const SafetensorsFile& file) {
  const detail::WeightsMetadata meta(file);
  const int mode = meta.choice("preprocessing", {"tensorflow", "torch", "mean_std"});
  Preprocessing p = mode == 1 || mode == 2 ? Preprocessing::torch() : Preprocessing::tensorflow();
  meta.number("preprocessing_central_fraction", p.central_fraction);
  meta.floats("preprocessing_mean", p.mean);
  meta.floats("preprocessing_std", p.std);
  if (!(p.central_fraction > 0 && p.central_fraction <= 1))
    meta.bad("preprocessing_central_fraction", std::to_string(p.central_fraction), "a number in (0, 1]");
  for (float s : p.std)
    if (!(s > 0)) meta.bad("preprocessing_std", detail::number_list(p.std), "positive numbers");
  return p;
}

}  // namespace io
}  // namespace mobilenet

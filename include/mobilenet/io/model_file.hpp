// SPDX-License-Identifier: MIT
#pragma once
// One call to load a MobileNetV1 from any file we read: a TensorFlow Lite model (float32,
// float16, uint8 or int8) or our safetensors weights. The format is recognised from the bytes,
// not the name. The float model is always BatchNorm-folded; a quantized file also gives the
// model as TFLite runs it in integers.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/io/file.hpp"
#include "mobilenet/io/preprocess.hpp"
#include "mobilenet/io/safetensors.hpp"
#include "mobilenet/io/tflite.hpp"
#include "mobilenet/io/weights.hpp"
#include "mobilenet/model/fold.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"
#include "mobilenet/model/quantized_mobilenet_v1.hpp"

namespace mobilenet {
namespace io {

struct LoadedModel {
  MobileNetV1<float> model;
  std::vector<std::string> labels;  // from the file's metadata when present, else empty
  std::string format;               // "tflite-float32", "tflite-uint8", ..., "safetensors"
  Preprocessing preprocessing;      // what the weights were trained with
  // A uint8 or int8 .tflite as it runs in integers (QuantizedPlan); empty for float files.
  std::optional<QuantizedMobileNetV1> quantized;
};

// Largest model file we read: the biggest official MobileNetV1 (alpha 1.0, float32) is 17 MB,
// and kMaxWeights float weights take 128 MB.
constexpr std::size_t kMaxModelFileBytes = std::size_t(1) << 28;

namespace detail {

// fold_batch_norm scales a convolution by its BatchNorm in double and stores T: finite but
// extreme statistics in a file could give values beyond T's range, which are undefined to
// convert, so every value folding will store (scale, shift, weights, bias) is checked first.
template <typename T, typename Conv>
void check_foldable(const Conv& conv, const BatchNorm<T>& bn, const std::string& source) {
  const Index channels = bn.options().channels;
  const Index taps = conv.weight().count() / channels;
  for (Index c = 0; c < channels; ++c) {
    const double scale = static_cast<double>(bn.gamma().values()[c]) /
                         std::sqrt(static_cast<double>(bn.moving_variance().values()[c]) + bn.options().epsilon);
    const double shift = static_cast<double>(bn.beta().values()[c]) -
                         static_cast<double>(bn.moving_mean().values()[c]) * scale;
    const double bias = conv.has_bias() ? static_cast<double>(conv.bias().values()[c]) : 0.0;
    double largest = std::max({std::fabs(scale), std::fabs(shift), std::fabs(bias * scale + shift)});
    for (Index t = 0; t < taps; ++t)
      largest = std::max(largest, std::fabs(static_cast<double>(conv.weight().values()[t * channels + c]) * scale));
    if (!(largest <= static_cast<double>(std::numeric_limits<T>::max())))
      throw FormatError(concat(source, ": folding '", bn.name(), "' into '", conv.name(), "' gives ", largest,
                               " in channel ", c, ", beyond the range of the model's numbers"));
  }
}

template <typename T>
void check_foldable(const MobileNetV1<T>& model, const std::string& source) {
  if (!model.config().batch_norm) return;
  check_foldable(model.stem, *model.stem_bn, source);
  for (const DSConv<T>& block : model.blocks) {
    check_foldable(block.depthwise, *block.depthwise_bn, source);
    check_foldable(block.pointwise, *block.pointwise_bn, source);
  }
}

}  // namespace detail

// A safetensors file of MobileNetV1 weights (tensor names of docs/weights-format.md): its
// configuration from config_from_weights (resolution 224 unless its metadata says otherwise),
// loaded strictly (finite values only), then folded (refused when a folded value would not fit
// a float). Labels come from the metadata key "labels" (one per line).
inline LoadedModel load_safetensors_model(const SafetensorsFile& file) {
  const std::string& source = file.source();
  const MobileNetV1Config config = config_from_weights(file);
  MobileNetV1<float> model = detail::naming_source(source, [&] { return MobileNetV1<float>(config); });
  load_weights(model, file);
  detail::check_foldable(model, source);
  LoadedModel loaded{fold_batch_norm(model), {}, "safetensors", preprocessing_from_weights(file), std::nullopt};
  const auto labels = file.metadata().find("labels");
  if (labels != file.metadata().end()) {
    loaded.labels = detail::metadata_label_lines(std::vector<std::uint8_t>(labels->second.begin(), labels->second.end()));
    const Index classes = loaded.model.has_classifier() ? loaded.model.config().num_classes : 0;
    if (static_cast<Index>(loaded.labels.size()) != classes)
      throw FormatError(detail::concat(source, ": metadata 'labels' has ", loaded.labels.size(),
                                       " lines, the model has ", classes, " classes"));
  }
  return loaded;
}

// The same from the file's bytes; errors start with `source`.
inline LoadedModel load_safetensors_model(std::vector<std::uint8_t> bytes, const std::string& source) {
  return load_safetensors_model(SafetensorsFile::parse(std::move(bytes), source));
}

namespace detail {

// The formats load_model tells apart: TFLite has "TFL3" at byte 4; safetensors starts with a
// little-endian header length that fits the file, then the header's '{'.
inline bool is_tflite_bytes(const std::uint8_t* data, std::size_t size) {
  return size >= 8 && std::memcmp(data + 4, "TFL3", 4) == 0;
}

inline bool is_safetensors_bytes(const std::uint8_t* data, std::size_t size) {
  std::uint64_t header = 0;
  for (std::size_t i = 0; i < 8 && i < size; ++i) header |= std::uint64_t(data[i]) << (8 * i);
  return size > 8 && header < size - 8 && data[8] == '{';
}

// TFLite models were trained with TensorFlow's preprocessing. A quantized file is read twice
// from the same bytes: dequantized for float, and as it is for integers.
inline LoadedModel loaded_from_tflite(const std::uint8_t* data, std::size_t size, const std::string& source) {
  TfliteModel tflite = load_tflite(data, size, source);
  LoadedModel loaded{std::move(tflite.model), std::move(tflite.labels), std::move(tflite.format),
                     Preprocessing::tensorflow(), std::nullopt};
  if (loaded.format == "tflite-uint8" || loaded.format == "tflite-int8")
    loaded.quantized = load_tflite_quantized(data, size, source).model;
  return loaded;
}

[[noreturn]] inline void throw_unknown_model_format(const std::string& source) {
  throw FormatError(concat(source, ": neither a TensorFlow Lite model ('TFL3' at byte 4) nor ",
                           "safetensors weights (an 8-byte header length, then '{')"));
}

}  // namespace detail

// Loads a model file, recognising TFLite ("TFL3" at byte 4) or safetensors (a little-endian
// header length, then a JSON object). Anything else is a FormatError naming the file.
inline LoadedModel load_model(const std::string& path) {
  std::vector<std::uint8_t> bytes = read_file(path, kMaxModelFileBytes, "model file");
  if (detail::is_tflite_bytes(bytes.data(), bytes.size()))
    return detail::loaded_from_tflite(bytes.data(), bytes.size(), path);
  if (detail::is_safetensors_bytes(bytes.data(), bytes.size()))
    return load_safetensors_model(std::move(bytes), path);
  detail::throw_unknown_model_format(path);
}

// Loads a model held in memory (a file embedded with mobilenet_embed_model, a memory-mapped
// file, ...), recognising the format as load_model(path) does; messages name `source`.
// TFLite is read in place: the weights are converted straight from `data`, which need only
// live for the duration of the call, and the bytes are never copied. Safetensors weights are
// copied once, because SafetensorsFile owns the buffer it parses.
inline LoadedModel load_model(const std::uint8_t* data, std::size_t size, std::string source) {
  if (data == nullptr && size != 0) throw Error(detail::concat(source, ": null model bytes"));
  if (size > kMaxModelFileBytes)
    throw FormatError(detail::concat(source, ": model of ", size, " bytes exceeds the limit of ",
                                     kMaxModelFileBytes, " bytes"));
  if (detail::is_tflite_bytes(data, size))
    return detail::loaded_from_tflite(data, size, source);
  if (detail::is_safetensors_bytes(data, size))
    return load_safetensors_model(std::vector<std::uint8_t>(data, data + size), source);
  detail::throw_unknown_model_format(source);
}

}  // namespace io
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#pragma once
// MobileNetV1 weights in the native format: safetensors, one tensor per parameter, named
// "<layer>.<parameter>" (docs/weights-format.md), in the library's layouts (HWIO convolution,
// [kh, kw, C] depthwise, [Cin, Cout] pointwise and classifier, BatchNorm unfolded).

#include <cstdlib>
#include <set>
#include <sstream>
#include <string>

#include "mobilenet/core/error.hpp"
#include "mobilenet/io/safetensors.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"

namespace mobilenet {
namespace io {

// Fills every parameter of `model` from `file`. Every parameter must be present with exactly
// its shape, and the file may hold nothing else: a missing, mis-shaped or unexpected tensor
// throws (FormatError or ShapeError) naming the file, the tensor, the layer and both shapes.
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
  model.for_each_layer([](const auto& layer) {
    using Layer = std::decay_t<decltype(layer)>;
    if constexpr (std::is_same<Layer, BatchNorm<T>>::value) layer.validate();
  });
}

template <typename T>
void load_weights(MobileNetV1<T>& model, const std::string& path) {
  load_weights(model, SafetensorsFile::read(path));
}

// Writes every parameter (F32 for a float model, F64 for double) with metadata describing
// the configuration that determines their shapes.
template <typename T>
void save_weights(const MobileNetV1<T>& model, const std::string& path) {
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
  writer.write(path);
}

// The configuration fields a weights file determines, read from its tensors (alpha from the
// stem's channels, the classes, the biases) and its metadata (BatchNorm epsilon, and alpha
// when written there, which is exact where channels are ambiguous). Fields the weights do not
// determine (resolution, activation, padding, head) are taken from `base`.
inline MobileNetV1Config config_from_weights(const SafetensorsFile& file, MobileNetV1Config base = {}) {
  auto shape_of = [&](const std::string& name, std::size_t rank) {
    const TensorInfo& info = file.info(name);
    if (info.shape.size() != rank)
      throw FormatError(detail::concat(file.source(), ": tensor '", name, "' has shape ",
                                       detail::shape_to_string(info.shape), ", expected rank ", rank,
                                       " (is this a MobileNetV1 weights file?)"));
    return info.shape;
  };
  auto number = [&](const std::string& key, double& out) {
    const auto found = file.metadata().find(key);
    if (found == file.metadata().end()) return;
    char* end = nullptr;
    const double value = std::strtod(found->second.c_str(), &end);
    if (end == found->second.c_str() || *end != '\0')
      throw FormatError(detail::concat(file.source(), ": metadata '", key, "' = '", found->second,
                                       "' is not a number"));
    out = value;
  };
  base.alpha = static_cast<double>(shape_of("stem.conv.weight", 4)[3]) / kStemChannels;
  base.in_channels = shape_of("stem.conv.weight", 4)[2];
  base.num_classes = shape_of("classifier.bias", 1)[0];
  // A folded file (BatchNorm absorbed into the convolutions) has biases and no BatchNorm.
  base.batch_norm = file.contains("stem.bn.gamma");
  base.conv_bias = file.contains("stem.conv.bias");
  number("alpha", base.alpha);
  number("bn_epsilon", base.bn_epsilon);
  return base;
}

}  // namespace io
}  // namespace mobilenet

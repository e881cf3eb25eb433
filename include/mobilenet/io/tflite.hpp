// SPDX-License-Identifier: MIT
#pragma once
// Loads the official MobileNetV1 TensorFlow Lite models (float32, float16 and uint8/int8
// quantized, any width multiplier and resolution) into a BatchNorm-folded MobileNetV1<float>:
// tflite_schema.hpp reads the FlatBuffer, tflite_graph.hpp recognises the graph and converts
// the weights, tflite_metadata.hpp finds the labels. Quantized files also load for integer
// execution, into QuantizedMobileNetV1: load_tflite_quantized (tflite_quantized.hpp).

#include <cstdint>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/io/file.hpp"
#include "mobilenet/io/tflite_graph.hpp"
#include "mobilenet/io/tflite_metadata.hpp"
#include "mobilenet/io/tflite_quantized.hpp"
#include "mobilenet/io/tflite_schema.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"

namespace mobilenet {
namespace io {

// A MobileNetV1 read from a .tflite file.
struct TfliteModel {
  MobileNetV1<float> model;
  std::vector<std::string> labels;  // from the metadata's labels file, else empty
  std::string format;               // "tflite-float32", "tflite-float16", "tflite-uint8", "tflite-int8"
};

// Loads a MobileNetV1 .tflite held in memory at [data, data + size), read in place (the bytes
// need only live for the call). The graph must be MobileNetV1 (else a FormatError saying what
// was expected); the configuration (alpha, resolution, classes, padding, activation, softmax,
// or Head::None for a backbone) is inferred from it.
inline TfliteModel load_tflite(const std::uint8_t* data, std::size_t size, const std::string& source) {
  const TfliteModelFile file = parse_tflite(data, size, source);
  detail::TfliteMobileNetReader reader(file, data);
  TfliteModel result{reader.read(), {}, {}};
  switch (reader.weight_type()) {
    case tflite_schema::kFloat32: result.format = "tflite-float32"; break;
    case tflite_schema::kFloat16: result.format = "tflite-float16"; break;
    case tflite_schema::kUInt8: result.format = "tflite-uint8"; break;
    default: result.format = "tflite-int8";
  }
  const Index classes = result.model.config().head == Head::None ? 0 : result.model.config().num_classes;
  if (classes > 0) result.labels = tflite_labels(data, size, source, classes);
  return result;
}

inline TfliteModel load_tflite(const std::vector<std::uint8_t>& bytes, const std::string& source) {
  return load_tflite(bytes.data(), bytes.size(), source);
}

// Reads the file (at most 256 MiB) and loads it; errors name `path`.
inline TfliteModel load_tflite(const std::string& path) {
  return load_tflite(read_file(path, detail::kTfliteMaxFileBytes, "TensorFlow Lite model"), path);
}

}  // namespace io
}  // namespace mobilenet

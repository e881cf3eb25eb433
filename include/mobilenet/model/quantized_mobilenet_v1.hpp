// SPDX-License-Identifier: MIT
#pragma once
// MobileNetV1 quantized to 8 bits as TensorFlow Lite runs it: every convolution in integers
// (core/quantization.hpp), weights and activations as TFLite's uint8 or int8 files hold them.
//
// One internal domain for both file types, so kernels exist once: activations are uint8 with
// int32 zero points (an int8 tensor's values and zero point are shifted by +128, which leaves
// every q - zero_point unchanged), weights are int8 (a uint8 file's weights and weight zero
// point are shifted by -128). The model converts at its edges: inputs and outputs keep the
// file's type (io_type).

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/quantization.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"

namespace mobilenet {

// The element type of a quantized model's input and output tensors.
enum class QuantType { UInt8, Int8 };

inline const char* quant_type_name(QuantType t) { return t == QuantType::UInt8 ? "uint8" : "int8"; }

// Real values to a tensor's bytes in type `t`: round(x / scale) + zero point, saturated to the
// type (int8 values stored as their bytes).
inline void quantize_values(const float* values, Index count, QuantParams p, QuantType t, std::uint8_t* bytes) {
  const bool int8 = t == QuantType::Int8;
  const float lo = int8 ? -128.0f : 0.0f, hi = int8 ? 127.0f : 255.0f;
  for (Index i = 0; i < count; ++i) {
    const float q = std::min(hi, std::max(lo, std::round(values[i] / p.scale) + static_cast<float>(p.zero_point)));
    bytes[i] = static_cast<std::uint8_t>(static_cast<std::int32_t>(q) & 0xff);
  }
}

// A tensor's bytes in type `t` to real values: scale * (q - zero point).
inline void dequantize_values(const std::uint8_t* bytes, Index count, QuantParams p, QuantType t, float* values) {
  for (Index i = 0; i < count; ++i) {
    const std::int32_t q = t == QuantType::Int8 ? static_cast<std::int32_t>(static_cast<std::int8_t>(bytes[i])) : bytes[i];
    values[i] = p.scale * static_cast<float>(q - p.zero_point);
  }
}

// One convolution (stem, depthwise, pointwise or classifier) in the internal domain.
struct QuantizedConv {
  std::string name;  // our layer name, e.g. "dsconv3.pointwise"
  Index in_channels = 0, out_channels = 0;
  Index kernel = 1;  // 3 (stem, depthwise) or 1 (pointwise, classifier)
  Index stride = 1;
  bool depthwise = false;
  // Layouts: stem [O, 3, 3, I] (TFLite's OHWI); depthwise [3, 3, C]; pointwise and classifier
  // [O, I]. Values q_w - 128 for uint8 files, q_w for int8 files.
  std::vector<std::int8_t> weights;
  std::int32_t weight_zero_point = 0;  // one for the tensor, in the same shifted domain
  std::vector<float> weight_scales;    // 1 (per tensor) or out_channels (per channel)
  std::vector<std::int32_t> bias;      // out_channels; zeros when the file has none
  QuantParams input, output;           // activations, internal uint8 domain
  std::vector<Requantization> requantization;  // out_channels (per-tensor models repeat one)
  Rounding rounding = Rounding::Double;        // Single for int8 files' full convolutions
  QuantRange range;                            // clamp of the output, internal uint8 domain
};

// Global average pool: TFLite's uint8 pool keeps the input's parameters.
struct QuantizedPool {
  QuantParams params;  // input and output, internal domain
};

// SOFTMAX on the classifier's logits: TFLite's float lookup table (exp(beta * s * (q - max)))
// and output q = (int)(p * 256 + 0.5) for uint8 (scale 1/256, zero point 0).
struct QuantizedSoftmax {
  float beta = 1.0f;
  QuantParams input;   // the logits', internal domain
  QuantParams output;  // the file's (1/256, 0 for uint8; 1/256, -128 for int8), internal domain
};

struct QuantizedDSConv {
  QuantizedConv depthwise, pointwise;
};

struct QuantizedMobileNetV1 {
  MobileNetV1Config config;  // alpha, resolution, classes, head (Conv1x1 or None), softmax, padding
  QuantType io_type = QuantType::UInt8;
  QuantizedConv stem;
  std::array<QuantizedDSConv, 13> blocks;
  QuantizedPool pool;
  std::optional<QuantizedConv> classifier;  // absent for a backbone (Head::None)
  std::optional<QuantizedSoftmax> softmax;  // present when config.softmax

  // The input tensor's parameters in the file's domain (what a caller quantizes with).
  QuantParams input_params() const { return to_file_domain(stem.input); }
  // The output tensor's parameters in the file's domain: probabilities, logits or features.
  QuantParams output_params() const {
    if (softmax) return to_file_domain(softmax->output);
    return to_file_domain(classifier ? classifier->output : pool.params);
  }
  // Elements of one image's input and output.
  Index input_size() const { return config.resolution * config.resolution * config.in_channels; }
  Index output_size() const { return classifier ? classifier->out_channels : pool_channels(); }
  Index pool_channels() const { return blocks.back().pointwise.out_channels; }
  // Internal <-> file domain of one value: int8 files are shifted by 128.
  std::uint8_t to_internal(std::uint8_t file_byte) const {
    return io_type == QuantType::Int8 ? static_cast<std::uint8_t>(file_byte ^ 0x80u) : file_byte;
  }
  std::uint8_t to_file(std::uint8_t internal) const { return to_internal(internal); }

 private:
  QuantParams to_file_domain(QuantParams p) const {
    if (io_type == QuantType::Int8) p.zero_point -= 128;
    return p;
  }
};

}  // namespace mobilenet

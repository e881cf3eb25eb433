// SPDX-License-Identifier: MIT
#pragma once
// Loads a quantized MobileNetV1 .tflite into QuantizedMobileNetV1 (model/quantized_mobilenet_v1.hpp)
// for integer execution, as TensorFlow Lite's builtin kernels run it:
//   - uint8 files (the official models): per-tensor asymmetric uint8 weights and activations,
//     int32 biases; multipliers from the float32 product of the scales (conv_requantization_per_tensor);
//   - int8 files (TFLite's full-integer scheme): int8 activations, symmetric int8 weights
//     (zero point 0) per channel or per tensor, int32 biases; multipliers in double
//     (conv_requantization_per_channel); full convolutions round once (Rounding::Single).
// The graph is recognised by io/tflite_graph.hpp (shared with the float loader). Weights keep
// TFLite's layouts (OHWI, [1, k, k, C], [O, 1, 1, I]) shifted into the internal int8 domain.
// Every quantization parameter is checked here: a bad one is a FormatError naming the tensor.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/quantization.hpp"
#include "mobilenet/io/file.hpp"
#include "mobilenet/io/tflite_graph.hpp"
#include "mobilenet/io/tflite_metadata.hpp"
#include "mobilenet/io/tflite_schema.hpp"
#include "mobilenet/model/quantized_mobilenet_v1.hpp"

namespace mobilenet {
namespace io {

// A quantized MobileNetV1 read from a .tflite file.
struct QuantizedTfliteModel {
  QuantizedMobileNetV1 model;
  std::vector<std::string> labels;  // from the metadata's labels file, else empty
  std::string format;               // "tflite-uint8" or "tflite-int8"
};

namespace detail {

// Builds the integer model of a recognised graph; see load_tflite_quantized.
class TfliteQuantizedReader : public TfliteMobileNetGraph {
 public:
  TfliteQuantizedReader(const TfliteModelFile& file, const std::uint8_t* bytes)
      : TfliteMobileNetGraph(file, bytes), file_(file), bytes_(bytes) {}

  QuantizedMobileNetV1 read() {
    refuse_float_graph();
    QuantizedMobileNetV1 m;
    m.config = recognise();
    m.io_type = file_type();
    const std::vector<TfliteLayer>& ls = layers();
    m.stem = conv(ls[0], m.io_type);
    for (std::size_t b = 0; b < m.blocks.size(); ++b) {
      m.blocks[b].depthwise = conv(ls[1 + 2 * b], m.io_type);
      m.blocks[b].pointwise = conv(ls[2 + 2 * b], m.io_type);
    }
    m.pool = pool();
    if (classifier()) m.classifier = conv(*classifier(), m.io_type);
    if (softmax_op()) m.softmax = softmax(*softmax_op(), m.io_type);
    return m;
  }

 private:
  // QUANTIZE / DEQUANTIZE change the number format mid-graph (float input or output, or a
  // requantization); integer execution here reads and writes the file's 8-bit tensors only.
  void refuse_float_graph() const {
    for (std::size_t i = 0; i < file_.operators.size(); ++i) {
      const int code = file_.operators[i].code;
      if (code == tflite_schema::kQuantize || code == tflite_schema::kDequantize)
        fail(concat(describe(i), ": integer execution needs a graph with 8-bit input and output "
                    "and no format changes; load this file with load_tflite (float) instead"));
    }
  }

  // The activations' type, from the graph input; weights must match it (uint8 with uint8,
  // int8 with int8), as TFLite's builtin kernels require.
  QuantType file_type() const {
    const TfliteTensor& in = tensor(input());
    const int weights = weight_type();
    if (weights == tflite_schema::kFloat32 || weights == tflite_schema::kFloat16 ||
        in.type == tflite_schema::kFloat32)
      fail(concat("this is a float model (input '", in.name, "' is ", tflite_schema::type_name(in.type),
                  ", weights ", tflite_schema::type_name(weights),
                  "); load it with load_tflite, integer execution needs a quantized file"));
    if (in.type != tflite_schema::kUInt8 && in.type != tflite_schema::kInt8)
      fail(concat("input tensor '", in.name, "' is ", tflite_schema::type_name(in.type),
                  "; a quantized MobileNetV1 takes UINT8 or INT8 images"));
    if (weights != in.type)
      fail(concat("input tensor '", in.name, "' is ", tflite_schema::type_name(in.type), " but the weights are ",
                  tflite_schema::type_name(weights), "; TFLite's integer kernels need both UINT8 or both INT8"));
    return in.type == tflite_schema::kUInt8 ? QuantType::UInt8 : QuantType::Int8;
  }

  std::string tensor_label(std::int32_t index) const {
    return concat("tensor ", index, " '", tensor(index).name, "'");
  }

  // An activation's per-tensor parameters in the internal domain (int8 zero points + 128).
  QuantParams activation(std::int32_t index, QuantType type, const std::string& role) const {
    const TfliteTensor& t = tensor(index);
    const int expected = type == QuantType::UInt8 ? tflite_schema::kUInt8 : tflite_schema::kInt8;
    if (t.type != expected)
      fail(concat(role, " (", tensor_label(index), ") is ", tflite_schema::type_name(t.type), "; expected ",
                  tflite_schema::type_name(expected), " like the model's input"));
    if (t.scale.empty())
      fail(concat(role, " (", tensor_label(index), ") is ", tflite_schema::type_name(t.type),
                  " without quantization parameters"));
    if (t.scale.size() != 1)
      fail(concat(role, " (", tensor_label(index), ") has ", t.scale.size(),
                  " scales; an activation is quantized per tensor"));
    // parse_tflite checked the scale (positive, finite) and the zero point's range.
    QuantParams p{t.scale[0], t.zero_point.empty() ? 0 : static_cast<std::int32_t>(t.zero_point[0])};
    if (type == QuantType::Int8) p.zero_point += 128;
    return p;
  }

  QuantizedConv conv(const TfliteLayer& layer, QuantType type) const {
    const TfliteOperator& op = file_.operators[layer.op];
    const std::string role = concat(describe(layer.op), " (", layer.layer, ")");
    QuantizedConv c;
    c.name = layer.layer;
    c.depthwise = layer.is_depthwise;
    c.stride = layer.stride;
    const std::int32_t w_index = weights_of(layer);
    const TfliteTensor& w = tensor(w_index);
    c.kernel = static_cast<Index>(w.shape[1]);
    c.out_channels = static_cast<Index>(layer.is_depthwise ? w.shape[3] : w.shape[0]);
    c.in_channels = static_cast<Index>(w.shape[3]);
    c.input = activation(op.inputs[0], type, role + " input");
    c.output = activation(op.outputs[0], type, role + " output");
    read_weights(c, w_index, type, role + " weights", layer.is_depthwise ? 3 : 0);
    read_bias(c, op, role + " bias");
    set_requantization(c, type, role);
    // TFLite's int8 CONV_2D hands its per-channel multipliers to ruy, which rounds once; its
    // int8 depthwise kernel and every uint8 kernel round twice.
    c.rounding = type == QuantType::Int8 && !layer.is_depthwise ? Rounding::Single : Rounding::Double;
    c.range = quantized_activation_range(fused_activation(layer), c.output, 0, 255);
    return c;
  }

  // Weights in the internal domain: uint8 q - 128 (zero point too), int8 as they are.
  void read_weights(QuantizedConv& c, std::int32_t index, QuantType type, const std::string& role,
                    int channel_dim) const {
    const TfliteTensor& w = tensor(index);
    const std::string label = concat(role, " (", tensor_label(index), ")");
    const int expected = type == QuantType::UInt8 ? tflite_schema::kUInt8 : tflite_schema::kInt8;
    if (w.type != expected)
      fail(concat(label, " are ", tflite_schema::type_name(w.type), "; a ", quant_type_name(type),
                  " model's weights are ", tflite_schema::type_name(expected)));
    if (w.scale.empty())
      fail(concat(label, " are ", tflite_schema::type_name(w.type), " without quantization parameters"));
    const std::size_t channels = static_cast<std::size_t>(c.out_channels);
    if (w.scale.size() != 1) {
      if (type == QuantType::UInt8)
        fail(concat(label, " have ", w.scale.size(), " scales; UINT8 weights are quantized per tensor"));
      if (w.scale.size() != channels || w.quantized_dimension != channel_dim)
        fail(concat(label, " have ", w.scale.size(), " scales along dimension ", w.quantized_dimension,
                    "; per-channel weights need one per output channel (", channels, ") along dimension ",
                    channel_dim));
    }
    // TFLite's int8 kernels never subtract a weight zero point: int8 weights are symmetric.
    for (std::size_t k = 0; type == QuantType::Int8 && k < w.zero_point.size(); ++k)
      if (w.zero_point[k] != 0)
        fail(concat(label, " have zero point ", w.zero_point[k], " at channel ", k,
                    "; INT8 weights are symmetric (zero point 0)"));
    c.weight_scales = w.scale;
    const std::int32_t zero = w.zero_point.empty() ? 0 : static_cast<std::int32_t>(w.zero_point[0]);
    const std::int32_t shift = type == QuantType::UInt8 ? 128 : 0;
    c.weight_zero_point = zero - shift;
    const auto range = file_.buffers[w.buffer];
    constant_element_bytes(index, role);  // the buffer holds exactly the elements
    c.weights.resize(range.second);
    for (std::size_t i = 0; i < range.second; ++i) {
      const std::uint8_t byte = bytes_[range.first + i];
      c.weights[i] = static_cast<std::int8_t>(type == QuantType::UInt8 ? std::int32_t(byte) - shift
                                                                       : std::int32_t(static_cast<std::int8_t>(byte)));
    }
  }

  void read_bias(QuantizedConv& c, const TfliteOperator& op, const std::string& role) const {
    c.bias.assign(static_cast<std::size_t>(c.out_channels), 0);
    if (op.inputs.size() < 3 || op.inputs[2] < 0) return;
    const std::int32_t index = resolve(op.inputs[2]);
    const TfliteTensor& b = tensor(index);
    const std::string label = concat(role, " (", tensor_label(index), ")");
    if (b.type != tflite_schema::kInt32)
      fail(concat(label, " is ", tflite_schema::type_name(b.type), "; a quantized model's bias must be INT32"));
    if (b.element_count() != c.out_channels)
      fail(concat(label, " has ", b.element_count(), " values for ", c.out_channels, " channels"));
    constant_element_bytes(index, role);
    const auto range = file_.buffers[b.buffer];
    const FlatBuffer fb(bytes_ + range.first, range.second, file_.source);
    for (std::size_t i = 0; i < c.bias.size(); ++i) c.bias[i] = fb.read<std::int32_t>(4 * i, "bias");
  }

  // TFLite's multipliers: uint8 models from float(s_in * s_w) / s_out, int8 models per channel
  // in double (core/quantization.hpp).
  void set_requantization(QuantizedConv& c, QuantType type, const std::string& role) const {
    c.requantization.resize(static_cast<std::size_t>(c.out_channels));
    for (std::size_t o = 0; o < c.requantization.size(); ++o) {
      const float ws = c.weight_scales.size() == 1 ? c.weight_scales[0] : c.weight_scales[o];
      try {
        c.requantization[o] = type == QuantType::UInt8
                                  ? conv_requantization_per_tensor(c.input.scale, ws, c.output.scale)
                                  : conv_requantization_per_channel(c.input.scale, ws, c.output.scale);
      } catch (const ConfigError& e) {
        fail(concat(role, " channel ", o, ": input scale ", c.input.scale, " x weight scale ", ws,
                    " / output scale ", c.output.scale, ": ", e.what()));
      }
    }
  }

  QuantActivation fused_activation(const TfliteLayer& layer) const {
    const TfliteOperator& op = file_.operators[layer.op];
    switch (op.activation) {
      case tflite_schema::kActRelu6: return QuantActivation::ReLU6;
      case tflite_schema::kActRelu: return QuantActivation::ReLU;
      case tflite_schema::kActNone: return QuantActivation::None;  // the type's range only
      default:
        fail(concat(describe(layer.op), " (", layer.layer, ") has fused activation ", op.activation,
                    "; MobileNetV1 uses RELU6, RELU or none"));
    }
  }

  // TFLite's uint8 average pool keeps its input's parameters; a file asking to requantize
  // there would be run differently by TFLite's kernels, so it is refused.
  QuantizedPool pool() const {
    const TfliteOperator& op = file_.operators[pool_op()];
    const QuantType type = file_type();
    const QuantParams in = activation(op.inputs[0], type, describe(pool_op()) + " (pool) input");
    const QuantParams out = activation(op.outputs[0], type, describe(pool_op()) + " (pool) output");
    if (in.scale != out.scale || in.zero_point != out.zero_point)
      fail(concat(describe(pool_op()), " (pool): output ", tensor_label(op.outputs[0]), " has scale ", out.scale,
                  " and zero point ", out.zero_point, ", input ", in.scale, " and ", in.zero_point,
                  "; an 8-bit average pool does not requantize, they must be equal"));
    return QuantizedPool{in};
  }

  QuantizedSoftmax softmax(std::size_t op_index, QuantType type) const {
    const TfliteOperator& op = file_.operators[op_index];
    const std::string role = describe(op_index) + " (softmax)";
    QuantizedSoftmax s;
    s.beta = op.beta;
    if (!op.has_options)  // TFLite would run it with beta 0: every probability equal
      fail(concat(role, " has no SoftmaxOptions (beta)"));
    if (!(std::isfinite(s.beta) && s.beta > 0.0f))
      fail(concat(role, " has beta ", s.beta, "; expected a positive finite value"));
    s.input = activation(op.inputs[0], type, role + " input");
    const QuantParams logits = activation(file_.operators[classifier()->op].outputs[0], type, role);
    if (logits.scale != s.input.scale || logits.zero_point != s.input.zero_point)
      fail(concat(role, " input ", tensor_label(op.inputs[0]), " has other parameters than the classifier's "
                  "output; a reshape does not requantize"));
    s.output = activation(op.outputs[0], type, role + " output");
    // TFLite's 8-bit softmax writes probabilities with scale 1/256 and zero point 0 (uint8) or -128
    // (int8): 0 in the internal domain for both.
    if (s.output.scale != 1.0f / 256 || s.output.zero_point != 0)
      fail(concat(role, " output ", tensor_label(op.outputs[0]), " has scale ", s.output.scale,
                  " and zero point ", s.output.zero_point - (type == QuantType::Int8 ? 128 : 0),
                  "; an 8-bit softmax outputs scale 1/256, zero point ", type == QuantType::Int8 ? -128 : 0));
    return s;
  }

  const TfliteModelFile& file_;
  const std::uint8_t* bytes_;
};

}  // namespace detail
}  // namespace io
}  // namespace mobilenet

namespace mobilenet {
namespace io {

// Loads a quantized MobileNetV1 .tflite held in memory at [data, data + size) for integer
// execution (the bytes need only live for the call). A float file, a graph that is not
// MobileNetV1, or bad quantization parameters give a FormatError naming the tensor.
inline QuantizedTfliteModel load_tflite_quantized(const std::uint8_t* data, std::size_t size,
                                                  const std::string& source) {
  const TfliteModelFile file = parse_tflite(data, size, source);
  detail::TfliteQuantizedReader reader(file, data);
  QuantizedTfliteModel result{reader.read(), {}, {}};
  result.format = result.model.io_type == QuantType::UInt8 ? "tflite-uint8" : "tflite-int8";
  if (result.model.classifier)
    result.labels = tflite_labels(data, size, source, result.model.classifier->out_channels);
  return result;
}

inline QuantizedTfliteModel load_tflite_quantized(const std::vector<std::uint8_t>& bytes,
                                                  const std::string& source) {
  return load_tflite_quantized(bytes.data(), bytes.size(), source);
}

// Reads the file (at most 256 MiB) and loads it; errors name `path`.
inline QuantizedTfliteModel load_tflite_quantized(const std::string& path) {
  return load_tflite_quantized(read_file(path, detail::kTfliteMaxFileBytes, "TensorFlow Lite model"), path);
}

}  // namespace io
}  // namespace mobilenet

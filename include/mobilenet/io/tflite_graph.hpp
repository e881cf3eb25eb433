// SPDX-License-Identifier: MIT
#pragma once
// Recognises MobileNetV1 in a parsed .tflite graph (CONV_2D stem, 13 x (DEPTHWISE_CONV_2D,
// CONV_2D), AVERAGE_POOL_2D, then optionally CONV_2D 1x1, RESHAPE or SQUEEZE, SOFTMAX), infers
// its configuration (TfliteMobileNetGraph, shared by the float and the quantized loaders), and
// for the float model converts the weights to our layouts (TfliteMobileNetReader):
//   CONV_2D          OHWI [O, kh, kw, I]  ->  HWIO [kh, kw, I, O]
//   DEPTHWISE_CONV_2D [1, kh, kw, C]      ->  [kh, kw, C]
//   CONV_2D 1x1      [O, 1, 1, I]         ->  [I, O]
// Quantized tensors are dequantized to float: (q - zero_point) * scale, per tensor or per
// channel; int32 biases as q * bias_scale.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/padding.hpp"
#include "mobilenet/io/flatbuffer.hpp"
#include "mobilenet/io/half.hpp"
#include "mobilenet/io/tflite_schema.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"

namespace mobilenet {
namespace io {

namespace detail {

// Input channels beyond this are no image; the resolution is bounded by the model itself
// (kMaxActivationValues), which refuses inputs whose activations would take gigabytes.
constexpr Index kTfliteMaxChannels = 64;

// Reads TFLite MobileNetV1 graphs into our model; one instance per file.
class TfliteGraphReader {
 public:
  TfliteGraphReader(const TfliteModelFile& file, const std::uint8_t* bytes)
      : file_(file), bytes_(bytes) {}

  // A constant tensor as float in its own layout: dequantized when quantized.
  // `input_scale` is the scale of the operator's input, for a bias without its own scale.
  std::vector<float> constant(std::int32_t index, const std::string& role,
                              const TfliteTensor* weights_for_bias = nullptr,
                              float input_scale = 0.0f) const {
    namespace s = tflite_schema;
    const TfliteTensor& t = file_.tensors[static_cast<std::size_t>(index)];
    const std::size_t element_bytes = constant_element_bytes(index, role);
    const auto range = file_.buffers[t.buffer];
    const std::size_t count = static_cast<std::size_t>(t.element_count());
    const FlatBuffer fb(bytes_ + range.first, range.second, file_.source);
    // Per-channel parameters run along `quantized_dimension`: stride = product of later dims.
    std::size_t channels = 1, inner = 1;
    const bool quantized = t.type != s::kFloat32 && t.type != s::kFloat16;
    std::vector<float> scale = t.scale;
    if (quantized) {
      if (scale.empty() && t.type == s::kInt32 && weights_for_bias && !weights_for_bias->scale.empty()) {
        // TFLite defines bias_scale = input_scale * weight_scale when the bias omits it.
        for (float w : weights_for_bias->scale) {
          scale.push_back(w * input_scale);
          if (!(std::isfinite(scale.back()) && scale.back() > 0.0f))
            fail(concat(role, " (tensor ", index, " '", t.name, "') has no scale, and input scale ",
                        input_scale, " x weight scale ", w, " gives none that is positive and finite"));
        }
      }
      if (scale.empty())
        fail(concat(role, " (tensor ", index, " '", t.name, "') is ", s::type_name(t.type),
                    " without quantization parameters"));
      if (scale.size() > 1) {
        const int dim = t.quantized_dimension;
        if (dim < 0 || dim >= static_cast<int>(t.shape.size()) ||
            t.shape[static_cast<std::size_t>(dim)] != static_cast<std::int64_t>(scale.size()))
          fail(concat(role, " (tensor ", index, " '", t.name, "') has ", scale.size(),
                      " scales along dimension ", dim, " of shape ", shape_to_string(t.shape)));
        channels = scale.size();
        for (std::size_t d = static_cast<std::size_t>(dim) + 1; d < t.shape.size(); ++d)
          inner *= static_cast<std::size_t>(t.shape[d]);
      }
    }
    std::vector<float> out(count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t at = i * element_bytes;
      const std::size_t channel = channels > 1 ? (i / inner) % channels : 0;
      const double zero = quantized && !t.zero_point.empty() && channel < t.zero_point.size()
                              ? static_cast<double>(t.zero_point[channel]) : 0.0;
      switch (t.type) {
        case s::kFloat32: out[i] = fb.read<float>(at, "weight"); break;
        case s::kFloat16: out[i] = half_to_float(fb.read<std::uint16_t>(at, "weight")); break;
        case s::kUInt8:
          out[i] = static_cast<float>((fb.read<std::uint8_t>(at, "weight") - zero) * scale[channel]);
          break;
        case s::kInt8:
          out[i] = static_cast<float>((fb.read<std::int8_t>(at, "weight") - zero) * scale[channel]);
          break;
        default:  // INT32: a bias, zero point 0 by definition
          out[i] = static_cast<float>(fb.read<std::int32_t>(at, "bias") * double(scale[channel]));
      }
      if (!std::isfinite(out[i]))
        fail(concat(role, " (tensor ", index, " '", t.name, "') holds a non-finite value at ", i));
    }
    return out;
  }

  // Bytes per element of a constant tensor, after checking that its type is one we convert
  // and that its buffer holds exactly its elements.
  std::size_t constant_element_bytes(std::int32_t index, const std::string& role) const {
    namespace s = tflite_schema;
    const TfliteTensor& t = file_.tensors[static_cast<std::size_t>(index)];
    std::size_t element_bytes = 0;
    switch (t.type) {
      case s::kFloat32: case s::kInt32: element_bytes = 4; break;
      case s::kFloat16: element_bytes = 2; break;
      case s::kUInt8: case s::kInt8: element_bytes = 1; break;
      default:
        fail(concat(role, " (tensor ", index, " '", t.name, "') has type ", s::type_name(t.type),
                    "; expected FLOAT32, FLOAT16, UINT8, INT8 or INT32"));
    }
    const std::size_t count = static_cast<std::size_t>(t.element_count());
    const std::size_t available = t.buffer < file_.buffers.size() ? file_.buffers[t.buffer].second : 0;
    if (available != count * element_bytes)
      fail(concat(role, " (tensor ", index, " '", t.name, "') of shape ", shape_to_string(t.shape),
                  " and type ", s::type_name(t.type), " needs ", count * element_bytes,
                  " bytes, its buffer has ", available));
    return element_bytes;
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw FormatError(concat(file_.source, ": ", message));
  }

 private:
  const TfliteModelFile& file_;
  const std::uint8_t* bytes_;
};

// MobileNetV1 as the graph spells it: which operator fills which of our layers.
struct TfliteLayer {
  std::size_t op = 0;        // index into TfliteModelFile::operators
  std::string layer;         // our layer's name, e.g. "dsconv3.depthwise"
  Index stride = 1;          // expected stride
  bool is_depthwise = false;
  bool is_pointwise = false;  // 1x1 convolution: weights [O, 1, 1, I] -> [I, O]
};


// Recognises the MobileNetV1 graph in `file` and checks its shapes (operator sequence, strides,
// dilations, weight and activation shapes); the float and the quantized loaders build their
// models from what it found (layers(), classifier(), pool_op(), softmax_op()).
class TfliteMobileNetGraph : public TfliteGraphReader {
 public:
  TfliteMobileNetGraph(const TfliteModelFile& file, const std::uint8_t* bytes)
      : TfliteGraphReader(file, bytes), file_(file) {}

  // The configuration the graph spells (alpha, resolution, classes, padding, activation,
  // softmax, or Head::None for a backbone); a FormatError when it is no MobileNetV1. Every
  // weight tensor is checked to have the shape alpha implies and to hold its data in the file
  // before any model allocates, so a hostile file cannot make us allocate more than it holds.
  MobileNetV1Config recognise() {
    drop_quantize_operators();
    input_ = graph_input();
    const TfliteTensor& input_tensor = tensor(input_);
    if (input_tensor.shape.size() != 4 || input_tensor.shape[1] != input_tensor.shape[2])
      fail(concat("input tensor '", input_tensor.name, "' has shape ",
                  shape_to_string(input_tensor.shape), "; expected a square image [1, R, R, C]"));
    current_ = input_;
    recognise_layers();
    const MobileNetV1Config config = infer_config(input_tensor);
    check_weight_shapes(config);
    try {
      MobileNetV1<float>::validated(config);
    } catch (const ConfigError& e) {  // e.g. a huge input: a property of this file
      fail(concat("input tensor '", input_tensor.name, "' has shape ", shape_to_string(input_tensor.shape),
                  ", which this library refuses: ", e.what()));
    }
    check_geometry(config);
    return config;
  }

  int weight_type() const { return tensor(weights_of(layers_.front())).type; }
  // Stem, then depthwise/pointwise pairs; the classifier when the graph has one.
  const std::vector<TfliteLayer>& layers() const { return layers_; }
  const std::optional<TfliteLayer>& classifier() const { return classifier_; }
  std::size_t pool_op() const { return pool_op_; }
  std::optional<std::size_t> softmax_op() const { return softmax_op_; }
  std::size_t reshape_op() const { return reshape_op_; }  // 0 when there is none
  std::int32_t input() const { return input_; }           // the graph's input tensor
  const TfliteTensor& tensor(std::int32_t index) const {
    return file_.tensors[static_cast<std::size_t>(index)];
  }
  std::string describe(std::size_t op) const {
    return concat("operator ", op, " (", tflite_schema::operator_name(file_.operators[op].code), ")");
  }
  std::int32_t weights_of(const TfliteLayer& layer) const {
    const TfliteOperator& op = file_.operators[layer.op];
    if (op.inputs.size() < 2 || op.inputs[1] < 0)
      fail(concat(describe(layer.op), " (", layer.layer, ") has no weights"));
    return resolve(op.inputs[1]);
  }
  std::int32_t resolve(std::int32_t t) const {
    if (t < 0) return t;
    // Each step goes to an earlier alias; the bound guards against a cycle in a hostile file.
    for (std::size_t steps = 0; steps <= alias_.size(); ++steps) {
      const std::int32_t next = alias_[static_cast<std::size_t>(t)];
      if (next == t) return t;
      t = next;
    }
    fail("QUANTIZE/DEQUANTIZE operators form a cycle");
  }

 private:
  static constexpr const char* kExpectedGraph =
      "a MobileNetV1 graph is CONV_2D, 13 x (DEPTHWISE_CONV_2D, CONV_2D), AVERAGE_POOL_2D, "
      "then optionally CONV_2D 1x1, RESHAPE or SQUEEZE, SOFTMAX";

  // Alpha from the widest layer (the last pointwise, 1024 x alpha channels), where TF-slim's
  // floor of 8 channels cannot hide it; every other layer is checked against it.
  MobileNetV1Config infer_config(const TfliteTensor& input_tensor) const {
    const TfliteTensor& last_weights = tensor(weights_of(layers_.back()));
    if (last_weights.shape.size() != 4 || last_weights.shape[0] < 1)
      fail(concat("last pointwise weights '", last_weights.name, "' have shape ",
                  shape_to_string(last_weights.shape), "; expected OHWI [O, 1, 1, I]"));
    const Index widest = kMobileNetV1Table.back().out_channels;
    MobileNetV1Config config = MobileNetV1Config::tflite(
        static_cast<double>(last_weights.shape[0]) / static_cast<double>(widest),
        static_cast<Index>(input_tensor.shape[1]));
    config.in_channels = static_cast<Index>(input_tensor.shape[3]);
    if (config.resolution < 1 || config.in_channels < 1 || config.in_channels > kTfliteMaxChannels)
      fail(concat("input tensor '", input_tensor.name, "' has shape ",
                  shape_to_string(input_tensor.shape), "; this loader accepts [1, R, R, C] with R >= 1 "
                  "and C from 1 to ", kTfliteMaxChannels));
    config.padding = common_padding();
    config.activation = common_activation();
    config.softmax = softmax_op_.has_value();
    if (classifier_) {
      const TfliteTensor& w = tensor(weights_of(*classifier_));
      if (w.shape.empty())
        fail(concat("classifier weights '", w.name, "' have no shape"));
      config.num_classes = static_cast<Index>(w.shape[0]);
      config.head = Head::Conv1x1;
    } else {
      config.head = Head::None;  // a backbone: predict() gives the pooled features
      config.num_classes = 0;
      config.softmax = false;
    }
    return config;
  }


  // QUANTIZE and DEQUANTIZE only change the number format: the model runs in float, so each
  // one's output is read as its input (e.g. float16 weights behind a DEQUANTIZE).
  void drop_quantize_operators() {
    alias_.resize(file_.tensors.size());
    for (std::size_t t = 0; t < alias_.size(); ++t) alias_[t] = static_cast<std::int32_t>(t);
    for (std::size_t i = 0; i < file_.operators.size(); ++i) {
      const TfliteOperator& op = file_.operators[i];
      if (op.code != tflite_schema::kQuantize && op.code != tflite_schema::kDequantize) {
        kept_.push_back(i);
        continue;
      }
      if (op.inputs.size() != 1 || op.outputs.size() != 1 || op.inputs[0] < 0 || op.outputs[0] < 0)
        fail(concat(describe(i), " should have one input and one output"));
      alias_[static_cast<std::size_t>(op.outputs[0])] = resolve(op.inputs[0]);
    }
  }

  std::int32_t graph_input() const {
    if (file_.inputs.size() != 1 || file_.inputs[0] < 0)
      fail(concat("the graph has ", file_.inputs.size(), " inputs; ", kExpectedGraph,
                  " with one image input"));
    return resolve(file_.inputs[0]);
  }

  // The next operator, which must be `code` and read the previous one's output.
  const TfliteOperator& expect(int code, const std::string& role) {
    namespace s = tflite_schema;
    if (next_ >= kept_.size())
      fail(concat("the graph ends after ", kept_.size(), " operators where ", role, " (",
                  s::operator_name(code), ") should follow; ", kExpectedGraph,
                  " (is this a MobileNetV1 model?)"));
    const std::size_t index = kept_[next_];
    const TfliteOperator& op = file_.operators[index];
    if (op.code != code)
      fail(concat(describe(index), " is where ", role, " (", s::operator_name(code),
                  ") should be; ", kExpectedGraph, " (is this a MobileNetV1 model?)"));
    if (op.inputs.empty() || op.outputs.empty() || resolve(op.inputs[0]) != current_)
      fail(concat(describe(index), " (", role, ") does not read the previous layer's output"));
    if ((code == s::kConv2D || code == s::kDepthwiseConv2D || code == s::kAveragePool2D) &&
        !op.has_options)
      fail(concat(describe(index), " (", role, ") has no options"));
    current_ = resolve(op.outputs[0]);
    last_op_ = index;
    ++next_;
    return op;
  }
  bool next_is(int code) const {
    return next_ < kept_.size() && file_.operators[kept_[next_]].code == code;
  }

  void recognise_layers() {
    namespace s = tflite_schema;
    expect(s::kConv2D, "the stem convolution");
    layers_.push_back({last_op_, "stem.conv", kStemStride, false, false});
    for (std::size_t i = 0; i < kMobileNetV1Table.size(); ++i) {
      const std::string block = "dsconv" + std::to_string(i + 1);
      expect(s::kDepthwiseConv2D, "block " + std::to_string(i + 1) + " depthwise");
      layers_.push_back({last_op_, block + ".depthwise", kMobileNetV1Table[i].stride, true, false});
      expect(s::kConv2D, "block " + std::to_string(i + 1) + " pointwise");
      layers_.push_back({last_op_, block + ".pointwise", 1, false, true});
    }
    const TfliteOperator& pool = expect(s::kAveragePool2D, "the global average pool");
    pool_op_ = last_op_;
    if (pool.activation != s::kActNone)
      fail(concat(describe(pool_op_), ": the pool has a fused activation; expected none"));
    if (next_ < kept_.size()) {
      expect(s::kConv2D, "the 1x1 classifier");
      classifier_ = TfliteLayer{last_op_, "classifier", 1, false, true};
      if (file_.operators[last_op_].activation != s::kActNone)
        fail(concat(describe(last_op_), ": the classifier has a fused activation; expected none"));
      if (next_is(s::kReshape)) expect(s::kReshape, "the reshape to [N, classes]");
      else if (next_is(s::kSqueeze)) expect(s::kSqueeze, "the squeeze to [N, classes]");
      if (last_op_ != classifier_->op) reshape_op_ = last_op_;
      if (next_is(s::kSoftmax)) {
        expect(s::kSoftmax, "the softmax");
        softmax_op_ = last_op_;
      }
    }
    if (next_ < kept_.size())
      fail(concat(describe(kept_[next_]), " follows the ",
                  classifier_ ? "classifier" : "pool", "; ", kExpectedGraph));
    if (file_.outputs.size() != 1 || resolve(file_.outputs[0]) != current_)
      fail(concat("the graph's output is not the last operator's output; ", kExpectedGraph));
  }

  void check_weight_shapes(const MobileNetV1Config& config) const {
    Index in = config.in_channels;
    auto check = [&](const TfliteLayer& layer, std::vector<std::int64_t> expected) {
      const std::int32_t index = weights_of(layer);
      const TfliteTensor& w = tensor(index);
      const std::string role = concat(describe(layer.op), " (", layer.layer, ") weights");
      if (w.shape != expected)
        fail(concat(role, " '", w.name, "' have shape ", shape_to_string(w.shape), "; MobileNetV1 at alpha ",
                    config.alpha, " expects ", shape_to_string(expected)));
      constant_element_bytes(index, role);
    };
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const TfliteLayer& layer = layers_[i];
      const Index base = i == 0 ? kStemChannels : kMobileNetV1Table[(i - 1) / 2].out_channels;
      const Index out = layer.is_depthwise ? in : scaled_channels(base, config.alpha, config.min_depth);
      if (layer.is_depthwise) check(layer, {1, 3, 3, in});
      else if (layer.is_pointwise) check(layer, {out, 1, 1, in});
      else check(layer, {out, 3, 3, in});
      in = out;
    }
    if (classifier_) check(*classifier_, {config.num_classes, 1, 1, in});
  }


  Padding common_padding() const {
    namespace s = tflite_schema;
    int padding = -1;
    for (const TfliteLayer& layer : layers_) {
      if (layer.is_pointwise) continue;  // a 1x1 window pads nothing either way
      const TfliteOperator& op = file_.operators[layer.op];
      if (op.padding != s::kPadSame && op.padding != s::kPadValid)
        fail(concat(describe(layer.op), " (", layer.layer, ") has unknown padding ", op.padding));
      if (padding >= 0 && op.padding != padding)
        fail(concat(describe(layer.op), " (", layer.layer, ") pads ",
                    op.padding == s::kPadSame ? "SAME" : "VALID", " unlike the layers before it; "
                    "MobileNetV1 pads every 3x3 convolution the same way"));
      padding = op.padding;
    }
    return padding == s::kPadValid ? Padding::valid() : Padding::same();
  }

  // The activation a layer applies: its fused activation, or for a quantized output with none,
  // the clamp its output range implies (uint8 arithmetic saturates at the range's ends).
  Activation activation_of(const TfliteLayer& layer) const {
    namespace s = tflite_schema;
    const TfliteOperator& op = file_.operators[layer.op];
    switch (op.activation) {
      case s::kActRelu6: return Activation::ReLU6;
      case s::kActRelu: return Activation::ReLU;
      case s::kActNone: break;
      default:
        fail(concat(describe(layer.op), " (", layer.layer, ") has fused activation ", op.activation,
                    "; MobileNetV1 uses RELU6, RELU or none"));
    }
    const TfliteTensor& out = tensor(op.outputs[0]);
    if ((out.type != s::kUInt8 && out.type != s::kInt8) || out.scale.size() != 1)
      return Activation::None;
    const double scale = out.scale[0];
    const double zero = out.zero_point.empty() ? 0.0 : static_cast<double>(out.zero_point[0]);
    const double low = ((out.type == s::kUInt8 ? 0.0 : -128.0) - zero) * scale;
    const double high = ((out.type == s::kUInt8 ? 255.0 : 127.0) - zero) * scale;
    if (low < -scale / 2) return Activation::None;
    if (std::abs(high - 6.0) <= std::max(scale, 0.01)) return Activation::ReLU6;
    if (high > 6.0) return Activation::ReLU;
    fail(concat(describe(layer.op), " (", layer.layer, "): output '", out.name,
                "' is clamped to [", low, ", ", high, "], which neither ReLU nor ReLU6 gives"));
  }

  Activation common_activation() const {
    const Activation first = activation_of(layers_.front());
    for (const TfliteLayer& layer : layers_)
      if (activation_of(layer) != first)
        fail(concat(describe(layer.op), " (", layer.layer, ") applies ",
                    activation_name(activation_of(layer)), " but the stem applies ",
                    activation_name(first), "; MobileNetV1 uses one activation throughout"));
    return first;
  }

  // Strides, dilations and the activation shapes of the file must be the ones our model
  // Strides, dilations and the activation shapes of the file must be the ones MobileNetV1
  // computes: this catches a foreign graph that happens to have the right operator sequence.
  void check_geometry(const MobileNetV1Config& config) const {
    Index size = config.resolution, channels = config.in_channels;
    auto check = [&](std::size_t op_index, const std::string& role) {
      const TfliteTensor& out = tensor(file_.operators[op_index].outputs[0]);
      const std::vector<std::int64_t> expected = {1, size, size, channels};
      if (out.shape.size() == 4 && out.shape != expected)
        fail(concat(describe(op_index), " (", role, ") outputs ", shape_to_string(out.shape),
                    "; MobileNetV1 ", tflite_model_name(config), " computes ", shape_to_string(expected),
                    " (wrong channel count for alpha ", config.alpha, "?)"));
    };
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const TfliteLayer& layer = layers_[i];
      const TfliteOperator& op = file_.operators[layer.op];
      if (op.stride_h != layer.stride || op.stride_w != layer.stride)
        fail(concat(describe(layer.op), " (", layer.layer, ") has stride ", op.stride_h, "x",
                    op.stride_w, "; MobileNetV1 has ", layer.stride, " there"));
      if (op.dilation_h != 1 || op.dilation_w != 1 || op.depth_multiplier != 1)
        fail(concat(describe(layer.op), " (", layer.layer,
                    ") is dilated or has a depth multiplier; MobileNetV1 has neither"));
      if (!layer.is_pointwise) size = window_axis(size, 3, layer.stride, config.padding).out;
      if (!layer.is_depthwise) {
        const Index base = i == 0 ? kStemChannels : kMobileNetV1Table[(i - 1) / 2].out_channels;
        channels = scaled_channels(base, config.alpha, config.min_depth);
      }
      check(layer.op, layer.layer);
    }
    size = 1;
    check(pool_op_, "pool");
    const TfliteTensor& pool_in = tensor(file_.operators[pool_op_].inputs[0]);
    const TfliteOperator& pool = file_.operators[pool_op_];
    if (pool_in.shape.size() == 4 &&
        (pool.filter_h != pool_in.shape[1] || pool.filter_w != pool_in.shape[2]))
      fail(concat(describe(pool_op_), ": a ", pool.filter_h, "x", pool.filter_w, " pool over a ",
                  pool_in.shape[1], "x", pool_in.shape[2], " map; expected a global average pool"));
  }

  static std::string tflite_model_name(const MobileNetV1Config& config) {
    char alpha[16];
    std::snprintf(alpha, sizeof alpha, "%.2f", config.alpha);
    return concat("mobilenet_v1_", alpha, "_", config.resolution);
  }

  const TfliteModelFile& file_;
  std::vector<std::int32_t> alias_;  // tensor -> the tensor it is a re-encoding of
  std::vector<std::size_t> kept_;    // operators other than QUANTIZE / DEQUANTIZE
  std::size_t next_ = 0;             // position in kept_
  std::int32_t current_ = -1;        // the activation the next operator must read
  std::int32_t input_ = -1;
  std::size_t last_op_ = 0;
  std::size_t pool_op_ = 0;
  std::size_t reshape_op_ = 0;
  std::vector<TfliteLayer> layers_;  // stem, then depthwise/pointwise pairs
  std::optional<TfliteLayer> classifier_;
  std::optional<std::size_t> softmax_op_;
};

// Builds the float model (weights dequantized) of a recognised graph; see load_tflite.
class TfliteMobileNetReader : public TfliteMobileNetGraph {
 public:
  TfliteMobileNetReader(const TfliteModelFile& file, const std::uint8_t* bytes)
      : TfliteMobileNetGraph(file, bytes), file_(file) {}

  MobileNetV1<float> read() {
    const MobileNetV1Config config = recognise();
    MobileNetV1<float> model = build_model(config, tensor(input()));
    for (const TfliteLayer& layer : layers()) assign(model, layer);
    if (classifier()) assign(model, *classifier());
    return model;
  }

 private:

  // The model refuses configurations whose activations exceed its memory bounds (e.g. a huge
  // input); that is a property of this file, so the error names it.
  MobileNetV1<float> build_model(const MobileNetV1Config& config, const TfliteTensor& input) const {
    try {
      return MobileNetV1<float>(config);
    } catch (const ConfigError& e) {
      fail(concat("input tensor '", input.name, "' has shape ", shape_to_string(input.shape),
                  ", which this library refuses: ", e.what()));
    }
  }

  // Converts one operator's weights and bias to our layout and stores them in the layer.
  void assign(MobileNetV1<float>& model, const TfliteLayer& layer) const {
    const TfliteOperator& op = file_.operators[layer.op];
    const std::int32_t w_index = weights_of(layer);
    const TfliteTensor& w = tensor(w_index);
    const std::string role = concat(describe(layer.op), " (", layer.layer, ") weights");
    if (w.shape.size() != 4)
      fail(concat(role, " '", w.name, "' have shape ", shape_to_string(w.shape),
                  layer.is_depthwise ? "; expected [1, kh, kw, C]" : "; expected OHWI [O, kh, kw, I]"));
    const std::vector<float> raw = constant(w_index, role);
    const std::int64_t o = w.shape[0], kh = w.shape[1], kw = w.shape[2], i = w.shape[3];
    std::vector<Index> shape;
    std::vector<float> values(raw.size());
    if (layer.is_depthwise) {  // [1, kh, kw, C] is already [kh, kw, C] in memory
      if (o != 1) fail(concat(role, " '", w.name, "' have shape ", shape_to_string(w.shape),
                              "; expected [1, kh, kw, C]"));
      shape = {kh, kw, i};
      values = raw;
    } else if (layer.is_pointwise) {  // [O, 1, 1, I] -> [I, O]
      if (kh != 1 || kw != 1) fail(concat(role, " '", w.name, "' have shape ",
                                          shape_to_string(w.shape), "; expected [O, 1, 1, I]"));
      shape = {i, o};
      for (std::int64_t out = 0; out < o; ++out)
        for (std::int64_t in = 0; in < i; ++in) values[in * o + out] = raw[out * i + in];
    } else {  // OHWI -> HWIO
      shape = {kh, kw, i, o};
      for (std::int64_t out = 0; out < o; ++out)
        for (std::int64_t y = 0; y < kh; ++y)
          for (std::int64_t x = 0; x < kw; ++x)
            for (std::int64_t in = 0; in < i; ++in)
              values[((y * kw + x) * i + in) * o + out] = raw[((out * kh + y) * kw + x) * i + in];
    }
    std::vector<float> bias(static_cast<std::size_t>(layer.is_depthwise ? i : o), 0.0f);
    if (op.inputs.size() > 2 && op.inputs[2] >= 0) {
      const std::int32_t b_index = resolve(op.inputs[2]);
      const TfliteTensor& b = tensor(b_index);
      const TfliteTensor& input = tensor(op.inputs[0]);
      // Quantized kernels add the bias in the int32 accumulator, so with a quantized input any
      // other bias type is a damaged file (float models with int8 weights keep float biases).
      if ((input.type == tflite_schema::kUInt8 || input.type == tflite_schema::kInt8) &&
          b.type != tflite_schema::kInt32)
        fail(concat(describe(layer.op), " (", layer.layer, ") bias (tensor ", b_index, " '", b.name,
                    "') is ", tflite_schema::type_name(b.type), "; with a ",
                    tflite_schema::type_name(input.type), " input it must be INT32"));
      bias = constant(b_index, concat(describe(layer.op), " (", layer.layer, ") bias"), &w,
                      input.scale.size() == 1 ? input.scale[0] : 0.0f);
      if (bias.size() != static_cast<std::size_t>(layer.is_depthwise ? i : o))
        fail(concat(describe(layer.op), " (", layer.layer, ") bias has ", bias.size(),
                    " values for ", layer.is_depthwise ? i : o, " channels"));
    }
    bool found = false;
    model.for_each_layer([&](auto& target) {
      if (target.name() != layer.layer) return;
      for (auto& p : target.parameters()) {
        if (p.name() == "weight") {
          if (p.shape() != shape)
            fail(concat(role, " '", w.name, "' are ", shape_to_string(shape), " in our layout; ",
                        model.name(), " expects ", shape_to_string(p.shape())));
          p.assign(shape, values.data(), target.label());
          found = true;
        } else if (p.name() == "bias") {
          p.assign(std::vector<Index>{static_cast<Index>(bias.size())}, bias.data(), target.label());
        }
      }
    });
    if (!found) fail(concat("internal: no layer '", layer.layer, "' in ", model.name()));
  }

  const TfliteModelFile& file_;
};

}  // namespace detail

}  // namespace io
}  // namespace mobilenet

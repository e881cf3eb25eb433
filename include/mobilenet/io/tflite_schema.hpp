// SPDX-License-Identifier: MIT
#pragma once
// The parts of TFLite's public schema (tensorflow/lite/schema/schema.fbs) that a
// single-subgraph CNN uses, read from a .tflite FlatBuffer into plain structs by parse_tflite.
// Every index the file holds is checked here, so later stages may use them freely.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/io/flatbuffer.hpp"

namespace mobilenet {
namespace io {

// Field ids and enum values of schema.fbs that this reader uses.
namespace tflite_schema {
// table Model
constexpr int kModelVersion = 0, kModelOperatorCodes = 1, kModelSubgraphs = 2, kModelBuffers = 4,
              kModelMetadataBuffer = 5, kModelMetadata = 6;
// table Metadata
constexpr int kMetadataBuffer = 1;
// table OperatorCode: the code is max(deprecated_builtin_code, builtin_code), as TFLite reads
// it: old files fill only the byte field, new ones keep it at 127 for codes past 127.
constexpr int kCodeDeprecatedBuiltin = 0, kCodeBuiltin = 3;
// table SubGraph
constexpr int kGraphTensors = 0, kGraphInputs = 1, kGraphOutputs = 2, kGraphOperators = 3;
// table Tensor
constexpr int kTensorShape = 0, kTensorType = 1, kTensorBuffer = 2, kTensorName = 3,
              kTensorQuantization = 4;
// table QuantizationParameters
constexpr int kQuantScale = 2, kQuantZeroPoint = 3, kQuantDimension = 6;
// table Buffer: inline data, or (files over 2 GB) an offset and size into the file
constexpr int kBufferData = 0, kBufferOffset = 1, kBufferSize = 2;
// table Operator
constexpr int kOpCodeIndex = 0, kOpInputs = 1, kOpOutputs = 2, kOpOptionsType = 3, kOpOptions = 4;
// Conv2DOptions / DepthwiseConv2DOptions / Pool2DOptions fields
constexpr int kConvPadding = 0, kConvStrideW = 1, kConvStrideH = 2, kConvActivation = 3,
              kConvDilationW = 4, kConvDilationH = 5;
constexpr int kDepthwiseMultiplier = 3, kDepthwiseActivation = 4, kDepthwiseDilationW = 5,
              kDepthwiseDilationH = 6;
constexpr int kPoolFilterW = 3, kPoolFilterH = 4, kPoolActivation = 5;
constexpr int kSoftmaxBeta = 0;
// enum BuiltinOptions (the union's type tag)
constexpr std::uint8_t kOptionsConv2D = 1, kOptionsDepthwise = 2, kOptionsPool2D = 5, kOptionsSoftmax = 9;

enum TensorType : std::int8_t {
  kFloat32 = 0, kFloat16 = 1, kInt32 = 2, kUInt8 = 3, kInt64 = 4, kInt16 = 7, kInt8 = 9,
};
enum BuiltinOperator : std::int32_t {
  kAveragePool2D = 1, kConv2D = 3, kDepthwiseConv2D = 4, kDequantize = 6, kReshape = 22,
  kSoftmax = 25, kSqueeze = 43, kQuantize = 114,
};
enum FusedActivation : std::int8_t { kActNone = 0, kActRelu = 1, kActReluN1To1 = 2, kActRelu6 = 3 };
enum PaddingType : std::int8_t { kPadSame = 0, kPadValid = 1 };

inline const char* type_name(int type) {
  switch (type) {
    case kFloat32: return "FLOAT32";
    case kFloat16: return "FLOAT16";
    case kInt32: return "INT32";
    case kUInt8: return "UINT8";
    case kInt64: return "INT64";
    case kInt16: return "INT16";
    case kInt8: return "INT8";
    default: return "an unsupported type";
  }
}

inline std::string operator_name(int code) {
  switch (code) {
    case kAveragePool2D: return "AVERAGE_POOL_2D";
    case kConv2D: return "CONV_2D";
    case kDepthwiseConv2D: return "DEPTHWISE_CONV_2D";
    case kDequantize: return "DEQUANTIZE";
    case kReshape: return "RESHAPE";
    case kSoftmax: return "SOFTMAX";
    case kSqueeze: return "SQUEEZE";
    case kQuantize: return "QUANTIZE";
    default: return detail::concat("builtin operator ", code);
  }
}
}  // namespace tflite_schema

// The parts of a .tflite file that describe a single-subgraph CNN.
struct TfliteTensor {
  std::vector<std::int64_t> shape;
  int type = 0;
  std::uint32_t buffer = 0;
  std::string name;
  std::vector<float> scale;             // empty: not quantized
  std::vector<std::int64_t> zero_point;  // same length as scale (or empty: all 0)
  int quantized_dimension = 0;
  std::int64_t element_count() const {
    std::int64_t count = 1;
    for (std::int64_t d : shape) count *= d;
    return count;
  }
};

struct TfliteOperator {
  int code = 0;
  std::vector<std::int32_t> inputs, outputs;
  bool has_options = false;
  int padding = 0, stride_w = 1, stride_h = 1, activation = 0;
  int dilation_w = 1, dilation_h = 1, depth_multiplier = 1;
  int filter_w = 0, filter_h = 0;
  float beta = 1.0f;  // SOFTMAX
};

struct TfliteModelFile {
  std::string source;
  std::uint32_t version = 0;
  std::vector<TfliteTensor> tensors;
  std::vector<TfliteOperator> operators;
  std::vector<std::int32_t> inputs, outputs;
  // Each buffer's bytes as [offset, offset + size) of the file; size 0 for none.
  std::vector<std::pair<std::size_t, std::size_t>> buffers;
};

namespace detail {

// Bounds that keep a hostile file from making us allocate much more than its own size.
constexpr std::size_t kTfliteMaxFileBytes = std::size_t(1) << 28;  // 256 MiB
constexpr std::size_t kTfliteMaxRank = 8;
constexpr std::size_t kTfliteMaxOperands = 16;

// The one check of every index the file holds (tensor, buffer, opcode): `index` must lie in
// [0, count), or be -1 when `optional` (an operator input left out). `offset` is the byte
// where the index is stored, or the table holding it.
inline void check_tflite_index(const FlatBuffer& fb, std::size_t offset, std::int64_t index,
                               std::size_t count, bool optional, const std::string& what,
                               const char* noun) {
  if (index >= 0 && static_cast<std::uint64_t>(index) < count) return;
  if (optional && index == -1) return;
  fb.fail(offset, concat(what, " refers to ", noun, " ", index, ", outside the valid range ",
                         optional ? "-1 (absent) or " : "", "[0, ", count, ")"));
}

// A vector of tensor indices, each checked by check_tflite_index at its own byte offset.
inline std::vector<std::int32_t> read_tensor_indices(const FlatBuffer& fb, const FlatVector& vector,
                                                     std::size_t tensors, bool optional,
                                                     const std::string& what) {
  std::vector<std::int32_t> indices(vector.size());
  for (std::size_t i = 0; i < vector.size(); ++i) {
    indices[i] = vector.scalar<std::int32_t>(i);
    check_tflite_index(fb, vector.data_offset() + 4 * i, indices[i], tensors, optional,
                       concat(what, " ", i), "tensor");
  }
  return indices;
}

// The zero points a tensor type can hold; false for types that are never dequantized.
inline bool zero_point_range(int type, std::int64_t& low, std::int64_t& high) {
  namespace s = tflite_schema;
  switch (type) {
    case s::kUInt8: low = 0, high = 255; return true;
    case s::kInt8: low = -128, high = 127; return true;
    case s::kInt16: low = -32768, high = 32767; return true;
    case s::kInt32: low = 0, high = 0; return true;  // int32 biases: zero point 0 by definition
    default: return false;
  }
}

// Quantization parameters that dequantize to finite values: positive finite scales, zero
// points the type holds, and per channel one pair per entry of the quantized dimension.
inline void check_quantization(const FlatBuffer& fb, std::size_t offset, const TfliteTensor& t,
                               std::size_t index) {
  namespace s = tflite_schema;
  const std::string tensor = concat("tensor ", index, " '", t.name, "'");
  if (!t.zero_point.empty() && t.zero_point.size() != t.scale.size())
    fb.fail(offset, concat(tensor, " has ", t.scale.size(), " scales but ", t.zero_point.size(),
                           " zero points"));
  std::int64_t low = 0, high = 0;
  if (!zero_point_range(t.type, low, high)) return;  // float: the parameters are never applied
  for (std::size_t c = 0; c < t.scale.size(); ++c)
    if (!(std::isfinite(t.scale[c]) && t.scale[c] > 0.0f))
      fb.fail(offset, concat(tensor, " has quantization scale ", t.scale[c], " at channel ", c,
                             "; a scale must be positive and finite"));
  for (std::size_t c = 0; c < t.zero_point.size(); ++c)
    if (t.zero_point[c] < low || t.zero_point[c] > high)
      fb.fail(offset, concat(tensor, " of type ", s::type_name(t.type), " has zero point ",
                             t.zero_point[c], " at channel ", c, ", outside [", low, ", ", high, "]"));
  if (t.scale.size() > 1) {
    const int dim = t.quantized_dimension;
    if (dim < 0 || dim >= static_cast<int>(t.shape.size()) ||
        t.shape[static_cast<std::size_t>(dim)] != static_cast<std::int64_t>(t.scale.size()))
      fb.fail(offset, concat(tensor, " has ", t.scale.size(), " scales along dimension ", dim,
                             " of shape ", shape_to_string(t.shape), "; per-channel quantization "
                             "needs one per channel"));
  }
}

template <typename T>
std::vector<T> flat_scalars(const FlatVector& vector) {
  std::vector<T> values(vector.size());
  for (std::size_t i = 0; i < vector.size(); ++i) values[i] = vector.scalar<T>(i);
  return values;
}

inline TfliteTensor read_tensor(const FlatTable& table, std::size_t index) {
  namespace s = tflite_schema;
  const FlatBuffer& fb = table.buffer();
  TfliteTensor tensor;
  const FlatVector shape = table.vector(s::kTensorShape, 4, "tensor shape");
  if (shape.size() > kTfliteMaxRank)
    fb.fail(table.offset(), concat("tensor ", index, " has rank ", shape.size(), ", more than ",
                                   kTfliteMaxRank));
  std::int64_t count = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const std::int32_t dim = shape.scalar<std::int32_t>(d);
    // Any count past the file size is impossible for a constant and absurd for an activation.
    if (dim < 0 || (dim > 0 && count > std::int64_t(kTfliteMaxFileBytes) / dim))
      fb.fail(table.offset(), concat("tensor ", index, " has an impossible dimension ", dim));
    count *= dim;
    tensor.shape.push_back(dim);
  }
  tensor.type = table.scalar<std::int8_t>(s::kTensorType, 0);
  tensor.buffer = table.scalar<std::uint32_t>(s::kTensorBuffer, 0);
  tensor.name = table.string(s::kTensorName, "tensor name");
  if (table.has(s::kTensorQuantization)) {
    const FlatTable q = table.table(s::kTensorQuantization, "tensor quantization");
    tensor.scale = flat_scalars<float>(q.vector(s::kQuantScale, 4, "quantization scale"));
    tensor.zero_point = flat_scalars<std::int64_t>(q.vector(s::kQuantZeroPoint, 8, "zero point"));
    tensor.quantized_dimension = q.scalar<std::int32_t>(s::kQuantDimension, 0);
    check_quantization(fb, q.offset(), tensor, index);
  }
  return tensor;
}

inline TfliteOperator read_operator(const FlatTable& table, const std::vector<int>& codes,
                                    std::size_t tensor_count, std::size_t index) {
  namespace s = tflite_schema;
  const FlatBuffer& fb = table.buffer();
  TfliteOperator op;
  const std::uint32_t code_index = table.scalar<std::uint32_t>(s::kOpCodeIndex, 0);
  check_tflite_index(fb, table.offset(), code_index, codes.size(), false,
                     concat("operator ", index), "opcode");
  op.code = codes[code_index];
  const FlatVector inputs = table.vector(s::kOpInputs, 4, "operator inputs");
  const FlatVector outputs = table.vector(s::kOpOutputs, 4, "operator outputs");
  if (inputs.size() > kTfliteMaxOperands || outputs.size() > kTfliteMaxOperands)
    fb.fail(table.offset(), concat("operator ", index, " has ", inputs.size(), " inputs and ",
                                   outputs.size(), " outputs"));
  // TFLite marks an optional input left out by -1; every output is a tensor.
  op.inputs = read_tensor_indices(fb, inputs, tensor_count, true, concat("operator ", index, " input"));
  op.outputs = read_tensor_indices(fb, outputs, tensor_count, false, concat("operator ", index, " output"));
  const std::uint8_t options_type = table.scalar<std::uint8_t>(s::kOpOptionsType, 0);
  if (options_type == s::kOptionsSoftmax && table.has(s::kOpOptions)) {
    op.has_options = true;
    op.beta = table.table(s::kOpOptions, "operator options").scalar<float>(s::kSoftmaxBeta, 0.0f);
    return op;
  }
  // Conv2D, DepthwiseConv2D and Pool2D options share their first three fields.
  if ((options_type != s::kOptionsConv2D && options_type != s::kOptionsDepthwise &&
       options_type != s::kOptionsPool2D) ||
      !table.has(s::kOpOptions))
    return op;
  const FlatTable o = table.table(s::kOpOptions, "operator options");
  op.padding = o.scalar<std::int8_t>(s::kConvPadding, 0);
  op.stride_w = o.scalar<std::int32_t>(s::kConvStrideW, 0);
  op.stride_h = o.scalar<std::int32_t>(s::kConvStrideH, 0);
  if (options_type == s::kOptionsConv2D) {
    op.has_options = true;
    op.activation = o.scalar<std::int8_t>(s::kConvActivation, 0);
    op.dilation_w = o.scalar<std::int32_t>(s::kConvDilationW, 1);
    op.dilation_h = o.scalar<std::int32_t>(s::kConvDilationH, 1);
  } else if (options_type == s::kOptionsDepthwise) {
    op.has_options = true;
    op.depth_multiplier = o.scalar<std::int32_t>(s::kDepthwiseMultiplier, 1);
    op.activation = o.scalar<std::int8_t>(s::kDepthwiseActivation, 0);
    op.dilation_w = o.scalar<std::int32_t>(s::kDepthwiseDilationW, 1);
    op.dilation_h = o.scalar<std::int32_t>(s::kDepthwiseDilationH, 1);
  } else if (options_type == s::kOptionsPool2D) {
    op.has_options = true;
    op.filter_w = o.scalar<std::int32_t>(s::kPoolFilterW, 0);
    op.filter_h = o.scalar<std::int32_t>(s::kPoolFilterH, 0);
    op.activation = o.scalar<std::int8_t>(s::kPoolActivation, 0);
  }
  return op;
}

}  // namespace detail

// Parses the flatbuffer structure of a .tflite file (no interpretation yet). Every index the
// file holds (tensor, buffer, opcode) passes detail::check_tflite_index here and every tensor's
// quantization detail::check_quantization, so later stages may use them freely; only an
// operator input may be -1 (absent).
inline TfliteModelFile parse_tflite(const std::uint8_t* data, std::size_t size,
                                    const std::string& source) {
  namespace s = tflite_schema;
  const FlatBuffer fb(data, size, source);
  if (size > detail::kTfliteMaxFileBytes)
    fb.fail(0, detail::concat("file of ", size, " bytes exceeds the limit of ",
                              detail::kTfliteMaxFileBytes));
  if (size >= 8 && flatbuffer_identifier(fb) != "TFL3")
    fb.fail(4, detail::concat("file identifier is not 'TFL3' (is this a TensorFlow Lite model?)"));
  const FlatTable model = flatbuffer_root(fb);
  TfliteModelFile file;
  file.source = source;
  file.version = model.scalar<std::uint32_t>(s::kModelVersion, 0);
  if (file.version != 3)
    fb.fail(model.offset(), detail::concat("schema version ", file.version, ", expected 3"));

  std::vector<int> codes;
  const FlatVector code_tables = model.vector(s::kModelOperatorCodes, 4, "operator codes");
  for (std::size_t i = 0; i < code_tables.size(); ++i) {
    const FlatTable code = code_tables.table(i);
    codes.push_back(std::max<int>(code.scalar<std::int8_t>(s::kCodeDeprecatedBuiltin, 0),
                                  code.scalar<std::int32_t>(s::kCodeBuiltin, 0)));
  }

  const FlatVector buffers = model.vector(s::kModelBuffers, 4, "buffers");
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    const FlatTable buffer = buffers.table(i);
    const FlatVector bytes = buffer.vector(s::kBufferData, 1, "buffer data");
    std::pair<std::size_t, std::size_t> range(bytes.data_offset(), bytes.size());
    const std::uint64_t offset = buffer.scalar<std::uint64_t>(s::kBufferOffset, 0);
    const std::uint64_t length = buffer.scalar<std::uint64_t>(s::kBufferSize, 0);
    if (offset > 1) {  // data outside the flatbuffer (1 is the writer's "none" marker)
      if (offset > size || length > size - offset)
        fb.fail(buffer.offset(), detail::concat("buffer ", i, " claims bytes [", offset, ", ",
                                                offset + length, ") of a ", size, "-byte file"));
      range = {static_cast<std::size_t>(offset), static_cast<std::size_t>(length)};
    }
    file.buffers.push_back(range);
  }
  // Metadata entries name buffers too; this loader reads none, but an index past the end is
  // a damaged file all the same.
  const FlatVector metadata_buffers = model.vector(s::kModelMetadataBuffer, 4, "metadata buffers");
  for (std::size_t i = 0; i < metadata_buffers.size(); ++i)
    detail::check_tflite_index(fb, metadata_buffers.data_offset() + 4 * i,
                               metadata_buffers.scalar<std::int32_t>(i), file.buffers.size(), false,
                               detail::concat("metadata buffer entry ", i), "buffer");
  const FlatVector metadata = model.vector(s::kModelMetadata, 4, "metadata");
  for (std::size_t i = 0; i < metadata.size(); ++i) {
    const FlatTable entry = metadata.table(i);
    detail::check_tflite_index(fb, entry.offset(), entry.scalar<std::uint32_t>(s::kMetadataBuffer, 0),
                               file.buffers.size(), false, detail::concat("metadata ", i), "buffer");
  }

  const FlatVector graphs = model.vector(s::kModelSubgraphs, 4, "subgraphs");
  if (graphs.size() != 1)
    fb.fail(model.offset(), detail::concat("the model has ", graphs.size(),
                                           " subgraphs; MobileNetV1 has exactly one"));
  const FlatTable graph = graphs.table(0);
  const FlatVector tensors = graph.vector(s::kGraphTensors, 4, "tensors");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const FlatTable table = tensors.table(i);
    file.tensors.push_back(detail::read_tensor(table, i));
    // Buffer 0 is the schema's empty buffer, so even a tensor without data names a real one.
    detail::check_tflite_index(fb, table.offset(), file.tensors.back().buffer, file.buffers.size(),
                               false, detail::concat("tensor ", i, " '", file.tensors.back().name, "'"),
                               "buffer");
  }
  file.inputs = detail::read_tensor_indices(fb, graph.vector(s::kGraphInputs, 4, "inputs"),
                                            file.tensors.size(), false, "graph input");
  file.outputs = detail::read_tensor_indices(fb, graph.vector(s::kGraphOutputs, 4, "outputs"),
                                             file.tensors.size(), false, "graph output");
  const FlatVector operators = graph.vector(s::kGraphOperators, 4, "operators");
  for (std::size_t i = 0; i < operators.size(); ++i)
    file.operators.push_back(detail::read_operator(operators.table(i), codes, file.tensors.size(), i));
  return file;
}

}  // namespace io
}  // namespace mobilenet

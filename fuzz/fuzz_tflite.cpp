// SPDX-License-Identifier: MIT
// libFuzzer target for the TFLite loaders, float and quantized (FlatBuffers reader, graph
// recognition, weight conversion, quantization parameters, metadata zip): any byte string
// must either load or throw a mobilenet::Error, never read out of bounds, overflow, allocate
// without bound, or crash. A file that loads and is small enough also runs once, so the
// weights it produced are used.
//
// Seeds: fuzz_tflite_seeds DIR writes small MobileNetV1 .tflite files (every layer 8 channels,
// 32 x 32 input; float, uint8, implied ReLU6, backbone only, with labels and metadata), and
// files that each break one validation rule; fuzz_tflite.dict holds the values checks turn on;
// regression/fuzz_tflite/ holds inputs that once crashed the loader.
// Mutator: half the time LLVMFuzzerCustomMutator overwrites one index or count field of the
// parsed file in place with a value next to a bound (see below); else libFuzzer's own mutations.
// Build: clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include \
//          -I /usr/include/eigen3 fuzz/fuzz_tflite.cpp -o fuzz_tflite

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "mobilenet/io/flatbuffer.hpp"
#include "mobilenet/io/tflite.hpp"
#include "mobilenet/io/tflite_quantized.hpp"
#include "mobilenet/model/quantized_reference.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const mobilenet::io::TfliteModel loaded =
        mobilenet::io::load_tflite(std::vector<std::uint8_t>(data, data + size), "fuzz");
    const mobilenet::MobileNetV1<float>& model = loaded.model;
    if (model.config().resolution <= 64) {
      const mobilenet::Tensor<float> out = model.predict(mobilenet::Tensor<float>(model.input_shape(1)));
      if (out.size() != model.output_shape(1).size()) __builtin_trap();
    }
  } catch (const mobilenet::Error&) {
    // Malformed input is expected to be rejected with an Error.
  }
  // The quantized loader reads the same files its own way (8-bit weights kept, every
  // quantization parameter checked); a file it accepts runs once through the integer reference.
  try {
    const mobilenet::io::QuantizedTfliteModel loaded =
        mobilenet::io::load_tflite_quantized(std::vector<std::uint8_t>(data, data + size), "fuzz");
    const mobilenet::QuantizedMobileNetV1& model = loaded.model;
    if (model.config.resolution <= 64) {
      const std::vector<std::uint8_t> out = mobilenet::run_quantized_reference(
          model, std::vector<std::uint8_t>(static_cast<std::size_t>(model.input_size()), 128), 1);
      if (out.size() != static_cast<std::size_t>(model.output_size())) __builtin_trap();
    }
  } catch (const mobilenet::Error&) {
  }
  return 0;
}

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace {

// TFLite schema field ids, copied here so that this file also builds against older headers.
namespace schema {
constexpr int kModelOperatorCodes = 1, kModelSubgraphs = 2, kModelBuffers = 4,
              kModelMetadataBuffer = 5, kModelMetadata = 6, kMetadataBuffer = 1;
constexpr int kGraphTensors = 0, kGraphInputs = 1, kGraphOutputs = 2, kGraphOperators = 3;
constexpr int kTensorShape = 0, kTensorBuffer = 2, kTensorQuantization = 4;
constexpr int kQuantScale = 2, kQuantZeroPoint = 3, kQuantDimension = 6;
constexpr int kBufferData = 0;
constexpr int kOpCodeIndex = 0, kOpInputs = 1, kOpOutputs = 2;
}  // namespace schema

// The byte positions of one kind of 32-bit field, and the size of the table its values index
// (or, for counts and dimensions, a value to step around).
struct FieldKind {
  std::vector<std::size_t> at;
  std::int64_t bound = 0;
};

// Where a table's scalar field is stored, or 0 when it is absent (then it cannot be
// overwritten in place).
std::size_t scalar_position(const mobilenet::io::FlatTable& table, int field) {
  const mobilenet::io::FlatBuffer& fb = table.buffer();
  const std::int64_t back = fb.read<std::int32_t>(table.offset(), "vtable offset");
  const auto vtable = static_cast<std::size_t>(static_cast<std::int64_t>(table.offset()) - back);
  const std::size_t entry = 4 + 2 * static_cast<std::size_t>(field);
  if (entry + 2 > fb.read<std::uint16_t>(vtable, "vtable size")) return 0;
  const std::uint16_t at = fb.read<std::uint16_t>(vtable + entry, "vtable entry");
  if (at == 0) return 0;
  fb.require(table.offset() + at, 4, "field");
  return table.offset() + at;
}

void add_elements(FieldKind& kind, const mobilenet::io::FlatVector& vector) {
  for (std::size_t i = 0; i < vector.size(); ++i) kind.at.push_back(vector.data_offset() + 4 * i);
}
void add_scalar(FieldKind& kind, const mobilenet::io::FlatTable& table, int field) {
  if (const std::size_t at = scalar_position(table, field)) kind.at.push_back(at);
}
void add_length(FieldKind& kind, const mobilenet::io::FlatVector& vector) {
  if (vector.data_offset() >= 4) kind.at.push_back(vector.data_offset() - 4);  // 0: absent
}

// Every index the loader follows and every count or dimension it checks, read with the
// library's bounds-checked FlatBuffers reader (throws on a malformed file).
std::vector<FieldKind> tflite_fields(const std::uint8_t* data, std::size_t size) {
  namespace s = schema;
  using mobilenet::io::FlatTable;
  using mobilenet::io::FlatVector;
  const mobilenet::io::FlatBuffer fb(data, size, "mutator");
  const FlatTable model = mobilenet::io::flatbuffer_root(fb);
  const FlatVector codes = model.vector(s::kModelOperatorCodes, 4, "codes");
  const FlatVector buffers = model.vector(s::kModelBuffers, 4, "buffers");
  const FlatVector graphs = model.vector(s::kModelSubgraphs, 4, "subgraphs");
  const FlatTable graph = graphs.table(0);
  const FlatVector tensors = graph.vector(s::kGraphTensors, 4, "tensors");
  const FlatVector operators = graph.vector(s::kGraphOperators, 4, "operators");
  const auto n_tensors = static_cast<std::int64_t>(tensors.size());
  const auto n_buffers = static_cast<std::int64_t>(buffers.size());
  FieldKind op_inputs{{}, n_tensors}, op_outputs{{}, n_tensors}, graph_inputs{{}, n_tensors},
      graph_outputs{{}, n_tensors}, opcode{{}, static_cast<std::int64_t>(codes.size())},
      tensor_buffer{{}, n_buffers}, metadata_buffer{{}, n_buffers}, dims{{}, 8},
      quant{{}, 8}, buffer_length{{}, 64};
  add_elements(graph_inputs, graph.vector(s::kGraphInputs, 4, "inputs"));
  add_elements(graph_outputs, graph.vector(s::kGraphOutputs, 4, "outputs"));
  for (std::size_t i = 0; i < operators.size(); ++i) {
    const FlatTable op = operators.table(i);
    add_scalar(opcode, op, s::kOpCodeIndex);
    add_elements(op_inputs, op.vector(s::kOpInputs, 4, "op inputs"));
    add_elements(op_outputs, op.vector(s::kOpOutputs, 4, "op outputs"));
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const FlatTable tensor = tensors.table(i);
    add_scalar(tensor_buffer, tensor, s::kTensorBuffer);
    add_elements(dims, tensor.vector(s::kTensorShape, 4, "shape"));
    if (!tensor.has(s::kTensorQuantization)) continue;
    const FlatTable q = tensor.table(s::kTensorQuantization, "quantization");
    add_length(quant, q.vector(s::kQuantScale, 4, "scale"));
    add_length(quant, q.vector(s::kQuantZeroPoint, 8, "zero point"));
    add_scalar(quant, q, s::kQuantDimension);
  }
  for (std::size_t i = 0; i < buffers.size(); ++i)
    add_length(buffer_length, buffers.table(i).vector(s::kBufferData, 1, "data"));
  add_elements(metadata_buffer, model.vector(s::kModelMetadataBuffer, 4, "metadata buffers"));
  const FlatVector metadata = model.vector(s::kModelMetadata, 4, "metadata");
  for (std::size_t i = 0; i < metadata.size(); ++i)
    add_scalar(metadata_buffer, metadata.table(i), s::kMetadataBuffer);
  std::vector<FieldKind> kinds;
  for (FieldKind* kind : {&op_inputs, &op_outputs, &graph_inputs, &graph_outputs, &opcode,
                          &tensor_buffer, &metadata_buffer, &dims, &quant, &buffer_length}) {
    std::sort(kind->at.begin(), kind->at.end());  // the builder shares identical vectors
    kind->at.erase(std::unique(kind->at.begin(), kind->at.end()), kind->at.end());
    if (!kind->at.empty()) kinds.push_back(*kind);
  }
  return kinds;
}

std::int32_t read_i32(const std::uint8_t* at) {
  std::int32_t value;
  std::memcpy(&value, at, 4);
  return value;
}

}  // namespace

// Contract: mutate data[0, size) in place or via LLVMFuzzerMutate, return the new size
// (<= max_size); the same seed gives the same mutation.
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size,
                                               std::size_t max_size, unsigned seed) {
  std::minstd_rand rng(seed);
  if (rng() % 2 == 0 && size <= max_size) {
    std::vector<FieldKind> kinds;
    try {
      kinds = tflite_fields(data, size);
    } catch (const mobilenet::Error&) {
      kinds.clear();  // not a parsable file (any more): mutate its bytes instead
    }
    if (!kinds.empty()) {
      // A kind first, then one of its fields: the few graph inputs and outputs are picked as
      // often as the hundreds of operator operands.
      const FieldKind& kind = kinds[rng() % kinds.size()];
      const std::size_t at = kind.at[rng() % kind.at.size()];
      const std::int64_t bound = kind.bound;
      std::int64_t value = 0;
      switch (rng() % 8) {
        case 0: value = -1; break;
        case 1: value = -2; break;
        case 2: value = bound; break;
        case 3: value = bound + 1; break;
        case 4: value = std::numeric_limits<std::int32_t>::min(); break;
        case 5: value = std::numeric_limits<std::int32_t>::max(); break;
        case 6: value = static_cast<std::int64_t>(rng() % 4); break;
        default:  // a valid index, often the value of another field of the same kind
          value = rng() % 2 ? read_i32(data + kind.at[rng() % kind.at.size()])
                            : static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(bound > 0 ? bound : 1));
      }
      const std::int32_t stored = static_cast<std::int32_t>(value);
      std::memcpy(data + at, &stored, 4);
      return size;
    }
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

// SPDX-License-Identifier: MIT
#pragma once
// Writes small TFLite files for tests and fuzzer seeds: a FlatBuffers builder (back to front,
// as the format is meant to be written: children first, so every offset points forward) and
// a MobileNetV1-shaped graph description with made-up weights. Independent of the reader in
// include/mobilenet/io: it shares no code with it.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace tflite_test {

class FlatBuilder {
 public:
  // An object's distance from the end of the buffer to its first byte; stable while the
  // buffer grows at the front.
  using Ref = std::uint32_t;

  struct Field {
    int id;
    std::vector<std::uint8_t> bytes;  // a scalar's bytes, or 4 bytes for a reference
    bool is_ref;
    Ref ref;
  };
  class Table {
   public:
    template <typename T>
    Table& scalar(int id, T value) {
      std::vector<std::uint8_t> bytes(sizeof(T));
      std::memcpy(bytes.data(), &value, sizeof(T));
      fields.push_back({id, bytes, false, 0});
      return *this;
    }
    Table& ref(int id, Ref target) {
      fields.push_back({id, std::vector<std::uint8_t>(4), true, target});
      return *this;
    }
    std::vector<Field> fields;
  };

  std::size_t size() const { return bytes_.size(); }

  template <typename T>
  Ref vector(const std::vector<T>& values) {
    std::vector<std::uint8_t> bytes(4 + values.size() * sizeof(T));
    const std::uint32_t count = static_cast<std::uint32_t>(values.size());
    std::memcpy(bytes.data(), &count, 4);
    if (!values.empty()) std::memcpy(bytes.data() + 4, values.data(), values.size() * sizeof(T));
    return shared(bytes, sizeof(T) > 4 ? sizeof(T) : 4, 4);
  }
  Ref string(const std::string& text) {
    std::vector<std::uint8_t> bytes(4 + text.size() + 1, 0);
    const std::uint32_t length = static_cast<std::uint32_t>(text.size());
    std::memcpy(bytes.data(), &length, 4);
    std::memcpy(bytes.data() + 4, text.data(), text.size());
    return shared(bytes, 4, 0);
  }
  Ref vector_of_refs(const std::vector<Ref>& targets) {
    std::vector<std::uint8_t> bytes(4 + 4 * targets.size());
    const std::uint32_t count = static_cast<std::uint32_t>(targets.size());
    std::memcpy(bytes.data(), &count, 4);
    pad_for(bytes.size(), 4, 0);
    const Ref start = static_cast<Ref>(size() + bytes.size());
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const std::uint32_t relative = start - static_cast<Ref>(4 + 4 * i) - targets[i];
      std::memcpy(bytes.data() + 4 + 4 * i, &relative, 4);
    }
    prepend(bytes);
    return start;
  }
  // Identical tables are written once and referenced from every parent, as FlatBuffers allows.
  Ref table(const Table& table) {
    std::vector<std::uint8_t> key;
    for (const Field& f : table.fields) {
      key.push_back(static_cast<std::uint8_t>(f.id)), key.push_back(f.is_ref);
      key.insert(key.end(), f.bytes.begin(), f.bytes.end());
      for (int k = 0; k < 4; ++k) key.push_back(static_cast<std::uint8_t>(f.ref >> (8 * k)));
    }
    const auto known = tables_.find(key);
    if (known != tables_.end()) return known->second;
    const Ref written = write_table(table);
    tables_.emplace(key, written);
    return written;
  }

 private:
  // Zeros before an object of `length` bytes about to be prepended, so that its byte at
  // `offset` lands on a multiple of `alignment` counted from the end; finish() makes the
  // file's size a multiple of 8, so that is the same from the start (FlatBuffers verifiers,
  // TFLite's among them, check the alignment of every scalar and vector).
  void pad_for(std::size_t length, std::size_t alignment, std::size_t offset) {
    while ((size() + length - offset) % alignment != 0) bytes_.insert(bytes_.begin(), 0);
  }
  // Identical vectors and strings are written once.
  Ref shared(const std::vector<std::uint8_t>& bytes, std::size_t alignment, std::size_t offset) {
    const auto known = blobs_.find(bytes);
    if (known != blobs_.end()) return known->second;
    pad_for(bytes.size(), alignment, offset);
    prepend(bytes);
    const Ref written = static_cast<Ref>(size());
    blobs_.emplace(bytes, written);
    return written;
  }
  Ref write_table(const Table& table) {
    std::size_t body = 4;
    std::vector<std::size_t> offsets;
    int max_id = -1;
    for (const Field& f : table.fields) {
      while (body % f.bytes.size() != 0) ++body;  // each scalar at its natural alignment
      offsets.push_back(body);
      body += f.bytes.size();
      max_id = std::max(max_id, f.id);
    }
    pad_for(body, 8, 0);
    const Ref start = static_cast<Ref>(size() + body);
    std::vector<std::uint8_t> bytes(body, 0);
    for (std::size_t k = 0; k < table.fields.size(); ++k) {
      const Field& f = table.fields[k];
      if (f.is_ref) {
        const std::uint32_t relative = start - static_cast<Ref>(offsets[k]) - f.ref;
        std::memcpy(bytes.data() + offsets[k], &relative, 4);
      } else {
        std::memcpy(bytes.data() + offsets[k], f.bytes.data(), f.bytes.size());
      }
    }
    prepend(bytes);
    std::vector<std::uint16_t> vtable(2 + static_cast<std::size_t>(max_id + 1), 0);
    vtable[0] = static_cast<std::uint16_t>(2 * vtable.size());
    vtable[1] = static_cast<std::uint16_t>(body);
    for (std::size_t k = 0; k < table.fields.size(); ++k)
      vtable[2 + static_cast<std::size_t>(table.fields[k].id)] = static_cast<std::uint16_t>(offsets[k]);
    std::vector<std::uint8_t> vbytes(2 * vtable.size());
    std::memcpy(vbytes.data(), vtable.data(), vbytes.size());
    prepend(vbytes);
    const std::int32_t back = static_cast<std::int32_t>(size()) - static_cast<std::int32_t>(start);
    std::memcpy(bytes_.data() + (size() - start), &back, 4);
    return start;
  }

 public:
  // The finished buffer: root offset, file identifier, then everything written.
  std::vector<std::uint8_t> finish(Ref root, const char* identifier) {
    pad_for(8, 8, 0);
    prepend(std::vector<std::uint8_t>(identifier, identifier + 4));
    const std::uint32_t relative = static_cast<std::uint32_t>(size() + 4) - root;
    std::vector<std::uint8_t> bytes(4);
    std::memcpy(bytes.data(), &relative, 4);
    prepend(bytes);
    return bytes_;
  }

 private:
  void prepend(const std::vector<std::uint8_t>& bytes) {
    bytes_.insert(bytes_.begin(), bytes.begin(), bytes.end());
  }
  std::vector<std::uint8_t> bytes_;
  std::map<std::vector<std::uint8_t>, Ref> blobs_, tables_;
};

// A TFLite model as plain data, serialised by `serialize`.
struct Tensor {
  std::vector<std::int32_t> shape;
  std::int8_t type = 0;  // 0 FLOAT32, 2 INT32, 3 UINT8
  std::vector<std::uint8_t> data;
  std::string name;
  std::vector<float> scale;
  std::vector<std::int64_t> zero_point;
  int quantized_dimension = 0;
  std::int64_t buffer = -1;  // the buffer index written; -1: the builder's own (0 when no data)
};
struct Operator {
  std::int32_t code = 0;
  std::vector<std::int32_t> inputs, outputs;
  std::uint8_t options_type = 0;  // 1 Conv2D, 2 DepthwiseConv2D, 5 Pool2D, 9 Softmax
  float beta = 1.0f;              // Softmax
  std::int8_t padding = 0;        // 0 SAME, 1 VALID
  std::int32_t stride = 1;
  std::int8_t activation = 3;  // RELU6
  std::int32_t filter = 0;     // pool window
  std::int64_t code_index = -1;  // the opcode index written; -1: the builder's own
};
struct Model {
  std::vector<Tensor> tensors;
  std::vector<Operator> operators;
  std::vector<std::int32_t> inputs, outputs;
  std::uint32_t version = 3;
  std::vector<std::uint8_t> trailer;  // appended after the flatbuffer (a metadata zip)
  // Model.metadata_buffer and Model.metadata (name, buffer index), written when not empty.
  std::vector<std::int32_t> metadata_buffer;
  std::vector<std::pair<std::string, std::uint32_t>> metadata;
};

enum : std::int32_t { kAvgPool = 1, kConv = 3, kDepthwise = 4, kReshape = 22, kSoftmax = 25, kAdd = 0 };

inline std::vector<std::uint8_t> serialize(const Model& model) {
  FlatBuilder b;
  std::vector<FlatBuilder::Ref> buffers{b.table(FlatBuilder::Table())};  // buffer 0: empty
  std::vector<FlatBuilder::Ref> tensors;
  std::vector<std::uint32_t> buffer_of;
  for (const Tensor& t : model.tensors) {
    std::uint32_t buffer = 0;
    if (!t.data.empty()) {
      buffer = static_cast<std::uint32_t>(buffers.size());
      buffers.push_back(b.table(FlatBuilder::Table().ref(0, b.vector(t.data))));
    }
    buffer_of.push_back(t.buffer >= 0 ? static_cast<std::uint32_t>(t.buffer) : buffer);
  }
  for (std::size_t i = 0; i < model.tensors.size(); ++i) {
    const Tensor& t = model.tensors[i];
    FlatBuilder::Table table;
    if (!t.scale.empty()) {
      FlatBuilder::Table q;
      q.ref(2, b.vector(t.scale)).ref(3, b.vector(t.zero_point));
      if (t.quantized_dimension) q.scalar<std::int32_t>(6, t.quantized_dimension);
      table.ref(4, b.table(q));
    }
    table.ref(0, b.vector(t.shape)).scalar<std::int8_t>(1, t.type).scalar<std::uint32_t>(2, buffer_of[i]);
    if (!t.name.empty()) table.ref(3, b.string(t.name));
    tensors.push_back(b.table(table));
  }
  std::vector<std::int32_t> codes;
  std::vector<FlatBuilder::Ref> operators;
  for (const Operator& op : model.operators) {
    std::uint32_t code_index = 0;
    while (code_index < codes.size() && codes[code_index] != op.code) ++code_index;
    if (code_index == codes.size()) codes.push_back(op.code);
    if (op.code_index >= 0) code_index = static_cast<std::uint32_t>(op.code_index);
    FlatBuilder::Table table;
    table.scalar<std::uint32_t>(0, code_index).ref(1, b.vector(op.inputs)).ref(2, b.vector(op.outputs));
    if (op.options_type) {
      FlatBuilder::Table options;
      options.scalar<std::int8_t>(0, op.padding).scalar<std::int32_t>(1, op.stride).scalar<std::int32_t>(2, op.stride);
      if (op.options_type == 1) options.scalar<std::int8_t>(3, op.activation);
      if (op.options_type == 2) options.scalar<std::int32_t>(3, 1).scalar<std::int8_t>(4, op.activation);
      if (op.options_type == 5)
        options.scalar<std::int32_t>(3, op.filter).scalar<std::int32_t>(4, op.filter).scalar<std::int8_t>(5, 0);
      if (op.options_type == 9) options = FlatBuilder::Table().scalar<float>(0, op.beta);  // SoftmaxOptions
      table.scalar<std::uint8_t>(3, op.options_type).ref(4, b.table(options));
    }
    operators.push_back(b.table(table));
  }
  FlatBuilder::Table graph;
  graph.ref(0, b.vector_of_refs(tensors)).ref(1, b.vector(model.inputs)).ref(2, b.vector(model.outputs))
      .ref(3, b.vector_of_refs(operators));
  const FlatBuilder::Ref subgraph = b.table(graph);
  std::vector<FlatBuilder::Ref> code_tables;
  for (std::int32_t code : codes)
    code_tables.push_back(b.table(FlatBuilder::Table()
                                      .scalar<std::int8_t>(0, static_cast<std::int8_t>(code < 127 ? code : 127))
                                      .scalar<std::int32_t>(3, code)));
  std::vector<FlatBuilder::Ref> metadata;
  for (const auto& entry : model.metadata)
    metadata.push_back(b.table(FlatBuilder::Table().ref(0, b.string(entry.first)).scalar<std::uint32_t>(1, entry.second)));
  FlatBuilder::Table root;
  root.scalar<std::uint32_t>(0, model.version)
      .ref(1, b.vector_of_refs(code_tables))
      .ref(2, b.vector_of_refs({subgraph}))
      .ref(4, b.vector_of_refs(buffers));
  if (!model.metadata_buffer.empty()) root.ref(5, b.vector(model.metadata_buffer));
  if (!metadata.empty()) root.ref(6, b.vector_of_refs(metadata));
  std::vector<std::uint8_t> bytes = b.finish(b.table(root), "TFL3");
  bytes.insert(bytes.end(), model.trailer.begin(), model.trailer.end());
  return bytes;
}

// A MobileNetV1 graph in TFLite form with made-up weights: channels follow TF-slim's rule for
// `alpha` (floor 8), biases everywhere, RELU6 fused (or, with `implied_relu6`, no fused
// activation and a [0, 6] uint8 output range instead).
struct MobileNetSpec {
  double alpha = 1.0 / 128;  // every layer 8 channels: a ~10 kB file
  int resolution = 32;
  int classes = 5;
  bool quantized = false;
  // With `quantized`: TFLite's full-integer scheme instead of uint8: int8 activations, int8
  // weights quantized per output channel with zero point 0, int32 biases per channel.
  bool int8 = false;
  bool implied_relu6 = false;
  bool classifier = true;
  unsigned seed = 1;
};

inline int tf_slim_channels(int base, double alpha) {
  const int scaled = static_cast<int>(base * alpha);
  return scaled > 8 ? scaled : 8;
}

inline Model mobilenet(const MobileNetSpec& spec) {
  Model m;
  std::mt19937 rng(spec.seed);
  std::uniform_real_distribution<float> weight(-0.5f, 0.5f);
  std::uniform_int_distribution<int> byte(0, 255);
  const float weight_scale = 0.004f, activation_scale = 6.0f / 255.0f;
  auto add_tensor = [&](Tensor t) {
    m.tensors.push_back(std::move(t));
    return static_cast<std::int32_t>(m.tensors.size() - 1);
  };
  auto activation = [&](std::vector<std::int32_t> shape, const std::string& name) {
    Tensor t;
    t.shape = std::move(shape);
    t.name = name;
    if (spec.quantized) t.type = 3, t.scale = {activation_scale}, t.zero_point = {0};
    if (spec.quantized && spec.int8) t.type = 9, t.zero_point = {-128};
    return add_tensor(t);
  };
  // Per-channel weight scales of an int8 model: a spread of 0.5x to 1.5x weight_scale.
  auto channel_scales = [&](std::size_t channels) {
    std::vector<float> scales(channels);
    for (std::size_t c = 0; c < channels; ++c) scales[c] = weight_scale * (0.5f + float(c % 7) / 6.0f);
    return scales;
  };
  auto constant = [&](std::vector<std::int32_t> shape, const std::string& name, bool bias, float input_scale,
                      int channel_dim = 0) {
    Tensor t;
    t.shape = std::move(shape);
    t.name = name;
    std::size_t count = 1;
    for (std::int32_t d : t.shape) count *= static_cast<std::size_t>(d);
    if (!spec.quantized) {
      std::vector<float> values(count);
      for (float& v : values) v = weight(rng);
      t.data.resize(4 * count);
      std::memcpy(t.data.data(), values.data(), t.data.size());
    } else if (bias) {
      t.type = 2, t.scale = {input_scale * weight_scale}, t.zero_point = {0};
      if (spec.int8) {
        t.scale = channel_scales(count);
        for (float& v : t.scale) v *= input_scale;
        t.zero_point.assign(count, 0);
      }
      std::vector<std::int32_t> values(count);
      for (std::int32_t& v : values) v = byte(rng) * 40 - 5000;
      t.data.resize(4 * count);
      std::memcpy(t.data.data(), values.data(), t.data.size());
    } else if (spec.int8) {
      const std::size_t channels = static_cast<std::size_t>(t.shape[static_cast<std::size_t>(channel_dim)]);
      t.type = 9, t.scale = channel_scales(channels), t.zero_point.assign(channels, 0);
      t.quantized_dimension = channel_dim;
      for (std::size_t i = 0; i < count; ++i) t.data.push_back(static_cast<std::uint8_t>(byte(rng) % 255 - 127));
    } else {
      t.type = 3, t.scale = {weight_scale}, t.zero_point = {128};
      for (std::size_t i = 0; i < count; ++i) t.data.push_back(static_cast<std::uint8_t>(byte(rng)));
    }
    return add_tensor(t);
  };
  const std::int8_t fused = spec.implied_relu6 ? 0 : 3;
  int size = spec.resolution;
  Tensor input;
  input.shape = {1, size, size, 3};
  input.name = "input";
  if (spec.quantized) input.type = 3, input.scale = {1.0f / 128}, input.zero_point = {128};
  if (spec.quantized && spec.int8) input.type = 9, input.zero_point = {0};
  std::int32_t x = add_tensor(input);
  m.inputs = {x};
  auto conv = [&](int code, int in_channels, int out_channels, int kernel, int stride, const std::string& name) {
    const float in_scale = m.tensors[static_cast<std::size_t>(x)].scale.empty() ? 1.0f : m.tensors[static_cast<std::size_t>(x)].scale[0];
    const std::int32_t w = code == kDepthwise
                               ? constant({1, kernel, kernel, in_channels}, name + "/weights", false, 0, 3)
                               : constant({out_channels, kernel, kernel, in_channels}, name + "/weights", false, 0);
    const std::int32_t bias = constant({out_channels}, name + "/bias", true, in_scale);
    size = (size + stride - 1) / stride;
    const std::int32_t y = activation({1, size, size, out_channels}, name + "/Relu6");
    Operator op;
    op.code = code;
    op.inputs = {x, w, bias};
    op.outputs = {y};
    op.options_type = code == kConv ? 1 : 2;
    op.stride = stride;
    op.activation = fused;
    m.operators.push_back(op);
    x = y;
  };
  static const int strides[13] = {1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1};
  static const int widths[13] = {64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024};
  int channels = tf_slim_channels(32, spec.alpha);
  conv(kConv, 3, channels, 3, 2, "Conv2d_0");
  for (int i = 0; i < 13; ++i) {
    const int out = tf_slim_channels(widths[i], spec.alpha);
    conv(kDepthwise, channels, channels, 3, strides[i], "Conv2d_" + std::to_string(i + 1) + "_depthwise");
    conv(kConv, channels, out, 1, 1, "Conv2d_" + std::to_string(i + 1) + "_pointwise");
    channels = out;
  }
  Operator pool;
  pool.code = kAvgPool;
  pool.inputs = {x};
  pool.options_type = 5;
  pool.padding = 1;
  pool.stride = 2;
  pool.filter = size;
  pool.activation = 0;
  x = activation({1, 1, 1, channels}, "AvgPool");
  pool.outputs = {x};
  m.operators.push_back(pool);
  if (spec.classifier) {
    conv(kConv, channels, spec.classes, 1, 1, "Logits");
    m.operators.back().activation = 0;
    if (spec.quantized) m.tensors[static_cast<std::size_t>(x)].zero_point = {spec.int8 ? -28 : 100};  // logits go negative
    for (std::int32_t code : {kReshape, kSoftmax}) {  // both give [1, classes]
      Operator op;
      op.code = code;
      if (code == kSoftmax) op.options_type = 9;
      op.inputs = {x};
      x = activation({1, spec.classes}, code == kReshape ? "Reshape" : "Softmax");
      if (code == kReshape && spec.quantized) m.tensors[static_cast<std::size_t>(x)].zero_point = {spec.int8 ? -28 : 100};
      if (code == kSoftmax && spec.quantized)  // 8-bit probabilities: scale 1/256
        m.tensors[static_cast<std::size_t>(x)].scale = {1.0f / 256},
        m.tensors[static_cast<std::size_t>(x)].zero_point = {spec.int8 ? -128 : 0};
      op.outputs = {x};
      m.operators.push_back(op);
    }
  }
  m.outputs = {x};
  return m;
}

// A zip archive with one stored member, as TFLite metadata appends.
// `corrupt_crc` stores a wrong checksum.
inline std::vector<std::uint8_t> stored_zip(const std::string& name, const std::string& content,
                                            bool corrupt_crc = false) {
  std::uint32_t crc = 0xFFFFFFFFu;  // CRC-32 (IEEE), bit by bit
  for (char c : content) {
    crc ^= static_cast<std::uint8_t>(c);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  crc = ~crc ^ (corrupt_crc ? 1u : 0u);
  std::vector<std::uint8_t> zip;
  auto u16 = [&](std::uint32_t v) { zip.push_back(v & 0xFF), zip.push_back((v >> 8) & 0xFF); };
  auto u32 = [&](std::uint32_t v) { u16(v & 0xFFFF), u16(v >> 16); };
  const std::uint32_t size = static_cast<std::uint32_t>(content.size());
  u32(0x04034b50), u16(10), u16(0), u16(0), u16(0), u16(0), u32(crc), u32(size), u32(size);
  u16(static_cast<std::uint32_t>(name.size())), u16(0);
  zip.insert(zip.end(), name.begin(), name.end());
  zip.insert(zip.end(), content.begin(), content.end());
  const std::uint32_t directory = static_cast<std::uint32_t>(zip.size());
  u32(0x02014b50), u16(20), u16(10), u16(0), u16(0), u16(0), u16(0), u32(crc), u32(size), u32(size);
  u16(static_cast<std::uint32_t>(name.size())), u16(0), u16(0), u16(0), u16(0), u32(0), u32(0);
  zip.insert(zip.end(), name.begin(), name.end());
  const std::uint32_t directory_bytes = static_cast<std::uint32_t>(zip.size()) - directory;
  u32(0x06054b50), u16(0), u16(0), u16(1), u16(1), u32(directory_bytes), u32(directory), u16(0);
  return zip;
}

}  // namespace tflite_test

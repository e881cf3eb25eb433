// SPDX-License-Identifier: MIT
// Writes the seed corpus of fuzz_tflite into DIR: small MobileNetV1 .tflite files made by the
// tests' builder (tests/tflite_builder.hpp), never the real models. Besides valid files it
// writes files that each break one rule of the loader's validation (an operator output of -1,
// an index past its table, a bad quantization scale or zero point, ...), so that the fuzzer
// starts next to every check and a mutation or two explores both sides of it.
// Usage: fuzz_tflite_seeds DIR

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "tflite_builder.hpp"

namespace {

using tflite_test::Model;

struct Seed {
  std::string name;
  Model model;
};

tflite_test::Tensor& tensor(Model& m, std::int32_t index) { return m.tensors[static_cast<std::size_t>(index)]; }

// Names only cost bytes: the smallest seeds drop them, so libFuzzer's max_len stays small.
Model without_names(Model m) {
  for (tflite_test::Tensor& t : m.tensors) t.name.clear();
  return m;
}

std::vector<Seed> seeds() {
  std::vector<Seed> out;
  tflite_test::MobileNetSpec spec;
  out.push_back({"float.tflite", without_names(tflite_test::mobilenet(spec))});
  spec.quantized = true;
  const Model quantized = tflite_test::mobilenet(spec);
  out.push_back({"uint8.tflite", quantized});
  Model labelled = quantized;
  labelled.trailer = tflite_test::stored_zip("labels.txt", "a\nb\nc\nd\ne\n");
  labelled.metadata = {{"min_runtime_version", 0}, {"TFLITE_METADATA", 0}};
  labelled.metadata_buffer = {0};
  out.push_back({"uint8_labels_metadata.tflite", labelled});
  spec.implied_relu6 = true;
  out.push_back({"uint8_implied_relu6.tflite", tflite_test::mobilenet(spec)});
  spec.implied_relu6 = false;
  spec.classifier = false;
  const Model backbone = without_names(tflite_test::mobilenet(spec));
  out.push_back({"uint8_backbone.tflite", backbone});
  spec.classifier = true;
  spec.int8 = true;  // the full-integer scheme: int8 activations, per-channel int8 weights
  const Model int8 = tflite_test::mobilenet(spec);
  out.push_back({"int8_per_channel.tflite", int8});
  spec.int8 = false;
  spec.classifier = false;

  // One broken rule each (the loader must refuse them with a FormatError).
  auto broken = [&](const std::string& name, const Model& base, const std::function<void(Model&)>& change) {
    Model m = base;
    change(m);
    out.push_back({name, m});
  };
  const Model small = without_names(quantized);
  // Operator outputs of -1 at several depths of the graph, since the loader walks it in order;
  // in some the next operator reads tensor -2, the index just below the optional input's -1.
  for (std::size_t op : {1, 6, 13, 22, 26})
    broken("bad_operator_output_" + std::to_string(op) + ".tflite", small,
           [op](Model& m) { m.operators[op].outputs[0] = -1; });
  for (std::size_t op : {5, 17})
    broken("bad_operator_chain_" + std::to_string(op) + ".tflite", small, [op](Model& m) {
      m.operators[op].outputs[0] = -1;
      m.operators[op + 1].inputs[0] = -2;
    });
  broken("bad_pool_output.tflite", backbone, [](Model& m) { m.operators.back().outputs[0] = -1; });
  broken("bad_backbone_output.tflite", backbone, [](Model& m) { m.outputs = {-1}; });
  broken("bad_operator_input.tflite", small, [](Model& m) { m.operators[3].inputs[0] = -1; });
  broken("absent_bias.tflite", small, [](Model& m) { m.operators[3].inputs[2] = -1; });
  broken("bad_graph_output.tflite", small, [](Model& m) { m.outputs = {-1}; });
  broken("bad_graph_input.tflite", small, [](Model& m) { m.inputs = {static_cast<std::int32_t>(m.tensors.size())}; });
  broken("bad_buffer_index.tflite", small, [](Model& m) { m.tensors[0].buffer = 0x7FFFFFFF; });
  broken("bad_opcode_index.tflite", small, [](Model& m) { m.operators[1].code_index = 5; });
  broken("bad_metadata_buffer.tflite", small, [](Model& m) { m.metadata = {{"x", 1000}}; m.metadata_buffer = {-1}; });
  broken("zero_scale.tflite", small, [](Model& m) { tensor(m, m.operators[2].inputs[1]).scale = {0.0f}; });
  broken("nan_scale.tflite", small, [](Model& m) { tensor(m, m.operators[2].inputs[1]).scale = {std::nanf("")}; });
  broken("zero_point_256.tflite", small, [](Model& m) { tensor(m, m.operators[2].inputs[1]).zero_point = {256}; });
  broken("bias_zero_point.tflite", small, [](Model& m) { tensor(m, m.operators[2].inputs[2]).zero_point = {1}; });
  broken("per_channel_mismatch.tflite", small, [](Model& m) {
    tflite_test::Tensor& w = tensor(m, m.operators[0].inputs[1]);  // [8, 3, 3, 3]
    w.scale.assign(8, 0.01f), w.zero_point.assign(8, 128), w.quantized_dimension = 3;
  });
  broken("float_bias.tflite", small, [](Model& m) { tensor(m, m.operators[2].inputs[2]).type = 0; });
  tflite_test::MobileNetSpec huge;
  huge.resolution = 8192;  // refused by the model's activation bound
  out.push_back({"huge_input.tflite", without_names(tflite_test::mobilenet(huge))});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  for (const Seed& seed : seeds()) {
    const std::vector<std::uint8_t> bytes = tflite_test::serialize(seed.model);
    const std::string path = std::string(argv[1]) + "/" + seed.name;
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("%s: %zu bytes\n", path.c_str(), bytes.size());
  }
  return 0;
}

// SPDX-License-Identifier: MIT
// libFuzzer target for the TFLite loader (FlatBuffers reader, graph recognition, weight
// conversion, metadata zip): any byte string must either load or throw a mobilenet::Error,
// never read out of bounds, overflow, allocate without bound, or crash. A file that loads
// and is small enough also runs once, so the weights it produced are used.
//
// Seeds: fuzz_tflite_seeds DIR writes small MobileNetV1 .tflite files (every layer 8 channels,
// 32 x 32 input; float, uint8, implied ReLU6, backbone only, with labels and metadata), and
// files that each break one validation rule; fuzz_tflite.dict holds the values checks turn on;
// regression/fuzz_tflite/ holds inputs that once crashed the loader.
// Build: clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include \
//          -I /usr/include/eigen3 fuzz/fuzz_tflite.cpp -o fuzz_tflite

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mobilenet/io/tflite.hpp"

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
  return 0;
}

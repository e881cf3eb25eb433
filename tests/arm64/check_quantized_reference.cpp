// SPDX-License-Identifier: MIT
// Standalone check for ARM64 (cross-compiled, run under qemu-aarch64 by scripts/test-arm64.sh):
// the integer reference path (load_tflite_quantized + run_quantized_reference) on the small
// int8 model of tests/int8_tflite_model.hpp against the real TFLite outputs in
// tests/golden/data, so the twin the NEON int8 kernels are tested against is itself exact on
// ARM (where plain char is unsigned). No GoogleTest. Exit status 0 when every byte agrees.
//   check_quantized_reference GOLDEN_DIR

#include <cstdio>
#include <string>
#include <vector>

#include "../int8_tflite_model.hpp"
#include "mobilenet/io/file.hpp"
#include "mobilenet/io/tflite_quantized.hpp"
#include "mobilenet/model/quantized_reference.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: check_quantized_reference GOLDEN_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const mobilenet::QuantizedMobileNetV1 m =
      mobilenet::io::load_tflite_quantized(tflite_test::serialize(tflite_test::small_int8_mobilenet()), "int8_small")
          .model;
  std::vector<mobilenet::QuantizedLayerOutput> layers;
  const std::vector<std::uint8_t> out =
      mobilenet::run_quantized_reference(m, tflite_test::golden_random_input(32 * 32 * 3), 1, &layers);
  const std::vector<std::uint8_t> expected =
      mobilenet::io::read_file(dir + "/int8_small__random__layers.i8.bin", 1u << 20, "golden");
  std::size_t at = 0, failures = 0;
  for (const auto& layer : layers) {
    std::size_t differ = 0;
    for (std::size_t i = 0; i < layer.data.size(); ++i)
      differ += at + i >= expected.size() || layer.data[i] != expected[at + i];
    if (differ) std::printf("FAIL %s: %zu of %zu bytes differ from TFLite\n", layer.name.c_str(), differ, layer.data.size());
    failures += differ != 0;
    at += layer.data.size();
  }
  if (at != expected.size() || out != mobilenet::io::read_file(dir + "/int8_small__random__output.i8.bin", 64, "golden"))
    ++failures, std::printf("FAIL: output or layer sizes differ from TFLite\n");
  std::printf("quantized reference (int8 model, %zu layers) against TFLite: %s\n", layers.size(),
              failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}

// SPDX-License-Identifier: MIT
// Writes the seed corpus of fuzz_tflite into DIR: small valid MobileNetV1 .tflite files made
// by the tests' builder (tests/tflite_builder.hpp), never the real models.
// Usage: fuzz_tflite_seeds DIR

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tflite_builder.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  struct Seed {
    const char* name;
    tflite_test::MobileNetSpec spec;
    bool labels;
  };
  std::vector<Seed> seeds;
  tflite_test::MobileNetSpec spec;
  seeds.push_back({"float.tflite", spec, false});
  spec.quantized = true;
  seeds.push_back({"uint8.tflite", spec, false});
  seeds.push_back({"uint8_labels.tflite", spec, true});
  spec.implied_relu6 = true;
  seeds.push_back({"uint8_implied_relu6.tflite", spec, false});
  spec.implied_relu6 = false;
  spec.classifier = false;
  seeds.push_back({"uint8_backbone.tflite", spec, false});
  for (const Seed& seed : seeds) {
    tflite_test::Model model = tflite_test::mobilenet(seed.spec);
    if (seed.labels) model.trailer = tflite_test::stored_zip("labels.txt", "a\nb\nc\nd\ne\n");
    const std::vector<std::uint8_t> bytes = tflite_test::serialize(model);
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

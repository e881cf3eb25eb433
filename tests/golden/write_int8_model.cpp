// SPDX-License-Identifier: MIT
// Writes tests/int8_tflite_model.hpp's small int8 MobileNetV1 and its `random` input, and
// prints the model's FNV-1a hash in hex:  write_int8_model MODEL.tflite INPUT.bin
#include <cstdio>
#include <fstream>
#include <iostream>

#include "int8_tflite_model.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: write_int8_model MODEL.tflite INPUT.bin\n";
    return 2;
  }
  const std::vector<std::uint8_t> model = tflite_test::serialize(tflite_test::small_int8_mobilenet());
  const std::vector<std::uint8_t> input = tflite_test::golden_random_input(32 * 32 * 3);
  std::ofstream(argv[1], std::ios::binary).write(reinterpret_cast<const char*>(model.data()),
                                                 static_cast<std::streamsize>(model.size()));
  std::ofstream(argv[2], std::ios::binary).write(reinterpret_cast<const char*>(input.data()),
                                                 static_cast<std::streamsize>(input.size()));
  std::printf("%016llx\n", static_cast<unsigned long long>(tflite_test::fnv1a64(model)));
  return 0;
}

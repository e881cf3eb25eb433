// SPDX-License-Identifier: MIT
// libFuzzer target for the safetensors reader: any byte string must either parse or throw
// a mobilenet::Error, never read out of bounds, overflow, or crash. Conversions run on every
// tensor so that the offsets accepted at parse are exercised by real reads.
//
// Build: clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include \
//          fuzz/fuzz_safetensors.cpp -o fuzz_safetensors

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mobilenet/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const mobilenet::io::SafetensorsFile file =
        mobilenet::io::SafetensorsFile::parse(std::vector<std::uint8_t>(data, data + size), "fuzz");
    for (const std::string& name : file.names()) {
      try {
        const std::vector<float> values = file.to_vector<float>(name);
        // Touch the result so the conversion cannot be optimised away.
        if (values.size() != file.info(name).element_count()) __builtin_trap();
      } catch (const mobilenet::Error&) {
        // Non-float dtypes are rejected by to_vector; that is expected.
      }
    }
  } catch (const mobilenet::Error&) {
    // Malformed input is expected to be rejected with an Error.
  }
  return 0;
}

// SPDX-License-Identifier: MIT
// libFuzzer target for the safetensors reader and the weights loader: any byte string must
// either load or throw a mobilenet::Error, never read out of bounds, overflow, convert out of
// range, or allocate without bound. Conversions run on every tensor so that the offsets
// accepted at parse are exercised by real reads; then the file is read as MobileNetV1
// weights (preprocessing, configuration, model bounds, strict load, fold) as io::load_model
// does. Seeds: fuzz_safetensors_seeds writes small valid weights files.
//
// Build: clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include \
//          -isystem /usr/include/eigen3 fuzz/fuzz_safetensors.cpp -o fuzz_safetensors

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mobilenet/io/model_file.hpp"
#include "mobilenet/io/safetensors.hpp"
#include "mobilenet/io/weights.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace io = mobilenet::io;
  try {
    const io::SafetensorsFile file =
        io::SafetensorsFile::parse(std::vector<std::uint8_t>(data, data + size), "fuzz");
    for (const std::string& name : file.names()) {
      try {
        const std::vector<float> values = file.to_vector<float>(name);
        // Touch the result so the conversion cannot be optimised away.
        if (values.size() != file.info(name).element_count()) __builtin_trap();
      } catch (const mobilenet::Error&) {
        // Non-float dtypes are rejected by to_vector; that is expected.
      }
    }
    // Metadata alone, so that it is fuzzed even when the tensors are not a model; what it
    // accepts must be finite floats.
    try {
      const io::Preprocessing p = io::preprocessing_from_weights(file);
      for (int i = 0; i < 3; ++i)
        if (!std::isfinite(p.mean[i]) || !std::isfinite(p.std[i])) __builtin_trap();
    } catch (const mobilenet::Error&) {
    }
    const io::LoadedModel loaded = io::load_safetensors_model(file);
    // A model that loads holds only finite numbers: NaN or inf weights are refused, not run.
    loaded.model.for_each_parameter([](const std::string&, const mobilenet::Parameter<float>& p) {
      if (!p.values().allFinite()) __builtin_trap();
    });
  } catch (const mobilenet::Error&) {
    // Malformed input is expected to be rejected with an Error.
  }
  return 0;
}

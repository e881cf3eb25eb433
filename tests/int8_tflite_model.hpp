// SPDX-License-Identifier: MIT
#pragma once
// A small int8 MobileNetV1 in TFLite's full-integer scheme (alpha 0.25, 32 x 32, 10 classes:
// int8 activations, per-channel symmetric int8 weights, int32 biases), with weights and scales
// drawn from xorshift32 so the bytes are the same with every compiler and library. Its output
// under the real TFLite runtime is in tests/golden/data/int8_small__*; the script
// tests/golden/make_int8_golden.sh made it (see there).

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tflite_builder.hpp"

namespace tflite_test {

struct XorShift32 {
  std::uint32_t s;
  std::uint32_t next() {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
  }
};

// Weight scales keep each layer's sums near the activations' range (about 2.5 / sqrt(K) real
// weight spread), so outputs use the whole int8 range instead of saturating.
inline Model small_int8_mobilenet() {
  MobileNetSpec spec;
  spec.alpha = 0.25;
  spec.resolution = 32;
  spec.classes = 10;
  spec.quantized = true;
  spec.int8 = true;
  Model m = mobilenet(spec);
  // TFLite's RESHAPE needs its target shape; SOFTMAX reads the [1, 1, 1, 10] logits directly.
  const Operator reshape = m.operators[m.operators.size() - 2];
  m.operators.erase(m.operators.end() - 2);
  m.operators.back().inputs = reshape.inputs;
  XorShift32 rng{20240607u};
  for (const Operator& op : m.operators) {
    if (op.code != kConv && op.code != kDepthwise) continue;
    Tensor& w = m.tensors[static_cast<std::size_t>(op.inputs[1])];
    Tensor& b = m.tensors[static_cast<std::size_t>(op.inputs[2])];
    const float in_scale = m.tensors[static_cast<std::size_t>(op.inputs[0])].scale[0];
    const int k = w.shape[1] * w.shape[2] * (op.code == kDepthwise ? 1 : w.shape[3]);
    for (std::uint8_t& byte : w.data) byte = static_cast<std::uint8_t>(static_cast<int>(rng.next() % 255) - 127);
    for (std::size_t c = 0; c < w.scale.size(); ++c) {
      const float spread = 0.5f + static_cast<float>(rng.next() % 1000) / 1000.0f;
      w.scale[c] = spread * 2.5f / (73.0f * std::sqrt(static_cast<float>(k)));
      b.scale[c] = in_scale * w.scale[c];
      // A real bias in [-0.5, 0.5].
      const std::int32_t bound = static_cast<std::int32_t>(0.5f / b.scale[c]);
      const std::int32_t bias =
          static_cast<std::int32_t>(rng.next() % static_cast<std::uint32_t>(2 * bound + 1)) - bound;
      std::memcpy(b.data.data() + 4 * c, &bias, 4);
    }
  }
  return m;
}

// FNV-1a (64 bits) of a file's bytes: the golden data records the model's, so a test sees when
// the builder no longer writes the model the data was made from.
inline std::uint64_t fnv1a64(const std::vector<std::uint8_t>& bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (std::uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return h;
}

// The golden set's `random` input: xorshift32 from 42, one step per element, the top byte.
inline std::vector<std::uint8_t> golden_random_input(std::size_t count) {
  XorShift32 rng{42};
  std::vector<std::uint8_t> bytes(count);
  for (std::uint8_t& b : bytes) b = static_cast<std::uint8_t>(rng.next() >> 24);
  return bytes;
}

}  // namespace tflite_test

// SPDX-License-Identifier: MIT
#pragma once
// Widening of 16-bit floats stored in model files: IEEE 754 binary16 (TFLite FLOAT16,
// safetensors F16) and bfloat16 (safetensors BF16). The one conversion every loader uses.

#include <cstdint>
#include <cstring>

namespace mobilenet {
namespace io {
namespace detail {

inline float float_from_bits(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// IEEE 754 binary16 -> binary32, bit-exact: every half value is a float, so nothing rounds;
// signed zeros, subnormals, infinities and NaN payloads (quiet bit included) are kept.
inline float half_to_float(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1Fu;
  std::uint32_t mantissa = half & 0x3FFu;
  if (exponent == 0x1F) return float_from_bits(sign | 0x7F800000u | (mantissa << 13));  // inf, nan
  if (exponent != 0) return float_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return float_from_bits(sign);  // signed zero
  // Subnormal: value = mantissa * 2^-24. Shift until the implicit bit (bit 10) is set;
  // after `shift` steps the value is 1.m * 2^(-14 - shift), a normal float.
  std::uint32_t shift = 0;
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    ++shift;
  }
  return float_from_bits(sign | ((113 - shift) << 23) | ((mantissa & 0x3FFu) << 13));
}

// bfloat16 is the top half of a binary32, so widening is a shift.
inline float bfloat16_to_float(std::uint16_t bf16) {
  return float_from_bits(static_cast<std::uint32_t>(bf16) << 16);
}

}  // namespace detail
}  // namespace io
}  // namespace mobilenet

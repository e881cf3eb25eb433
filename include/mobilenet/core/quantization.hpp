// SPDX-License-Identifier: MIT
#pragma once
// The integer arithmetic of TensorFlow Lite's builtin quantized kernels, scalar and exact:
// what every int8 kernel's reference twin computes and every SIMD kernel must reproduce bit
// for bit. A real value r is held as q with r = scale * (q - zero_point).
//
// One convolution output: acc = bias + sum (q_in - zp_in)(q_w - zp_w) in int32, then
//   q_out = clamp(zp_out + multiply_by_quantized_multiplier(acc, requantization), lo, hi)
// with gemmlowp's double rounding (a rounding doubling high multiply, then a rounding shift
// right with ties away from zero).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "mobilenet/core/error.hpp"

namespace mobilenet {

// Scale and zero point of a tensor quantized per tensor.
struct QuantParams {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

// A positive real multiplier m as multiplier * 2^(shift - 31): `multiplier` in [2^30, 2^31)
// (or 0 for m = 0), `shift` <= 0 for m < 1/2.
struct Requantization {
  std::int32_t multiplier = 0;
  int shift = 0;
};

// TFLite's QuantizeMultiplier: frexp, the mantissa rounded half away from zero to 31 bits.
// Multipliers too small to represent become 0 (every output is then zp_out); too large ones
// are refused, since no real convolution has them.
inline Requantization quantize_multiplier(double real) {
  if (!(real >= 0.0) || !std::isfinite(real))
    throw ConfigError(detail::concat("requantization multiplier ", real, " is not a finite value >= 0"));
  if (real == 0.0) return {};
  int exponent = 0;
  const double mantissa = std::frexp(real, &exponent);  // in [0.5, 1)
  auto fixed = static_cast<std::int64_t>(std::round(mantissa * 2147483648.0));
  if (fixed == (std::int64_t(1) << 31)) {
    fixed /= 2;
    ++exponent;
  }
  if (exponent < -31) return {};
  if (exponent > 30)
    throw ConfigError(detail::concat("requantization multiplier ", real, " is too large (at most 2^30)"));
  return {static_cast<std::int32_t>(fixed), exponent};
}

// The multiplier of a convolution whose weights are quantized per tensor (uint8 models):
// TFLite rounds the scale product to float before dividing in double.
inline Requantization conv_requantization_per_tensor(float input_scale, float weight_scale, float output_scale) {
  const float product = input_scale * weight_scale;
  return quantize_multiplier(static_cast<double>(product) / static_cast<double>(output_scale));
}

// The multiplier of one output channel of a per-channel quantized convolution (int8 models):
// TFLite computes this one in double throughout.
inline Requantization conv_requantization_per_channel(float input_scale, float weight_scale, float output_scale) {
  return quantize_multiplier(static_cast<double>(input_scale) * static_cast<double>(weight_scale) /
                             static_cast<double>(output_scale));
}

// (a * b * 2) / 2^32 rounded to nearest (ties away from zero), saturating the one overflow
// (INT32_MIN * INT32_MIN).
constexpr std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a, std::int32_t b) {
  if (a == b && a == std::numeric_limits<std::int32_t>::min()) return std::numeric_limits<std::int32_t>::max();
  const std::int64_t product = std::int64_t(a) * std::int64_t(b);
  const std::int64_t nudge = product >= 0 ? (std::int64_t(1) << 30) : (1 - (std::int64_t(1) << 30));
  return static_cast<std::int32_t>((product + nudge) / (std::int64_t(1) << 31));
}

// x / 2^exponent rounded to nearest, ties away from zero; exponent in [0, 31].
constexpr std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent) {
  const std::int32_t mask = static_cast<std::int32_t>((std::int64_t(1) << exponent) - 1);
  const std::int32_t remainder = x & mask;
  const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// acc * multiplier * 2^(shift - 31), as TFLite's MultiplyByQuantizedMultiplier (double rounding).
constexpr std::int32_t multiply_by_quantized_multiplier(std::int32_t acc, Requantization r) {
  const int left = r.shift > 0 ? r.shift : 0;
  const int right = r.shift > 0 ? 0 : -r.shift;
  const auto shifted = static_cast<std::int32_t>(static_cast<std::uint32_t>(acc) << left);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, r.multiplier), right);
}

// How a kernel rounds acc * multiplier * 2^(shift - 31). TFLite's uint8 kernels and its int8
// depthwise kernel round twice (gemmlowp, above); its int8 CONV_2D passes per-channel
// multipliers to ruy, which rounds once, half up (TFLite's TFLITE_SINGLE_ROUNDING formula).
enum class Rounding { Double, Single };

// acc * multiplier * 2^(shift - 31) rounded once, ties toward +infinity.
constexpr std::int32_t multiply_by_quantized_multiplier_single_rounding(std::int32_t acc, Requantization r) {
  const int total_shift = 31 - r.shift;  // in [1, 62] for shift in [-31, 30]
  const std::int64_t rounded = std::int64_t(acc) * r.multiplier + (std::int64_t(1) << (total_shift - 1));
  return static_cast<std::int32_t>(rounded >> total_shift);
}

// The clamp of a quantized output: [lo, hi] in the output's integers.
struct QuantRange {
  std::int32_t lo = 0, hi = 255;
};

// The activations of quantized models, as ranges of real values they clamp to.
enum class QuantActivation { None, ReLU, ReLU6 };

// TFLite's CalculateActivationRangeQuantized: the activation's real bounds quantized with
// float division, rounded half away from zero, intersected with [type_min, type_max].
inline QuantRange quantized_activation_range(QuantActivation act, QuantParams out, std::int32_t type_min,
                                             std::int32_t type_max) {
  auto quantize = [&](float real) {
    return out.zero_point + static_cast<std::int32_t>(std::round(real / out.scale));
  };
  QuantRange range{type_min, type_max};
  if (act == QuantActivation::ReLU || act == QuantActivation::ReLU6) range.lo = std::max(type_min, quantize(0.0f));
  if (act == QuantActivation::ReLU6) range.hi = std::min(type_max, quantize(6.0f));
  return range;
}

// One requantized output with single rounding (see Rounding): zp_out + acc * multiplier, clamped.
constexpr std::int32_t requantize_single_rounding(std::int32_t acc, Requantization r, std::int32_t zero_point,
                                                  QuantRange range) {
  const std::int32_t q = zero_point + multiply_by_quantized_multiplier_single_rounding(acc, r);
  return q < range.lo ? range.lo : (q > range.hi ? range.hi : q);
}

// One requantized output: zp_out + acc * multiplier, clamped.
constexpr std::int32_t requantize(std::int32_t acc, Requantization r, std::int32_t zero_point, QuantRange range) {
  const std::int32_t q = zero_point + multiply_by_quantized_multiplier(acc, r);
  return q < range.lo ? range.lo : (q > range.hi ? range.hi : q);
}

}  // namespace mobilenet

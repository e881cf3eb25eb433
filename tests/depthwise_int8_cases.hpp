// SPDX-License-Identifier: MIT
#pragma once
// The table every 8-bit 3x3 depthwise kernel is held against its reference twin over, shared
// by the GoogleTest suite and the standalone ARM64 check (which has no GoogleTest). Channels
// below, at and above each vector width (4, 8, 16 lanes) and MobileNet's; sizes tiny to
// several tiles wide; both strides; TensorFlow SAME, symmetric(1) and VALID padding; random
// and extreme data; the output split into row ranges with guard bytes around it, and pixel
// strides wider than the channels.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/kernels/int8/depthwise3x3.hpp"

namespace mobilenet {
namespace testing {

enum class Int8Data {
  Random,    // random bytes, weights, zero points, bias and multipliers (shift < 0 and > 0)
  Extremes,  // inputs 0/255, weights -128/127, zero points at the ends of their ranges
  Saturate,  // large multipliers (shift > 0) so that most outputs clamp to the range
  Relu,      // a ReLU's range (lo = the output zero point), right shifts only, exact ties:
             // where the kernels may requantize with one rounding shift
  Symmetric,      // Random with weight zero point 0, as in int8 files: the quad layout
  SymmetricRelu,  // Relu with weight zero point 0; for odd seeds right shifts 1 to 22 only
};

struct DepthwiseInt8Case {
  Index channels;
  Index stride;
  int padding;  // 0 TensorFlow SAME, 1 symmetric(1), 2 VALID
  Int8Data data;
};

inline std::vector<DepthwiseInt8Case> depthwise_int8_cases() {
  std::vector<DepthwiseInt8Case> cases;
  for (Index channels : {1, 3, 4, 8, 16, 17, 24, 32, 33, 48, 64})
    for (Index stride : {1, 2})
      for (int padding : {0, 1, 2})
        for (Int8Data data : {Int8Data::Random, Int8Data::Extremes, Int8Data::Saturate, Int8Data::Relu})
          cases.push_back({channels, stride, padding, data});
  // Where AVX-512 VNNI takes the quad layout: 32 channels (paired pixels where they are 32 bytes
  // apart), whole and partial blocks of 64.
  for (Index channels : {32, 64, 100, 130})
    for (Index stride : {1, 2})
      for (int padding : {0, 1, 2})
        for (Int8Data data : {Int8Data::Symmetric, Int8Data::SymmetricRelu})
          cases.push_back({channels, stride, padding, data});
  return cases;
}

inline std::string describe(const DepthwiseInt8Case& c) {
  static const char* paddings[] = {"same", "symmetric(1)", "valid"};
  static const char* data[] = {"random", "extremes", "saturate", "relu", "symmetric", "symmetric relu"};
  std::ostringstream os;
  os << "channels " << c.channels << ", stride " << c.stride << ", padding " << paddings[c.padding] << ", data "
     << data[static_cast<int>(c.data)];
  return os.str();
}

inline Padding int8_case_padding(int padding) {
  return padding == 0 ? Padding::same() : padding == 1 ? Padding::symmetric(1) : Padding::valid();
}

// 33 gives a row several whole interior tiles and every shorter one.
inline const std::vector<Index>& depthwise_int8_sizes() {
  static const std::vector<Index> sizes{1, 2, 3, 4, 5, 7, 8, 14, 17, 33};
  return sizes;
}

// A layer's parameters with their storage.
struct Int8LayerData {
  std::vector<std::int8_t> weights;
  std::vector<std::int32_t> bias;
  std::vector<Requantization> requantization;
  kernels::DepthwiseInt8Layer layer;
};

inline Int8LayerData make_int8_layer(Index channels, Int8Data data, std::uint32_t seed) {
  if (data == Int8Data::Symmetric || data == Int8Data::SymmetricRelu) {
    Int8LayerData d = make_int8_layer(channels, data == Int8Data::Symmetric ? Int8Data::Random : Int8Data::Relu, seed);
    d.layer.weight_zero_point = 0;
    // Every other ReLU layer with every right shift in [1, 22]: AVX-512's high-dword form.
    if (data == Int8Data::SymmetricRelu && seed % 2 == 1)
      for (Requantization& r : d.requantization)
        if (r.multiplier != 0) r.shift = std::clamp(r.shift, 31 - kernels::kInt8HighShiftMax, 31 - kernels::kInt8HighShiftMin);
    return d;
  }
  std::mt19937 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Int8LayerData d;
  const auto ch = static_cast<std::size_t>(channels);
  d.weights.resize(9 * ch);
  d.bias.resize(ch);
  d.requantization.resize(ch);
  for (auto& w : d.weights)
    w = static_cast<std::int8_t>(data == Int8Data::Extremes ? (uniform(0, 1) ? 127 : -128) : uniform(-128, 127));
  for (auto& b : d.bias) b = data == Int8Data::Extremes ? (uniform(0, 1) ? 1 << 20 : -(1 << 20)) : uniform(-60000, 60000);
  for (std::size_t c = 0; c < ch; ++c) {
    // Real multipliers from 2^-31 (shift -31) to 8 (shift 3); a zero one now and then.
    const double real = data == Int8Data::Saturate ? std::ldexp(1.0 + uniform(0, 999) / 1000.0, uniform(-8, 3))
                                                   : std::ldexp(1.0 + uniform(0, 999) / 1000.0, uniform(-31, -4));
    d.requantization[c] = c % 7 == 5 && data == Int8Data::Random ? Requantization{} : quantize_multiplier(real);
  }
  if (data == Int8Data::Relu)  // multipliers 1/2 and 3/4 give ties in both roundings
    for (std::size_t c = 0; c < ch; c += 2)
      d.requantization[c] = Requantization{c % 4 == 0 ? std::int32_t(1) << 30 : std::int32_t(3) << 29, -uniform(0, 12)};
  if (data == Int8Data::Extremes) {
    d.requantization[0] = Requantization{std::int32_t(1) << 30, -31};
    if (ch > 1) d.requantization[1] = Requantization{0x7FFFFFFF, 1};
  }
  kernels::DepthwiseInt8Layer& l = d.layer;
  l.weights = d.weights.data();
  l.bias = seed % 5 == 4 ? nullptr : d.bias.data();
  l.channels = channels;
  static const std::int32_t weight_zps[] = {-128, 127, 0, 255, -255};
  l.weight_zero_point = data == Int8Data::Extremes ? weight_zps[seed % 5] : uniform(-128, 127);
  l.input_zero_point = data == Int8Data::Extremes ? (seed % 2 ? 255 : 0) : uniform(0, 255);
  l.requantization = d.requantization.data();
  l.output_zero_point = data == Int8Data::Extremes ? (seed % 3 ? 0 : 255) : uniform(0, 255);
  l.range = data == Int8Data::Random ? QuantRange{uniform(0, 40), uniform(200, 255)} : QuantRange{0, 255};
  if (data == Int8Data::Relu) l.range = QuantRange{l.output_zero_point, std::max(l.output_zero_point, uniform(200, 255))};
  return d;
}

inline std::vector<std::uint8_t> make_int8_input(Index count, Int8Data data, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> v(static_cast<std::size_t>(count));
  for (auto& x : v)
    x = static_cast<std::uint8_t>(data == Int8Data::Extremes ? (rng() % 2 ? 255 : 0) : rng() % 256);
  return v;
}

using DepthwiseInt8Kernel = std::function<void(const kernels::Depthwise3x3Int8Params&)>;

// Runs `kernel` and the reference twin on one image of in_h x in_w, rows split into
// [0, a), [a, b), [b, out_h), pixels `extra` bytes wider than the channels on input and
// output, and returns a message per mismatch (the first few) or guard byte overwritten.
inline std::vector<std::string> check_depthwise_int8(const DepthwiseInt8Case& c, Index in_h, Index in_w,
                                                     const kernels::PackedDepthwiseInt8Weights& packed,
                                                     const kernels::DepthwiseInt8Layer& layer,
                                                     const DepthwiseInt8Kernel& kernel, const std::string& name,
                                                     Index extra, std::uint32_t seed) {
  std::vector<std::string> errors;
  const Window2D win = window_2d(in_h, in_w, 3, c.stride, int8_case_padding(c.padding));
  if (win.rows.out <= 0 || win.cols.out <= 0) return errors;
  const Index ch = c.channels, is = ch + extra, os = ch + extra;
  const std::vector<std::uint8_t> input = make_int8_input(in_h * in_w * is, c.data, seed);
  kernels::Depthwise3x3Int8Params p;
  p.input = input.data();
  p.in_h = in_h;
  p.in_w = in_w;
  p.channels = ch;
  p.weights = &packed;
  p.out_h = win.rows.out;
  p.out_w = win.cols.out;
  p.stride = c.stride;
  p.pad_top = win.rows.pad_before;
  p.pad_left = win.cols.pad_before;
  p.in_pixel_stride = extra ? is : 0;
  p.out_pixel_stride = extra ? os : 0;
  const Index row_bytes = p.out_w * os, guard = 64;
  const Index cuts[] = {0, p.out_h / 3, (2 * p.out_h) / 3 + (p.out_h > 1 ? 1 : 0), p.out_h};
  for (int part = 0; part < 3; ++part) {
    p.row_begin = cuts[part];
    p.row_end = std::min(cuts[part + 1], p.out_h);
    const Index rows = p.row_end - p.row_begin;
    std::vector<std::uint8_t> got(static_cast<std::size_t>(rows * row_bytes + 2 * guard), 0xA5);
    std::vector<std::uint8_t> want(got.size(), 0xA5);
    p.output = got.data() + guard;
    kernel(p);
    p.output = want.data() + guard;
    kernels::depthwise3x3_int8_reference(p, layer);
    for (std::size_t i = 0; i < got.size() && errors.size() < 5; ++i) {
      if (got[i] == want[i]) continue;
      std::ostringstream os_;
      const Index at = static_cast<Index>(i) - guard;
      os_ << name << ": " << describe(c) << ", input " << in_h << "x" << in_w << ", pixel stride extra " << extra
          << ", rows [" << p.row_begin << ", " << p.row_end << "): ";
      if (at < 0 || at >= rows * row_bytes) os_ << "guard byte " << at << " overwritten";
      else
        os_ << "output (" << p.row_begin + at / row_bytes << ", " << (at % row_bytes) / os << ", " << at % os
            << ") is " << int(got[i]) << ", reference " << int(want[i]);
      errors.push_back(os_.str());
    }
  }
  return errors;
}

// Every size pair of the table for one case and one ISA.
inline std::vector<std::string> check_depthwise_int8_case(const DepthwiseInt8Case& c, kernels::Int8Isa isa) {
  const auto seed = static_cast<std::uint32_t>(c.channels * 31 + c.stride * 7 + c.padding * 3 + int(c.data));
  const Int8LayerData d = make_int8_layer(c.channels, c.data, seed);
  const kernels::PackedDepthwiseInt8Weights packed(d.layer, isa);
  std::vector<std::string> errors;
  const std::string name = kernels::int8_isa_name(isa);
  std::uint32_t image_seed = seed;
  for (Index h : depthwise_int8_sizes())
    for (Index w : depthwise_int8_sizes()) {
      const Index extra = (h + w) % 3 == 0 ? 5 : 0;
      auto e = check_depthwise_int8(c, h, w, packed, d.layer, [](const auto& p) { kernels::depthwise3x3_int8(p); },
                                    name, extra, ++image_seed);
      errors.insert(errors.end(), e.begin(), e.end());
      if (errors.size() >= 10) return errors;
    }
  return errors;
}

}  // namespace testing
}  // namespace mobilenet

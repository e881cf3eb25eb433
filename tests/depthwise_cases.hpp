// SPDX-License-Identifier: MIT
#pragma once
// The parameter table every 3x3 depthwise kernel is held against its reference twin over,
// shared by the GoogleTest suite and the standalone ARM64 check (which has no GoogleTest).
// Channels sit below, at and above each vector width (4, 8, 16 lanes); sizes are odd, even
// and tiny; both strides, both paddings, every activation, and the output split into rows.

#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/kernels/depthwise3x3.hpp"

namespace mobilenet {
namespace testing {

struct DepthwiseCase {
  Index channels;
  Index stride;
  bool symmetric;  // Padding::symmetric(1) (PyTorch); otherwise TensorFlow SAME
  Activation activation;
};

inline std::vector<DepthwiseCase> depthwise_cases() {
  std::vector<DepthwiseCase> cases;
  for (Index channels : {1, 3, 8, 15, 16, 17, 31, 32, 33, 64, 100})
    for (Index stride : {1, 2})
      for (bool symmetric : {false, true})
        for (Activation a : {Activation::None, Activation::ReLU, Activation::ReLU6})
          cases.push_back({channels, stride, symmetric, a});
  return cases;
}

inline std::string describe(const DepthwiseCase& c) {
  std::ostringstream os;
  os << "channels " << c.channels << ", stride " << c.stride << ", padding "
     << (c.symmetric ? "symmetric(1)" : "same") << ", activation " << activation_name(c.activation);
  return os.str();
}

// 33 gives a row several whole interior tiles and every shorter one (stride 1: 8 + 8 + 8 + 4
// + 2 + 1 pixels; stride 2: 6 + 6 + 3 on AVX-512).
inline const std::vector<Index>& depthwise_sizes() {
  static const std::vector<Index> sizes{1, 2, 3, 5, 7, 8, 14, 15, 33};
  return sizes;
}

// Random values in [-2, 2], so ReLU and ReLU6 both clip.
inline std::vector<float> random_values(Index count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (float& x : v) x = uniform(rng);
  return v;
}

// The kernel parameters for one dense image (in_h x in_w x channels) under `win`, every output
// row; the output is left for the caller to set.
inline kernels::Depthwise3x3Params depthwise_params(const float* input, Index in_h, Index in_w, Index channels,
                                                    const float* weights, const float* bias, const Window2D& win,
                                                    Activation activation) {
  kernels::Depthwise3x3Params p{};
  p.input = input;
  p.in_h = in_h;
  p.in_w = in_w;
  p.channels = channels;
  p.weights = weights;
  p.bias = bias;
  p.out_h = win.rows.out;
  p.out_w = win.cols.out;
  p.stride = win.stride;
  p.pad_top = win.rows.pad_before;
  p.pad_left = win.cols.pad_before;
  p.activation = activation;
  p.row_begin = 0;
  p.row_end = win.rows.out;
  return p;
}

// Runs `kernel` (a callable taking const Depthwise3x3Params&) over every size of the table and
// several row ranges, and compares it with depthwise3x3_reference. Returns one message per
// mismatch naming every parameter; empty when all agree. A kernel must also leave the
// floats just before and after its rows untouched.
template <class Kernel>
std::vector<std::string> check_depthwise_case(const DepthwiseCase& c, Kernel&& kernel,
                                              const std::string& kernel_name) {
  constexpr float kSentinel = -12345.0f;
  const Padding padding = c.symmetric ? Padding::symmetric(1) : Padding::same();
  const Index ch = c.channels;
  std::vector<std::string> errors;
  std::uint32_t seed = 1;
  for (Index h : depthwise_sizes()) {
    for (Index w : depthwise_sizes()) {
      const Window2D win = window_2d(h, w, 3, c.stride, padding);
      const AxisWindow rows = win.rows, cols = win.cols;
      if (rows.out == 0 || cols.out == 0) continue;
      const std::vector<float> input = random_values(h * w * ch, seed++);
      const std::vector<float> weights = random_values(9 * ch, seed++);
      const std::vector<float> bias = random_values(ch, seed++);
      kernels::Depthwise3x3Params p =
          depthwise_params(input.data(), h, w, ch, weights.data(), bias.data(), win, c.activation);
      const Index row_floats = cols.out * ch;
      std::vector<float> expected(static_cast<std::size_t>(rows.out * row_floats));
      p.output = expected.data();
      kernels::depthwise3x3_reference(p);

      const Index mid = rows.out / 2;
      const std::vector<std::pair<Index, Index>> ranges{
          {0, rows.out}, {0, mid}, {mid, rows.out}, {rows.out > 2 ? 1 : 0, rows.out - (rows.out > 2)}};
      for (const auto& range : ranges) {
        if (range.first >= range.second) continue;
        const Index count = (range.second - range.first) * row_floats;
        // Guard floats on both sides catch a kernel that writes outside its rows.
        std::vector<float> out(static_cast<std::size_t>(count + 2 * ch), kSentinel);
        p.output = out.data() + ch;
        p.row_begin = range.first;
        p.row_end = range.second;
        kernel(p);
        std::ostringstream where;
        where << kernel_name << ": " << describe(c) << ", input " << h << "x" << w
              << ", output " << rows.out << "x" << cols.out << ", pad_top " << rows.pad_before
              << ", pad_left " << cols.pad_before << ", rows [" << range.first << ", "
              << range.second << ")";
        for (Index g = 0; g < ch; ++g) {
          if (out[static_cast<std::size_t>(g)] != kSentinel ||
              out[static_cast<std::size_t>(ch + count + g)] != kSentinel) {
            errors.push_back(where.str() + ": wrote outside its rows");
            break;
          }
        }
        for (Index i = 0; i < count; ++i) {
          const float want = expected[static_cast<std::size_t>(range.first * row_floats + i)];
          const float got = out[static_cast<std::size_t>(ch + i)];
          // FMA rounds once where the reference rounds twice: allow a few ulps of the sum.
          if (!(std::fabs(got - want) <= 1e-5f * (1.0f + std::fabs(want)))) {
            const Index pixel = i / ch;
            std::ostringstream os;
            os << where.str() << ": output row " << range.first + pixel / cols.out << ", column "
               << pixel % cols.out << ", channel " << i % ch << ": got " << got << ", expected "
               << want;
            errors.push_back(os.str());
            break;
          }
        }
      }
    }
  }
  return errors;
}

}  // namespace testing
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#pragma once
// Element-wise epilogues: activations, inference BatchNorm as a per-channel affine map, softmax.

#include <algorithm>
#include <cassert>
#include <cmath>
#include <string>

#include "mobilenet/core/shape.hpp"

namespace mobilenet {

enum class Activation { None, ReLU, ReLU6 };

inline const char* activation_name(Activation a) {
  switch (a) {
    case Activation::None: return "none";
    case Activation::ReLU: return "relu";
    case Activation::ReLU6: return "relu6";
  }
  return "?";
}

namespace kernels {

template <typename T>
inline T activate(T x, Activation a) {
  switch (a) {
    case Activation::None: return x;
    // NaN stays NaN (every comparison with it is false), as in the SIMD kernels.
    case Activation::ReLU: return x < T(0) ? T(0) : x;
    case Activation::ReLU6: return x < T(0) ? T(0) : (x > T(6) ? T(6) : x);
  }
  return x;
}

// data: count values, activated in place.
template <typename T>
void activation_inplace(T* data, Index count, Activation a) {
  if (a == Activation::None) return;
  for (Index i = 0; i < count; ++i) data[i] = activate(data[i], a);
}

// data: rows x channels (NHWC flattened), in place: x[r, c] = x[r, c] * scale[c] + shift[c].
template <typename T>
void channel_affine_inplace(T* data, Index rows, Index channels, const T* scale, const T* shift) {
  for (Index r = 0; r < rows; ++r) {
    T* row = data + r * channels;
    for (Index c = 0; c < channels; ++c) row[c] = row[c] * scale[c] + shift[c];
  }
}

// data: rows x cols, each row replaced by its softmax. Subtracting the row maximum keeps
// exp() from overflowing for large logits.
template <typename T>
void softmax_rows_inplace(T* data, Index rows, Index cols) {
  for (Index r = 0; r < rows; ++r) {
    T* row = data + r * cols;
    const T top = *std::max_element(row, row + cols);
    T sum = 0;
    for (Index c = 0; c < cols; ++c) sum += (row[c] = std::exp(row[c] - top));
    for (Index c = 0; c < cols; ++c) row[c] /= sum;
  }
}

}  // namespace kernels
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#pragma once
// Padding maths for k x k windows. Kernels read borders through these numbers and never
// build a padded copy of their input.
//
// - Same (TensorFlow): out = ceil(in / s); the padding needed is split with the smaller half
//   before, so at stride 2 on an even input (224 -> 112, k = 3) it pads 0 before, 1 after.
// - Valid: no padding, out = floor((in - k) / s) + 1.
// - Symmetric(p) (Caffe, PyTorch): p before and after, out = floor((in + 2p - k) / s) + 1.

#include <string>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/shape.hpp"

namespace mobilenet {

class Padding {
 public:
  enum class Kind { Same, Valid, Symmetric };

  static Padding same() { return Padding(Kind::Same, 0); }
  static Padding valid() { return Padding(Kind::Valid, 0); }
  static Padding symmetric(Index pad) {
    if (pad < 0) throw ConfigError(detail::concat("symmetric padding must be >= 0, got ", pad));
    return Padding(Kind::Symmetric, pad);
  }

  Kind kind() const { return kind_; }
  Index amount() const { return amount_; }  // only meaningful for Symmetric

  std::string str() const {
    switch (kind_) {
      case Kind::Same: return "same";
      case Kind::Valid: return "valid";
      case Kind::Symmetric: return detail::concat("symmetric(", amount_, ")");
    }
    return "?";
  }

  friend bool operator==(const Padding& a, const Padding& b) {
    return a.kind_ == b.kind_ && a.amount_ == b.amount_;
  }

 private:
  Padding(Kind kind, Index amount) : kind_(kind), amount_(amount) {}
  Kind kind_;
  Index amount_;
};

// How one spatial axis is windowed: output length and the implicit zeros on each side.
struct AxisWindow {
  Index out = 0;
  Index pad_before = 0;
  Index pad_after = 0;
};

// Output length and padding along one axis of length `in` for a window of `kernel` taps
// moving by `stride`. Returns out = 0 when the window does not fit (Valid on a short axis).
inline AxisWindow window_axis(Index in, Index kernel, Index stride, const Padding& padding) {
  AxisWindow a;
  if (in <= 0 || kernel <= 0 || stride <= 0) return a;
  switch (padding.kind()) {
    case Padding::Kind::Same: {
      a.out = (in + stride - 1) / stride;
      const Index needed = (a.out - 1) * stride + kernel - in;
      const Index total = needed > 0 ? needed : 0;
      a.pad_before = total / 2;
      a.pad_after = total - a.pad_before;
      break;
    }
    case Padding::Kind::Valid:
      a.out = in >= kernel ? (in - kernel) / stride + 1 : 0;
      break;
    case Padding::Kind::Symmetric: {
      const Index padded = in + 2 * padding.amount();
      a.pad_before = a.pad_after = padding.amount();
      a.out = padded >= kernel ? (padded - kernel) / stride + 1 : 0;
      break;
    }
  }
  return a;
}

// Both spatial axes of a k x k window.
struct Window2D {
  Index kernel = 0;
  Index stride = 1;
  AxisWindow rows;  // along H
  AxisWindow cols;  // along W
};

inline Window2D window_2d(Index in_h, Index in_w, Index kernel, Index stride, const Padding& padding) {
  return Window2D{kernel, stride, window_axis(in_h, kernel, stride, padding),
                  window_axis(in_w, kernel, stride, padding)};
}

}  // namespace mobilenet

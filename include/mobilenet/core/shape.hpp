// SPDX-License-Identifier: MIT
#pragma once
// Shape of an NHWC activation tensor: batch, height, width, channels.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>

#include "mobilenet/core/error.hpp"

namespace mobilenet {

// Dimensions are signed so that a negative value from arithmetic is caught, not wrapped.
using Index = std::int64_t;

struct Shape {
  Index n = 0;  // batch
  Index h = 0;  // height
  Index w = 0;  // width
  Index c = 0;  // channels

  constexpr Shape() = default;
  constexpr Shape(Index batch, Index height, Index width, Index channels)
      : n(batch), h(height), w(width), c(channels) {}

  // Number of elements; 0 for an empty shape.
  Index size() const { return n * h * w * c; }
  // Pixels per image (h * w) and pixels in the batch (n * h * w): the rows of the
  // matrix that a 1x1 convolution multiplies.
  Index pixels() const { return h * w; }
  Index rows() const { return n * h * w; }

  bool valid() const { return n > 0 && h > 0 && w > 0 && c > 0; }

  std::string str() const {
    std::ostringstream os;
    os << '[' << n << ", " << h << ", " << w << ", " << c << ']';
    return os.str();
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.n == b.n && a.h == b.h && a.w == b.w && a.c == b.c;
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }
  friend std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }
};

// Throws ShapeError unless every dimension is positive and the element count fits memory
// arithmetic. `what()` names the tensor in the message; it is called only when the check
// fails, so a passing check builds no string (forward passes promise not to allocate).
template <typename What, typename = std::enable_if_t<std::is_invocable<const What&>::value>>
void check_shape(const Shape& s, const What& what) {
  if (!s.valid())
    throw ShapeError(detail::concat(what(), ": every dimension of an NHWC shape must be positive, got ",
                                    s.str()));
  constexpr Index limit = std::numeric_limits<Index>::max() / 16;
  Index total = 1;
  for (Index d : {s.n, s.h, s.w, s.c}) {
    if (d > limit / total)
      throw ShapeError(detail::concat(what(), ": shape ", s.str(), " has too many elements"));
    total *= d;
  }
}
inline void check_shape(const Shape& s, const std::string& what) {
  check_shape(s, [&what]() -> const std::string& { return what; });
}

}  // namespace mobilenet

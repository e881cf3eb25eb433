// SPDX-License-Identifier: MIT
#pragma once
// An 8-bit RGB image in memory. Separate from the decoder (io/image.hpp, which needs
// stb_image) so that preprocessing and model loading do not depend on it.

#include <cstdint>
#include <vector>

#include "mobilenet/core/shape.hpp"

namespace mobilenet {
namespace io {

// Rows top to bottom, each row left to right, each pixel R, G, B.
struct Image {
  Index width = 0;
  Index height = 0;
  std::vector<std::uint8_t> pixels;  // height x width x 3

  std::uint8_t at(Index y, Index x, Index channel) const {
    return pixels[static_cast<std::size_t>((y * width + x) * 3 + channel)];
  }
};

}  // namespace io
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#pragma once
// Encodes small RGB images as PNG, BMP or JPEG in memory with stb_image_write (libstb-dev),
// for the image tests and the image fuzzer's seeds. Static copy, as io/image.hpp does.

#include <cstdint>
#include <string>
#include <vector>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#undef STB_IMAGE_WRITE_IMPLEMENTATION

namespace mobilenet {
namespace testing {

enum class Encoding { PNG, BMP, JPEG };

inline const char* extension(Encoding e) {
  return e == Encoding::PNG ? ".png" : e == Encoding::BMP ? ".bmp" : ".jpg";
}

// stb_image_write's output callback. Not inlined: g++ 12 at -O2 otherwise warns falsely
// (-Wstringop-overflow) about the vector insert once it sees the encoder's constant sizes.
[[gnu::noinline]] inline void append_bytes(void* context, void* data, int size) {
  auto* bytes = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* begin = static_cast<const std::uint8_t*>(data);
  bytes->insert(bytes->end(), begin, begin + size);
}

// `rgb`: height x width x channels bytes (channels 1..4). Returns the encoded file.
inline std::vector<std::uint8_t> encode(Encoding encoding, int width, int height, int channels,
                                        const std::vector<std::uint8_t>& rgb) {
  std::vector<std::uint8_t> out;
  int ok = 0;
  if (encoding == Encoding::PNG)
    ok = stbi_write_png_to_func(append_bytes, &out, width, height, channels, rgb.data(), width * channels);
  else if (encoding == Encoding::BMP)
    ok = stbi_write_bmp_to_func(append_bytes, &out, width, height, channels, rgb.data());
  else
    ok = stbi_write_jpg_to_func(append_bytes, &out, width, height, channels, rgb.data(), 95);
  if (!ok) out.clear();
  return out;
}

// A smooth colour pattern (JPEG keeps smooth images close to the original).
inline std::vector<std::uint8_t> gradient(int width, int height) {
  std::vector<std::uint8_t> rgb(std::size_t(width) * std::size_t(height) * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      std::uint8_t* p = &rgb[(std::size_t(y) * std::size_t(width) + std::size_t(x)) * 3];
      p[0] = static_cast<std::uint8_t>(255 * x / (width > 1 ? width - 1 : 1));
      p[1] = static_cast<std::uint8_t>(255 * y / (height > 1 ? height - 1 : 1));
      p[2] = static_cast<std::uint8_t>(128);
    }
  return rgb;
}

}  // namespace testing
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
// Writes the image fuzzer's seed corpus: tiny PNG, BMP and JPEG files (grey, RGB and RGBA;
// odd sizes) encoded with stb_image_write, and the variants written by hand (16-bit and palette
// PNG, top-down and palette BMP, grey and Adobe CMYK JPEG), so the fuzzer starts from a valid
// file of each kind the decoder's checks distinguish.
//   fuzz_image_seeds DIR

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "image_encoders.hpp"

int main(int argc, char** argv) {
  using namespace mobilenet::testing;
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_image_seeds DIR\n");
    return 2;
  }
  int written = 0;
  auto write = [&](const std::string& name, const std::vector<std::uint8_t>& file) {
    const std::string path = std::string(argv[1]) + "/" + name;
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    if (!out) {
      std::fprintf(stderr, "fuzz_image_seeds: cannot write %s\n", path.c_str());
      return false;
    }
    ++written;
    return true;
  };
  for (Encoding encoding : {Encoding::PNG, Encoding::BMP, Encoding::JPEG}) {
    for (int channels : {1, 3, 4}) {
      const int width = 5 + channels, height = 3 + channels;
      std::vector<std::uint8_t> pixels;
      const std::vector<std::uint8_t> rgb = gradient(width, height);
      for (std::size_t i = 0; i < rgb.size(); i += 3)
        for (int c = 0; c < channels; ++c) pixels.push_back(rgb[i + std::size_t(c % 3)]);
      const std::vector<std::uint8_t> file = encode(encoding, width, height, channels, pixels);
      if (!write("seed_" + std::to_string(channels) + "ch" + extension(encoding), file)) return 1;
    }
  }
  std::vector<std::uint8_t> grey_palette;
  for (int i = 0; i < 256; ++i) grey_palette.insert(grey_palette.end(), {std::uint8_t(i), std::uint8_t(i), std::uint8_t(i), 0});
  const std::vector<std::uint8_t> rgb_palette = {255, 0, 0, 0, 255, 0, 0, 0, 255};
  const bool ok =
      write("seed_top_down.bmp", bmp_raw(3, -2, 24, {{1, 2, 3, 4, 5, 6, 7, 8, 9}, {9, 8, 7, 6, 5, 4, 3, 2, 1}})) &&
      write("seed_palette8.bmp", bmp_raw(3, 2, 8, {{0, 128, 255}, {255, 0, 7}}, grey_palette)) &&
      write("seed_palette1.bmp", bmp_raw(9, -1, 1, {{0xA5, 0x80}}, {0, 0, 255, 0, 0, 255, 0, 0})) &&
      write("seed_16bit.png", png_raw(2, 1, 16, 2, {{0x12, 0x34, 0xAB, 0xCD, 0xFF, 0xFF, 0, 1, 0x80, 0, 0x7F, 0xFF}})) &&
      write("seed_palette.png", png_raw(3, 2, 8, 3, {{2, 0, 1}, {1, 1, 0}}, rgb_palette, {0, 128, 255})) &&
      write("seed_palette2.png", png_raw(5, 1, 2, 3, {{0x24, 0x80}}, rgb_palette)) &&
      write("seed_grey.jpg", jpeg_flat_blocks(2, 1, 1, {40, 200})) &&
      write("seed_cmyk.jpg", jpeg_flat_blocks(2, 1, 4, {255, 128, 0, 255, 255, 255, 255, 128}, 0)) &&
      write("seed_adobe_rgb.jpg", jpeg_flat_blocks(1, 1, 3, {200, 100, 50}, 0));
  if (!ok) return 1;
  std::printf("fuzz_image_seeds: wrote %d files to %s\n", written, argv[1]);
  return 0;
}

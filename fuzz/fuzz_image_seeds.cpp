// SPDX-License-Identifier: MIT
// Writes the image fuzzer's seed corpus: tiny PNG, BMP and JPEG files (grey, RGB and RGBA;
// odd sizes) encoded with stb_image_write, so the fuzzer starts from valid files of each kind.
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
  for (Encoding encoding : {Encoding::PNG, Encoding::BMP, Encoding::JPEG}) {
    for (int channels : {1, 3, 4}) {
      const int width = 5 + channels, height = 3 + channels;
      std::vector<std::uint8_t> pixels;
      const std::vector<std::uint8_t> rgb = gradient(width, height);
      for (std::size_t i = 0; i < rgb.size(); i += 3)
        for (int c = 0; c < channels; ++c) pixels.push_back(rgb[i + std::size_t(c % 3)]);
      const std::vector<std::uint8_t> file = encode(encoding, width, height, channels, pixels);
      const std::string path = std::string(argv[1]) + "/seed_" + std::to_string(channels) +
                               "ch" + extension(encoding);
      std::ofstream out(path, std::ios::binary);
      out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
      if (!out) {
        std::fprintf(stderr, "fuzz_image_seeds: cannot write %s\n", path.c_str());
        return 1;
      }
      ++written;
    }
  }
  std::printf("fuzz_image_seeds: wrote %d files to %s\n", written, argv[1]);
  return 0;
}

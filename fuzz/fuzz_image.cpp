// SPDX-License-Identifier: MIT
// libFuzzer target for the image loader: any byte string must decode or throw a
// mobilenet::Error, never read out of bounds or allocate without limit. A decoded image is
// also preprocessed both ways, so its width, height and pixel buffer are used for real.
//
// Seeds: tiny PNG, BMP and JPEG files of every supported variant written by fuzz_image_seeds
// (scripts/test.sh runs it); fuzz_image.dict holds the formats' chunk names and markers.

#include <cstddef>
#include <cstdint>

#include "mobilenet/io/image.hpp"
#include "mobilenet/io/preprocess.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    // Lower limits than the library's, to stay fast and within libFuzzer's memory limit.
    mobilenet::io::ImageLimits limits;
    limits.max_pixels = mobilenet::Index(1) << 22;
    limits.max_decoder_bytes = std::size_t(128) << 20;
    const mobilenet::io::Image image = mobilenet::io::decode_image(data, size, "fuzz", limits);
    if (image.pixels.size() != static_cast<std::size_t>(image.width * image.height * 3)) __builtin_trap();
    for (const auto& p : {mobilenet::io::Preprocessing::tensorflow(), mobilenet::io::Preprocessing::torch()}) {
      const mobilenet::Tensor<float> input = mobilenet::io::preprocess(image, 8, p);
      if (!(input.data()[0] > -10.0f && input.data()[0] < 10.0f)) __builtin_trap();
    }
  } catch (const mobilenet::Error&) {
    // Malformed input is expected to be rejected with an Error.
  }
  return 0;
}

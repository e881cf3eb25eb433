// SPDX-License-Identifier: MIT
// A second translation unit that includes io/image.hpp: linked into test_image, it shows that
// two units, each with its own static stb_image, build into one program.
#include <cstdint>
#include <vector>

#include "mobilenet/io/image.hpp"

namespace mobilenet {
namespace testing {

Index pixels_decoded_in_another_unit(const std::vector<std::uint8_t>& file) {
  const io::Image image = io::decode_image(file, "second unit");
  return image.width * image.height;
}

}  // namespace testing
}  // namespace mobilenet

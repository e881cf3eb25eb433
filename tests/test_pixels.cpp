// SPDX-License-Identifier: MIT
// Raw pixels (io/pixels.hpp): every format, with odd sizes and padded strides, preprocessed
// straight from the buffer gives bit for bit what io::preprocess gives for the same pixels
// built here as an io::Image; NV21/NV12 against a full-frame YUV -> RGB conversion written
// here, then io::preprocess. Bad frames are refused with a message saying why.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "error_matchers.hpp"
#include "mobilenet/io/pixels.hpp"
#include "mobilenet/io/preprocess.hpp"

namespace mobilenet {
namespace {

using io::PixelFormat;

// A random RGB image (the ground truth the formats below encode).
io::Image random_image(Index width, Index height, unsigned seed) {
  std::mt19937 rng(seed);
  io::Image image;
  image.width = width;
  image.height = height;
  for (Index i = 0; i < width * height * 3; ++i) image.pixels.push_back(static_cast<std::uint8_t>(rng() & 0xFF));
  return image;
}

// `image` written in a packed format with rows `stride` bytes apart; padding bytes are 0xEE so
// that reading them would show. Gray takes the R channel (and the reference image is made gray).
std::vector<std::uint8_t> encode(const io::Image& image, PixelFormat format, Index stride) {
  const Index bpp = io::bytes_per_pixel(format);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(stride * image.height), 0xEE);
  for (Index y = 0; y < image.height; ++y)
    for (Index x = 0; x < image.width; ++x) {
      std::uint8_t* p = &bytes[static_cast<std::size_t>(y * stride + x * bpp)];
      const std::uint8_t r = image.at(y, x, 0), g = image.at(y, x, 1), b = image.at(y, x, 2);
      switch (format) {
        case PixelFormat::RGB: p[0] = r, p[1] = g, p[2] = b; break;
        case PixelFormat::BGR: p[0] = b, p[1] = g, p[2] = r; break;
        case PixelFormat::RGBA: p[0] = r, p[1] = g, p[2] = b, p[3] = 0x11; break;
        case PixelFormat::BGRA: p[0] = b, p[1] = g, p[2] = r, p[3] = 0x11; break;
        case PixelFormat::Gray: p[0] = r; break;
        default: ADD_FAILURE() << "not a packed format";
      }
    }
  return bytes;
}

io::Image gray_of(const io::Image& image) {
  io::Image gray = image;
  for (std::size_t i = 0; i < gray.pixels.size(); i += 3) gray.pixels[i + 1] = gray.pixels[i + 2] = gray.pixels[i];
  return gray;
}

std::vector<io::Preprocessing> all_preprocessings() {
  std::vector<io::Preprocessing> all;
  for (bool antialias : {true, false}) {
    io::Preprocessing tf = io::Preprocessing::tensorflow(), torch = io::Preprocessing::torch();
    tf.antialias = torch.antialias = antialias;
    all.push_back(tf);
    all.push_back(torch);
  }
  return all;
}

// Bit-for-bit equality, reporting the first difference.
void expect_identical(const Tensor<float>& got, const Tensor<float>& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  for (Index i = 0; i < got.size(); ++i)
    if (std::memcmp(&got.data()[i], &want.data()[i], sizeof(float)) != 0) {
      ADD_FAILURE() << what << ": value " << i << " is " << got.data()[i] << ", io::preprocess gives " << want.data()[i];
      return;
    }
}

struct Size {
  Index width, height;
};
// Odd and even sizes, landscape and portrait, smaller and larger than the output.
const Size kSizes[] = {{37, 23}, {24, 41}, {5, 3}, {64, 48}, {1, 1}, {97, 13}};
const Index kResolutions[] = {16, 7};

TEST(Pixels, PackedFormatsMatchPreprocessOfTheSameImageBitForBit) {
  for (PixelFormat format : {PixelFormat::RGB, PixelFormat::BGR, PixelFormat::RGBA, PixelFormat::BGRA, PixelFormat::Gray})
    for (const Size& size : kSizes)
      for (Index padding : {0, 1, 13}) {  // bytes after each row
        io::Image image = random_image(size.width, size.height, static_cast<unsigned>(size.width * 31 + size.height));
        if (format == PixelFormat::Gray) image = gray_of(image);
        const Index stride = size.width * io::bytes_per_pixel(format) + padding;
        std::vector<std::uint8_t> bytes = encode(image, format, stride);
        bytes.resize(bytes.size() - static_cast<std::size_t>(padding));  // the last row needs no padding
        const io::Pixels pixels(bytes.data(), bytes.size(), size.width, size.height, format, padding ? stride : 0);
        for (const io::Preprocessing& p : all_preprocessings())
          for (Index resolution : kResolutions) {
            const std::string what = detail::concat(io::pixel_format_name(format), " ", size.width, " x ", size.height,
                                                    " stride ", stride, " -> ", resolution, p.antialias ? " antialias" : "",
                                                    p.mode == io::Preprocessing::Mode::MeanStd ? " mean/std" : " tf");
            expect_identical(io::preprocess(pixels, resolution, p), io::preprocess(image, resolution, p), what);
          }
        EXPECT_EQ(io::to_image(pixels).pixels, image.pixels) << io::pixel_format_name(format);
      }
}

// The reference conversion, independent of the library's: BT.601 full range in double,
// rounded to nearest (halves up), clamped.
std::uint8_t bt601(double value) { return static_cast<std::uint8_t>(std::min(255.0, std::max(0.0, std::floor(value + 0.5)))); }

TEST(Pixels, YuvToRgbIsBt601FullRangeForEveryInput) {
  // libjpeg's 16-bit constants differ from the exact ones by less than 5e-6 x 128: the result
  // differs from the double formula only where it lies within that of a half.
  long differ = 0;
  for (int y = 0; y < 256; ++y)
    for (int u = 0; u < 256; ++u)
      for (int v = 0; v < 256; ++v) {
        const auto rgb = io::yuv_to_rgb(y, u, v);
        const std::uint8_t want[3] = {bt601(y + 1.402 * (v - 128)),
                                      bt601(y - 0.344136 * (u - 128) - 0.714136 * (v - 128)),
                                      bt601(y + 1.772 * (u - 128))};
        for (int c = 0; c < 3; ++c) {
          ASSERT_LE(std::abs(int(rgb[std::size_t(c)]) - int(want[c])), 1) << y << " " << u << " " << v;
          differ += rgb[std::size_t(c)] != want[c];
        }
      }
  std::printf("yuv_to_rgb: %ld of %d channel values differ by 1 from the double formula\n", differ, 3 << 24);
  EXPECT_LT(differ, 3 * (1 << 24) / 1000);
  // Grey stays grey; the extremes clamp.
  EXPECT_EQ(io::yuv_to_rgb(77, 128, 128), (std::array<std::uint8_t, 3>{77, 77, 77}));
  EXPECT_EQ(io::yuv_to_rgb(255, 255, 255)[0], 255);
  EXPECT_EQ(io::yuv_to_rgb(0, 0, 0)[2], 0);
}

// A frame of random Y, U, V: luma rows `stride` apart, then (or in `chroma`) the chroma plane.
struct Nv {
  std::vector<std::uint8_t> luma, chroma;
  Index stride, chroma_stride;
};
Nv random_nv(Index height, Index stride, Index chroma_stride, unsigned seed) {
  std::mt19937 rng(seed);
  Nv f{std::vector<std::uint8_t>(static_cast<std::size_t>(stride * height)),
       std::vector<std::uint8_t>(static_cast<std::size_t>(chroma_stride * ((height + 1) / 2))), stride, chroma_stride};
  for (auto& b : f.luma) b = static_cast<std::uint8_t>(rng() & 0xFF);
  for (auto& b : f.chroma) b = static_cast<std::uint8_t>(rng() & 0xFF);
  return f;
}

// Full-frame reference: each pixel with the chroma pair of its 2 x 2 block.
io::Image nv_reference(const Nv& f, Index width, Index height, bool nv21) {
  io::Image image;
  image.width = width;
  image.height = height;
  for (Index y = 0; y < height; ++y)
    for (Index x = 0; x < width; ++x) {
      const std::uint8_t* pair = &f.chroma[static_cast<std::size_t>((y / 2) * f.chroma_stride + (x / 2) * 2)];
      const int u = nv21 ? pair[1] : pair[0], v = nv21 ? pair[0] : pair[1];
      const auto rgb = io::yuv_to_rgb(f.luma[static_cast<std::size_t>(y * f.stride + x)], u, v);
      image.pixels.insert(image.pixels.end(), rgb.begin(), rgb.end());
    }
  return image;
}

TEST(Pixels, Nv21AndNv12MatchAFullFrameConversionThenPreprocess) {
  for (PixelFormat format : {PixelFormat::NV21, PixelFormat::NV12})
    for (const Size& size : kSizes)
      for (Index padding : {0, 3})
        for (bool separate_chroma : {false, true}) {
          const Index stride = size.width + padding;
          const Index chroma_stride = separate_chroma ? 2 * ((size.width + 1) / 2) + 5 : std::max(stride, 2 * ((size.width + 1) / 2));
          if (!separate_chroma && chroma_stride != stride) continue;  // one stride for both planes
          const Nv f = random_nv(size.height, stride, chroma_stride, static_cast<unsigned>(size.width + 7 * size.height));
          std::vector<std::uint8_t> joined = f.luma;
          joined.insert(joined.end(), f.chroma.begin(), f.chroma.end());
          io::Pixels pixels(joined.data(), separate_chroma ? f.luma.size() : joined.size(), size.width, size.height, format,
                            padding ? stride : 0);
          if (separate_chroma) {
            pixels.chroma = f.chroma.data();
            pixels.chroma_size = f.chroma.size();
            pixels.chroma_stride = chroma_stride;
          }
          const io::Image reference = nv_reference(f, size.width, size.height, format == PixelFormat::NV21);
          EXPECT_EQ(io::to_image(pixels).pixels, reference.pixels) << io::pixel_format_name(format);
          for (const io::Preprocessing& p : all_preprocessings())
            expect_identical(io::preprocess(pixels, 16, p), io::preprocess(reference, 16, p),
                             detail::concat(io::pixel_format_name(format), " ", size.width, " x ", size.height,
                                            " stride ", stride, separate_chroma ? " separate chroma" : ""));
        }
}

TEST(Pixels, PreprocessIntoABatchSlotWritesOnlyThatSlot) {
  const io::Image image = random_image(20, 30, 3);
  const std::vector<std::uint8_t> bytes = encode(image, PixelFormat::BGR, 60);
  Tensor<float> batch(Shape(3, 8, 8, 3), 42.0f);
  io::preprocess_into(io::Pixels(bytes.data(), bytes.size(), 20, 30, PixelFormat::BGR), io::Preprocessing::tensorflow(),
                      batch.view().batch(1));
  const Tensor<float> want = io::preprocess(image, 8, io::Preprocessing::tensorflow());
  for (Index i = 0; i < want.size(); ++i) {
    EXPECT_EQ(batch.data()[i], 42.0f);
    EXPECT_EQ(batch.data()[want.size() + i], want.data()[i]);
    EXPECT_EQ(batch.data()[2 * want.size() + i], 42.0f);
  }
}

TEST(Pixels, BadFramesAreRefusedWithTheReason) {
  std::vector<std::uint8_t> bytes(1000);
  const io::Preprocessing p = io::Preprocessing::tensorflow();
  auto refuse = [&](const io::Pixels& px, const std::string& says) {
    EXPECT_THROW_MESSAGE(io::preprocess(px, 8, p), ShapeError, {says.c_str()});
    EXPECT_THROW_MESSAGE(io::to_image(px), ShapeError, {says.c_str()});
  };
  refuse(io::Pixels(bytes.data(), bytes.size(), 0, 5, PixelFormat::RGB), "RGB frame of 0 x 5 pixels");
  refuse(io::Pixels(bytes.data(), bytes.size(), 5, -1, PixelFormat::RGB), "at least 1 x 1");
  refuse(io::Pixels(nullptr, 100, 5, 5, PixelFormat::RGB), "no data");
  refuse(io::Pixels(bytes.data(), bytes.size(), 10, 5, PixelFormat::RGBA, 39), "stride of 39 bytes for rows of 10 pixels x 4 bytes = 40");
  refuse(io::Pixels(bytes.data(), 299, 10, 10, PixelFormat::BGR), "needs 300 bytes");
  refuse(io::Pixels(bytes.data(), 100 + 49, 10, 10, PixelFormat::NV21), "needs 150 bytes (luma, then chroma)");
  refuse(io::Pixels(bytes.data(), bytes.size(), Index(1) << 20, Index(1) << 20, PixelFormat::Gray), "at most");
  io::Pixels nv(bytes.data(), 100, 9, 10, PixelFormat::NV12, 10);
  nv.chroma = bytes.data() + 500;
  nv.chroma_size = 49;  // 5 rows of 10 bytes (5 pairs): the last row needs 10
  refuse(nv, "chroma plane of 49 bytes");
  nv.chroma_stride = 9;
  refuse(nv, "chroma stride of 9 bytes");
  // Good frames of the same buffers pass.
  EXPECT_NO_THROW(io::preprocess(io::Pixels(bytes.data(), 300, 10, 10, PixelFormat::BGR), 8, p));
  EXPECT_NO_THROW(io::preprocess(io::Pixels(bytes.data(), 150, 10, 10, PixelFormat::NV21), 8, p));
}

}  // namespace
}  // namespace mobilenet

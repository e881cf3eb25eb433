// SPDX-License-Identifier: MIT
// Image decoding (io/image.hpp): files written by stb_image_write come back pixel for pixel
// (PNG, BMP) or closely (JPEG), and every kind of bad file gets an error naming it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "mobilenet/io/image.hpp"
// After image.hpp, which requires being first.
#include "error_matchers.hpp"
#include "image_encoders.hpp"

namespace mobilenet {
namespace testing {
Index pixels_decoded_in_another_unit(const std::vector<std::uint8_t>& file);  // image_second_unit.cpp
}  // namespace testing
namespace {

using testing::Encoding;

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "/" + name; }

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A PNG that has only its signature and header chunk: enough for the size check.
std::vector<std::uint8_t> png_header(std::uint32_t width, std::uint32_t height) {
  std::vector<std::uint8_t> b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (std::uint32_t v : {width, height})
    for (int shift : {24, 16, 8, 0}) b.push_back(static_cast<std::uint8_t>(v >> shift));
  for (std::uint8_t v : {8, 2, 0, 0, 0}) b.push_back(v);  // 8-bit RGB, no interlace
  for (int i = 0; i < 4; ++i) b.push_back(0);           // CRC (stb_image does not check it)
  return b;
}

TEST(Image, PngAndBmpDecodeExactly) {
  const int width = 7, height = 5;  // odd sizes: BMP rows are padded to 4 bytes
  const auto rgb = testing::gradient(width, height);
  for (Encoding e : {Encoding::PNG, Encoding::BMP}) {
    const auto file = testing::encode(e, width, height, 3, rgb);
    ASSERT_FALSE(file.empty());
    const io::Image image = io::decode_image(file, testing::extension(e));
    EXPECT_EQ(image.width, width);
    EXPECT_EQ(image.height, height);
    EXPECT_EQ(image.pixels, rgb) << testing::extension(e);
    EXPECT_EQ(image.at(4, 6, 0), rgb[(4 * width + 6) * 3]);
  }
}

TEST(Image, TwoTranslationUnitsEachDecode) {
  const auto file = testing::encode(Encoding::PNG, 6, 4, 3, testing::gradient(6, 4));
  EXPECT_EQ(testing::pixels_decoded_in_another_unit(file), 24);
  EXPECT_EQ(io::decode_image(file, "this unit").width, 6);
}

TEST(Image, JpegDecodesCloseToTheOriginal) {
  const int width = 32, height = 24;
  const auto rgb = testing::gradient(width, height);
  const io::Image image = io::decode_image(testing::encode(Encoding::JPEG, width, height, 3, rgb), "a.jpg");
  ASSERT_EQ(image.pixels.size(), rgb.size());
  int worst = 0;
  for (std::size_t i = 0; i < rgb.size(); ++i)
    worst = std::max(worst, std::abs(int(image.pixels[i]) - int(rgb[i])));
  EXPECT_LE(worst, 16);  // quality 95 on a smooth gradient; seen: single digits
}

TEST(Image, GreyBecomesRgbAndAlphaIsDropped) {
  const std::vector<std::uint8_t> grey = {0, 100, 200, 255};
  const io::Image from_grey = io::decode_image(testing::encode(Encoding::PNG, 2, 2, 1, grey), "grey.png");
  EXPECT_EQ(from_grey.pixels, (std::vector<std::uint8_t>{0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255}));
  const std::vector<std::uint8_t> rgba = {10, 20, 30, 0, 40, 50, 60, 255};
  const io::Image from_rgba = io::decode_image(testing::encode(Encoding::PNG, 2, 1, 4, rgba), "rgba.png");
  EXPECT_EQ(from_rgba.pixels, (std::vector<std::uint8_t>{10, 20, 30, 40, 50, 60}));
}

TEST(Image, LoadsFromFile) {
  const auto rgb = testing::gradient(3, 2);
  const std::string path = temp_path("three_by_two.png");
  write_file(path, testing::encode(Encoding::PNG, 3, 2, 3, rgb));
  const io::Image image = io::load_image(path);
  EXPECT_EQ(image.width, 3);
  EXPECT_EQ(image.height, 2);
  EXPECT_EQ(image.pixels, rgb);
  std::remove(path.c_str());
}

TEST(ImageErrors, MissingFileIsNamed) {
  EXPECT_THROW_MESSAGE(io::load_image("/nonexistent/photo.jpg"), IoError,
                       {"/nonexistent/photo.jpg", "cannot open"});
}

TEST(ImageErrors, DirectoryIsNotAnImage) {
  EXPECT_THROW_MESSAGE(io::load_image(::testing::TempDir()), IoError,
                       {"is a directory"});
}

TEST(ImageErrors, EmptyFile) {
  const std::string path = temp_path("empty.png");
  write_file(path, {});
  EXPECT_THROW_MESSAGE(io::load_image(path), FormatError, {path.c_str(), "empty file"});
  std::remove(path.c_str());
}

TEST(ImageErrors, TextIsNotAnImage) {
  const std::string text = "hello, this is not a picture";
  const std::vector<std::uint8_t> bytes(text.begin(), text.end());
  EXPECT_THROW_MESSAGE(io::decode_image(bytes, "notes.jpg"), FormatError,
                       {"notes.jpg", "not a JPEG, PNG or BMP image"});
  EXPECT_THROW_MESSAGE(io::decode_image(std::vector<std::uint8_t>{'B', 'M', 1, 2}, "tiny.bmp"),
                       FormatError, {"tiny.bmp", "corrupt or unsupported BMP image"});
}

TEST(ImageErrors, ZeroByZero) {
  EXPECT_THROW_MESSAGE(io::decode_image(png_header(0, 0), "zero.png"), FormatError,
                       {"zero.png", "PNG image has 0 pixels"});
}

TEST(ImageErrors, EnormousIsRejectedBeforeDecoding) {
  // 16500 x 16500 declared by an 8 + 25-byte file: rejected from the header alone.
  EXPECT_THROW_MESSAGE(io::decode_image(png_header(16500, 16500), "huge.png"), FormatError,
                       {"huge.png", "16500 x 16500", "exceeds the limit of 268435456 pixels"});
  const auto small = testing::encode(Encoding::BMP, 20, 10, 3, testing::gradient(20, 10));
  EXPECT_THROW_MESSAGE(io::decode_image(small, "small.bmp", /*max_pixels=*/199), FormatError,
                       {"small.bmp", "200 pixels exceeds the limit of 199"});
  EXPECT_NO_THROW(io::decode_image(small, "small.bmp", 200));
}

TEST(ImageErrors, TruncatedFileFailsToDecode) {
  auto file = testing::encode(Encoding::PNG, 16, 16, 3, testing::gradient(16, 16));
  file.resize(file.size() / 2);
  EXPECT_THROW_MESSAGE(io::decode_image(file, "cut.png"), FormatError, {"cut.png", "truncated"});
  // Cut at a chunk boundary instead (IEND dropped): stb_image finds the data short.
  auto no_end = testing::encode(Encoding::PNG, 16, 16, 3, testing::gradient(16, 16));
  no_end.resize(no_end.size() - 12);
  EXPECT_THROW_MESSAGE(io::decode_image(no_end, "no_end.png"), FormatError, {"no_end.png", "16 x 16"});
  auto jpeg = testing::encode(Encoding::JPEG, 16, 16, 3, testing::gradient(16, 16));
  jpeg.resize(40);
  EXPECT_THROW(io::decode_image(jpeg, "cut.jpg"), FormatError);
}

TEST(ImageErrors, PngChunkLongerThanFileIsRefusedBeforeAllocating) {
  auto png = testing::encode(Encoding::PNG, 4, 4, 3, testing::gradient(4, 4));
  // The chunk after IHDR (8 + 25 bytes in) claims 2 GB.
  for (int i = 0; i < 4; ++i) png[33 + std::size_t(i)] = i == 0 ? 0x7F : 0xFF;
  EXPECT_THROW_MESSAGE(io::decode_image(png, "liar.png"), FormatError,
                       {"liar.png", "a chunk is longer than the file"});
}

TEST(ImageErrors, OversizedJpegHuffmanTableIsRefused) {
  // stb_image 2.27 writes a table's symbols into 256 slots before checking their count; a
  // DHT segment declaring 257 symbols (all of length 16) must not reach it.
  auto jpeg = testing::encode(Encoding::JPEG, 8, 8, 3, testing::gradient(8, 8));
  std::vector<std::uint8_t> dht = {0xFF, 0xC4, 0x01, 0x14, 0x00};  // length 2 + 17 + 257 = 276
  for (int bits = 1; bits < 16; ++bits) dht.push_back(0);
  dht.push_back(0);  // 16-bit codes: 256 + 1 below
  dht.back() = 255;
  dht[dht.size() - 2] = 2;  // 15-bit codes: 2, so 257 symbols in all
  for (int i = 0; i < 257; ++i) dht.push_back(static_cast<std::uint8_t>(i));
  jpeg.insert(jpeg.begin() + 2, dht.begin(), dht.end());
  EXPECT_THROW_MESSAGE(io::decode_image(jpeg, "evil.jpg"), FormatError,
                       {"evil.jpg", "Huffman table has too many codes"});
}

}  // namespace
}  // namespace mobilenet

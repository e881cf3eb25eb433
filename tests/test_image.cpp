// SPDX-License-Identifier: MIT
// Image decoding (io/image.hpp): files written by stb_image_write come back pixel for pixel
// (PNG, BMP) or closely (JPEG), and every kind of bad file gets an error naming it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/io/image.hpp"
// After image.hpp, which requires being first.
#include "error_matchers.hpp"
#include "image_encoders.hpp"
#include "shared_data.hpp"

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
                       FormatError, {"tiny.bmp", "truncated BMP image"});
}

TEST(ImageErrors, ZeroByZero) {
  EXPECT_THROW_MESSAGE(io::decode_image(png_header(0, 0), "zero.png"), FormatError,
                       {"zero.png", "PNG image has 0 pixels"});
  EXPECT_THROW_MESSAGE(io::decode_image(testing::bmp_raw(3, 0, 24, {}), "flat.bmp"), FormatError,
                       {"flat.bmp", "BMP image has 0 pixels"});
  EXPECT_THROW_MESSAGE(io::decode_image(testing::bmp_raw(-3, 1, 24, {{1, 2, 3}}), "mirror.bmp"), FormatError,
                       {"mirror.bmp", "corrupt BMP image (width -3)"});
}

TEST(ImageErrors, EnormousIsRejectedBeforeDecoding) {
  // 16500 x 16500 declared by an 8 + 25-byte file: rejected from the header alone.
  EXPECT_THROW_MESSAGE(io::decode_image(png_header(16500, 16500), "huge.png"), FormatError,
                       {"huge.png", "16500 x 16500", "exceeds the limit of 33554432 pixels",
                        "io::ImageLimits::max_pixels"});
  const auto small = testing::encode(Encoding::BMP, 20, 10, 3, testing::gradient(20, 10));
  EXPECT_THROW_MESSAGE(io::decode_image(small, "small.bmp", /*max_pixels=*/199), FormatError,
                       {"small.bmp", "200 pixels exceeds the limit of 199"});
  EXPECT_NO_THROW(io::decode_image(small, "small.bmp", 200));
}

TEST(ImageErrors, TruncatedFileFailsToDecode) {
  auto file = testing::encode(Encoding::PNG, 16, 16, 3, testing::gradient(16, 16));
  file.resize(file.size() / 2);
  EXPECT_THROW_MESSAGE(io::decode_image(file, "cut.png"), FormatError, {"cut.png", "truncated"});
  // Cut at a chunk boundary instead (IEND dropped).
  auto no_end = testing::encode(Encoding::PNG, 16, 16, 3, testing::gradient(16, 16));
  no_end.resize(no_end.size() - 12);
  EXPECT_THROW_MESSAGE(io::decode_image(no_end, "no_end.png"), FormatError, {"no_end.png", "truncated PNG", "no IEND"});
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

TEST(ImageErrors, JpegScanWithUndefinedTablesIsRefused) {
  // stb_image 2.27 decodes a scan with whatever its table memory held; with an AC table that no
  // DHT segment defined it reads far out of bounds (found by fuzz_image). Remove, from an image
  // stb_image_write made, the AC tables (the DHT segment's 2nd and 4th table), then the DQT.
  const auto good = testing::encode(Encoding::JPEG, 8, 8, 3, testing::gradient(8, 8));
  ASSERT_NO_THROW(io::decode_image(good, "good.jpg"));
  auto segment = [&](const std::vector<std::uint8_t>& jpeg, std::uint8_t marker) {
    for (std::size_t i = 2; i + 3 < jpeg.size(); i += 2 + (std::size_t(jpeg[i + 2]) << 8 | jpeg[i + 3]))
      if (jpeg[i] == 0xFF && jpeg[i + 1] == marker) return i;
    return std::size_t(0);
  };
  const std::size_t dht = segment(good, 0xC4);
  ASSERT_NE(dht, 0u);
  // Rewrite the DHT segment with its DC tables only (class 0).
  std::vector<std::uint8_t> dc_only = {0xFF, 0xC4, 0, 0};
  const std::size_t dht_end = dht + 2 + (std::size_t(good[dht + 2]) << 8 | good[dht + 3]);
  for (std::size_t t = dht + 4; t < dht_end;) {
    std::size_t symbols = 0;
    for (int b = 1; b <= 16; ++b) symbols += good[t + std::size_t(b)];
    if ((good[t] >> 4) == 0) dc_only.insert(dc_only.end(), good.begin() + std::ptrdiff_t(t), good.begin() + std::ptrdiff_t(t + 17 + symbols));
    t += 17 + symbols;
  }
  dc_only[2] = std::uint8_t((dc_only.size() - 2) >> 8), dc_only[3] = std::uint8_t(dc_only.size() - 2);
  std::vector<std::uint8_t> no_ac(good.begin(), good.begin() + std::ptrdiff_t(dht));
  no_ac.insert(no_ac.end(), dc_only.begin(), dc_only.end());
  no_ac.insert(no_ac.end(), good.begin() + std::ptrdiff_t(dht_end), good.end());
  EXPECT_THROW_MESSAGE(io::decode_image(no_ac, "no_ac.jpg"), FormatError,
                       {"no_ac.jpg", "a scan uses a table that was never defined"});
  const std::size_t dqt = segment(good, 0xDB);
  ASSERT_NE(dqt, 0u);
  std::vector<std::uint8_t> no_dqt(good.begin(), good.begin() + std::ptrdiff_t(dqt));
  no_dqt.insert(no_dqt.end(), good.begin() + std::ptrdiff_t(dqt + 2 + (std::size_t(good[dqt + 2]) << 8 | good[dqt + 3])),
                good.end());
  EXPECT_THROW_MESSAGE(io::decode_image(no_dqt, "no_dqt.jpg"), FormatError,
                       {"no_dqt.jpg", "a scan uses a table that was never defined"});
}

// Every variant stb_image decodes comes back as the RGB it encodes.

using Rows = std::vector<std::vector<std::uint8_t>>;

TEST(ImageVariants, TopDownAndBottomUpBmp) {
  // 3 x 2, 24-bit: rows stored B, G, R; a negative height means the first stored row is the top.
  const Rows top_first = {{3, 2, 1, 6, 5, 4, 9, 8, 7}, {12, 11, 10, 15, 14, 13, 18, 17, 16}};
  const std::vector<std::uint8_t> rgb = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
  const io::Image top_down = io::decode_image(testing::bmp_raw(3, -2, 24, top_first), "top_down.bmp");
  EXPECT_EQ(top_down.height, 2);
  EXPECT_EQ(top_down.pixels, rgb);
  const io::Image bottom_up =
      io::decode_image(testing::bmp_raw(3, 2, 24, {top_first[1], top_first[0]}), "bottom_up.bmp");
  EXPECT_EQ(bottom_up.pixels, rgb);
}

TEST(ImageVariants, RgbaAndPaletteBmp) {
  const std::vector<std::uint8_t> rgba = {10, 20, 30, 0, 40, 50, 60, 255, 70, 80, 90, 128};
  const io::Image from_rgba = io::decode_image(testing::encode(Encoding::BMP, 3, 1, 4, rgba), "rgba.bmp");
  EXPECT_EQ(from_rgba.pixels, (std::vector<std::uint8_t>{10, 20, 30, 40, 50, 60, 70, 80, 90}));
  // 8-bit grey palette (a greyscale BMP), and a 1-bit one.
  std::vector<std::uint8_t> grey;
  for (int i = 0; i < 256; ++i) grey.insert(grey.end(), {std::uint8_t(i), std::uint8_t(i), std::uint8_t(i), 0});
  const io::Image from_grey = io::decode_image(testing::bmp_raw(3, -1, 8, {{0, 128, 255}}, grey), "grey.bmp");
  EXPECT_EQ(from_grey.pixels, (std::vector<std::uint8_t>{0, 0, 0, 128, 128, 128, 255, 255, 255}));
  const io::Image from_bits =
      io::decode_image(testing::bmp_raw(3, -1, 1, {{0xA0}}, {0, 0, 255, 0, 0, 255, 0, 0}), "bits.bmp");
  EXPECT_EQ(from_bits.pixels, (std::vector<std::uint8_t>{0, 255, 0, 255, 0, 0, 0, 255, 0}));
}

TEST(ImageVariants, GreyAlphaSixteenBitAndPalettePng) {
  const io::Image grey_alpha = io::decode_image(
      testing::encode(Encoding::PNG, 2, 1, 2, {30, 0, 200, 255}), "grey_alpha.png");
  EXPECT_EQ(grey_alpha.pixels, (std::vector<std::uint8_t>{30, 30, 30, 200, 200, 200}));
  // 16-bit samples keep their high byte.
  const io::Image deep = io::decode_image(
      testing::png_raw(2, 1, 16, 2, {{0x12, 0x34, 0xAB, 0xCD, 0xFF, 0xFF, 0x00, 0x01, 0x80, 0x00, 0x7F, 0xFF}}),
      "deep.png");
  EXPECT_EQ(deep.pixels, (std::vector<std::uint8_t>{0x12, 0xAB, 0xFF, 0x00, 0x80, 0x7F}));
  const io::Image deep_grey = io::decode_image(testing::png_raw(1, 2, 16, 0, {{0xBE, 0xEF}, {0x01, 0x02}}), "g16.png");
  EXPECT_EQ(deep_grey.pixels, (std::vector<std::uint8_t>{0xBE, 0xBE, 0xBE, 0x01, 0x01, 0x01}));
  const std::vector<std::uint8_t> palette = {255, 0, 0, 0, 255, 0, 0, 0, 255};
  const io::Image indexed = io::decode_image(testing::png_raw(3, 1, 8, 3, {{2, 0, 1}}, palette), "pal.png");
  EXPECT_EQ(indexed.pixels, (std::vector<std::uint8_t>{0, 0, 255, 255, 0, 0, 0, 255, 0}));
  // 2-bit indices, with a transparency chunk (alpha dropped).
  const io::Image packed =
      io::decode_image(testing::png_raw(3, 1, 2, 3, {{0x24}}, palette, {0, 128, 255}), "pal2.png");
  EXPECT_EQ(packed.pixels, (std::vector<std::uint8_t>{255, 0, 0, 0, 0, 255, 0, 255, 0}));
}

TEST(ImageVariants, GreyCmykAndAdobeRgbJpeg) {
  const io::Image grey = io::decode_image(testing::jpeg_flat_blocks(2, 1, 1, {40, 200}), "grey.jpg");
  ASSERT_EQ(grey.width, 16);
  EXPECT_EQ(grey.at(3, 2, 0), 40);
  EXPECT_EQ(grey.at(3, 2, 2), 40);
  EXPECT_EQ(grey.at(5, 12, 1), 200);
  // Adobe CMYK is stored inverted (255 = no ink): R = C' x K' / 255, and so on.
  const io::Image cmyk = io::decode_image(
      testing::jpeg_flat_blocks(2, 1, 4, {255, 128, 0, 255, /**/ 255, 255, 255, 128}, 0), "cmyk.jpg");
  ASSERT_EQ(cmyk.pixels.size(), 16u * 8u * 3u);
  EXPECT_EQ(cmyk.at(4, 4, 0), 255);
  EXPECT_EQ(cmyk.at(4, 4, 1), 128);
  EXPECT_EQ(cmyk.at(4, 4, 2), 0);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(cmyk.at(4, 12, c), 128) << c;
  // Three components with Adobe transform 0 and no JFIF: RGB as stored, not YCbCr.
  const io::Image rgb = io::decode_image(testing::jpeg_flat_blocks(1, 1, 3, {200, 100, 50}, 0), "rgb.jpg");
  EXPECT_EQ(rgb.at(0, 0, 0), 200);
  EXPECT_EQ(rgb.at(7, 7, 1), 100);
  EXPECT_EQ(rgb.at(3, 5, 2), 50);
}

TEST(ImageVariants, RealPhotosDecodeWhenPresent) {
  int found = 0;
  for (const char* photo : {"burger.jpg", "hot_dog.jpg", "parrot.jpg", "cat.bmp", "grace_hopper.bmp"}) {
    const std::string path = testing::shared_data_file(std::string("images/") + photo);
    if (path.empty()) continue;
    ++found;
    const io::Image image = io::load_image(path);
    EXPECT_GT(image.width, 0) << photo;
  }
  if (found == 0) GTEST_SKIP() << "no photos in " << testing::shared_data_dir() << "/images";
}

// What stb_image cannot decode is refused as unsupported, naming what it is.

TEST(ImageErrors, UnsupportedVariantsAreNamed) {
  auto rle = testing::bmp_raw(2, 2, 8, {{0, 0}, {0, 0}}, {0, 0, 0, 0});
  rle[30] = 1;  // BI_RLE8
  EXPECT_THROW_MESSAGE(io::decode_image(rle, "rle.bmp"), FormatError, {"rle.bmp", "unsupported BMP", "RLE"});
  auto os2v2 = testing::bmp_raw(2, 2, 24, {{0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}});
  os2v2[14] = 64;
  EXPECT_THROW_MESSAGE(io::decode_image(os2v2, "os2.bmp"), FormatError, {"os2.bmp", "unsupported BMP", "64 bytes"});
  auto arithmetic = testing::jpeg_flat_blocks(1, 1, 1, {128});
  auto sof = std::find(arithmetic.begin(), arithmetic.end(), 0xC0);
  ASSERT_NE(sof, arithmetic.end());
  *sof = 0xC9;
  EXPECT_THROW_MESSAGE(io::decode_image(arithmetic, "arith.jpg"), FormatError,
                       {"arith.jpg", "unsupported JPEG", "arithmetic coding"});
  *sof = 0xC3;
  EXPECT_THROW_MESSAGE(io::decode_image(arithmetic, "lossless.jpg"), FormatError, {"unsupported JPEG", "lossless"});
  *sof = 0xC0;
  sof[3] = 12;  // sample precision
  EXPECT_THROW_MESSAGE(io::decode_image(arithmetic, "deep.jpg"), FormatError,
                       {"deep.jpg", "unsupported JPEG", "12-bit samples"});
}

// Every prefix of a valid file is refused: no missing byte is read as zero.

std::vector<std::pair<std::string, std::vector<std::uint8_t>>> small_valid_files() {
  const auto rgb = testing::gradient(9, 7);
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> files = {
      {"rgb.png", testing::encode(Encoding::PNG, 9, 7, 3, rgb)},
      {"rgb.bmp", testing::encode(Encoding::BMP, 9, 7, 3, rgb)},
      {"rgb.jpg", testing::encode(Encoding::JPEG, 9, 7, 3, rgb)},
      {"rgba.bmp", testing::encode(Encoding::BMP, 9, 7, 4, std::vector<std::uint8_t>(9 * 7 * 4, 77))},
      {"top_down.bmp", testing::bmp_raw(3, -2, 24, {{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 5, 6, 7, 8, 9}})},
      {"pal.png", testing::png_raw(3, 1, 8, 3, {{2, 0, 1}}, {255, 0, 0, 0, 255, 0, 0, 0, 255})},
      {"cmyk.jpg", testing::jpeg_flat_blocks(2, 1, 4, {255, 128, 0, 255, 255, 255, 255, 128}, 0)}};
  return files;
}

TEST(ImageErrors, EveryPrefixOfAValidFileIsRefused) {
  for (const auto& [name, file] : small_valid_files()) {
    ASSERT_NO_THROW(io::decode_image(file, name)) << name;
    for (std::size_t size = 1; size < file.size(); ++size) {
      try {
        io::decode_image(file.data(), size, name);
        ADD_FAILURE() << name << " cut to " << size << " of " << file.size() << " bytes was decoded";
      } catch (const FormatError& error) {
        const std::string message = error.what();
        // The source first, then a reason.
        EXPECT_EQ(message.rfind(name + ": ", 0), 0u) << message;
        EXPECT_GT(message.size(), name.size() + 12) << message;
      }
    }
  }
}

TEST(ImageErrors, TruncationIsNamed) {
  const auto bmp = testing::encode(Encoding::BMP, 9, 7, 3, testing::gradient(9, 7));
  const std::string needed = "need " + std::to_string(bmp.size()) + " bytes";
  EXPECT_THROW_MESSAGE(io::decode_image(bmp.data(), bmp.size() - 1, "cut.bmp"), FormatError,
                       {"cut.bmp", "truncated BMP image", needed.c_str()});
  const auto jpeg = testing::encode(Encoding::JPEG, 9, 7, 3, testing::gradient(9, 7));
  EXPECT_THROW_MESSAGE(io::decode_image(jpeg.data(), jpeg.size() - 2, "cut.jpg"), FormatError,
                       {"cut.jpg", "truncated JPEG image", "no end-of-image marker"});
  EXPECT_THROW_MESSAGE(io::decode_image(jpeg.data(), 30, "head.jpg"), FormatError,
                       {"head.jpg", "truncated JPEG image"});
  const auto png = testing::encode(Encoding::PNG, 9, 7, 3, testing::gradient(9, 7));
  EXPECT_THROW_MESSAGE(io::decode_image(png.data(), png.size() - 1, "cut.png"), FormatError,
                       {"cut.png", "truncated PNG image", "'IEND'"});
  // A JPEG that ends at EOI without any scan has no pixels to give.
  EXPECT_THROW_MESSAGE(io::decode_image(std::vector<std::uint8_t>{0xFF, 0xD8, 0xFF, 0xD9}, "bare.jpg"),
                       FormatError, {"bare.jpg", "corrupt JPEG", "before any image data"});
}

// Limits: the size a header declares, the decoder's memory, the JPEG scans, the file size.

// `file` with the frame header's height and width replaced.
std::vector<std::uint8_t> jpeg_declaring(std::vector<std::uint8_t> file, int width, int height) {
  for (std::size_t i = 2; i + 8 < file.size(); ++i)
    if (file[i] == 0xFF && file[i + 1] == 0xC0) {
      file[i + 5] = static_cast<std::uint8_t>(height >> 8);
      file[i + 6] = static_cast<std::uint8_t>(height);
      file[i + 7] = static_cast<std::uint8_t>(width >> 8);
      file[i + 8] = static_cast<std::uint8_t>(width);
      break;
    }
  return file;
}

// `file` (a PNG) with IHDR's width and height replaced (stb_image does not check CRCs).
std::vector<std::uint8_t> png_declaring(std::vector<std::uint8_t> file, std::uint32_t width, std::uint32_t height) {
  for (int i = 0; i < 4; ++i) {
    file[16 + std::size_t(i)] = static_cast<std::uint8_t>(width >> (24 - 8 * i));
    file[20 + std::size_t(i)] = static_cast<std::uint8_t>(height >> (24 - 8 * i));
  }
  return file;
}

TEST(ImageLimits, SmallFileDeclaringAHugeImageIsRefusedFromItsHeader) {
  // A few hundred bytes declaring 16000 x 16000: refused before stb_image allocates anything.
  const auto bomb = jpeg_declaring(testing::encode(Encoding::JPEG, 16, 16, 3, testing::gradient(16, 16)), 16000, 16000);
  EXPECT_THROW_MESSAGE(io::decode_image(bomb, "bomb.jpg"), FormatError,
                       {"bomb.jpg", "16000 x 16000", "exceeds the limit of 33554432 pixels",
                        "io::ImageLimits::max_pixels"});
  const auto wide = png_declaring(testing::png_raw(1, 1, 8, 0, {{7}}), 20000, 20000);
  EXPECT_THROW_MESSAGE(io::decode_image(wide, "wide.png"), FormatError,
                       {"wide.png", "20000 x 20000", "exceeds the limit", "max_pixels"});
  // Over the limit raised, stb_image's own 1 GiB bound is reported as such, not as an unknown type.
  io::ImageLimits raised;
  raised.max_pixels = Index(1) << 30;
  const auto rgba = png_declaring(testing::png_raw(1, 1, 8, 6, {{1, 2, 3, 4}}), 20000, 20000);
  EXPECT_THROW_MESSAGE(io::decode_image(rgba, "rgba.png", raised), FormatError,
                       {"rgba.png", "too large for the decoder"});
  const auto thin = png_declaring(testing::png_raw(1, 1, 8, 0, {{7}}), 1u << 25, 1);
  EXPECT_THROW_MESSAGE(io::decode_image(thin, "thin.png", raised), FormatError,
                       {"thin.png", "too large", "at most 16777216 pixels a side"});
  const auto bmp = testing::bmp_raw(1, -2147483647 - 1, 24, {{1, 2, 3}});
  EXPECT_THROW_MESSAGE(io::decode_image(bmp, "tall.bmp", raised), FormatError, {"tall.bmp", "too large"});
}

TEST(ImageLimits, DecoderMemoryIsBounded) {
  const auto file = testing::encode(Encoding::PNG, 64, 64, 3, testing::gradient(64, 64));
  io::ImageLimits tight;
  tight.max_decoder_bytes = 10000;  // the 64 x 64 x 3 output alone is 12288 bytes
  EXPECT_THROW_MESSAGE(io::decode_image(file, "small.png", tight), FormatError,
                       {"small.png", "more than the limit of 10000 bytes of decoder memory",
                        "io::ImageLimits::max_decoder_bytes"});
  EXPECT_NO_THROW(io::decode_image(file, "small.png"));
  // A zlib bomb: a 1 x 1 header over the compressed rows of 1024 x 1024. stb_image inflates
  // all of them whatever the header says; the budget stops it.
  const auto bomb = png_declaring(
      testing::encode(Encoding::PNG, 1024, 1024, 1, std::vector<std::uint8_t>(1024 * 1024, 0)), 1, 1);
  EXPECT_LT(bomb.size(), 16000u);
  EXPECT_NO_THROW(io::decode_image(bomb, "bomb.png"));
  tight.max_decoder_bytes = 256 * 1024;
  EXPECT_THROW_MESSAGE(io::decode_image(bomb, "bomb.png", tight), FormatError,
                       {"bomb.png", "decoder memory"});
  // The budget is per call: the next decode is not affected.
  EXPECT_EQ(io::decode_image(file, "again.png").width, 64);
}

TEST(ImageLimits, JpegScansAndFileBytes) {
  const auto jpeg = testing::encode(Encoding::JPEG, 8, 8, 3, testing::gradient(8, 8));
  io::ImageLimits limits;
  limits.max_jpeg_scans = 0;
  EXPECT_THROW_MESSAGE(io::decode_image(jpeg, "scans.jpg", limits), FormatError,
                       {"scans.jpg", "more than the limit of 0 scans", "io::ImageLimits::max_jpeg_scans"});
  limits = io::ImageLimits();
  limits.max_file_bytes = jpeg.size() - 1;
  EXPECT_THROW_MESSAGE(io::decode_image(jpeg, "big.jpg", limits), FormatError,
                       {"big.jpg", "exceeds the limit of", "io::ImageLimits::max_file_bytes"});
  const std::string path = temp_path("limit.jpg");
  write_file(path, jpeg);
  EXPECT_THROW_MESSAGE(io::load_image(path, limits), FormatError,
                       {path.c_str(), "exceeds the limit of", "io::ImageLimits::max_file_bytes"});
  limits.max_file_bytes = jpeg.size();
  EXPECT_EQ(io::load_image(path, limits).width, 8);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#pragma once
// Encodes small RGB images as PNG, BMP or JPEG in memory with stb_image_write (libstb-dev),
// for the image tests and the image fuzzer's seeds. Static copy, as io/image.hpp does.
// Also writes by hand the variants stb_image_write cannot: 16-bit and palette PNGs, top-down
// and palette BMPs, greyscale and Adobe CMYK/RGB JPEGs.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
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


inline void put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
inline void put_le(std::vector<std::uint8_t>& out, std::uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

inline std::uint32_t crc32(const std::uint8_t* data, std::size_t size) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline void png_chunk(std::vector<std::uint8_t>& out, const char* type, const std::vector<std::uint8_t>& data) {
  put_be32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put_be32(out, crc32(out.data() + start, out.size() - start));
}

// A PNG of any bit depth and colour type: `rows` holds height rows of packed samples (16-bit
// samples big-endian), stored uncompressed (zlib "stored" blocks, filter 0). `palette` (RGB
// triples) makes a PLTE chunk, `transparency` a tRNS chunk, when not empty.
inline std::vector<std::uint8_t> png_raw(std::uint32_t width, std::uint32_t height, int bit_depth,
                                         int colour_type, const std::vector<std::vector<std::uint8_t>>& rows,
                                         const std::vector<std::uint8_t>& palette = {},
                                         const std::vector<std::uint8_t>& transparency = {}) {
  std::vector<std::uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<std::uint8_t> header;
  put_be32(header, width);
  put_be32(header, height);
  for (int v : {bit_depth, colour_type, 0, 0, 0}) header.push_back(static_cast<std::uint8_t>(v));
  png_chunk(out, "IHDR", header);
  if (!palette.empty()) png_chunk(out, "PLTE", palette);
  if (!transparency.empty()) png_chunk(out, "tRNS", transparency);
  std::vector<std::uint8_t> raw;
  for (const auto& row : rows) {
    raw.push_back(0);  // filter: none
    raw.insert(raw.end(), row.begin(), row.end());
  }
  std::vector<std::uint8_t> zlib = {0x78, 0x01};
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(raw.size() - pos, 65535);
    zlib.push_back(pos + n == raw.size() ? 1 : 0);  // BFINAL, stored
    put_le(zlib, static_cast<std::uint32_t>(n), 2);
    put_le(zlib, static_cast<std::uint32_t>(~n & 0xFFFF), 2);
    zlib.insert(zlib.end(), raw.begin() + static_cast<std::ptrdiff_t>(pos),
                raw.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
  } while (pos < raw.size());
  std::uint32_t a = 1, b = 0;  // Adler-32
  for (std::uint8_t v : raw) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  put_be32(zlib, (b << 16) | a);
  png_chunk(out, "IDAT", zlib);
  png_chunk(out, "IEND", {});
  return out;
}

// A BMP with a 40-byte info header: `rows` are the stored rows (first row first in the file,
// unpadded), `height` negative for top-down; `palette` holds B, G, R, 0 entries.
inline std::vector<std::uint8_t> bmp_raw(std::int32_t width, std::int32_t height, int bpp,
                                         const std::vector<std::vector<std::uint8_t>>& rows,
                                         const std::vector<std::uint8_t>& palette = {}) {
  std::vector<std::uint8_t> pixels;
  for (const auto& row : rows) {
    pixels.insert(pixels.end(), row.begin(), row.end());
    while (pixels.size() % 4) pixels.push_back(0);
  }
  const std::uint32_t offset = 14 + 40 + static_cast<std::uint32_t>(palette.size());
  std::vector<std::uint8_t> out = {'B', 'M'};
  put_le(out, offset + static_cast<std::uint32_t>(pixels.size()), 4);
  put_le(out, 0, 4);
  put_le(out, offset, 4);
  put_le(out, 40, 4);
  put_le(out, static_cast<std::uint32_t>(width), 4);
  put_le(out, static_cast<std::uint32_t>(height), 4);
  put_le(out, 1, 2);  // planes
  put_le(out, static_cast<std::uint32_t>(bpp), 2);
  put_le(out, 0, 4);  // no compression
  put_le(out, static_cast<std::uint32_t>(pixels.size()), 4);
  put_le(out, 2835, 4);
  put_le(out, 2835, 4);
  put_le(out, static_cast<std::uint32_t>(palette.size() / 4), 4);
  put_le(out, 0, 4);
  out.insert(out.end(), palette.begin(), palette.end());
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

// A baseline JPEG of 8 x 8 blocks, each of one flat colour (DC coefficients only, quantizer 1):
// `blocks` holds, block by block left to right then top to bottom, one 8-bit sample per
// component (1: grey; 3 or 4 with `adobe_transform` >= 0: an Adobe APP14 segment, 0 = RGB or
// CMYK as stored, 2 = YCCK). Decoders give back each sample exactly.
inline std::vector<std::uint8_t> jpeg_flat_blocks(int blocks_wide, int blocks_high, int components,
                                                  const std::vector<std::uint8_t>& blocks,
                                                  int adobe_transform = -1) {
  std::vector<std::uint8_t> out = {0xFF, 0xD8};
  auto segment = [&](std::uint8_t marker, const std::vector<std::uint8_t>& body) {
    out.push_back(0xFF);
    out.push_back(marker);
    out.push_back(static_cast<std::uint8_t>((body.size() + 2) >> 8));
    out.push_back(static_cast<std::uint8_t>(body.size() + 2));
    out.insert(out.end(), body.begin(), body.end());
  };
  if (adobe_transform >= 0)
    segment(0xEE, {'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, static_cast<std::uint8_t>(adobe_transform)});
  std::vector<std::uint8_t> quant(65, 1);
  quant[0] = 0;  // 8-bit table 0
  segment(0xDB, quant);
  std::vector<std::uint8_t> frame = {8, 0, static_cast<std::uint8_t>(blocks_high * 8), 0,
                                     static_cast<std::uint8_t>(blocks_wide * 8),
                                     static_cast<std::uint8_t>(components)};
  for (int c = 1; c <= components; ++c)
    for (std::uint8_t v : {static_cast<std::uint8_t>(c), std::uint8_t(0x11), std::uint8_t(0)}) frame.push_back(v);
  segment(0xC0, frame);
  std::vector<std::uint8_t> dc = {0x00, 0, 0, 0, 12};  // DC table 0: categories 0..11, 4-bit codes
  dc.resize(17, 0);
  for (int i = 0; i < 12; ++i) dc.push_back(static_cast<std::uint8_t>(i));
  segment(0xC4, dc);
  std::vector<std::uint8_t> ac = {0x10, 1};  // AC table 0: only end-of-block, code "0"
  ac.resize(17, 0);
  ac.push_back(0);
  segment(0xC4, ac);
  std::vector<std::uint8_t> scan = {static_cast<std::uint8_t>(components)};
  for (int c = 1; c <= components; ++c) {
    scan.push_back(static_cast<std::uint8_t>(c));
    scan.push_back(0);
  }
  for (std::uint8_t v : {0, 63, 0}) scan.push_back(v);
  segment(0xDA, scan);
  std::uint32_t bits = 0;
  int count = 0;
  auto put_bits = [&](std::uint32_t value, int n) {
    for (int i = n - 1; i >= 0; --i) {
      bits = (bits << 1) | ((value >> i) & 1);
      if (++count == 8) {
        out.push_back(static_cast<std::uint8_t>(bits));
        if (bits == 0xFF) out.push_back(0);  // byte stuffing
        bits = 0;
        count = 0;
      }
    }
  };
  std::vector<int> previous(static_cast<std::size_t>(components), 0);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const std::size_t c = i % static_cast<std::size_t>(components);
    const int coefficient = (int(blocks[i]) - 128) * 8;  // a flat block of v has DC 8 * (v - 128)
    const int diff = coefficient - previous[c];
    previous[c] = coefficient;
    int category = 0;
    while ((std::abs(diff) >> category) != 0) ++category;
    put_bits(static_cast<std::uint32_t>(category), 4);
    if (category) put_bits(static_cast<std::uint32_t>(diff > 0 ? diff : diff + (1 << category) - 1), category);
    put_bits(0, 1);  // end of block
  }
  if (count) put_bits(0x7F, 8 - count);  // pad with ones
  out.push_back(0xFF);
  out.push_back(0xD9);
  return out;
}

}  // namespace testing
}  // namespace mobilenet

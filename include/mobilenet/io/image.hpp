// SPDX-License-Identifier: MIT
#pragma once
// Decodes JPEG, PNG and BMP files into 8-bit RGB with stb_image (Debian: libstb-dev; CMake's
// target mobilenet::image adds its directory to the include path).
//
// How stb_image is compiled: this header defines STB_IMAGE_STATIC and STB_IMAGE_IMPLEMENTATION
// itself, so every translation unit that includes it gets a private (internal-linkage) copy of
// the decoder. An app therefore needs no "define the implementation in exactly one .cpp" step,
// and its own use of stb_image elsewhere cannot clash with ours at link time. The cost is
// compile time and ~100 KB of code per including .cpp, which is why this header is not part of
// mobilenet.hpp. Only the JPEG, PNG and BMP decoders are compiled (less code, less to fuzz).
// A .cpp that includes stb_image.h itself must include this header first (checked below).

#include <climits>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <memory>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/io/file.hpp"
#include "mobilenet/io/rgb_image.hpp"

#if defined(STBI_INCLUDE_STB_IMAGE_H) && !defined(MOBILENET_STB_IMAGE_INCLUDED)
#error "include <mobilenet/io/image.hpp> before stb_image.h: it compiles its own static copy"
#endif
#ifndef MOBILENET_STB_IMAGE_INCLUDED
#define MOBILENET_STB_IMAGE_INCLUDED
#if !defined(__has_include) || __has_include(<stb_image.h>)
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO  // files are read here, with a size limit, then decoded from memory
#include <stb_image.h>
#undef STB_IMAGE_IMPLEMENTATION
#else
#error "mobilenet/io/image.hpp needs stb_image.h (Debian: libstb-dev; link mobilenet::image)"
#endif
#endif

namespace mobilenet {
namespace io {

// Decoding allocates width x height x 3 bytes (plus the decoder's own buffers of similar size),
// so the pixel count is checked against a limit from the header before anything is decoded.
// 1 << 28 pixels (a 16384 x 16384 photo) is far beyond any camera picture and still fits.
inline constexpr Index kMaxImagePixels = Index(1) << 28;
// stb_image takes the encoded size as an int.
inline constexpr std::size_t kMaxImageFileBytes = std::size_t(INT_MAX);

namespace image_detail {

// Where a JPEG's data starts after its SOI marker, or 0 when the file does not start with
// one. Like stb_image, this accepts fill bytes: FF FF ... FF D8.
inline std::size_t jpeg_after_soi(const std::uint8_t* data, std::size_t size) {
  if (size < 2 || data[0] != 0xFF) return 0;
  std::size_t pos = 1;
  while (pos < size && data[pos] == 0xFF) ++pos;
  return pos < size && data[pos] == 0xD8 ? pos + 1 : 0;
}

// The container a file's first bytes announce: "JPEG", "PNG", "BMP", or "" for none of them.
inline const char* image_signature(const std::uint8_t* data, std::size_t size) {
  if (jpeg_after_soi(data, size)) return "JPEG";
  if (size >= 8 && data[0] == 0x89 && data[1] == 'P' && data[2] == 'N' && data[3] == 'G') return "PNG";
  if (size >= 2 && data[0] == 'B' && data[1] == 'M') return "BMP";
  return "";
}

// True when a PNG or BMP header declares a zero width or height: stb_image rejects such a
// file with only "unknown image type", and the user deserves to hear what is wrong.
inline bool declares_no_pixels(const std::uint8_t* data, std::size_t size) {
  const std::string kind = image_signature(data, size);
  auto be32 = [&](std::size_t at) {
    return (std::uint32_t(data[at]) << 24) | (std::uint32_t(data[at + 1]) << 16) |
           (std::uint32_t(data[at + 2]) << 8) | std::uint32_t(data[at + 3]);
  };
  auto le32 = [&](std::size_t at) {
    return std::uint32_t(data[at]) | (std::uint32_t(data[at + 1]) << 8) |
           (std::uint32_t(data[at + 2]) << 16) | (std::uint32_t(data[at + 3]) << 24);
  };
  if (kind == "PNG" && size >= 24) return be32(16) == 0 || be32(20) == 0;       // IHDR width, height
  if (kind == "BMP" && size >= 26) return le32(18) == 0 || le32(22) == 0;       // BITMAPINFOHEADER
  return false;
}

// False when a JPEG defines a Huffman table that stb_image 2.27 (Debian 12's libstb) would
// overflow: more than 256 symbols, or more codes of a length than the length allows. stb
// writes the symbols into a 256-entry array before checking (fixed upstream in 2.28), so such
// tables are refused here, in every DHT segment of the file (progressive JPEGs put some
// between scans). Other malformations are left to stb, which reports them.
inline bool jpeg_huffman_tables_safe(const std::uint8_t* data, std::size_t size) {
  // Walks the markers as stb_image does: bytes between segments that are not 0xFF are skipped
  // one by one, a DHT segment's tables are read until its length is used up (reading past the
  // segment, or as zeros past the end of the file, as stb would), and after a scan (SOS) the
  // entropy-coded data runs to the next marker that is not a restart.
  auto byte = [&](std::size_t at) -> std::size_t { return at < size ? data[at] : 0; };
  std::size_t pos = jpeg_after_soi(data, size);
  if (pos == 0) return true;  // not a JPEG
  while (pos + 1 < size) {
    if (data[pos] != 0xFF) {
      ++pos;
      continue;
    }
    while (pos + 1 < size && data[pos + 1] == 0xFF) ++pos;  // fill bytes
    if (pos + 1 >= size) return true;
    const std::size_t marker = data[pos + 1];
    pos += 2;
    if (marker == 0xD9) return true;                                     // EOI
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no length
    const std::size_t length = (byte(pos) << 8) | byte(pos + 1);
    if (length < 2) return true;  // stb fails on it
    if (marker == 0xC4) {  // DHT: tables of [class/id, 16 counts, symbols]
      long remaining = static_cast<long>(length) - 2;
      std::size_t table = pos + 2;
      while (remaining > 0) {
        std::size_t symbols = 0, codes = 0;
        for (std::size_t bits = 1; bits <= 16; ++bits) {
          const std::size_t count = byte(table + bits);
          symbols += count;
          codes = (codes << 1) + count;  // codes of this length and shorter, as stb counts them
          if (codes > (std::size_t(1) << bits)) return false;
        }
        if (symbols > 256) return false;
        table += 17 + symbols;
        remaining -= static_cast<long>(17 + symbols);
      }
      if (remaining < 0) return true;  // stb fails on it, after building the tables checked above
      pos = table;
      continue;
    }
    pos += length;
    if (marker == 0xDA) {  // SOS: skip the entropy-coded data up to the next real marker
      while (pos + 1 < size &&
             !(data[pos] == 0xFF && data[pos + 1] != 0 && !(data[pos + 1] >= 0xD0 && data[pos + 1] <= 0xD7)))
        ++pos;
    }
  }
  return true;
}

// False when a PNG chunk declares more bytes than the file has left. stb_image grows its
// compressed-data buffer to a chunk's declared length before reading it, so a 50-byte file
// could make it allocate 2 GB; a real PNG's chunks always fit in the file.
inline bool png_chunks_fit(const std::uint8_t* data, std::size_t size) {
  if (std::string(image_signature(data, size)) != "PNG") return true;
  for (std::size_t pos = 8; pos + 8 <= size;) {
    const std::size_t length = (std::size_t(data[pos]) << 24) | (std::size_t(data[pos + 1]) << 16) |
                               (std::size_t(data[pos + 2]) << 8) | std::size_t(data[pos + 3]);
    if (length > size - pos - 8) return false;
    if (data[pos + 4] == 'I' && data[pos + 5] == 'E' && data[pos + 6] == 'N' && data[pos + 7] == 'D')
      return true;
    pos += 8 + length + 4;  // length, type, data, CRC
  }
  return true;
}

}  // namespace image_detail

// The functions that call stb_image have internal linkage (an unnamed namespace), like the
// stb_image copy they call: an inline function shared across translation units must mean the
// same thing in each, and each unit's stb_image is its own.
namespace {

// Decodes an encoded JPEG, PNG or BMP held in memory; `source` names it in error messages.
// Grey and grey+alpha become RGB; an alpha channel is dropped (not composited).
// out: height x width x 3 (uint8 RGB). Throws FormatError for empty input, data that is not
// a supported image, a 0 x 0 image, or one of more than `max_pixels` pixels.
inline Image decode_image(const std::uint8_t* data, std::size_t size, const std::string& source,
                          Index max_pixels = kMaxImagePixels) {
  if (size == 0) throw FormatError(source + ": empty file, expected a JPEG, PNG or BMP image");
  if (size > kMaxImageFileBytes)
    throw FormatError(detail::concat(source, ": ", size, " bytes is larger than the ",
                                     kMaxImageFileBytes, " bytes an image may have"));
  if (!image_detail::png_chunks_fit(data, size))
    throw FormatError(source + ": truncated or corrupt PNG image (a chunk is longer than the file)");
  if (!image_detail::jpeg_huffman_tables_safe(data, size))
    throw FormatError(source + ": corrupt JPEG image (a Huffman table has too many codes)");
  const int length = static_cast<int>(size);
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(data, length, &width, &height, &channels)) {
    const std::string kind = image_detail::image_signature(data, size);
    if (image_detail::declares_no_pixels(data, size))
      throw FormatError(source + ": " + kind + " image has 0 pixels (width or height is 0)");
    if (kind.empty())
      throw FormatError(source + ": not a JPEG, PNG or BMP image (unknown signature)");
    throw FormatError(detail::concat(source, ": corrupt or unsupported ", kind,
                                     " image (stb_image: ", stbi_failure_reason(), ")"));
  }
  if (width <= 0 || height <= 0)
    throw FormatError(detail::concat(source, ": image has ", width, " x ", height,
                                     " pixels, expected at least 1 x 1"));
  if (Index(width) * Index(height) > max_pixels)
    throw FormatError(detail::concat(source, ": image of ", width, " x ", height, " = ",
                                     Index(width) * Index(height), " pixels exceeds the limit of ",
                                     max_pixels, " pixels"));
  std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
      stbi_load_from_memory(data, length, &width, &height, &channels, 3), stbi_image_free);
  if (!decoded)
    throw FormatError(detail::concat(source, ": cannot decode the ", width, " x ", height,
                                     " image (stb_image: ", stbi_failure_reason(), ")"));
  Image image;
  image.width = width;
  image.height = height;
  image.pixels.assign(decoded.get(), decoded.get() + std::size_t(width) * std::size_t(height) * 3);
  return image;
}

inline Image decode_image(const std::vector<std::uint8_t>& bytes, const std::string& source,
                          Index max_pixels = kMaxImagePixels) {
  return decode_image(bytes.data(), bytes.size(), source, max_pixels);
}

// Reads and decodes an image file. out: height x width x 3 (uint8 RGB).
// Throws FormatError naming the file when it cannot be read or is not a usable image.
inline Image load_image(const std::string& path, Index max_pixels = kMaxImagePixels) {
  return decode_image(read_file(path, kMaxImageFileBytes, "image file"), path, max_pixels);
}

}  // namespace

}  // namespace io
}  // namespace mobilenet

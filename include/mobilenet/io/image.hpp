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

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
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

namespace mobilenet {
namespace io {
namespace detail {
using mobilenet::detail::concat;  // io::detail would otherwise hide these
using mobilenet::detail::shape_to_string;

// stb_image's allocations go through these, so that one decode can be held to a budget of
// bytes (ImageLimits::max_decoder_bytes): a file whose compressed data expands beyond what its
// header promises (a zlib bomb) fails with "outofmem" instead of taking the machine's memory.
// Each block carries its size in a 16-byte prefix. With no budget set, nothing is limited.
struct DecoderBudget {
  std::size_t limit = 0;
  std::size_t used = 0;
  bool exceeded = false;
};
inline thread_local DecoderBudget* decoder_budget = nullptr;
inline constexpr std::size_t kBlockPrefix = 16;

inline void* budget_malloc(std::size_t size) {
  DecoderBudget* budget = decoder_budget;
  if (budget && (size > budget->limit || budget->used > budget->limit - size)) {
    budget->exceeded = true;
    return nullptr;
  }
  if (size > SIZE_MAX - kBlockPrefix) return nullptr;
  auto* block = static_cast<unsigned char*>(std::malloc(size + kBlockPrefix));
  if (!block) return nullptr;
  std::memcpy(block, &size, sizeof size);
  if (budget) budget->used += size;
  return block + kBlockPrefix;
}

inline std::size_t block_size(void* p) {
  std::size_t size = 0;
  std::memcpy(&size, static_cast<unsigned char*>(p) - kBlockPrefix, sizeof size);
  return size;
}

inline void budget_free(void* p) {
  if (!p) return;
  if (decoder_budget) decoder_budget->used -= std::min(decoder_budget->used, block_size(p));
  std::free(static_cast<unsigned char*>(p) - kBlockPrefix);
}

// A new block, the contents copied, the old one freed: both count while they coexist.
inline void* budget_realloc(void* p, std::size_t size) {
  if (!p) return budget_malloc(size);
  void* grown = budget_malloc(size);
  if (!grown) return nullptr;
  const std::size_t old_size = block_size(p);
  std::memcpy(grown, p, old_size < size ? old_size : size);
  budget_free(p);
  return grown;
}

}  // namespace detail
}  // namespace io
}  // namespace mobilenet

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
#define STBI_MALLOC(size) ::mobilenet::io::detail::budget_malloc(size)
#define STBI_REALLOC(p, size) ::mobilenet::io::detail::budget_realloc(p, size)
#define STBI_FREE(p) ::mobilenet::io::detail::budget_free(p)
#include <stb_image.h>
#undef STB_IMAGE_IMPLEMENTATION
#undef STBI_MALLOC
#undef STBI_REALLOC
#undef STBI_FREE
#else
#error "mobilenet/io/image.hpp needs stb_image.h (Debian: libstb-dev; link mobilenet::image)"
#endif
#endif

namespace mobilenet {
namespace io {

// Default limits of decode_image and load_image (ImageLimits). Under them, reading and decoding
// any file peaks below 1 GB: the file (<= 160 MiB), stb_image's buffers (<= 512 MiB, which hold
// the decoded image) and the returned copy of the RGB pixels (<= 96 MiB).
// 2^25 pixels: a 24-megapixel photo (6000 x 4000) fits, with room to spare.
inline constexpr Index kMaxImagePixels = Index(1) << 25;
// An uncompressed 32-bit BMP or 8-bit RGBA PNG of 2^25 pixels is just over 128 MiB.
inline constexpr std::size_t kMaxImageFileBytes = std::size_t(160) << 20;
// A progressive JPEG of 2^25 pixels needs ~12 bytes a pixel (coefficients, samples, output), a
// 16-bit RGBA PNG ~16; the budget fits the first at the pixel limit, the second up to 2^24.5.
inline constexpr std::size_t kMaxImageDecoderBytes = std::size_t(512) << 20;
// Each JPEG scan is a pass over the image: libjpeg's progressive files have 10, so 64 is ample,
// and bounds the time a small file declaring thousands of scans could cost.
inline constexpr int kMaxJpegScans = 64;
// stb_image's own limits: the encoded size is an int, and no side may exceed 2^24 pixels.
inline constexpr std::size_t kStbMaxFileBytes = std::size_t(INT_MAX);
inline constexpr Index kStbMaxSide = Index(1) << 24;

// What one image may cost; every refusal names the field to raise. Pass a copy with a field
// changed to decode_image or load_image to accept bigger images.
struct ImageLimits {
  Index max_pixels = kMaxImagePixels;                     // width x height
  std::size_t max_file_bytes = kMaxImageFileBytes;        // the encoded file
  std::size_t max_decoder_bytes = kMaxImageDecoderBytes;  // stb_image's buffers at any moment
  int max_jpeg_scans = kMaxJpegScans;                     // SOS segments in a JPEG
};

namespace detail {

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
  if (size >= 4 && data[0] == 0x89 && data[1] == 'P' && data[2] == 'N' && data[3] == 'G') return "PNG";
  if (size >= 2 && data[0] == 'B' && data[1] == 'M') return "BMP";
  return "";
}

inline std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t(p[0]) << 8) | p[1]; }
inline std::uint32_t be32(const std::uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
inline std::uint32_t le16(const std::uint8_t* p) { return (std::uint32_t(p[1]) << 8) | p[0]; }
inline std::uint32_t le32(const std::uint8_t* p) { return (le16(p + 2) << 16) | le16(p); }

// The size a header declares, checked before anything is decoded: at least 1 x 1, within
// stb_image's 2^24 a side, and within limits.max_pixels.
inline void check_dimensions(const std::string& source, const char* kind, std::int64_t width,
                             std::int64_t height, const ImageLimits& limits) {
  if (width <= 0 || height <= 0)
    throw FormatError(detail::concat(source, ": ", kind, " image has 0 pixels (it declares ", width,
                                     " x ", height, "), expected at least 1 x 1"));
  if (width > kStbMaxSide || height > kStbMaxSide)
    throw FormatError(detail::concat(source, ": ", kind, " image of ", width, " x ", height,
                                     " pixels is too large: the decoder (stb_image) takes at most ",
                                     kStbMaxSide, " pixels a side"));
  if (width * height > limits.max_pixels)
    throw FormatError(detail::concat(
        source, ": image of ", width, " x ", height, " = ", width * height,
        " pixels exceeds the limit of ", limits.max_pixels,
        " pixels (raise io::ImageLimits::max_pixels to decode it)"));
}

[[noreturn]] inline void truncated(const std::string& source, const char* kind, const std::string& why) {
  throw FormatError(detail::concat(source, ": truncated ", kind, " image (", why, ")"));
}

// BMP: a file header, an info header of a size stb_image knows, then the pixel rows at the
// offset the file header gives, each padded to 4 bytes; all of them must be in the file.
inline void check_bmp(const std::uint8_t* data, std::size_t size, const std::string& source,
                      const ImageLimits& limits) {
  if (size < 18) truncated(source, "BMP", "the header is cut short");
  const std::uint32_t offset = le32(data + 10), header = le32(data + 14);
  if (header != 12 && header != 40 && header != 56 && header != 108 && header != 124)
    throw FormatError(detail::concat(source, ": unsupported BMP image (an info header of ", header,
                                     " bytes; supported: 12, 40, 56, 108, 124)"));
  if (size < 14 + std::size_t(header)) truncated(source, "BMP", "the header is cut short");
  std::int64_t width = 0, height = 0;
  std::uint32_t bpp = 0, compression = 0;
  if (header == 12) {  // OS/2: 16-bit unsigned sizes, rows bottom-up
    width = le16(data + 18);
    height = le16(data + 20);
    bpp = le16(data + 24);
  } else {  // a negative height means rows top-down
    width = std::int32_t(le32(data + 18));
    height = std::int32_t(le32(data + 22));
    bpp = le16(data + 28);
    compression = le32(data + 30);
  }
  if (compression == 1 || compression == 2)
    throw FormatError(source + ": unsupported BMP image (RLE compression)");
  if (compression > 3)
    throw FormatError(detail::concat(source, ": unsupported BMP image (compression ", compression,
                                     ": embedded JPEG/PNG or unknown)"));
  if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)
    throw FormatError(detail::concat(source, ": unsupported BMP image (", bpp,
                                     " bits a pixel; supported: 1, 4, 8, 16, 24, 32)"));
  if (width < 0) throw FormatError(detail::concat(source, ": corrupt BMP image (width ", width, ")"));
  check_dimensions(source, "BMP", width, height < 0 ? -height : height, limits);
  if (offset < 14 + header)
    throw FormatError(detail::concat(source, ": corrupt BMP image (pixel data at byte ", offset,
                                     ", inside the ", 14 + header, "-byte header)"));
  const std::uint64_t row = (std::uint64_t(width) * bpp + 31) / 32 * 4;
  const std::uint64_t needed = std::uint64_t(offset) + row * std::uint64_t(height < 0 ? -height : height);
  if (needed > size)
    truncated(source, "BMP", detail::concat("its pixels need ", needed, " bytes, the file has ", size));
}

// PNG: chunks (length, type, data, CRC) from the signature to IEND, each whole in the file;
// IHDR's size is checked as soon as it is read. stb_image grows its buffer to a chunk's
// declared length before reading it, so a chunk longer than the file is refused here.
inline void check_png(const std::uint8_t* data, std::size_t size, const std::string& source,
                      const ImageLimits& limits) {
  static const std::uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (size < 8) truncated(source, "PNG", "the signature is cut short");
  if (std::memcmp(data, signature, 8) != 0)
    throw FormatError(source + ": corrupt PNG image (bad signature)");
  bool header = false, pixels = false;
  for (std::size_t pos = 8;;) {
    if (size - pos < 8) truncated(source, "PNG", pos == size ? "no IEND chunk" : "a chunk header is cut short");
    const std::size_t length = be32(data + pos);
    const std::string type(reinterpret_cast<const char*>(data + pos + 4), 4);
    if (length > size - pos - 8 || size - pos - 8 - length < 4)
      truncated(source, "PNG", detail::concat("a chunk is longer than the file: '", type, "' of ",
                                              length, " bytes at byte ", pos));
    const std::uint8_t* chunk = data + pos + 8;
    if (type == "IHDR") {
      if (length < 8) throw FormatError(source + ": corrupt PNG image (IHDR chunk too short)");
      check_dimensions(source, "PNG", be32(chunk), be32(chunk + 4), limits);
      header = true;
    } else if (type == "IDAT") {
      pixels = true;
    } else if (type == "IEND") {
      if (!header) throw FormatError(source + ": corrupt PNG image (no IHDR chunk)");
      if (!pixels) throw FormatError(source + ": corrupt PNG image (no IDAT chunk: no pixel data)");
      return;
    }
    pos += 8 + length + 4;
  }
}

// Refuses a DHT segment's table that stb_image 2.27 (Debian 12's libstb) would overflow: more
// than 256 symbols, or more codes of a length than the length allows. stb writes the symbols
// into a 256-entry array before checking (fixed upstream in 2.28). `table` points past the
// segment's length; the segment is whole in the file.
// Returns the tables it defines: bit Th for a DC table (class 0), bit 4 + Th for an AC table.
inline unsigned check_jpeg_huffman(const std::uint8_t* data, std::size_t size, std::size_t table,
                                   std::size_t length, const std::string& source) {
  // Tables are read until the length is used up, past the segment (or as zeros past the end of
  // the file) as stb would.
  auto byte = [&](std::size_t at) -> std::size_t { return at < size ? data[at] : 0; };
  long remaining = static_cast<long>(length) - 2;
  unsigned defined = 0;
  while (remaining > 0) {
    const std::size_t class_and_id = byte(table);
    if ((class_and_id >> 4) > 1 || (class_and_id & 15) > 3)
      throw FormatError(source + ": corrupt JPEG image (a Huffman table of an unknown class or number)");
    defined |= 1u << ((class_and_id >> 4) * 4 + (class_and_id & 15));
    std::size_t symbols = 0, codes = 0;
    for (std::size_t bits = 1; bits <= 16; ++bits) {
      const std::size_t count = byte(table + bits);
      symbols += count;
      codes = (codes << 1) + count;  // codes of this length and shorter, as stb counts them
      if (codes > (std::size_t(1) << bits) || symbols > 256)
        throw FormatError(source + ": corrupt JPEG image (a Huffman table has too many codes)");
    }
    table += 17 + symbols;
    remaining -= static_cast<long>(17 + symbols);
  }
  if (remaining < 0)
    throw FormatError(source + ": corrupt JPEG image (a Huffman table runs past its segment)");
  return defined;
}

// A scan (SOS segment at `at`, `length` bytes, whole in the file) may only use Huffman tables
// (bits as check_jpeg_huffman returns them) and quantization tables (bit Tq) defined before it:
// stb_image 2.27 decodes with whatever its tables' memory held, and an undefined Huffman table
// sends it reading far out of bounds. `frame_tq[c]` is the quantization table of component id
// c in the frame header, -1 for a component the frame does not have.
inline void check_jpeg_scan(const std::uint8_t* data, std::size_t at, std::size_t length, unsigned huffman,
                            unsigned quantization, const int (&frame_tq)[256], const std::string& source) {
  const std::size_t components = length >= 3 ? data[at + 2] : 0;
  if (components == 0 || components > 4 || length < 6 + 2 * components)
    throw FormatError(source + ": corrupt JPEG image (a scan header of the wrong length)");
  const std::size_t tail = at + 3 + 2 * components;
  const unsigned spectral_start = data[tail], spectral_end = data[tail + 1], refining = data[tail + 2] >> 4;
  for (std::size_t i = 0; i < components; ++i) {
    const int tq = frame_tq[data[at + 3 + 2 * i]];
    const unsigned dc = data[at + 4 + 2 * i] >> 4, ac = data[at + 4 + 2 * i] & 15;
    if (tq < 0) throw FormatError(source + ": corrupt JPEG image (a scan names a component the frame does not have)");
    const bool dc_coded = spectral_start == 0 && refining == 0, ac_coded = spectral_end > 0;
    if (!(quantization >> tq & 1) || (dc_coded && (dc > 3 || !(huffman >> dc & 1))) ||
        (ac_coded && (ac > 3 || !(huffman >> (4 + ac) & 1))))
      throw FormatError(source + ": corrupt JPEG image (a scan uses a table that was never defined)");
  }
}

// Returns the quantization tables a DQT segment defines (bit Tq); `table` points past its length.
inline unsigned check_jpeg_quantization(const std::uint8_t* data, std::size_t table, std::size_t length,
                                        const std::string& source) {
  unsigned defined = 0;
  for (std::size_t used = 2; used < length;) {
    const unsigned precision = data[table] >> 4, id = data[table] & 15;
    const std::size_t bytes = 1 + 64 * (precision + 1);
    if (precision > 1 || id > 3 || used + bytes > length)
      throw FormatError(source + ": corrupt JPEG image (a quantization table)");
    defined |= 1u << id;
    table += bytes;
    used += bytes;
  }
  return defined;
}

// JPEG: markers from SOI to EOI, walked as stb_image does (bytes between segments that are not
// 0xFF are skipped; after a scan, the entropy-coded data runs to the next marker that is not a
// restart). Every segment must be whole in the file and the file must reach EOI: stb_image
// would decode missing data as zeros. The frame header (SOF) is checked for a coding stb
// supports and for its size; the scans are counted against limits.max_jpeg_scans.
inline void check_jpeg(const std::uint8_t* data, std::size_t size, const std::string& source,
                       const ImageLimits& limits) {
  bool frame = false;
  int scans = 0;
  unsigned huffman = 0, quantization = 0;  // the tables defined so far
  int frame_tq[256];
  for (int& tq : frame_tq) tq = -1;
  std::size_t pos = jpeg_after_soi(data, size);
  for (;;) {
    while (pos < size && data[pos] != 0xFF) ++pos;
    while (pos + 1 < size && data[pos + 1] == 0xFF) ++pos;  // fill bytes
    if (pos + 1 >= size) truncated(source, "JPEG", "no end-of-image marker");
    const std::uint32_t marker = data[pos + 1];
    pos += 2;
    if (marker == 0xD9) {  // EOI
      if (!frame || scans == 0)
        throw FormatError(source + ": corrupt JPEG image (it ends before any image data)");
      return;
    }
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no length
    if (size - pos < 2) truncated(source, "JPEG", "a segment is cut short");
    const std::size_t length = be16(data + pos);
    if (length < 2)
      throw FormatError(detail::concat(source, ": corrupt JPEG image (a segment of length ", length, ")"));
    if (length > size - pos) truncated(source, "JPEG", "a segment runs past the end of the file");
    if (marker == 0xC4) huffman |= check_jpeg_huffman(data, size, pos + 2, length, source);
    if (marker == 0xDB) quantization |= check_jpeg_quantization(data, pos + 2, length, source);
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      if (marker > 0xC2)
        throw FormatError(detail::concat(
            source, ": unsupported JPEG image (frame type SOF", marker - 0xC0,
            marker == 0xC3 || marker == 0xC7 || marker == 0xCB || marker == 0xCF ? ": lossless"
            : marker >= 0xC9 ? ": arithmetic coding" : ": hierarchical",
            "; supported: baseline and progressive Huffman)"));
      if (length < 8) throw FormatError(source + ": corrupt JPEG image (frame header too short)");
      if (data[pos + 2] != 8)
        throw FormatError(detail::concat(source, ": unsupported JPEG image (", int(data[pos + 2]),
                                         "-bit samples; supported: 8)"));
      if (!frame) {
        check_dimensions(source, "JPEG", be16(data + pos + 5), be16(data + pos + 3), limits);
        const std::size_t components = data[pos + 7];
        if (length < 8 + 3 * components)
          throw FormatError(source + ": corrupt JPEG image (frame header too short for its components)");
        for (std::size_t i = 0; i < components; ++i) frame_tq[data[pos + 8 + 3 * i]] = data[pos + 10 + 3 * i] & 3;
      }
      frame = true;
    }
    if (marker == 0xDA) check_jpeg_scan(data, pos, length, huffman, quantization, frame_tq, source);
    pos += length;
    if (marker == 0xDA) {  // SOS: skip the entropy-coded data up to the next real marker
      if (++scans > limits.max_jpeg_scans)
        throw FormatError(detail::concat(
            source, ": JPEG image has more than the limit of ", limits.max_jpeg_scans,
            " scans (each one a pass over the image; raise io::ImageLimits::max_jpeg_scans to decode it)"));
      while (pos + 1 < size &&
             !(data[pos] == 0xFF && data[pos + 1] != 0 && data[pos + 1] != 0xFF &&
               !(data[pos + 1] >= 0xD0 && data[pos + 1] <= 0xD7)))
        ++pos;
    }
  }
}

}  // namespace detail

// The functions that call stb_image have internal linkage (an unnamed namespace), like the
// stb_image copy they call: an inline function shared across translation units must mean the
// same thing in each, and each unit's stb_image is its own.
namespace {

// Decodes an encoded JPEG, PNG or BMP held in memory; `source` names it in error messages.
// Grey, grey+alpha, palette, 16-bit and CMYK/YCCK (Adobe) images become 8-bit RGB; an alpha
// channel is dropped (not composited). BMP rows may be stored bottom-up or top-down.
// out: height x width x 3 (uint8 RGB). Throws FormatError, its message starting with `source`,
// for data that is not a supported image, a truncated file (any byte missing, including a
// JPEG's end-of-image marker), 0 pixels, or an image over one of `limits`.
inline Image decode_image(const std::uint8_t* data, std::size_t size, const std::string& source,
                          const ImageLimits& limits) {
  if (size == 0) throw FormatError(source + ": empty file, expected a JPEG, PNG or BMP image");
  const std::size_t max_bytes = std::min(limits.max_file_bytes, kStbMaxFileBytes);
  if (size > max_bytes)
    throw FormatError(detail::concat(source, ": image file of ", size, " bytes exceeds the limit of ",
                                     max_bytes, " bytes",
                                     max_bytes == limits.max_file_bytes
                                         ? " (raise io::ImageLimits::max_file_bytes to decode it)"
                                         : " (stb_image's)"));
  const std::string kind = detail::image_signature(data, size);
  if (kind == "JPEG") detail::check_jpeg(data, size, source, limits);
  else if (kind == "PNG") detail::check_png(data, size, source, limits);
  else if (kind == "BMP") detail::check_bmp(data, size, source, limits);
  else throw FormatError(source + ": not a JPEG, PNG or BMP image (unknown signature)");

  detail::DecoderBudget budget;
  budget.limit = limits.max_decoder_bytes;
  struct Scope {  // the budget applies to this call only, also when stb fails
    detail::DecoderBudget* saved = detail::decoder_budget;
    ~Scope() { detail::decoder_budget = saved; }
  } scope;
  detail::decoder_budget = &budget;
  int width = 0, height = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
      stbi_load_from_memory(data, static_cast<int>(size), &width, &height, &channels, 3), stbi_image_free);
  if (!decoded) {
    if (budget.exceeded)
      throw FormatError(detail::concat(
          source, ": decoding the ", kind, " image needs more than the limit of ",
          limits.max_decoder_bytes,
          " bytes of decoder memory (raise io::ImageLimits::max_decoder_bytes to decode it)"));
    const char* reason = stbi_failure_reason();
    if (reason && std::string(reason) == "too large")
      throw FormatError(detail::concat(source, ": ", kind, " image is too large for the decoder (stb_image: ",
                                       reason, ")"));
    throw FormatError(detail::concat(source, ": corrupt or unsupported ", kind, " image (stb_image: ",
                                     reason && *reason ? reason : "no reason given", ")"));
  }
  Image image;
  image.width = width;
  image.height = height;
  image.pixels.assign(decoded.get(), decoded.get() + std::size_t(width) * std::size_t(height) * 3);
  return image;
}

// The same with the default limits but for the pixel count (the original signature).
inline Image decode_image(const std::uint8_t* data, std::size_t size, const std::string& source,
                          Index max_pixels = kMaxImagePixels) {
  ImageLimits limits;
  limits.max_pixels = max_pixels;
  return decode_image(data, size, source, limits);
}

inline Image decode_image(const std::vector<std::uint8_t>& bytes, const std::string& source,
                          const ImageLimits& limits) {
  return decode_image(bytes.data(), bytes.size(), source, limits);
}

inline Image decode_image(const std::vector<std::uint8_t>& bytes, const std::string& source,
                          Index max_pixels = kMaxImagePixels) {
  return decode_image(bytes.data(), bytes.size(), source, max_pixels);
}

// Reads and decodes an image file. out: height x width x 3 (uint8 RGB).
// Throws IoError when the file cannot be read, FormatError naming it when it is not a usable
// image or exceeds `limits` (the file's size is checked before it is read).
inline Image load_image(const std::string& path, const ImageLimits& limits) {
  const std::size_t max_bytes = std::min(limits.max_file_bytes, kStbMaxFileBytes);
  std::vector<std::uint8_t> bytes;
  try {
    bytes = read_file(path, max_bytes, "image file");
  } catch (const FormatError& error) {  // the size limit: say which one
    throw FormatError(std::string(error.what()) +
                      (max_bytes == limits.max_file_bytes
                           ? " (raise io::ImageLimits::max_file_bytes to read it)" : " (stb_image's)"));
  }
  return decode_image(bytes, path, limits);
}

inline Image load_image(const std::string& path, Index max_pixels = kMaxImagePixels) {
  ImageLimits limits;
  limits.max_pixels = max_pixels;
  return load_image(path, limits);
}

}  // namespace

}  // namespace io
}  // namespace mobilenet

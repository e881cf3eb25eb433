// SPDX-License-Identifier: MIT
#pragma once
// Reads the members of a zip archive that ends a byte buffer, as TFLite metadata appends one
// (holding labels.txt) after the flatbuffer. Only "stored" (uncompressed) members are
// extracted: the TFLite metadata writer stores them, and a header-only library cannot make
// its users link an inflater. Everything is bounds-checked; CRC-32 catches corrupted data.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/io/flatbuffer.hpp"

namespace mobilenet {
namespace io {

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflate
  std::uint32_t crc32 = 0;
  std::uint32_t compressed_size = 0;
  std::uint32_t size = 0;
  std::size_t local_header = 0;  // offset of the member's local header in the buffer
};

namespace detail {

constexpr std::uint32_t kZipEndSignature = 0x06054b50;
constexpr std::uint32_t kZipCentralSignature = 0x02014b50;
constexpr std::uint32_t kZipLocalSignature = 0x04034b50;
constexpr std::size_t kZipEndBytes = 22;
constexpr std::size_t kZipMaxComment = 65535;

inline std::uint32_t crc32(const std::uint8_t* data, std::size_t size) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

}  // namespace detail

// The archive's central directory, or an empty list when the buffer does not end with a zip
// archive. A directory that is present but damaged is a FormatError.
inline std::vector<ZipEntry> zip_entries(const FlatBuffer& bytes) {
  std::vector<ZipEntry> entries;
  if (bytes.size() < detail::kZipEndBytes) return entries;
  // The end record sits in the last 22 + (comment length) bytes; search backwards.
  std::size_t end = bytes.size() - detail::kZipEndBytes;
  const std::size_t lowest =
      end > detail::kZipMaxComment ? end - detail::kZipMaxComment : 0;
  for (;; --end) {
    if (bytes.read<std::uint32_t>(end, "zip end record") == detail::kZipEndSignature &&
        end + detail::kZipEndBytes + bytes.read<std::uint16_t>(end + 20, "zip comment length") ==
            bytes.size())
      break;
    if (end == lowest) return entries;
  }
  const std::uint16_t count = bytes.read<std::uint16_t>(end + 10, "zip entry count");
  const std::uint32_t directory_bytes = bytes.read<std::uint32_t>(end + 12, "zip directory size");
  const std::size_t recorded = bytes.read<std::uint32_t>(end + 16, "zip directory offset");
  if (directory_bytes > end) bytes.fail(end, "zip directory is larger than the data before it");
  // The directory ends where the end record starts. Offsets in an archive appended to other
  // data may count from the archive's own start: `shift` converts them to buffer offsets.
  const std::size_t directory = end - directory_bytes;
  if (recorded > directory)
    bytes.fail(end, detail::concat("zip directory offset ", recorded, " is past its end record"));
  const std::size_t shift = directory - recorded;
  std::size_t at = directory;
  for (std::uint16_t i = 0; i < count; ++i) {
    if (bytes.read<std::uint32_t>(at, "zip directory entry") != detail::kZipCentralSignature)
      bytes.fail(at, detail::concat("zip directory entry ", i, " has a bad signature"));
    ZipEntry entry;
    entry.method = bytes.read<std::uint16_t>(at + 10, "zip entry method");
    entry.crc32 = bytes.read<std::uint32_t>(at + 16, "zip entry CRC");
    entry.compressed_size = bytes.read<std::uint32_t>(at + 20, "zip entry size");
    entry.size = bytes.read<std::uint32_t>(at + 24, "zip entry size");
    const std::uint16_t name_bytes = bytes.read<std::uint16_t>(at + 28, "zip name length");
    const std::uint16_t extra_bytes = bytes.read<std::uint16_t>(at + 30, "zip extra length");
    const std::uint16_t comment_bytes = bytes.read<std::uint16_t>(at + 32, "zip comment length");
    const std::size_t local = bytes.read<std::uint32_t>(at + 42, "zip local header offset");
    bytes.require(at + 46, name_bytes, "zip entry name");
    entry.name.assign(reinterpret_cast<const char*>(bytes.data() + at + 46), name_bytes);
    if (local > bytes.size() - shift) bytes.fail(at, "zip entry's local header is out of range");
    entry.local_header = local + shift;
    entries.push_back(entry);
    at += 46 + std::size_t(name_bytes) + extra_bytes + comment_bytes;
  }
  return entries;
}

// The uncompressed bytes of a stored member, CRC-checked. A compressed member is a
// FormatError that says so.
inline std::vector<std::uint8_t> zip_extract(const FlatBuffer& bytes, const ZipEntry& entry) {
  if (entry.method != 0)
    bytes.fail(entry.local_header,
               detail::concat("zip member '", entry.name, "' is compressed (method ", entry.method,
                              "); only stored members can be read"));
  const std::size_t header = entry.local_header;
  if (bytes.read<std::uint32_t>(header, "zip local header") != detail::kZipLocalSignature)
    bytes.fail(header, detail::concat("zip member '", entry.name, "' has a bad local header"));
  const std::size_t data = header + 30 + bytes.read<std::uint16_t>(header + 26, "zip name length") +
                           bytes.read<std::uint16_t>(header + 28, "zip extra length");
  if (entry.size != entry.compressed_size)
    bytes.fail(header, detail::concat("stored zip member '", entry.name, "' has sizes ",
                                      entry.compressed_size, " and ", entry.size));
  bytes.require(data, entry.size, "zip member data");
  if (detail::crc32(bytes.data() + data, entry.size) != entry.crc32)
    bytes.fail(data, detail::concat("zip member '", entry.name, "' fails its CRC-32 check"));
  return std::vector<std::uint8_t>(bytes.data() + data, bytes.data() + data + entry.size);
}

}  // namespace io
}  // namespace mobilenet

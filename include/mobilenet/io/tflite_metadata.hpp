// SPDX-License-Identifier: MIT
#pragma once
// TFLite metadata: the zip archive a .tflite may carry after its FlatBuffer, and in it the
// labels file, one class name per line.

#include <cstdint>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/io/flatbuffer.hpp"
#include "mobilenet/io/zip.hpp"

namespace mobilenet {
namespace io {

namespace detail {

// Lines of a labels file: one label per line, "\r\n" or "\n", a final newline optional.
inline std::vector<std::string> metadata_label_lines(const std::vector<std::uint8_t>& bytes) {
  std::vector<std::string> lines;
  std::string line;
  for (std::uint8_t c : bytes) {
    if (c == '\n') {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
      line.clear();
    } else {
      line.push_back(static_cast<char>(c));
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

}  // namespace detail

// The labels file among the zip members appended to a .tflite (TFLite metadata), or empty when
// there is none. A labels file whose line count is not `classes` is a FormatError.
inline std::vector<std::string> tflite_labels(const std::uint8_t* data, std::size_t size,
                                              const std::string& source, Index classes) {
  const FlatBuffer fb(data, size, source);
  const std::vector<ZipEntry> entries = zip_entries(fb);
  const ZipEntry* chosen = nullptr;
  for (const ZipEntry& entry : entries) {
    const bool text = entry.name.size() > 4 && entry.name.compare(entry.name.size() - 4, 4, ".txt") == 0;
    if (text && entry.name.find("label") != std::string::npos) { chosen = &entry; break; }
    if (text && !chosen) chosen = &entry;
  }
  // Compressed members need an inflater this header-only library does not carry.
  if (!chosen || chosen->method != 0) return {};
  std::vector<std::string> labels = detail::metadata_label_lines(zip_extract(fb, *chosen));
  if (static_cast<Index>(labels.size()) != classes)
    throw FormatError(detail::concat(source, ": labels file '", chosen->name, "' in the metadata has ",
                                     labels.size(), " lines, the model has ", classes, " classes"));
  return labels;
}

}  // namespace io
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#pragma once
// Class labels: a text file with one label per line, in the order of the model's outputs.
// ImageNet label files come in two forms, 1000 lines (the classes) and 1001 lines ("background"
// first, as TF-slim and TFLite models number their outputs); either fits either model.

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/io/file.hpp"
#include "mobilenet/core/shape.hpp"

namespace mobilenet {
namespace io {

// A labels file larger than this is not a labels file (ImageNet's is 22 KB).
inline constexpr std::size_t kMaxLabelsFileBytes = std::size_t(16) << 20;

// Splits `text` into one label per line (LF or CRLF; trailing blank lines ignored) and fits it
// to a model of `num_classes` outputs, so that result[i] names output i:
//   - exactly num_classes lines: as they are;
//   - one line more: the first line is the background class the model lacks (a 1001-line
//     file for a 1000-class model: class i is line i + 1), and is dropped;
//   - one line fewer: the model has a background output 0 the file lacks (a 1000-line file
//     for a 1001-class model), named "background".
// Any other count throws FormatError naming `source`, the count and what was expected.
inline std::vector<std::string> parse_labels(const std::string& text, const std::string& source,
                                             Index num_classes) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().find_first_not_of(" \t") == std::string::npos)
    lines.pop_back();
  const Index count = static_cast<Index>(lines.size());
  if (count == num_classes + 1) lines.erase(lines.begin());
  else if (count + 1 == num_classes && num_classes > 1) lines.insert(lines.begin(), "background");
  else if (count != num_classes)
    throw FormatError(detail::concat(source, ": has ", count, " labels, expected ", num_classes,
                                     " for a model of ", num_classes, " classes (or ",
                                     num_classes + 1, " with 'background' first, or ",
                                     num_classes - 1, " without it)"));
  return lines;
}

// Reads a labels file and fits it to `num_classes` as parse_labels does.
inline std::vector<std::string> load_labels(const std::string& path, Index num_classes) {
  const std::vector<std::uint8_t> bytes = read_file(path, kMaxLabelsFileBytes, "labels file");
  return parse_labels(std::string(bytes.begin(), bytes.end()), path, num_classes);
}

}  // namespace io
}  // namespace mobilenet

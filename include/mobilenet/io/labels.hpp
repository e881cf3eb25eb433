// SPDX-License-Identifier: MIT
#pragma once
// Class labels: a text file with one label per line, in the order of the model's outputs.
// ImageNet label files come in two forms, 1000 lines (the classes) and 1001 lines ("background"
// first, as TF-slim and TFLite models number their outputs); either fits either model.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/io/file.hpp"
#include "mobilenet/io/utf8.hpp"

namespace mobilenet {
namespace io {

// A labels file larger than this is not a labels file (ImageNet's is 22 KB).
inline constexpr std::size_t kMaxLabelsFileBytes = std::size_t(16) << 20;

namespace detail {
using mobilenet::detail::concat;  // io::detail would otherwise hide these
using mobilenet::detail::shape_to_string;

// True when `label`, trimmed and in any case, is "background".
inline bool is_background(const std::string& label) {
  const std::size_t first = label.find_first_not_of(" \t");
  if (first == std::string::npos) return false;
  const std::size_t last = label.find_last_not_of(" \t");
  if (last - first + 1 != 10) return false;
  std::string word = label.substr(first, 10);
  for (char& c : word)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return word == "background";
}

}  // namespace detail

// Splits `text` (UTF-8, an optional byte-order mark skipped) into one label per line (LF or
// CRLF; trailing blank lines ignored) and fits it to a model of `num_classes` outputs, so that
// result[i] names output i:
//   - exactly num_classes lines: as they are;
//   - one line more, the first being "background": that is the background class the model
//     lacks (a 1001-line file for a 1000-class model: class i is line i + 1), and is dropped;
//   - one line fewer, the first not being "background": the model has a background output 0
//     the file lacks (a 1000-line file for a 1001-class model), named "background".
// Throws FormatError naming `source` for any other count, for one line more or fewer when the
// first line does not fit that reading (dropping or adding would shift every class by one),
// for an empty line before the last label, and for text that is not UTF-8 or holds a NUL byte
// (a binary or UTF-16 file), giving the line.
inline std::vector<std::string> parse_labels(const std::string& text, const std::string& source,
                                             Index num_classes) {
  std::size_t start = 0;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) start = 3;  // UTF-8 byte-order mark
  if (text.compare(0, 2, "\xFF\xFE") == 0 || text.compare(0, 2, "\xFE\xFF") == 0)
    throw FormatError(source + ": labels file is UTF-16 text, expected UTF-8 (one label per line)");
  std::vector<std::string> lines;
  for (std::size_t pos = start; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    for (std::size_t i = 0; i < line.size();) {
      const std::size_t length = line[i] == '\0' ? 0 : detail::utf8_sequence_length(
          reinterpret_cast<const std::uint8_t*>(line.data()) + i, line.size() - i);
      if (length == 0)
        throw FormatError(detail::concat(source, ": line ", lines.size() + 1,
                                         line[i] == '\0' ? " holds a NUL byte" : " is not valid UTF-8",
                                         ", expected a text file of labels"));
      i += length;
    }
    lines.push_back(line);
    pos = end + 1;
  }
  while (!lines.empty() && lines.back().find_first_not_of(" \t") == std::string::npos)
    lines.pop_back();
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i].find_first_not_of(" \t") == std::string::npos)
      throw FormatError(detail::concat(source, ": line ", i + 1,
                                       " is empty, expected one label per line (an empty line "
                                       "would shift every class after it)"));
  const Index count = static_cast<Index>(lines.size());
  const bool background_first = !lines.empty() && detail::is_background(lines.front());
  if (count == num_classes + 1 && background_first) {
    lines.erase(lines.begin());
  } else if (count + 1 == num_classes && num_classes > 1 && !background_first) {
    lines.insert(lines.begin(), "background");
  } else if (count == num_classes + 1 || (count + 1 == num_classes && num_classes > 1)) {
    throw FormatError(detail::concat(
        source, ": has ", count, " labels for a model of ", num_classes, " classes, and its first line is '",
        lines.front(), "': ",
        background_first ? "a file with 'background' first needs one line per class (is a line missing?)"
                         : "only a first line 'background' may be dropped (is a line extra?)"));
  } else if (count != num_classes) {
    throw FormatError(detail::concat(source, ": has ", count, " labels, expected ", num_classes,
                                     " for a model of ", num_classes, " classes (or ",
                                     num_classes + 1, " with 'background' first, or ",
                                     num_classes - 1, " without it)"));
  }
  return lines;
}

// Reads a labels file and fits it to `num_classes` as parse_labels does.
inline std::vector<std::string> load_labels(const std::string& path, Index num_classes) {
  const std::vector<std::uint8_t> bytes = read_file(path, kMaxLabelsFileBytes, "labels file");
  return parse_labels(std::string(bytes.begin(), bytes.end()), path, num_classes);
}

}  // namespace io
}  // namespace mobilenet

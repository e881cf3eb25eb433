// SPDX-License-Identifier: MIT
#pragma once
// Reading whole files: the one place where every loader opens a path.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "mobilenet/core/error.hpp"

namespace mobilenet {
namespace io {

// The bytes of the regular file at `path`, which may hold at most `max_bytes`; `what` names the
// kind of file in messages ("model file"). Nothing is allocated before the size is checked.
// Throws IoError when the path is missing, not a regular file or unreadable, and FormatError
// when the file is larger than `max_bytes`. Every message starts with `path`.
inline std::vector<std::uint8_t> read_file(const std::string& path, std::uint64_t max_bytes,
                                           const char* what = "file") {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  std::error_code link_error;
  if (status.type() == fs::file_type::not_found && fs::is_symlink(fs::symlink_status(path, link_error)))
    throw IoError(detail::concat(path, ": cannot open ", what, ": a symbolic link to a missing file"));
  if (error || !fs::exists(status))
    throw IoError(detail::concat(path, ": cannot open ", what, ": ",
                                 error ? error.message() : std::string("no such file")));
  if (fs::is_directory(status))
    throw IoError(detail::concat(path, ": is a directory, expected a ", what));
  if (!fs::is_regular_file(status))
    throw IoError(detail::concat(path, ": is not a regular file, expected a ", what));
  const std::uintmax_t size = fs::file_size(path, error);
  if (error) throw IoError(detail::concat(path, ": cannot open ", what, ": ", error.message()));
  if (size > max_bytes)
    throw FormatError(detail::concat(path, ": ", what, " of ", size, " bytes exceeds the limit of ",
                                     max_bytes, " bytes"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(detail::concat(path, ": cannot open ", what, " for reading"));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (!bytes.empty() &&
      !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    throw IoError(detail::concat(path, ": cannot read ", what, " (", size, " bytes expected)"));
  // A file that grew while read is refused rather than silently cut.
  if (in.peek() != std::ifstream::traits_type::eof())
    throw IoError(detail::concat(path, ": ", what, " changed while it was read"));
  return bytes;
}

}  // namespace io
}  // namespace mobilenet

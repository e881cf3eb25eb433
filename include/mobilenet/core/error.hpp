// SPDX-License-Identifier: MIT
#pragma once
// Errors raised at the edge of the library (constructors, loaders, shape checks).
// Kernels never throw: they only assert, because everything they see was checked here first.

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mobilenet {

// Base of every exception the library throws, so an app can catch one type.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Impossible layer or model parameters (zero channels, stride 0, alpha <= 0, ...).
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A tensor whose shape does not fit the layer or weight slot it is given to.
class ShapeError : public Error {
 public:
  using Error::Error;
};

// A file whose bytes are truncated, corrupted, too large or not what it claims to be.
class FormatError : public Error {
 public:
  using Error::Error;
};

// A file that cannot be opened or read at all (missing, no permission, a directory, I/O error).
class IoError : public Error {
 public:
  using Error::Error;
};

namespace detail {

inline void append_all(std::ostringstream&) {}
template <typename First, typename... Rest>
void append_all(std::ostringstream& os, const First& first, const Rest&... rest) {
  os << first;
  append_all(os, rest...);
}

// Builds a message from pieces: concat("layer '", name, "': expected ", n).
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  append_all(os, parts...);
  return os.str();
}

// "[1, 2, 3]" for messages about shapes stored as vectors.
template <typename Int>
std::string shape_to_string(const std::vector<Int>& dims) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < dims.size(); ++i) os << (i ? ", " : "") << dims[i];
  os << ']';
  return os.str();
}

}  // namespace detail
}  // namespace mobilenet

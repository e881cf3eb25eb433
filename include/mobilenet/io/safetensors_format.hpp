// SPDX-License-Identifier: MIT
#pragma once
// The vocabulary of the safetensors format shared by its reader and writer: dtypes, a
// tensor's header entry, the header's size limits and little-endian scalars.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "mobilenet/core/error.hpp"

namespace mobilenet {
namespace io {

// Element types, in the order and spelling of the safetensors specification.
enum class DType { Bool, U8, I8, U16, I16, F16, BF16, U32, I32, F32, U64, I64, F64 };

// Bytes per element.
inline std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Bool:
    case DType::U8:
    case DType::I8: return 1;
    case DType::U16:
    case DType::I16:
    case DType::F16:
    case DType::BF16: return 2;
    case DType::U32:
    case DType::I32:
    case DType::F32: return 4;
    case DType::U64:
    case DType::I64:
    case DType::F64: return 8;
  }
  return 0;  // unreachable for a valid enumerator
}

// The string used for the dtype in a safetensors header ("F32", "BF16", ...).
inline const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Bool: return "BOOL";
    case DType::U8: return "U8";
    case DType::I8: return "I8";
    case DType::U16: return "U16";
    case DType::I16: return "I16";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::U32: return "U32";
    case DType::I32: return "I32";
    case DType::F32: return "F32";
    case DType::U64: return "U64";
    case DType::I64: return "I64";
    case DType::F64: return "F64";
  }
  return "?";
}

// Inverse of dtype_name; false if `name` is not a dtype this reader knows.
inline bool dtype_from_name(const std::string& name, DType& dtype) {
  static const DType all[] = {DType::Bool, DType::U8,   DType::I8,  DType::U16, DType::I16,
                              DType::F16,  DType::BF16, DType::U32, DType::I32, DType::F32,
                              DType::U64,  DType::I64,  DType::F64};
  for (DType candidate : all) {
    if (name == dtype_name(candidate)) {
      dtype = candidate;
      return true;
    }
  }
  return false;
}

// One tensor's entry in the header. [begin, end) are byte offsets into the data section.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::size_t begin = 0, end = 0;

  // Product of the dims; 1 for a scalar (empty shape). Cannot overflow for a parsed file.
  std::size_t element_count() const {
    std::size_t count = 1;
    for (std::int64_t dim : shape) count *= static_cast<std::size_t>(dim);
    return count;
  }
};

namespace detail {

using mobilenet::detail::concat;
using mobilenet::detail::shape_to_string;

// The reference implementation's limit; it keeps a hostile length from driving allocation.
constexpr std::uint64_t kMaxHeaderBytes = 100000000;
// Bytes before the header: the u64 header length.
constexpr std::size_t kHeaderLengthBytes = 8;

// ---- Byte order --------------------------------------------------------------------------

// C++17 has no std::endian; compilers fold this to a constant.
inline bool host_is_little_endian() {
  const std::uint16_t probe = 1;
  unsigned char first_byte = 0;
  std::memcpy(&first_byte, &probe, 1);
  return first_byte == 1;
}

// Reads a little-endian scalar from possibly unaligned memory.
template <typename T>
T load_le(const std::uint8_t* src) {
  static_assert(std::is_trivially_copyable<T>::value, "load_le needs a plain scalar");
  std::uint8_t buffer[sizeof(T)];
  std::memcpy(buffer, src, sizeof(T));
  if (!host_is_little_endian()) std::reverse(buffer, buffer + sizeof(T));
  T value;
  std::memcpy(&value, buffer, sizeof(T));
  return value;
}

// Writes a scalar as little-endian bytes to possibly unaligned memory.
template <typename T>
void store_le(std::uint8_t* dst, T value) {
  static_assert(std::is_trivially_copyable<T>::value, "store_le needs a plain scalar");
  std::memcpy(dst, &value, sizeof(T));
  if (!host_is_little_endian()) std::reverse(dst, dst + sizeof(T));
}

// double -> float without undefined behaviour for values beyond float's range.
inline float narrow_to_float(double value) {
  if (std::isnan(value)) return std::numeric_limits<float>::quiet_NaN();
  if (value > std::numeric_limits<float>::max()) return std::numeric_limits<float>::infinity();
  if (value < -std::numeric_limits<float>::max()) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(value);
}

template <typename T>
T from_double(double value);
template <>
inline float from_double<float>(double value) {
  return narrow_to_float(value);
}
template <>
inline double from_double<double>(double value) {
  return value;
}

// a * b, or false if it does not fit in uint64.
inline bool checked_multiply(std::uint64_t a, std::uint64_t b, std::uint64_t& product) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
  product = a * b;
  return true;
}

}  // namespace detail

}  // namespace io
}  // namespace mobilenet

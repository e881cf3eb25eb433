// SPDX-License-Identifier: MIT
#pragma once
// SafetensorsWriter: tensors and metadata in, the bytes of a safetensors file out (the header
// padded to a multiple of 8, tensors in name order, contiguous).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/io/json.hpp"
#include "mobilenet/io/safetensors_format.hpp"
#include "mobilenet/io/utf8.hpp"

namespace mobilenet {
namespace io {

namespace detail {

// The dtypes SafetensorsWriter::add accepts, and what each is stored as.
template <typename T>
struct WritableDType {
  static constexpr bool supported = false;
};
template <>
struct WritableDType<float> {
  static constexpr bool supported = true;
  static constexpr DType value = DType::F32;
};
template <>
struct WritableDType<double> {
  static constexpr bool supported = true;
  static constexpr DType value = DType::F64;
};
template <>
struct WritableDType<std::int32_t> {
  static constexpr bool supported = true;
  static constexpr DType value = DType::I32;
};
template <>
struct WritableDType<std::uint8_t> {
  static constexpr bool supported = true;
  static constexpr DType value = DType::U8;
};

}  // namespace detail

// Collects tensors and metadata, then serializes them as a safetensors file.
class SafetensorsWriter {
 public:
  // Copies shape-product elements from `data`, stored as F32 (float), F64 (double),
  // I32 (std::int32_t) or U8 (std::uint8_t). Throws on a duplicate or reserved name,
  // a name that is not UTF-8, or a negative dim.
  template <typename T>
  void add(const std::string& name, const std::vector<std::int64_t>& shape, const T* data) {
    static_assert(detail::WritableDType<T>::supported,
                  "SafetensorsWriter::add takes float, double, std::int32_t or std::uint8_t");
    if (name == "__metadata__")
      throw Error("safetensors writer: '__metadata__' is a reserved name");
    if (!detail::is_valid_utf8(name)) {
      throw Error(
          detail::concat("safetensors writer: tensor name '", name, "' is not valid UTF-8"));
    }
    if (tensors_.count(name) != 0) {
      throw Error(detail::concat("safetensors writer: duplicate tensor name '", name, "'"));
    }
    std::uint64_t count = 1;
    for (std::int64_t dim : shape) {
      if (dim < 0) {
        throw ShapeError(detail::concat("safetensors writer: tensor '", name,
                                        "' has negative dim in shape ",
                                        detail::shape_to_string(shape)));
      }
      if (!detail::checked_multiply(count, static_cast<std::uint64_t>(dim), count) ||
          count > std::numeric_limits<std::size_t>::max() / sizeof(T)) {
        throw ShapeError(detail::concat("safetensors writer: tensor '", name, "' shape ",
                                        detail::shape_to_string(shape), " is too large"));
      }
    }
    if (count != 0 && data == nullptr) {
      throw Error(detail::concat("safetensors writer: tensor '", name, "' has no data"));
    }
    Entry entry;
    entry.dtype = detail::WritableDType<T>::value;
    entry.shape = shape;
    entry.bytes.resize(static_cast<std::size_t>(count) * sizeof(T));
    for (std::size_t i = 0; i < count; ++i)
      detail::store_le(entry.bytes.data() + i * sizeof(T), data[i]);
    tensors_.emplace(name, std::move(entry));
  }

  // Sets "__metadata__"[key] = value, replacing an earlier value for the key.
  void set_metadata(const std::string& key, const std::string& value) {
    if (!detail::is_valid_utf8(key) || !detail::is_valid_utf8(value)) {
      throw Error(detail::concat("safetensors writer: metadata '", key, "' is not valid UTF-8"));
    }
    metadata_[key] = value;
  }

  // The file's bytes: header padded with spaces to a multiple of 8 (so the data section
  // is 8-byte aligned when the file is), tensors in name order, contiguous.
  std::vector<std::uint8_t> serialize() const {
    std::string header = "{";
    bool first = true;
    if (!metadata_.empty()) {
      header += "\"__metadata__\":{";
      for (const auto& item : metadata_) {
        if (!first) header += ',';
        first = false;
        header += detail::json_quote(item.first) + ':' + detail::json_quote(item.second);
      }
      header += '}';
      first = false;
    }
    std::size_t offset = 0;
    for (const auto& item : tensors_) {
      const Entry& entry = item.second;
      if (!first) header += ',';
      first = false;
      header += detail::json_quote(item.first) + ":{\"dtype\":\"" + dtype_name(entry.dtype) +
                "\",\"shape\":[";
      for (std::size_t i = 0; i < entry.shape.size(); ++i) {
        header += (i ? "," : "") + std::to_string(entry.shape[i]);
      }
      header += "],\"data_offsets\":[" + std::to_string(offset) + ',' +
                std::to_string(offset + entry.bytes.size()) + "]}";
      offset += entry.bytes.size();
    }
    header += '}';
    header.append((8 - header.size() % 8) % 8, ' ');
    if (header.size() > detail::kMaxHeaderBytes) {
      throw Error(detail::concat("safetensors writer: header of ", header.size(),
                                 " bytes exceeds the limit of ", detail::kMaxHeaderBytes));
    }

    std::vector<std::uint8_t> out(detail::kHeaderLengthBytes + header.size() + offset);
    detail::store_le(out.data(), static_cast<std::uint64_t>(header.size()));
    std::memcpy(out.data() + detail::kHeaderLengthBytes, header.data(), header.size());
    std::uint8_t* data = out.data() + detail::kHeaderLengthBytes + header.size();
    for (const auto& item : tensors_) {
      if (!item.second.bytes.empty())
        std::memcpy(data, item.second.bytes.data(), item.second.bytes.size());
      data += item.second.bytes.size();
    }
    return out;
  }

  // Writes serialize() to `path`; throws Error naming the path on failure.
  void write(const std::string& path) const {
    const std::vector<std::uint8_t> bytes = serialize();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(detail::concat(path, ": cannot open for writing"));
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw Error(detail::concat(path, ": write failed"));
  }

 private:
  struct Entry {
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::vector<std::uint8_t> bytes;  // little-endian elements
  };

  std::map<std::string, Entry> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace io
}  // namespace mobilenet

// SPDX-License-Identifier: MIT
#pragma once
// A small, bounds-checked reader of FlatBuffers (https://flatbuffers.dev/internals/): tables
// with vtables, vectors, strings, unions and scalars, read in place from a byte buffer.
// Every offset is checked against the buffer before it is followed, so a truncated or hostile
// file gives a FormatError naming the file and the byte offset, never an out-of-bounds read.
// It knows nothing of any schema: callers name fields by their id (declaration order).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "mobilenet/core/error.hpp"

namespace mobilenet {
namespace io {
namespace detail {
using mobilenet::detail::concat;  // io::detail would otherwise hide these
using mobilenet::detail::shape_to_string;
}  // namespace detail

// The whole buffer, with the name errors report. Does not own the bytes.
class FlatBuffer {
 public:
  // A table may reach other tables through at most this many links from the root: real
  // schemas nest a handful deep, and the bound keeps a hostile chain of offsets finite.
  static constexpr int kMaxDepth = 64;

  FlatBuffer(const std::uint8_t* data, std::size_t size, std::string source)
      : data_(data), size_(size), source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  std::size_t size() const { return size_; }
  const std::uint8_t* data() const { return data_; }

  // Throws unless [offset, offset + bytes) lies inside the buffer.
  void require(std::size_t offset, std::size_t bytes, const char* what) const {
    if (offset > size_ || bytes > size_ - offset)
      fail(offset, detail::concat(what, " of ", bytes, " bytes runs past the end of the ",
                                  size_, "-byte buffer"));
  }

  // A little-endian scalar at `offset` (any alignment), after a bounds check.
  template <typename T>
  T read(std::size_t offset, const char* what) const {
    static_assert(std::is_arithmetic<T>::value, "FlatBuffer::read reads scalars");
    require(offset, sizeof(T), what);
    std::uint8_t bytes[sizeof(T)];
    std::memcpy(bytes, data_ + offset, sizeof(T));
    if (!little_endian_host())
      for (std::size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(bytes[i], bytes[sizeof(T) - 1 - i]);
    T value;
    std::memcpy(&value, bytes, sizeof(T));
    return value;
  }

  // Follows the uoffset stored at `offset` (target = offset + stored value).
  std::size_t follow(std::size_t offset, const char* what) const {
    const std::uint32_t relative = read<std::uint32_t>(offset, what);
    const std::size_t target = offset + relative;
    if (relative == 0 || target >= size_)
      fail(offset, detail::concat(what, " points to byte ", target, ", outside the ", size_,
                                  "-byte buffer"));
    return target;
  }

  [[noreturn]] void fail(std::size_t offset, const std::string& message) const {
    throw FormatError(detail::concat(source_, ": byte ", offset, ": ", message));
  }

 private:
  static bool little_endian_host() {
    const std::uint16_t probe = 1;
    std::uint8_t first = 0;
    std::memcpy(&first, &probe, 1);
    return first == 1;
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::string source_;
};

class FlatTable;

// A vector: a u32 element count, then the elements. The constructor checks that all of them
// fit in the buffer, so a huge count is rejected before anyone allocates for it.
class FlatVector {
 public:
  FlatVector() = default;
  FlatVector(const FlatBuffer* buffer, std::size_t offset, std::size_t element_bytes, int depth)
      : buffer_(buffer), depth_(depth), element_bytes_(element_bytes) {
    count_ = buffer->read<std::uint32_t>(offset, "vector length");
    begin_ = offset + 4;
    if (count_ > (buffer->size() - begin_) / element_bytes)
      buffer->fail(offset, detail::concat("vector of ", count_, " elements of ", element_bytes,
                                          " bytes does not fit in the ", buffer->size(),
                                          "-byte buffer"));
  }

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Byte offset of the first element (for raw byte vectors such as buffer data).
  std::size_t data_offset() const { return begin_; }

  template <typename T>
  T scalar(std::size_t i) const {
    check(i, sizeof(T));
    return buffer_->read<T>(begin_ + i * sizeof(T), "vector element");
  }
  inline FlatTable table(std::size_t i) const;
  std::string string(std::size_t i) const;

 private:
  void check(std::size_t i, std::size_t bytes) const {
    if (i >= count_ || bytes != element_bytes_)
      throw FormatError(detail::concat(buffer_ ? buffer_->source() : std::string("<flatbuffer>"),
                                       ": vector element ", i, " of ", count_,
                                       " read with the wrong element type or out of range"));
  }

  const FlatBuffer* buffer_ = nullptr;
  int depth_ = 0;
  std::size_t element_bytes_ = 1;
  std::size_t begin_ = 0;
  std::size_t count_ = 0;
};

// A table: an i32 back-offset to its vtable, then fields. The vtable lists, for each field id,
// the field's offset inside the table (0: absent, so the schema default applies).
class FlatTable {
 public:
  FlatTable(const FlatBuffer* buffer, std::size_t offset, int depth)
      : buffer_(buffer), offset_(offset), depth_(depth) {
    if (depth > FlatBuffer::kMaxDepth)
      buffer->fail(offset, detail::concat("tables nested deeper than ", FlatBuffer::kMaxDepth));
    const std::int32_t back = buffer->read<std::int32_t>(offset, "table's vtable offset");
    const std::int64_t vtable = static_cast<std::int64_t>(offset) - back;
    if (vtable < 0 || static_cast<std::uint64_t>(vtable) >= buffer->size())
      buffer->fail(offset, detail::concat("vtable at byte ", vtable, " is outside the ",
                                          buffer->size(), "-byte buffer"));
    vtable_ = static_cast<std::size_t>(vtable);
    vtable_bytes_ = buffer->read<std::uint16_t>(vtable_, "vtable size");
    table_bytes_ = buffer->read<std::uint16_t>(vtable_ + 2, "table size");
    if (vtable_bytes_ < 4 || vtable_bytes_ % 2 != 0)
      buffer->fail(vtable_, detail::concat("vtable size ", vtable_bytes_, " is not an even number >= 4"));
    buffer->require(vtable_, vtable_bytes_, "vtable");
    buffer->require(offset, table_bytes_ < 4 ? 4 : table_bytes_, "table");
  }

  const FlatBuffer& buffer() const { return *buffer_; }
  std::size_t offset() const { return offset_; }
  bool has(int field) const { return field_offset(field) != 0; }

  // A scalar field, or `fallback` (the schema's default) when absent.
  template <typename T>
  T scalar(int field, T fallback) const {
    const std::size_t at = field_offset(field);
    if (at == 0) return fallback;
    check_inside(at, sizeof(T), field);
    return buffer_->read<T>(offset_ + at, "table field");
  }

  // A sub-table field; absent is an error naming `what`.
  FlatTable table(int field, const char* what) const {
    const std::size_t at = require_field(field, what);
    return FlatTable(buffer_, buffer_->follow(offset_ + at, what), depth_ + 1);
  }

  // A vector field of elements of `element_bytes` each (4 for offsets to tables or strings);
  // absent gives an empty vector, as FlatBuffers readers do.
  FlatVector vector(int field, std::size_t element_bytes, const char* what) const {
    const std::size_t at = field_offset(field);
    if (at == 0) return FlatVector();
    check_inside(at, 4, field);
    return FlatVector(buffer_, buffer_->follow(offset_ + at, what), element_bytes, depth_ + 1);
  }

  // A string field (u32 length, bytes, NUL); absent gives "".
  std::string string(int field, const char* what) const {
    const std::size_t at = field_offset(field);
    if (at == 0) return std::string();
    check_inside(at, 4, field);
    return read_string(*buffer_, buffer_->follow(offset_ + at, what));
  }

  static std::string read_string(const FlatBuffer& buffer, std::size_t offset) {
    const std::uint32_t length = buffer.read<std::uint32_t>(offset, "string length");
    buffer.require(offset + 4, std::size_t(length) + 1, "string");
    return std::string(reinterpret_cast<const char*>(buffer.data() + offset + 4), length);
  }

 private:
  friend class FlatVector;

  std::size_t field_offset(int field) const {
    const std::size_t entry = 4 + 2 * static_cast<std::size_t>(field);
    if (field < 0 || entry + 2 > vtable_bytes_) return 0;  // older writer: field absent
    return buffer_->read<std::uint16_t>(vtable_ + entry, "vtable entry");
  }
  std::size_t require_field(int field, const char* what) const {
    const std::size_t at = field_offset(field);
    if (at == 0) buffer_->fail(offset_, detail::concat("required field '", what, "' is absent"));
    check_inside(at, 4, field);
    return at;
  }
  void check_inside(std::size_t at, std::size_t bytes, int field) const {
    if (at + bytes > table_bytes_)
      buffer_->fail(offset_, detail::concat("field ", field, " at +", at, " lies outside its ",
                                            table_bytes_, "-byte table"));
  }

  const FlatBuffer* buffer_;
  std::size_t offset_;
  int depth_;
  std::size_t vtable_ = 0;
  std::size_t vtable_bytes_ = 0;
  std::size_t table_bytes_ = 0;
};

inline FlatTable FlatVector::table(std::size_t i) const {
  check(i, 4);
  const std::size_t slot = begin_ + i * 4;
  return FlatTable(buffer_, buffer_->follow(slot, "vector element table"), depth_ + 1);
}

inline std::string FlatVector::string(std::size_t i) const {
  check(i, 4);
  const std::size_t slot = begin_ + i * 4;
  return FlatTable::read_string(*buffer_, buffer_->follow(slot, "vector element string"));
}

// The root table: the buffer starts with a u32 offset to it, optionally followed by a
// 4-byte file identifier (e.g. "TFL3") that `identifier` returns.
inline FlatTable flatbuffer_root(const FlatBuffer& buffer) {
  if (buffer.size() < 8)
    buffer.fail(0, detail::concat("a FlatBuffer needs at least 8 bytes, the file has ", buffer.size()));
  return FlatTable(&buffer, buffer.follow(0, "root table offset"), 0);
}

inline std::string flatbuffer_identifier(const FlatBuffer& buffer) {
  buffer.require(4, 4, "file identifier");
  return std::string(reinterpret_cast<const char*>(buffer.data() + 4), 4);
}

}  // namespace io
}  // namespace mobilenet

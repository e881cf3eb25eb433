// SPDX-License-Identifier: MIT
#pragma once
// Reader and writer for the safetensors format (https://github.com/huggingface/safetensors):
//
//   bytes [0, 8)        u64 little-endian N, the length of the header
//   bytes [8, 8 + N)    UTF-8 JSON object: name -> {"dtype", "shape", "data_offsets": [b, e]},
//                       plus an optional "__metadata__" object of string -> string
//   bytes [8 + N, end)  data section; [b, e) are offsets into it
//
// Everything in a file is untrusted: SafetensorsFile::parse validates the whole header and
// every tensor's extent before it returns, so later accessors need no checks on the bytes.
// Only the C++17 standard library is used: the header is read by io/json.hpp. The format's
// dtypes are in safetensors_format.hpp, SafetensorsWriter in safetensors_writer.hpp.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/io/file.hpp"
#include "mobilenet/io/half.hpp"
#include "mobilenet/io/json.hpp"
#include "mobilenet/io/safetensors_format.hpp"
#include "mobilenet/io/safetensors_writer.hpp"

namespace mobilenet {
namespace io {

// A whole safetensors file held in memory and validated at parse.
class SafetensorsFile {
 public:
  // Takes the complete file. Throws FormatError, starting with `source`, on any defect.
  static SafetensorsFile parse(std::vector<std::uint8_t> bytes, std::string source = "<memory>") {
    SafetensorsFile file;
    file.bytes_ = std::move(bytes);
    file.source_ = std::move(source);
    file.validate();
    return file;
  }

  // Largest file `read` accepts (256 MiB): MobileNetV1 at alpha 1.0 in float32 is 17 MB.
  static constexpr std::uint64_t kMaxFileBytes = std::uint64_t(1) << 28;

  // Reads and parses the file at `path` (at most kMaxFileBytes); errors name the path.
  static SafetensorsFile read(const std::string& path) {
    return parse(read_file(path, kMaxFileBytes, "safetensors file"), path);
  }

  const std::string& source() const { return source_; }

  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }

  const TensorInfo& info(const std::string& name) const {
    const auto found = tensors_.find(name);
    if (found == tensors_.end())
      throw FormatError(detail::concat(source_, ": no tensor '", name, "'"));
    return found->second;
  }

  // Tensor names in sorted order.
  std::vector<std::string> names() const {
    std::vector<std::string> result;
    result.reserve(tensors_.size());
    for (const auto& entry : tensors_) result.push_back(entry.first);
    return result;
  }

  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Copies tensor `name` into a vector of T (float or double), converting from F16, BF16,
  // F32 or F64; any other dtype is a FormatError. out: element_count() values, row-major.
  template <typename T>
  std::vector<T> to_vector(const std::string& name) const {
    static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value,
                  "to_vector converts to float or double");
    const TensorInfo& tensor = info(name);
    const std::uint8_t* src = tensor_bytes(tensor);
    const std::size_t count = tensor.element_count();
    switch (tensor.dtype) {
      case DType::F16:
      case DType::BF16:
      case DType::F32:
      case DType::F64: break;
      default:
        throw FormatError(
            detail::concat(source_, ": tensor '", name, "' has dtype ", dtype_name(tensor.dtype),
                           "; only F16, BF16, F32 and F64 convert to floating point"));
    }
    std::vector<T> out(count);
    for (std::size_t i = 0; i < count; ++i) {
      switch (tensor.dtype) {
        case DType::F16:
          out[i] =
              static_cast<T>(detail::half_to_float(detail::load_le<std::uint16_t>(src + 2 * i)));
          break;
        case DType::BF16:
          out[i] =
              static_cast<T>(detail::bfloat16_to_float(detail::load_le<std::uint16_t>(src + 2 * i)));
          break;
        case DType::F32: out[i] = static_cast<T>(detail::load_le<float>(src + 4 * i)); break;
        default:  // F64, the only dtype left after the check above
          out[i] = detail::from_double<T>(detail::load_le<double>(src + 8 * i));
          break;
      }
    }
    return out;
  }

  // As to_vector(name), but first requires the tensor's shape to equal `expected_shape`
  // exactly; a mismatch is a ShapeError naming source, tensor, expected and actual shape.
  template <typename T>
  std::vector<T> to_vector(const std::string& name,
                           const std::vector<std::int64_t>& expected_shape) const {
    const TensorInfo& tensor = info(name);
    if (tensor.shape != expected_shape) {
      throw ShapeError(detail::concat(source_, ": tensor '", name, "' has shape ",
                                      detail::shape_to_string(tensor.shape), ", expected ",
                                      detail::shape_to_string(expected_shape)));
    }
    return to_vector<T>(name);
  }

  // The tensor's bytes in the file (little-endian, possibly unaligned): [begin, end) of
  // the data section.
  const std::uint8_t* raw_data(const std::string& name) const { return tensor_bytes(info(name)); }

 private:
  SafetensorsFile() = default;

  const std::uint8_t* tensor_bytes(const TensorInfo& tensor) const {
    return bytes_.data() + data_start_ + tensor.begin;
  }

  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    throw FormatError(detail::concat(source_, ": ", parts...));
  }

  void validate() {
    using detail::JsonValue;
    if (bytes_.size() < detail::kHeaderLengthBytes) {
      fail("file is ", bytes_.size(), " bytes, shorter than the 8-byte header length");
    }
    const std::uint64_t header_length = detail::load_le<std::uint64_t>(bytes_.data());
    if (header_length > detail::kMaxHeaderBytes) {
      fail("header length ", header_length, " (bytes 0-7) exceeds the limit of ",
           detail::kMaxHeaderBytes, " bytes");
    }
    const std::size_t available = bytes_.size() - detail::kHeaderLengthBytes;
    if (header_length > available) {
      fail("header length ", header_length, " (bytes 0-7) is larger than the ", available,
           " bytes that follow it");
    }
    const auto header_size = static_cast<std::size_t>(header_length);
    data_start_ = detail::kHeaderLengthBytes + header_size;
    const std::size_t data_size = bytes_.size() - data_start_;

    detail::JsonParser parser(bytes_.data() + detail::kHeaderLengthBytes, header_size,
                              detail::kHeaderLengthBytes, source_);
    const JsonValue header = parser.parse_document();
    if (header.kind != JsonValue::Kind::Object) {
      fail("header at byte ", header.offset, " must be a JSON object, found ",
           detail::json_kind_name(header.kind));
    }

    for (std::size_t i = 0; i < header.keys.size(); ++i) {
      const std::string& key = header.keys[i];
      const JsonValue& entry = header.items[i];
      if (key == "__metadata__") {
        read_metadata(entry);
      } else {
        tensors_.emplace(key, read_tensor(key, entry, data_size));
      }
    }
    check_tiling(data_size);
  }

  void read_metadata(const detail::JsonValue& entry) {
    using detail::JsonValue;
    if (entry.kind == JsonValue::Kind::Null) return;  // the reference reads null as "none"
    if (entry.kind != JsonValue::Kind::Object) {
      fail("\"__metadata__\" at byte ", entry.offset, " must be a JSON object, found ",
           detail::json_kind_name(entry.kind));
    }
    for (std::size_t i = 0; i < entry.keys.size(); ++i) {
      const JsonValue& value = entry.items[i];
      if (value.kind != JsonValue::Kind::String) {
        fail("\"__metadata__\" value for \"", entry.keys[i], "\" at byte ", value.offset,
             " must be a string, found ", detail::json_kind_name(value.kind));
      }
      metadata_[entry.keys[i]] = value.text;
    }
  }

  // A non-negative integer that fits int64, or a FormatError describing `what` it is.
  std::int64_t read_count(const std::string& name, const detail::JsonValue& value,
                          const std::string& what) const {
    using detail::JsonValue;
    if (value.kind != JsonValue::Kind::Number) {
      fail("tensor '", name, "': ", what, " at byte ", value.offset, " must be an integer, found ",
           detail::json_kind_name(value.kind));
    }
    if (value.number_kind == JsonValue::NumberKind::NotInteger) {
      fail("tensor '", name, "': ", what, " at byte ", value.offset, " is ", value.text,
           ", not an integer");
    }
    if (value.number_kind == JsonValue::NumberKind::OutOfRange) {
      fail("tensor '", name, "': ", what, " at byte ", value.offset, " is ", value.text,
           ", out of range for a 64-bit integer");
    }
    if (value.integer < 0) {
      fail("tensor '", name, "': ", what, " at byte ", value.offset, " is ", value.integer,
           ", negative");
    }
    return value.integer;
  }

  const detail::JsonValue& require_member(const std::string& name, const detail::JsonValue& entry,
                                          const char* field, detail::JsonValue::Kind kind) const {
    const detail::JsonValue* member = entry.find(field);
    if (member == nullptr) {
      fail("tensor '", name, "' at byte ", entry.offset, " is missing \"", field, "\"");
    }
    if (member->kind != kind) {
      fail("tensor '", name, "': \"", field, "\" at byte ", member->offset, " must be ",
           detail::json_kind_name(kind), ", found ", detail::json_kind_name(member->kind));
    }
    return *member;
  }

  TensorInfo read_tensor(const std::string& name, const detail::JsonValue& entry,
                         std::size_t data_size) const {
    using detail::JsonValue;
    if (entry.kind != JsonValue::Kind::Object) {
      fail("tensor '", name, "' at byte ", entry.offset, " must be a JSON object, found ",
           detail::json_kind_name(entry.kind));
    }
    // Members other than these three are ignored, as the reference implementation does.
    const JsonValue& dtype = require_member(name, entry, "dtype", JsonValue::Kind::String);
    const JsonValue& shape = require_member(name, entry, "shape", JsonValue::Kind::Array);
    const JsonValue& offsets = require_member(name, entry, "data_offsets", JsonValue::Kind::Array);

    TensorInfo tensor;
    tensor.name = name;
    if (!dtype_from_name(dtype.text, tensor.dtype)) {
      fail("tensor '", name, "': unknown dtype ", detail::json_quote(dtype.text), " at byte ",
           dtype.offset);
    }

    std::uint64_t element_count = 1;
    for (std::size_t i = 0; i < shape.items.size(); ++i) {
      const std::int64_t dim =
          read_count(name, shape.items[i], detail::concat("shape dimension ", i));
      tensor.shape.push_back(dim);
      if (!detail::checked_multiply(element_count, static_cast<std::uint64_t>(dim),
                                    element_count)) {
        fail("tensor '", name, "': element count of shape ", detail::shape_to_string(tensor.shape),
             "... at byte ", shape.offset, " overflows 64 bits");
      }
    }
    std::uint64_t byte_count = 0;
    if (!detail::checked_multiply(element_count, dtype_size(tensor.dtype), byte_count)) {
      fail("tensor '", name, "': byte size of shape ", detail::shape_to_string(tensor.shape), " ",
           dtype_name(tensor.dtype), " at byte ", shape.offset, " overflows 64 bits");
    }

    if (offsets.items.size() != 2) {
      fail("tensor '", name, "': \"data_offsets\" at byte ", offsets.offset,
           " must have 2 entries [begin, end], found ", offsets.items.size());
    }
    const auto begin =
        static_cast<std::uint64_t>(read_count(name, offsets.items[0], "data_offsets begin"));
    const auto end =
        static_cast<std::uint64_t>(read_count(name, offsets.items[1], "data_offsets end"));
    const std::size_t data_start = data_start_;
    if (end < begin) {
      fail("tensor '", name, "': data_offsets [", begin, ", ", end, "] at byte ", offsets.offset,
           " end before they begin");
    }
    if (end > data_size) {
      fail("tensor '", name, "': data_offsets [", begin, ", ", end, "] at byte ", offsets.offset,
           " extend past the end of the data section (", data_size, " bytes, starting at byte ",
           data_start, ")");
    }
    if (end - begin != byte_count) {
      fail("tensor '", name, "': data_offsets [", begin, ", ", end, "] at byte ", offsets.offset,
           " hold ", end - begin, " bytes but shape ", detail::shape_to_string(tensor.shape), " ",
           dtype_name(tensor.dtype), " needs ", byte_count, " bytes");
    }
    tensor.begin = static_cast<std::size_t>(begin);
    tensor.end = static_cast<std::size_t>(end);
    return tensor;
  }

  // Like the reference implementation, require the tensors to cover the data section
  // exactly: no byte shared by two tensors and no byte belonging to none.
  void check_tiling(std::size_t data_size) const {
    std::vector<const TensorInfo*> by_offset;
    by_offset.reserve(tensors_.size());
    for (const auto& entry : tensors_) by_offset.push_back(&entry.second);
    // Sorting by end as well puts empty tensors before a tensor starting at the same offset.
    std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
      return std::tie(a->begin, a->end, a->name) < std::tie(b->begin, b->end, b->name);
    });
    std::size_t covered = 0;  // data section bytes [0, covered) are accounted for
    const TensorInfo* previous = nullptr;
    for (const TensorInfo* tensor : by_offset) {
      if (tensor->begin < covered) {
        fail("tensors '", previous->name, "' [", previous->begin, ", ", previous->end, ") and '",
             tensor->name, "' [", tensor->begin, ", ", tensor->end,
             ") overlap (data offsets; the data section starts at byte ", data_start_, ")");
      }
      if (tensor->begin > covered) {
        fail("gap in the data section: bytes [", covered, ", ", tensor->begin,
             ") belong to no tensor (file bytes from ", data_start_ + covered, "); tensor '",
             tensor->name, "' begins at ", tensor->begin);
      }
      covered = tensor->end;
      previous = tensor;
    }
    if (covered != data_size) {
      fail("data section has ", data_size - covered, " unused bytes at its end, from data offset ",
           covered, " (file byte ", data_start_ + covered, ")");
    }
  }

  std::vector<std::uint8_t> bytes_;
  std::string source_;
  std::size_t data_start_ = 0;  // file offset of the data section
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace io
}  // namespace mobilenet

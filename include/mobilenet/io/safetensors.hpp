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
// Only the C++17 standard library is used, hence the small JSON parser in `detail`.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/io/file.hpp"

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
// A valid header nests three deep (object, tensor entry, shape); the slack allows nested
// values in fields we ignore while keeping the parser's recursion bounded.
constexpr int kMaxJsonDepth = 16;
// A tensor entry takes about ten JSON values, so this allows ~100,000 tensors while keeping
// the parsed tree of a hostile 100 MB header (e.g. "[0,0,0,...]") near 100 MB of memory.
constexpr std::size_t kMaxJsonValues = 1000000;
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

// ---- Half-precision conversions ----------------------------------------------------------

inline float float_from_bits(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// IEEE 754 binary16 -> binary32. Exact: every half value is representable as a float.
inline float f16_to_float(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1Fu;
  std::uint32_t mantissa = half & 0x3FFu;
  if (exponent == 0x1F) return float_from_bits(sign | 0x7F800000u | (mantissa << 13));  // inf, nan
  if (exponent != 0) return float_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return float_from_bits(sign);  // signed zero
  // Subnormal: value = mantissa * 2^-24. Shift until the implicit bit (bit 10) is set;
  // after `shift` steps the value is 1.m * 2^(-14 - shift), a normal float.
  std::uint32_t shift = 0;
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    ++shift;
  }
  return float_from_bits(sign | ((113 - shift) << 23) | ((mantissa & 0x3FFu) << 13));
}

// bfloat16 is the top half of a binary32, so widening is a shift.
inline float bf16_to_float(std::uint16_t bf16) {
  return float_from_bits(static_cast<std::uint32_t>(bf16) << 16);
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

// ---- UTF-8 -------------------------------------------------------------------------------

// Length of the well-formed UTF-8 sequence at `text` (at most `available` bytes), or 0 if
// it is malformed: bad lead byte, missing continuation, overlong form, surrogate, > U+10FFFF.
inline std::size_t utf8_sequence_length(const std::uint8_t* text, std::size_t available) {
  if (available == 0) return 0;
  const std::uint8_t lead = text[0];
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  std::uint8_t second_min = 0x80, second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (available < length) return 0;
  if (text[1] < second_min || text[1] > second_max) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (text[i] < 0x80 || text[i] > 0xBF) return 0;
  }
  return length;
}

inline bool is_valid_utf8(const std::string& text) {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t length = utf8_sequence_length(bytes + pos, text.size() - pos);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

inline void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// ---- JSON --------------------------------------------------------------------------------

// A parsed JSON value. Numbers keep whether they were an integer that fits int64, because
// the header's shapes and offsets must be exactly that and nothing else.
struct JsonValue {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  enum class NumberKind { Integer, NotInteger, OutOfRange };

  Kind kind = Kind::Null;
  bool boolean = false;
  NumberKind number_kind = NumberKind::Integer;
  std::int64_t integer = 0;
  std::string text;               // decoded string, or a number as written
  std::vector<std::string> keys;  // object member names in file order, parallel to `items`
  std::vector<JsonValue> items;   // array elements or object member values
  std::size_t offset = 0;         // where the value starts, as a byte offset in the file

  // Member `key` of an object, or nullptr.
  const JsonValue* find(const std::string& key) const {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return &items[i];
    }
    return nullptr;
  }
};

inline const char* json_kind_name(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::Null: return "null";
    case JsonValue::Kind::Bool: return "a boolean";
    case JsonValue::Kind::Number: return "a number";
    case JsonValue::Kind::String: return "a string";
    case JsonValue::Kind::Array: return "an array";
    case JsonValue::Kind::Object: return "an object";
  }
  return "?";
}

// Recursive-descent parser over [text, text + size). Every read is checked against `size`
// and recursion stops at kMaxJsonDepth. Errors are FormatErrors that give the file offset.
class JsonParser {
 public:
  // `file_offset` is the position of text[0] in the file, so errors can point into it.
  JsonParser(const std::uint8_t* text, std::size_t size, std::size_t file_offset,
             const std::string& source)
      : text_(text), size_(size), file_offset_(file_offset), source_(source) {}

  // Exactly one value, optionally surrounded by whitespace (the writer pads with spaces).
  JsonValue parse_document() {
    skip_whitespace();
    JsonValue value = parse_value(1);
    skip_whitespace();
    if (pos_ != size_) fail(pos_, "trailing characters after the JSON value");
    return value;
  }

 private:
  [[noreturn]] void fail(std::size_t pos, const std::string& what) const {
    throw FormatError(
        detail::concat(source_, ": invalid JSON header at byte ", file_offset_ + pos, ": ", what));
  }

  bool at_end() const { return pos_ >= size_; }

  void skip_whitespace() {
    while (!at_end()) {
      const std::uint8_t c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  void expect(char wanted, const char* context) {
    if (at_end())
      fail(pos_, detail::concat("unexpected end of header, expected '", wanted, "' ", context));
    if (text_[pos_] != static_cast<std::uint8_t>(wanted)) {
      fail(pos_, detail::concat("expected '", wanted, "' ", context));
    }
    ++pos_;
  }

  JsonValue parse_value(int depth) {
    if (at_end()) fail(pos_, "unexpected end of header, expected a value");
    if (++values_ > kMaxJsonValues)
      fail(pos_, detail::concat("more than ", kMaxJsonValues, " JSON values"));
    const std::uint8_t c = text_[pos_];
    switch (c) {
      case '{': return parse_object(depth);
      case '[': return parse_array(depth);
      case '"': {
        JsonValue value;
        value.kind = JsonValue::Kind::String;
        value.offset = file_offset_ + pos_;
        value.text = parse_string();
        return value;
      }
      case 't': return parse_literal("true", JsonValue::Kind::Bool, true);
      case 'f': return parse_literal("false", JsonValue::Kind::Bool, false);
      case 'n': return parse_literal("null", JsonValue::Kind::Null, false);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
        fail(pos_, "unexpected character, expected a value");
    }
  }

  JsonValue parse_literal(const char* word, JsonValue::Kind kind, bool boolean) {
    const std::size_t length = std::strlen(word);
    if (size_ - pos_ < length || std::memcmp(text_ + pos_, word, length) != 0) {
      fail(pos_, detail::concat("invalid literal, expected '", word, "'"));
    }
    JsonValue value;
    value.kind = kind;
    value.boolean = boolean;
    value.offset = file_offset_ + pos_;
    pos_ += length;
    return value;
  }

  // Checks the nesting depth and consumes the opening bracket of an object or array. Returns
  // the empty container and sets `empty` when the closing bracket follows at once.
  JsonValue open_container(int depth, JsonValue::Kind kind, char close, bool& empty) {
    if (depth > kMaxJsonDepth)
      fail(pos_, detail::concat("nesting deeper than ", kMaxJsonDepth, " levels"));
    JsonValue container;
    container.kind = kind;
    container.offset = file_offset_ + pos_;
    ++pos_;  // '{' or '['
    skip_whitespace();
    empty = !at_end() && text_[pos_] == static_cast<std::uint8_t>(close);
    if (empty) ++pos_;
    return container;
  }

  JsonValue parse_object(int depth) {
    bool empty = false;
    JsonValue object = open_container(depth, JsonValue::Kind::Object, '}', empty);
    if (empty) return object;
    std::set<std::string> seen;
    for (;;) {
      skip_whitespace();
      if (at_end() || text_[pos_] != '"') {
        fail(pos_, at_end() ? "unexpected end of header, expected a member name"
                            : "expected a member name in double quotes");
      }
      const std::size_t key_pos = pos_;
      std::string key = parse_string();
      // The format maps names to tensors, so a repeated name would be ambiguous.
      if (!seen.insert(key).second) fail(key_pos, detail::concat("duplicate key \"", key, "\""));
      skip_whitespace();
      expect(':', "after a member name");
      skip_whitespace();
      object.items.push_back(parse_value(depth + 1));
      object.keys.push_back(std::move(key));
      skip_whitespace();
      if (at_end()) fail(pos_, "unexpected end of header, expected ',' or '}' in an object");
      if (text_[pos_] == '}') {
        ++pos_;
        return object;
      }
      expect(',', "or '}' in an object");
    }
  }

  JsonValue parse_array(int depth) {
    bool empty = false;
    JsonValue array = open_container(depth, JsonValue::Kind::Array, ']', empty);
    if (empty) return array;
    for (;;) {
      skip_whitespace();
      array.items.push_back(parse_value(depth + 1));
      skip_whitespace();
      if (at_end()) fail(pos_, "unexpected end of header, expected ',' or ']' in an array");
      if (text_[pos_] == ']') {
        ++pos_;
        return array;
      }
      expect(',', "or ']' in an array");
    }
  }

  // Four hex digits of a \u escape starting at pos_.
  std::uint32_t parse_hex4() {
    if (size_ - pos_ < 4) fail(pos_, "unexpected end of header in a \\u escape");
    std::uint32_t code = 0;
    for (int i = 0; i < 4; ++i) {
      const std::uint8_t c = text_[pos_];
      std::uint32_t digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        fail(pos_, "invalid hex digit in a \\u escape");
      }
      code = code * 16 + digit;
      ++pos_;
    }
    return code;
  }

  // A string starting at the opening quote; returns its contents as UTF-8.
  std::string parse_string() {
    const std::size_t start = pos_;
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail(start, "unterminated string");
      const std::uint8_t c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail(pos_, "control character in a string (must be escaped)");
      if (c == '\\') {
        parse_escape(out);
        continue;
      }
      if (c < 0x80) {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      const std::size_t length = utf8_sequence_length(text_ + pos_, size_ - pos_);
      if (length == 0) fail(pos_, "invalid UTF-8 in a string");
      out.append(reinterpret_cast<const char*>(text_ + pos_), length);
      pos_ += length;
    }
  }

  void parse_escape(std::string& out) {
    const std::size_t escape_pos = pos_;
    ++pos_;  // backslash
    if (at_end()) fail(escape_pos, "unterminated escape sequence");
    const std::uint8_t c = text_[pos_++];
    switch (c) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': break;
      default: fail(escape_pos, "invalid escape sequence");
    }
    std::uint32_t code = parse_hex4();
    if (code >= 0xDC00 && code <= 0xDFFF)
      fail(escape_pos, "unpaired low surrogate in a \\u escape");
    if (code >= 0xD800 && code <= 0xDBFF) {
      // Characters beyond the BMP are written as a UTF-16 surrogate pair: \uD83D\uDE00.
      if (size_ - pos_ < 2 || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') {
        fail(escape_pos, "high surrogate not followed by a \\u low surrogate");
      }
      pos_ += 2;
      const std::uint32_t low = parse_hex4();
      if (low < 0xDC00 || low > 0xDFFF) {
        fail(escape_pos, "high surrogate not followed by a \\u low surrogate");
      }
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, code);
  }

  // JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  JsonValue parse_number() {
    JsonValue value;
    value.kind = JsonValue::Kind::Number;
    value.offset = file_offset_ + pos_;
    const std::size_t start = pos_;
    const bool negative = text_[pos_] == '-';
    if (negative) ++pos_;
    if (at_end() || text_[pos_] < '0' || text_[pos_] > '9') fail(pos_, "expected a digit");
    // Magnitude in uint64 so that INT64_MIN is reachable; `overflow` once it exceeds 2^64.
    std::uint64_t magnitude = 0;
    bool overflow = false;
    if (text_[pos_] == '0') {
      ++pos_;
      if (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9')
        fail(pos_, "leading zero in a number");
    } else {
      while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        const std::uint64_t digit = text_[pos_] - '0';
        if (magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) overflow = true;
        if (!overflow) magnitude = magnitude * 10 + digit;
        ++pos_;
      }
    }
    bool is_integer = true;
    if (!at_end() && text_[pos_] == '.') {
      is_integer = false;
      ++pos_;
      if (at_end() || text_[pos_] < '0' || text_[pos_] > '9')
        fail(pos_, "expected a digit after '.'");
      while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    }
    if (!at_end() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      is_integer = false;
      ++pos_;
      if (!at_end() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (at_end() || text_[pos_] < '0' || text_[pos_] > '9')
        fail(pos_, "expected a digit in an exponent");
      while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    }
    value.text.assign(reinterpret_cast<const char*>(text_ + start), pos_ - start);
    const std::uint64_t int64_max =
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!is_integer) {
      value.number_kind = JsonValue::NumberKind::NotInteger;
    } else if (overflow || magnitude > int64_max + (negative ? 1 : 0)) {
      value.number_kind = JsonValue::NumberKind::OutOfRange;
    } else if (negative) {
      // -(magnitude) computed without overflowing at INT64_MIN.
      value.integer = magnitude == int64_max + 1 ? std::numeric_limits<std::int64_t>::min()
                                                 : -static_cast<std::int64_t>(magnitude);
    } else {
      value.integer = static_cast<std::int64_t>(magnitude);
    }
    return value;
  }

  const std::uint8_t* text_;
  std::size_t size_;
  std::size_t file_offset_;
  const std::string& source_;
  std::size_t pos_ = 0;
  std::size_t values_ = 0;  // parsed so far, against kMaxJsonValues
};

// `text` as a JSON string literal, quotes included.
inline std::string json_quote(const std::string& text) {
  static const char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

// a * b, or false if it does not fit in uint64.
inline bool checked_multiply(std::uint64_t a, std::uint64_t b, std::uint64_t& product) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
  product = a * b;
  return true;
}

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
              static_cast<T>(detail::f16_to_float(detail::load_le<std::uint16_t>(src + 2 * i)));
          break;
        case DType::BF16:
          out[i] =
              static_cast<T>(detail::bf16_to_float(detail::load_le<std::uint16_t>(src + 2 * i)));
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

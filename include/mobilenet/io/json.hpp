// SPDX-License-Identifier: MIT
#pragma once
// The JSON subset a safetensors header is written in (RFC 8259 with these limits): UTF-8
// text only, nesting at most kMaxJsonDepth deep, at most kMaxJsonValues values, no duplicate
// member names, and nothing but whitespace after the one value. Numbers keep their text and,
// when they are an integer that fits int64, its value. Errors are FormatErrors that name the
// source and the byte offset in the file.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/io/utf8.hpp"

namespace mobilenet {
namespace io {
namespace detail {

using mobilenet::detail::concat;

// A valid header nests three deep (object, tensor entry, shape); the slack allows nested
// values in fields we ignore while keeping the parser's recursion bounded.
constexpr int kMaxJsonDepth = 16;
// A tensor entry takes about ten JSON values, so this allows ~100,000 tensors while keeping
// the parsed tree of a hostile 100 MB header (e.g. "[0,0,0,...]") near 100 MB of memory.
constexpr std::size_t kMaxJsonValues = 1000000;

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
      if (closes_container('}', "an object")) return object;
    }
  }

  JsonValue parse_array(int depth) {
    bool empty = false;
    JsonValue array = open_container(depth, JsonValue::Kind::Array, ']', empty);
    if (empty) return array;
    for (;;) {
      skip_whitespace();
      array.items.push_back(parse_value(depth + 1));
      if (closes_container(']', "an array")) return array;
    }
  }

  // After an item of a container: true at `close` (consumed), else a ',' must follow.
  bool closes_container(char close, const char* container) {
    skip_whitespace();
    if (at_end()) fail(pos_, detail::concat("unexpected end of header, expected ',' or '", close, "' in ", container));
    if (text_[pos_] == static_cast<std::uint8_t>(close)) {
      ++pos_;
      return true;
    }
    if (text_[pos_] != ',') fail(pos_, detail::concat("expected ',' or '", close, "' in ", container));
    ++pos_;
    return false;
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

}  // namespace detail
}  // namespace io
}  // namespace mobilenet

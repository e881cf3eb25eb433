// SPDX-License-Identifier: MIT
#pragma once
// UTF-8 as files must hold it (RFC 3629): no overlong forms, no surrogates, nothing past
// U+10FFFF. Shared by the safetensors header and labels files.

#include <cstddef>
#include <cstdint>
#include <string>

namespace mobilenet {
namespace io {
namespace detail {

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

}  // namespace detail
}  // namespace io
}  // namespace mobilenet

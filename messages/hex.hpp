#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

/// Lower-case hex, the text form of peer ids and key files. Header-only and
/// free of CAF so that engines may use it too.
namespace crust::hex {

constexpr char digits[] = "0123456789abcdef";

/// The value of a hex digit (either case), or -1.
constexpr int value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// Appends the two digits of `byte`.
inline void append(std::string& out, uint8_t byte) {
  out += digits[byte >> 4];
  out += digits[byte & 0x0f];
}

/// Appends the digits of `size` bytes.
inline void append(std::string& out, const uint8_t* data, size_t size) {
  out.reserve(out.size() + 2 * size);
  for (size_t i = 0; i < size; ++i)
    append(out, data[i]);
}

/// The digits of `size` bytes.
inline std::string encode(const uint8_t* data, size_t size) {
  std::string out;
  append(out, data, size);
  return out;
}

/// A character as a person can read it in an error message: printable ASCII
/// as itself, anything else as \xNN.
inline std::string printable(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f)
    return std::string(1, c);
  std::string out = "\\x";
  append(out, u);
  return out;
}

} // namespace crust::hex

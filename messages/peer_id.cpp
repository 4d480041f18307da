#include "crust/messages/peer_id.hpp"

#include <cstring>
#include <ostream>

namespace crust {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

/// The value of a hex digit, or -1.
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// A character as a person can read it in an error message: printable ASCII
/// as itself, anything else as \xNN.
std::string printable(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f)
    return std::string(1, c);
  std::string out = "\\x";
  out += hex_digits[u >> 4];
  out += hex_digits[u & 0x0f];
  return out;
}

} // namespace

expected<peer_id> peer_id::parse(std::string_view hex) {
  if (hex.size() != hex_size)
    return {errc::bad_peer_id,
            "expected 64 hex characters, got " + std::to_string(hex.size())};
  bytes_type bytes{};
  for (size_t i = 0; i < hex.size(); ++i) {
    auto value = hex_value(hex[i]);
    if (value < 0)
      return {errc::bad_peer_id, "invalid character '" + printable(hex[i])
                                   + "' at position " + std::to_string(i)};
    auto& byte = bytes[i / 2];
    byte = static_cast<uint8_t>((byte << 4) | value);
  }
  return peer_id{bytes};
}

bool peer_id::is_zero() const noexcept {
  for (auto byte : bytes_)
    if (byte != 0)
      return false;
  return true;
}

std::string peer_id::to_hex() const {
  std::string out;
  out.reserve(hex_size);
  for (auto byte : bytes_) {
    out += hex_digits[byte >> 4];
    out += hex_digits[byte & 0x0f];
  }
  return out;
}

std::string peer_id::short_hex() const {
  return to_hex().substr(0, short_hex_size);
}

int peer_id::compare(const peer_id& other) const noexcept {
  return std::memcmp(bytes_.data(), other.bytes_.data(), size);
}

std::string to_string(const peer_id& x) {
  return x.to_hex();
}

std::ostream& operator<<(std::ostream& out, const peer_id& x) {
  return out << x.to_hex();
}

} // namespace crust

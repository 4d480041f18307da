#include "crust/messages/peer_id.hpp"

#include "crust/messages/hex.hpp"

#include <cstring>
#include <ostream>

namespace crust {

namespace {} // namespace

expected<peer_id> peer_id::parse(std::string_view hex) {
  if (hex.size() != hex_size)
    return {errc::bad_peer_id,
            "expected 64 hex characters, got " + std::to_string(hex.size())};
  bytes_type bytes{};
  for (size_t i = 0; i < hex.size(); ++i) {
    auto value = hex::value(hex[i]);
    if (value < 0)
      return {errc::bad_peer_id, "invalid character '" + hex::printable(hex[i])
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
  return hex::encode(bytes_.data(), bytes_.size());
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

#pragma once

#include "crust/messages/expected.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

namespace crust {

/// The identity of a node: its long-term X25519 static public key (32 bytes).
/// Written as 64 lower-case hex characters; `parse` also accepts upper case.
/// A default-constructed id is all zeros and names no node.
///
/// This header does not include CAF: the `inspect` overload is a template that
/// CAF instantiates where it needs it.
class peer_id {
public:
  /// Number of bytes in an id.
  static constexpr size_t size = 32;

  /// Number of hex characters in the written form.
  static constexpr size_t hex_size = 2 * size;

  /// Number of hex characters in the short form used for display.
  static constexpr size_t short_hex_size = 8;

  using bytes_type = std::array<uint8_t, size>;

  peer_id() noexcept = default;

  explicit peer_id(const bytes_type& bytes) noexcept : bytes_(bytes) {
    // nop
  }

  /// Parses exactly 64 hex characters (either case). Fails with
  /// `errc::bad_peer_id` and a detail such as "expected 64 hex characters,
  /// got 12" or "invalid character 'x' at position 7" (0-based).
  static expected<peer_id> parse(std::string_view hex);

  const bytes_type& bytes() const noexcept {
    return bytes_;
  }

  /// True for the default-constructed (all zero) id.
  bool is_zero() const noexcept;

  /// The 64 lower-case hex characters.
  std::string to_hex() const;

  /// The first 8 hex characters, for logs and displays only: short ids are
  /// not unique.
  std::string short_hex() const;

  /// Lexicographic comparison of the bytes: negative, zero or positive.
  int compare(const peer_id& other) const noexcept;

  template<class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, peer_id& x) {
    return f(x.bytes_);
  }

private:
  bytes_type bytes_{};
};

/// Same as `x.to_hex()`; CAF's `deep_to_string` picks this up.
std::string to_string(const peer_id& x);

/// Writes the 64 hex characters.
std::ostream& operator<<(std::ostream& out, const peer_id& x);

inline bool operator==(const peer_id& x, const peer_id& y) noexcept {
  return x.compare(y) == 0;
}

inline bool operator!=(const peer_id& x, const peer_id& y) noexcept {
  return x.compare(y) != 0;
}

inline bool operator<(const peer_id& x, const peer_id& y) noexcept {
  return x.compare(y) < 0;
}

inline bool operator<=(const peer_id& x, const peer_id& y) noexcept {
  return x.compare(y) <= 0;
}

inline bool operator>(const peer_id& x, const peer_id& y) noexcept {
  return x.compare(y) > 0;
}

inline bool operator>=(const peer_id& x, const peer_id& y) noexcept {
  return x.compare(y) >= 0;
}

} // namespace crust

namespace std {

template<>
struct hash<crust::peer_id> {
  /// FNV-1a over all 32 bytes.
  size_t operator()(const crust::peer_id& x) const noexcept {
    uint64_t h = 14695981039346656037ULL;
    for (auto byte : x.bytes()) {
      h ^= byte;
      h *= 1099511628211ULL;
    }
    return static_cast<size_t>(h);
  }
};

} // namespace std

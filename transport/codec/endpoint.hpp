#pragma once

#include "crust/messages/expected.hpp"
#include "crust/messages/peer_id.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

// Addresses as values: no Asio, no name resolution. The text forms accept
// literal IP addresses only; turning a host name into addresses is the Asio
// layer's job (it may block and may yield several answers), so a contact
// always names exactly one address.

namespace crust {

/// The family of an IP address; the values are the wire tags of
/// docs/wire-protocol.md ("Connection info").
enum class ip_family : uint8_t {
  v4 = 4,
  v6 = 6,
};

/// The transport an endpoint is reached with; the values are the wire tags
/// of docs/wire-protocol.md ("Connection info").
enum class transport_protocol : uint8_t {
  tcp = 1,
  udp = 2,
};

/// "tcp" or "udp".
std::string_view to_string(transport_protocol x) noexcept;

/// An IPv4 or IPv6 address as its network-order bytes. The default value is
/// the IPv4 address 0.0.0.0. IPv6 zone ids (`fe80::1%eth0`) are not
/// representable: they mean something only on the host that wrote them.
class ip_address {
public:
  /// Bytes of the largest address (IPv6).
  static constexpr size_t max_size = 16;

  /// Characters of the longest literal `parse` accepts (IPv6 with an
  /// embedded IPv4 part); `to_string` writes no more.
  static constexpr size_t max_text_size = 45;

  using v4_bytes = std::array<uint8_t, 4>;

  using v6_bytes = std::array<uint8_t, 16>;

  ip_address() noexcept = default;

  static ip_address v4(const v4_bytes& bytes) noexcept;

  static ip_address v6(const v6_bytes& bytes) noexcept;

  /// Parses a literal address without brackets or port: dotted-quad IPv4
  /// (`192.0.2.1`) or any RFC 4291 IPv6 form (`2001:db8::1`,
  /// `::ffff:192.0.2.1`). Fails with `errc::bad_address` and a detail naming
  /// the problem and its 0-based position: an invalid character, a host name,
  /// a zone id, or a malformed address.
  static expected<ip_address> parse(std::string_view text);

  ip_family family() const noexcept {
    return family_;
  }

  bool is_v4() const noexcept {
    return family_ == ip_family::v4;
  }

  bool is_v6() const noexcept {
    return family_ == ip_family::v6;
  }

  /// The 4 or 16 address bytes, network order.
  const uint8_t* data() const noexcept {
    return bytes_.data();
  }

  /// 4 or 16.
  size_t size() const noexcept {
    return is_v4() ? 4 : 16;
  }

  /// 0.0.0.0 or `::`: names no host.
  bool is_unspecified() const noexcept;

  /// 127.0.0.0/8 or `::1`.
  bool is_loopback() const noexcept;

  /// The canonical text form (RFC 5952 for IPv6), without brackets.
  std::string to_string() const;

  /// Orders IPv4 before IPv6, then by bytes: negative, zero or positive.
  int compare(const ip_address& other) const noexcept;

private:
  ip_family family_ = ip_family::v4;
  /// IPv4 uses the first 4 bytes; the rest stay zero.
  v6_bytes bytes_{};
};

std::string to_string(const ip_address& x);

std::ostream& operator<<(std::ostream& out, const ip_address& x);

inline bool operator==(const ip_address& x, const ip_address& y) noexcept {
  return x.compare(y) == 0;
}

inline bool operator!=(const ip_address& x, const ip_address& y) noexcept {
  return x.compare(y) != 0;
}

inline bool operator<(const ip_address& x, const ip_address& y) noexcept {
  return x.compare(y) < 0;
}

/// Where a peer can be reached: transport, IP address and port.
///
/// Text form: `[tcp://|udp://]ADDRESS:PORT`, IPv6 in brackets
/// (`192.0.2.1:5483`, `udp://[2001:db8::1]:5483`). Without a scheme the
/// transport is TCP, and `to_string` leaves `tcp://` out.
struct endpoint {
  transport_protocol protocol = transport_protocol::tcp;
  ip_address ip;
  uint16_t port = 0;

  /// Parses the text form. Fails with `errc::bad_address` and a detail naming
  /// the problem and its 0-based position: unknown scheme, missing address or
  /// port, an IPv6 address without brackets, a host name, a port of 0 or
  /// above 65535, trailing characters.
  static expected<endpoint> parse(std::string_view text);

  std::string to_string() const;

  /// Orders by protocol, address, then port.
  int compare(const endpoint& other) const noexcept;
};

std::string to_string(const endpoint& x);

std::ostream& operator<<(std::ostream& out, const endpoint& x);

inline bool operator==(const endpoint& x, const endpoint& y) noexcept {
  return x.compare(y) == 0;
}

inline bool operator!=(const endpoint& x, const endpoint& y) noexcept {
  return x.compare(y) != 0;
}

inline bool operator<(const endpoint& x, const endpoint& y) noexcept {
  return x.compare(y) < 0;
}

/// A peer id and one endpoint: what a user dials.
///
/// Text form: `[tcp://|udp://]PEERID@ADDRESS:PORT`, e.g.
/// `PEERID@192.0.2.1:5483` or `udp://PEERID@[2001:db8::1]:5483`, where
/// PEERID is the 64 hex characters of the peer id.
struct contact {
  peer_id id;
  endpoint addr;

  /// Parses the text form. Fails with `errc::bad_peer_id` for a malformed or
  /// all-zero peer id and `errc::bad_address` otherwise (a missing '@', a
  /// scheme after the '@', and every endpoint error); details name the
  /// problem and its 0-based position in `text`.
  static expected<contact> parse(std::string_view text);

  std::string to_string() const;
};

std::string to_string(const contact& x);

std::ostream& operator<<(std::ostream& out, const contact& x);

inline bool operator==(const contact& x, const contact& y) noexcept {
  return x.id == y.id && x.addr == y.addr;
}

inline bool operator!=(const contact& x, const contact& y) noexcept {
  return !(x == y);
}

} // namespace crust

#pragma once

#include "crust/messages/expected.hpp"
#include "crust/messages/peer_id.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/codec/endpoint.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crust {

/// What a node hands to a peer, out of band, so that the peer can connect to
/// it: its id and every endpoint it may be reached on, most preferred first.
/// It holds no secrets and no local resources (those stay in the node's
/// private connection info); a node that cannot be reached directly
/// publishes no endpoints.
///
/// Two forms, both specified in docs/wire-protocol.md ("Connection info"):
/// - binary: a version byte, a kind byte, the peer id, then a counted list
///   of tagged endpoints; at most `max_size` bytes;
/// - text: `crustinfo:` then the binary and a CRC-32C in lower-case base32,
///   one line without spaces or quotes, for copy and paste between shells.
///
/// Decoding is strict (every value has exactly one encoding, so decoding and
/// encoding again gives the same bytes or text) and never allocates more
/// than `max_endpoints` endpoints, whatever the input declares.
struct public_connection_info {
  // -- format constants -------------------------------------------------------

  /// The version this build writes and the only one it reads.
  static constexpr uint8_t version = 1;

  /// The kind byte of public connection info.
  static constexpr uint8_t kind = 1;

  /// Most endpoints one info may carry.
  static constexpr size_t max_endpoints = 32;

  /// Bytes in front of the endpoint list: version, kind, peer id, count.
  static constexpr size_t header_size = 3 + peer_id::size;

  /// Bytes of the largest endpoint record: tag, IPv6 address, port.
  static constexpr size_t max_endpoint_size = 1 + 16 + 2;

  /// Bytes of the smallest endpoint record: tag, IPv4 address, port.
  static constexpr size_t min_endpoint_size = 1 + 4 + 2;

  /// Largest binary form.
  static constexpr size_t max_size = header_size
                                     + max_endpoints * max_endpoint_size;

  /// What every text form starts with.
  static constexpr std::string_view text_prefix = "crustinfo:";

  /// Bytes of the checksum inside the text form.
  static constexpr size_t checksum_size = 4;

  /// Longest text form (of the largest binary form).
  static constexpr size_t max_text_size
    = text_prefix.size() + ((max_size + checksum_size) * 8 + 4) / 5;

  // -- data
  // ---------------------------------------------------------------------

  peer_id id;

  /// Most preferred first. No duplicates, no port 0, no unspecified address.
  std::vector<endpoint> endpoints;

  // -- checks and codecs
  // --------------------------------------------------------

  /// Checks what the encoders require and the decoders enforce: a non-zero
  /// peer id and at most `max_endpoints` distinct endpoints, none with port
  /// 0 or an unspecified address (0.0.0.0, ::). Fails with
  /// `errc::bad_connection_info` and a detail naming the endpoint (0-based).
  status validate() const;

  /// The binary form. Fails as `validate`.
  expected<byte_buffer> to_bytes() const;

  /// The text form. Fails as `validate`.
  expected<std::string> to_text() const;

  /// Decodes the binary form, which must fill `bytes` exactly. Fails with
  /// `errc::unknown_version` for a version other than `version` and with
  /// `errc::bad_connection_info` otherwise (truncated, wrong kind, too many
  /// endpoints, unknown endpoint tag, trailing bytes, and what `validate`
  /// refuses); details name the byte offset or the endpoint (0-based).
  static expected<public_connection_info> from_bytes(const_byte_span bytes);

  /// Decodes the text form; ASCII whitespace around it is ignored. Fails
  /// with `errc::bad_connection_info` and a detail naming the problem and its
  /// 0-based character position: wrong prefix, invalid character, truncated,
  /// checksum mismatch; then as `from_bytes`.
  static expected<public_connection_info> from_text(std::string_view text);
};

inline bool operator==(const public_connection_info& x,
                       const public_connection_info& y) {
  return x.id == y.id && x.endpoints == y.endpoints;
}

inline bool operator!=(const public_connection_info& x,
                       const public_connection_info& y) {
  return !(x == y);
}

/// What a node keeps for itself when it prepares connection info: the public
/// part to hand out, plus (later) local resources such as a bound hole-punch
/// socket, which must never leave the node.
struct private_connection_info {
  public_connection_info pub;

  /// The part to send to the peer.
  const public_connection_info& to_public() const noexcept {
    return pub;
  }
};

/// CRC-32C (Castagnoli; reflected, initial value and final XOR all ones) of
/// `bytes`: the checksum of the text form.
uint32_t crc32c(const_byte_span bytes) noexcept;

} // namespace crust

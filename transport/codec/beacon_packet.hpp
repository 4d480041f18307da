#pragma once

#include "crust/messages/expected.hpp"
#include "crust/messages/peer_id.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/codec/endpoint.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

// LAN beacon datagrams (docs/discovery.md, "LAN beacon packets"):
//
//   request = version (u8) | kind 1 (u8) | network hash (32) | nonce (8)
//             | zero padding to exactly `request_size` bytes
//   reply   = version (u8) | kind 2 (u8) | network hash (32) | nonce (8)
//             | peer id (32) | count (u8) | count × record
//   record  = tag (u8) | address (4 or 16) | port (u16 BE)
//
// Records use the tags of public connection info (0x14, 0x16, 0x24, 0x26).
// A reply echoes the request's nonce, so that a requester takes only
// answers to its own requests. Requests are padded so that no reply is
// larger than `max_amplification` times the request that caused it.

namespace crust::beacon {

/// The version this build writes and the only one it reads.
constexpr uint8_t version = 1;

/// Bytes of the network-name hash.
constexpr size_t hash_size = 32;

using network_hash = std::array<uint8_t, hash_size>;

/// Bytes of a request, padding included (any other size is malformed).
constexpr size_t request_size = 256;

/// Bytes in front of a reply's records.
constexpr size_t reply_header_size = 2 + hash_size + 8 + peer_id::size + 1;

/// Most endpoints a reply carries (the most preferred ones).
constexpr size_t max_reply_endpoints = 16;

/// Largest reply: every record an IPv6 one.
constexpr size_t max_reply_size = reply_header_size
                                  + max_reply_endpoints * (1 + 16 + 2);

/// No reply is larger than this many times a request.
constexpr double max_amplification = 1.5;

static_assert(max_reply_size <= request_size * max_amplification,
              "a reply may not amplify a request beyond the factor");

/// The hash a network name is known by on the LAN: SHA-256 of
/// "crust-beacon-v1:" followed by the name (domain-separated from the
/// handshake's prologue hash).
network_hash hash_network_name(std::string_view name);

/// "Who is out there on network `network`?"
struct request {
  network_hash network{};
  uint64_t nonce = 0;
};

/// "I am `id`, reachable at `endpoints`", answering `nonce`.
struct reply {
  network_hash network{};
  uint64_t nonce = 0;
  peer_id id;
  /// Most preferred first; at most `max_reply_endpoints` are encoded.
  std::vector<endpoint> endpoints;
};

bool operator==(const request& x, const request& y);
bool operator==(const reply& x, const reply& y);

using packet = std::variant<request, reply>;

/// Exactly `request_size` bytes.
byte_buffer encode(const request& x);

/// At most `max_reply_size` bytes: endpoints beyond `max_reply_endpoints`,
/// with port 0 or an unspecified address, or repeated, are left out. Fails
/// with `errc::malformed_message` for a zero peer id.
expected<byte_buffer> encode(const reply& x);

/// Decodes one datagram. Never reads beyond `bytes` and never allocates
/// more than `max_reply_endpoints` records. Fails with
/// `errc::unknown_version` for another version and `errc::malformed_message`
/// otherwise (wrong size, unknown kind, non-zero padding, zero peer id, too
/// many or unknown records, unspecified address, port 0, duplicates,
/// trailing bytes), with a detail naming the problem.
expected<packet> decode(const_byte_span bytes);

} // namespace crust::beacon

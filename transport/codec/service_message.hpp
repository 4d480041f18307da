#pragma once

#include "crust/messages/expected.hpp"
#include "crust/messages/peer_id.hpp"
#include "crust/transport/byte_span.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

/// The bodies of service frames (frame type 7, docs/wire-protocol.md §6):
/// what two SERVICES tell each other over an established secure channel.
/// Every body starts with a version byte; strings carry a u8 length; lists a
/// u8 count. Decoders are strict: a wrong version, a field out of range, a
/// bad endpoint text or a trailing byte fails the whole message.
namespace crust::codec {

/// The frame value of a service frame.
enum class service_kind : uint16_t {
  /// "Grant me a bootstrap": who we are and where we listen.
  bootstrap_request = 1,
  /// The bootstrap is granted: the connection stays.
  bootstrap_grant = 2,
  /// The bootstrap is denied, with the reason; the denier closes.
  bootstrap_deny = 3,
  /// "Which address do you see me at?"
  echo_request = 4,
  /// The address the peer sees us at.
  echo_reply = 5,
  /// Contacts the sender was recently directly connected to.
  gossip = 6,
};

/// Version byte of every service message body.
constexpr uint8_t service_message_version = 1;

/// Most endpoints a bootstrap request or a gossip contact carries.
constexpr size_t max_service_endpoints = 8;

/// Most contacts one gossip message carries.
constexpr size_t max_gossip_contacts = 32;

/// Longest deny text (longer texts are cut by the encoder).
constexpr size_t max_deny_text = 200;

/// Whether a bootstrapping peer is a node (reachable, accepts connections)
/// or a client (only dials out).
enum class bootstrap_role : uint8_t {
  node = 1,
  client = 2,
};

struct bootstrap_request_body {
  bootstrap_role role = bootstrap_role::node;
  /// Where the requester listens (endpoint texts); a node's are tested.
  std::vector<std::string> endpoints;
};

struct bootstrap_deny_body {
  /// Why (an `errc`: network_mismatch, not_whitelisted, not_reachable,
  /// not_accepting...).
  errc reason = errc::not_accepting;
  std::string text;
};

struct echo_request_body {
  /// Matches the reply to the request.
  uint64_t nonce = 0;
};

struct echo_reply_body {
  uint64_t nonce = 0;
  /// The requester's address as the replier sees it (endpoint text).
  std::string observed;
};

struct gossip_contact {
  peer_id peer;
  std::vector<std::string> endpoints;
};

struct gossip_body {
  std::vector<gossip_contact> contacts;
};

/// Encoders. Endpoint lists and contact lists are cut to their maximum;
/// endpoint texts are written as given (callers pass valid ones).
byte_buffer encode(const bootstrap_request_body& x);
byte_buffer encode(const bootstrap_deny_body& x);
byte_buffer encode(const echo_request_body& x);
byte_buffer encode(const echo_reply_body& x);
byte_buffer encode(const gossip_body& x);

/// An empty body with the version byte (bootstrap_grant).
byte_buffer encode_empty();

/// Decoders: `malformed_message` or `unknown_version` with what was wrong.
expected<bootstrap_request_body> decode_bootstrap_request(const_byte_span in);
expected<bootstrap_deny_body> decode_bootstrap_deny(const_byte_span in);
expected<echo_request_body> decode_echo_request(const_byte_span in);
expected<echo_reply_body> decode_echo_reply(const_byte_span in);
expected<gossip_body> decode_gossip(const_byte_span in);
status decode_empty(const_byte_span in);

} // namespace crust::codec

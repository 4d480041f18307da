#pragma once

#include "crust/messages/peer_id.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

/// What a CONNECTION (messages/interfaces.hpp) tells its SINK. Payloads are
/// `std::vector<uint8_t>`, the same type as `crust::byte_buffer` in
/// transport/byte_span.hpp (spelled out here: messages/ includes nothing from
/// transport/).
namespace crust {

/// transport/tcp_stream.hpp: a TCP socket on the io thread.
class tcp_stream;

/// Why a connection ends, as the u16 value of a close frame
/// (docs/wire-protocol.md, "Close reasons"). The peer maps what it receives
/// to an error: `duplicate` is quiet, the others end in `lost_peer`.
enum class close_code : uint16_t {
  /// The application closed the connection (`disconnect`).
  normal = 0,
  /// The peer sent something malformed or forged.
  protocol_error = 1,
  /// Nothing arrived within the inactivity timeout.
  inactivity = 2,
  /// Another connection to the same peer was kept (the larger id chose).
  duplicate = 3,
  /// The peer's id or address is banned.
  banned = 4,
  /// The peer's address is not on the whitelist.
  not_whitelisted = 5,
  /// The peer exceeded the configured message or byte rate.
  rate_exceeded = 6,
  /// The node is shutting down.
  shutdown = 7,
};

/// The secure-channel handshake completed: `peer` proved that it holds the
/// static key with this id (and, if one was dialled, it is the expected one).
/// Sent once, before any other event of the connection. The connection now
/// waits to be chosen: the SINK of the side with the larger peer id sends it
/// `choose` (or `close` with `close_code::duplicate`); the other side waits
/// for the peer's choice, which arrives as `established`.
struct authenticated {
  peer_id peer;
  /// The peer's transport address, "a.b.c.d:port" or "[v6]:port".
  std::string remote;
  /// True if we dialled, false if we accepted.
  bool initiated = false;
  /// True for an rUDP SESSION, false for a TCP CONNECTION.
  bool rudp = false;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, authenticated& x) {
  return f(caf::meta::type_name("authenticated"), x.peer, x.remote, x.initiated,
           x.rudp);
}

/// The connection was chosen (by us with `choose`, or by the peer with a
/// choose frame) and now carries application messages; queued sends go out.
struct established {
  peer_id peer;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, established& x) {
  return f(caf::meta::type_name("established"), x.peer);
}

/// One complete application message from `peer`.
struct new_message {
  peer_id peer;
  std::vector<uint8_t> payload;
  /// The priority the sender gave it (lower is more urgent).
  uint8_t priority = 0;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_message& x) {
  return f(caf::meta::type_name("new_message"), x.peer, x.payload, x.priority);
}

/// A service frame from `peer` (bootstrap, echo, gossip: the kinds and
/// bodies are in transport/codec/service_message.hpp). Only after the
/// connection was chosen.
struct service_frame {
  peer_id peer;
  uint16_t kind = 0;
  std::vector<uint8_t> body;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_frame& x) {
  return f(caf::meta::type_name("service_frame"), x.peer, x.kind, x.body);
}

/// The connection to `peer` ended without a local `close`: the peer closed
/// it, the transport failed, or nothing arrived within the inactivity
/// timeout. The CONNECTION terminates right after sending this, with
/// `reason` as its exit reason.
struct lost_peer {
  peer_id peer;
  caf::error reason;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, lost_peer& x) {
  return f(caf::meta::type_name("lost_peer"), x.peer, x.reason);
}

/// `peer` sent something a genuine peer never sends (a forged or corrupted
/// frame, a malformed frame, a message above the maximum size). The
/// CONNECTION terminates right after sending this, with `reason` as its exit
/// reason; `reason` says what the peer did (`sys.render(reason)` reads
/// "authentication failed: ...").
struct peer_misbehaved {
  peer_id peer;
  caf::error reason;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_misbehaved& x) {
  return f(caf::meta::type_name("peer_misbehaved"), x.peer, x.reason);
}

/// A `send` to `peer` was refused because the message has `size` bytes, more
/// than the maximum message size; `payload` is the message handed back.
/// Raised on the sending side; the connection stays up.
struct message_too_large {
  peer_id peer;
  uint64_t size = 0;
  std::vector<uint8_t> payload;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, message_too_large& x) {
  return f(caf::meta::type_name("message_too_large"), x.peer, x.size,
           x.payload);
}

/// Queued messages to `peer` were dropped: by the drop rule (the oldest
/// message of a droppable queue waited longer than the expiry; that queue
/// and every less urgent one go), or because the connection ended with
/// messages still queued. Raised on the sending side.
struct messages_dropped {
  peer_id peer;
  uint64_t messages = 0;
  uint64_t bytes = 0;
  /// The most urgent priority that lost messages.
  uint8_t from_priority = 0;
  /// E.g. "dropped 3 messages (300 bytes): 1 of priority 2 (100 bytes), ...".
  std::string detail;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, messages_dropped& x) {
  return f(caf::meta::type_name("messages_dropped"), x.peer, x.messages,
           x.bytes, x.from_priority, x.detail);
}

/// Counters of one connection, for `get stats`. Bytes count what crossed the
/// transport (handshake, frame headers and tags included); messages count
/// application messages.
struct connection_stats {
  /// The peer; zero until the handshake revealed it (or the dialled id).
  peer_id peer;
  /// The peer's transport address ("a.b.c.d:port", "[v6]:port").
  std::string remote;
  /// True if we dialled.
  bool initiated = false;
  /// True once the handshake completed.
  bool connected = false;
  /// True once the connection was chosen and carries messages.
  bool established = false;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t messages_in = 0;
  uint64_t messages_out = 0;
  uint64_t keepalives_in = 0;
  uint64_t keepalives_out = 0;
  /// Service frames (bootstrap, echo, gossip).
  uint64_t service_frames_in = 0;
  uint64_t service_frames_out = 0;
  /// Messages and payload bytes waiting in the send queues.
  uint64_t queued_messages = 0;
  uint64_t queued_bytes = 0;
  /// Bytes handed to the transport and not yet written to the socket.
  uint64_t unflushed_bytes = 0;
  /// Messages and payload bytes dropped from the send queues.
  uint64_t dropped_messages = 0;
  uint64_t dropped_bytes = 0;
  /// "tcp" or "rudp".
  std::string transport = "tcp";
  /// rUDP only (zero over TCP, where the kernel recovers losses): lost
  /// packets, those found by the time threshold, probe timeouts, stream
  /// bytes sent again, and the smoothed round-trip time.
  uint64_t packets_lost = 0;
  uint64_t packets_lost_by_time = 0;
  uint64_t probe_timeouts = 0;
  uint64_t bytes_retransmitted = 0;
  uint64_t smoothed_rtt_us = 0;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_stats& x) {
  return f(caf::meta::type_name("connection_stats"), x.peer, x.remote,
           x.initiated, x.connected, x.established, x.bytes_in, x.bytes_out,
           x.messages_in, x.messages_out, x.keepalives_in, x.keepalives_out,
           x.service_frames_in, x.service_frames_out, x.queued_messages,
           x.queued_bytes, x.unflushed_bytes, x.dropped_messages,
           x.dropped_bytes, x.transport, x.packets_lost, x.packets_lost_by_time,
           x.probe_timeouts, x.bytes_retransmitted, x.smoothed_rtt_us);
}

} // namespace crust

// An accepted TCP stream travels from the io thread to the actor that wires
// it to a CONNECTION, as `(accepted, std::shared_ptr<tcp_stream>)`. Local only:
// a socket cannot leave the process, and CAF's serializer would skip it.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<crust::tcp_stream>)

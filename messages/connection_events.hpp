#pragma once

#include "crust/messages/peer_id.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <memory>
#include <vector>

/// What a CONNECTION (messages/interfaces.hpp) tells its SINK. Payloads are
/// `std::vector<uint8_t>`, the same type as `crust::byte_buffer` in
/// transport/byte_span.hpp (spelled out here: messages/ includes nothing from
/// transport/).
namespace crust {

/// transport/tcp_stream.hpp: a TCP socket on the io thread.
class tcp_stream;

/// The secure-channel handshake completed: `peer` proved that it holds the
/// static key with this id (and, if one was dialled, it is the expected one).
/// Sent once, before any other event of the connection.
struct connected {
  peer_id peer;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, connected& x) {
  return f(caf::meta::type_name("connected"), x.peer);
}

/// One complete application message from `peer`.
struct new_message {
  peer_id peer;
  std::vector<uint8_t> payload;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_message& x) {
  return f(caf::meta::type_name("new_message"), x.peer, x.payload);
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

/// Counters of one connection, for `get stats`. Bytes count what crossed the
/// transport (handshake, frame headers and tags included); messages count
/// application messages.
struct connection_stats {
  /// The peer; zero until the handshake revealed it (or the dialled id).
  peer_id peer;
  /// True once the handshake completed.
  bool connected = false;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t messages_in = 0;
  uint64_t messages_out = 0;
  uint64_t keepalives_in = 0;
  uint64_t keepalives_out = 0;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_stats& x) {
  return f(caf::meta::type_name("connection_stats"), x.peer, x.connected,
           x.bytes_in, x.bytes_out, x.messages_in, x.messages_out,
           x.keepalives_in, x.keepalives_out);
}

} // namespace crust

// An accepted TCP stream travels from the io thread to the actor that wires
// it to a CONNECTION, as `(accepted, std::shared_ptr<tcp_stream>)`. Local only:
// a socket cannot leave the process, and CAF's serializer would skip it.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<crust::tcp_stream>)

#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <memory>

/// What a UDP ENDPOINT (messages/interfaces.hpp) reports, and the datagram
/// batches it exchanges with its socket and its rUDP SESSIONS.
namespace crust {

/// transport/udp_socket.hpp: datagrams with their peer addresses, moved
/// between the io thread and actors in one message.
struct datagram_batch;

/// Counters of one UDP ENDPOINT, for `get stats`. Every datagram received
/// lands in `datagrams_received` and in at most one `dropped_*` counter.
struct udp_endpoint_stats {
  uint64_t datagrams_received = 0;
  uint64_t bytes_received = 0;
  uint64_t datagrams_sent = 0;
  uint64_t bytes_sent = 0;
  /// Too short or of another version: no connection id to read.
  uint64_t dropped_malformed = 0;
  /// For a connection id no session has.
  uint64_t dropped_unknown_connection = 0;
  /// For a session's id, but from another address than the session's.
  uint64_t dropped_wrong_address = 0;
  /// From an unknown source beyond its token bucket or the total one.
  uint64_t dropped_rate_limited = 0;
  /// Opened a connection while the endpoint does not accept, or while the
  /// limit of sessions still handshaking was reached.
  uint64_t dropped_not_accepted = 0;
  /// Datagrams a session wanted to send to an address not yet validated
  /// beyond three times what that address sent us (never sent).
  uint64_t blocked_amplification = 0;
  /// Datagrams the socket refused (buffer full, unreachable).
  uint64_t send_errors = 0;
  uint64_t sessions_accepted = 0;
  uint64_t sessions_initiated = 0;
  /// Sessions alive now.
  uint64_t sessions = 0;

  uint64_t dropped_total() const noexcept {
    return dropped_malformed + dropped_unknown_connection
           + dropped_wrong_address + dropped_rate_limited
           + dropped_not_accepted;
  }
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, udp_endpoint_stats& x) {
  return f(caf::meta::type_name("udp_endpoint_stats"), x.datagrams_received,
           x.bytes_received, x.datagrams_sent, x.bytes_sent,
           x.dropped_malformed, x.dropped_unknown_connection,
           x.dropped_wrong_address, x.dropped_rate_limited,
           x.dropped_not_accepted, x.blocked_amplification, x.send_errors,
           x.sessions_accepted, x.sessions_initiated, x.sessions);
}

} // namespace crust

// Datagram batches hold socket addresses and stay in the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<crust::datagram_batch>)

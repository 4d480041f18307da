#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/rudp/congestion_controller.hpp"
#include "crust/transport/rudp/connection_config.hpp"
#include "crust/transport/rudp/connection_events.hpp"
#include "crust/transport/rudp/rtt_estimator.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace crust::rudp {

enum class connection_state : uint8_t {
  /// The secure-channel handshake is running.
  handshaking,
  /// Messages flow both ways.
  established,
  /// `close()` was called: queued and in-flight data still go out, then a
  /// CLOSE frame; new messages are refused.
  closing,
  /// The peer closed: we acknowledge its CLOSE for a while and send nothing
  /// else.
  draining,
  /// Over; `closed_event` was emitted.
  closed,
};

std::string_view to_string(connection_state x) noexcept;

/// Counters of one connection. Every datagram that is dropped lands in
/// exactly one `dropped_*` counter and changes nothing else.
struct connection_stats {
  uint64_t datagrams_received = 0;
  uint64_t datagrams_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  /// Authenticated data packets accepted.
  uint64_t packets_received = 0;
  /// Data packets sent (ack-only ones included).
  uint64_t packets_sent = 0;
  uint64_t packets_lost = 0;
  /// Lost packets found by the time threshold rather than the packet one.
  uint64_t packets_lost_by_time = 0;
  /// Probe timeouts that fired.
  uint64_t probe_timeouts = 0;
  uint64_t handshake_retransmissions = 0;
  /// Stream bytes sent for the first time, and again after a loss.
  uint64_t stream_bytes_sent = 0;
  uint64_t stream_bytes_retransmitted = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t mtu_probes_sent = 0;
  // -- dropped input -------------------------------------------------------
  /// Too short, an unknown type, bad header fields.
  uint64_t dropped_malformed = 0;
  uint64_t dropped_unknown_version = 0;
  /// Another connection's id, or a handshake packet from another source id.
  uint64_t dropped_wrong_connection = 0;
  /// Failed authentication (forged, corrupted, wrong key).
  uint64_t dropped_decrypt_failed = 0;
  /// A packet number seen before, or older than the replay window.
  uint64_t dropped_replayed = 0;
  /// Valid in form but not now: data before the keys, handshake packets
  /// after it, anything after the close.
  uint64_t dropped_unexpected = 0;

  uint64_t dropped_total() const noexcept {
    return dropped_malformed + dropped_unknown_version
           + dropped_wrong_connection + dropped_decrypt_failed
           + dropped_replayed + dropped_unexpected;
  }
};

/// One rUDP connection, sans-I/O: the caller hands in datagrams and the
/// current time, takes datagrams and events out, and calls `on_timeout` at
/// `next_timeout()`. It never reads a clock, never blocks and owns no
/// socket; one caller (one actor) owns it.
///
/// Typical driving loop (the caller's):
///
///     conn.on_datagram(bytes, now);          // for each datagram received
///     while (auto ev = conn.poll_event()) ...
///     while (conn.poll_datagram(now, buf)) socket.send(buf);
///     timer.arm(conn.next_timeout());        // then on_timeout(now) there
class connection {
public:
  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;
  ~connection();

  /// Validates `cfg` and prepares the handshake. An initiator's first
  /// handshake datagram is ready for `poll_datagram` at once; a responder
  /// waits for the initiator's first datagram.
  static expected<connection> create(connection_config cfg, time_point now);

  /// Feeds one received datagram. Bad input is counted in the stats and
  /// otherwise ignored.
  void on_datagram(const_byte_span datagram, time_point now);

  /// Writes the next datagram to send into `out` (replacing its contents);
  /// false when nothing may go out now (pacing, congestion window, nothing
  /// to say). Call until false after every input.
  bool poll_datagram(time_point now, byte_buffer& out);

  /// The next event, if any.
  std::optional<event> poll_event();

  /// Handles whatever timer is due at `now` (calling it early is harmless).
  void on_timeout(time_point now);

  /// When `on_timeout` must run next; none once closed. A time already
  /// past means "now" (e.g. datagrams wait to be polled).
  std::optional<time_point> next_timeout() const;

  /// Queues a message (at most the maximum message size) with a priority;
  /// lower numbers go first, priorities >= 2 may be dropped by the drop
  /// rule. Allowed while handshaking. Fails with `message_too_large`,
  /// `queue_full`, or `shutting_down` once closing.
  status send(uint8_t prio, byte_buffer&& message, time_point now);

  /// Graceful close: delivers what is queued and in flight, then tells the
  /// peer. Ends with `closed_event` carrying `errc::none`.
  void close(time_point now);

  /// Immediate close: tells the peer (one CLOSE frame, not retransmitted),
  /// drops what is queued and emits `closed_event` with `reason`.
  void abort(failure reason, time_point now);

  connection_state state() const noexcept;

  uint64_t local_id() const noexcept;

  /// The peer's connection id (0 until its first handshake datagram).
  uint64_t remote_id() const noexcept;

  /// The peer's static key once the handshake completed.
  std::optional<noise::key32> peer_id() const;

  const connection_stats& stats() const noexcept;

  /// The datagram size in use (grows as MTU probes succeed).
  size_t mtu() const noexcept;

  const rtt_estimator& rtt() const noexcept;

  const congestion_controller& congestion() const noexcept;

  size_t bytes_in_flight() const noexcept;

  /// Messages and bytes waiting in the send queue (not yet on the stream).
  size_t queued_messages() const noexcept;

  /// Payload bytes waiting in the send queue (not yet on the stream).
  size_t queued_bytes() const noexcept;

private:
  struct impl;
  explicit connection(std::unique_ptr<impl> ptr) noexcept;
  std::unique_ptr<impl> impl_;
};

} // namespace crust::rudp

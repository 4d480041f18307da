#pragma once

#include "crust/actors/connection.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/transport/rudp/connection.hpp"
#include "crust/transport/udp_socket.hpp"

#include <caf/error.hpp>
#include <caf/result.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace crust {

/// How an rUDP SESSION runs: the identity and limits of a TCP CONNECTION
/// (side, keys, network, expected peer, message size, queue bytes and
/// expiry, refusal; the TCP-only timers are unused) plus the engine's
/// transport settings (its `channel` and `queue` are filled in from
/// `connection`; its `local_id` is set by the UDP ENDPOINT).
struct rudp_session_config {
  connection_config connection;
  rudp::connection_config engine;
};

/// The engine configuration a session runs with: `cfg.engine` with the
/// channel and queue taken from `cfg.connection`.
rudp::connection_config engine_config(const rudp_session_config& cfg);

/// State of an rUDP SESSION (messages/interfaces.hpp): one
/// `rudp::connection` driven by datagrams from the UDP ENDPOINT, the
/// owner's requests and one timer.
///
/// Towards the owner it behaves as a TCP CONNECTION: `authenticated` when
/// the handshake completes, then the choice of wire-protocol.md §5.1
/// (`choose` from the owner, a choose envelope from the peer) before
/// `established`, all within the handshake timeout; messages, service
/// frames and the choice travel in the session envelope
/// (transport/codec/session_envelope.hpp, docs/rudp.md §10.1) inside the
/// engine's ordered messages. Sends before `established` wait in the
/// session.
///
/// Timer: the engine's `next_timeout()` maps to one `delayed_send` tagged
/// with a generation number; a timer that is not the latest is ignored, and
/// a new one is armed only when the deadline moved earlier.
///
/// Sending: a responder whose peer has not completed the handshake sends
/// through the ENDPOINT (which bounds it to three times what the address
/// sent); an initiator, and any session once the handshake completed,
/// hands its datagrams straight to the socket.
///
/// The end: a local `close` is a graceful engine close and a normal exit
/// once the engine finished; `abort` style closes (a code other than
/// normal) send one CLOSE. Any other end: `lost_peer` (or `peer_misbehaved`
/// for a malformed or forged packet stream) if established, then the exit
/// with the reason; queued messages are reported as `messages_dropped`.
struct rudp_session_state {
  static inline const char* name = "rudp_session";

  rudp_session_actor::stateful_pointer<rudp_session_state> self = nullptr;

  rudp_session_config cfg;
  std::optional<rudp::connection> conn;
  udp_endpoint_actor endpoint;
  std::shared_ptr<udp_socket> socket;
  asio::ip::udp::endpoint remote;
  std::string remote_text;
  connection_sink_actor sink;

  peer_id peer;
  /// The engine's handshake completed (the peer is authenticated).
  bool handshake_done = false;
  /// The choice (wire-protocol.md §5.1), as in a TCP CONNECTION.
  bool choose_allowed = false;
  bool sent_choose = false;
  bool got_choose = false;
  bool established = false;

  /// Sends made before `established`, in order.
  std::vector<std::pair<uint8_t, byte_buffer>> held;
  size_t held_bytes = 0;

  rate_limiter message_rate;
  rate_limiter byte_rate;
  /// A local `close` ran: the end is normal, the SINK hears nothing more.
  bool closed_locally = false;
  /// The engine emitted `closed_event`; the actor quits once the engine is
  /// `closed` (it may still acknowledge the peer's CLOSE for a while).
  std::optional<caf::error> exit_reason;

  /// The armed timer, if any: its generation and deadline.
  uint64_t timer_generation = 0;
  std::optional<rudp::time_point> timer_deadline;

  uint64_t dropped_messages = 0;
  uint64_t dropped_bytes = 0;
  uint64_t service_frames_in = 0;
  uint64_t service_frames_out = 0;

  /// Creates the engine and sends an initiator's first datagram.
  caf::error start();

  void on_datagrams(const datagram_batch& batch);
  void on_datagram(const byte_buffer& bytes);
  void on_timer(uint64_t generation);
  caf::result<uint64_t> send(uint8_t prio, byte_buffer payload);
  void send_service(uint16_t kind, const byte_buffer& body);
  void choose();
  void on_handshake_deadline();
  void close(uint16_t code, const std::string& text);
  void abort(failure reason);
  connection_stats current_stats() const;

  static rudp::time_point now();

private:
  /// After every input: events, datagrams, the timer.
  void pump();
  void handle(rudp::event& ev);
  void on_message(rudp::message_event& msg);
  /// True if we have the larger peer id (we pick the connection).
  bool leads() const;
  /// Queues a choose envelope.
  void send_choose();
  void establish();
  void ship(std::shared_ptr<datagram_batch>& batch);
  void arm(rudp::time_point deadline, rudp::time_point t);
  void report_dropped(const codec::drop_report& report);
  void on_closed(const failure& reason);
};

/// Spawn function of an rUDP SESSION. The UDP ENDPOINT spawns sessions
/// (`connect`, and responders for new initiators); it registers the
/// session's local id (in `cfg.engine.local_id`) before any datagram
/// arrives.
/// @param remote The peer's address; every datagram goes there.
rudp_session_actor::behavior_type
rudp_session(rudp_session_actor::stateful_pointer<rudp_session_state> self,
             rudp_session_config cfg, udp_endpoint_actor endpoint,
             std::shared_ptr<udp_socket> socket, asio::ip::udp::endpoint remote,
             connection_sink_actor sink);

} // namespace crust

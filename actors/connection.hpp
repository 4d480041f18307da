#pragma once

#include "crust/messages/config.hpp"
#include "crust/messages/connection_events.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/peer_id.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/noise/channel_handshake.hpp"
#include "crust/transport/noise/frame_codec.hpp"

#include <caf/actor_clock.hpp>
#include <caf/error.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crust {

/// How a CONNECTION runs (messages/interfaces.hpp). The defaults are the
/// original Crust's; tests shorten nothing, they run on virtual time.
struct connection_config {
  /// Initiator (we dialled) or responder (we accepted).
  noise::role side = noise::role::initiator;

  /// The node's long-term key pair; its public half is our peer id.
  noise::keypair local_static;

  /// Nodes only talk within one network (bound into the handshake).
  std::string network_name = node_config::default_network_name;

  /// The peer id we dialled (`PEERID@addr`): the handshake fails with
  /// `peer_id_mismatch` unless the peer's key is this one.
  std::optional<peer_id> expected_peer;

  /// Largest application message sent or accepted, in bytes.
  size_t max_message_size = node_config::default_max_message_size;

  /// The handshake must complete within this time of the spawn; the time a
  /// TCP connect takes counts.
  caf::timespan handshake_timeout = std::chrono::seconds{10};

  /// Most bytes the peer may send before it is authenticated. crust's
  /// handshake is 268 bytes in all; the engine itself buffers at most one
  /// envelope, so this is a second, independent bound.
  size_t max_handshake_bytes = 4096;

  /// A keepalive frame goes out after this long without sending anything.
  caf::timespan heartbeat_interval = std::chrono::seconds{20};

  /// The peer counts as lost after this long without receiving anything;
  /// must exceed `heartbeat_interval` (the peer's heartbeat keeps it alive).
  caf::timespan inactivity_timeout = std::chrono::seconds{120};

  /// The peer's address as text ("1.2.3.4:5", "[::1]:5"), for logs only.
  std::string remote;

  /// Fixed ephemeral keys for tests; empty means fresh random ones.
  std::function<expected<noise::keypair>()> ephemeral_source;
};

/// State of a CONNECTION (messages/interfaces.hpp): a secure channel to one
/// peer over one BYTE PIPE.
///
/// Life cycle: spawn → handshake (the initiator writes first; a deadline and
/// a byte bound apply) → `connected` to the SINK → framing, heartbeat and the
/// inactivity check → the end. Every end but a local `close` sends the SINK
/// `lost_peer` or `peer_misbehaved` (once connected) and makes the actor quit
/// with the reason; every end closes the BYTE PIPE.
///
/// Sending: `send_message` is the one path for application messages. It
/// encodes and writes at once today; the priority queues (transport/codec/
/// send_queue) go in there, with `write` draining them.
struct connection_state {
  /// Name in logs.
  static inline const char* name = "connection";

  using time_point = caf::actor_clock::time_point;

  /// The actor (set by the spawn function; the state lives inside it).
  connection_actor::stateful_pointer<connection_state> self = nullptr;

  /// Settings, validated by the spawn function.
  connection_config cfg;

  /// Where our bytes go; told to close when the connection ends.
  byte_pipe_actor pipe;

  /// Where events go.
  connection_sink_actor sink;

  /// The handshake, until it completes.
  std::optional<noise::channel_handshake> handshake;

  /// The frame encoder and decoder, once the handshake completed.
  std::optional<noise::frame_codec> codec;

  /// The peer: the dialled id until the handshake proves the real one.
  peer_id peer;

  /// Bytes the handshake consumed so far (bounded by
  /// `cfg.max_handshake_bytes`).
  size_t handshake_bytes = 0;

  /// When we last wrote anything (the heartbeat counts from here).
  time_point last_send;

  /// When we last received anything (the inactivity check counts from
  /// here).
  time_point last_receive;

  /// Messages `send` got before the handshake completed, in order.
  std::vector<byte_buffer> pending;

  /// Counters for `get stats`.
  connection_stats stats;

  /// True once the connection is ending: everything else is ignored.
  bool closing = false;

  /// Creates the handshake, writes the initiator's first envelope and arms
  /// the handshake deadline. Returns the error to quit with, if any.
  caf::error start();

  /// Feeds bytes from the peer to the handshake, then to the decoder.
  void on_received(byte_buffer bytes);

  /// The BYTE PIPE's transport ended (`reason` none: end of stream).
  void on_closed(const caf::error& reason);

  /// The one send path for application messages.
  void send_message(byte_buffer payload);

  /// A local `close`: a close frame, then a normal exit.
  void close();

  /// Timer handlers; each re-arms itself while needed.
  void on_handshake_deadline();
  void on_heartbeat_timer();
  void on_silence_timer();

  time_point now() const;

private:
  /// Feeds `bytes` to the handshake, then to the decoder.
  void consume(const_byte_span bytes);

  /// Hands bytes to the BYTE PIPE and counts them.
  void write(byte_buffer bytes);

  /// Finishes the handshake: keys, codec, `connected`, timers, pending.
  void on_handshake_done();

  /// Feeds post-handshake bytes to the decoder and reports what it yields.
  void decode(const_byte_span bytes);

  /// Ends the connection: optionally sends a close frame (once connected),
  /// closes the BYTE PIPE and quits with `reason`.
  void end(caf::error reason, bool close_frame = false, uint16_t code = 0,
           std::string_view text = {});

  /// Reports `lost_peer`, then ends with `reason`.
  void lose(caf::error reason, bool close_frame, uint16_t code = 0,
            std::string_view text = {});

  /// Reports `peer_misbehaved`, then ends with `reason`.
  void misbehaved(caf::error reason);
};

/// Spawn function of a CONNECTION. Validates `cfg` first: on failure the
/// actor closes `pipe` and quits with `errc::invalid_config`.
/// @param self The actor.
/// @param cfg How to run the handshake and the channel.
/// @param pipe Carries the bytes; the CONNECTION expects `received` and
///             `closed` from it and acknowledges what it processed.
/// @param sink Gets the events of the connection.
connection_actor::behavior_type
connection(connection_actor::stateful_pointer<connection_state> self,
           connection_config cfg, byte_pipe_actor pipe,
           connection_sink_actor sink);

} // namespace crust

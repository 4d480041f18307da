#pragma once

#include "crust/messages/config.hpp"
#include "crust/messages/connection_events.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/peer_id.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/codec/send_queue.hpp"
#include "crust/transport/noise/channel_handshake.hpp"
#include "crust/transport/noise/frame_codec.hpp"

#include <caf/actor_clock.hpp>
#include <caf/error.hpp>
#include <caf/result.hpp>
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
  /// Default for `max_unflushed_bytes`: 256 KiB (see the field).
  static constexpr size_t default_max_unflushed_bytes = size_t{256} << 10;

  /// Initiator (we dialled) or responder (we accepted).
  noise::role side = noise::role::initiator;

  /// The node's long-term key pair; its public half is our peer id.
  noise::keypair local_static;

  /// Nodes only talk within one network (bound into the handshake).
  std::string network_name = node_config::default_network_name;

  /// The channel's AEAD (in the Noise protocol name: both ends must agree).
  noise::cipher_kind cipher = noise::cipher_kind::chacha_poly;

  /// The peer id we dialled (`PEERID@addr`): the handshake fails with
  /// `peer_id_mismatch` unless the peer's key is this one.
  std::optional<peer_id> expected_peer;

  /// Largest application message sent or accepted, in bytes.
  size_t max_message_size = node_config::default_max_message_size;

  /// The handshake must complete and the connection must be chosen within
  /// this time of the spawn; the time a TCP connect takes counts.
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

  /// Payload bytes the send queues may hold; beyond it `send` fails with
  /// `queue_full`. At least `max_message_size`.
  size_t max_queued_bytes = size_t{32} << 20;

  /// A droppable queue (priority 2 and up) whose oldest message waited
  /// longer than this is dropped with every less urgent one.
  caf::timespan queue_expiry = std::chrono::seconds{60};

  /// Write window: the connection hands the BYTE PIPE a new message only
  /// while fewer bytes than this were handed over and not yet reported
  /// `sent`. What the window holds back waits in the send queues, where
  /// priorities and the drop rule apply; the pipe holds at most this plus
  /// one message (and control frames, which bypass the window). "Sent"
  /// means written to the kernel's socket buffer, which covers the
  /// network's bandwidth-delay product; the window only covers the hop from
  /// the actor to the io thread. Measured on loopback with 64 KiB messages
  /// (2 shared cores, noisy): 256 KiB and 1 MiB gave the same goodput
  /// within noise (medians 290 to 470 MiB/s), 64 KiB less, 4 MiB no more;
  /// the smaller bounds memory per connection and the wait of urgent
  /// messages behind bulk data.
  size_t max_unflushed_bytes = default_max_unflushed_bytes;

  /// Application messages per second the peer may send, with a burst of one
  /// second's worth; more ends the connection with `rate_exceeded`. 0 means
  /// no limit.
  uint64_t max_messages_per_second = 0;

  /// Bytes per second the peer may send once authenticated (frames as they
  /// arrive, headers and tags included), same rule. 0 means no limit.
  uint64_t max_bytes_per_second = 0;

  /// Responder only: refuse the initiator in the handshake (banned address,
  /// not on the whitelist) before any DH is spent; the CONNECTION then quits
  /// with `banned`, `not_whitelisted` or `peer_refused`, and the initiator
  /// fails with the same code.
  std::optional<noise::channel_refusal> refusal;

  /// The peer's address as text ("1.2.3.4:5", "[::1]:5"), for logs and
  /// `authenticated`.
  std::string remote;

  /// Fixed ephemeral keys for tests; empty means fresh random ones.
  std::function<expected<noise::keypair>()> ephemeral_source;
};

/// A token bucket: `rate` per second, at most one second's worth saved up.
struct rate_limiter {
  using time_point = caf::actor_clock::time_point;

  /// 0 means no limit.
  uint64_t rate = 0;
  double tokens = 0;
  time_point last;

  /// Starts full at `now`.
  void reset(uint64_t per_second, time_point now);

  /// Takes `n` tokens at `now`; false (and nothing taken) if there are not
  /// enough.
  bool take(double n, time_point now);
};

/// State of a CONNECTION (messages/interfaces.hpp): a secure channel to one
/// peer over one BYTE PIPE.
///
/// Life cycle: spawn → handshake (the initiator writes first; a deadline and
/// a byte bound apply) → `authenticated` to the SINK → the choice, before the
/// same deadline → `established` to the SINK → messages, heartbeat, rate
/// limits and the inactivity check → the end.
///
/// The choice (docs/wire-protocol.md §5.1): the SINK sends `choose` once it
/// has vetted the peer (not banned). The side with the larger peer id then
/// writes a choose frame on the one connection its SINK picked; the smaller
/// side answers a choose frame with its own once its SINK allowed it, and is
/// established; the larger side is established when the answer arrives. So
/// neither side counts a connection as up unless both accepted the peer.
///
/// The end: a local `close` is a normal exit (a close frame with its code
/// goes out first). Any other end makes the actor quit with the reason;
/// only an *established* connection tells the SINK first (`lost_peer`, or
/// `peer_misbehaved` for forged or malformed frames and rate violations).
/// Before `established` no `lost_peer` or `peer_misbehaved` is sent: the
/// owner monitors the CONNECTION for the reason. In every case, messages
/// still queued are reported as `messages_dropped` (also before
/// `established`, for sends the SINK made early), and the BYTE PIPE closes.
///
/// Errors: handshake or choice deadline → `handshake_timeout`; the peer
/// ended the stream or sent a close frame → `peer_closed` with the code and
/// text in the detail, except close codes `duplicate`, `banned`,
/// `not_whitelisted` and `rate_exceeded`, which map to
/// `duplicate_connection`, `banned`, `not_whitelisted` and `rate_exceeded`;
/// silence → `peer_silent`; transport failures keep their own error.
///
/// Sending: `send` pushes into the priority send queues (byte limit, drop
/// rule); `drain` moves messages from the queues to the BYTE PIPE, most
/// urgent first, while the write window has room, and `sent` credit drains
/// more. Sends before `established` wait in the queues. A message's frames
/// are written together (never interleaved), so a keepalive or choose frame
/// written "ahead" of the queue is next in line at the pipe.
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

  /// True once both sides sent a choose frame on this connection: messages
  /// flow.
  bool established = false;

  /// The SINK vetted the peer and sent `choose`.
  bool choose_allowed = false;

  /// We wrote our choose frame.
  bool sent_choose = false;

  /// The peer's choose frame arrived.
  bool got_choose = false;

  /// Outgoing application messages, waiting for `established` and the
  /// write window.
  crust::codec::send_queue queue;

  /// Bytes handed to the BYTE PIPE and not yet reported `sent`.
  uint64_t unflushed = 0;

  /// When the armed expiry timer fires, if one is armed.
  std::optional<time_point> expiry_armed;

  /// Bytes the handshake consumed so far (bounded by
  /// `cfg.max_handshake_bytes`).
  size_t handshake_bytes = 0;

  /// When we last wrote anything (the heartbeat counts from here).
  time_point last_send;

  /// When we last received anything (the inactivity check counts from
  /// here).
  time_point last_receive;

  /// Rate limits on what the peer sends.
  rate_limiter message_rate;
  rate_limiter byte_rate;

  /// Counters for `get stats` (queue figures are filled in on request).
  connection_stats stats;

  /// True once the connection is ending: everything else is ignored.
  bool closing = false;

  /// Creates the handshake, writes the initiator's first envelope and arms
  /// the handshake deadline. Returns the error to quit with, if any.
  caf::error start();

  /// Feeds bytes from the peer to the handshake, then to the decoder.
  void on_received(byte_buffer bytes);

  /// The BYTE PIPE wrote `n` more bytes: room in the write window.
  void on_sent(uint64_t n);

  /// The BYTE PIPE's transport ended (`reason` none: end of stream).
  void on_closed(const caf::error& reason);

  /// Queues an application message; answers the queued payload bytes after
  /// the push, or `message_too_large` / `queue_full`.
  caf::result<uint64_t> send(uint8_t prio, byte_buffer payload);

  /// The SINK vetted the peer (and, on the larger side, picked this
  /// connection).
  void choose();

  /// Writes a service frame at once (ignored before the choice).
  void send_service(uint16_t kind, const byte_buffer& body);

  /// True if our peer id is the larger: we pick the connection.
  bool leads() const;

  /// Writes our choose frame; false if the connection ended instead.
  bool send_choose();

  /// A local `close`: a close frame with `code`, then a normal exit.
  void close(uint16_t code, std::string_view text);

  /// The counters, with the queue figures of now.
  connection_stats current_stats() const;

  /// Timer handlers; each re-arms itself while needed.
  void on_handshake_deadline();
  void on_heartbeat_timer();
  void on_silence_timer();
  void on_expiry_timer();

  time_point now() const;

private:
  /// Feeds `bytes` to the handshake, then to the decoder.
  void consume(const_byte_span bytes);

  /// Hands bytes to the BYTE PIPE and counts them.
  void write(byte_buffer bytes);

  /// Finishes the handshake: keys, codec, `authenticated`, timers.
  void on_handshake_done();

  /// Chosen: `established`, then the queued messages flow.
  void establish();

  /// Feeds post-handshake bytes to the decoder and reports what it yields.
  void decode(const_byte_span bytes);

  /// Moves messages from the queues to the BYTE PIPE while the write window
  /// has room.
  void drain();

  /// Arms the expiry timer for the queues' next drop, unless one is armed
  /// for that time or earlier.
  void arm_expiry();

  /// Tells the SINK about dropped messages (nothing if `report` is empty).
  void report_dropped(const crust::codec::drop_report& report);

  /// Ends the connection: reports what is still queued, optionally sends a
  /// close frame (once the codec exists), closes the BYTE PIPE and quits
  /// with `reason`.
  void end(caf::error reason, bool close_frame = false, uint16_t code = 0,
           std::string_view text = {});

  /// Reports `lost_peer` (if established), then ends with `reason`.
  void lose(caf::error reason, bool close_frame, uint16_t code = 0,
            std::string_view text = {});

  /// Reports `peer_misbehaved` (if established), then ends with `reason`
  /// and a close frame with `code`.
  void misbehaved(caf::error reason,
                  close_code code = close_code::protocol_error);
};

/// Spawn function of a CONNECTION. Validates `cfg` first: on failure the
/// actor closes `pipe` and quits with `errc::invalid_config`.
/// @param self The actor.
/// @param cfg How to run the handshake and the channel.
/// @param pipe Carries the bytes; the CONNECTION expects `received`, `sent`
///             and `closed` from it and acknowledges what it processed.
/// @param sink Gets the events of the connection.
connection_actor::behavior_type
connection(connection_actor::stateful_pointer<connection_state> self,
           connection_config cfg, byte_pipe_actor pipe,
           connection_sink_actor sink);

} // namespace crust

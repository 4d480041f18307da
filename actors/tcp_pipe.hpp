#pragma once

#include "crust/actors/connection.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/transport/tcp_stream.hpp"

#include <caf/actor_system.hpp>

#include <memory>

namespace crust {

/// State of a TCP BYTE PIPE (messages/interfaces.hpp): the actor side of a
/// `tcp_stream`, which lives on the io thread. Writes, acknowledgements and
/// the close go to the stream by `asio::post` (the stream's thread-safe
/// member functions); the stream reports inbound bytes, the bytes it wrote to
/// the socket (`sent`, the CONNECTION's write credit) and its end straight to
/// the CONNECTION by `caf::anon_send` (see `spawn_tcp_connection`).
struct tcp_pipe_state {
  /// Name in logs.
  static inline const char* name = "tcp_pipe";

  /// The stream; shut down (orderly) when the pipe ends for any reason.
  std::shared_ptr<tcp_stream> stream;
};

/// Spawn function of a TCP BYTE PIPE.
/// @param self The actor.
/// @param stream The stream it writes to (started by the caller).
byte_pipe_actor::behavior_type
tcp_pipe(byte_pipe_actor::stateful_pointer<tcp_pipe_state> self,
         std::shared_ptr<tcp_stream> stream);

/// Wires a CONNECTION to a TCP stream: spawns a TCP BYTE PIPE and the
/// CONNECTION, then starts the stream (which connects first if it came from
/// `tcp_stream::connecting`) with callbacks that `anon_send` its bytes, its
/// write credit and its end to the CONNECTION. Thread-safe (it only spawns
/// and posts): call it from an actor that got an accepted stream, or from
/// any thread.
///
/// The handshake deadline counts from here, so a connect that hangs ends the
/// CONNECTION at the deadline at the latest. `cfg.remote` is filled in from
/// the stream if empty.
/// @returns The CONNECTION; the caller monitors it for the end reason.
connection_actor
spawn_tcp_connection(caf::actor_system& sys, std::shared_ptr<tcp_stream> stream,
                     connection_config cfg, connection_sink_actor sink);

} // namespace crust

#include "crust/actors/tcp_pipe.hpp"

#include "crust/messages/type_ids.hpp"

#include <caf/send.hpp>

#include <utility>

namespace crust {

byte_pipe_actor::behavior_type
tcp_pipe(byte_pipe_actor::stateful_pointer<tcp_pipe_state> self,
         std::shared_ptr<tcp_stream> stream) {
  self->state.stream = stream;
  // However the pipe ends, the stream flushes and closes (a second shutdown
  // is a no-op on the io thread).
  self->attach_functor([stream](const caf::error&) {
    stream->shutdown();
  });
  return {
    [self](atom::write, std::vector<uint8_t>& bytes) {
      self->state.stream->write(std::move(bytes));
    },
    [self](atom::ack, uint64_t n) {
      self->state.stream->consumed(static_cast<size_t>(n));
    },
    [self](atom::close) {
      self->state.stream->shutdown();
      self->quit();
    },
  };
}

connection_actor
spawn_tcp_connection(caf::actor_system& sys, std::shared_ptr<tcp_stream> stream,
                     connection_config cfg, connection_sink_actor sink) {
  if (cfg.remote.empty())
    cfg.remote = stream->remote();
  auto pipe = sys.spawn(tcp_pipe, stream);
  auto conn = sys.spawn(connection, std::move(cfg), pipe, std::move(sink));
  tcp_stream::handler h;
  h.on_data = [conn](byte_buffer bytes) {
    caf::anon_send(conn, atom::received_v, std::move(bytes));
  };
  h.on_written = [conn](size_t n) {
    caf::anon_send(conn, atom::sent_v, static_cast<uint64_t>(n));
  };
  h.on_closed = [conn](const failure& reason) {
    caf::anon_send(conn, atom::closed_v, to_error(reason));
  };
  stream->start(std::move(h));
  return conn;
}

} // namespace crust

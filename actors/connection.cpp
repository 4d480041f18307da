#include "crust/actors/connection.hpp"

#include "crust/messages/log.hpp"

#include <caf/send.hpp>

#include <utility>

namespace crust {

namespace {

// -- close frame reasons (the u16 value of a close frame) --------------------

/// The application closed the connection.
constexpr uint16_t close_normal = 0;

/// The peer sent something malformed or forged.
constexpr uint16_t close_protocol_error = 1;

/// Nothing arrived within the inactivity timeout.
constexpr uint16_t close_timeout = 2;

// -- errors (one place, so that dedicated codes can replace these) -----------

/// "10s", "1500ms", "250us": for error details.
std::string to_text(caf::timespan d) {
  using namespace std::chrono;
  if (d % seconds{1} == caf::timespan{0})
    return std::to_string(duration_cast<seconds>(d).count()) + "s";
  if (d % milliseconds{1} == caf::timespan{0})
    return std::to_string(duration_cast<milliseconds>(d).count()) + "ms";
  if (d % microseconds{1} == caf::timespan{0})
    return std::to_string(duration_cast<microseconds>(d).count()) + "us";
  return std::to_string(d.count()) + "ns";
}

caf::error make_error(errc code, std::string detail) {
  return to_error(failure{code, std::move(detail)});
}

/// The handshake did not complete in time.
caf::error handshake_deadline_error(caf::timespan timeout) {
  return make_error(errc::handshake_incomplete,
                    "no handshake within " + to_text(timeout));
}

/// The peer sent more than the bound before it was authenticated.
caf::error handshake_bytes_error(size_t limit) {
  return make_error(errc::malformed_message,
                    "more than " + std::to_string(limit)
                      + " bytes before authentication");
}

/// The transport ended before the handshake completed.
caf::error closed_in_handshake_error(const caf::error& reason) {
  if (reason)
    return reason;
  return make_error(errc::handshake_incomplete,
                    "the connection closed during the handshake");
}

/// The transport ended after the handshake.
caf::error transport_closed_error(const caf::error& reason) {
  if (reason)
    return reason;
  return make_error(errc::socket_failure,
                    "the peer closed the connection (end of stream)");
}

/// The peer sent a close frame; its text is untrusted: printable ASCII only.
caf::error peer_closed_error(uint16_t code, std::string_view text) {
  std::string detail = "the peer closed the connection (reason "
                       + std::to_string(code);
  if (!text.empty()) {
    detail += ": ";
    for (auto c : text)
      detail += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  detail += ')';
  return make_error(errc::socket_failure, std::move(detail));
}

/// Nothing arrived for the inactivity timeout.
caf::error silence_error(caf::timespan timeout) {
  return make_error(errc::socket_failure,
                    "nothing received for " + to_text(timeout));
}

// -- configuration -----------------------------------------------------------

status validate(const connection_config& cfg) {
  auto bad = [](std::string what) {
    return status{errc::invalid_config, "connection: " + std::move(what)};
  };
  if (cfg.max_message_size == 0
      || cfg.max_message_size > node_config::max_message_size_limit)
    return bad("max_message_size must be between 1 and "
               + std::to_string(node_config::max_message_size_limit) + ", got "
               + std::to_string(cfg.max_message_size));
  if (cfg.handshake_timeout <= caf::timespan{0})
    return bad("handshake_timeout must be positive");
  if (cfg.max_handshake_bytes == 0)
    return bad("max_handshake_bytes must be positive");
  if (cfg.heartbeat_interval <= caf::timespan{0})
    return bad("heartbeat_interval must be positive");
  if (cfg.inactivity_timeout <= cfg.heartbeat_interval)
    return bad("inactivity_timeout (" + to_text(cfg.inactivity_timeout)
               + ") must exceed heartbeat_interval ("
               + to_text(cfg.heartbeat_interval) + ")");
  return {};
}

} // namespace

// -- connection_state --------------------------------------------------------

connection_state::time_point connection_state::now() const {
  return self->clock().now();
}

caf::error connection_state::start() {
  noise::channel_config hc;
  hc.side = cfg.side;
  hc.local_static = cfg.local_static;
  hc.network_name = cfg.network_name;
  if (cfg.expected_peer)
    hc.expected_remote = cfg.expected_peer->bytes();
  hc.ephemeral_source = cfg.ephemeral_source;
  auto hs = noise::channel_handshake::create(std::move(hc));
  if (!hs)
    return to_error(hs.error());
  handshake.emplace(std::move(*hs));
  peer = cfg.expected_peer.value_or(peer_id{});
  stats.peer = peer;
  last_send = last_receive = now();
  self->delayed_send(self, cfg.handshake_timeout, atom::timeout_v,
                     atom::handshake_v);
  if (cfg.side == noise::role::initiator) {
    byte_buffer out;
    if (auto st = handshake->start(out); !st)
      return to_error(st.error());
    write(std::move(out));
  }
  return {};
}

void connection_state::on_received(byte_buffer bytes) {
  if (closing)
    return;
  auto size = bytes.size();
  stats.bytes_in += size;
  last_receive = now();
  consume(bytes);
  // Processed (handed to the SINK or the handshake): the pipe may read on.
  if (!closing)
    self->send(pipe, atom::ack_v, uint64_t{size});
}

void connection_state::consume(const_byte_span rest) {
  if (handshake) {
    byte_buffer out;
    auto used = handshake->on_bytes(rest, out);
    // A failure may still have produced a refusal for the peer.
    write(std::move(out));
    if (!used) {
      log::debug("connection {}: handshake failed: {}", cfg.remote,
                 handshake->error().message());
      end(to_error(handshake->error()));
      return;
    }
    handshake_bytes += *used;
    if (handshake_bytes > cfg.max_handshake_bytes) {
      end(handshake_bytes_error(cfg.max_handshake_bytes));
      return;
    }
    if (!handshake->done())
      return;
    on_handshake_done();
    if (closing)
      return;
    rest = rest.subspan(*used);
  }
  if (!rest.empty())
    decode(rest);
}

void connection_state::on_handshake_done() {
  auto result = handshake->finish();
  handshake.reset();
  if (!result) {
    end(to_error(result.error()));
    return;
  }
  peer = peer_id{result->remote_static};
  stats.peer = peer;
  stats.connected = true;
  noise::frame_codec_config fc;
  fc.max_message_size = cfg.max_message_size;
  codec.emplace(std::move(result->keys), fc);
  log::debug("connection {}: connected to {}", cfg.remote, peer.short_hex());
  self->send(sink, connected{peer});
  // Both clocks start now: the last handshake byte went one way or the
  // other just now.
  last_send = last_receive = now();
  self->delayed_send(self, cfg.heartbeat_interval, atom::timeout_v,
                     atom::heartbeat_v);
  self->delayed_send(self, cfg.inactivity_timeout, atom::timeout_v,
                     atom::silence_v);
  auto queued = std::move(pending);
  pending.clear();
  for (auto& msg : queued) {
    if (closing)
      return;
    send_message(std::move(msg));
  }
}

void connection_state::decode(const_byte_span bytes) {
  std::optional<caf::error> peer_closed;
  auto st = codec->decoder.feed(bytes, [&](const noise::frame_event& ev) {
    switch (ev.kind) {
      case noise::frame_event_kind::message:
        ++stats.messages_in;
        self->send(sink, new_message{peer, ev.message.to_buffer()});
        break;
      case noise::frame_event_kind::keepalive: ++stats.keepalives_in; break;
      case noise::frame_event_kind::rekey:
        break; // the decoder already switched its key
      case noise::frame_event_kind::close:
        peer_closed = peer_closed_error(ev.close_reason, ev.close_text);
        break;
    }
  });
  if (!st) {
    misbehaved(to_error(st.error()));
    return;
  }
  if (peer_closed)
    lose(std::move(*peer_closed), false);
}

void connection_state::on_closed(const caf::error& reason) {
  if (closing)
    return;
  if (!codec) {
    end(closed_in_handshake_error(reason));
    return;
  }
  lose(transport_closed_error(reason), false);
}

void connection_state::send_message(byte_buffer payload) {
  if (closing)
    return;
  if (payload.size() > cfg.max_message_size) {
    auto size = static_cast<uint64_t>(payload.size());
    self->send(sink, message_too_large{peer, size, std::move(payload)});
    return;
  }
  if (!codec) {
    pending.emplace_back(std::move(payload));
    return;
  }
  // Seam for the priority queues: push here, and drain into `write` while
  // the BYTE PIPE has room.
  byte_buffer out;
  out.reserve(codec->encoder.encoded_size(payload.size())
              + noise::frame_header_len);
  if (auto st = codec->encoder.encode_message(payload, out); !st) {
    // Size was checked above: anything else is a local failure (nonce
    // exhaustion, crypto backend) and ends the connection.
    lose(to_error(st.error()), false);
    return;
  }
  ++stats.messages_out;
  write(std::move(out));
}

void connection_state::close() {
  if (closing)
    return;
  log::debug("connection {}: closed locally", cfg.remote);
  end(caf::error{}, true, close_normal, "closed by the application");
}

void connection_state::on_handshake_deadline() {
  if (closing || codec)
    return;
  log::debug("connection {}: handshake deadline passed", cfg.remote);
  end(handshake_deadline_error(cfg.handshake_timeout));
}

void connection_state::on_heartbeat_timer() {
  if (closing || !codec)
    return;
  auto t = now();
  auto due = last_send + cfg.heartbeat_interval;
  if (t >= due) {
    byte_buffer out;
    if (auto st = codec->encoder.encode_keepalive(out); !st) {
      lose(to_error(st.error()), false);
      return;
    }
    ++stats.keepalives_out;
    write(std::move(out));
    due = t + cfg.heartbeat_interval;
  }
  self->delayed_send(self, due - t, atom::timeout_v, atom::heartbeat_v);
}

void connection_state::on_silence_timer() {
  if (closing || !codec)
    return;
  auto t = now();
  auto due = last_receive + cfg.inactivity_timeout;
  if (t >= due) {
    log::debug("connection {}: peer {} silent for {}", cfg.remote,
               peer.short_hex(), to_text(cfg.inactivity_timeout));
    lose(silence_error(cfg.inactivity_timeout), true, close_timeout,
         "inactivity timeout");
    return;
  }
  self->delayed_send(self, due - t, atom::timeout_v, atom::silence_v);
}

void connection_state::write(byte_buffer bytes) {
  if (bytes.empty())
    return;
  stats.bytes_out += bytes.size();
  last_send = now();
  self->send(pipe, atom::write_v, std::move(bytes));
}

void connection_state::end(caf::error reason, bool close_frame, uint16_t code,
                           std::string_view text) {
  if (closing)
    return;
  if (close_frame && codec && !codec->encoder.failed()) {
    byte_buffer out;
    if (codec->encoder.encode_close(code, text, out))
      write(std::move(out));
  }
  closing = true;
  pending.clear();
  self->send(pipe, atom::close_v);
  self->quit(std::move(reason));
}

void connection_state::lose(caf::error reason, bool close_frame, uint16_t code,
                            std::string_view text) {
  if (closing)
    return;
  log::debug("connection {}: lost peer {}: {}", cfg.remote, peer.short_hex(),
             self->home_system().render(reason));
  self->send(sink, lost_peer{peer, reason});
  end(std::move(reason), close_frame, code, text);
}

void connection_state::misbehaved(caf::error reason) {
  if (closing)
    return;
  log::debug("connection {}: peer {} misbehaved: {}", cfg.remote,
             peer.short_hex(), self->home_system().render(reason));
  self->send(sink, peer_misbehaved{peer, reason});
  end(std::move(reason), true, close_protocol_error, "protocol error");
}

// -- spawn function ----------------------------------------------------------

connection_actor::behavior_type
connection(connection_actor::stateful_pointer<connection_state> self,
           connection_config cfg, byte_pipe_actor pipe,
           connection_sink_actor sink) {
  auto& st = self->state;
  st.self = self;
  st.pipe = pipe;
  st.sink = std::move(sink);
  auto valid = validate(cfg);
  if (valid && (!st.pipe || !st.sink))
    valid = status{errc::invalid_config, "connection: no byte pipe or sink"};
  if (!valid) {
    log::warn("{}", valid.error().message());
    if (st.pipe)
      self->send(st.pipe, atom::close_v);
    self->quit(to_error(valid.error()));
    return connection_actor::behavior_type::make_empty_behavior();
  }
  st.cfg = std::move(cfg);
  // However the actor ends (even killed by an exit message), the pipe
  // closes; a second close after the regular one is harmless.
  self->attach_functor([pipe](const caf::error&) {
    caf::anon_send(pipe, atom::close_v);
  });
  if (auto err = st.start()) {
    st.closing = true;
    self->send(st.pipe, atom::close_v);
    self->quit(std::move(err));
    return connection_actor::behavior_type::make_empty_behavior();
  }
  return {
    [self](atom::received, std::vector<uint8_t>& bytes) {
      self->state.on_received(std::move(bytes));
    },
    [self](atom::closed, const caf::error& reason) {
      self->state.on_closed(reason);
    },
    [self](atom::send, std::vector<uint8_t>& payload) {
      self->state.send_message(std::move(payload));
    },
    [self](atom::close) {
      self->state.close();
    },
    [self](atom::get, atom::stats) {
      return self->state.stats;
    },
    [self](atom::timeout, atom::handshake) {
      self->state.on_handshake_deadline();
    },
    [self](atom::timeout, atom::heartbeat) {
      self->state.on_heartbeat_timer();
    },
    [self](atom::timeout, atom::silence) {
      self->state.on_silence_timer();
    },
  };
}

} // namespace crust

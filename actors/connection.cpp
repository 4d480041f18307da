#include "crust/actors/connection.hpp"

#include "crust/messages/log.hpp"

#include <caf/send.hpp>

#include <algorithm>
#include <utility>

namespace crust {

namespace {

// -- errors ------------------------------------------------------------------

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

constexpr uint16_t code_of(close_code x) {
  return static_cast<uint16_t>(x);
}

/// The name of a close code in details; "unknown" for codes of the future.
const char* name_of(uint16_t code) {
  switch (static_cast<close_code>(code)) {
    case close_code::normal: return "normal";
    case close_code::protocol_error: return "protocol error";
    case close_code::inactivity: return "inactivity";
    case close_code::duplicate: return "duplicate";
    case close_code::banned: return "banned";
    case close_code::not_whitelisted: return "not whitelisted";
    case close_code::rate_exceeded: return "rate exceeded";
    case close_code::shutdown: return "shutdown";
  }
  return "unknown";
}

/// The peer sent a close frame; its text is untrusted: printable ASCII only.
/// Codes the application can act on get their own error code.
caf::error peer_closed_error(uint16_t code, std::string_view text) {
  auto ec = errc::peer_closed;
  switch (static_cast<close_code>(code)) {
    case close_code::duplicate: ec = errc::duplicate_connection; break;
    case close_code::banned: ec = errc::banned; break;
    case close_code::not_whitelisted: ec = errc::not_whitelisted; break;
    case close_code::rate_exceeded: ec = errc::rate_exceeded; break;
    default: break;
  }
  std::string detail = "the peer closed the connection (reason "
                       + std::to_string(code) + ", " + name_of(code);
  if (!text.empty()) {
    detail += ": ";
    for (auto c : text.substr(0, noise::max_close_text))
      detail += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  detail += ')';
  return make_error(ec, std::move(detail));
}

/// The transport ended: an error of its own, or an orderly end of stream.
caf::error transport_closed_error(const caf::error& reason, bool in_handshake) {
  if (reason)
    return reason;
  return make_error(errc::peer_closed,
                    in_handshake
                      ? "the peer closed the connection during the handshake"
                      : "the peer closed the connection (end of stream)");
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
  if (cfg.max_queued_bytes < cfg.max_message_size)
    return bad("max_queued_bytes (" + std::to_string(cfg.max_queued_bytes)
               + ") must be at least max_message_size ("
               + std::to_string(cfg.max_message_size) + ")");
  if (cfg.queue_expiry <= caf::timespan{0})
    return bad("queue_expiry must be positive");
  if (cfg.max_unflushed_bytes == 0)
    return bad("max_unflushed_bytes must be positive");
  if (cfg.refusal && cfg.side != noise::role::responder)
    return bad("a refusal is for accepted (responder) connections only");
  return {};
}

codec::send_queue_config queue_config(const connection_config& cfg) {
  codec::send_queue_config out;
  out.max_bytes = cfg.max_queued_bytes;
  out.max_message_size = cfg.max_message_size;
  out.expiry = cfg.queue_expiry;
  return out;
}

} // namespace

// -- rate_limiter ------------------------------------------------------------

void rate_limiter::reset(uint64_t per_second, time_point now) {
  rate = per_second;
  tokens = static_cast<double>(per_second);
  last = now;
}

bool rate_limiter::take(double n, time_point now) {
  if (rate == 0)
    return true;
  auto r = static_cast<double>(rate);
  std::chrono::duration<double> elapsed = now - last;
  last = now;
  tokens = std::min(r, tokens + elapsed.count() * r);
  if (n > tokens)
    return false;
  tokens -= n;
  return true;
}

// -- connection_state: start and input ---------------------------------------

connection_state::time_point connection_state::now() const {
  return self->clock().now();
}

caf::error connection_state::start() {
  noise::channel_config hc;
  hc.side = cfg.side;
  hc.local_static = cfg.local_static;
  hc.network_name = cfg.network_name;
  hc.algorithms.cipher = cfg.cipher;
  if (cfg.expected_peer)
    hc.expected_remote = cfg.expected_peer->bytes();
  hc.ephemeral_source = cfg.ephemeral_source;
  hc.refusal = cfg.refusal;
  auto hs = noise::channel_handshake::create(std::move(hc));
  if (!hs)
    return to_error(hs.error());
  handshake.emplace(std::move(*hs));
  queue = codec::send_queue{queue_config(cfg)};
  peer = cfg.expected_peer.value_or(peer_id{});
  stats.peer = peer;
  stats.remote = cfg.remote;
  stats.initiated = cfg.side == noise::role::initiator;
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
      end(make_error(errc::malformed_message,
                     "more than " + std::to_string(cfg.max_handshake_bytes)
                       + " bytes before authentication"));
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
  log::debug("connection {}: authenticated {}", cfg.remote, peer.short_hex());
  self->send(sink, authenticated{peer, cfg.remote,
                                 cfg.side == noise::role::initiator});
  // Both clocks start now: the last handshake byte went one way or the
  // other just now.
  auto t = now();
  last_send = last_receive = t;
  message_rate.reset(cfg.max_messages_per_second, t);
  byte_rate.reset(cfg.max_bytes_per_second, t);
  self->delayed_send(self, cfg.heartbeat_interval, atom::timeout_v,
                     atom::heartbeat_v);
  self->delayed_send(self, cfg.inactivity_timeout, atom::timeout_v,
                     atom::silence_v);
}

void connection_state::decode(const_byte_span bytes) {
  if (!byte_rate.take(static_cast<double>(bytes.size()), now())) {
    misbehaved(make_error(errc::rate_exceeded,
                          "the peer sent more than "
                            + std::to_string(cfg.max_bytes_per_second)
                            + " bytes per second"),
               close_code::rate_exceeded);
    return;
  }
  // Events after a violation are ignored; the first one ends the
  // connection once the decoder returns.
  std::optional<caf::error> violation;
  auto violation_code = close_code::protocol_error;
  std::optional<caf::error> peer_closed;
  // Messages and service frames need the choice first and pass the message
  // rate limit; false sets the violation.
  auto admit = [&](const char* what) {
    if (!established) {
      violation
        = make_error(errc::malformed_message,
                     std::string{what} + " before the connection was chosen");
      return false;
    }
    if (!message_rate.take(1, now())) {
      violation = make_error(errc::rate_exceeded,
                             "the peer sent more than "
                               + std::to_string(cfg.max_messages_per_second)
                               + " messages per second");
      violation_code = close_code::rate_exceeded;
      return false;
    }
    return true;
  };
  auto st = codec->decoder.feed(bytes, [&](const noise::frame_event& ev) {
    if (violation || peer_closed || closing)
      return;
    switch (ev.kind) {
      case noise::frame_event_kind::message:
        if (!admit("an application message"))
          return;
        ++stats.messages_in;
        self->send(sink, new_message{peer, ev.take_message(), ev.priority});
        break;
      case noise::frame_event_kind::keepalive: ++stats.keepalives_in; break;
      case noise::frame_event_kind::rekey:
        break; // the decoder already switched its key
      case noise::frame_event_kind::choose:
        if (established || got_choose) {
          violation = make_error(errc::malformed_message,
                                 "a second choose frame");
          return;
        }
        if (leads() && !sent_choose) {
          violation = make_error(errc::malformed_message,
                                 "a choose frame from the smaller peer id "
                                 "before ours");
          return;
        }
        got_choose = true;
        if (leads()) {
          log::debug("connection {}: {} confirmed our choice", cfg.remote,
                     peer.short_hex());
          establish();
        } else if (choose_allowed) {
          log::debug("connection {}: chosen by {}", cfg.remote,
                     peer.short_hex());
          if (send_choose())
            establish();
        }
        // Otherwise the SINK has not vetted the peer yet: its `choose`
        // answers and establishes.
        break;
      case noise::frame_event_kind::close:
        peer_closed = peer_closed_error(ev.close_reason, ev.close_text);
        break;
      case noise::frame_event_kind::service:
        // Service frames count against the message rate: they are as cheap
        // to send as messages and cost the receiver more.
        if (!admit("a service frame"))
          return;
        ++stats.service_frames_in;
        self->send(sink, service_frame{peer, ev.service_kind,
                                       ev.service_body.to_buffer()});
        break;
    }
  });
  if (closing)
    return;
  if (!st) {
    misbehaved(to_error(st.error()));
    return;
  }
  if (violation) {
    misbehaved(std::move(*violation), violation_code);
    return;
  }
  if (peer_closed)
    lose(std::move(*peer_closed), false);
}

void connection_state::on_sent(uint64_t n) {
  unflushed -= std::min(n, unflushed);
  if (!closing)
    drain();
}

void connection_state::on_closed(const caf::error& reason) {
  if (closing)
    return;
  if (!codec) {
    end(transport_closed_error(reason, true));
    return;
  }
  lose(transport_closed_error(reason, false), false);
}

// -- connection_state: choice and sending ------------------------------------

bool connection_state::leads() const {
  return peer_id{cfg.local_static.pub} > peer;
}

bool connection_state::send_choose() {
  byte_buffer out;
  if (auto st = codec->encoder.encode_choose(out); !st) {
    end(to_error(st.error()));
    return false;
  }
  write(std::move(out));
  sent_choose = true;
  return true;
}

void connection_state::choose() {
  if (closing || !codec || established || choose_allowed)
    return;
  choose_allowed = true;
  if (leads()) {
    // We pick this connection; the peer's answering choose establishes it.
    log::debug("connection {}: we chose {}", cfg.remote, peer.short_hex());
    send_choose();
  } else if (got_choose) {
    // The peer picked it before we vetted it: answer now.
    if (send_choose())
      establish();
  }
}

void connection_state::send_service(uint16_t kind, const byte_buffer& body) {
  if (!established || closing)
    return;
  // Ahead of the write window, as keepalives: service frames are small and
  // bootstrap and echo answers must not wait behind a bulk transfer.
  byte_buffer out;
  if (auto st = codec->encoder.encode_service(kind, body, out); !st) {
    if (st.error() == errc::message_too_large || kind == 0) {
      log::warn("connection {}: service frame not sent: {}", cfg.remote,
                st.error().message());
      return;
    }
    lose(to_error(st.error()), false);
    return;
  }
  ++stats.service_frames_out;
  write(std::move(out));
}

void connection_state::establish() {
  established = true;
  stats.established = true;
  self->send(sink, crust::established{peer});
  drain();
}

caf::result<uint64_t> connection_state::send(uint8_t prio,
                                             byte_buffer payload) {
  if (payload.size() > cfg.max_message_size) {
    auto size = static_cast<uint64_t>(payload.size());
    self->send(sink, message_too_large{peer, size, std::move(payload)});
    return make_error(errc::message_too_large,
                      "message of " + std::to_string(size)
                        + " bytes exceeds the maximum of "
                        + std::to_string(cfg.max_message_size));
  }
  if (auto st = queue.push(prio, std::move(payload), now()); !st)
    return to_error(st.error());
  auto queued = static_cast<uint64_t>(queue.bytes());
  arm_expiry();
  drain();
  return queued;
}

void connection_state::drain() {
  if (!established || closing)
    return;
  codec::drop_report dropped;
  while (unflushed < cfg.max_unflushed_bytes) {
    auto msg = queue.pop(now(), dropped);
    if (!msg)
      break;
    byte_buffer out;
    if (auto st = codec->encoder.encode_message(msg->payload, msg->prio, out);
        !st) {
      // Sizes were checked on push: anything else is a local failure (nonce
      // exhaustion, the crypto backend) and ends the connection.
      report_dropped(dropped);
      lose(to_error(st.error()), false);
      return;
    }
    ++stats.messages_out;
    write(std::move(out));
  }
  report_dropped(dropped);
  arm_expiry();
}

void connection_state::arm_expiry() {
  auto next = queue.next_expiry();
  if (!next || (expiry_armed && *expiry_armed <= *next))
    return;
  expiry_armed = *next;
  auto delay = std::max(caf::timespan{0}, *next - now());
  self->delayed_send(self, delay, atom::timeout_v, atom::expiry_v);
}

void connection_state::report_dropped(const codec::drop_report& report) {
  if (report.empty())
    return;
  log::debug("connection {}: {}", cfg.remote, to_string(report));
  self->send(sink,
             messages_dropped{peer, report.messages(), report.bytes(),
                              report.dropped.front().prio, to_string(report)});
}

void connection_state::close(uint16_t code, std::string_view text) {
  if (closing)
    return;
  log::debug("connection {}: closed locally ({})", cfg.remote, name_of(code));
  end(caf::error{}, true, code, text);
}

connection_stats connection_state::current_stats() const {
  auto out = stats;
  out.queued_messages = queue.size();
  out.queued_bytes = queue.bytes();
  out.unflushed_bytes = unflushed;
  out.dropped_messages = queue.dropped_messages();
  out.dropped_bytes = queue.dropped_bytes();
  return out;
}

// -- connection_state: timers ------------------------------------------------

void connection_state::on_handshake_deadline() {
  if (closing || established)
    return;
  if (!codec) {
    log::debug("connection {}: handshake deadline passed", cfg.remote);
    end(make_error(errc::handshake_timeout,
                   "no handshake within " + to_text(cfg.handshake_timeout)));
    return;
  }
  log::debug("connection {}: {} not chosen in time", cfg.remote,
             peer.short_hex());
  end(make_error(errc::handshake_timeout,
                 "authenticated, but the connection was not chosen within "
                   + to_text(cfg.handshake_timeout)),
      true, code_of(close_code::inactivity),
      "not chosen within the handshake deadline");
}

void connection_state::on_heartbeat_timer() {
  if (closing || !codec)
    return;
  auto t = now();
  auto due = last_send + cfg.heartbeat_interval;
  if (t >= due) {
    // Ahead of the write window: a long drain must not starve liveness.
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
    lose(make_error(errc::peer_silent,
                    "nothing received for " + to_text(cfg.inactivity_timeout)),
         true, code_of(close_code::inactivity), "inactivity timeout");
    return;
  }
  self->delayed_send(self, due - t, atom::timeout_v, atom::silence_v);
}

void connection_state::on_expiry_timer() {
  if (closing)
    return;
  auto t = now();
  if (expiry_armed && *expiry_armed <= t)
    expiry_armed.reset();
  report_dropped(queue.expire(t));
  arm_expiry();
}

// -- connection_state: output and the end ------------------------------------

void connection_state::write(byte_buffer bytes) {
  if (bytes.empty())
    return;
  stats.bytes_out += bytes.size();
  unflushed += bytes.size();
  last_send = now();
  self->send(pipe, atom::write_v, std::move(bytes));
}

void connection_state::end(caf::error reason, bool close_frame, uint16_t code,
                           std::string_view text) {
  if (closing)
    return;
  // Nothing is silently lost: what never left the queues is reported.
  report_dropped(queue.clear());
  if (close_frame && codec && !codec->encoder.failed()) {
    byte_buffer out;
    if (codec->encoder.encode_close(code, text, out))
      write(std::move(out));
  }
  closing = true;
  self->send(pipe, atom::close_v);
  self->quit(std::move(reason));
}

void connection_state::lose(caf::error reason, bool close_frame, uint16_t code,
                            std::string_view text) {
  if (closing)
    return;
  log::debug("connection {}: lost peer {}: {}", cfg.remote, peer.short_hex(),
             self->home_system().render(reason));
  if (established) {
    report_dropped(queue.clear());
    self->send(sink, lost_peer{peer, reason});
  }
  end(std::move(reason), close_frame, code, text);
}

void connection_state::misbehaved(caf::error reason, close_code code) {
  if (closing)
    return;
  log::debug("connection {}: peer {} misbehaved: {}", cfg.remote,
             peer.short_hex(), self->home_system().render(reason));
  if (established) {
    report_dropped(queue.clear());
    self->send(sink, peer_misbehaved{peer, reason});
  }
  end(std::move(reason), true, code_of(code),
      code == close_code::rate_exceeded ? "rate exceeded" : "protocol error");
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
    [self](atom::sent, uint64_t n) {
      self->state.on_sent(n);
    },
    [self](atom::closed, const caf::error& reason) {
      self->state.on_closed(reason);
    },
    [self](atom::send, uint8_t prio,
           std::vector<uint8_t>& payload) -> caf::result<uint64_t> {
      return self->state.send(prio, std::move(payload));
    },
    [self](atom::choose) {
      self->state.choose();
    },
    [self](atom::service, uint16_t kind, const std::vector<uint8_t>& body) {
      self->state.send_service(kind, body);
    },
    [self](atom::close) {
      self->state.close(code_of(close_code::normal),
                        "closed by the application");
    },
    [self](atom::close, uint16_t code, const std::string& text) {
      self->state.close(code, text);
    },
    [self](atom::get, atom::stats) {
      return self->state.current_stats();
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
    [self](atom::timeout, atom::expiry) {
      self->state.on_expiry_timer();
    },
  };
}

} // namespace crust

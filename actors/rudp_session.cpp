#include "crust/actors/rudp_session.hpp"

#include "crust/messages/log.hpp"
#include "crust/transport/codec/session_envelope.hpp"
#include "crust/transport/noise/frame_codec.hpp"

#include <caf/send.hpp>

#include <chrono>
#include <utility>

namespace crust {

namespace {

/// Datagrams per batch handed to the socket.
constexpr size_t max_batch = 64;

/// Rounds of `on_timeout` a pump runs for deadlines already due before it
/// yields to the mailbox (by a timer message to itself).
constexpr int max_due_rounds = 4;

caf::error make_error(errc code, std::string detail) {
  return to_error(failure{code, std::move(detail)});
}

/// A peer that sends what a genuine peer never sends.
bool is_misbehaviour(errc code) {
  return code == errc::malformed_message || code == errc::decrypt_failed
         || code == errc::message_too_large || code == errc::rate_exceeded;
}

/// The engine reason of a local close with a close code.
failure abort_reason(uint16_t code, const std::string& text) {
  switch (static_cast<close_code>(code)) {
    case close_code::duplicate: return {errc::duplicate_connection, text};
    case close_code::banned: return {errc::banned, text};
    case close_code::not_whitelisted: return {errc::not_whitelisted, text};
    case close_code::rate_exceeded: return {errc::rate_exceeded, text};
    case close_code::protocol_error: return {errc::malformed_message, text};
    case close_code::inactivity: return {errc::peer_silent, text};
    case close_code::shutdown: return {errc::shutting_down, text};
    default: return {errc::peer_closed, text};
  }
}

} // namespace

rudp::connection_config engine_config(const rudp_session_config& cfg) {
  auto out = cfg.engine;
  const auto& c = cfg.connection;
  out.channel.side = c.side;
  out.channel.local_static = c.local_static;
  out.channel.network_name = c.network_name;
  out.channel.algorithms.cipher = c.cipher;
  if (c.expected_peer)
    out.channel.expected_remote = c.expected_peer->bytes();
  out.channel.ephemeral_source = c.ephemeral_source;
  out.channel.refusal = c.refusal;
  // Engine messages carry the session envelope: a message or a whole
  // service frame plus its header.
  auto largest
    = std::max(c.max_message_size + codec::message_envelope_overhead,
               noise::max_service_body + codec::service_envelope_overhead);
  out.queue.max_message_size = largest;
  out.queue.max_bytes = std::max(c.max_queued_bytes, largest);
  out.queue.expiry = c.queue_expiry;
  if (out.receive_window < largest + 5)
    out.receive_window = largest + 5;
  return out;
}

rudp::time_point rudp_session_state::now() {
  return std::chrono::steady_clock::now();
}

caf::error rudp_session_state::start() {
  auto created = rudp::connection::create(engine_config(cfg), now());
  if (!created)
    return to_error(created.error());
  conn.emplace(std::move(*created));
  peer = cfg.connection.expected_peer.value_or(peer_id{});
  auto t = now();
  message_rate.reset(cfg.connection.max_messages_per_second, t);
  byte_rate.reset(cfg.connection.max_bytes_per_second, t);
  // Authenticated and chosen within the handshake timeout, as over TCP.
  self->delayed_send(self, cfg.connection.handshake_timeout, atom::timeout_v,
                     atom::handshake_v);
  pump();
  return {};
}

void rudp_session_state::on_datagrams(const datagram_batch& batch) {
  if (!conn)
    return;
  auto t = now();
  for (const auto& d : batch.items)
    conn->on_datagram(d.bytes, t);
  pump();
}

void rudp_session_state::on_datagram(const byte_buffer& bytes) {
  if (!conn)
    return;
  conn->on_datagram(bytes, now());
  pump();
}

void rudp_session_state::on_timer(uint64_t generation) {
  if (!conn || generation != timer_generation)
    return; // stale: a later timer replaced it
  timer_deadline.reset();
  conn->on_timeout(now());
  pump();
}

caf::result<uint64_t> rudp_session_state::send(uint8_t prio,
                                               byte_buffer payload) {
  if (!conn || exit_reason || closed_locally)
    return make_error(errc::shutting_down, "the rUDP session is closing");
  if (payload.size() > cfg.connection.max_message_size) {
    auto size = payload.size();
    self->send(sink, message_too_large{peer, size, std::move(payload)});
    return make_error(errc::message_too_large,
                      std::to_string(size) + " bytes, more than "
                        + std::to_string(cfg.connection.max_message_size));
  }
  if (!established) {
    // The peer takes messages only after the choice.
    if (held_bytes + payload.size() > cfg.connection.max_queued_bytes)
      return make_error(errc::queue_full, "the rUDP session's queue is full");
    held_bytes += payload.size();
    held.emplace_back(prio, std::move(payload));
    return static_cast<uint64_t>(held_bytes);
  }
  if (auto st = conn->send(prio, codec::wrap_message(std::move(payload)),
                           now());
      !st)
    return to_error(st.error());
  pump();
  return static_cast<uint64_t>(conn->queued_bytes());
}

void rudp_session_state::send_service(uint16_t kind, const byte_buffer& body) {
  if (!conn || !established || exit_reason || closed_locally || kind == 0
      || body.size() > noise::max_service_body)
    return;
  // Ahead of queued messages, as a TCP CONNECTION sends them.
  if (conn->send(0, codec::wrap_service(kind, body), now()))
    ++service_frames_out;
  pump();
}

bool rudp_session_state::leads() const {
  return peer_id{cfg.connection.local_static.pub} > peer;
}

void rudp_session_state::send_choose() {
  static_cast<void>(conn->send(0, codec::wrap_choose(), now()));
  sent_choose = true;
}

void rudp_session_state::choose() {
  if (!conn || !handshake_done || established || choose_allowed || exit_reason
      || closed_locally)
    return;
  choose_allowed = true;
  if (leads()) {
    // We pick this session; the peer's answering choose establishes it.
    send_choose();
  } else if (got_choose) {
    // The peer picked it before we vetted it: answer now.
    send_choose();
    establish();
  }
  pump();
}

void rudp_session_state::establish() {
  established = true;
  log::debug("rudp session {}: established with {}", remote_text,
             peer.short_hex());
  self->send(sink, crust::established{peer});
  auto t = now();
  for (auto& [prio, payload] : held)
    if (auto st = conn->send(prio, codec::wrap_message(std::move(payload)), t);
        !st)
      log::debug("rudp session {}: a held message failed: {}", remote_text,
                 st.error().message());
  held.clear();
  held_bytes = 0;
}

void rudp_session_state::on_handshake_deadline() {
  if (!conn || established || exit_reason || closed_locally)
    return;
  auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(
    cfg.connection.handshake_timeout);
  abort({errc::handshake_timeout,
         handshake_done
           ? "authenticated, but the session was not chosen "
             "within "
               + std::to_string(limit.count()) + " ms"
           : "no handshake within " + std::to_string(limit.count()) + " ms"});
}

void rudp_session_state::close(uint16_t code, const std::string& text) {
  if (!conn || closed_locally)
    return;
  closed_locally = true;
  if (exit_reason) {
    // The engine ended already; only the exit is left.
    pump();
    return;
  }
  if (static_cast<close_code>(code) == close_code::normal)
    conn->close(now());
  else
    conn->abort(abort_reason(code, text), now());
  pump();
}

void rudp_session_state::abort(failure reason) {
  if (!conn || exit_reason)
    return;
  conn->abort(std::move(reason), now());
  pump();
}

connection_stats rudp_session_state::current_stats() const {
  connection_stats out;
  out.peer = peer;
  out.remote = remote_text;
  out.initiated = cfg.connection.side == noise::role::initiator;
  out.established = established;
  out.connected = handshake_done;
  out.dropped_messages = dropped_messages;
  out.dropped_bytes = dropped_bytes;
  out.transport = "rudp";
  out.service_frames_in = service_frames_in;
  out.service_frames_out = service_frames_out;
  if (!conn)
    return out;
  const auto& s = conn->stats();
  out.bytes_in = s.bytes_received;
  out.bytes_out = s.bytes_sent;
  out.messages_in = s.messages_received;
  out.messages_out = s.messages_sent;
  out.queued_messages = conn->queued_messages();
  out.queued_bytes = conn->queued_bytes();
  out.unflushed_bytes = conn->bytes_in_flight();
  out.packets_lost = s.packets_lost;
  out.packets_lost_by_time = s.packets_lost_by_time;
  out.probe_timeouts = s.probe_timeouts;
  out.bytes_retransmitted = s.stream_bytes_retransmitted;
  out.smoothed_rtt_us = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::microseconds>(
      conn->rtt().smoothed())
      .count());
  return out;
}

void rudp_session_state::pump() {
  auto t = now();
  for (int round = 0;; ++round) {
    while (auto ev = conn->poll_event())
      handle(*ev);
    auto batch = std::make_shared<datagram_batch>();
    byte_buffer buf;
    while (conn->poll_datagram(t, buf)) {
      if (batch->items.empty())
        batch->items.reserve(max_batch); // one allocation per batch
      batch->items.push_back({remote, std::move(buf)});
      buf = byte_buffer{};
      if (batch->items.size() >= max_batch)
        ship(batch);
    }
    ship(batch);
    if (exit_reason && conn->state() == rudp::connection_state::closed) {
      self->quit(closed_locally ? caf::error{} : *exit_reason);
      return;
    }
    auto next = conn->next_timeout();
    if (!next)
      return;
    if (*next > t) {
      arm(*next, t);
      return;
    }
    if (round == max_due_rounds) {
      // Still due: let the mailbox in first, then go on.
      timer_deadline = t;
      self->send(self, atom::timeout_v, ++timer_generation);
      return;
    }
    conn->on_timeout(t);
    t = now();
  }
}

void rudp_session_state::ship(std::shared_ptr<datagram_batch>& batch) {
  if (batch->items.empty())
    return;
  auto responder = cfg.connection.side == noise::role::responder;
  if (responder && !handshake_done)
    self->send(endpoint, atom::write_v, conn->local_id(), std::move(batch));
  else
    socket->send(std::move(batch));
  batch = std::make_shared<datagram_batch>();
}

void rudp_session_state::arm(rudp::time_point deadline, rudp::time_point t) {
  if (timer_deadline && *timer_deadline <= deadline)
    return; // the armed one fires first; it re-arms for the rest
  timer_deadline = deadline;
  auto delay = std::chrono::duration_cast<caf::timespan>(deadline - t);
  self->delayed_send(self, delay, atom::timeout_v, ++timer_generation);
}

void rudp_session_state::handle(rudp::event& ev) {
  if (auto* connected = std::get_if<rudp::connected_event>(&ev)) {
    peer = peer_id{connected->peer_id};
    handshake_done = true;
    log::debug("rudp session {}: authenticated {}", remote_text,
               peer.short_hex());
    auto initiated = cfg.connection.side == noise::role::initiator;
    self->send(sink, authenticated{peer, remote_text, initiated, true});
  } else if (auto* msg = std::get_if<rudp::message_event>(&ev)) {
    on_message(*msg);
  } else if (auto* dropped = std::get_if<rudp::dropped_event>(&ev)) {
    report_dropped(dropped->report);
  } else if (auto* closed = std::get_if<rudp::closed_event>(&ev)) {
    report_dropped(closed->dropped);
    on_closed(closed->reason);
  }
}

void rudp_session_state::on_message(rudp::message_event& msg) {
  if (closed_locally || exit_reason)
    return;
  auto size = msg.payload.size();
  auto env = codec::unwrap(std::move(msg.payload));
  if (!env) {
    abort(env.error());
    return;
  }
  auto t = now();
  switch (env->kind) {
    case codec::envelope_kind::choose:
      if (established || got_choose) {
        abort({errc::malformed_message, "a second choose"});
        return;
      }
      if (leads() && !sent_choose) {
        abort({errc::malformed_message,
               "a choose from the smaller peer id before ours"});
        return;
      }
      got_choose = true;
      if (leads()) {
        establish();
      } else if (choose_allowed) {
        send_choose();
        establish();
      }
      // Otherwise the SINK has not vetted the peer yet: its `choose`
      // answers and establishes.
      return;
    case codec::envelope_kind::message:
    case codec::envelope_kind::service: break;
  }
  if (!established) {
    abort({errc::malformed_message, "a message before the session was chosen"});
    return;
  }
  // Service frames count against the message rate, as over TCP.
  if (!message_rate.take(1, t)
      || !byte_rate.take(static_cast<double>(size), t)) {
    abort({errc::rate_exceeded, "the peer exceeded the message or byte rate"});
    return;
  }
  if (env->kind == codec::envelope_kind::service) {
    ++service_frames_in;
    self->send(sink,
               service_frame{peer, env->service_kind, std::move(env->body)});
    return;
  }
  self->send(sink, new_message{peer, std::move(env->body), msg.prio});
}

void rudp_session_state::on_closed(const failure& reason) {
  if (exit_reason)
    return;
  auto err = to_error(reason);
  exit_reason = err;
  if (closed_locally || reason.code == errc::none)
    return;
  log::debug("rudp session {}: ended: {}", remote_text, reason.message());
  if (!established)
    return; // the owner monitors the session for the reason
  if (is_misbehaviour(reason.code))
    self->send(sink, peer_misbehaved{peer, err});
  else
    self->send(sink, lost_peer{peer, err});
}

void rudp_session_state::report_dropped(const codec::drop_report& report) {
  if (report.empty())
    return;
  dropped_messages += report.messages();
  dropped_bytes += report.bytes();
  self->send(sink,
             messages_dropped{peer, report.messages(), report.bytes(),
                              report.dropped.front().prio, to_string(report)});
}

rudp_session_actor::behavior_type
rudp_session(rudp_session_actor::stateful_pointer<rudp_session_state> self,
             rudp_session_config cfg, udp_endpoint_actor endpoint,
             std::shared_ptr<udp_socket> socket, asio::ip::udp::endpoint remote,
             connection_sink_actor sink) {
  auto& st = self->state;
  st.self = self;
  st.cfg = std::move(cfg);
  st.endpoint = std::move(endpoint);
  st.socket = std::move(socket);
  st.remote = remote;
  st.remote_text = to_text(remote);
  st.sink = std::move(sink);
  if (!st.endpoint || !st.socket || !st.sink) {
    self->quit(make_error(errc::invalid_config,
                          "rudp session: no endpoint, socket or sink"));
    return rudp_session_actor::behavior_type::make_empty_behavior();
  }
  // Without its endpoint no datagram arrives any more.
  self->monitor(st.endpoint);
  self->set_down_handler([self](const caf::down_msg& msg) {
    if (msg.source == self->state.endpoint.address())
      self->state.abort({errc::socket_failure, "the UDP endpoint ended"});
  });
  if (auto err = st.start()) {
    self->quit(std::move(err));
    return rudp_session_actor::behavior_type::make_empty_behavior();
  }
  return {
    [self](atom::received, const std::shared_ptr<datagram_batch>& batch) {
      if (batch)
        self->state.on_datagrams(*batch);
    },
    [self](atom::timeout, uint64_t generation) {
      self->state.on_timer(generation);
    },
    // The BYTE PIPE messages of the CONNECTION interface: a single datagram,
    // nothing, and the end of the transport.
    [self](atom::received, const std::vector<uint8_t>& bytes) {
      self->state.on_datagram(bytes);
    },
    [](atom::sent, uint64_t) {
      // nop: UDP has no write credit
    },
    [self](atom::closed, const caf::error& reason) {
      self->state.abort(
        {errc::socket_failure,
         reason ? self->home_system().render(reason) : "transport closed"});
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
      self->state.close(static_cast<uint16_t>(close_code::normal),
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
    [](atom::timeout, atom::heartbeat) {
      // nop
    },
    [](atom::timeout, atom::silence) {
      // nop
    },
    [](atom::timeout, atom::expiry) {
      // nop
    },
  };
}

} // namespace crust

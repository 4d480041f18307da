#include "crust/actors/udp_endpoint.hpp"

#include "crust/messages/log.hpp"
#include "crust/transport/noise/primitives.hpp"
#include "crust/transport/rudp/packet_format.hpp"

#include <caf/send.hpp>

#include <algorithm>
#include <cstring>
#include <utility>

namespace crust {

namespace {

using udp = asio::ip::udp;

caf::error make_error(errc code, std::string detail) {
  return to_error(failure{code, std::move(detail)});
}

std::optional<uint64_t> random_id() {
  uint8_t bytes[8];
  if (!noise::random_bytes(bytes, sizeof(bytes)))
    return std::nullopt;
  uint64_t out = 0;
  std::memcpy(&out, bytes, sizeof(out));
  return out;
}

/// The datagrams for one session out of one received batch.
struct forward {
  uint64_t local_id = 0;
  std::shared_ptr<datagram_batch> batch;
};

} // namespace

void udp_endpoint_state::on_received(datagram_batch& batch) {
  std::vector<forward> out;
  auto add = [&out, &batch](uint64_t id, datagram_batch::datagram& d) {
    auto i = std::find_if(out.begin(), out.end(), [id](const forward& f) {
      return f.local_id == id;
    });
    if (i == out.end()) {
      out.push_back({id, std::make_shared<datagram_batch>()});
      i = out.end() - 1;
      // Mostly one session per batch: one allocation for its list.
      i->batch->items.reserve(batch.items.size());
    }
    i->batch->items.push_back(std::move(d));
  };
  // The batch is ours alone (the socket made it for us): datagrams move on.
  for (auto& d : batch.items) {
    ++stats.datagrams_received;
    stats.bytes_received += d.bytes.size();
    auto dest = rudp::peek_destination_id(d.bytes);
    if (!dest) {
      ++stats.dropped_malformed;
      continue;
    }
    if (*dest != 0) {
      auto i = sessions.find(*dest);
      if (i == sessions.end()) {
        if (!admit_unknown(d.peer.address()))
          ++stats.dropped_rate_limited;
        else
          ++stats.dropped_unknown_connection;
        continue;
      }
      if (i->second.remote != d.peer) {
        ++stats.dropped_wrong_address;
        continue;
      }
      i->second.bytes_in += d.bytes.size();
      add(*dest, d);
      continue;
    }
    auto source = rudp::initial_source_id(d.bytes);
    if (!source) {
      ++stats.dropped_malformed;
      continue;
    }
    auto key = std::make_pair(d.peer, *source);
    if (auto i = responders.find(key); i != responders.end()) {
      // A retransmitted first datagram: the same responder answers it.
      sessions[i->second].bytes_in += d.bytes.size();
      add(i->second, d);
      continue;
    }
    if (!admit_unknown(d.peer.address())) {
      ++stats.dropped_rate_limited;
      continue;
    }
    if (!cfg.accept || !cfg.acceptor
        || accepted_alive >= cfg.max_accepted_sessions) {
      ++stats.dropped_not_accepted;
      continue;
    }
    auto id = spawn_session(noise::role::responder, d.peer, std::nullopt,
                            cfg.acceptor);
    if (!id) {
      ++stats.dropped_not_accepted;
      continue;
    }
    auto& entry = sessions[*id];
    entry.initial_key = key;
    entry.bytes_in += d.bytes.size();
    responders.emplace(key, *id);
    ++accepted_alive;
    ++stats.sessions_accepted;
    add(*id, d);
  }
  for (auto& f : out)
    self->send(sessions[f.local_id].actor, atom::received_v,
               std::move(f.batch));
}

bool udp_endpoint_state::admit_unknown(const asio::ip::address& from) {
  auto t = self->clock().now();
  auto i = unknown_by_source.find(from);
  if (i == unknown_by_source.end()) {
    if (unknown_by_source.size() >= cfg.max_tracked_sources)
      unknown_by_source.clear();
    i = unknown_by_source.emplace(from, rate_limiter{}).first;
    i->second.reset(cfg.unknown_source_rate, t);
  }
  // Both buckets must have a token; the per-source one is asked first so
  // that one noisy source does not drain the total.
  if (!i->second.take(1, t))
    return false;
  return unknown_total.take(1, t);
}

std::shared_ptr<udp_socket>
udp_endpoint_state::socket_for(const udp::endpoint& to) {
  for (auto& s : sockets)
    if (s->local().address().is_v4() == to.address().is_v4())
      return s;
  return nullptr;
}

std::optional<uint64_t>
udp_endpoint_state::spawn_session(noise::role side, const udp::endpoint& remote,
                                  std::optional<peer_id> expected,
                                  connection_sink_actor sink) {
  auto socket = socket_for(remote);
  if (!socket)
    return std::nullopt;
  std::optional<uint64_t> id;
  for (int attempt = 0; attempt < 4 && !id; ++attempt) {
    auto x = random_id();
    if (x && *x != 0 && sessions.count(*x) == 0)
      id = x;
  }
  if (!id)
    return std::nullopt;
  auto scfg = cfg.session;
  scfg.connection.side = side;
  scfg.connection.expected_peer = std::move(expected);
  scfg.connection.remote = to_text(remote);
  scfg.engine.local_id = *id;
  auto me = caf::actor_cast<udp_endpoint_actor>(self);
  auto session = self->spawn(rudp_session, std::move(scfg), me, socket, remote,
                             std::move(sink));
  self->monitor(session);
  session_entry entry;
  entry.actor = session;
  entry.remote = remote;
  entry.responder = side == noise::role::responder;
  by_actor.emplace(session.address(), *id);
  sessions.emplace(*id, std::move(entry));
  return id;
}

caf::result<connection_actor>
udp_endpoint_state::connect(const std::string& remote, const peer_id& expected,
                            connection_sink_actor sink) {
  auto to = parse_udp_endpoint(remote);
  if (!to)
    return to_error(to.error());
  if (!sink)
    return make_error(errc::invalid_config, "connect: no sink");
  if (!socket_for(*to))
    return make_error(errc::bad_address,
                      "no UDP socket of the family of " + remote);
  std::optional<peer_id> want;
  if (!expected.is_zero())
    want = expected;
  auto id = spawn_session(noise::role::initiator, *to, want, std::move(sink));
  if (!id)
    return make_error(errc::crypto_failure, "no random connection id");
  ++stats.sessions_initiated;
  return connection_actor{sessions[*id].actor};
}

void udp_endpoint_state::on_write(uint64_t local_id, datagram_batch& batch) {
  auto i = sessions.find(local_id);
  if (i == sessions.end())
    return;
  auto& entry = i->second;
  auto socket = socket_for(entry.remote);
  if (!socket)
    return;
  auto allowed = std::make_shared<datagram_batch>();
  for (auto& d : batch.items) {
    auto budget = entry.bytes_in * cfg.amplification_factor;
    if (entry.responder && entry.bytes_out + d.bytes.size() > budget) {
      ++stats.blocked_amplification;
      continue;
    }
    entry.bytes_out += d.bytes.size();
    allowed->items.push_back({entry.remote, std::move(d.bytes)});
  }
  if (!allowed->items.empty())
    socket->send(std::move(allowed));
}

void udp_endpoint_state::on_session_down(const caf::actor_addr& who) {
  auto i = by_actor.find(who);
  if (i == by_actor.end())
    return;
  auto j = sessions.find(i->second);
  if (j != sessions.end()) {
    if (j->second.responder) {
      responders.erase(j->second.initial_key);
      --accepted_alive;
    }
    sessions.erase(j);
  }
  by_actor.erase(i);
  if (stopping && sessions.empty())
    self->quit();
}

udp_endpoint_stats udp_endpoint_state::current_stats() const {
  auto out = stats;
  for (const auto& s : sockets) {
    out.datagrams_sent += s->datagrams_sent();
    out.bytes_sent += s->bytes_sent();
    out.send_errors += s->send_errors();
  }
  out.sessions = sessions.size();
  return out;
}

std::vector<std::string> udp_endpoint_state::local_addresses() const {
  std::vector<std::string> out;
  for (const auto& s : sockets)
    out.push_back(to_text(s->local()));
  return out;
}

udp_endpoint_actor::behavior_type
udp_endpoint(udp_endpoint_actor::stateful_pointer<udp_endpoint_state> self,
             udp_endpoint_config cfg,
             std::vector<std::shared_ptr<udp_socket>> sockets) {
  auto& st = self->state;
  st.self = self;
  st.cfg = std::move(cfg);
  st.sockets = sockets;
  st.unknown_total.reset(st.cfg.unknown_total_rate, self->clock().now());
  // However the endpoint ends, the sockets close (and drop their handlers,
  // which hold the endpoint's handle).
  self->attach_functor([sockets](const caf::error&) {
    for (auto& s : sockets)
      s->close();
  });
  self->set_down_handler([self](const caf::down_msg& msg) {
    self->state.on_session_down(msg.source);
  });
  auto me = caf::actor_cast<udp_endpoint_actor>(self);
  for (auto& s : sockets)
    s->start([me](std::shared_ptr<datagram_batch> batch) {
      caf::anon_send(me, atom::received_v, std::move(batch));
    });
  return {
    [self](atom::connect, const std::string& remote, const peer_id& expected,
           connection_sink_actor sink) -> caf::result<connection_actor> {
      return self->state.connect(remote, expected, std::move(sink));
    },
    [self](atom::get, atom::stats) {
      return self->state.current_stats();
    },
    [self](atom::get, atom::address) {
      return self->state.local_addresses();
    },
    [self](atom::write, uint64_t local_id,
           const std::shared_ptr<datagram_batch>& batch) {
      if (batch)
        self->state.on_write(local_id, *batch);
    },
    [self](atom::received, const std::shared_ptr<datagram_batch>& batch) {
      if (batch)
        self->state.on_received(*batch);
    },
    [self](atom::listen, bool on) {
      self->state.cfg.accept = on;
    },
    [self](atom::stop) {
      auto& state = self->state;
      state.stopping = true;
      state.cfg.accept = false;
      if (state.sessions.empty()) {
        self->quit();
        return;
      }
      // A session's graceful close may wait for a peer that is gone.
      self->delayed_send(self, std::chrono::seconds{2}, atom::timeout_v,
                         atom::stop_v);
    },
    [self](atom::timeout, atom::stop) {
      self->quit();
    },
  };
}

expected<udp_endpoint_actor>
spawn_udp_endpoint(caf::actor_system& sys, asio_runtime& io,
                   udp_endpoint_config cfg, uint16_t* bound_port) {
  std::vector<std::shared_ptr<udp_socket>> sockets;
  uint16_t port = cfg.port;
  for (const auto& text : cfg.bind_addresses) {
    std::error_code ec;
    auto addr = asio::ip::make_address(text, ec);
    if (ec)
      return failure{errc::bad_address, "cannot bind '" + text + "'"};
    auto opened = udp_socket::open(io.context(), udp::endpoint{addr, port},
                                   cfg.socket);
    if (!opened && cfg.port == 0 && port != 0) // the number is taken here
      opened = udp_socket::open(io.context(), udp::endpoint{addr, 0},
                                cfg.socket);
    if (!opened) {
      if (addr.is_v6()) {
        log::info("UDP endpoint: no IPv6 socket: {}", opened.error().message());
        continue;
      }
      return opened.error();
    }
    if (port == 0)
      port = (*opened)->local().port();
    sockets.push_back(std::move(*opened));
  }
  if (sockets.empty())
    return failure{errc::socket_failure, "UDP endpoint: no socket opened"};
  if (bound_port != nullptr)
    *bound_port = sockets.front()->local().port();
  return sys.spawn(udp_endpoint, std::move(cfg), std::move(sockets));
}

} // namespace crust

#include "crust/actors/service.hpp"

#include "crust/actors/blacklist.hpp"
#include "crust/actors/tcp_pipe.hpp"
#include "crust/messages/log.hpp"
#include "crust/transport/asio_listener.hpp"
#include "crust/transport/asio_runtime.hpp"
#include "crust/transport/local_addresses.hpp"
#include "crust/transport/tcp_stream.hpp"

#include <caf/send.hpp>

#include <algorithm>
#include <utility>

namespace crust {

namespace {

caf::error make_error(errc code, std::string detail) {
  return to_error(failure{code, std::move(detail)});
}

/// The IP of "a.b.c.d:port" or "[v6]:port" in canonical text; the input if
/// it does not parse (a test transport may name its ends freely).
std::string ip_of(const std::string& remote) {
  if (auto ep = endpoint::parse(remote))
    return ep->ip.to_string();
  return remote;
}

/// How telling a connect failure is: a refusal or a wrong key says more
/// than a timeout or a socket error.
int weight(const caf::error& err) {
  if (!err || err.category() != error_category)
    return 0;
  switch (static_cast<errc>(err.code())) {
    case errc::socket_failure:
    case errc::handshake_timeout:
    case errc::connect_failed: return 1;
    case errc::duplicate_connection: return 0;
    default: return 2;
  }
}

/// The actor that sent the current message.
caf::actor_addr sender_of(service_actor::pointer self) {
  return caf::actor_cast<caf::actor_addr>(self->current_sender());
}

asio::ip::tcp::endpoint to_asio(const endpoint& addr) {
  std::error_code ec;
  auto ip = asio::ip::make_address(addr.ip.to_string(), ec);
  return {ip, addr.port};
}

/// "a.b.c.d:port" or "[v6]:port", whatever the protocol.
std::string host_port(endpoint addr) {
  addr.protocol = transport_protocol::tcp;
  return to_string(addr);
}

const char* transport_name(const connection_entry& entry) {
  return entry.rudp ? "rudp" : "tcp";
}

/// Asks the blacklist whether `key` (a peer id or an IP address) is banned:
/// closes the connection `who` if so, else (also if the blacklist fails)
/// goes on with `next`.
template<class Key, class Next>
void close_if_banned(service_state& st, const caf::actor_addr& who,
                     const Key& key, const char* text, Next next) {
  st.self->request(st.blacklist, caf::infinite, atom::is_banned_v, key)
    .then(
      [&st, who, text, next](bool banned) mutable {
        auto k = st.connections.find(who);
        if (k == st.connections.end())
          return;
        if (!banned) {
          next();
          return;
        }
        ++st.refused_total;
        k->second.retired = true;
        st.self->send(k->second.handle, atom::close_v,
                      static_cast<uint16_t>(close_code::banned),
                      std::string{text});
      },
      [next](caf::error&) mutable {
        next();
      });
}

} // namespace

// -- helpers -----------------------------------------------------------------

connection_config
service_state::make_connection_config(noise::role side) const {
  const auto& node = cfg.node;
  connection_config cc;
  cc.side = side;
  cc.local_static = cfg.keys;
  cc.network_name = node.network_name;
  cc.cipher = node.cipher == "aes-gcm" ? noise::cipher_kind::aes_gcm
                                       : noise::cipher_kind::chacha_poly;
  cc.max_message_size = node.max_message_size;
  cc.handshake_timeout = node.handshake_timeout;
  cc.heartbeat_interval = node.heartbeat_interval;
  cc.inactivity_timeout = node.inactivity_timeout;
  cc.max_queued_bytes = node.max_queued_bytes;
  cc.queue_expiry = node.queue_expiry;
  cc.max_messages_per_second = node.max_messages_per_second;
  cc.max_bytes_per_second = node.max_bytes_per_second;
  cc.ephemeral_source = cfg.ephemeral_source;
  return cc;
}

bool service_state::whitelisted(const std::string& ip) const {
  const auto& list = cfg.node.whitelist;
  if (list.empty())
    return true;
  return std::any_of(list.begin(), list.end(), [&](const std::string& x) {
    auto parsed = ip_address::parse(x);
    return parsed && parsed->to_string() == ip;
  });
}

caf::actor_addr service_state::dial(const peer_id& peer, const endpoint& addr,
                                    uint64_t attempt) {
  auto cc = make_connection_config(noise::role::initiator);
  cc.expected_peer = peer;
  cc.remote = host_port(addr);
  connection_actor conn;
  if (cfg.dial) {
    conn = cfg.dial(self->home_system(), addr, std::move(cc), self);
  } else {
    auto stream = tcp_stream::connecting(cfg.io->context(), to_asio(addr));
    conn = spawn_tcp_connection(self->home_system(), std::move(stream),
                                std::move(cc), self);
  }
  register_dial(conn, peer, addr, attempt);
  return conn.address();
}

void service_state::register_dial(connection_actor conn, const peer_id& peer,
                                  const endpoint& addr, uint64_t attempt) {
  ++dialled_total;
  self->monitor(conn);
  connection_entry entry;
  entry.handle = conn;
  entry.remote = host_port(addr);
  entry.ip = addr.ip.to_string();
  entry.initiated = true;
  entry.rudp = addr.protocol == transport_protocol::udp;
  entry.peer = peer;
  entry.attempt = attempt;
  connections.emplace(conn.address(), std::move(entry));
}

bool service_state::open_udp(bool accept) {
  if (!cfg.node.rudp || cfg.io == nullptr)
    return false;
  if (udp) {
    if (accept != udp_accepting) {
      self->send(udp, atom::listen_v, accept);
      udp_accepting = accept;
    }
    return true;
  }
  udp_endpoint_config uc;
  // While listening, the UDP port takes the TCP port's number if it is free:
  // a contact's TCP address then names our rUDP one too.
  uc.port = cfg.node.udp_port != 0 ? cfg.node.udp_port : (accept ? port : 0);
  auto& sc = uc.session.connection;
  sc = make_connection_config(noise::role::responder);
  uc.accept = accept;
  uc.acceptor = self;
  auto opened = spawn_udp_endpoint(self->home_system(), *cfg.io, uc, &udp_port);
  if (!opened && cfg.node.udp_port == 0 && uc.port != 0) {
    uc.port = 0;
    opened = spawn_udp_endpoint(self->home_system(), *cfg.io, uc, &udp_port);
  }
  if (!opened) {
    log::warn("no rUDP: {}", opened.error().message());
    return false;
  }
  udp = std::move(*opened);
  udp_accepting = accept;
  log::info("rUDP on UDP port {}{}", udp_port,
            accept ? "" : " (dialling only)");
  return true;
}

void service_state::dial_rudp(const peer_id& peer, const endpoint& addr,
                              uint64_t attempt) {
  auto sink = caf::actor_cast<connection_sink_actor>(self);
  self
    ->request(udp, cfg.node.handshake_timeout, atom::connect_v, host_port(addr),
              peer, sink)
    .then(
      [this, peer, addr, attempt](connection_actor& conn) {
        register_dial(conn, peer, addr, attempt);
        auto i = connecting.find(peer);
        if (i == connecting.end() || i->second.attempt != attempt
            || active.count(peer) > 0) {
          // The connect ended meanwhile (TCP won, or it failed).
          retire(conn.address());
          connections.at(conn.address()).peer.reset();
          self->send(conn, atom::close_v,
                     static_cast<uint16_t>(close_code::duplicate),
                     std::string{"the connect ended"});
        }
      },
      [this, peer, attempt](caf::error& err) {
        auto i = connecting.find(peer);
        if (i == connecting.end() || i->second.attempt != attempt)
          return;
        auto& pc = i->second;
        if (weight(err) > weight(pc.reason))
          pc.reason = err;
        if (pc.dials > 0)
          --pc.dials;
        check_connect(peer);
      });
}

void service_state::start_connect(const peer_id& peer,
                                  const std::vector<endpoint>& addrs,
                                  caf::typed_response_promise<peer_id> rp) {
  if (peer == id) {
    rp.deliver(make_error(errc::connect_to_self, "the peer id is our own"));
    return;
  }
  if (active.count(peer) > 0) {
    rp.deliver(peer);
    return;
  }
  auto& pc = connecting[peer];
  pc.promises.emplace_back(std::move(rp));
  if (pc.started)
    return; // already dialling: the answer comes with the others
  pc.started = true;
  self->request(blacklist, caf::infinite, atom::is_banned_v, peer)
    .then(
      [this, peer, addrs](bool banned) {
        if (banned) {
          ++refused_total;
          fail_connect(peer, make_error(errc::banned,
                                        "the peer is on our blacklist"));
          return;
        }
        dial_all(peer, addrs);
      },
      [this, peer, addrs](caf::error&) {
        dial_all(peer, addrs);
      });
}

void service_state::dial_all(const peer_id& peer,
                             const std::vector<endpoint>& addrs) {
  auto i = connecting.find(peer);
  if (i == connecting.end())
    return;
  auto& pc = i->second;
  pc.attempt = ++last_attempt;
  pc.udp_addrs.clear();
  pc.udp_started = false;
  bool rudp = cfg.node.rudp && (cfg.dial || cfg.io != nullptr);
  // Addresses without any UDP endpoint (a contact's text, an old cache) get
  // rUDP at their TCP addresses: our UDP port follows the TCP one.
  bool implied_udp = std::none_of(addrs.begin(), addrs.end(), [](auto& x) {
    return x.protocol == transport_protocol::udp;
  });
  auto add_udp = [&pc](endpoint ep) {
    ep.protocol = transport_protocol::udp;
    auto& v = pc.udp_addrs;
    if (std::find(v.begin(), v.end(), ep) == v.end())
      v.push_back(ep);
  };
  for (const auto& addr : addrs) {
    if (!whitelisted(addr.ip.to_string())) {
      if (weight(pc.reason) < 2)
        pc.reason
          = make_error(errc::not_whitelisted,
                       addr.ip.to_string() + " is not on our whitelist");
      continue;
    }
    if (addr.protocol == transport_protocol::udp) {
      if (rudp)
        add_udp(addr);
      continue;
    }
    dial(peer, addr, pc.attempt);
    ++pc.dials;
    if (rudp && implied_udp)
      add_udp(addr);
  }
  if (!pc.udp_addrs.empty()) {
    auto head_start = cfg.node.rudp_head_start;
    if (pc.dials == 0 || head_start == caf::timespan{0}) {
      start_rudp(peer);
    } else {
      auto attempt = pc.attempt;
      arm_deadline(head_start, [this, peer, attempt] {
        auto j = connecting.find(peer);
        if (j != connecting.end() && j->second.attempt == attempt)
          start_rudp(peer);
      });
    }
  }
  if (pc.dials == 0) {
    auto reason = pc.reason
                    ? pc.reason
                    : make_error(errc::connect_failed, "no address to dial");
    fail_connect(peer, std::move(reason));
  }
}

bool service_state::tcp_candidate_ready(const peer_id& peer) const {
  return std::any_of(
    connections.begin(), connections.end(), [&](const auto& kvp) {
      const auto& x = kvp.second;
      return x.peer == peer && !x.rudp && x.authenticated && !x.retired;
    });
}

void service_state::start_rudp(const peer_id& peer) {
  auto i = connecting.find(peer);
  if (i == connecting.end() || active.count(peer) > 0)
    return;
  auto& pc = i->second;
  if (pc.udp_started || pc.udp_addrs.empty())
    return;
  // Prefer TCP: a TCP candidate that authenticated is about to be chosen
  // (should it fail after all, check_connect starts rUDP then).
  if (tcp_candidate_ready(peer))
    return;
  pc.udp_started = true;
  if (!cfg.dial && !open_udp(udp_accepting)) {
    if (weight(pc.reason) < 1)
      pc.reason = make_error(errc::socket_failure, "no UDP socket for rUDP");
    return;
  }
  log::debug("{}: rUDP fallback to {} ({} addresses)", id.short_hex(),
             peer.short_hex(), pc.udp_addrs.size());
  for (const auto& addr : pc.udp_addrs) {
    ++pc.dials;
    if (cfg.dial)
      dial(peer, addr, pc.attempt);
    else
      dial_rudp(peer, addr, pc.attempt);
  }
}

void service_state::fail_connect(const peer_id& peer, caf::error reason) {
  auto i = connecting.find(peer);
  if (i == connecting.end())
    return;
  auto promises = std::move(i->second.promises);
  connecting.erase(i);
  log::debug("connect to {} failed: {}", peer.short_hex(),
             self->home_system().render(reason));
  for (auto& rp : promises)
    rp.deliver(reason);
  publish(connect_failure{peer, reason});
}

// -- connection events -------------------------------------------------------

void service_state::on_down(const caf::actor_addr& who,
                            const caf::error& reason) {
  auto i = connections.find(who);
  if (i == connections.end()) {
    // A subscriber.
    auto& subs = subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const service_subscriber_actor& x) {
                                return x.address() == who;
                              }),
               subs.end());
    return;
  }
  auto entry = std::move(i->second);
  connections.erase(i);
  if (entry.probe != 0) {
    if (auto j = probes.find(entry.probe);
        j != probes.end() && --j->second.dials == 0)
      finish_probe(entry.probe,
                   make_error(errc::not_reachable,
                              "no advertised address answered: "
                                + self->home_system().render(reason)));
    return;
  }
  log::debug("{}: connection {} ({}) ended: {}", id.short_hex(), entry.remote,
             entry.initiated ? "dialled" : "accepted",
             self->home_system().render(reason));
  if (!entry.initiated && !entry.authenticated) {
    if (pending_inbound > 0)
      --pending_inbound;
    // A connect may have waited for this one to authenticate.
    std::vector<peer_id> waiting;
    for (const auto& kvp : connecting)
      waiting.push_back(kvp.first);
    for (const auto& x : waiting)
      check_connect(x);
  }
  if (!entry.peer)
    return;
  auto peer = *entry.peer;
  if (entry.established) {
    auto j = active.find(peer);
    if (j != active.end() && j->second == who) {
      active.erase(j);
      // The connection told subscribers `lost_peer` itself unless it was
      // closed locally (then whoever closed it announced it).
    }
    return;
  }
  // A connection that never got established: part of a connect?
  auto j = connecting.find(peer);
  if (j == connecting.end())
    return;
  auto& pc = j->second;
  if (weight(reason) > weight(pc.reason))
    pc.reason = reason;
  if (entry.initiated && entry.attempt == pc.attempt && pc.dials > 0)
    --pc.dials;
  check_connect(peer);
}

void service_state::check_connect(const peer_id& peer) {
  auto j = connecting.find(peer);
  if (j == connecting.end() || !j->second.started || j->second.dials > 0
      || active.count(peer) > 0)
    return;
  // Every TCP dial failed before the head start ended: rUDP now.
  start_rudp(peer);
  if (j->second.dials > 0)
    return;
  // Another connection may still carry the peer: one of its candidates, or
  // an inbound connection that has not authenticated yet (the peer's own
  // dial, when both sides connect at once and the peer keeps that one).
  bool candidates_left
    = std::any_of(connections.begin(), connections.end(), [&](const auto& kvp) {
        const auto& x = kvp.second;
        return !x.retired && x.probe == 0
               && (x.peer == peer || (!x.initiated && !x.authenticated));
      });
  if (candidates_left)
    return;
  auto& pc = j->second;
  log::debug("{}: no candidate left for {}", id.short_hex(), peer.short_hex());
  auto err = pc.reason
               ? pc.reason
               : make_error(errc::connect_failed, "every address failed");
  fail_connect(peer, std::move(err));
}

void service_state::on_authenticated(const caf::actor_addr& who,
                                     const authenticated& ev) {
  auto i = connections.find(who);
  if (i == connections.end()) {
    // Spawned for us by a test transport: adopt it.
    connection_entry entry;
    entry.handle = caf::actor_cast<connection_actor>(who);
    entry.remote = ev.remote;
    entry.ip = ip_of(ev.remote);
    entry.initiated = ev.initiated;
    entry.rudp = ev.rudp;
    self->monitor(entry.handle);
    i = connections.emplace(who, std::move(entry)).first;
    if (!ev.initiated)
      ++accepted_total;
    if (ev.rudp && !ev.initiated && !whitelisted(i->second.ip)) {
      // TCP refuses these before the handshake; a UDP ENDPOINT accepts
      // first.
      ++refused_total;
      i->second.retired = true;
      self->send(i->second.handle, atom::close_v,
                 static_cast<uint16_t>(close_code::not_whitelisted),
                 std::string{"address not whitelisted"});
      return;
    }
  } else if (!i->second.initiated && pending_inbound > 0) {
    --pending_inbound;
  }
  auto& entry = i->second;
  entry.authenticated = true;
  entry.peer = ev.peer;
  if (entry.probe != 0) {
    // The peer answered at an address it advertised: that is all a probe
    // asks. Its side sees a duplicate and forgets it.
    auto probe = entry.probe;
    entry.probe = 0;
    entry.retired = true;
    entry.peer.reset();
    self->send(entry.handle, atom::close_v,
               static_cast<uint16_t>(close_code::duplicate),
               std::string{"reachability probe"});
    finish_probe(probe, caf::error{});
    return;
  }
  if (ev.peer == id) {
    self->send(entry.handle, atom::close_v,
               static_cast<uint16_t>(close_code::normal),
               std::string{"connected to itself"});
    return;
  }
  auto peer = ev.peer;
  if (entry.rudp && !entry.initiated) {
    // The address ban TCP checks before the handshake, then the peer's.
    close_if_banned(*this, who, entry.ip, "address banned", [this, who, peer] {
      vet(who, peer);
    });
    return;
  }
  vet(who, peer);
}

void service_state::vet(const caf::actor_addr& who, const peer_id& peer) {
  close_if_banned(*this, who, peer, "banned", [this, who, peer] {
    decide(who, peer);
  });
}

void service_state::decide(const caf::actor_addr& who, const peer_id& peer) {
  auto i = connections.find(who);
  if (i == connections.end())
    return;
  auto& entry = i->second;
  if (!(id > peer)) {
    // The peer picks one of its candidates: allow each to answer its choice.
    self->send(entry.handle, atom::choose_v);
    return;
  }
  // Prefer TCP: an rUDP candidate yields to an authenticated TCP one, which
  // is chosen when its own vetting ends.
  bool taken = (entry.rudp && tcp_candidate_ready(peer))
               || active.count(peer) > 0
               || std::any_of(
                 connections.begin(), connections.end(), [&](const auto& kvp) {
                   const auto& x = kvp.second;
                   return x.peer == peer && x.chosen_by_us && !x.retired;
                 });
  log::debug("{}: {} to {} at {}", id.short_hex(),
             taken ? "duplicate" : "choosing", peer.short_hex(), entry.remote);
  if (taken) {
    self->send(entry.handle, atom::close_v,
               static_cast<uint16_t>(close_code::duplicate),
               std::string{"duplicate connection"});
    return;
  }
  entry.chosen_by_us = true;
  self->send(entry.handle, atom::choose_v);
}

void service_state::on_established(const caf::actor_addr& who,
                                   const peer_id& peer) {
  auto i = connections.find(who);
  if (i == connections.end())
    return;
  auto& entry = i->second;
  entry.established = true;
  log::debug("{}: established with {} at {}", id.short_hex(), peer.short_hex(),
             entry.remote);
  // Close every other candidate of this peer; a previous established
  // connection is replaced (the peer chose anew, so it gave the old one up).
  bool replaced = active.count(peer) > 0;
  for (auto& [addr, other] : connections) {
    if (addr == who || other.peer != peer)
      continue;
    self->send(other.handle, atom::close_v,
               static_cast<uint16_t>(close_code::duplicate),
               std::string{"duplicate connection"});
    other.established = false;
    other.peer.reset();
  }
  active[peer] = who;
  if (replaced)
    return; // the peer stays connected: no second connect_success
  auto j = connecting.find(peer);
  if (j != connecting.end()) {
    auto promises = std::move(j->second.promises);
    connecting.erase(j);
    for (auto& rp : promises)
      rp.deliver(peer);
  }
  log::info("connected to {} at {} over {} ({})", peer.short_hex(),
            entry.remote, transport_name(entry),
            entry.initiated ? "dialled" : "accepted");
  publish(connect_success{peer, entry.remote, transport_name(entry),
                          entry.initiated});
  on_peer_connected(peer);
}

void service_state::retire(const caf::actor_addr& who) {
  auto i = connections.find(who);
  if (i == connections.end())
    return;
  // Its down message may come long after a new connect to the same peer
  // started: until then it must not look like a chosen candidate.
  i->second.retired = true;
}

void service_state::close_peer(const peer_id& peer, close_code code,
                               const std::string& text,
                               const caf::error& reason) {
  bool was_connected = active.erase(peer) > 0;
  if (was_connected)
    on_peer_gone(peer, reason ? reason
                              : make_error(errc::peer_closed, "disconnected"));
  for (auto& [addr, entry] : connections) {
    if (entry.peer != peer)
      continue;
    self->send(entry.handle, atom::close_v, static_cast<uint16_t>(code), text);
    entry.established = false;
    entry.peer.reset();
  }
  if (was_connected)
    publish(lost_peer{peer, reason});
}

void service_state::count_misbehaviour(const peer_id& peer,
                                       const std::string& ip) {
  auto limit = cfg.node.ban_after_misbehaviours;
  if (limit == 0)
    return;
  auto count = ++misbehaviours[peer];
  if (count < limit)
    return;
  log::warn("banning {} ({}) after {} misbehaviours", peer.short_hex(), ip,
            count);
  auto ttl = cfg.node.ban_duration;
  auto ignore = [](const ban_set&) {};
  auto warn = [](const caf::error& err) {
    log::warn("automatic ban failed: {}", to_string(err));
  };
  self
    ->request(blacklist, caf::infinite, atom::ban_v, std::vector<peer_id>{peer},
              ttl)
    .then(ignore, warn);
  if (!ip.empty())
    self->request(blacklist, caf::infinite, atom::ban_v, ip, ttl)
      .then(ignore, warn);
}

// -- listening ---------------------------------------------------------------

expected<private_connection_info> service_state::prepare_info() const {
  private_connection_info result;
  result.pub.id = id;
  if (!listener)
    return failure{errc::not_listening,
                   "start listening first: connection info lists the "
                   "addresses we listen on"};
  auto ips = local_addresses(listener->dual_stack());
  auto add = [&](transport_protocol proto, uint16_t num) {
    for (const auto& ip : ips) {
      if (result.pub.endpoints.size() == public_connection_info::max_endpoints)
        return;
      endpoint ep;
      ep.protocol = proto;
      ep.ip = ip;
      ep.port = num;
      result.pub.endpoints.push_back(ep);
    }
  };
  add(transport_protocol::tcp, port);
  // rUDP where we accept it (its port is known once the endpoint answered).
  if (udp_accepting && udp_port != 0)
    add(transport_protocol::udp, udp_port);
  return result;
}

expected<uint16_t> service_state::start_listening() {
  if (listener)
    return port;
  if (cfg.io == nullptr)
    return failure{errc::not_listening, "no io thread for TCP"};
  auto me = caf::actor_cast<caf::actor>(self);
  auto opened = tcp_listener::open(
    cfg.io->context(), cfg.node.tcp_port, [me](asio::ip::tcp::socket sock) {
      std::error_code ec;
      sock.remote_endpoint(ec);
      if (ec)
        return;
      caf::anon_send(me, atom::accepted_v,
                     tcp_stream::accepted(std::move(sock)));
    });
  if (!opened)
    return opened.error();
  listener = std::move(*opened);
  port = listener->port();
  listener->start();
  log::info("listening on TCP port {} ({})", port,
            listener->dual_stack() ? "IPv6 and IPv4" : "IPv4");
  open_udp(true);
  listener_started ev;
  ev.port = port;
  if (auto info = prepare_info())
    for (const auto& ep : info->pub.endpoints)
      ev.endpoints.push_back(to_string(ep));
  publish(ev);
  advertise();
  return port;
}

void service_state::stop_listening() {
  if (!listener)
    return;
  listener->close();
  listener.reset();
  port = 0;
  if (udp)
    open_udp(false);
  advertise();
}

void service_state::on_accepted(std::shared_ptr<tcp_stream> stream) {
  if (!listener) {
    stream->close();
    return;
  }
  auto ip = ip_of(stream->remote());
  if (pending_inbound >= cfg.node.max_pending_connections) {
    ++refused_total;
    log::debug("refusing {}: {} connections in the handshake already",
               stream->remote(), pending_inbound);
    stream->close();
    return;
  }
  ++pending_inbound;
  ++accepted_total;
  auto cc = make_connection_config(noise::role::responder);
  cc.remote = stream->remote();
  auto spawn = [this, stream, ip](connection_config conn_cfg) {
    auto conn = spawn_tcp_connection(self->home_system(), stream,
                                     std::move(conn_cfg), self);
    self->monitor(conn);
    connection_entry entry;
    entry.handle = conn;
    entry.remote = stream->remote();
    entry.ip = ip;
    connections.emplace(conn.address(), std::move(entry));
  };
  if (!whitelisted(ip)) {
    ++refused_total;
    cc.refusal = noise::channel_refusal{noise::refusal_reason::not_whitelisted,
                                        "address not whitelisted"};
    spawn(std::move(cc));
    return;
  }
  self->request(blacklist, caf::infinite, atom::is_banned_v, ip)
    .then(
      [this, spawn, cc](bool banned) mutable {
        if (banned) {
          ++refused_total;
          cc.refusal = noise::channel_refusal{noise::refusal_reason::banned,
                                              "address banned"};
        }
        spawn(std::move(cc));
      },
      [spawn, cc](caf::error&) mutable {
        spawn(std::move(cc));
      });
}

void service_state::shutdown() {
  stop_listening();
  for (auto& [addr, entry] : connections)
    caf::anon_send(entry.handle, atom::close_v,
                   static_cast<uint16_t>(close_code::shutdown),
                   std::string{"node shutting down"});
  connections.clear();
  active.clear();
  for (auto& [peer, pc] : connecting)
    for (auto& rp : pc.promises)
      rp.deliver(make_error(errc::shutting_down, "the node stopped"));
  connecting.clear();
  // The endpoint outlives its sessions' closes for a moment.
  if (udp)
    caf::anon_send(udp, atom::stop_v);
  if (owns_blacklist && blacklist)
    caf::anon_send_exit(blacklist, caf::exit_reason::user_shutdown);
  // The cache writes its file on the way out.
  for (auto hdl : {caf::actor_cast<caf::actor>(manager),
                   caf::actor_cast<caf::actor>(beacon),
                   caf::actor_cast<caf::actor>(cache)})
    if (hdl)
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
}

service_state::~service_state() {
  // The state dies in the actor's on_exit, before attached functors run
  // (which could no longer reach it): the last moment to close everything.
  if (self != nullptr)
    shutdown();
}

// -- spawn function ----------------------------------------------------------

service_actor::behavior_type
service(service_actor::stateful_pointer<service_state> self,
        service_config cfg) {
  auto& init = self->state;
  init.self = self;
  auto checked = validate(cfg.node);
  if (checked && cfg.io == nullptr && !cfg.dial)
    checked = status{errc::invalid_config, "service: no io thread and no dial"};
  if (!checked) {
    log::warn("{}", checked.error().message());
    self->quit(to_error(checked.error()));
    return service_actor::behavior_type::make_empty_behavior();
  }
  init.cfg = std::move(cfg);
  init.id = peer_id{init.cfg.keys.pub};
  init.accept_bootstrap = init.cfg.node.accept_bootstrap;
  for (const auto& text : init.cfg.contacts)
    if (auto c = contact::parse(text))
      init.contact_ids.insert(c->id);
  if (init.cfg.blacklist) {
    init.blacklist = init.cfg.blacklist;
  } else {
    init.blacklist = self->home_system().spawn(blacklist, blacklist_config{});
    init.owns_blacklist = true;
  }
  self->send(init.blacklist, atom::subscribe_v,
             caf::actor_cast<blacklist_sink_actor>(self));
  if (init.cfg.cache) {
    auto cc = *init.cfg.cache;
    cc.pinger = caf::actor_cast<peer_pinger_actor>(self);
    init.cache = self->home_system().spawn(bootstrap_cache_keeper, cc);
  }
  if (init.cfg.beacon) {
    auto bc = *init.cfg.beacon;
    bc.self = init.id;
    bc.network_name = init.cfg.node.network_name;
    init.beacon = self->home_system().spawn(lan_beacon, bc);
  }
  self->set_down_handler([self](caf::down_msg& dm) {
    self->state.on_down(dm.source, dm.reason);
  });
  return {
    [self](atom::subscribe, service_subscriber_actor sub) {
      auto& subs = self->state.subscribers;
      if (std::find(subs.begin(), subs.end(), sub) != subs.end())
        return;
      self->monitor(sub);
      subs.emplace_back(std::move(sub));
    },
    [self](atom::unsubscribe, const service_subscriber_actor& sub) {
      auto& subs = self->state.subscribers;
      subs.erase(std::remove(subs.begin(), subs.end(), sub), subs.end());
    },
    [self](atom::get, atom::id) {
      return self->state.id;
    },
    [self](atom::listen) -> caf::result<uint16_t> {
      auto& st = self->state;
      auto res = st.start_listening();
      if (!res) {
        auto err = to_error(res.error());
        log::warn("listener failed: {}", res.error().message());
        st.publish(listener_failed{st.cfg.node.tcp_port, err});
        return err;
      }
      return *res;
    },
    [self](atom::stop, atom::listen) {
      auto& st = self->state;
      bool was = static_cast<bool>(st.listener);
      st.stop_listening();
      return was;
    },
    [self](atom::connect, const std::string& text) -> caf::result<peer_id> {
      auto c = contact::parse(text);
      if (!c)
        return to_error(c.error());
      auto rp = self->make_response_promise<peer_id>();
      self->state.start_connect(c->id, {c->addr}, rp);
      return rp;
    },
    [self](atom::prepare,
           uint32_t token) -> caf::result<private_connection_info> {
      auto& st = self->state;
      auto info = st.prepare_info();
      connection_info_prepared ev;
      ev.token = token;
      if (!info) {
        ev.reason = to_error(info.error());
        st.publish(ev);
        return ev.reason;
      }
      if (auto text = info->pub.to_text())
        ev.info = std::move(*text);
      else
        ev.reason = to_error(text.error());
      st.publish(ev);
      return std::move(*info);
    },
    [self](atom::connect, const private_connection_info&,
           const public_connection_info& theirs) -> caf::result<peer_id> {
      if (auto valid = theirs.validate(); !valid)
        return to_error(valid.error());
      auto rp = self->make_response_promise<peer_id>();
      self->state.start_connect(theirs.id, theirs.endpoints, rp);
      return rp;
    },
    [self](atom::send, const peer_id& peer, uint8_t prio,
           std::vector<uint8_t>& payload) -> caf::result<uint64_t> {
      auto& st = self->state;
      auto i = st.active.find(peer);
      if (i == st.active.end())
        return make_error(errc::peer_not_found,
                          "no connection to " + peer.short_hex());
      auto& entry = st.connections.at(i->second);
      return self->delegate(entry.handle, atom::send_v, prio,
                            std::move(payload));
    },
    [self](atom::disconnect, const peer_id& peer) {
      auto& st = self->state;
      bool was = st.active.count(peer) > 0;
      st.close_peer(peer, close_code::normal, "disconnected", caf::error{});
      return was;
    },
    [self](atom::is_connected, const peer_id& peer) {
      return self->state.active.count(peer) > 0;
    },
    [self](atom::get, atom::address,
           const peer_id& peer) -> caf::result<std::string> {
      auto& st = self->state;
      auto i = st.active.find(peer);
      if (i == st.active.end())
        return make_error(errc::peer_not_found,
                          "no connection to " + peer.short_hex());
      return st.connections.at(i->second).remote;
    },
    [self](atom::get, atom::peers) {
      auto& st = self->state;
      std::vector<peer_summary> result;
      for (const auto& [peer, addr] : st.active) {
        const auto& entry = st.connections.at(addr);
        result.push_back(peer_summary{peer, entry.remote, transport_name(entry),
                                      entry.initiated});
      }
      return result;
    },
    [self](atom::get, atom::stats) -> caf::result<service_stats> {
      auto& st = self->state;
      auto rp = self->make_response_promise<service_stats>();
      auto acc = std::make_shared<service_stats>();
      acc->pending_connections = st.connections.size() - st.active.size();
      acc->accepted_total = st.accepted_total;
      acc->dialled_total = st.dialled_total;
      acc->refused_total = st.refused_total;
      auto left = std::make_shared<size_t>(st.active.size());
      if (*left == 0) {
        rp.deliver(*acc);
        return rp;
      }
      for (const auto& [peer, addr] : st.active) {
        auto done = [rp, acc, left]() mutable {
          if (--*left == 0)
            rp.deliver(*acc);
        };
        self
          ->request(st.connections.at(addr).handle, std::chrono::seconds{5},
                    atom::get_v, atom::stats_v)
          .then(
            [acc, done](const connection_stats& cs) mutable {
              acc->connections.push_back(cs);
              done();
            },
            [done](caf::error&) mutable {
              done();
            });
      }
      return rp;
    },
    [self](atom::get, atom::blacklist) {
      return self->state.blacklist;
    },
    // -- discovery (actors/service_discovery.cpp) ----------------------------
    [self](atom::bootstrap) -> caf::result<bootstrap_report> {
      auto rp = self->make_response_promise<bootstrap_report>();
      self->state.run_bootstrap(rp);
      return rp;
    },
    [self](atom::get, atom::report) -> caf::result<bootstrap_report> {
      auto& st = self->state;
      if (!st.manager)
        return bootstrap_report{};
      return self->delegate(st.manager, atom::get_v, atom::report_v);
    },
    [self](atom::get, atom::echo,
           const peer_id& peer) -> caf::result<std::string> {
      auto rp = self->make_response_promise<std::string>();
      self->state.start_echo(peer, rp);
      return rp;
    },
    [self](atom::get, atom::gossip) {
      auto& st = self->state;
      std::vector<bootstrap_candidate> out;
      for (const auto& [peer, entry] : st.learned)
        if (st.active.count(peer) == 0)
          out.push_back(bootstrap_candidate{peer, entry.endpoints,
                                            candidate_source::gossip});
      return out;
    },
    [self](atom::put, atom::bootstrap, bool on) {
      auto& st = self->state;
      return std::exchange(st.accept_bootstrap, on);
    },
    [self](atom::dial,
           const bootstrap_candidate& cand) -> caf::result<bootstrap_connect> {
      auto rp = self->make_response_promise<bootstrap_connect>();
      self->state.start_bootstrap(cand, rp);
      return rp;
    },
    [self](atom::cancel, const peer_id& peer) {
      auto& st = self->state;
      auto i = st.bootstrapping.find(peer);
      if (i == st.bootstrapping.end())
        return;
      bool keep = i->second.was_connected;
      st.finish_bootstrap(peer, make_error(errc::cancelled,
                                           "the bootstrap no longer needs it"));
      if (!keep)
        st.close_peer(peer, close_code::normal, "bootstrap cancelled",
                      caf::error{});
    },
    [self](atom::ping, const cached_peer& cp) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      self->state.ping(cp, rp);
      return rp;
    },
    [self](atom::timeout, atom::dial, uint64_t n) {
      self->state.on_deadline(n);
    },
    [self](atom::accepted, std::shared_ptr<tcp_stream>& stream) {
      self->state.on_accepted(std::move(stream));
    },
    // -- CONNECTION SINK -----------------------------------------------------
    [self](const authenticated& ev) {
      self->state.on_authenticated(sender_of(self), ev);
    },
    [self](const established& ev) {
      self->state.on_established(sender_of(self), ev.peer);
    },
    [self](new_message& ev) {
      self->state.publish(std::move(ev));
    },
    [self](const service_frame& ev) {
      self->state.on_service_frame(sender_of(self), ev);
    },
    [self](lost_peer& ev) {
      auto& st = self->state;
      auto who = sender_of(self);
      st.retire(who);
      auto i = st.active.find(ev.peer);
      if (i == st.active.end() || i->second != who)
        return; // a replaced or locally closed connection
      st.active.erase(i);
      log::info("lost peer {}: {}", ev.peer.short_hex(),
                self->home_system().render(ev.reason));
      st.on_peer_gone(ev.peer, ev.reason);
      st.publish(ev);
    },
    [self](peer_misbehaved& ev) {
      auto& st = self->state;
      auto who = sender_of(self);
      std::string ip;
      if (auto i = st.connections.find(who); i != st.connections.end())
        ip = i->second.ip;
      st.retire(who);
      log::warn("peer {} misbehaved: {}", ev.peer.short_hex(),
                self->home_system().render(ev.reason));
      st.publish(ev);
      auto i = st.active.find(ev.peer);
      if (i != st.active.end() && i->second == who) {
        st.active.erase(i);
        st.on_peer_gone(ev.peer, ev.reason);
        st.publish(lost_peer{ev.peer, ev.reason});
      }
      st.count_misbehaviour(ev.peer, ip);
    },
    [self](message_too_large& ev) {
      self->state.publish(ev);
    },
    [self](messages_dropped& ev) {
      self->state.publish(ev);
    },
    // -- BLACKLIST SINK ------------------------------------------------------
    [self](atom::banned, const ban_set& bans) {
      auto& st = self->state;
      auto reason = make_error(errc::banned, "banned locally");
      for (const auto& peer : bans.peers)
        st.close_peer(peer, close_code::banned, "banned", reason);
      if (bans.addresses.empty())
        return;
      std::set<peer_id> by_address;
      for (auto& [addr, entry] : st.connections) {
        if (std::find(bans.addresses.begin(), bans.addresses.end(), entry.ip)
            == bans.addresses.end())
          continue;
        if (entry.peer)
          by_address.insert(*entry.peer);
        else
          st.self->send(entry.handle, atom::close_v,
                        static_cast<uint16_t>(close_code::banned),
                        std::string{"banned"});
      }
      for (const auto& peer : by_address)
        st.close_peer(peer, close_code::banned, "banned", reason);
    },
  };
}

service_actor spawn_service(caf::actor_system& sys, service_config cfg) {
  return sys.spawn(service, std::move(cfg));
}

} // namespace crust

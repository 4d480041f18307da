// The SERVICE's part in discovery: bootstrap grants (and the reachability
// probe behind them), echo, gossip and pings, all carried in service frames
// over established connections (transport/codec/service_message.hpp,
// docs/discovery.md).

#include "crust/actors/service.hpp"
#include "crust/messages/log.hpp"
#include "crust/transport/codec/service_message.hpp"

#include <caf/send.hpp>

#include <algorithm>
#include <string>
#include <utility>

namespace crust {

namespace {

using codec::service_kind;

caf::error make_error(errc code, std::string detail) {
  return to_error(failure{code, std::move(detail)});
}

/// Most peers learned from one source, and in all.
constexpr size_t max_learned_per_source = codec::max_gossip_contacts;
constexpr size_t max_learned = 256;

uint16_t kind_value(service_kind k) {
  return static_cast<uint16_t>(k);
}

} // namespace

// -- plumbing -----------------------------------------------------------------

bool service_state::is_contact(const peer_id& peer) const {
  // Hard-coded contacts never enter the cache (crust-reference.md): they
  // are tried every time anyway, and the cache is for peers found since.
  return contact_ids.count(peer) > 0;
}

uint64_t service_state::arm_deadline(caf::timespan delay,
                                     std::function<void()> f) {
  auto n = ++last_serial;
  deadlines.emplace(n, std::move(f));
  self->delayed_send(self, delay, atom::timeout_v, atom::dial_v, n);
  return n;
}

void service_state::on_deadline(uint64_t n) {
  auto i = deadlines.find(n);
  if (i == deadlines.end())
    return; // cancelled
  auto f = std::move(i->second);
  deadlines.erase(i);
  f();
}

std::vector<std::string> service_state::advertised_endpoints() const {
  std::vector<std::string> out;
  if (!cfg.advertise.empty()) {
    for (const auto& ep : cfg.advertise)
      out.push_back(to_string(ep));
  } else if (auto info = prepare_info()) {
    for (const auto& ep : info->pub.endpoints)
      out.push_back(to_string(ep));
  }
  if (out.size() > codec::max_service_endpoints)
    out.resize(codec::max_service_endpoints);
  return out;
}

void service_state::send_service(const peer_id& peer, uint16_t kind,
                                 byte_buffer body) {
  auto i = active.find(peer);
  if (i == active.end())
    return;
  self->send(connections.at(i->second).handle, atom::service_v, kind,
             std::move(body));
}

void service_state::on_service_frame(const caf::actor_addr& who,
                                     const service_frame& ev) {
  auto i = active.find(ev.peer);
  if (i == active.end() || i->second != who)
    return; // a connection on its way out
  const auto& entry = connections.at(who);
  status st;
  switch (static_cast<service_kind>(ev.kind)) {
    case service_kind::bootstrap_request:
      on_bootstrap_request(ev.peer, entry.ip, ev.body);
      return;
    case service_kind::bootstrap_grant:
      st = codec::decode_empty(ev.body);
      if (st) {
        auto j = bootstrapping.find(ev.peer);
        if (j != bootstrapping.end() && j->second.requested)
          finish_bootstrap(ev.peer, caf::error{});
      }
      break;
    case service_kind::bootstrap_deny: {
      auto deny = codec::decode_bootstrap_deny(ev.body);
      if (!deny) {
        st = deny.error();
        break;
      }
      auto j = bootstrapping.find(ev.peer);
      if (j != bootstrapping.end() && j->second.requested)
        finish_bootstrap(ev.peer,
                         make_error(deny->reason,
                                    "denied by the peer: " + deny->text));
      break;
    }
    case service_kind::echo_request: {
      auto req = codec::decode_echo_request(ev.body);
      if (!req) {
        st = req.error();
        break;
      }
      // A test transport names its ends freely: only real addresses go back.
      if (endpoint::parse(entry.remote))
        send_service(
          ev.peer, kind_value(service_kind::echo_reply),
          codec::encode(codec::echo_reply_body{req->nonce, entry.remote}));
      break;
    }
    case service_kind::echo_reply: {
      auto rep = codec::decode_echo_reply(ev.body);
      if (!rep) {
        st = rep.error();
        break;
      }
      auto j = echoes.find(rep->nonce);
      if (j != echoes.end() && j->second.peer == ev.peer) {
        j->second.rp.deliver(rep->observed);
        echoes.erase(j);
      }
      break;
    }
    case service_kind::gossip: on_gossip(ev.peer, ev.body); return;
    default:
      // A later version's message: ignore it, as the peer expects.
      log::debug("{}: ignoring service frame of kind {} from {}",
                 id.short_hex(), ev.kind, ev.peer.short_hex());
      return;
  }
  if (!st) {
    auto reason = to_error(st.error());
    auto peer = ev.peer;
    auto ip = entry.ip;
    log::warn("peer {} misbehaved: {}", peer.short_hex(),
              self->home_system().render(reason));
    publish(peer_misbehaved{peer, reason});
    close_peer(peer, close_code::protocol_error, "malformed service frame",
               reason);
    count_misbehaviour(peer, ip);
  }
}

void service_state::on_peer_connected(const peer_id& peer) {
  // Who we are and where we listen first, then whom we are connected to.
  codec::gossip_body g;
  g.contacts.push_back(codec::gossip_contact{id, advertised_endpoints()});
  for (const auto& [other, addr] : active) {
    if (g.contacts.size() == codec::max_gossip_contacts)
      break;
    if (other == peer)
      continue;
    auto i = peer_listen_endpoints.find(other);
    if (i != peer_listen_endpoints.end() && !i->second.empty())
      g.contacts.push_back(codec::gossip_contact{other, i->second});
  }
  send_service(peer, kind_value(service_kind::gossip), codec::encode(g));
}

void service_state::on_peer_gone(const peer_id& peer,
                                 const caf::error& reason) {
  peer_listen_endpoints.erase(peer);
  for (auto i = echoes.begin(); i != echoes.end();) {
    if (i->second.peer == peer) {
      i->second.rp.deliver(reason);
      i = echoes.erase(i);
    } else {
      ++i;
    }
  }
  auto j = bootstrapping.find(peer);
  if (j != bootstrapping.end() && j->second.requested)
    finish_bootstrap(peer, reason ? reason
                                  : make_error(errc::peer_closed,
                                               "the connection ended"));
}

// -- bootstrap: the dialling side ---------------------------------------------

void service_state::start_bootstrap(
  const bootstrap_candidate& cand,
  caf::typed_response_promise<bootstrap_connect> rp) {
  auto peer = cand.peer;
  if (peer == id) {
    rp.deliver(make_error(errc::connect_to_self, "the peer id is our own"));
    return;
  }
  if (bootstrapping.count(peer) > 0) {
    rp.deliver(make_error(errc::bootstrap_running,
                          "a bootstrap dial to this peer is under way"));
    return;
  }
  public_connection_info theirs;
  theirs.id = peer;
  for (const auto& text : cand.endpoints)
    if (auto ep = endpoint::parse(text);
        ep && theirs.endpoints.size() < public_connection_info::max_endpoints)
      theirs.endpoints.push_back(*ep);
  bool connected = active.count(peer) > 0;
  if (theirs.endpoints.empty() && !connected) {
    rp.deliver(
      make_error(errc::bad_address, "the candidate has no endpoint to dial"));
    return;
  }
  auto& pb = bootstrapping[peer];
  pb.rp = std::move(rp);
  pb.was_connected = connected;
  // The connect goes through our own interface, so it joins (and collapses
  // with) any other connect to the same peer.
  auto me = caf::actor_cast<service_actor>(self);
  self
    ->request(me, caf::infinite, atom::connect_v, private_connection_info{},
              theirs)
    .then(
      [this, peer](const peer_id&) {
        auto i = bootstrapping.find(peer);
        if (i == bootstrapping.end() || i->second.requested)
          return;
        auto& waiting = i->second;
        waiting.requested = true;
        codec::bootstrap_request_body req;
        req.role = cfg.node.client ? codec::bootstrap_role::client
                                   : codec::bootstrap_role::node;
        req.endpoints = advertised_endpoints();
        send_service(peer, kind_value(service_kind::bootstrap_request),
                     codec::encode(req));
        // The peer may test our reachability before it answers.
        waiting.deadline = arm_deadline(
          cfg.node.handshake_timeout + cfg.node.reachability_timeout,
          [this, peer] {
            finish_bootstrap(peer, make_error(errc::handshake_timeout,
                                              "the peer did not answer the "
                                              "bootstrap request"));
          });
      },
      [this, peer](caf::error& err) {
        finish_bootstrap(peer, std::move(err));
      });
}

void service_state::finish_bootstrap(const peer_id& peer, caf::error reason) {
  auto i = bootstrapping.find(peer);
  if (i == bootstrapping.end())
    return;
  auto pb = std::move(i->second);
  bootstrapping.erase(i);
  deadlines.erase(pb.deadline);
  if (reason) {
    log::debug("{}: bootstrap off {} failed: {}", id.short_hex(),
               peer.short_hex(), self->home_system().render(reason));
    pb.rp.deliver(std::move(reason));
    return;
  }
  std::string remote;
  if (auto j = active.find(peer); j != active.end())
    remote = connections.at(j->second).remote;
  log::info("bootstrapped off {} at {}", peer.short_hex(), remote);
  pb.rp.deliver(bootstrap_connect{peer, std::move(remote)});
}

// -- bootstrap: the accepting side --------------------------------------------

void service_state::on_bootstrap_request(const peer_id& peer,
                                         const std::string& ip,
                                         const byte_buffer& body) {
  auto req = codec::decode_bootstrap_request(body);
  if (!req) {
    auto reason = to_error(req.error());
    publish(peer_misbehaved{peer, reason});
    close_peer(peer, close_code::protocol_error, "malformed service frame",
               reason);
    count_misbehaviour(peer, ip);
    return;
  }
  bool client = req->role == codec::bootstrap_role::client;
  if (!accept_bootstrap) {
    answer_bootstrap(peer, client,
                     make_error(errc::not_accepting,
                                "this node does not accept bootstraps"));
    return;
  }
  if (client) {
    const auto& list = cfg.node.client_whitelist;
    if (!list.empty()
        && std::find(list.begin(), list.end(), ip) == list.end()) {
      answer_bootstrap(peer, true,
                       make_error(errc::not_whitelisted,
                                  "the client's address is not whitelisted"));
      return;
    }
    answer_bootstrap(peer, true, caf::error{});
    return;
  }
  start_probe(peer, req->endpoints);
}

void service_state::answer_bootstrap(const peer_id& peer, bool client,
                                     caf::error reason) {
  if (active.count(peer) == 0)
    return;
  if (!reason) {
    send_service(peer, kind_value(service_kind::bootstrap_grant),
                 codec::encode_empty());
    log::info("{} bootstrapped off us as a {}", peer.short_hex(),
              client ? "client" : "node");
    publish(bootstrap_accept{peer, client});
    return;
  }
  codec::bootstrap_deny_body deny;
  deny.reason = reason.category() == error_category
                  ? static_cast<errc>(reason.code())
                  : errc::not_accepting;
  // The detail only: the reason's code travels beside it, and the
  // requester renders both.
  const auto& ctx = reason.context();
  if (ctx.match_elements<std::string>())
    deny.text = ctx.get_as<std::string>(0);
  else
    deny.text = self->home_system().render(reason);
  log::info("denied the bootstrap of {}: {}", peer.short_hex(), deny.text);
  send_service(peer, kind_value(service_kind::bootstrap_deny),
               codec::encode(deny));
  // The denial is the last word: the frame goes out before the close.
  close_peer(peer, close_code::normal, "bootstrap denied", reason);
}

void service_state::start_probe(const peer_id& peer,
                                const std::vector<std::string>& eps) {
  auto n = ++last_serial;
  auto& probe = probes[n];
  probe.peer = peer;
  for (const auto& text : eps) {
    auto ep = endpoint::parse(text);
    if (!ep || ep->protocol != transport_protocol::tcp
        || !whitelisted(ep->ip.to_string()))
      continue;
    auto addr = dial(peer, *ep, 0);
    connections.at(addr).probe = n;
    ++probe.dials;
  }
  if (probe.dials == 0) {
    probes.erase(n);
    answer_bootstrap(peer, false,
                     make_error(errc::not_reachable,
                                "the node advertises no address we can test"));
    return;
  }
  probe.deadline = arm_deadline(cfg.node.reachability_timeout, [this, n] {
    finish_probe(
      n, make_error(errc::not_reachable,
                    "no advertised address answered within "
                      + std::to_string(
                        std::chrono::duration_cast<std::chrono::milliseconds>(
                          cfg.node.reachability_timeout)
                          .count())
                      + " ms"));
  });
}

void service_state::finish_probe(uint64_t n, caf::error reason) {
  auto i = probes.find(n);
  if (i == probes.end())
    return;
  auto probe = std::move(i->second);
  probes.erase(i);
  deadlines.erase(probe.deadline);
  // Dials of this probe still running are of no use now.
  for (auto& [addr, entry] : connections) {
    if (entry.probe != n)
      continue;
    entry.probe = 0;
    entry.retired = true;
    entry.peer.reset();
    self->send(entry.handle, atom::close_v,
               static_cast<uint16_t>(close_code::normal),
               std::string{"reachability probe ended"});
  }
  answer_bootstrap(probe.peer, false, std::move(reason));
}

// -- bootstrap runs -----------------------------------------------------------

void service_state::advertise() {
  if (beacon)
    self->send(beacon, atom::advertise_v, advertised_endpoints());
}

void service_state::run_bootstrap(
  caf::typed_response_promise<bootstrap_report> rp) {
  if (!manager) {
    bootstrap_manager_config mc;
    mc.dialer = caf::actor_cast<bootstrap_dialer_actor>(self);
    mc.blacklist = blacklist;
    mc.cache = cache;
    mc.beacon = beacon;
    mc.contacts = cfg.contacts;
    mc.self = id;
    mc.budget = cfg.bootstrap_budget;
    mc.max_concurrent_dials = cfg.max_bootstrap_dials;
    manager = self->home_system().spawn(bootstrap_manager, std::move(mc));
  }
  // The manager ends every run within its budget; the margin only guards
  // against a manager that died.
  self
    ->request(manager, cfg.bootstrap_budget + std::chrono::seconds{5},
              atom::bootstrap_v)
    .then(
      [this, rp](bootstrap_report& report) mutable {
        if (report.reason) {
          log::info("bootstrap failed: {}",
                    self->home_system().render(report.reason));
          publish(bootstrap_failed{report.reason});
        } else {
          publish(bootstrap_connect{report.peer, report.remote});
        }
        rp.deliver(std::move(report));
      },
      [this, rp](caf::error& err) mutable {
        // `bootstrap_running` is the caller's to handle: no event.
        if (!(err.category() == error_category
              && err.code() == static_cast<uint8_t>(errc::bootstrap_running)))
          publish(bootstrap_failed{err});
        rp.deliver(std::move(err));
      });
}

// -- echo, gossip, ping -------------------------------------------------------

void service_state::start_echo(const peer_id& peer,
                               caf::typed_response_promise<std::string> rp) {
  if (active.count(peer) == 0) {
    rp.deliver(
      make_error(errc::peer_not_found, "no connection to " + peer.short_hex()));
    return;
  }
  auto nonce = ++last_serial;
  echoes.emplace(nonce, pending_echo{peer, std::move(rp)});
  send_service(peer, kind_value(service_kind::echo_request),
               codec::encode(codec::echo_request_body{nonce}));
  arm_deadline(cfg.node.handshake_timeout, [this, nonce] {
    auto i = echoes.find(nonce);
    if (i == echoes.end())
      return;
    i->second.rp.deliver(
      make_error(errc::handshake_timeout, "the peer did not answer the echo"));
    echoes.erase(i);
  });
}

void service_state::on_gossip(const peer_id& peer, const byte_buffer& body) {
  auto g = codec::decode_gossip(body);
  if (!g || g->contacts.empty() || g->contacts.front().peer != peer) {
    auto reason = g ? make_error(errc::malformed_message,
                                 "gossip must start with its sender")
                    : to_error(g.error());
    std::string ip;
    if (auto i = active.find(peer); i != active.end())
      ip = connections.at(i->second).ip;
    publish(peer_misbehaved{peer, reason});
    close_peer(peer, close_code::protocol_error, "malformed service frame",
               reason);
    count_misbehaviour(peer, ip);
    return;
  }
  auto& contacts = g->contacts;
  if (!contacts.front().endpoints.empty()) {
    peer_listen_endpoints[peer] = contacts.front().endpoints;
    // A direct connection with the addresses the peer listens on: the
    // cache's kind of entry (gossiped peers never enter it).
    if (cache && !is_contact(peer))
      self->send(cache, atom::put_v, peer, contacts.front().endpoints);
  }
  // What this source told us before gives way to what it tells us now.
  for (auto i = learned.begin(); i != learned.end();)
    i = i->second.source == peer ? learned.erase(i) : std::next(i);
  size_t taken = 0;
  for (size_t k = 1; k < contacts.size(); ++k) {
    auto& c = contacts[k];
    if (c.peer == id || c.peer == peer || c.endpoints.empty()
        || taken == max_learned_per_source)
      continue;
    if (learned.size() >= max_learned && learned.count(c.peer) == 0) {
      auto oldest = std::min_element(learned.begin(), learned.end(),
                                     [](const auto& x, const auto& y) {
                                       return x.second.serial < y.second.serial;
                                     });
      learned.erase(oldest);
    }
    learned[c.peer] = gossip_entry{std::move(c.endpoints), peer, ++last_serial};
    ++taken;
  }
}

void service_state::ping(const cached_peer& cp,
                         caf::typed_response_promise<bool> rp) {
  if (active.count(cp.peer) > 0) {
    rp.deliver(true);
    return;
  }
  public_connection_info theirs;
  theirs.id = cp.peer;
  for (const auto& text : cp.endpoints)
    if (auto ep = endpoint::parse(text);
        ep && theirs.endpoints.size() < public_connection_info::max_endpoints)
      theirs.endpoints.push_back(*ep);
  if (theirs.endpoints.empty()) {
    rp.deliver(false);
    return;
  }
  // The handshake proves the peer holds its key: alive. The connection was
  // made for the ping only, so it closes again.
  auto me = caf::actor_cast<service_actor>(self);
  auto peer = cp.peer;
  self
    ->request(me, caf::infinite, atom::connect_v, private_connection_info{},
              theirs)
    .then(
      [this, rp, peer](const peer_id&) mutable {
        if (bootstrapping.count(peer) == 0)
          close_peer(peer, close_code::normal, "ping done", caf::error{});
        rp.deliver(true);
      },
      [rp](caf::error&) mutable {
        rp.deliver(false);
      });
}

} // namespace crust

#include "crust/actors/lan_beacon.hpp"

#include "crust/messages/log.hpp"

#include <caf/error.hpp>
#include <caf/result.hpp>
#include <caf/send.hpp>

#include <algorithm>

namespace crust {

namespace {

/// Own nonces remembered (a few discoveries' worth).
constexpr size_t max_own_nonces = 64;

/// A request heard again within this time gets no second reply.
constexpr auto duplicate_window = std::chrono::seconds{10};

/// Bound on the per-source and duplicate maps; beyond it they are pruned
/// (the total budget still holds).
constexpr size_t max_tracked_sources = 1024;

/// Longest window a `discover` may ask for.
constexpr auto max_window = std::chrono::seconds{10};

caf::error invalid(std::string detail) {
  return to_error(
    failure{errc::invalid_config, "LAN beacon: " + std::move(detail)});
}

} // namespace

bool reply_bucket::take(caf::actor_clock::time_point now, double rate,
                        double burst) {
  if (now > last) {
    auto dt = std::chrono::duration<double>(now - last).count();
    tokens = std::min(burst, tokens + dt * rate);
    last = now;
  }
  if (tokens < 1)
    return false;
  tokens -= 1;
  return true;
}

beacon_transport_factory udp_beacon_factory(asio::io_context& ctx,
                                            const udp_beacon_config& config) {
  return [&ctx, config](datagram_handler on_datagram) {
    return open_udp_beacon(ctx, config, std::move(on_datagram));
  };
}

void lan_beacon_state::advertise(const std::vector<std::string>& texts) {
  advertised.clear();
  for (const auto& text : texts) {
    auto ep = endpoint::parse(text);
    if (ep && !ep->ip.is_unspecified())
      advertised.push_back(*ep);
    else
      log::warn("LAN beacon: not advertising '{}': not an endpoint", text);
  }
}

void lan_beacon_state::on_datagram(const byte_buffer& bytes,
                                   const std::string& from, time_point now) {
  auto pkt = beacon::decode(bytes);
  if (!pkt) {
    ++stats.malformed;
    log::debug("LAN beacon: {} from {}", pkt.error().message(), from);
    return;
  }
  if (auto* req = std::get_if<beacon::request>(&*pkt))
    on_request(*req, from, now);
  else
    on_reply(std::move(std::get<beacon::reply>(*pkt)), from);
}

void lan_beacon_state::on_request(const beacon::request& req,
                                  const std::string& from, time_point now) {
  if (req.network != network) {
    ++stats.other_network;
    return;
  }
  if (std::find(own_nonces.begin(), own_nonces.end(), req.nonce)
      != own_nonces.end()) {
    ++stats.own;
    return;
  }
  ++stats.requests_received;
  if (advertised.empty())
    return;
  auto to = endpoint::parse(from);
  if (!to)
    return;
  // Sources are keyed by address only: a flood from many ports of one host
  // shares one budget.
  auto source = to->ip.to_string();
  if (answered.size() > max_tracked_sources)
    for (auto i = answered.begin(); i != answered.end();)
      i = now - i->second >= duplicate_window ? answered.erase(i)
                                              : std::next(i);
  auto key = std::make_pair(from, req.nonce);
  if (auto i = answered.find(key);
      i != answered.end() && now - i->second < duplicate_window) {
    ++stats.rate_limited;
    return;
  }
  if (per_source.size() > max_tracked_sources)
    per_source.clear();
  auto [bucket, fresh] = per_source.try_emplace(source);
  if (fresh)
    bucket->second = reply_bucket{config.burst_per_source, now};
  if (!total.take(now, config.replies_total, config.burst_total)
      || !bucket->second.take(now, config.replies_per_source,
                              config.burst_per_source)) {
    ++stats.rate_limited;
    return;
  }
  answered[key] = now;
  auto bytes = beacon::encode(
    beacon::reply{network, req.nonce, config.self, advertised});
  if (!bytes)
    return;
  ++stats.replies_sent;
  transport->send_to(std::move(*bytes), *to);
}

void lan_beacon_state::on_reply(beacon::reply rep, const std::string& from) {
  if (rep.network != network) {
    ++stats.other_network;
    return;
  }
  if (rep.id == config.self) {
    ++stats.own;
    return;
  }
  auto i = discoveries.find(rep.nonce);
  if (i == discoveries.end()) {
    ++stats.unsolicited;
    return;
  }
  ++stats.replies_received;
  auto& found = i->second.found;
  std::vector<std::string> texts;
  for (const auto& ep : rep.endpoints)
    texts.push_back(ep.to_string());
  auto known = std::find_if(found.begin(), found.end(), [&](const auto& x) {
    return x.peer == rep.id;
  });
  if (known == found.end())
    found.push_back(beacon_peer{rep.id, std::move(texts), from});
  else
    known->endpoints = std::move(texts);
}

lan_beacon_actor::behavior_type
lan_beacon(lan_beacon_actor::stateful_pointer<lan_beacon_state> self,
           lan_beacon_config config) {
  auto fail = [self](caf::error err) {
    self->quit(std::move(err));
    return lan_beacon_actor::behavior_type::make_empty_behavior();
  };
  if (config.self.is_zero())
    return fail(invalid("no peer id"));
  if (config.network_name.empty())
    return fail(invalid("no network name"));
  if (config.window <= caf::timespan{0})
    return fail(invalid("the window must be positive"));
  if (!(config.replies_per_source > 0) || !(config.burst_per_source >= 1)
      || !(config.replies_total > 0) || !(config.burst_total >= 1))
    return fail(invalid("reply rates must be positive and bursts at least 1"));
  if (!config.open)
    return fail(invalid("no socket factory"));
  auto& st = self->state;
  auto hdl = caf::actor_cast<lan_beacon_actor>(self);
  auto transport = config.open([hdl](byte_buffer bytes, std::string from) {
    caf::anon_send(hdl, atom::received_v, std::move(bytes), std::move(from));
  });
  if (!transport)
    return fail(to_error(transport.error()));
  st.transport = std::move(*transport);
  // The transport holds our handle until it is closed.
  self->attach_functor([t = st.transport](const caf::error&) {
    t->close();
  });
  st.network = beacon::hash_network_name(config.network_name);
  st.advertise(config.endpoints);
  st.rng.seed(std::random_device{}());
  st.total = reply_bucket{config.burst_total, self->clock().now()};
  st.config = std::move(config);
  auto discover
    = [self](caf::timespan window) -> caf::result<std::vector<beacon_peer>> {
    if (window <= caf::timespan{0} || window > max_window)
      return invalid("a discovery window must be positive and at most 10 s");
    auto& s = self->state;
    auto nonce = s.rng();
    while (s.discoveries.count(nonce) != 0)
      nonce = s.rng();
    auto& d = s.discoveries[nonce];
    d.promise = self->make_response_promise<std::vector<beacon_peer>>();
    s.own_nonces.push_back(nonce);
    if (s.own_nonces.size() > max_own_nonces)
      s.own_nonces.pop_front();
    ++s.stats.requests_sent;
    s.transport->broadcast(beacon::encode(beacon::request{s.network, nonce}));
    self->delayed_send(self, window, atom::timeout_v, atom::discover_v, nonce);
    return caf::delegated<std::vector<beacon_peer>>{};
  };
  return {
    [self, discover](atom::discover) {
      return discover(self->state.config.window);
    },
    [discover](atom::discover, caf::timespan window) {
      return discover(window);
    },
    [self](atom::advertise, const std::vector<std::string>& endpoints) {
      self->state.advertise(endpoints);
    },
    [self](atom::get, atom::stats) {
      return self->state.stats;
    },
    [self](atom::get, atom::port) {
      return self->state.transport->port();
    },
    [self](atom::received, const std::vector<uint8_t>& bytes,
           const std::string& from) {
      self->state.on_datagram(bytes, from, self->clock().now());
    },
    [self](atom::timeout, atom::discover, uint64_t nonce) {
      auto& s = self->state;
      auto i = s.discoveries.find(nonce);
      if (i == s.discoveries.end())
        return;
      i->second.promise.deliver(std::move(i->second.found));
      s.discoveries.erase(i);
    },
  };
}

} // namespace crust

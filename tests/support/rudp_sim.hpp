#pragma once

// Two rUDP connections over a sim_network, on its virtual clock: the event
// loop that udp_endpoint and rudp_session will be, without sockets or
// actors. Header-only and free of CAF.

#include "crust/transport/noise/primitives.hpp"
#include "crust/transport/rudp/connection.hpp"

#include "support/sim_network.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace crust::test {

/// A fixed key pair: the private key is 32 bytes `x`.
inline noise::keypair rudp_fixed_keys(uint8_t x) {
  noise::key32 priv;
  priv.fill(x);
  auto kp = noise::keypair::from_private(priv);
  if (!kp)
    throw std::runtime_error("cannot derive a fixed key pair");
  return *kp;
}

/// Matching configurations for an initiator (endpoint 0) and a responder
/// (endpoint 1) with fixed keys and connection ids.
inline std::pair<rudp::connection_config, rudp::connection_config>
rudp_config_pair() {
  rudp::connection_config a;
  a.channel.side = noise::role::initiator;
  a.channel.local_static = rudp_fixed_keys(0x11);
  a.channel.network_name = "crust-sim";
  a.local_id = 0xA11CE;
  rudp::connection_config b = a;
  b.channel.side = noise::role::responder;
  b.channel.local_static = rudp_fixed_keys(0x22);
  b.local_id = 0xB0B;
  return {a, b};
}

/// Drives two connections and the network until a condition holds.
class rudp_sim {
public:
  using event_handler = std::function<void(int, rudp::event&)>;

  rudp_sim(uint64_t seed, link_config forward, link_config backward,
           rudp::connection_config a, rudp::connection_config b)
    : net_(seed, forward, backward) {
    auto ca = rudp::connection::create(std::move(a), net_.now());
    auto cb = rudp::connection::create(std::move(b), net_.now());
    if (!ca || !cb)
      throw std::runtime_error("cannot create the connections: "
                               + (ca ? cb.error() : ca.error()).message());
    conns_[0].emplace(std::move(*ca));
    conns_[1].emplace(std::move(*cb));
  }

  rudp::connection& conn(int i) {
    return *conns_[i];
  }

  sim_network& net() noexcept {
    return net_;
  }

  sim_time now() const noexcept {
    return net_.now();
  }

  /// Called for every event of either endpoint; events are also kept in
  /// `events(i)` unless the handler is set.
  void on_event(event_handler f) {
    handler_ = std::move(f);
  }

  std::vector<rudp::event>& events(int i) {
    return events_[i];
  }

  /// Datagrams each endpoint sent, in order (only if `record` is set).
  std::vector<byte_buffer>& sent(int i) {
    return sent_[i];
  }

  bool record = false;

  /// When set, every datagram endpoint `from` sends passes through it; it
  /// may change the bytes or return false to drop the datagram.
  std::function<bool(int from, byte_buffer&)> tamper;

  /// Sends, delivers and fires timers until `done()` holds (true) or the
  /// virtual clock would pass `limit` from now (false).
  template<class Predicate>
  bool run_until(Predicate done, sim_duration limit) {
    auto deadline = net_.now() + limit;
    sim_time last = net_.now();
    unsigned spins = 0;
    for (;;) {
      pump();
      if (done())
        return true;
      std::optional<sim_time> next = net_.next_arrival();
      for (auto& c : conns_)
        if (auto t = c->next_timeout(); t && (!next || *t < *next))
          next = *t;
      if (!next)
        return done();
      if (*next > deadline)
        return false;
      net_.advance_to(*next);
      if (net_.now() == last) {
        if (++spins > 100000)
          throw std::runtime_error("the engines spin without time moving");
      } else {
        spins = 0;
        last = net_.now();
      }
      byte_buffer buf;
      for (int i = 0; i < 2; ++i)
        while (net_.receive(i, buf))
          conns_[i]->on_datagram(buf, net_.now());
      for (auto& c : conns_)
        if (auto t = c->next_timeout(); t && *t <= net_.now())
          c->on_timeout(net_.now());
    }
  }

  /// Runs for `span` of virtual time.
  void run_for(sim_duration span) {
    auto until = net_.now() + span;
    run_until(
      [&] {
        return net_.now() >= until;
      },
      span);
    net_.advance_to(until);
  }

  /// Hands out events and datagrams of both endpoints.
  void pump() {
    bool again = true;
    while (again) {
      again = false;
      for (int i = 0; i < 2; ++i) {
        auto& c = *conns_[i];
        while (auto ev = c.poll_event()) {
          again = true;
          if (handler_)
            handler_(i, *ev);
          else
            events_[i].push_back(std::move(*ev));
        }
        byte_buffer buf;
        while (c.poll_datagram(net_.now(), buf)) {
          again = true;
          if (record)
            sent_[i].push_back(buf);
          if (tamper && !tamper(i, buf))
            continue;
          net_.send(i, buf);
        }
      }
    }
  }

  /// True once both ends emitted `connected_event`.
  bool connected() const {
    return conns_[0]->state() != rudp::connection_state::handshaking
           && conns_[1]->state() != rudp::connection_state::handshaking;
  }

private:
  sim_network net_;
  std::array<std::optional<rudp::connection>, 2> conns_;
  std::array<std::vector<rudp::event>, 2> events_;
  std::array<std::vector<byte_buffer>, 2> sent_;
  event_handler handler_;
};

} // namespace crust::test

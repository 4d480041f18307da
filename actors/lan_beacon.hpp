#pragma once

#include "crust/messages/discovery.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/peer_id.hpp"
#include "crust/transport/codec/beacon_packet.hpp"
#include "crust/transport/codec/endpoint.hpp"
#include "crust/transport/lan_beacon_socket.hpp"

#include <caf/actor_clock.hpp>
#include <caf/response_promise.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace crust {

/// Opens the socket seam of a LAN BEACON; the handler forwards each
/// datagram to the actor.
using beacon_transport_factory
  = std::function<expected<std::shared_ptr<beacon_transport>>(
    datagram_handler)>;

/// A token bucket: `rate` tokens per second up to `burst`.
struct reply_bucket {
  double tokens = 0;
  caf::actor_clock::time_point last;

  /// Refills for the time since the last call, then takes a token if one
  /// is there.
  bool take(caf::actor_clock::time_point now, double rate, double burst);
};

/// Settings of the LAN BEACON.
struct lan_beacon_config {
  /// Only requests and replies of this network count.
  std::string network_name;

  /// Our peer id: what replies carry, and how our own datagrams are told
  /// apart (required).
  peer_id self;

  /// Endpoints our replies advertise until the first `advertise`; empty:
  /// we answer nobody.
  std::vector<std::string> endpoints;

  /// How long a `discover` collects replies.
  caf::timespan window = std::chrono::milliseconds{500};

  /// Replies per second to one source address, and its burst.
  double replies_per_source = 2;
  double burst_per_source = 4;

  /// Replies per second in total, and the burst.
  double replies_total = 50;
  double burst_total = 100;

  /// Opens the sockets (required): `udp_beacon_factory` in production, a
  /// fake in tests.
  beacon_transport_factory open;
};

/// The factory of real UDP beacon sockets on `ctx` (transport/
/// lan_beacon_socket.hpp); `ctx` must outlive the actor.
beacon_transport_factory udp_beacon_factory(asio::io_context& ctx,
                                            const udp_beacon_config& config);

/// State of the LAN BEACON (messages/interfaces.hpp).
struct lan_beacon_state {
  /// Name in logs.
  static inline const char* name = "lan_beacon";

  using time_point = caf::actor_clock::time_point;

  /// A `discover` under way.
  struct discovery {
    caf::typed_response_promise<std::vector<beacon_peer>> promise;
    /// One per peer id, in the order they answered.
    std::vector<beacon_peer> found;
  };

  lan_beacon_config config;

  std::shared_ptr<beacon_transport> transport;

  beacon::network_hash network{};

  /// What our replies advertise (parsed, valid).
  std::vector<endpoint> advertised;

  /// Discoveries under way, by nonce.
  std::map<uint64_t, discovery> discoveries;

  /// Nonces of our recent requests: our own requests coming back.
  std::deque<uint64_t> own_nonces;

  /// Requests answered recently, by source address and nonce, with the
  /// time: a request heard twice (broadcast and multicast) gets one reply.
  std::map<std::pair<std::string, uint64_t>, time_point> answered;

  /// Reply budget per source address, and in total.
  std::map<std::string, reply_bucket> per_source;
  reply_bucket total;

  beacon_stats stats;

  std::mt19937_64 rng;

  /// Handles one datagram from `from` at `now`.
  void on_datagram(const byte_buffer& bytes, const std::string& from,
                   time_point now);

  void on_request(const beacon::request& req, const std::string& from,
                  time_point now);

  void on_reply(beacon::reply rep, const std::string& from);

  /// Sets `advertised` from endpoint texts (invalid ones are skipped).
  void advertise(const std::vector<std::string>& texts);
};

/// Spawn function of the LAN BEACON.
/// @param self The actor.
/// @param config Its settings; a zero peer id, an empty network name, a
///        non-positive window or rate, or no factory make the actor quit
///        with `errc::invalid_config`, and a socket that cannot be opened
///        with its error.
lan_beacon_actor::behavior_type
lan_beacon(lan_beacon_actor::stateful_pointer<lan_beacon_state> self,
           lan_beacon_config config);

} // namespace crust

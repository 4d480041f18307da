#pragma once

#include "crust/actors/connection.hpp"
#include "crust/actors/rudp_session.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/transport/asio_runtime.hpp"
#include "crust/transport/udp_socket.hpp"

#include <caf/actor_system.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace crust {

/// How a UDP ENDPOINT runs (messages/interfaces.hpp).
struct udp_endpoint_config {
  /// One socket per address, normally one per family. An IPv6 address that
  /// cannot be bound (no IPv6 on the host) is skipped while another socket
  /// opened.
  std::vector<std::string> bind_addresses{"0.0.0.0", "::"};

  /// The port of every socket; 0 picks a random one for the first socket
  /// and the same number for the others when it is free there.
  uint16_t port = 0;

  /// What every session runs with (keys, network, limits, engine); side,
  /// expected peer, remote and local id are set per session.
  rudp_session_config session;

  /// Accept new initiators: spawn a responder SESSION for each, which
  /// reports to `acceptor` (its first message there is `authenticated`).
  bool accept = false;
  connection_sink_actor acceptor;

  /// Datagrams per second (burst: one second's worth) that are not for a
  /// live session: per source IP address and over all sources.
  uint64_t unknown_source_rate = 64;
  uint64_t unknown_total_rate = 2048;

  /// Source addresses whose buckets are kept; beyond it the table restarts
  /// (the total bucket still binds).
  size_t max_tracked_sources = 4096;

  /// Accepted sessions alive at once; initiators beyond it are dropped.
  size_t max_accepted_sessions = 1024;

  /// A responder sends an address that has not completed the handshake at
  /// most this many times the bytes it received from it.
  unsigned amplification_factor = 3;

  udp_socket_config socket;
};

/// State of a UDP ENDPOINT.
///
/// Demultiplexing: a datagram's destination id names the session; id 0 is
/// a connection's first datagram, which goes to the responder of its
/// (address, source id), created when accepting. Datagrams for a session
/// from another address are dropped (no migration in rUDP version 1).
/// Everything not for a live session is rate-limited per source address
/// and in total before anything else is done with it.
///
/// Amplification: a responder sends through the endpoint until its
/// handshake completed; the endpoint passes a datagram only while the
/// bytes sent stay within `amplification_factor` times the bytes received
/// from that (address, source id), so an address gets at most that factor
/// over all its responders.
struct udp_endpoint_state {
  static inline const char* name = "udp_endpoint";

  using clock_point = caf::actor_clock::time_point;

  struct session_entry {
    rudp_session_actor actor;
    asio::ip::udp::endpoint remote;
    bool responder = false;
    /// For responders: bytes received from and sent to the peer through
    /// the endpoint (the amplification bound).
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    /// For responders: the (address, source id) of the initiator.
    std::pair<asio::ip::udp::endpoint, uint64_t> initial_key;
  };

  udp_endpoint_actor::stateful_pointer<udp_endpoint_state> self = nullptr;

  udp_endpoint_config cfg;
  std::vector<std::shared_ptr<udp_socket>> sockets;

  /// Live sessions by local connection id.
  std::unordered_map<uint64_t, session_entry> sessions;
  /// Responders by the initiator's (address, source id).
  std::map<std::pair<asio::ip::udp::endpoint, uint64_t>, uint64_t> responders;
  /// Local ids by session address, for the down handler.
  std::map<caf::actor_addr, uint64_t> by_actor;

  rate_limiter unknown_total;
  std::map<asio::ip::address, rate_limiter> unknown_by_source;
  size_t accepted_alive = 0;

  /// `stop` arrived: the endpoint quits when its last session ended.
  bool stopping = false;

  udp_endpoint_stats stats;

  void on_received(datagram_batch& batch);
  caf::result<connection_actor> connect(const std::string& remote,
                                        const peer_id& expected,
                                        connection_sink_actor sink);
  void on_write(uint64_t local_id, datagram_batch& batch);
  void on_session_down(const caf::actor_addr& who);
  udp_endpoint_stats current_stats() const;
  std::vector<std::string> local_addresses() const;

private:
  /// True if a datagram from an unknown source may be looked at.
  bool admit_unknown(const asio::ip::address& from);
  std::shared_ptr<udp_socket> socket_for(const asio::ip::udp::endpoint& to);
  /// Spawns and registers a session; none if no id could be drawn.
  std::optional<uint64_t>
  spawn_session(noise::role side, const asio::ip::udp::endpoint& remote,
                std::optional<peer_id> expected, connection_sink_actor sink);
};

/// Spawn function of a UDP ENDPOINT over sockets already open (see
/// `spawn_udp_endpoint`); it starts them and closes them when it ends.
udp_endpoint_actor::behavior_type
udp_endpoint(udp_endpoint_actor::stateful_pointer<udp_endpoint_state> self,
             udp_endpoint_config cfg,
             std::vector<std::shared_ptr<udp_socket>> sockets);

/// Opens the sockets of `cfg` on the io thread's context and spawns the
/// endpoint. Fails with `errc::socket_failure` or `errc::bad_address` if no
/// socket opened (or an IPv4 one failed). Thread-safe.
/// @param bound_port If not null, gets the port of the first socket.
expected<udp_endpoint_actor>
spawn_udp_endpoint(caf::actor_system& sys, asio_runtime& io,
                   udp_endpoint_config cfg, uint16_t* bound_port = nullptr);

} // namespace crust

#pragma once

#include "crust/actors/connection.hpp"
#include "crust/messages/config.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/peer_id.hpp"
#include "crust/transport/codec/connection_info.hpp"
#include "crust/transport/codec/endpoint.hpp"
#include "crust/transport/noise/primitives.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_response_promise.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace crust {

class asio_runtime;
class tcp_listener;

/// Spawns a CONNECTION that dials `addr` (the transport seam of the
/// SERVICE: TCP in production, in-memory pipes in deterministic tests).
using dial_function = std::function<connection_actor(
  caf::actor_system& sys, const endpoint& addr, connection_config cfg,
  connection_sink_actor sink)>;

/// How a SERVICE runs.
struct service_config {
  /// The node's settings (messages/config.hpp), validated at spawn.
  node_config node;

  /// The node's long-term key pair; its public half is our peer id.
  noise::keypair keys;

  /// The io thread for TCP (not owned; must outlive the SERVICE). Null in
  /// deterministic tests, which set `dial` and never `listen`.
  asio_runtime* io = nullptr;

  /// The BLACKLIST to use; the SERVICE spawns its own if null.
  blacklist_actor blacklist;

  /// Dials an endpoint; empty means TCP through `io`.
  dial_function dial;

  /// Fixed ephemeral keys for tests; empty means fresh random ones.
  std::function<expected<noise::keypair>()> ephemeral_source;
};

/// One CONNECTION the SERVICE owns, whatever its phase.
struct connection_entry {
  connection_actor handle;
  /// The peer's transport address ("a.b.c.d:port", "[v6]:port").
  std::string remote;
  /// Its IP in canonical text (for bans and whitelists).
  std::string ip;
  /// True if we dialled.
  bool initiated = false;
  /// Known once authenticated (or dialled with an expected id).
  std::optional<peer_id> peer;
  bool authenticated = false;
  /// We sent `choose` (we are the larger id).
  bool chosen_by_us = false;
  bool established = false;
  /// Ended on its own (lost peer, misbehaviour); its down message is due.
  bool retired = false;
  /// The connect attempt this dial belongs to (0: none). A dial can outlive
  /// its attempt and must not count against the next one.
  uint64_t attempt = 0;
};

/// A `connect` request waiting for its outcome.
struct pending_connect {
  /// Every request for this peer, answered together.
  std::vector<caf::typed_response_promise<peer_id>> promises;
  /// True once the dials were started (after the blacklist check).
  bool started = false;
  /// Tags this attempt's dials (connection_entry::attempt).
  uint64_t attempt = 0;
  /// Dials still running.
  size_t dials = 0;
  /// The most telling failure so far.
  caf::error reason;
};

/// State of the SERVICE (messages/interfaces.hpp).
///
/// Duplicate collapse (docs/wire-protocol.md §5.1): a connection that
/// authenticated waits to be chosen. Both sides first vet the peer (not
/// banned). The side with the larger peer id chooses: the first vetted
/// connection when none is established gets `choose`; later ones get
/// `close(duplicate)`. The smaller side sends `choose` to every vetted
/// candidate, which lets each answer the peer's choice; the one the peer
/// picked becomes `established`, and the rest are closed. So both sides keep
/// the same single connection, whoever dialled, and a banned peer is never
/// counted as connected on either side.
struct service_state {
  /// Name in logs.
  static inline const char* name = "service";

  service_actor::stateful_pointer<service_state> self = nullptr;

  service_state() = default;
  service_state(const service_state&) = delete;
  service_state& operator=(const service_state&) = delete;

  /// Closes the listener and every CONNECTION (with close reason
  /// `shutdown`), answers waiting connects with `shutting_down`, and ends
  /// the BLACKLIST if it is ours.
  ~service_state();

  service_config cfg;

  peer_id id;

  blacklist_actor blacklist;

  /// Whether we spawned the blacklist (and so end it with us).
  bool owns_blacklist = false;

  std::vector<service_subscriber_actor> subscribers;

  /// Every live CONNECTION, by actor address.
  std::map<caf::actor_addr, connection_entry> connections;

  /// The established connection of each peer.
  std::map<peer_id, caf::actor_addr> active;

  /// Connect requests by peer.
  std::map<peer_id, pending_connect> connecting;

  /// Misbehaviours per peer this session (for automatic bans).
  std::map<peer_id, uint32_t> misbehaviours;

  /// Inbound connections not yet authenticated.
  size_t pending_inbound = 0;

  /// The TCP listener, while listening.
  std::shared_ptr<tcp_listener> listener;
  uint16_t port = 0;
  std::vector<endpoint> listen_endpoints;

  /// Source of pending_connect::attempt.
  uint64_t last_attempt = 0;

  uint64_t accepted_total = 0;
  uint64_t dialled_total = 0;
  uint64_t refused_total = 0;

  // -- events ----------------------------------------------------------------

  template<class Event>
  void publish(Event&& ev) {
    if (subscribers.empty())
      return;
    // Copies for all but the last subscriber, which gets `ev` itself when
    // the caller gave it away (a message payload then travels uncopied).
    auto last = subscribers.size() - 1;
    for (size_t i = 0; i < last; ++i)
      self->send(subscribers[i], ev);
    self->send(subscribers[last], std::forward<Event>(ev));
  }

  // -- helpers ---------------------------------------------------------------

  /// The connection settings for one side.
  connection_config make_connection_config(noise::role side) const;

  /// True if `ip` may connect or be dialled (the whitelist is empty or
  /// holds it).
  bool whitelisted(const std::string& ip) const;

  /// Dials `addr` expecting `peer`; registers the connection.
  void dial(const peer_id& peer, const endpoint& addr, uint64_t attempt);

  /// Starts a connect to `peer` at `addrs` for `rp`.
  void start_connect(const peer_id& peer, const std::vector<endpoint>& addrs,
                     caf::typed_response_promise<peer_id> rp);

  /// Dials every TCP address of `addrs` that the whitelist allows.
  void dial_all(const peer_id& peer, const std::vector<endpoint>& addrs);

  /// Fails the connect to `peer` if no dial and no candidate is left.
  void check_connect(const peer_id& peer);

  /// Answers every waiting request for `peer` with a failure and announces
  /// `connect_failure`.
  void fail_connect(const peer_id& peer, caf::error reason);

  /// A CONNECTION ended (its down message).
  void on_down(const caf::actor_addr& who, const caf::error& reason);

  void on_authenticated(const caf::actor_addr& who, const authenticated& ev);

  /// The blacklist answered whether an authenticated peer is banned.
  void decide(const caf::actor_addr& who, const peer_id& peer);

  void on_established(const caf::actor_addr& who, const peer_id& peer);

  /// The connection `who` ended on its own (lost peer, misbehaviour): it is
  /// no candidate for its peer any more, though its down message is due.
  void retire(const caf::actor_addr& who);

  /// Closes every connection of `peer` with `code` (announcing lost_peer
  /// with `reason` if one was established).
  void close_peer(const peer_id& peer, close_code code, const std::string& text,
                  const caf::error& reason);

  /// Records a misbehaviour and bans the peer when the threshold is hit.
  void count_misbehaviour(const peer_id& peer, const std::string& ip);

  /// Our connection info: every address we listen on.
  expected<private_connection_info> prepare_info() const;

  /// Opens the TCP listener.
  expected<uint16_t> start_listening();

  void stop_listening();

  /// Accepts a TCP stream: refuses or spawns a CONNECTION for it.
  void on_accepted(std::shared_ptr<tcp_stream> stream);

  /// Closes everything (the SERVICE is ending); see the destructor.
  void shutdown();
};

/// Spawn function of the SERVICE.
/// @param self The actor.
/// @param cfg Its settings; invalid ones make it quit with
///        `errc::invalid_config`.
service_actor::behavior_type
service(service_actor::stateful_pointer<service_state> self,
        service_config cfg);

/// Spawns a SERVICE.
service_actor spawn_service(caf::actor_system& sys, service_config cfg);

} // namespace crust

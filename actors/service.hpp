#pragma once

#include "crust/actors/bootstrap_cache.hpp"
#include "crust/actors/bootstrap_manager.hpp"
#include "crust/actors/connection.hpp"
#include "crust/actors/lan_beacon.hpp"
#include "crust/actors/udp_endpoint.hpp"
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
/// SERVICE: TCP and rUDP in production, in-memory pipes in deterministic
/// tests, which see `addr.protocol` and may treat UDP endpoints as another
/// network).
using dial_function = std::function<connection_actor(
  caf::actor_system& sys, const endpoint& addr, connection_config cfg,
  connection_sink_actor sink)>;

/// How a SERVICE runs.
struct service_config {
  /// The node's settings (messages/config.hpp), validated at spawn.
  node_config node;

  /// The node's long-term key pair; its public half is our peer id.
  noise::keypair keys;

  /// The io thread for TCP and rUDP (not owned). Its context must outlive
  /// the SERVICE and its UDP ENDPOINT, which ends up to 2 s after the
  /// SERVICE (destroy it after the actor system, which waits for every
  /// actor). Null in deterministic tests, which set `dial` and never
  /// `listen`.
  asio_runtime* io = nullptr;

  /// The BLACKLIST to use; the SERVICE spawns its own if null.
  blacklist_actor blacklist;

  /// Dials an endpoint of either protocol; empty means TCP through `io` and
  /// rUDP through the SERVICE's UDP ENDPOINT.
  dial_function dial;

  /// Hard-coded contacts (`PEERID@host:port`) for `bootstrap`; they never
  /// enter the cache.
  std::vector<std::string> contacts;

  /// The BOOTSTRAP CACHE the SERVICE spawns (its pinger is the SERVICE);
  /// none: no cache.
  std::optional<bootstrap_cache_config> cache;

  /// The LAN BEACON the SERVICE spawns (it advertises where we listen);
  /// none: no LAN discovery.
  std::optional<lan_beacon_config> beacon;

  /// A bootstrap run's budget and its cap on dials at once.
  caf::timespan bootstrap_budget = std::chrono::seconds{10};
  size_t max_bootstrap_dials = 8;

  /// The addresses we tell peers we listen on; empty means those of our
  /// listener (tests over the in-memory network set them).
  std::vector<endpoint> advertise;

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
  /// An rUDP SESSION (else a TCP CONNECTION).
  bool rudp = false;
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
  /// The reachability probe this dial is part of (0: none). A probe only
  /// authenticates the peer at an address and is closed at once.
  uint64_t probe = 0;
};

/// A bootstrap dial (the SERVICE as BOOTSTRAP DIALER): connecting, then
/// waiting for the peer's grant or denial.
struct pending_bootstrap {
  caf::typed_response_promise<bootstrap_connect> rp;
  /// Names its deadline.
  uint64_t deadline = 0;
  /// True once the request went out (the connection is up).
  bool requested = false;
  /// True if we were connected before the bootstrap (a cancel keeps it).
  bool was_connected = false;
};

/// A reachability probe of a peer that asked us for a bootstrap as a node:
/// we dial the addresses it advertises; the first that authenticates the
/// peer proves it.
struct reachability_probe {
  peer_id peer;
  /// Dials still running.
  size_t dials = 0;
  /// Names its deadline.
  uint64_t deadline = 0;
};

/// An echo request waiting for the peer's answer.
struct pending_echo {
  peer_id peer;
  caf::typed_response_promise<std::string> rp;
};

/// A peer learned by gossip: a dial candidate, never trusted beyond that.
struct gossip_entry {
  std::vector<std::string> endpoints;
  /// Who told us.
  peer_id source;
  /// Insertion order, for evicting the oldest.
  uint64_t serial = 0;
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
  /// The rUDP fallback: the UDP endpoints to dial once TCP had its head
  /// start (or failed everywhere), and whether that happened.
  std::vector<endpoint> udp_addrs;
  bool udp_started = false;
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

  /// The UDP ENDPOINT of rUDP (none without io or with rUDP off); opened
  /// accepting when we listen, or not accepting at the first rUDP dial.
  udp_endpoint_actor udp;
  bool udp_accepting = false;
  /// Its port and its bound addresses ("a.b.c.d:port", "[v6]:port").
  uint16_t udp_port = 0;

  /// The TCP listener, while listening.
  std::shared_ptr<tcp_listener> listener;
  uint16_t port = 0;
  std::vector<endpoint> listen_endpoints;

  /// Source of pending_connect::attempt.
  uint64_t last_attempt = 0;

  // -- discovery (actors/service_discovery.cpp) -------------------------------

  /// Whether peers may bootstrap off us (`put, bootstrap`).
  bool accept_bootstrap = true;

  /// The peer ids of `cfg.contacts`, parsed once at spawn.
  std::set<peer_id> contact_ids;

  /// Ours (spawned at start, ended with us); none when not configured.
  bootstrap_cache_actor cache;
  lan_beacon_actor beacon;

  /// Spawned at the first `bootstrap`.
  bootstrap_manager_actor manager;

  /// Bootstrap dials by peer.
  std::map<peer_id, pending_bootstrap> bootstrapping;

  /// Reachability probes by id (connection_entry::probe).
  std::map<uint64_t, reachability_probe> probes;

  /// Echo requests by nonce.
  std::map<uint64_t, pending_echo> echoes;

  /// The addresses each connected peer says it listens on (the first entry
  /// of its gossip).
  std::map<peer_id, std::vector<std::string>> peer_listen_endpoints;

  /// Peers learned by gossip.
  std::map<peer_id, gossip_entry> learned;

  /// Source of deadline ids, probe ids, echo nonces and gossip serials.
  uint64_t last_serial = 0;

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
  caf::actor_addr dial(const peer_id& peer, const endpoint& addr,
                       uint64_t attempt);

  /// Starts a connect to `peer` at `addrs` for `rp`.
  void start_connect(const peer_id& peer, const std::vector<endpoint>& addrs,
                     caf::typed_response_promise<peer_id> rp);

  /// Dials every TCP address of `addrs` that the whitelist allows now and
  /// its UDP ones after the rUDP head start (at once if TCP has none).
  void dial_all(const peer_id& peer, const std::vector<endpoint>& addrs);

  /// Dials the rUDP fallback of the connect to `peer` unless it is
  /// connected, started it already, or a TCP candidate authenticated.
  void start_rudp(const peer_id& peer);

  /// True if a TCP connection to `peer` authenticated and is still a
  /// candidate: TCP is preferred over rUDP.
  bool tcp_candidate_ready(const peer_id& peer) const;

  /// Dials `addr` over rUDP through our UDP ENDPOINT for a connect attempt;
  /// the session registers when the endpoint answers.
  void dial_rudp(const peer_id& peer, const endpoint& addr, uint64_t attempt);

  /// Opens the UDP ENDPOINT (accepting or not); false if rUDP is
  /// unavailable.
  bool open_udp(bool accept);

  /// Registers a CONNECTION we dialled.
  void register_dial(connection_actor conn, const peer_id& peer,
                     const endpoint& addr, uint64_t attempt);

  /// Fails the connect to `peer` if no dial and no candidate is left.
  void check_connect(const peer_id& peer);

  /// Answers every waiting request for `peer` with a failure and announces
  /// `connect_failure`.
  void fail_connect(const peer_id& peer, caf::error reason);

  /// A CONNECTION ended (its down message).
  void on_down(const caf::actor_addr& who, const caf::error& reason);

  void on_authenticated(const caf::actor_addr& who, const authenticated& ev);

  /// Asks the blacklist whether the authenticated peer of `who` is banned,
  /// then decides.
  void vet(const caf::actor_addr& who, const peer_id& peer);

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

  // -- discovery (actors/service_discovery.cpp) -------------------------------

  /// True if `peer` is one of the hard-coded contacts.
  bool is_contact(const peer_id& peer) const;

  /// Where we tell peers we listen: every address of our connection info,
  /// or `cfg.advertise` when set.
  std::vector<std::string> advertised_endpoints() const;

  /// A service frame arrived over the established connection `who`.
  void on_service_frame(const caf::actor_addr& who, const service_frame& ev);

  /// Sends a service frame to the established connection of `peer`.
  void send_service(const peer_id& peer, uint16_t kind, byte_buffer body);

  /// A connection to `peer` was established (not a replacement): tells it
  /// who we are and whom we know, and goes on with a bootstrap dial.
  void on_peer_connected(const peer_id& peer);

  /// `peer` is gone: fails its echoes and bootstrap dial.
  void on_peer_gone(const peer_id& peer, const caf::error& reason);

  /// Starts a bootstrap dial of `cand` for `rp`.
  void start_bootstrap(const bootstrap_candidate& cand,
                       caf::typed_response_promise<bootstrap_connect> rp);

  /// Ends the bootstrap dial of `peer` with `reason` (none: granted).
  void finish_bootstrap(const peer_id& peer, caf::error reason);

  /// Answers a bootstrap request of `peer` (grant, deny, or probe first).
  void on_bootstrap_request(const peer_id& peer, const std::string& ip,
                            const byte_buffer& body);

  /// Grants or denies `peer`'s bootstrap (`reason` none: granted).
  void answer_bootstrap(const peer_id& peer, bool client, caf::error reason);

  /// Starts a reachability probe of `peer` at `endpoints`.
  void start_probe(const peer_id& peer, const std::vector<std::string>& eps);

  /// The probe `id` ended: reachable or not (with the reason).
  void finish_probe(uint64_t id, caf::error reason);

  /// Records the contacts of `peer`'s gossip.
  void on_gossip(const peer_id& peer, const byte_buffer& body);

  /// Asks `peer` for the address it sees us at.
  void start_echo(const peer_id& peer,
                  caf::typed_response_promise<std::string> rp);

  /// Runs one bootstrap for `rp` and announces its outcome.
  void run_bootstrap(caf::typed_response_promise<bootstrap_report> rp);

  /// Tells the LAN BEACON where we listen now.
  void advertise();

  /// Answers `rp` whether the cached peer answers an echo.
  void ping(const cached_peer& cp, caf::typed_response_promise<bool> rp);

  /// Deadline `n` passed (bootstrap grant, probe or echo).
  void on_deadline(uint64_t n);

  /// Deadlines by id: what each one ends.
  std::map<uint64_t, std::function<void()>> deadlines;

  /// Calls `f` after `delay` unless cancelled (by erasing its id).
  uint64_t arm_deadline(caf::timespan delay, std::function<void()> f);
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

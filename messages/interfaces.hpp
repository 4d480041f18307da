#pragma once

#include "crust/messages/ban.hpp"
#include "crust/messages/connection_events.hpp"
#include "crust/messages/discovery.hpp"
#include "crust/messages/peer_id.hpp"
#include "crust/messages/service_events.hpp"
#include "crust/messages/type_ids.hpp"

#include <caf/error.hpp>
#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/timespan.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_behavior.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

/// Every typed actor interface of crust. Roles are named in upper case in the
/// comments; each handler line says what it does.
namespace crust {

/// A BLACKLIST SINK: an actor subscribed to the BLACKLIST (the SUPERVISOR,
/// which disconnects every banned peer of a notification in one go).
using blacklist_sink_actor = caf::typed_actor<
  // Peers and addresses newly banned by one request, all together.
  caf::reacts_to<atom::banned, ban_set>>;

/// The BLACKLIST: bans by peer id and by IP address, for the session or until
/// an expiry; in memory unless the user saves them. A re-ban never shortens a
/// ban (the later expiry wins, a session ban stays one); unban first to
/// shorten. Addresses are IPv4 or IPv6 text, normalised (bad text is refused
/// with `errc::bad_address`). Ban requests answer with what was not banned
/// before and tell each subscriber the same set in one `banned` message.
using blacklist_actor = caf::typed_actor<
  // Bans every peer of the set for the session (a zero id refuses them all).
  caf::replies_to<atom::ban, std::vector<peer_id>>::with<ban_set>,
  // Bans every peer of the set for `ttl` (positive).
  caf::replies_to<atom::ban, std::vector<peer_id>,
                  caf::timespan>::with<ban_set>,
  // Bans an IP address for the session.
  caf::replies_to<atom::ban, std::string>::with<ban_set>,
  // Bans an IP address for `ttl` (positive).
  caf::replies_to<atom::ban, std::string, caf::timespan>::with<ban_set>,
  // Lifts the ban of a peer; true if it was banned.
  caf::replies_to<atom::unban, peer_id>::with<bool>,
  // Lifts the ban of an IP address; true if it was banned.
  caf::replies_to<atom::unban, std::string>::with<bool>,
  // True if the peer is banned.
  caf::replies_to<atom::is_banned, peer_id>::with<bool>,
  // True if the IP address is banned.
  caf::replies_to<atom::is_banned, std::string>::with<bool>,
  // Every ban in force, with the time each has left.
  caf::replies_to<atom::list>::with<ban_list>,
  // Adds a SINK (monitored, dropped when it dies); one `banned` per request.
  caf::reacts_to<atom::subscribe, blacklist_sink_actor>,
  // Removes a SINK.
  caf::reacts_to<atom::unsubscribe, blacklist_sink_actor>,
  // Writes every ban to the JSON file at `path` atomically; returns the
  // number of bans written. Blocking I/O: an explicit, rare user request.
  caf::replies_to<atom::save, std::string>::with<uint64_t>,
  // Merges the bans of the JSON file at `path` (all or nothing); returns the
  // newly banned, whom the SINKS are told about as for a ban request.
  caf::replies_to<atom::load, std::string>::with<ban_set>,
  // INTERNAL: the expiry timer of a peer ban; re-checked on arrival.
  caf::reacts_to<atom::expire, peer_id>,
  // INTERNAL: the expiry timer of an address ban; re-checked on arrival.
  caf::reacts_to<atom::expire, std::string>>;

/// A BYTE PIPE: carries a CONNECTION's bytes to and from its peer (a TCP
/// stream; an in-memory pipe in tests). It hands inbound bytes to its
/// CONNECTION as `(received, bytes)`, reports bytes written to the socket as
/// `(sent, n)` (the CONNECTION's write credit) and the end of its transport
/// as `(closed, reason)`.
using byte_pipe_actor = caf::typed_actor<
  // Writes `bytes` after every earlier write; writes never interleave.
  caf::reacts_to<atom::write, std::vector<uint8_t>>,
  // The CONNECTION processed `n` more received bytes (back-pressure credit).
  caf::reacts_to<atom::ack, uint64_t>,
  // Writes what is pending, then closes the transport and quits.
  caf::reacts_to<atom::close>>;

/// A CONNECTION SINK: the owner of CONNECTIONS (the SERVICE; tests), told
/// what happens on each (messages/connection_events.hpp). The sending
/// CONNECTION is the message's sender. A CONNECTION that ends before
/// `established` sends nothing more: its owner monitors it for the reason.
using connection_sink_actor = caf::typed_actor<
  // The handshake completed; the connection waits to be chosen.
  caf::reacts_to<authenticated>,
  // The connection was chosen and carries messages.
  caf::reacts_to<established>,
  // A complete message arrived.
  caf::reacts_to<new_message>,
  // A service frame arrived (bootstrap, echo, gossip).
  caf::reacts_to<service_frame>,
  // The established connection ended (peer closed, transport failed,
  // silence, a ban).
  caf::reacts_to<lost_peer>,
  // The peer sent a forged or malformed frame or exceeded a rate limit; the
  // connection ended.
  caf::reacts_to<peer_misbehaved>,
  // A `send` was refused as too large; the message is handed back.
  caf::reacts_to<message_too_large>,
  // Queued messages were dropped (drop rule, or the connection ended).
  caf::reacts_to<messages_dropped>>;

/// A CONNECTION: one secure channel to one peer over one BYTE PIPE. Runs the
/// handshake (with a deadline and a byte bound), waits to be chosen (the
/// deadline still applies), then framing with priority send queues,
/// heartbeat, rate limits and the inactivity check. Dies with a reason on
/// any failure; a local `close` is the only normal exit.
using connection_actor = caf::typed_actor<
  // The BYTE PIPE delivers bytes from the peer.
  caf::reacts_to<atom::received, std::vector<uint8_t>>,
  // The BYTE PIPE wrote `n` more bytes to the socket (write credit).
  caf::reacts_to<atom::sent, uint64_t>,
  // The BYTE PIPE's transport ended (none: orderly end of stream).
  caf::reacts_to<atom::closed, caf::error>,
  // Queues one application message at a priority (lower is more urgent);
  // answers the payload bytes queued after it. Fails with `queue_full` when
  // the queue's byte limit would be exceeded and with `message_too_large`
  // (after a `message_too_large` event handing the message back).
  caf::replies_to<atom::send, uint8_t, std::vector<uint8_t>>::with<uint64_t>,
  // Sends a service frame of a kind (nonzero) with its body (at most
  // 8192 bytes), ahead of queued messages; ignored unless established.
  caf::reacts_to<atom::service, uint16_t, std::vector<uint8_t>>,
  // We (the larger peer id) keep this connection: sends a choose frame and
  // becomes established. Ignored unless authenticated and not yet chosen.
  caf::reacts_to<atom::choose>,
  // Sends a close frame (normal), closes the BYTE PIPE and quits normally.
  caf::reacts_to<atom::close>,
  // Same with a reason code (close_code) and text the peer sees.
  caf::reacts_to<atom::close, uint16_t, std::string>,
  // Returns the connection's counters.
  caf::replies_to<atom::get, atom::stats>::with<connection_stats>,
  // INTERNAL: the handshake (and choice) deadline.
  caf::reacts_to<atom::timeout, atom::handshake>,
  // INTERNAL: time to check whether a keepalive is due.
  caf::reacts_to<atom::timeout, atom::heartbeat>,
  // INTERNAL: time to check whether the peer has been silent too long.
  caf::reacts_to<atom::timeout, atom::silence>,
  // INTERNAL: time to apply the send queues' drop rule.
  caf::reacts_to<atom::timeout, atom::expiry>>;

/// An rUDP SESSION (actors/rudp_session.hpp): one rUDP connection on a UDP
/// ENDPOINT, speaking the CONNECTION interface towards its owner (the byte
/// pipe messages `received`, `sent`, `closed` feed it datagrams or end it;
/// `choose` and `service` are ignored, see docs/rudp.md §10).
using rudp_session_actor = connection_actor::extend<
  // INTERNAL: datagrams for this session from its UDP ENDPOINT.
  caf::reacts_to<atom::received, std::shared_ptr<datagram_batch>>,
  // INTERNAL: timer number `n`; only the latest one counts.
  caf::reacts_to<atom::timeout, uint64_t>>;

/// A UDP ENDPOINT (actors/udp_endpoint.hpp): one UDP socket per address
/// family on one port, shared by every rUDP SESSION of the node;
/// demultiplexes by connection id, spawns a SESSION for each new initiator
/// when accepting, rate-limits unknown sources and never sends an address
/// that has not completed a handshake more than three times what it sent.
using udp_endpoint_actor = caf::typed_actor<
  // Starts an rUDP SESSION as initiator to `host:port` (`[v6]:port`) that
  // must prove `peer`'s key; it reports to the SINK. Answers the SESSION
  // (monitor it for the end reason), or `bad_address`.
  caf::replies_to<atom::connect, std::string, peer_id,
                  connection_sink_actor>::with<connection_actor>,
  // Counters.
  caf::replies_to<atom::get, atom::stats>::with<udp_endpoint_stats>,
  // The bound endpoints, "a.b.c.d:port" and "[v6]:port".
  caf::replies_to<atom::get, atom::address>::with<std::vector<std::string>>,
  // INTERNAL: a responder SESSION not yet validated sends these datagrams
  // (its local connection id first): the endpoint applies the 3x bound.
  caf::reacts_to<atom::write, uint64_t, std::shared_ptr<datagram_batch>>,
  // INTERNAL: datagrams from the socket.
  caf::reacts_to<atom::received, std::shared_ptr<datagram_batch>>,
  // Starts (true) or stops (false) accepting new initiators; live sessions
  // are not affected.
  caf::reacts_to<atom::listen, bool>,
  // Ends the endpoint once its sessions ended (their last datagrams, such
  // as a CLOSE, still go out), at the latest after a grace period.
  caf::reacts_to<atom::stop>,
  // INTERNAL: the grace period of `stop` is over.
  caf::reacts_to<atom::timeout, atom::stop>>;

/// A SUBSCRIBER of the SERVICE: any actor that wants the node's events.
using service_subscriber_actor = caf::typed_actor<
  caf::reacts_to<listener_started>, caf::reacts_to<listener_failed>,
  caf::reacts_to<connect_success>, caf::reacts_to<connect_failure>,
  caf::reacts_to<lost_peer>, caf::reacts_to<new_message>,
  caf::reacts_to<peer_misbehaved>, caf::reacts_to<message_too_large>,
  caf::reacts_to<messages_dropped>, caf::reacts_to<connection_info_prepared>,
  caf::reacts_to<bootstrap_connect>, caf::reacts_to<bootstrap_failed>,
  caf::reacts_to<bootstrap_accept>>;

/// The SERVICE (the supervisor): the one handle user code needs. Owns the
/// listener, every CONNECTION and the BLACKLIST; publishes events to its
/// SUBSCRIBERS (monitored: a dead one is dropped). Requests that concern a
/// peer fail with `peer_not_found` unless it is connected.
using service_actor = caf::typed_actor<
  // Adds a SUBSCRIBER; every later event reaches it.
  caf::reacts_to<atom::subscribe, service_subscriber_actor>,
  // Removes a SUBSCRIBER.
  caf::reacts_to<atom::unsubscribe, service_subscriber_actor>,
  // Returns our peer id.
  caf::replies_to<atom::get, atom::id>::with<peer_id>,
  // Starts the TCP listener (configured port, else random); returns the
  // port, also announced as `listener_started`. Already listening: the
  // same port. Failure: the error, also announced as `listener_failed`.
  caf::replies_to<atom::listen>::with<uint16_t>,
  // Stops the TCP listener; true if it was running. Connections stay.
  caf::replies_to<atom::stop, atom::listen>::with<bool>,
  // Connects to `PEERID@host:port` (`[v6]` in brackets); answers the peer
  // id once connected (also `connect_success`), or the reason it failed
  // (also `connect_failure`, unless the contact text was malformed).
  // Already connected: answers at once.
  caf::replies_to<atom::connect, std::string>::with<peer_id>,
  // Prepares our connection info (every address we listen on); answers it
  // and announces `connection_info_prepared` with `token`.
  caf::replies_to<atom::prepare, uint32_t>::with<private_connection_info>,
  // Connects with our private info and the peer's public info: dials every
  // address in parallel; the peer does the same; one connection survives.
  caf::replies_to<atom::connect, private_connection_info,
                  public_connection_info>::with<peer_id>,
  // Queues a message to a connected peer at a priority (lower is more
  // urgent); answers the bytes queued to the peer after it, or
  // `queue_full`, `message_too_large`, `peer_not_found`.
  caf::replies_to<atom::send, peer_id, uint8_t,
                  std::vector<uint8_t>>::with<uint64_t>,
  // Closes the connection to a peer; true if there was one.
  caf::replies_to<atom::disconnect, peer_id>::with<bool>,
  // True if the peer is connected.
  caf::replies_to<atom::is_connected, peer_id>::with<bool>,
  // The peer's transport address.
  caf::replies_to<atom::get, atom::address, peer_id>::with<std::string>,
  // Every connected peer with its path.
  caf::replies_to<atom::get, atom::peers>::with<std::vector<peer_summary>>,
  // Counters per connection and in total.
  caf::replies_to<atom::get, atom::stats>::with<service_stats>,
  // The BLACKLIST; bans made there disconnect at once.
  caf::replies_to<atom::get, atom::blacklist>::with<blacklist_actor>,
  // Runs one bootstrap: the cache (most recent first), LAN beacon answers
  // and the hard-coded contacts, minus the blacklist, in parallel up to a
  // cap, within a budget; the first grant wins. Answers the report (also
  // `bootstrap_connect` or `bootstrap_failed`); `bootstrap_running` while
  // one runs.
  caf::replies_to<atom::bootstrap>::with<bootstrap_report>,
  // The report of the running or the last bootstrap (reasons per
  // candidate).
  caf::replies_to<atom::get, atom::report>::with<bootstrap_report>,
  // Asks a connected peer which address it sees us at (echo); answers the
  // endpoint text, or `peer_not_found`, `handshake_timeout` (no answer).
  caf::replies_to<atom::get, atom::echo, peer_id>::with<std::string>,
  // Peers our peers told us they were directly connected to (gossip):
  // dial candidates only, minus connected peers and ourselves.
  caf::replies_to<atom::get,
                  atom::gossip>::with<std::vector<bootstrap_candidate>>,
  // Switches accept-bootstrap; answers the previous setting.
  caf::replies_to<atom::put, atom::bootstrap, bool>::with<bool>,
  // As a BOOTSTRAP DIALER: connects to the candidate and asks it for a
  // bootstrap grant (as a node or a client, `crust.client`).
  caf::replies_to<atom::dial, bootstrap_candidate>::with<bootstrap_connect>,
  // As a BOOTSTRAP DIALER: the bootstrap no longer needs `peer`.
  caf::reacts_to<atom::cancel, peer_id>,
  // As a PEER PINGER: true if the cached peer answers an echo (over the
  // connection we have, or over one made for the ping and closed after).
  caf::replies_to<atom::ping, cached_peer>::with<bool>,
  // INTERNAL: deadline number `n` of a bootstrap grant, a reachability
  // probe or an echo.
  caf::reacts_to<atom::timeout, atom::dial, uint64_t>,
  // INTERNAL: the listener accepted a TCP connection.
  caf::reacts_to<atom::accepted, std::shared_ptr<tcp_stream>>>::
  extend_with<connection_sink_actor>::extend_with<blacklist_sink_actor>;

// -- discovery (docs/discovery.md)
// ---------------------------------------------

/// A BOOTSTRAP DIALER (the SERVICE; fakes in tests): makes one bootstrap
/// attempt for the BOOTSTRAP MANAGER. Several dials run at once.
using bootstrap_dialer_actor = caf::typed_actor<
  // Dials the candidate at its endpoints and asks it for a bootstrap grant;
  // answers who granted and where it was reached, or why not: a denial
  // (`network_mismatch`, `not_whitelisted`, `not_reachable`,
  // `not_accepting`), `peer_id_mismatch`, `banned` or a connect failure.
  caf::replies_to<atom::dial, bootstrap_candidate>::with<bootstrap_connect>,
  // The bootstrap no longer needs `peer` (another candidate won, the budget
  // ended, `stop`): abandon its dial, and close a connection it granted
  // unless something else uses it.
  caf::reacts_to<atom::cancel, peer_id>>;

/// A PEER PINGER (the SERVICE): checks that a cached peer is alive, e.g. by
/// an echo request over a short-lived connection.
using peer_pinger_actor = caf::typed_actor<
  // True if the peer answered at one of its endpoints.
  caf::replies_to<atom::ping, cached_peer>::with<bool>>;

/// The BOOTSTRAP CACHE: the most recently directly connected peers, most
/// recent first, kept in a JSON file (written atomically a moment after each
/// change). Entries unused for the maximum age are re-validated through the
/// PEER PINGER; dead ones are dropped.
using bootstrap_cache_actor = caf::typed_actor<
  // A direct connection to `peer` at these endpoints (never a hard-coded
  // contact, a relayed or a gossiped peer): it becomes the most recent.
  caf::reacts_to<atom::put, peer_id, std::vector<std::string>>,
  // Drops a peer that failed, denied us or is dead.
  caf::reacts_to<atom::remove, peer_id>,
  // Every entry, most recent first.
  caf::replies_to<atom::get, atom::peers>::with<std::vector<cached_peer>>,
  // Writes the file now; answers the number of entries written.
  caf::replies_to<atom::save>::with<uint64_t>,
  // INTERNAL: time to re-validate stale entries.
  caf::reacts_to<atom::tick>,
  // INTERNAL: time to write the file after a change.
  caf::reacts_to<atom::flush>>;

/// The LAN BEACON: finds peers of our network on the LAN by UDP broadcast
/// and IPv4 multicast, and answers their requests with our endpoints
/// (rate-limited; never more bytes than the request times a small factor).
using lan_beacon_actor = caf::typed_actor<
  // Asks the LAN; answers every peer of our network that replied within the
  // configured window, one entry per peer id.
  caf::replies_to<atom::discover>::with<std::vector<beacon_peer>>,
  // Same with a window of its own (positive, at most 10 s).
  caf::replies_to<atom::discover,
                  caf::timespan>::with<std::vector<beacon_peer>>,
  // Sets the endpoints our replies advertise (the listener's); empty: we
  // answer nobody.
  caf::reacts_to<atom::advertise, std::vector<std::string>>,
  // Counters (malformed packets, other networks, rate limiting...).
  caf::replies_to<atom::get, atom::stats>::with<beacon_stats>,
  // The UDP port requests are answered on.
  caf::replies_to<atom::get, atom::port>::with<uint16_t>,
  // INTERNAL: the socket received a datagram from `from` (`a.b.c.d:port`).
  caf::reacts_to<atom::received, std::vector<uint8_t>, std::string>,
  // INTERNAL: the window of the discovery with this nonce ended.
  caf::reacts_to<atom::timeout, atom::discover, uint64_t>>;

/// The BOOTSTRAP MANAGER: finds a first peer. Candidates come from the LAN
/// BEACON, the BOOTSTRAP CACHE (most recent first) and the hard-coded
/// contacts (shuffled), minus the BLACKLIST; they are dialled through the
/// BOOTSTRAP DIALER in parallel up to a cap; the first grant wins and the
/// other dials are cancelled; the whole run has a budget.
using bootstrap_manager_actor = caf::typed_actor<
  // Runs one bootstrap; answers its report once it ends, exactly once: a
  // winner, or the reason (`no_candidates`, `bootstrap_timeout`,
  // `cancelled`, `not_reachable`, the last candidate's failure). Fails at
  // once with `bootstrap_running` while another run is under way.
  caf::replies_to<atom::bootstrap>::with<bootstrap_report>,
  // Ends the running bootstrap (its reason: `cancelled`); true if one ran.
  caf::replies_to<atom::stop, atom::bootstrap>::with<bool>,
  // The report of the running or the last run (per-candidate reasons).
  caf::replies_to<atom::get, atom::report>::with<bootstrap_report>,
  // INTERNAL: the budget of run number `run` ended.
  caf::reacts_to<atom::timeout, atom::bootstrap, uint64_t>>;

} // namespace crust

// Actor handles, chained after the `crust` block.
CAF_BEGIN_TYPE_ID_BLOCK(crust_actors, caf::id_block::crust::end)

  CAF_ADD_TYPE_ID(crust_actors, (crust::blacklist_sink_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::blacklist_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::byte_pipe_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::connection_sink_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::connection_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::service_subscriber_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::service_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::bootstrap_dialer_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::peer_pinger_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::bootstrap_cache_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::lan_beacon_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::bootstrap_manager_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::rudp_session_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::udp_endpoint_actor))

CAF_END_TYPE_ID_BLOCK(crust_actors)

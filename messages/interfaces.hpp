#pragma once

#include "crust/messages/ban.hpp"
#include "crust/messages/connection_events.hpp"
#include "crust/messages/peer_id.hpp"
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
#include <string>
#include <vector>

/// Every typed actor interface of crust. Roles are named in upper case in the
/// comments; each handler line says what it does.
namespace crust {

/// The NODE: the root actor of crust-node until the SUPERVISOR exists. Knows
/// the node's identity and takes the reports of the TCP LISTENER (which runs
/// on the Asio thread and reaches the node by `anon_send`).
using node_actor = caf::typed_actor<
  // Returns the node's peer id.
  caf::replies_to<atom::get, atom::id>::with<peer_id>,
  // The LISTENER accepted a TCP connection from `remote` ("address:port").
  caf::reacts_to<atom::accepted, std::string>,
  // Returns how many connections the LISTENER reported so far.
  caf::replies_to<atom::get, atom::stats>::with<uint64_t>>;

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
/// CONNECTION as `(received, bytes)` and reports the end of its transport as
/// `(closed, reason)`.
using byte_pipe_actor = caf::typed_actor<
  // Writes `bytes` after every earlier write; writes never interleave.
  caf::reacts_to<atom::write, std::vector<uint8_t>>,
  // The CONNECTION processed `n` more received bytes (back-pressure credit).
  caf::reacts_to<atom::ack, uint64_t>,
  // Writes what is pending, then closes the transport and quits.
  caf::reacts_to<atom::close>>;

/// A CONNECTION SINK: the owner of CONNECTIONS (the SUPERVISOR; tests),
/// told what happens on each (messages/connection_events.hpp). The sending
/// CONNECTION is the message's sender.
using connection_sink_actor = caf::typed_actor<
  // The handshake completed; first event of a connection.
  caf::reacts_to<connected>,
  // A complete message arrived.
  caf::reacts_to<new_message>,
  // The connection ended (peer closed, transport failed, silence).
  caf::reacts_to<lost_peer>,
  // The peer sent a forged or malformed frame; the connection ended.
  caf::reacts_to<peer_misbehaved>,
  // A `send` was refused as too large; the message is handed back.
  caf::reacts_to<message_too_large>>;

/// A CONNECTION: one secure channel to one peer over one BYTE PIPE. Runs the
/// handshake (with a deadline and a byte bound), then framing, heartbeat and
/// the inactivity check. Dies with a reason on any failure; a local `close`
/// is the only normal exit.
using connection_actor = caf::typed_actor<
  // The BYTE PIPE delivers bytes from the peer.
  caf::reacts_to<atom::received, std::vector<uint8_t>>,
  // The BYTE PIPE's transport ended (none: orderly end of stream).
  caf::reacts_to<atom::closed, caf::error>,
  // Sends one application message (queued until the handshake completes).
  caf::reacts_to<atom::send, std::vector<uint8_t>>,
  // Sends a close frame, closes the BYTE PIPE and quits normally.
  caf::reacts_to<atom::close>,
  // Returns the connection's counters.
  caf::replies_to<atom::get, atom::stats>::with<connection_stats>,
  // INTERNAL: the handshake deadline.
  caf::reacts_to<atom::timeout, atom::handshake>,
  // INTERNAL: time to check whether a keepalive is due.
  caf::reacts_to<atom::timeout, atom::heartbeat>,
  // INTERNAL: time to check whether the peer has been silent too long.
  caf::reacts_to<atom::timeout, atom::silence>>;

} // namespace crust

// Actor handles, chained after the `crust` block.
CAF_BEGIN_TYPE_ID_BLOCK(crust_actors, caf::id_block::crust::end)

  CAF_ADD_TYPE_ID(crust_actors, (crust::node_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::blacklist_sink_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::blacklist_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::byte_pipe_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::connection_sink_actor))
  CAF_ADD_TYPE_ID(crust_actors, (crust::connection_actor))

CAF_END_TYPE_ID_BLOCK(crust_actors)

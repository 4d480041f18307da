#pragma once

#include "crust/messages/ban.hpp"
#include "crust/messages/connection_events.hpp"
#include "crust/messages/discovery.hpp"
#include "crust/messages/errc.hpp"
#include "crust/messages/expected.hpp"
#include "crust/messages/peer_id.hpp"
#include "crust/messages/service_events.hpp"
#include "crust/messages/udp_endpoint_events.hpp"
#include "crust/nat/port_mapping.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/type_id.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace crust {

// transport/codec/connection_info.hpp: local-only messages (see the end of
// this file).
struct public_connection_info;
struct private_connection_info;

} // namespace crust

// The crust type-ID block: every message type and atom crust defines. Actor
// handles follow in the `crust_actors` block at the end of
// messages/interfaces.hpp; `crust::add_message_types` registers both.
//
// Atoms (CAF 0.17): at most 10 characters, and equal text means the same
// type even in different namespaces. CAF's predefined atoms are aliased into
// `crust::atom` below instead of being declared again.
CAF_BEGIN_TYPE_ID_BLOCK(crust, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(crust, (crust::peer_id))

  /// A LISTENER accepted a connection.
  CAF_ADD_ATOM(crust, crust::atom, accepted, "accepted")
  /// Selects the node's identity in a `get` request.
  CAF_ADD_ATOM(crust, crust::atom, id, "id")
  /// Selects counters in a `get` request.
  CAF_ADD_ATOM(crust, crust::atom, stats, "stats")

  // -- BLACKLIST (messages/ban.hpp) -------------------------------------------

  CAF_ADD_TYPE_ID(crust, (std::vector<crust::peer_id>))
  CAF_ADD_TYPE_ID(crust, (crust::ban_set))
  CAF_ADD_TYPE_ID(crust, (crust::peer_ban))
  CAF_ADD_TYPE_ID(crust, (crust::address_ban))
  CAF_ADD_TYPE_ID(crust, (crust::ban_list))

  /// Bans peers or an address.
  CAF_ADD_ATOM(crust, crust::atom, ban, "ban")
  /// Lifts a ban.
  CAF_ADD_ATOM(crust, crust::atom, unban, "unban")
  /// Asks whether a peer or an address is banned.
  CAF_ADD_ATOM(crust, crust::atom, is_banned, "isBanned")
  /// Notifies a subscriber of newly banned peers and addresses.
  CAF_ADD_ATOM(crust, crust::atom, banned, "banned")
  /// Asks for every entry (of a blacklist, ...).
  CAF_ADD_ATOM(crust, crust::atom, list, "list")
  /// Writes state to a file.
  CAF_ADD_ATOM(crust, crust::atom, save, "save")
  /// Reads state from a file.
  CAF_ADD_ATOM(crust, crust::atom, load, "load")
  /// A timer for something that expires went off.
  CAF_ADD_ATOM(crust, crust::atom, expire, "expire")

  // -- CONNECTION (messages/connection_events.hpp) ---------------------------

  CAF_ADD_TYPE_ID(crust, (std::vector<uint8_t>))
  CAF_ADD_TYPE_ID(crust, (crust::authenticated))
  CAF_ADD_TYPE_ID(crust, (crust::established))
  CAF_ADD_TYPE_ID(crust, (crust::messages_dropped))
  CAF_ADD_TYPE_ID(crust, (crust::new_message))
  CAF_ADD_TYPE_ID(crust, (crust::lost_peer))
  CAF_ADD_TYPE_ID(crust, (crust::peer_misbehaved))
  CAF_ADD_TYPE_ID(crust, (crust::message_too_large))
  CAF_ADD_TYPE_ID(crust, (crust::connection_stats))
  CAF_ADD_TYPE_ID(crust, (std::shared_ptr<crust::tcp_stream>))
  CAF_ADD_TYPE_ID(crust, (crust::service_frame))

  /// Bytes for a BYTE PIPE to write.
  CAF_ADD_ATOM(crust, crust::atom, write, "write")
  /// Inbound bytes the receiver has processed (back-pressure credit).
  CAF_ADD_ATOM(crust, crust::atom, ack, "ack")
  /// Bytes a BYTE PIPE received from the peer.
  CAF_ADD_ATOM(crust, crust::atom, received, "received")
  /// A BYTE PIPE's transport closed.
  CAF_ADD_ATOM(crust, crust::atom, closed, "closed")
  /// Sends an application message.
  CAF_ADD_ATOM(crust, crust::atom, send, "send")
  /// Names the handshake deadline in a `timeout`.
  CAF_ADD_ATOM(crust, crust::atom, handshake, "handshake")
  /// Names the heartbeat timer in a `timeout`.
  CAF_ADD_ATOM(crust, crust::atom, heartbeat, "heartbeat")
  /// Names the inactivity (lost peer) timer in a `timeout`.
  CAF_ADD_ATOM(crust, crust::atom, silence, "silence")
  /// The BYTE PIPE wrote bytes to the socket (write credit).
  CAF_ADD_ATOM(crust, crust::atom, sent, "sent")
  /// The larger peer id keeps this connection (duplicate collapse).
  CAF_ADD_ATOM(crust, crust::atom, choose, "choose")
  /// Names the send-queue expiry timer in a `timeout`.
  CAF_ADD_ATOM(crust, crust::atom, expiry, "expiry")
  /// Sends a service frame (crust's own messages between SERVICES).
  CAF_ADD_ATOM(crust, crust::atom, service, "service")

  // -- SERVICE (messages/service_events.hpp) ----------------------------------

  CAF_ADD_TYPE_ID(crust, (crust::listener_started))
  CAF_ADD_TYPE_ID(crust, (crust::listener_failed))
  CAF_ADD_TYPE_ID(crust, (crust::connect_success))
  CAF_ADD_TYPE_ID(crust, (crust::connect_failure))
  CAF_ADD_TYPE_ID(crust, (crust::connection_info_prepared))
  CAF_ADD_TYPE_ID(crust, (crust::bootstrap_connect))
  CAF_ADD_TYPE_ID(crust, (crust::bootstrap_failed))
  CAF_ADD_TYPE_ID(crust, (crust::bootstrap_accept))
  CAF_ADD_TYPE_ID(crust, (crust::peer_summary))
  CAF_ADD_TYPE_ID(crust, (std::vector<crust::peer_summary>))
  CAF_ADD_TYPE_ID(crust, (std::vector<crust::connection_stats>))
  CAF_ADD_TYPE_ID(crust, (crust::service_stats))
  CAF_ADD_TYPE_ID(crust, (crust::public_connection_info))
  CAF_ADD_TYPE_ID(crust, (crust::private_connection_info))

  /// Starts (or with `stop`, stops) the TCP listener.
  CAF_ADD_ATOM(crust, crust::atom, listen, "listen")
  /// Ends something (`stop, listen`).
  CAF_ADD_ATOM(crust, crust::atom, stop, "stop")
  /// Prepares our connection info.
  CAF_ADD_ATOM(crust, crust::atom, prepare, "prepare")
  /// Closes the connection to a peer.
  CAF_ADD_ATOM(crust, crust::atom, disconnect, "disconnect")
  /// Asks whether a peer is connected.
  CAF_ADD_ATOM(crust, crust::atom, is_connected, "isConn")
  /// Selects a peer's address in a `get` request.
  CAF_ADD_ATOM(crust, crust::atom, address, "address")
  /// Selects the connected peers in a `get` request.
  CAF_ADD_ATOM(crust, crust::atom, peers, "peers")
  /// Selects the BLACKLIST in a `get` request.
  CAF_ADD_ATOM(crust, crust::atom, blacklist, "blacklist")
  /// Asks a peer which address it sees us at.
  CAF_ADD_ATOM(crust, crust::atom, echo, "echo")
  /// Selects the peers learned by gossip in a `get` request.
  CAF_ADD_ATOM(crust, crust::atom, gossip, "gossip")

  // -- BOOTSTRAP MANAGER, LAN BEACON, BOOTSTRAP CACHE (messages/discovery.hpp)

  CAF_ADD_TYPE_ID(crust, (std::vector<std::string>))
  CAF_ADD_TYPE_ID(crust, (crust::bootstrap_candidate))
  CAF_ADD_TYPE_ID(crust, (std::vector<crust::bootstrap_candidate>))
  CAF_ADD_TYPE_ID(crust, (crust::candidate_report))
  CAF_ADD_TYPE_ID(crust, (crust::bootstrap_report))
  CAF_ADD_TYPE_ID(crust, (crust::beacon_peer))
  CAF_ADD_TYPE_ID(crust, (std::vector<crust::beacon_peer>))
  CAF_ADD_TYPE_ID(crust, (crust::beacon_stats))
  CAF_ADD_TYPE_ID(crust, (crust::cached_peer))
  CAF_ADD_TYPE_ID(crust, (std::vector<crust::cached_peer>))

  /// Runs a bootstrap (or with `stop`, ends it).
  CAF_ADD_ATOM(crust, crust::atom, bootstrap, "bootstrap")
  /// Dials one bootstrap candidate.
  CAF_ADD_ATOM(crust, crust::atom, dial, "dial")
  /// Abandons a dial that is no longer needed.
  CAF_ADD_ATOM(crust, crust::atom, cancel, "cancel")
  /// Selects the bootstrap report in a `get` request.
  CAF_ADD_ATOM(crust, crust::atom, report, "report")
  /// Finds peers on the LAN.
  CAF_ADD_ATOM(crust, crust::atom, discover, "discover")
  /// Sets the endpoints a LAN BEACON advertises.
  CAF_ADD_ATOM(crust, crust::atom, advertise, "advertise")
  /// Drops an entry (of the bootstrap cache, ...).
  CAF_ADD_ATOM(crust, crust::atom, remove, "remove")
  /// Selects a port in a `get` request.
  CAF_ADD_ATOM(crust, crust::atom, port, "port")

  // -- PORT MAPPER (nat/port_mapper.hpp) --------------------------------------

  CAF_ADD_TYPE_ID(crust, (crust::port_mapping))

  // -- UDP ENDPOINT, rUDP SESSION (messages/udp_endpoint_events.hpp) ----------

  CAF_ADD_TYPE_ID(crust, (crust::udp_endpoint_stats))
  CAF_ADD_TYPE_ID(crust, (std::shared_ptr<crust::datagram_batch>))

CAF_END_TYPE_ID_BLOCK(crust)

// Lets handlers `return crust::errc::...;` and `caf::error{errc, detail}`.
CAF_ERROR_CODE_ENUM(crust::errc, "crust")

namespace crust::atom {

// CAF's predefined atoms under crust's names.
using add = caf::add_atom;
constexpr add add_v = add{};

using close = caf::close_atom;
constexpr close close_v = close{};

using connect = caf::connect_atom;
constexpr connect connect_v = connect{};

using flush = caf::flush_atom;
constexpr flush flush_v = flush{};

using get = caf::get_atom;
constexpr get get_v = get{};

using ok = caf::ok_atom;
constexpr ok ok_v = ok{};

using ping = caf::ping_atom;
constexpr ping ping_v = ping{};

using pong = caf::pong_atom;
constexpr pong pong_v = pong{};

using put = caf::put_atom;
constexpr put put_v = put{};

using subscribe = caf::subscribe_atom;
constexpr subscribe subscribe_v = subscribe{};

using tick = caf::tick_atom;
constexpr tick tick_v = tick{};

using timeout = caf::timeout_atom;
constexpr timeout timeout_v = timeout{};

using unsubscribe = caf::unsubscribe_atom;
constexpr unsubscribe unsubscribe_v = unsubscribe{};

} // namespace crust::atom

namespace crust {

/// The error category atom under which CAF knows `crust::errc`.
constexpr caf::atom_value error_category = caf::atom("crust");

/// Renders a crust error as `to_string(errc)`, followed by ": <detail>" when
/// the error carries a string as its context. Installed as the renderer of
/// the "crust" category, so `sys.render(err)` reads like `failure::message`.
std::string render_error(uint8_t code, caf::atom_value category,
                         const caf::message& context);

/// Registers crust's renderer for the "crust" error category on `cfg` (the
/// template `add_error_category<T>` of CAF 0.17.6 does not compile).
void add_error_category(caf::actor_system_config& cfg);

/// Registers every crust type-ID block (`crust`, `crust_actors`) and the
/// error category on `cfg`.
void add_message_types(caf::actor_system_config& cfg);

/// A CAF error carrying the code and, when present, the detail string; no
/// error for `errc::none`.
caf::error to_error(const failure& x);

} // namespace crust

// Connection info travels between the SERVICE and code in the same process
// only; it is never serialized (crust does not use remote actors).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crust::public_connection_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crust::private_connection_info)

#pragma once

#include "crust/messages/connection_events.hpp"
#include "crust/messages/peer_id.hpp"

#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

/// What the SERVICE (messages/interfaces.hpp) tells its subscribers, besides
/// the connection events it passes on (`new_message`, `lost_peer`,
/// `peer_misbehaved`, `message_too_large`, `messages_dropped` from
/// messages/connection_events.hpp).
namespace crust {

/// The TCP listener accepts connections on `port`.
struct listener_started {
  uint16_t port = 0;
  /// Every address it may be reached on ("a.b.c.d:port", "[v6]:port").
  std::vector<std::string> endpoints;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, listener_started& x) {
  return f(caf::meta::type_name("listener_started"), x.port, x.endpoints);
}

/// The TCP listener could not start on `port` (0: a random port).
struct listener_failed {
  uint16_t port = 0;
  caf::error reason;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, listener_failed& x) {
  return f(caf::meta::type_name("listener_failed"), x.port, x.reason);
}

/// A connection to `peer` was established (dialled or accepted); from now on
/// `send` to it works. Exactly one per peer until its `lost_peer`.
struct connect_success {
  peer_id peer;
  /// The peer's transport address.
  std::string remote;
  /// "tcp" (later also "rudp").
  std::string transport;
  /// True if our side dialled the surviving connection.
  bool initiated = false;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, connect_success& x) {
  return f(caf::meta::type_name("connect_success"), x.peer, x.remote,
           x.transport, x.initiated);
}

/// A `connect` to `peer` failed: every address was tried (or the deadline
/// passed); `reason` is the most telling failure (a refusal beats a timeout).
struct connect_failure {
  peer_id peer;
  caf::error reason;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, connect_failure& x) {
  return f(caf::meta::type_name("connect_failure"), x.peer, x.reason);
}

/// Answer to `prepare` with the caller's token: our public connection info in
/// its text form (transport/codec/connection_info.hpp), or the reason none
/// could be prepared.
struct connection_info_prepared {
  uint32_t token = 0;
  std::string info;
  caf::error reason;
};

template<class Inspector>
typename Inspector::result_type
inspect(Inspector& f, connection_info_prepared& x) {
  return f(caf::meta::type_name("connection_info_prepared"), x.token, x.info,
           x.reason);
}

/// Bootstrap events, filled in by the bootstrap manager (next issue).

/// Our bootstrap reached `peer` at `remote`; one per bootstrap run.
struct bootstrap_connect {
  peer_id peer;
  std::string remote;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, bootstrap_connect& x) {
  return f(caf::meta::type_name("bootstrap_connect"), x.peer, x.remote);
}

/// Our bootstrap ended without a peer.
struct bootstrap_failed {
  caf::error reason;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, bootstrap_failed& x) {
  return f(caf::meta::type_name("bootstrap_failed"), x.reason);
}

/// `peer` bootstrapped off us, as a node (`client` false) or a client.
struct bootstrap_accept {
  peer_id peer;
  bool client = false;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, bootstrap_accept& x) {
  return f(caf::meta::type_name("bootstrap_accept"), x.peer, x.client);
}

/// One connected peer, for `get peers`.
struct peer_summary {
  peer_id peer;
  std::string remote;
  /// "tcp" (later also "rudp").
  std::string transport;
  /// True if our side dialled.
  bool initiated = false;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_summary& x) {
  return f(caf::meta::type_name("peer_summary"), x.peer, x.remote, x.transport,
           x.initiated);
}

/// Counters of the whole service, for `get stats`.
struct service_stats {
  /// One entry per established connection.
  std::vector<connection_stats> connections;
  /// Connections still in the handshake or waiting to be chosen.
  uint64_t pending_connections = 0;
  /// Connections accepted and dialled since the start.
  uint64_t accepted_total = 0;
  uint64_t dialled_total = 0;
  /// Connections refused for a ban, a whitelist or the pending cap.
  uint64_t refused_total = 0;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_stats& x) {
  return f(caf::meta::type_name("service_stats"), x.connections,
           x.pending_connections, x.accepted_total, x.dialled_total,
           x.refused_total);
}

} // namespace crust

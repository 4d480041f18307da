#pragma once

#include "crust/messages/peer_id.hpp"

#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

/// What the BOOTSTRAP MANAGER, the LAN BEACON and the BOOTSTRAP CACHE
/// (messages/interfaces.hpp) exchange. Endpoints travel in their text form
/// (`a.b.c.d:port`, `[v6]:port`, `udp://...`; transport/codec/endpoint.hpp).
namespace crust {

/// Where a bootstrap candidate came from.
enum class candidate_source : uint8_t {
  /// The bootstrap cache: directly connected before.
  cache,
  /// A LAN beacon answer.
  lan,
  /// A hard-coded contact.
  contact,
  /// Learned from a connected peer's gossip.
  gossip,
};

/// "cache", "lan", "contact" or "gossip".
constexpr std::string_view to_string(candidate_source x) noexcept {
  switch (x) {
    case candidate_source::cache: return "cache";
    case candidate_source::lan: return "lan";
    case candidate_source::contact: return "contact";
    case candidate_source::gossip: return "gossip";
  }
  return "unknown";
}

/// A peer the BOOTSTRAP MANAGER may dial.
struct bootstrap_candidate {
  peer_id peer;
  /// Endpoint texts, most preferred first.
  std::vector<std::string> endpoints;
  candidate_source source = candidate_source::contact;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, bootstrap_candidate& x) {
  return f(caf::meta::type_name("bootstrap_candidate"), x.peer, x.endpoints,
           x.source);
}

/// What became of one candidate in a bootstrap run.
enum class candidate_status : uint8_t {
  /// Not dialled (the run ended first).
  not_tried,
  /// Left out: the peer or every one of its addresses is banned.
  banned,
  /// Being dialled.
  dialling,
  /// Granted the bootstrap: the winner.
  granted,
  /// Denied us or could not be reached; `reason` says which.
  failed,
  /// Dial abandoned: another candidate won, the budget ended or `stop`.
  cancelled,
};

/// "not_tried", "banned", "dialling", "granted", "failed" or "cancelled".
constexpr std::string_view to_string(candidate_status x) noexcept {
  switch (x) {
    case candidate_status::not_tried: return "not_tried";
    case candidate_status::banned: return "banned";
    case candidate_status::dialling: return "dialling";
    case candidate_status::granted: return "granted";
    case candidate_status::failed: return "failed";
    case candidate_status::cancelled: return "cancelled";
  }
  return "unknown";
}

/// One candidate of a bootstrap run and its outcome.
struct candidate_report {
  bootstrap_candidate candidate;
  candidate_status status = candidate_status::not_tried;
  /// Why it failed or was cancelled; none otherwise.
  caf::error reason;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, candidate_report& x) {
  return f(caf::meta::type_name("candidate_report"), x.candidate, x.status,
           x.reason);
}

/// The outcome of one bootstrap run: a winner (`reason` none) or the reason
/// it failed (`errc::no_candidates`, `errc::bootstrap_timeout`,
/// `errc::cancelled`, `errc::not_reachable`, or the last candidate's
/// failure), plus what became of every candidate, in dial order.
struct bootstrap_report {
  /// The peer that granted the bootstrap; zero if none.
  peer_id peer;
  /// The address it was reached at.
  std::string remote;
  /// Where the winner came from (meaningful only with a winner).
  candidate_source source = candidate_source::contact;
  caf::error reason;
  std::vector<candidate_report> candidates;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, bootstrap_report& x) {
  return f(caf::meta::type_name("bootstrap_report"), x.peer, x.remote, x.source,
           x.reason, x.candidates);
}

/// A peer that answered a LAN BEACON discovery.
struct beacon_peer {
  peer_id peer;
  /// The endpoints it advertises, most preferred first.
  std::vector<std::string> endpoints;
  /// Where its answer came from (`a.b.c.d:port`).
  std::string from;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, beacon_peer& x) {
  return f(caf::meta::type_name("beacon_peer"), x.peer, x.endpoints, x.from);
}

/// Counters of the LAN BEACON.
struct beacon_stats {
  uint64_t requests_sent = 0;
  uint64_t requests_received = 0;
  uint64_t replies_sent = 0;
  uint64_t replies_received = 0;
  /// Datagrams that did not decode (any version, size or field problem).
  uint64_t malformed = 0;
  /// Requests and replies of another network, ignored.
  uint64_t other_network = 0;
  /// Requests left unanswered by the rate limits or as duplicates.
  uint64_t rate_limited = 0;
  /// Our own requests and replies coming back, ignored.
  uint64_t own = 0;
  /// Replies to no discovery of ours (late or unsolicited), ignored.
  uint64_t unsolicited = 0;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, beacon_stats& x) {
  return f(caf::meta::type_name("beacon_stats"), x.requests_sent,
           x.requests_received, x.replies_sent, x.replies_received, x.malformed,
           x.other_network, x.rate_limited, x.own, x.unsolicited);
}

/// One entry of the BOOTSTRAP CACHE.
struct cached_peer {
  peer_id peer;
  /// Endpoint texts, most preferred first.
  std::vector<std::string> endpoints;
  /// When last connected or re-validated, Unix milliseconds.
  int64_t last_seen_ms = 0;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, cached_peer& x) {
  return f(caf::meta::type_name("cached_peer"), x.peer, x.endpoints,
           x.last_seen_ms);
}

} // namespace crust

#pragma once

#include "crust/messages/discovery.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/peer_id.hpp"

#include <caf/response_promise.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace crust {

/// Settings of the BOOTSTRAP MANAGER.
struct bootstrap_manager_config {
  /// Makes the attempts (the SERVICE; required).
  bootstrap_dialer_actor dialer;

  /// Filters candidates by peer id and address; none: no filter.
  blacklist_actor blacklist;

  /// Source of cached candidates, told about failures and winners; none:
  /// no cache.
  bootstrap_cache_actor cache;

  /// Source of LAN candidates; none: no LAN discovery.
  lan_beacon_actor beacon;

  /// Hard-coded contacts, `PEERID@ADDRESS:PORT` with a literal address
  /// (transport/codec/endpoint.hpp); they never enter the cache.
  std::vector<std::string> contacts;

  /// Our own id: never a candidate.
  peer_id self;

  /// The whole run ends after this long (10 s, as in the original Crust).
  caf::timespan budget = std::chrono::seconds{10};

  /// Most dials at once.
  size_t max_concurrent_dials = 8;

  /// Seeds the shuffle of the contacts; none: a random seed per run.
  std::optional<uint64_t> shuffle_seed;

  /// A `not_reachable` denial ends the run at once: it says that peers
  /// cannot reach us, which no other candidate would see differently.
  bool stop_on_unreachable = true;
};

/// State of the BOOTSTRAP MANAGER (messages/interfaces.hpp).
struct bootstrap_manager_state {
  /// Name in logs.
  static inline const char* name = "bootstrap_manager";

  bootstrap_manager_config config;

  /// Number of the current (or last) run; timers and replies of older runs
  /// carry older numbers and are ignored.
  uint64_t run = 0;

  /// True while a run is under way.
  bool running = false;

  /// The report of the current or last run; candidates in the order found.
  bootstrap_report report;

  /// Indexes into `report.candidates` waiting to be dialled, in dial order:
  /// cache entries, then LAN answers, then contacts.
  std::vector<size_t> queue;

  /// Dials under way.
  size_t dialling = 0;

  /// Candidate sources still being asked (cache, blacklist, beacon); the
  /// run cannot fail for lack of candidates before they all answered.
  size_t gathering = 0;

  /// True once the blacklist answered (or there is none): nobody is dialled
  /// before the filter is known.
  bool filter_ready = false;

  /// Banned peers and canonical addresses, from the BLACKLIST.
  std::set<peer_id> banned_peers;
  std::set<std::string> banned_addresses;

  /// Candidates found before the filter was known.
  std::vector<bootstrap_candidate> held;

  /// Answers the requester once the run ends.
  caf::response_promise promise;

  /// Shuffle seed of the current run.
  uint64_t seed = 0;
};

/// Spawn function of the BOOTSTRAP MANAGER.
/// @param self The actor.
/// @param config Its settings; no dialer, a non-positive budget, a dial cap
///        of 0 or a malformed contact make the actor quit with
///        `errc::invalid_config`.
bootstrap_manager_actor::behavior_type bootstrap_manager(
  bootstrap_manager_actor::stateful_pointer<bootstrap_manager_state> self,
  bootstrap_manager_config config);

} // namespace crust

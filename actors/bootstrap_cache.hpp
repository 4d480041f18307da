#pragma once

#include "crust/messages/discovery.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/peer_id.hpp"
#include "crust/transport/codec/bootstrap_cache.hpp"

#include <caf/timespan.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <set>
#include <string>

namespace crust {

/// Settings of the BOOTSTRAP CACHE.
struct bootstrap_cache_config {
  /// The JSON file (transport/bootstrap_cache_file.hpp); empty: memory only.
  /// `default_bootstrap_cache_path()` is the usual choice.
  std::string path;

  /// Most entries kept.
  size_t capacity = bootstrap_cache::default_capacity;

  /// Entries unused this long are re-validated.
  caf::timespan max_age = bootstrap_cache::default_max_age;

  /// How often stale entries are looked for.
  caf::timespan revalidate_interval = std::chrono::seconds{30};

  /// A ping unanswered this long counts as dead (30 s, as in the original).
  caf::timespan ping_timeout = std::chrono::seconds{30};

  /// Most pings at once.
  size_t max_pings = 8;

  /// The file is written this long after the first unsaved change, so a
  /// burst of changes costs one write.
  caf::timespan flush_delay = std::chrono::seconds{1};

  /// Checks stale entries; none: stale entries stay until used or evicted.
  peer_pinger_actor pinger;

  /// Wall clock: `last_seen` is kept across runs. Tests inject a fake.
  std::function<std::chrono::system_clock::time_point()> wall_clock = [] {
    return std::chrono::system_clock::now();
  };
};

/// State of the BOOTSTRAP CACHE (messages/interfaces.hpp).
struct bootstrap_cache_state {
  /// Name in logs.
  static inline const char* name = "bootstrap_cache";

  bootstrap_cache_config config;

  bootstrap_cache cache;

  /// Peers being pinged.
  std::set<peer_id> pinging;

  /// Changes not yet written.
  bool dirty = false;

  /// A flush is scheduled.
  bool flush_armed = false;

  /// The warning of the last load, if the file was unusable (tests, logs).
  std::string load_warning;
};

/// Spawn function of the BOOTSTRAP CACHE (named apart from the in-memory
/// `bootstrap_cache` it keeps). Loads the file first (a corrupt
/// one is set aside with a warning; the cache then starts empty).
/// @param self The actor.
/// @param config Its settings; a capacity of 0, non-positive durations or
///        no wall clock make the actor quit with `errc::invalid_config`.
bootstrap_cache_actor::behavior_type bootstrap_cache_keeper(
  bootstrap_cache_actor::stateful_pointer<bootstrap_cache_state> self,
  bootstrap_cache_config config);

} // namespace crust

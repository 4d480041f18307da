#pragma once

#include "crust/messages/ban.hpp"
#include "crust/messages/expected.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/peer_id.hpp"

#include <caf/actor_clock.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crust {

/// Normalises the text of an IPv4 or IPv6 address (no port, no zone) to its
/// canonical form: `ip_address::parse`, then `to_string` (RFC 5952), and an
/// IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as a dual-stack socket
/// reports IPv4 peers) becomes the IPv4 address. Fails with
/// `errc::bad_address` naming the text and the problem.
expected<std::string> canonical_address(std::string_view text);

/// Settings of the BLACKLIST.
struct blacklist_config {
  /// Wall clock for `save` and `load`: a saved ban keeps its expiry as an
  /// absolute time, so that it does not count down only while a node runs.
  /// Expiry within a session follows the actor clock. Tests inject a fake.
  std::function<std::chrono::system_clock::time_point()> wall_clock = [] {
    return std::chrono::system_clock::now();
  };
};

/// State of the BLACKLIST (messages/interfaces.hpp). Every operation takes
/// the current actor time: a ban whose deadline has passed counts as lifted
/// even before its expiry timer arrives.
struct blacklist_state {
  /// Name in logs.
  static inline const char* name = "blacklist";

  using time_point = caf::actor_clock::time_point;

  /// When a ban ends; none for a ban for the session.
  using deadline = std::optional<time_point>;

  /// Banned peers and their deadlines.
  std::map<peer_id, deadline> peers;

  /// Banned addresses (canonical text) and their deadlines.
  std::map<std::string, deadline> addresses;

  /// Actors told about new bans; each is monitored.
  std::vector<blacklist_sink_actor> subscribers;

  /// Wall clock for save and load (from `blacklist_config`).
  std::function<std::chrono::system_clock::time_point()> wall_clock;

  /// True if a ban with deadline `d` is in force at `now`.
  static bool in_force(const deadline& d, time_point now) noexcept {
    return !d || *d > now;
  }

  /// The deadline of a ban starting at `now` for `ttl`; none (for the
  /// session) if `ttl` is none or reaches beyond what the clock can count.
  static deadline deadline_after(time_point now,
                                 std::optional<caf::timespan> ttl) noexcept;

  /// Bans `id` until `until`, merged with a ban in force (the later deadline
  /// wins, a session ban stays one). Returns true if `id` was not banned
  /// before. `extended` is set if the deadline moved, so the caller arms a
  /// timer.
  bool ban(const peer_id& id, deadline until, time_point now, bool& extended);

  /// Same for an address in canonical text.
  bool ban(const std::string& addr, deadline until, time_point now,
           bool& extended);

  /// Lifts the ban of `id`; true if one was in force.
  bool unban(const peer_id& id, time_point now);

  /// Lifts the ban of an address in canonical text; true if one was in
  /// force.
  bool unban(const std::string& addr, time_point now);

  /// True if `id` is banned at `now`.
  bool is_banned(const peer_id& id, time_point now) const;

  /// True if the address (canonical text) is banned at `now`.
  bool is_banned(const std::string& addr, time_point now) const;

  /// Removes the ban of `id` if its deadline has come; true if removed. A
  /// timer of an older, shorter ban finds a later deadline and does nothing.
  bool expire(const peer_id& id, time_point now);

  /// Same for an address.
  bool expire(const std::string& addr, time_point now);

  /// Every ban in force at `now`, with the time each has left.
  ban_list list(time_point now) const;

  /// Adds `sink` unless already present; true if added.
  bool add_subscriber(const blacklist_sink_actor& sink);

  /// Removes the subscriber at `addr`; true if one was removed.
  bool drop_subscriber(const caf::actor_addr& addr);
};

/// Spawn function of the BLACKLIST.
/// @param self The actor.
/// @param config Its settings; an empty wall clock makes the actor quit
///        with `errc::invalid_config`.
blacklist_actor::behavior_type
blacklist(blacklist_actor::stateful_pointer<blacklist_state> self,
          blacklist_config config);

} // namespace crust

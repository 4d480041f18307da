#pragma once

#include "crust/messages/peer_id.hpp"
#include "crust/transport/codec/endpoint.hpp"

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

namespace crust {

/// How we came to be connected to a peer: only `direct` connections enter
/// the bootstrap cache (docs/discovery.md).
enum class peer_origin : uint8_t {
  /// We reached the peer's own address (dialled or accepted).
  direct,
  /// The peer is one of the configured hard-coded contacts.
  hard_coded,
  /// A peer told us about it (gossip): a candidate, never a cache entry.
  gossip,
  /// Through a relay or another indirect path.
  relayed,
};

/// One peer of the bootstrap cache.
struct cache_entry {
  using time_point = std::chrono::system_clock::time_point;

  peer_id id;

  /// Where the peer was reached, most preferred first.
  std::vector<endpoint> endpoints;

  /// When the peer was last connected or re-validated (wall clock: the file
  /// keeps it across runs).
  time_point last_seen;
};

bool operator==(const cache_entry& x, const cache_entry& y);

inline bool operator!=(const cache_entry& x, const cache_entry& y) {
  return !(x == y);
}

/// The bootstrap cache in memory: the most recently directly connected
/// peers, most recent first, at most `capacity` of them (the least recently
/// seen falls out). Nothing in it is trusted beyond being a dial candidate:
/// the handshake authenticates the peer. No I/O and no clock reads: callers
/// pass the time.
class bootstrap_cache {
public:
  using time_point = cache_entry::time_point;

  /// Default capacity, as in the original Crust.
  static constexpr size_t default_capacity = 200;

  /// Default age after which an entry is re-validated.
  static constexpr auto default_max_age = std::chrono::seconds{120};

  /// Most endpoints kept per entry (as in public connection info).
  static constexpr size_t max_endpoints = 32;

  /// `capacity` 0 keeps nothing.
  explicit bootstrap_cache(size_t capacity = default_capacity);

  /// Records a connection to `id` at `endpoints` seen at `now`: a `direct`
  /// one moves the peer to the front with these endpoints (endpoints with
  /// port 0 or an unspecified address are dropped, duplicates too, at most
  /// `max_endpoints` kept), evicting the least recent entry beyond the
  /// capacity. Returns true if the cache changed; any other origin, a zero
  /// id or no usable endpoint change nothing.
  bool add(const peer_id& id, const std::vector<endpoint>& endpoints,
           peer_origin origin, time_point now);

  /// Re-inserts a decoded entry at the back (loading a file, most recent
  /// first). Same filters as `add`; false if it was refused, already present
  /// or the cache is full.
  bool append(const cache_entry& entry);

  /// The peer answered (re-validation) at `now`: moves it to the front.
  /// False if unknown.
  bool touch(const peer_id& id, time_point now);

  /// Drops the peer (it failed, denied us or is dead). False if unknown.
  bool remove(const peer_id& id);

  /// Drops everything.
  void clear();

  /// The entry of `id`, if cached.
  std::optional<cache_entry> find(const peer_id& id) const;

  /// Every entry, most recent first.
  std::vector<cache_entry> entries() const;

  /// Entries not seen for `max_age` or longer at `now`, most recent first:
  /// those to re-validate.
  std::vector<cache_entry>
  stale(time_point now,
        std::chrono::milliseconds max_age = default_max_age) const;

  size_t size() const noexcept {
    return order_.size();
  }

  bool empty() const noexcept {
    return order_.empty();
  }

  size_t capacity() const noexcept {
    return capacity_;
  }

  /// The usable endpoints of `endpoints` by the rules of `add`.
  static std::vector<endpoint>
  usable_endpoints(const std::vector<endpoint>& endpoints);

private:
  void evict_beyond_capacity();

  size_t capacity_;
  /// Most recent first.
  std::list<cache_entry> order_;
  std::unordered_map<peer_id, std::list<cache_entry>::iterator> index_;
};

} // namespace crust

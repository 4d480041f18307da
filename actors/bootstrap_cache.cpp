#include "crust/actors/bootstrap_cache.hpp"

#include "crust/messages/log.hpp"
#include "crust/transport/bootstrap_cache_file.hpp"
#include "crust/transport/codec/endpoint.hpp"

#include <caf/error.hpp>
#include <caf/exit_reason.hpp>
#include <caf/result.hpp>

#include <utility>
#include <vector>

namespace crust {

namespace {

using self_pointer
  = bootstrap_cache_actor::stateful_pointer<bootstrap_cache_state>;

int64_t unix_ms(cache_entry::time_point t) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

cached_peer to_message(const cache_entry& entry) {
  cached_peer out;
  out.peer = entry.id;
  for (const auto& ep : entry.endpoints)
    out.endpoints.push_back(ep.to_string());
  out.last_seen_ms = unix_ms(entry.last_seen);
  return out;
}

std::vector<endpoint> parse_endpoints(const std::vector<std::string>& texts) {
  std::vector<endpoint> out;
  for (const auto& text : texts)
    if (auto ep = endpoint::parse(text))
      out.push_back(*ep);
  return out;
}

/// Blocking file I/O in an event-based actor: the file is small (at most a
/// few hundred entries) and written at most once per flush delay.
caf::error save(self_pointer self) {
  auto& st = self->state;
  st.dirty = false;
  if (st.config.path.empty())
    return caf::error{};
  if (auto res = save_bootstrap_cache_file(st.config.path, st.cache.entries());
      !res) {
    log::warn("bootstrap cache: {}", res.error().message());
    return to_error(res.error());
  }
  return caf::error{};
}

void mark_dirty(self_pointer self) {
  auto& st = self->state;
  st.dirty = true;
  if (st.flush_armed || st.config.path.empty())
    return;
  st.flush_armed = true;
  self->delayed_send(self, st.config.flush_delay, atom::flush_v);
}

/// Pings stale entries (up to the cap at once): live ones become fresh,
/// dead ones are dropped.
void revalidate(self_pointer self) {
  auto& st = self->state;
  if (!st.config.pinger)
    return;
  for (const auto& entry :
       st.cache.stale(st.config.wall_clock(),
                      std::chrono::duration_cast<std::chrono::milliseconds>(
                        st.config.max_age))) {
    if (st.pinging.size() >= st.config.max_pings)
      break;
    if (!st.pinging.insert(entry.id).second)
      continue;
    auto id = entry.id;
    auto done = [self, id](bool alive) {
      auto& s = self->state;
      s.pinging.erase(id);
      auto changed = alive ? s.cache.touch(id, s.config.wall_clock())
                           : s.cache.remove(id);
      if (!alive && changed)
        log::info("bootstrap cache: dropped {}: no answer", id.short_hex());
      if (changed)
        mark_dirty(self);
    };
    self
      ->request(st.config.pinger, st.config.ping_timeout, atom::ping_v,
                to_message(entry))
      .then(
        [done](bool alive) {
          done(alive);
        },
        [done](const caf::error&) {
          done(false);
        });
  }
}

} // namespace

bootstrap_cache_actor::behavior_type bootstrap_cache_keeper(
  bootstrap_cache_actor::stateful_pointer<bootstrap_cache_state> self,
  bootstrap_cache_config config) {
  auto fail = [self](std::string detail) {
    self->quit(to_error(
      failure{errc::invalid_config, "bootstrap cache: " + std::move(detail)}));
    return bootstrap_cache_actor::behavior_type::make_empty_behavior();
  };
  if (config.capacity == 0)
    return fail("the capacity must be positive");
  if (config.max_age <= caf::timespan{0}
      || config.revalidate_interval <= caf::timespan{0}
      || config.ping_timeout <= caf::timespan{0}
      || config.flush_delay <= caf::timespan{0})
    return fail("durations must be positive");
  if (config.max_pings == 0)
    return fail("the ping cap must be positive");
  if (!config.wall_clock)
    return fail("no wall clock");
  auto& st = self->state;
  st.config = std::move(config);
  st.cache = bootstrap_cache{st.config.capacity};
  if (!st.config.path.empty()) {
    auto loaded = load_bootstrap_cache_file(st.config.path, st.config.capacity,
                                            st.config.wall_clock());
    if (!loaded.warning.empty()) {
      st.load_warning = loaded.warning;
      log::warn("bootstrap cache: {}", loaded.warning);
    }
    for (const auto& entry : loaded.entries)
      st.cache.append(entry);
    log::debug("bootstrap cache: {} peer(s) from {}", st.cache.size(),
               st.config.path);
  }
  if (st.config.pinger)
    self->delayed_send(self, st.config.revalidate_interval, atom::tick_v);
  // Unsaved changes are written before the actor ends.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    if (self->state.dirty)
      save(self);
    self->quit(msg.reason);
  });
  return {
    [self](atom::put, const peer_id& peer,
           const std::vector<std::string>& endpoints) {
      auto& s = self->state;
      if (s.cache.add(peer, parse_endpoints(endpoints), peer_origin::direct,
                      s.config.wall_clock()))
        mark_dirty(self);
    },
    [self](atom::remove, const peer_id& peer) {
      if (self->state.cache.remove(peer))
        mark_dirty(self);
    },
    [self](atom::get, atom::peers) {
      std::vector<cached_peer> out;
      for (const auto& entry : self->state.cache.entries())
        out.push_back(to_message(entry));
      return out;
    },
    [self](atom::save) -> caf::result<uint64_t> {
      if (auto err = save(self))
        return err;
      return static_cast<uint64_t>(self->state.cache.size());
    },
    [self](atom::tick) {
      self->delayed_send(self, self->state.config.revalidate_interval,
                         atom::tick_v);
      revalidate(self);
    },
    [self](atom::flush) {
      auto& s = self->state;
      s.flush_armed = false;
      if (s.dirty)
        save(self);
    },
  };
}

} // namespace crust

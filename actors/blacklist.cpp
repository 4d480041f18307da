#include "crust/actors/blacklist.hpp"

#include "crust/messages/log.hpp"
#include "crust/transport/atomic_file.hpp"
#include "crust/transport/codec/endpoint.hpp"
#include "crust/transport/fd_guard.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/result.hpp>
#include <caf/sec.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace crust {

namespace {

using time_point = blacklist_state::time_point;
using deadline = blacklist_state::deadline;
using json = nlohmann::json;

/// Name of the file format in the "format" key.
constexpr std::string_view file_format = "crust-blacklist";

/// Version of the file format.
constexpr int64_t file_version = 1;

/// A larger file is refused before it is read.
constexpr off_t max_file_size = 16 * 1024 * 1024;

// -- errors (one place, so that dedicated codes can replace these) -----------

/// A bad expiry or file path: the caller's argument is invalid.
caf::error bad_argument(std::string detail) {
  return to_error(failure{errc::invalid_config, std::move(detail)});
}

/// A blacklist file that cannot be opened, read or written.
caf::error file_error(const std::string& what, const std::string& path,
                      int err) {
  return caf::make_error(caf::sec::cannot_open_file,
                         "blacklist file: cannot " + what + " " + path + ": "
                           + std::strerror(err));
}

/// A blacklist file whose content is not a valid blacklist.
caf::error corrupt_file(const std::string& path, const std::string& detail) {
  return to_error(
    failure{errc::malformed_message, "blacklist file " + path + ": " + detail});
}

// -- ban maps ---------------------------------------------------------------

template<class Map, class Key>
bool merge_ban(Map& bans, const Key& key, deadline until, time_point now,
               bool& extended) {
  extended = false;
  auto i = bans.find(key);
  if (i == bans.end() || !blacklist_state::in_force(i->second, now)) {
    bans.insert_or_assign(key, until);
    extended = until.has_value();
    return true;
  }
  auto& current = i->second;
  if (!current) // a session ban stays one
    return false;
  if (!until) {
    current = std::nullopt;
    return false;
  }
  if (*until > *current) {
    current = until;
    extended = true;
  }
  return false;
}

template<class Map, class Key>
bool erase_ban(Map& bans, const Key& key, time_point now) {
  auto i = bans.find(key);
  if (i == bans.end())
    return false;
  auto was_in_force = blacklist_state::in_force(i->second, now);
  bans.erase(i);
  return was_in_force;
}

template<class Map, class Key>
bool find_ban(const Map& bans, const Key& key, time_point now) {
  auto i = bans.find(key);
  return i != bans.end() && blacklist_state::in_force(i->second, now);
}

template<class Map, class Key>
bool expire_ban(Map& bans, const Key& key, time_point now) {
  auto i = bans.find(key);
  if (i == bans.end() || blacklist_state::in_force(i->second, now))
    return false;
  bans.erase(i);
  return true;
}

// -- applying bans ------------------------------------------------------------

using self_pointer = blacklist_actor::stateful_pointer<blacklist_state>;

/// Bans not yet applied: what one request asks for.
struct pending_bans {
  std::vector<std::pair<peer_id, deadline>> peers;
  std::vector<std::pair<std::string, deadline>> addresses;
};

/// Applies `todo` at once, arms expiry timers, tells every subscriber about
/// the newly banned in one message and returns them.
ban_set apply_bans(self_pointer self, const pending_bans& todo) {
  auto& st = self->state;
  auto now = self->clock().now();
  ban_set fresh;
  auto arm = [&](const deadline& until, const auto& key) {
    // Re-checked on arrival: a later re-ban may have moved the deadline.
    self->delayed_send(self, *until - now, atom::expire_v, key);
  };
  for (const auto& [id, until] : todo.peers) {
    bool extended = false;
    if (st.ban(id, until, now, extended))
      fresh.peers.emplace_back(id);
    if (extended)
      arm(until, id);
  }
  for (const auto& [addr, until] : todo.addresses) {
    bool extended = false;
    if (st.ban(addr, until, now, extended))
      fresh.addresses.emplace_back(addr);
    if (extended)
      arm(until, addr);
  }
  std::sort(fresh.peers.begin(), fresh.peers.end());
  std::sort(fresh.addresses.begin(), fresh.addresses.end());
  if (fresh.empty())
    return fresh;
  log::info("blacklist: banned {} peer(s) and {} address(es)",
            fresh.peers.size(), fresh.addresses.size());
  for (const auto& sink : st.subscribers)
    self->send(sink, atom::banned_v, fresh);
  return fresh;
}

/// Checks a ban expiry from a request: none or positive.
caf::error check_ttl(caf::timespan ttl) {
  if (ttl > caf::timespan::zero())
    return caf::error{};
  return bad_argument("ban expiry must be positive, got "
                      + std::to_string(ttl.count()) + "ns");
}

caf::result<ban_set> ban_peers(self_pointer self,
                               const std::vector<peer_id>& ids,
                               std::optional<caf::timespan> ttl) {
  if (ttl)
    if (auto err = check_ttl(*ttl))
      return err;
  auto until = blacklist_state::deadline_after(self->clock().now(), ttl);
  pending_bans todo;
  todo.peers.reserve(ids.size());
  for (const auto& id : ids) {
    if (id.is_zero())
      return to_error(
        failure{errc::bad_peer_id, "the zero peer id names no node"});
    todo.peers.emplace_back(id, until);
  }
  return apply_bans(self, todo);
}

caf::result<ban_set> ban_address(self_pointer self, const std::string& text,
                                 std::optional<caf::timespan> ttl) {
  if (ttl)
    if (auto err = check_ttl(*ttl))
      return err;
  auto addr = canonical_address(text);
  if (!addr)
    return to_error(addr.error());
  pending_bans todo;
  todo.addresses.emplace_back(std::move(*addr), blacklist_state::deadline_after(
                                                  self->clock().now(), ttl));
  return apply_bans(self, todo);
}

// -- files
// ----------------------------------------------------------------------

/// Reads the whole regular file at `path` (at most `max_file_size` bytes).
caf::expected<std::string> read_file(const std::string& path) {
  fd_guard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.get() < 0)
    return file_error("open", path, errno);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0)
    return file_error("stat", path, errno);
  if (!S_ISREG(info.st_mode))
    return corrupt_file(path, "not a regular file");
  if (info.st_size > max_file_size)
    return corrupt_file(path, "larger than " + std::to_string(max_file_size)
                                + " bytes");
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return file_error("read", path, errno);
    if (n == 0)
      return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > static_cast<size_t>(max_file_size))
      return corrupt_file(path, "larger than " + std::to_string(max_file_size)
                                  + " bytes");
  }
}

/// Replaces the file at `path` with `content` atomically
/// (transport/atomic_file.hpp).
caf::error write_file_atomically(const std::string& path,
                                 const std::string& content) {
  if (path.empty())
    return bad_argument("empty blacklist file path");
  if (auto err = replace_file_atomically(path, content))
    return file_error(err->step, path, err->code);
  return caf::error{};
}

/// Milliseconds since the Unix epoch.
int64_t unix_ms(std::chrono::system_clock::time_point t) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

/// One entry of the file: `{"peer": "<hex>"}` or `{"address": "<ip>"}`,
/// plus `"expires_at_ms"` (Unix milliseconds) unless it is a session ban.
json to_json_entry(const char* key, std::string value, const deadline& until,
                   time_point now, int64_t wall_now_ms) {
  json out = json::object();
  out[key] = std::move(value);
  if (until) {
    // Rounded up: saving never shortens a ban.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*until - now);
    out["expires_at_ms"] = wall_now_ms + left.count();
  }
  return out;
}

/// The bans in force at `now` as the JSON file content.
std::string to_file(const blacklist_state& st, time_point now,
                    int64_t wall_now_ms, uint64_t& count) {
  json peers = json::array();
  for (const auto& [id, until] : st.peers)
    if (blacklist_state::in_force(until, now))
      peers.push_back(
        to_json_entry("peer", id.to_hex(), until, now, wall_now_ms));
  json addresses = json::array();
  for (const auto& [addr, until] : st.addresses)
    if (blacklist_state::in_force(until, now))
      addresses.push_back(
        to_json_entry("address", addr, until, now, wall_now_ms));
  count = peers.size() + addresses.size();
  json doc = json::object();
  doc["format"] = file_format;
  doc["version"] = file_version;
  doc["peers"] = std::move(peers);
  doc["addresses"] = std::move(addresses);
  return doc.dump(2) + "\n";
}

/// The expiry of a file entry as a deadline at `now`; `skip` is set if the
/// ban expired while it was on disk.
caf::expected<deadline>
entry_deadline(const json& entry, time_point now, int64_t wall_now_ms,
               bool& skip, const std::string& path, const std::string& where) {
  skip = false;
  auto i = entry.find("expires_at_ms");
  if (i == entry.end())
    return deadline{};
  if (!i->is_number_integer()
      || (i->is_number_unsigned()
          && i->get<uint64_t>()
               > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())))
    return corrupt_file(path, where
                                + ": \"expires_at_ms\" is not an integer "
                                  "of milliseconds");
  auto at = i->get<int64_t>();
  if (at <= wall_now_ms) {
    skip = true;
    return deadline{};
  }
  int64_t left_ms = 0;
  if (__builtin_sub_overflow(at, wall_now_ms, &left_ms))
    left_ms = std::numeric_limits<int64_t>::max();
  // Beyond what a timespan counts: for as long as the clock counts at all.
  constexpr int64_t max_ms = caf::timespan::max().count() / 1000000;
  auto ttl = left_ms > max_ms
               ? caf::timespan::max()
               : caf::timespan{std::chrono::milliseconds{left_ms}};
  return blacklist_state::deadline_after(now, ttl);
}

/// Parses and validates a whole file before anything is applied.
caf::expected<pending_bans> parse_file(const std::string& content,
                                       const std::string& path, time_point now,
                                       int64_t wall_now_ms) {
  json doc = json::parse(content, nullptr, false);
  if (doc.is_discarded())
    return corrupt_file(path, "not valid JSON");
  if (!doc.is_object())
    return corrupt_file(path, "not a JSON object");
  auto format = doc.find("format");
  if (format == doc.end() || !format->is_string()
      || format->get<std::string>() != file_format)
    return corrupt_file(path, "\"format\" is not \"crust-blacklist\"");
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer())
    return corrupt_file(path, "\"version\" is missing");
  if (version->get<int64_t>() != file_version)
    return corrupt_file(path, "unsupported version "
                                + std::to_string(version->get<int64_t>()));
  pending_bans out;
  // Visits the array `key` (may be absent): every element an object whose
  // `field` is a string, handed to `add` with its deadline.
  auto each = [&](const char* key, const char* field, auto add) -> caf::error {
    auto arr = doc.find(key);
    if (arr == doc.end())
      return caf::error{};
    if (!arr->is_array())
      return corrupt_file(path, std::string{"\""} + key + "\" is not an array");
    for (size_t n = 0; n < arr->size(); ++n) {
      const auto& entry = (*arr)[n];
      auto where = std::string{key} + "[" + std::to_string(n) + "]";
      if (!entry.is_object())
        return corrupt_file(path, where + " is not an object");
      auto value = entry.find(field);
      if (value == entry.end() || !value->is_string())
        return corrupt_file(path,
                            where + ": \"" + field + "\" is not a string");
      bool skip = false;
      auto until = entry_deadline(entry, now, wall_now_ms, skip, path, where);
      if (!until)
        return std::move(until.error());
      if (auto err = add(value->get<std::string>(), *until, skip, where))
        return err;
    }
    return caf::error{};
  };
  auto add_peer = [&](const std::string& hex, const deadline& until, bool skip,
                      const std::string& where) -> caf::error {
    auto id = peer_id::parse(hex);
    if (!id)
      return corrupt_file(path, where + ": " + id.error().message());
    if (id->is_zero())
      return corrupt_file(path, where + ": the zero peer id names no node");
    if (!skip)
      out.peers.emplace_back(*id, until);
    return caf::error{};
  };
  auto add_address = [&](const std::string& written, const deadline& until,
                         bool skip, const std::string& where) -> caf::error {
    auto addr = canonical_address(written);
    if (!addr)
      return corrupt_file(path, where + ": " + addr.error().message());
    if (!skip)
      out.addresses.emplace_back(std::move(*addr), until);
    return caf::error{};
  };
  if (auto err = each("peers", "peer", add_peer))
    return err;
  if (auto err = each("addresses", "address", add_address))
    return err;
  return out;
}

} // namespace

// -- addresses
// ------------------------------------------------------------------

expected<std::string> canonical_address(std::string_view text) {
  auto ip = ip_address::parse(text);
  if (!ip)
    return ip.error();
  if (ip->is_v6()) {
    const auto* bytes = ip->data();
    auto v4_mapped = std::all_of(bytes, bytes + 10,
                                 [](uint8_t b) {
                                   return b == 0;
                                 })
                     && bytes[10] == 0xff && bytes[11] == 0xff;
    if (v4_mapped)
      return ip_address::v4({bytes[12], bytes[13], bytes[14], bytes[15]})
        .to_string();
  }
  return ip->to_string();
}

// -- blacklist_state ----------------------------------------------------------

blacklist_state::deadline
blacklist_state::deadline_after(time_point now,
                                std::optional<caf::timespan> ttl) noexcept {
  if (!ttl)
    return std::nullopt;
  if (*ttl >= time_point::max() - now)
    return std::nullopt;
  return now + *ttl;
}

bool blacklist_state::ban(const peer_id& id, deadline until, time_point now,
                          bool& extended) {
  return merge_ban(peers, id, until, now, extended);
}

bool blacklist_state::ban(const std::string& addr, deadline until,
                          time_point now, bool& extended) {
  return merge_ban(addresses, addr, until, now, extended);
}

bool blacklist_state::unban(const peer_id& id, time_point now) {
  return erase_ban(peers, id, now);
}

bool blacklist_state::unban(const std::string& addr, time_point now) {
  return erase_ban(addresses, addr, now);
}

bool blacklist_state::is_banned(const peer_id& id, time_point now) const {
  return find_ban(peers, id, now);
}

bool blacklist_state::is_banned(const std::string& addr, time_point now) const {
  return find_ban(addresses, addr, now);
}

bool blacklist_state::expire(const peer_id& id, time_point now) {
  return expire_ban(peers, id, now);
}

bool blacklist_state::expire(const std::string& addr, time_point now) {
  return expire_ban(addresses, addr, now);
}

ban_list blacklist_state::list(time_point now) const {
  ban_list out;
  auto left = [&](const deadline& until) {
    return until ? caf::timespan{*until - now} : caf::timespan::zero();
  };
  for (const auto& [id, until] : peers)
    if (in_force(until, now))
      out.peers.push_back(peer_ban{id, until.has_value(), left(until)});
  for (const auto& [addr, until] : addresses)
    if (in_force(until, now))
      out.addresses.push_back(
        address_ban{addr, until.has_value(), left(until)});
  return out;
}

bool blacklist_state::add_subscriber(const blacklist_sink_actor& sink) {
  auto addr = sink.address();
  auto known = std::any_of(subscribers.begin(), subscribers.end(),
                           [&](const auto& x) {
                             return x.address() == addr;
                           });
  if (known)
    return false;
  subscribers.emplace_back(sink);
  return true;
}

bool blacklist_state::drop_subscriber(const caf::actor_addr& addr) {
  auto i = std::remove_if(subscribers.begin(), subscribers.end(),
                          [&](const auto& x) {
                            return x.address() == addr;
                          });
  if (i == subscribers.end())
    return false;
  subscribers.erase(i, subscribers.end());
  return true;
}

// -- the actor
// ------------------------------------------------------------------

blacklist_actor::behavior_type
blacklist(blacklist_actor::stateful_pointer<blacklist_state> self,
          blacklist_config config) {
  if (!config.wall_clock) {
    self->quit(to_error(
      failure{errc::invalid_config, "blacklist: no wall clock configured"}));
    return blacklist_actor::behavior_type::make_empty_behavior();
  }
  self->state.wall_clock = std::move(config.wall_clock);
  self->set_down_handler([self](caf::down_msg& dm) {
    if (self->state.drop_subscriber(dm.source))
      log::debug("blacklist: dropped a subscriber that went down");
  });
  return {
    [self](atom::ban, const std::vector<peer_id>& ids) {
      return ban_peers(self, ids, std::nullopt);
    },
    [self](atom::ban, const std::vector<peer_id>& ids, caf::timespan ttl) {
      return ban_peers(self, ids, ttl);
    },
    [self](atom::ban, const std::string& addr) {
      return ban_address(self, addr, std::nullopt);
    },
    [self](atom::ban, const std::string& addr, caf::timespan ttl) {
      return ban_address(self, addr, ttl);
    },
    [self](atom::unban, const peer_id& id) {
      return self->state.unban(id, self->clock().now());
    },
    [self](atom::unban, const std::string& text) -> caf::result<bool> {
      auto addr = canonical_address(text);
      if (!addr)
        return to_error(addr.error());
      return self->state.unban(*addr, self->clock().now());
    },
    [self](atom::is_banned, const peer_id& id) {
      return self->state.is_banned(id, self->clock().now());
    },
    [self](atom::is_banned, const std::string& text) -> caf::result<bool> {
      auto addr = canonical_address(text);
      if (!addr)
        return to_error(addr.error());
      return self->state.is_banned(*addr, self->clock().now());
    },
    [self](atom::list) {
      return self->state.list(self->clock().now());
    },
    [self](atom::subscribe, const blacklist_sink_actor& sink) {
      if (sink && self->state.add_subscriber(sink))
        self->monitor(sink);
    },
    [self](atom::unsubscribe, const blacklist_sink_actor& sink) {
      if (sink && self->state.drop_subscriber(sink.address()))
        self->demonitor(sink.address());
    },
    // Blocking file I/O inside an event-based actor is acceptable only
    // because save and load are explicit, rare user requests on a small file;
    // nothing on the connection path ever waits for them.
    [self](atom::save, const std::string& path) -> caf::result<uint64_t> {
      auto& st = self->state;
      uint64_t count = 0;
      auto content = to_file(st, self->clock().now(), unix_ms(st.wall_clock()),
                             count);
      if (auto err = write_file_atomically(path, content))
        return err;
      log::info("blacklist: saved {} ban(s) to {}", count, path);
      return count;
    },
    [self](atom::load, const std::string& path) -> caf::result<ban_set> {
      auto text = read_file(path);
      if (!text)
        return std::move(text.error());
      auto todo = parse_file(*text, path, self->clock().now(),
                             unix_ms(self->state.wall_clock()));
      if (!todo)
        return std::move(todo.error());
      log::info("blacklist: loading {} ban(s) from {}",
                todo->peers.size() + todo->addresses.size(), path);
      return apply_bans(self, *todo);
    },
    [self](atom::expire, const peer_id& id) {
      if (self->state.expire(id, self->clock().now()))
        log::info("blacklist: ban of peer {} expired", id.short_hex());
    },
    [self](atom::expire, const std::string& addr) {
      if (self->state.expire(addr, self->clock().now()))
        log::info("blacklist: ban of address {} expired", addr);
    },
  };
}

} // namespace crust

#include "crust/actors/blacklist.hpp"
#include "crust/messages/ban.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/type_ids.hpp"

#include "support/deterministic_fixture.hpp"

#include <caf/deep_to_string.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace crust;

namespace fs = std::filesystem;

namespace crust {

// For BOOST_CHECK_EQUAL.
std::ostream& operator<<(std::ostream& out, const ban_set& x) {
  return out << caf::deep_to_string(x);
}

} // namespace crust

namespace {

/// A BLACKLIST SINK that keeps every notification it receives.
struct sink_state {
  static inline const char* name = "ban_sink";
  std::vector<ban_set> seen;
};

blacklist_sink_actor::behavior_type
ban_sink(blacklist_sink_actor::stateful_pointer<sink_state> self,
         size_t expected) {
  self->state.seen.reserve(expected);
  return {
    [self](atom::banned, const ban_set& x) {
      self->state.seen.push_back(x);
    },
  };
}

std::vector<ban_set>& seen_by(const blacklist_sink_actor& hdl) {
  auto ptr = caf::actor_cast<caf::abstract_actor*>(hdl);
  return dynamic_cast<blacklist_sink_actor::stateful_base<sink_state>&>(*ptr)
    .state.seen;
}

blacklist_state& state_of(const blacklist_actor& hdl) {
  auto ptr = caf::actor_cast<caf::abstract_actor*>(hdl);
  return dynamic_cast<blacklist_actor::stateful_base<blacklist_state>&>(*ptr)
    .state;
}

/// A peer id whose bytes are all `n`.
peer_id pid(uint8_t n) {
  peer_id::bytes_type bytes{};
  bytes.fill(n);
  return peer_id{bytes};
}

using peers = std::vector<peer_id>;

/// A wall clock the test moves by hand.
struct fake_wall_clock {
  std::shared_ptr<std::chrono::system_clock::time_point> now
    = std::make_shared<std::chrono::system_clock::time_point>(
      std::chrono::system_clock::time_point{} + 24h * 20000);

  blacklist_config config() const {
    blacklist_config cfg;
    cfg.wall_clock = [t = now] {
      return *t;
    };
    return cfg;
  }
};

/// The deterministic fixture plus a blacklist with a fake wall clock and a
/// scratch directory removed at the end.
struct blacklist_fixture : test::deterministic_fixture {
  fake_wall_clock wall;
  blacklist_actor bl;
  std::string dir;

  blacklist_fixture() {
    bl = sys.spawn(blacklist, wall.config());
    char tmpl[] = "/tmp/crust-blacklist-XXXXXX";
    auto ptr = ::mkdtemp(tmpl);
    BOOST_REQUIRE(ptr != nullptr);
    dir = ptr;
  }

  ~blacklist_fixture() {
    caf::anon_send_exit(bl, caf::exit_reason::user_shutdown);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  std::string path(const std::string& name) const {
    return dir + "/" + name;
  }

  void write(const std::string& name, const std::string& content) {
    std::ofstream out{path(name), std::ios::binary | std::ios::trunc};
    out << content;
  }

  std::string read(const std::string& name) {
    std::ifstream in{path(name), std::ios::binary};
    return std::string{std::istreambuf_iterator<char>{in},
                       std::istreambuf_iterator<char>{}};
  }

  blacklist_sink_actor subscribe() {
    auto sink = sys.spawn(ban_sink, size_t{4});
    self->send(bl, atom::subscribe_v, sink);
    dispatch();
    return sink;
  }

  bool banned(const peer_id& id) {
    return request<bool>(bl, atom::is_banned_v, id);
  }

  bool banned(const std::string& addr) {
    return request<bool>(bl, atom::is_banned_v, addr);
  }

  /// The error a request fails with (the fixture's `request_error` takes
  /// untyped handles only).
  template<class Handle, class... Ts>
  caf::error error_of(const Handle& hdl, Ts&&... xs) {
    return request_error(caf::actor_cast<caf::actor>(hdl),
                         std::forward<Ts>(xs)...);
  }

  /// Rendered error of a request that must fail.
  template<class... Ts>
  std::string failure_of(Ts&&... xs) {
    auto err = error_of(bl, std::forward<Ts>(xs)...);
    BOOST_REQUIRE_MESSAGE(err, "request succeeded");
    return sys.render(err);
  }

  /// Names in `dir`.
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator{dir})
      out.push_back(entry.path().filename().string());
    return out;
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(blacklist_suite, blacklist_fixture)

BOOST_AUTO_TEST_CASE(ban_makes_a_peer_banned_for_the_session) {
  BOOST_CHECK(!banned(pid(1)));
  auto fresh = request<ban_set>(bl, atom::ban_v, peers{pid(1)});
  BOOST_CHECK_EQUAL(fresh, (ban_set{{pid(1)}, {}}));
  BOOST_CHECK(banned(pid(1)));
  BOOST_CHECK(!banned(pid(2)));
  // Banning again bans nobody new.
  BOOST_CHECK(request<ban_set>(bl, atom::ban_v, peers{pid(1)}).empty());
  // A session ban never expires and arms no timer.
  BOOST_CHECK(!sched.has_pending_timeout());
  advance_time(24h * 365);
  BOOST_CHECK(banned(pid(1)));
  auto all = request<ban_list>(bl, atom::list_v);
  BOOST_REQUIRE_EQUAL(all.peers.size(), 1u);
  BOOST_CHECK_EQUAL(all.peers[0].peer, pid(1));
  BOOST_CHECK(!all.peers[0].expires);
  BOOST_CHECK(all.addresses.empty());
}

BOOST_AUTO_TEST_CASE(ban_expires_exactly_at_its_ttl) {
  request<ban_set>(bl, atom::ban_v, peers{pid(1)}, caf::timespan{30s});
  BOOST_CHECK(banned(pid(1)));
  advance_time(30s - 1ms);
  BOOST_CHECK(banned(pid(1)));
  auto all = request<ban_list>(bl, atom::list_v);
  BOOST_REQUIRE_EQUAL(all.peers.size(), 1u);
  BOOST_CHECK(all.peers[0].expires);
  BOOST_CHECK(all.peers[0].remaining == caf::timespan{1ms});
  BOOST_CHECK_EQUAL(advance_time(1ms), 1u);
  BOOST_CHECK(!banned(pid(1)));
  // The timer removed the entry, not just hid it.
  BOOST_CHECK(state_of(bl).peers.empty());
  BOOST_CHECK(request<ban_list>(bl, atom::list_v).peers.empty());
}

BOOST_AUTO_TEST_CASE(a_due_ban_counts_as_lifted_before_its_timer_arrives) {
  request<ban_set>(bl, atom::ban_v, peers{pid(1)}, caf::timespan{30s});
  // Move the clock without firing timers.
  sched.clock().current_time += 30s;
  BOOST_CHECK(!banned(pid(1)));
  BOOST_CHECK(request<ban_list>(bl, atom::list_v).peers.empty());
  // A new ban of the same peer is a new ban, and the stale timer (due now)
  // does not cut it short.
  auto fresh = request<ban_set>(bl, atom::ban_v, peers{pid(1)},
                                caf::timespan{10s});
  BOOST_CHECK_EQUAL(fresh.peers.size(), 1u);
  advance_time(10s - 1ns);
  BOOST_CHECK(banned(pid(1)));
  advance_time(1ns);
  BOOST_CHECK(!banned(pid(1)));
}

BOOST_AUTO_TEST_CASE(reban_extends_and_never_shortens) {
  request<ban_set>(bl, atom::ban_v, peers{pid(1)}, caf::timespan{30s});
  advance_time(10s);
  // Re-ban for 60 s from now: ends at 70 s, not 30 s.
  auto fresh = request<ban_set>(bl, atom::ban_v, peers{pid(1)},
                                caf::timespan{60s});
  BOOST_CHECK(fresh.empty());
  // A shorter re-ban changes nothing.
  request<ban_set>(bl, atom::ban_v, peers{pid(1)}, caf::timespan{5s});
  advance_time(20s); // t = 30 s: the first timer fires and is ignored
  BOOST_CHECK(banned(pid(1)));
  auto all = request<ban_list>(bl, atom::list_v);
  BOOST_REQUIRE_EQUAL(all.peers.size(), 1u);
  BOOST_CHECK(all.peers[0].remaining == caf::timespan{40s});
  advance_time(40s - 1ms);
  BOOST_CHECK(banned(pid(1)));
  advance_time(1ms);
  BOOST_CHECK(!banned(pid(1)));
  // A session ban stays one when re-banned with a ttl; a timed ban becomes
  // a session ban when re-banned without one.
  request<ban_set>(bl, atom::ban_v, peers{pid(2)});
  request<ban_set>(bl, atom::ban_v, peers{pid(2)}, caf::timespan{1s});
  request<ban_set>(bl, atom::ban_v, peers{pid(3)}, caf::timespan{1s});
  request<ban_set>(bl, atom::ban_v, peers{pid(3)});
  advance_time(1h);
  BOOST_CHECK(banned(pid(2)));
  BOOST_CHECK(banned(pid(3)));
}

BOOST_AUTO_TEST_CASE(unban_lifts_a_ban) {
  request<ban_set>(bl, atom::ban_v, peers{pid(1)}, caf::timespan{10s});
  BOOST_CHECK(request<bool>(bl, atom::unban_v, pid(1)));
  BOOST_CHECK(!banned(pid(1)));
  BOOST_CHECK(!request<bool>(bl, atom::unban_v, pid(1)));
  // The timer of the lifted ban must not end a later session ban.
  auto fresh = request<ban_set>(bl, atom::ban_v, peers{pid(1)});
  BOOST_CHECK_EQUAL(fresh.peers.size(), 1u);
  advance_time(10s);
  BOOST_CHECK(banned(pid(1)));
  BOOST_CHECK(request<bool>(bl, atom::unban_v, pid(1)));
  BOOST_CHECK(!banned(pid(1)));
  // Addresses, in any spelling.
  request<ban_set>(bl, atom::ban_v, std::string{"2001:db8::7"});
  BOOST_CHECK(request<bool>(bl, atom::unban_v, std::string{"2001:DB8:0::7"}));
  BOOST_CHECK(!banned(std::string{"2001:db8::7"}));
}

BOOST_AUTO_TEST_CASE(bulk_ban_sends_one_notification_with_every_peer) {
  auto sink = subscribe();
  auto other = subscribe();
  auto fresh = request<ban_set>(bl, atom::ban_v, peers{pid(3), pid(1), pid(2)},
                                caf::timespan{1min});
  // Sorted, complete, and the same set the subscribers are told.
  BOOST_CHECK_EQUAL(fresh, (ban_set{{pid(1), pid(2), pid(3)}, {}}));
  dispatch();
  BOOST_REQUIRE_EQUAL(seen_by(sink).size(), 1u);
  BOOST_CHECK_EQUAL(seen_by(sink)[0], fresh);
  BOOST_REQUIRE_EQUAL(seen_by(other).size(), 1u);
  BOOST_CHECK_EQUAL(seen_by(other)[0], fresh);
  for (uint8_t n = 1; n <= 3; ++n)
    BOOST_CHECK(banned(pid(n)));
  // Only the newly banned are reported; duplicates count once.
  fresh = request<ban_set>(bl, atom::ban_v, peers{pid(2), pid(4), pid(4)});
  BOOST_CHECK_EQUAL(fresh, (ban_set{{pid(4)}, {}}));
  dispatch();
  BOOST_REQUIRE_EQUAL(seen_by(sink).size(), 2u);
  BOOST_CHECK_EQUAL(seen_by(sink)[1], fresh);
  // Nothing new, no notification; nor for an empty request.
  request<ban_set>(bl, atom::ban_v, peers{pid(1), pid(4)});
  request<ban_set>(bl, atom::ban_v, peers{});
  dispatch();
  BOOST_CHECK_EQUAL(seen_by(sink).size(), 2u);
  // A subscriber subscribes once; after unsubscribing it hears nothing.
  self->send(bl, atom::subscribe_v, sink);
  self->send(bl, atom::unsubscribe_v, other);
  dispatch();
  BOOST_CHECK_EQUAL(state_of(bl).subscribers.size(), 1u);
  request<ban_set>(bl, atom::ban_v, std::string{"192.0.2.9"});
  dispatch();
  BOOST_REQUIRE_EQUAL(seen_by(sink).size(), 3u);
  BOOST_CHECK_EQUAL(seen_by(sink)[2], (ban_set{{}, {"192.0.2.9"}}));
  BOOST_CHECK_EQUAL(seen_by(other).size(), 2u); // nothing since unsubscribing
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_zero_peer_id_refuses_the_whole_request) {
  auto sink = subscribe();
  auto text = failure_of(atom::ban_v, peers{pid(1), peer_id{}});
  BOOST_CHECK_MESSAGE(contains(text, "zero peer id"), text);
  BOOST_CHECK(!banned(pid(1)));
  dispatch();
  BOOST_CHECK(seen_by(sink).empty());
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(address_bans_v4_and_v6_in_canonical_form) {
  auto fresh = request<ban_set>(bl, atom::ban_v, std::string{"192.0.2.1"});
  BOOST_CHECK_EQUAL(fresh, (ban_set{{}, {"192.0.2.1"}}));
  BOOST_CHECK(banned(std::string{"192.0.2.1"}));
  BOOST_CHECK(!banned(std::string{"192.0.2.2"}));
  // A dual-stack socket reports an IPv4 peer as IPv4-mapped IPv6.
  BOOST_CHECK(banned(std::string{"::ffff:192.0.2.1"}));
  BOOST_CHECK(banned(std::string{"::FFFF:c000:0201"}));
  // The same IPv6 address written three ways is one ban.
  fresh = request<ban_set>(
    bl, atom::ban_v, std::string{"2001:0DB8:0000:0000:0000:0000:0000:0001"},
    caf::timespan{1min});
  BOOST_CHECK_EQUAL(fresh, (ban_set{{}, {"2001:db8::1"}}));
  BOOST_CHECK(banned(std::string{"2001:db8::1"}));
  BOOST_CHECK(banned(std::string{"2001:db8:0:0::0:1"}));
  BOOST_CHECK(
    request<ban_set>(bl, atom::ban_v, std::string{"2001:db8::0:1"}).empty());
  BOOST_CHECK(!banned(std::string{"2001:db8::2"}));
  BOOST_CHECK(!banned(std::string{"::1"}));
  auto all = request<ban_list>(bl, atom::list_v);
  BOOST_REQUIRE_EQUAL(all.addresses.size(), 2u);
  BOOST_CHECK_EQUAL(all.addresses[0].address, "192.0.2.1");
  BOOST_CHECK(!all.addresses[0].expires);
  BOOST_CHECK_EQUAL(all.addresses[1].address, "2001:db8::1");
  // The re-ban without ttl made the v6 ban a session ban.
  BOOST_CHECK(!all.addresses[1].expires);
  // Address bans expire exactly at their ttl.
  request<ban_set>(bl, atom::ban_v, std::string{"198.51.100.7"},
                   caf::timespan{5s});
  advance_time(5s - 1ms);
  BOOST_CHECK(banned(std::string{"198.51.100.7"}));
  advance_time(1ms);
  BOOST_CHECK(!banned(std::string{"198.51.100.7"}));
  BOOST_CHECK_EQUAL(state_of(bl).addresses.size(), 2u);
}

BOOST_AUTO_TEST_CASE(bad_addresses_and_expiries_are_refused) {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "192.0.2.1:80",
                          "[::1]", "fe80::1%eth0", "host.example", " 192.0.2.1",
                          "2001:db8:::1", "1.2.3.4/24"}) {
    auto text = failure_of(atom::ban_v, std::string{bad});
    BOOST_CHECK_MESSAGE(contains(text, "malformed address or contact"), text);
    text = failure_of(atom::is_banned_v, std::string{bad});
    BOOST_CHECK_MESSAGE(contains(text, "malformed address or contact"), text);
  }
  // A NUL cannot hide trailing text.
  auto text = failure_of(atom::ban_v, std::string{"1.2.3.4\0junk", 12});
  BOOST_CHECK_MESSAGE(contains(text, "'\\x00' at position 7"), text);
  auto err = error_of(bl, atom::unban_v, std::string{"nope"});
  BOOST_CHECK(err.category() == error_category);
  BOOST_CHECK(err.code() == static_cast<uint8_t>(errc::bad_address));
  // Expiries must be positive.
  text = failure_of(atom::ban_v, peers{pid(1)}, caf::timespan{0});
  BOOST_CHECK_MESSAGE(contains(text, "expiry must be positive"), text);
  text = failure_of(atom::ban_v, std::string{"192.0.2.1"}, caf::timespan{-1s});
  BOOST_CHECK_MESSAGE(contains(text, "expiry must be positive"), text);
  BOOST_CHECK(!banned(pid(1)));
  BOOST_CHECK(request<ban_list>(bl, atom::list_v).addresses.empty());
  // A ttl beyond what the clock counts is a session ban, not an overflow.
  request<ban_set>(bl, atom::ban_v, peers{pid(2)}, caf::timespan::max());
  BOOST_CHECK(banned(pid(2)));
  BOOST_CHECK(!sched.has_pending_timeout());
}

BOOST_AUTO_TEST_CASE(dead_subscriber_is_dropped) {
  auto dead = subscribe();
  auto alive = subscribe();
  BOOST_CHECK_EQUAL(state_of(bl).subscribers.size(), 2u);
  caf::anon_send_exit(dead, caf::exit_reason::kill);
  dispatch(); // the sink dies, the blacklist receives its down message
  BOOST_CHECK_EQUAL(state_of(bl).subscribers.size(), 1u);
  request<ban_set>(bl, atom::ban_v, peers{pid(1)});
  dispatch();
  BOOST_CHECK_EQUAL(seen_by(alive).size(), 1u);
  // A subscriber that dies with a notification under way: no harm either.
  caf::anon_send_exit(alive, caf::exit_reason::kill);
  auto fresh = request<ban_set>(bl, atom::ban_v, peers{pid(2)});
  BOOST_CHECK_EQUAL(fresh.peers.size(), 1u);
  dispatch();
  BOOST_CHECK(state_of(bl).subscribers.empty());
  BOOST_CHECK(banned(pid(2)));
}

BOOST_AUTO_TEST_CASE(save_and_load_round_trip) {
  request<ban_set>(bl, atom::ban_v, peers{pid(1)});
  request<ban_set>(bl, atom::ban_v, peers{pid(2)}, caf::timespan{1h});
  request<ban_set>(bl, atom::ban_v, std::string{"192.0.2.1"},
                   caf::timespan{10min});
  request<ban_set>(bl, atom::ban_v, std::string{"2001:db8::1"});
  request<ban_set>(bl, atom::ban_v, peers{pid(3)}, caf::timespan{1min});
  advance_time(5min); // pid(3) expires
  *wall.now += 5min;
  auto file = path("bans.json");
  BOOST_CHECK_EQUAL(request<uint64_t>(bl, atom::save_v, file), 4u);
  // Atomic write: only the file itself is left behind.
  BOOST_CHECK(files() == std::vector<std::string>{"bans.json"});
  auto content = read("bans.json");
  BOOST_CHECK_MESSAGE(contains(content, "\"crust-blacklist\""), content);
  BOOST_CHECK_MESSAGE(contains(content, pid(1).to_hex()), content);
  BOOST_CHECK_MESSAGE(!contains(content, pid(3).to_hex()), content);
  // Saving again replaces the file.
  BOOST_CHECK_EQUAL(request<uint64_t>(bl, atom::save_v, file), 4u);
  BOOST_CHECK(files() == std::vector<std::string>{"bans.json"});
  // A new session, a minute of wall time later.
  fake_wall_clock wall2;
  *wall2.now = *wall.now + 1min;
  auto bl2 = sys.spawn(blacklist, wall2.config());
  auto sink = sys.spawn(ban_sink, size_t{1});
  self->send(bl2, atom::subscribe_v, sink);
  auto fresh = request<ban_set>(bl2, atom::load_v, file);
  BOOST_CHECK_EQUAL(fresh,
                    (ban_set{{pid(1), pid(2)}, {"192.0.2.1", "2001:db8::1"}}));
  dispatch();
  BOOST_REQUIRE_EQUAL(seen_by(sink).size(), 1u);
  BOOST_CHECK_EQUAL(seen_by(sink)[0], fresh);
  auto all = request<ban_list>(bl2, atom::list_v);
  BOOST_REQUIRE_EQUAL(all.peers.size(), 2u);
  BOOST_CHECK(!all.peers[0].expires);
  BOOST_CHECK(all.peers[1].expires);
  // 1 h - 5 min on disk, minus the minute the node was down.
  BOOST_CHECK(all.peers[1].remaining == caf::timespan{54min});
  BOOST_REQUIRE_EQUAL(all.addresses.size(), 2u);
  BOOST_CHECK(all.addresses[0].remaining == caf::timespan{4min});
  BOOST_CHECK(!all.addresses[1].expires);
  // Expiry after loading runs on the actor clock as usual.
  advance_time(4min);
  BOOST_CHECK(!request<bool>(bl2, atom::is_banned_v, std::string{"192.0.2.1"}));
  BOOST_CHECK(request<bool>(bl2, atom::is_banned_v, pid(2)));
  // Loading again merges: the wall clock moved on as well, so 192.0.2.1
  // has expired on disk too; nothing is new and nobody is told.
  *wall2.now += 4min;
  BOOST_CHECK(request<ban_set>(bl2, atom::load_v, file).empty());
  dispatch();
  BOOST_CHECK_EQUAL(seen_by(sink).size(), 1u);
  all = request<ban_list>(bl2, atom::list_v);
  BOOST_REQUIRE_EQUAL(all.peers.size(), 2u);
  BOOST_CHECK(all.peers[1].remaining == caf::timespan{50min});
  // Bans that expired while on disk are not loaded.
  fake_wall_clock wall3;
  *wall3.now = *wall.now + 2h;
  auto bl3 = sys.spawn(blacklist, wall3.config());
  fresh = request<ban_set>(bl3, atom::load_v, file);
  BOOST_CHECK_EQUAL(fresh, (ban_set{{pid(1)}, {"2001:db8::1"}}));
  for (const auto& hdl : {bl2, bl3})
    caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(corrupt_or_missing_files_change_nothing) {
  request<ban_set>(bl, atom::ban_v, peers{pid(1)});
  auto sink = subscribe();
  auto before = request<ban_list>(bl, atom::list_v);
  auto good_peer = "{\"peer\": \"" + pid(2).to_hex() + "\"}";
  struct bad_file {
    std::string content;
    std::string expected;
  };
  const std::vector<bad_file> bad_files = {
    {"{\"format\": \"crust-blacklist\", \"version\": 1, \"peers\": [",
     "not valid JSON"},
    {"", "not valid JSON"},
    {"[]", "not a JSON object"},
    {"{\"version\": 1}", "\"format\""},
    {"{\"format\": \"crust-blacklist\"}", "\"version\" is missing"},
    {"{\"format\": \"crust-blacklist\", \"version\": 2}",
     "unsupported version 2"},
    {"{\"format\": \"crust-blacklist\", \"version\": 1, \"peers\": {}}",
     "\"peers\" is not an array"},
    // A valid entry first: all or nothing.
    {"{\"format\": \"crust-blacklist\", \"version\": 1, \"peers\": ["
       + good_peer + ", {\"peer\": \"abc\"}]}",
     "peers[1]: malformed peer id"},
    {"{\"format\": \"crust-blacklist\", \"version\": 1, \"peers\": ["
       + good_peer + ", 7]}",
     "peers[1] is not an object"},
    {"{\"format\": \"crust-blacklist\", \"version\": 1, \"peers\": ["
       + good_peer + "], \"addresses\": [{\"address\": \"1.2.3\"}]}",
     "addresses[0]: malformed address or contact"},
    {"{\"format\": \"crust-blacklist\", \"version\": 1, \"addresses\": "
     "[{\"address\": \"192.0.2.1\", \"expires_at_ms\": \"soon\"}]}",
     "\"expires_at_ms\" is not an integer"},
    {"{\"format\": \"crust-blacklist\", \"version\": 1, \"addresses\": "
     "[{\"address\": \"192.0.2.1\", \"expires_at_ms\": 1.5}]}",
     "\"expires_at_ms\" is not an integer"},
  };
  for (const auto& bad : bad_files) {
    write("bad.json", bad.content);
    auto text = failure_of(atom::load_v, path("bad.json"));
    BOOST_CHECK_MESSAGE(contains(text, "malformed message"), text);
    BOOST_CHECK_MESSAGE(contains(text, path("bad.json")), text);
    BOOST_CHECK_MESSAGE(contains(text, bad.expected),
                        text << " lacks " << bad.expected);
  }
  auto text = failure_of(atom::load_v, path("missing.json"));
  BOOST_CHECK_MESSAGE(contains(text, "cannot open " + path("missing.json")),
                      text);
  BOOST_CHECK_MESSAGE(contains(text, "No such file"), text);
  text = failure_of(atom::load_v, dir);
  BOOST_CHECK_MESSAGE(contains(text, "not a regular file"), text);
  // Saving into a missing directory fails and leaves nothing behind.
  text = failure_of(atom::save_v, path("no/such/dir/bans.json"));
  BOOST_CHECK_MESSAGE(contains(text, "cannot create a temporary file"), text);
  // Saving over a directory fails and removes its temporary file.
  fs::create_directory(path("taken"));
  text = failure_of(atom::save_v, path("taken"));
  BOOST_CHECK_MESSAGE(contains(text, "cannot replace"), text);
  auto names = files();
  std::sort(names.begin(), names.end());
  BOOST_CHECK(names == (std::vector<std::string>{"bad.json", "taken"}));
  // Nothing changed and nobody was told anything.
  auto after = request<ban_list>(bl, atom::list_v);
  BOOST_CHECK_EQUAL(caf::deep_to_string(after), caf::deep_to_string(before));
  BOOST_CHECK(!banned(pid(2)));
  dispatch();
  BOOST_CHECK(seen_by(sink).empty());
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(missing_wall_clock_stops_the_actor) {
  blacklist_config no_clock;
  no_clock.wall_clock = nullptr;
  auto broken = sys.spawn(blacklist, no_clock);
  dispatch();
  auto err = error_of(broken, atom::list_v);
  BOOST_CHECK(err);
}

BOOST_AUTO_TEST_SUITE_END()

#include "crust/actors/bootstrap_cache.hpp"
#include "crust/messages/discovery.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/bootstrap_cache_file.hpp"

#include "support/deterministic_fixture.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace crust;

namespace fs = std::filesystem;

namespace {

peer_id pid(uint8_t n) {
  peer_id::bytes_type bytes{};
  bytes.fill(n);
  return peer_id{bytes};
}

/// How the fake pinger answers for a peer.
enum class liveness { alive, dead, silent };

struct pinger_state {
  static inline const char* name = "fake_pinger";
  std::map<peer_id, liveness> answers;
  std::vector<peer_id> pinged;
  /// Kept so that silent pings stay unanswered (until the timeout).
  std::vector<caf::typed_response_promise<bool>> silent;
};

caf::behavior fake_pinger(caf::stateful_actor<pinger_state>* self,
                          std::map<peer_id, liveness> answers) {
  self->state.answers = std::move(answers);
  return {
    [self](atom::ping, const cached_peer& x) {
      auto& st = self->state;
      st.pinged.push_back(x.peer);
      auto rp = self->make_response_promise<bool>();
      auto how = st.answers[x.peer];
      if (how == liveness::silent)
        st.silent.push_back(rp);
      else
        rp.deliver(how == liveness::alive);
      return rp;
    },
  };
}

struct fixture : test::deterministic_fixture {
  bootstrap_cache_config config;
  caf::actor_clock::time_point start = now();
  fs::path dir;

  fixture() {
    // Wall time follows virtual time from 2026-12-03T10:00:00Z.
    config.wall_clock = [this] {
      return std::chrono::system_clock::time_point{
               std::chrono::seconds{1796292000}}
             + std::chrono::duration_cast<std::chrono::system_clock::duration>(
               now() - start);
    };
    std::string tmpl = (fs::temp_directory_path() / "crust-cachea-XXXXXX");
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }

  ~fixture() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }

  std::vector<peer_id> ids(const bootstrap_cache_actor& hdl) {
    std::vector<peer_id> out;
    for (auto& x :
         request<std::vector<cached_peer>>(hdl, atom::get_v, atom::peers_v))
      out.push_back(x.peer);
    return out;
  }

  void put(const bootstrap_cache_actor& hdl, uint8_t n) {
    caf::anon_send(
      hdl, atom::put_v, pid(n),
      std::vector<std::string>{"192.0.2." + std::to_string(n) + ":5483"});
    dispatch();
  }

  bootstrap_cache_state& state_of(const bootstrap_cache_actor& hdl) {
    auto ptr = caf::actor_cast<caf::abstract_actor*>(hdl);
    return dynamic_cast<
             bootstrap_cache_actor::stateful_base<bootstrap_cache_state>&>(*ptr)
      .state;
  }

  template<class Handle>
  void stop(const Handle& x) {
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(bootstrap_cache_actor_suite, fixture)

BOOST_AUTO_TEST_CASE(most_recent_first_capacity_and_removal) {
  config.capacity = 3;
  auto hdl = sys.spawn(bootstrap_cache_keeper, config);
  for (uint8_t n = 1; n <= 4; ++n) {
    put(hdl, n);
    advance_time(1s);
  }
  BOOST_CHECK(ids(hdl) == (std::vector<peer_id>{pid(4), pid(3), pid(2)}));
  put(hdl, 2);
  BOOST_CHECK(ids(hdl) == (std::vector<peer_id>{pid(2), pid(4), pid(3)}));
  caf::anon_send(hdl, atom::remove_v, pid(4));
  dispatch();
  BOOST_CHECK(ids(hdl) == (std::vector<peer_id>{pid(2), pid(3)}));
  auto peers = request<std::vector<cached_peer>>(hdl, atom::get_v,
                                                 atom::peers_v);
  BOOST_CHECK(peers[0].endpoints == std::vector<std::string>{"192.0.2.2:5483"});
  BOOST_CHECK_EQUAL(peers[0].last_seen_ms, 1796292000LL * 1000 + 4000);
  // No endpoint that parses: nothing enters.
  caf::anon_send(hdl, atom::put_v, pid(9),
                 std::vector<std::string>{"not an endpoint"});
  dispatch();
  BOOST_CHECK_EQUAL(ids(hdl).size(), 2u);
  stop(hdl);
  run();
}

BOOST_AUTO_TEST_CASE(changes_reach_the_file_after_the_flush_delay) {
  config.path = (dir / "bootstrap_cache.json").string();
  auto hdl = sys.spawn(bootstrap_cache_keeper, config);
  put(hdl, 1);
  put(hdl, 2);
  BOOST_CHECK(!fs::exists(config.path));
  advance_time(1s);
  auto loaded = load_bootstrap_cache_file(config.path, 200,
                                          config.wall_clock());
  BOOST_REQUIRE_EQUAL(loaded.entries.size(), 2u);
  BOOST_CHECK(loaded.entries[0].id == pid(2));
  // A change not yet flushed is written when the actor ends.
  put(hdl, 3);
  stop(hdl);
  run();
  loaded = load_bootstrap_cache_file(config.path, 200, config.wall_clock());
  BOOST_REQUIRE_EQUAL(loaded.entries.size(), 3u);
  // A new keeper starts with what the last one kept, in order.
  auto again = sys.spawn(bootstrap_cache_keeper, config);
  BOOST_CHECK(ids(again) == (std::vector<peer_id>{pid(3), pid(2), pid(1)}));
  BOOST_CHECK_EQUAL(request<uint64_t>(again, atom::save_v), 3u);
  stop(again);
  run();
}

BOOST_AUTO_TEST_CASE(a_corrupt_file_is_set_aside_and_the_cache_starts_empty) {
  config.path = (dir / "bootstrap_cache.json").string();
  {
    std::ofstream out{config.path};
    out << "{\"format\": \"crust-bootstrap-cache\", \"version\": 1, \"pe";
  }
  auto hdl = sys.spawn(bootstrap_cache_keeper, config);
  BOOST_CHECK(ids(hdl).empty());
  auto& warning = state_of(hdl).load_warning;
  BOOST_CHECK(warning.find("not valid JSON") != std::string::npos);
  BOOST_CHECK(fs::exists(config.path + ".corrupt-20261203T100000Z"));
  BOOST_CHECK(!fs::exists(config.path));
  put(hdl, 1);
  advance_time(1s);
  BOOST_CHECK(fs::exists(config.path));
  stop(hdl);
  run();
}

BOOST_AUTO_TEST_CASE(stale_entries_are_revalidated_and_dead_ones_dropped) {
  auto pinger = sys.spawn(fake_pinger, std::map<peer_id, liveness>{
                                         {pid(1), liveness::alive},
                                         {pid(2), liveness::dead},
                                         {pid(3), liveness::silent},
                                       });
  config.pinger = caf::actor_cast<peer_pinger_actor>(pinger);
  auto hdl = sys.spawn(bootstrap_cache_keeper, config);
  put(hdl, 1);
  put(hdl, 2);
  put(hdl, 3);
  auto& pinged = dynamic_cast<caf::stateful_actor<pinger_state>&>(
                   *caf::actor_cast<caf::abstract_actor*>(pinger))
                   .state.pinged;
  // Ticks at 30, 60 and 90 s find nothing unused for 120 s.
  advance_time(119s);
  BOOST_CHECK(pinged.empty());
  // At 120 s all three are pinged: 1 lives (and becomes fresh), 2 is dead.
  advance_time(1s);
  BOOST_CHECK_EQUAL(pinged.size(), 3u);
  BOOST_CHECK(ids(hdl) == (std::vector<peer_id>{pid(1), pid(3)}));
  // 3 never answers: dropped when the ping times out (30 s).
  advance_time(29s);
  BOOST_CHECK_EQUAL(ids(hdl).size(), 2u);
  advance_time(1s);
  BOOST_CHECK(ids(hdl) == std::vector<peer_id>{pid(1)});
  // 1 was seen at 120 s: pinged again from 240 s on, not before.
  auto before = pinged.size();
  advance_time(89s);
  BOOST_CHECK_EQUAL(pinged.size(), before);
  advance_time(31s);
  BOOST_CHECK_EQUAL(pinged.size(), before + 1);
  stop(hdl);
  stop(pinger);
  run();
}

BOOST_AUTO_TEST_CASE(bad_configuration_stops_the_actor) {
  for (int broken = 0; broken < 4; ++broken) {
    auto bad = config;
    if (broken == 0)
      bad.capacity = 0;
    if (broken == 1)
      bad.flush_delay = caf::timespan{0};
    if (broken == 2)
      bad.max_pings = 0;
    if (broken == 3)
      bad.wall_clock = nullptr;
    auto hdl = sys.spawn(bootstrap_cache_keeper, bad);
    dispatch();
    BOOST_CHECK(request_error(caf::actor_cast<caf::actor>(hdl), atom::get_v,
                              atom::peers_v));
  }
}

BOOST_AUTO_TEST_SUITE_END()

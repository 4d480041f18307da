#include "crust/actors/blacklist.hpp"
#include "crust/actors/bootstrap_cache.hpp"
#include "crust/actors/bootstrap_manager.hpp"
#include "crust/actors/lan_beacon.hpp"
#include "crust/messages/discovery.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/codec/beacon_packet.hpp"

#include "support/deterministic_fixture.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace crust;

namespace {

peer_id pid(uint8_t n) {
  peer_id::bytes_type bytes{};
  bytes.fill(n);
  return peer_id{bytes};
}

std::string contact_of(uint8_t n, const std::string& addr = "192.0.2.1:5483") {
  return pid(n).to_hex() + "@" + addr;
}

bool is_code(const caf::error& err, errc code) {
  return err && err.category() == error_category
         && err.code() == static_cast<uint8_t>(code);
}

// -- a fake BOOTSTRAP DIALER --------------------------------------------------

/// What the fake dialer does with a dial to one peer.
struct outcome {
  /// Answers after this long; never if `hang`.
  caf::timespan delay = 1s;
  bool hang = false;
  /// Denies or fails with this; grants if none.
  errc error = errc::none;
};

struct dialer_state {
  static inline const char* name = "fake_dialer";
  std::map<peer_id, outcome> outcomes;
  std::map<peer_id, caf::typed_response_promise<bootstrap_connect>> pending;
  std::vector<bootstrap_candidate> dialled;
  /// The first endpoint of each dialled peer: the grant's remote.
  std::map<peer_id, std::string> remote;
  std::vector<peer_id> cancelled;
  size_t max_in_flight = 0;
};

caf::behavior fake_dialer(caf::stateful_actor<dialer_state>* self,
                          std::map<peer_id, outcome> outcomes) {
  self->state.outcomes = std::move(outcomes);
  return {
    [self](atom::dial, const bootstrap_candidate& c) {
      auto& st = self->state;
      st.dialled.push_back(c);
      st.remote[c.peer] = c.endpoints.front();
      auto rp = self->make_response_promise<bootstrap_connect>();
      st.pending.emplace(c.peer, rp);
      st.max_in_flight = std::max(st.max_in_flight, st.pending.size());
      auto o = st.outcomes[c.peer];
      if (!o.hang)
        self->delayed_send(self, o.delay, atom::ok_v, c.peer);
      return rp;
    },
    [self](atom::ok, const peer_id& peer) {
      auto& st = self->state;
      auto i = st.pending.find(peer);
      if (i == st.pending.end())
        return;
      auto o = st.outcomes[peer];
      if (o.error == errc::none)
        i->second.deliver(bootstrap_connect{peer, st.remote[peer]});
      else
        i->second.deliver(caf::error{o.error});
      st.pending.erase(i);
    },
    [self](atom::cancel, const peer_id& peer) {
      auto& st = self->state;
      st.cancelled.push_back(peer);
      auto i = st.pending.find(peer);
      if (i != st.pending.end()) {
        i->second.deliver(caf::error{errc::cancelled});
        st.pending.erase(i);
      }
    },
  };
}

// -- a fake BOOTSTRAP CACHE and LAN BEACON ------------------------------------

struct cache_state {
  static inline const char* name = "fake_cache";
  std::vector<cached_peer> peers;
  std::vector<peer_id> removed;
  std::vector<peer_id> put;
};

caf::behavior fake_cache(caf::stateful_actor<cache_state>* self,
                         std::vector<cached_peer> peers) {
  self->state.peers = std::move(peers);
  return {
    [self](atom::get, atom::peers) {
      return self->state.peers;
    },
    [self](atom::put, const peer_id& peer, const std::vector<std::string>&) {
      self->state.put.push_back(peer);
    },
    [self](atom::remove, const peer_id& peer) {
      self->state.removed.push_back(peer);
    },
  };
}

struct beacon_state {
  static inline const char* name = "fake_beacon";
  std::vector<beacon_peer> answers;
  caf::timespan window{0};
  std::vector<caf::typed_response_promise<std::vector<beacon_peer>>> waiting;
};

caf::behavior fake_beacon(caf::stateful_actor<beacon_state>* self,
                          std::vector<beacon_peer> answers,
                          caf::timespan window) {
  self->state.answers = std::move(answers);
  self->state.window = window;
  return {
    [self](atom::discover) {
      auto rp = self->make_response_promise<std::vector<beacon_peer>>();
      self->state.waiting.push_back(rp);
      self->delayed_send(self, self->state.window, atom::ok_v);
      return rp;
    },
    [self](atom::ok) {
      for (auto& rp : self->state.waiting)
        rp.deliver(self->state.answers);
      self->state.waiting.clear();
    },
  };
}

// -- the requester ------------------------------------------------------------

/// Asks the manager for one bootstrap and keeps every answer it gets.
struct requester_state {
  static inline const char* name = "requester";
  std::vector<bootstrap_report> reports;
  std::vector<caf::error> errors;
};

caf::behavior requester(caf::stateful_actor<requester_state>* self,
                        bootstrap_manager_actor mgr) {
  self->request(mgr, caf::infinite, atom::bootstrap_v)
    .then(
      [self](bootstrap_report& r) {
        self->state.reports.push_back(std::move(r));
      },
      [self](caf::error& err) {
        self->state.errors.push_back(std::move(err));
      });
  return {
    [](atom::ok) {
      // nop
    },
  };
}

/// The LAN BEACON's socket seam, recording broadcasts.
struct fake_transport : beacon_transport {
  std::vector<byte_buffer> broadcasts;

  void broadcast(byte_buffer bytes) override {
    broadcasts.push_back(std::move(bytes));
  }

  void send_to(byte_buffer, endpoint) override {
    // nop
  }

  uint16_t port() const override {
    return 5484;
  }

  void close() override {
    // nop
  }
};

template<class State>
State& state_of(const caf::actor& hdl) {
  auto ptr = caf::actor_cast<caf::abstract_actor*>(hdl);
  return dynamic_cast<caf::stateful_actor<State>&>(*ptr).state;
}

std::vector<peer_id> peers_of(const std::vector<bootstrap_candidate>& xs) {
  std::vector<peer_id> out;
  for (auto& x : xs)
    out.push_back(x.peer);
  return out;
}

const candidate_report& entry_of(const bootstrap_report& r, const peer_id& p) {
  auto i = std::find_if(r.candidates.begin(), r.candidates.end(),
                        [&](const auto& x) {
                          return x.candidate.peer == p;
                        });
  BOOST_REQUIRE(i != r.candidates.end());
  return *i;
}

struct fixture : test::deterministic_fixture {
  caf::actor dialer;
  bootstrap_manager_config config;
  std::vector<caf::actor> others;

  void make_dialer(std::map<peer_id, outcome> outcomes) {
    dialer = sys.spawn(fake_dialer, std::move(outcomes));
    config.dialer = caf::actor_cast<bootstrap_dialer_actor>(dialer);
  }

  dialer_state& dialer_st() {
    return state_of<dialer_state>(dialer);
  }

  bootstrap_manager_actor spawn_manager() {
    auto mgr = sys.spawn(bootstrap_manager, config);
    return mgr;
  }

  /// Starts a run through a requester actor; returns it.
  caf::actor start(const bootstrap_manager_actor& mgr) {
    auto req = sys.spawn(requester, mgr);
    others.push_back(req);
    dispatch();
    return req;
  }

  requester_state& answers(const caf::actor& req) {
    return state_of<requester_state>(req);
  }

  /// The single report `req` got; fails unless exactly one arrived.
  const bootstrap_report& report_of(const caf::actor& req) {
    auto& st = answers(req);
    BOOST_REQUIRE(st.errors.empty());
    BOOST_REQUIRE_EQUAL(st.reports.size(), 1u);
    return st.reports.front();
  }

  void stop_all(const bootstrap_manager_actor& mgr) {
    caf::anon_send_exit(mgr, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(dialer, caf::exit_reason::user_shutdown);
    for (auto& x : others)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    run();
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(bootstrap_manager_suite, fixture)

BOOST_AUTO_TEST_CASE(parallel_attempts_respect_the_cap) {
  std::map<peer_id, outcome> outcomes;
  for (uint8_t n = 1; n <= 10; ++n) {
    config.contacts.push_back(contact_of(n));
    outcomes[pid(n)] = outcome{1s, false, errc::connect_failed};
  }
  make_dialer(outcomes);
  config.max_concurrent_dials = 3;
  config.shuffle_seed = 7;
  auto mgr = spawn_manager();
  auto req = start(mgr);
  // Three at once, not more.
  BOOST_CHECK_EQUAL(dialer_st().dialled.size(), 3u);
  advance_time(999ms);
  BOOST_CHECK_EQUAL(dialer_st().dialled.size(), 3u);
  advance_time(1ms);
  BOOST_CHECK_EQUAL(dialer_st().dialled.size(), 6u);
  advance_time(3s);
  BOOST_CHECK_EQUAL(dialer_st().dialled.size(), 10u);
  BOOST_CHECK_EQUAL(dialer_st().max_in_flight, 3u);
  auto& r = report_of(req);
  BOOST_CHECK(is_code(r.reason, errc::connect_failed));
  BOOST_CHECK(r.peer.is_zero());
  for (auto& x : r.candidates) {
    BOOST_CHECK(x.status == candidate_status::failed);
    BOOST_CHECK(is_code(x.reason, errc::connect_failed));
  }
  stop_all(mgr);
}

BOOST_AUTO_TEST_CASE(first_grant_wins_and_the_rest_are_cancelled) {
  config.contacts = {contact_of(1), contact_of(2), contact_of(3)};
  make_dialer({{pid(1), outcome{3s}},
               {pid(2), outcome{2s}},
               {pid(3), outcome{0s, true}}});
  auto mgr = spawn_manager();
  auto req = start(mgr);
  BOOST_CHECK_EQUAL(dialer_st().dialled.size(), 3u);
  advance_time(2s);
  auto& r = report_of(req);
  BOOST_CHECK(!r.reason);
  BOOST_CHECK(r.peer == pid(2));
  BOOST_CHECK_EQUAL(r.remote, "192.0.2.1:5483");
  BOOST_CHECK(r.source == candidate_source::contact);
  BOOST_CHECK(entry_of(r, pid(2)).status == candidate_status::granted);
  BOOST_CHECK(entry_of(r, pid(1)).status == candidate_status::cancelled);
  BOOST_CHECK(entry_of(r, pid(3)).status == candidate_status::cancelled);
  BOOST_CHECK(is_code(entry_of(r, pid(3)).reason, errc::cancelled));
  auto cancelled = dialer_st().cancelled;
  std::sort(cancelled.begin(), cancelled.end());
  BOOST_CHECK(cancelled == (std::vector<peer_id>{pid(1), pid(3)}));
  // Nothing more arrives later, and the last report stays the same.
  advance_time(20s);
  BOOST_CHECK_EQUAL(answers(req).reports.size(), 1u);
  auto last = request<bootstrap_report>(mgr, atom::get_v, atom::report_v);
  BOOST_CHECK(last.peer == pid(2));
  stop_all(mgr);
}

BOOST_AUTO_TEST_CASE(a_late_grant_is_closed_again) {
  config.contacts = {contact_of(1), contact_of(2)};
  make_dialer({{pid(1), outcome{1s}}, {pid(2), outcome{1s}}});
  auto mgr = spawn_manager();
  auto req = start(mgr);
  advance_time(1s);
  auto& r = report_of(req);
  BOOST_CHECK(!r.reason);
  // Both grants were due at the same instant: one won, the other was told
  // to close (by cancel) whichever order they arrived in.
  auto winner = r.peer;
  auto loser = winner == pid(1) ? pid(2) : pid(1);
  auto& cancelled = dialer_st().cancelled;
  BOOST_CHECK(std::find(cancelled.begin(), cancelled.end(), loser)
              != cancelled.end());
  stop_all(mgr);
}

BOOST_AUTO_TEST_CASE(the_budget_ends_the_run) {
  config.contacts = {contact_of(1), contact_of(2)};
  config.budget = 10s;
  make_dialer({{pid(1), outcome{0s, true}}, {pid(2), outcome{0s, true}}});
  auto mgr = spawn_manager();
  auto req = start(mgr);
  advance_time(9999ms);
  BOOST_CHECK(answers(req).reports.empty());
  advance_time(1ms);
  auto& r = report_of(req);
  BOOST_CHECK(is_code(r.reason, errc::bootstrap_timeout));
  for (auto& x : r.candidates) {
    BOOST_CHECK(x.status == candidate_status::cancelled);
    BOOST_CHECK(is_code(x.reason, errc::bootstrap_timeout));
  }
  BOOST_CHECK_EQUAL(dialer_st().cancelled.size(), 2u);
  // A new run may start once this one ended.
  auto again = start(mgr);
  advance_time(10s);
  BOOST_CHECK(is_code(report_of(again).reason, errc::bootstrap_timeout));
  stop_all(mgr);
}

BOOST_AUTO_TEST_CASE(denial_reasons_are_collected) {
  config.contacts = {contact_of(1), contact_of(2), contact_of(3),
                     contact_of(4)};
  config.shuffle_seed = 1;
  make_dialer({{pid(1), outcome{1s, false, errc::network_mismatch}},
               {pid(2), outcome{2s, false, errc::not_whitelisted}},
               {pid(3), outcome{3s, false, errc::not_accepting}},
               {pid(4), outcome{4s, false, errc::connect_failed}}});
  auto mgr = spawn_manager();
  auto req = start(mgr);
  advance_time(4s);
  auto& r = report_of(req);
  // The run fails with the last failure; every reason is in the report.
  BOOST_CHECK(is_code(r.reason, errc::connect_failed));
  BOOST_CHECK(is_code(entry_of(r, pid(1)).reason, errc::network_mismatch));
  BOOST_CHECK(is_code(entry_of(r, pid(2)).reason, errc::not_whitelisted));
  BOOST_CHECK(is_code(entry_of(r, pid(3)).reason, errc::not_accepting));
  BOOST_CHECK(is_code(entry_of(r, pid(4)).reason, errc::connect_failed));
  BOOST_CHECK_EQUAL(sys.render(entry_of(r, pid(3)).reason),
                    "the peer does not accept bootstrapping nodes");
  stop_all(mgr);
}

BOOST_AUTO_TEST_CASE(not_reachable_ends_the_run_unless_configured) {
  for (bool stop : {true, false}) {
    BOOST_TEST_CONTEXT("stop_on_unreachable " << stop) {
      config.contacts = {contact_of(1), contact_of(2)};
      config.stop_on_unreachable = stop;
      make_dialer({{pid(1), outcome{1s, false, errc::not_reachable}},
                   {pid(2), outcome{2s}}});
      auto mgr = spawn_manager();
      auto req = start(mgr);
      advance_time(2s);
      auto& r = report_of(req);
      if (stop) {
        BOOST_CHECK(is_code(r.reason, errc::not_reachable));
        BOOST_CHECK(entry_of(r, pid(2)).status == candidate_status::cancelled);
      } else {
        BOOST_CHECK(!r.reason);
        BOOST_CHECK(r.peer == pid(2));
      }
      stop_all(mgr);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_blacklist_filters_candidates) {
  auto bl = sys.spawn(blacklist, blacklist_config{});
  request<ban_set>(bl, atom::ban_v, std::vector<peer_id>{pid(1)});
  request<ban_set>(bl, atom::ban_v, std::string{"192.0.2.7"});
  config.blacklist = bl;
  config.contacts = {contact_of(1),
                     contact_of(2, "192.0.2.7:1"),
                     contact_of(3, "192.0.2.7:1"),
                     contact_of(3, "[::ffff:192.0.2.7]:2"),
                     contact_of(3, "192.0.2.8:1"),
                     contact_of(4)};
  make_dialer({{pid(3), outcome{0s, true}}, {pid(4), outcome{0s, true}}});
  auto mgr = spawn_manager();
  auto req = start(mgr);
  // Only 3 (without its banned addresses) and 4 are dialled.
  auto dialled = peers_of(dialer_st().dialled);
  std::sort(dialled.begin(), dialled.end());
  BOOST_CHECK(dialled == (std::vector<peer_id>{pid(3), pid(4)}));
  for (auto& c : dialer_st().dialled)
    if (c.peer == pid(3))
      BOOST_CHECK(c.endpoints == std::vector<std::string>{"192.0.2.8:1"});
  caf::anon_send(mgr, atom::stop_v, atom::bootstrap_v);
  dispatch();
  auto& r = report_of(req);
  BOOST_CHECK(is_code(r.reason, errc::cancelled));
  BOOST_CHECK(entry_of(r, pid(1)).status == candidate_status::banned);
  BOOST_CHECK(entry_of(r, pid(2)).status == candidate_status::banned);
  BOOST_CHECK(is_code(entry_of(r, pid(2)).reason, errc::banned));
  caf::anon_send_exit(bl, caf::exit_reason::user_shutdown);
  stop_all(mgr);
}

BOOST_AUTO_TEST_CASE(only_banned_candidates_mean_none) {
  auto bl = sys.spawn(blacklist, blacklist_config{});
  request<ban_set>(bl, atom::ban_v, std::vector<peer_id>{pid(1)});
  config.blacklist = bl;
  config.contacts = {contact_of(1)};
  make_dialer({});
  auto mgr = spawn_manager();
  auto req = start(mgr);
  auto& r = report_of(req);
  BOOST_CHECK(is_code(r.reason, errc::no_candidates));
  BOOST_CHECK(dialer_st().dialled.empty());
  caf::anon_send_exit(bl, caf::exit_reason::user_shutdown);
  stop_all(mgr);
}

BOOST_AUTO_TEST_CASE(cache_first_then_lan_then_contacts) {
  std::vector<cached_peer> cached{
    {pid(1), {"192.0.2.1:1"}, 2000},
    {pid(2), {"192.0.2.2:1"}, 1000},
  };
  auto cache = sys.spawn(fake_cache, cached);
  others.push_back(cache);
  auto beacon = sys.spawn(
    fake_beacon, std::vector<beacon_peer>{{pid(5), {"10.0.0.5:1"}, ""}},
    caf::timespan{500ms});
  others.push_back(beacon);
  config.cache = caf::actor_cast<bootstrap_cache_actor>(cache);
  config.beacon = caf::actor_cast<lan_beacon_actor>(beacon);
  config.contacts = {contact_of(7), contact_of(8), contact_of(9)};
  config.max_concurrent_dials = 1;
  std::map<peer_id, outcome> outcomes;
  for (uint8_t n : {1, 2, 7, 8, 9})
    outcomes[pid(n)] = outcome{1s, false, errc::connect_failed};
  outcomes[pid(5)] = outcome{1s, false, errc::connect_failed};
  make_dialer(outcomes);
  auto mgr = spawn_manager();
  auto req = start(mgr);
  advance_time(10s);
  auto dialled = peers_of(dialer_st().dialled);
  BOOST_REQUIRE_EQUAL(dialled.size(), 6u);
  // The most recent cache entry first; the LAN answer (after 0.5 s) before
  // every contact.
  BOOST_CHECK(dialled[0] == pid(1));
  BOOST_CHECK(dialled[1] == pid(2));
  BOOST_CHECK(dialled[2] == pid(5));
  std::vector<peer_id> contacts(dialled.begin() + 3, dialled.end());
  std::sort(contacts.begin(), contacts.end());
  BOOST_CHECK(contacts == (std::vector<peer_id>{pid(7), pid(8), pid(9)}));
  // Every failing peer is dropped from the cache.
  auto removed = state_of<cache_state>(cache).removed;
  BOOST_CHECK_EQUAL(removed.size(), 6u);
  auto& r = report_of(req);
  BOOST_CHECK(entry_of(r, pid(1)).candidate.source == candidate_source::cache);
  BOOST_CHECK(entry_of(r, pid(5)).candidate.source == candidate_source::lan);
  BOOST_CHECK(entry_of(r, pid(7)).candidate.source
              == candidate_source::contact);
  stop_all(mgr);
}

BOOST_AUTO_TEST_CASE(winners_enter_the_cache_unless_contacts) {
  auto cache = sys.spawn(
    fake_cache, std::vector<cached_peer>{{pid(1), {"192.0.2.1:1"}, 1}});
  others.push_back(cache);
  config.cache = caf::actor_cast<bootstrap_cache_actor>(cache);
  make_dialer({{pid(1), outcome{1s}}});
  auto mgr = spawn_manager();
  auto req = start(mgr);
  advance_time(1s);
  BOOST_CHECK(report_of(req).source == candidate_source::cache);
  BOOST_CHECK(state_of<cache_state>(cache).put == std::vector<peer_id>{pid(1)});
  stop_all(mgr);
  // A contact that wins stays out.
  auto cache2 = sys.spawn(fake_cache, std::vector<cached_peer>{});
  others = {cache2};
  config.cache = caf::actor_cast<bootstrap_cache_actor>(cache2);
  config.contacts = {contact_of(3)};
  make_dialer({{pid(3), outcome{1s}}});
  auto mgr2 = spawn_manager();
  auto req2 = start(mgr2);
  others.push_back(req2);
  advance_time(1s);
  BOOST_CHECK(report_of(req2).peer == pid(3));
  BOOST_CHECK(state_of<cache_state>(cache2).put.empty());
  stop_all(mgr2);
}

BOOST_AUTO_TEST_CASE(a_peer_found_twice_is_dialled_once) {
  auto cache = sys.spawn(
    fake_cache, std::vector<cached_peer>{{pid(1), {"192.0.2.1:1"}, 1}});
  others.push_back(cache);
  config.cache = caf::actor_cast<bootstrap_cache_actor>(cache);
  config.contacts = {contact_of(1, "192.0.2.9:9")};
  config.max_concurrent_dials = 1;
  make_dialer({{pid(1), outcome{0s, true}}});
  auto mgr = spawn_manager();
  start(mgr);
  BOOST_REQUIRE_EQUAL(dialer_st().dialled.size(), 1u);
  // Queued together: the cached entry gained the contact's address.
  BOOST_CHECK(dialer_st().dialled[0].endpoints
              == (std::vector<std::string>{"192.0.2.1:1", "192.0.2.9:9"}));
  stop_all(mgr);
}

BOOST_AUTO_TEST_CASE(contacts_are_shuffled_by_the_seed) {
  auto order_for = [&](uint64_t seed) {
    config.contacts.clear();
    for (uint8_t n = 1; n <= 8; ++n)
      config.contacts.push_back(contact_of(n));
    config.shuffle_seed = seed;
    config.max_concurrent_dials = 8;
    make_dialer({});
    for (uint8_t n = 1; n <= 8; ++n)
      dialer_st().outcomes[pid(n)] = outcome{0s, true};
    auto mgr = spawn_manager();
    start(mgr);
    auto order = peers_of(dialer_st().dialled);
    stop_all(mgr);
    return order;
  };
  auto a = order_for(42);
  auto b = order_for(42);
  auto c = order_for(43);
  BOOST_CHECK(a == b);
  BOOST_CHECK(a != c);
  std::sort(c.begin(), c.end());
  std::vector<peer_id> all;
  for (uint8_t n = 1; n <= 8; ++n)
    all.push_back(pid(n));
  BOOST_CHECK(c == all);
}

BOOST_AUTO_TEST_CASE(no_candidates_fails_at_once) {
  make_dialer({});
  auto mgr = spawn_manager();
  auto req = start(mgr);
  BOOST_CHECK(is_code(report_of(req).reason, errc::no_candidates));
  stop_all(mgr);
}

BOOST_AUTO_TEST_CASE(one_run_at_a_time_and_stop) {
  config.contacts = {contact_of(1)};
  make_dialer({{pid(1), outcome{0s, true}}});
  auto mgr = spawn_manager();
  auto req = start(mgr);
  auto second = start(mgr);
  BOOST_REQUIRE_EQUAL(answers(second).errors.size(), 1u);
  BOOST_CHECK(is_code(answers(second).errors[0], errc::bootstrap_running));
  BOOST_CHECK(request<bool>(mgr, atom::stop_v, atom::bootstrap_v));
  BOOST_CHECK(!request<bool>(mgr, atom::stop_v, atom::bootstrap_v));
  auto& r = report_of(req);
  BOOST_CHECK(is_code(r.reason, errc::cancelled));
  BOOST_CHECK(dialer_st().cancelled == std::vector<peer_id>{pid(1)});
  stop_all(mgr);
}

BOOST_AUTO_TEST_CASE(bad_configuration_stops_the_actor) {
  make_dialer({});
  config.contacts = {"not-a-contact"};
  auto mgr = spawn_manager();
  dispatch();
  BOOST_CHECK(request_error(caf::actor_cast<caf::actor>(mgr), atom::get_v,
                            atom::report_v));
  config.contacts.clear();
  config.max_concurrent_dials = 0;
  auto mgr2 = spawn_manager();
  dispatch();
  BOOST_CHECK(request_error(caf::actor_cast<caf::actor>(mgr2), atom::get_v,
                            atom::report_v));
  bootstrap_manager_config empty;
  auto mgr3 = sys.spawn(bootstrap_manager, empty);
  dispatch();
  BOOST_CHECK(request_error(caf::actor_cast<caf::actor>(mgr3), atom::get_v,
                            atom::report_v));
  stop_all(mgr);
}

BOOST_AUTO_TEST_CASE(composes_with_the_real_cache_beacon_and_blacklist) {
  // The real BOOTSTRAP CACHE (in memory), LAN BEACON (fake sockets) and
  // BLACKLIST around the manager; only the dialer is a fake.
  bootstrap_cache_config cache_cfg;
  auto cache = sys.spawn(bootstrap_cache_keeper, cache_cfg);
  caf::anon_send(cache, atom::put_v, pid(1),
                 std::vector<std::string>{"192.0.2.1:1"});
  caf::anon_send(cache, atom::put_v, pid(2),
                 std::vector<std::string>{"192.0.2.2:1"});
  auto sock = std::make_shared<fake_transport>();
  lan_beacon_config beacon_cfg;
  beacon_cfg.network_name = "net";
  beacon_cfg.self = pid(99);
  beacon_cfg.open = [sock](datagram_handler) {
    return expected<std::shared_ptr<beacon_transport>>{sock};
  };
  auto beacon = sys.spawn(lan_beacon, beacon_cfg);
  auto bl = sys.spawn(blacklist, blacklist_config{});
  dispatch();
  request<ban_set>(bl, atom::ban_v, std::vector<peer_id>{pid(2)});
  config.cache = cache;
  config.beacon = beacon;
  config.blacklist = bl;
  config.self = pid(99);
  config.max_concurrent_dials = 1;
  make_dialer(
    {{pid(1), outcome{1s, false, errc::not_accepting}}, {pid(5), outcome{1s}}});
  auto mgr = spawn_manager();
  auto req = start(mgr);
  // The LAN peer 5 answers the beacon's request within its window.
  BOOST_REQUIRE_EQUAL(sock->broadcasts.size(), 1u);
  auto nonce
    = std::get<beacon::request>(*beacon::decode(sock->broadcasts[0])).nonce;
  beacon::reply rep{beacon::hash_network_name("net"),
                    nonce,
                    pid(5),
                    {*endpoint::parse("10.0.0.5:5483")}};
  caf::anon_send(beacon, atom::received_v, *beacon::encode(rep),
                 std::string{"10.0.0.5:40000"});
  advance_time(2s);
  auto& r = report_of(req);
  BOOST_CHECK(!r.reason);
  BOOST_CHECK(r.peer == pid(5));
  BOOST_CHECK(r.source == candidate_source::lan);
  // 1 (cached, most recent) was tried first and denied; 2 is banned.
  BOOST_CHECK(peers_of(dialer_st().dialled)
              == (std::vector<peer_id>{pid(1), pid(5)}));
  BOOST_CHECK(is_code(entry_of(r, pid(1)).reason, errc::not_accepting));
  BOOST_CHECK(entry_of(r, pid(2)).status == candidate_status::banned);
  // The cache dropped the denying peer and took the LAN winner first.
  auto cached = request<std::vector<cached_peer>>(cache, atom::get_v,
                                                  atom::peers_v);
  BOOST_REQUIRE_EQUAL(cached.size(), 2u);
  BOOST_CHECK(cached[0].peer == pid(5));
  BOOST_CHECK(cached[1].peer == pid(2));
  for (auto x :
       {caf::actor_cast<caf::actor>(cache), caf::actor_cast<caf::actor>(beacon),
        caf::actor_cast<caf::actor>(bl)})
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  stop_all(mgr);
}

BOOST_AUTO_TEST_SUITE_END()

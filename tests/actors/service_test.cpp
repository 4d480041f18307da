// The SERVICE under the deterministic scheduler, over an in-memory network
// (tests/support/mem_transport): connect, events, duplicate collapse, bans,
// requests on unknown peers. Real sockets: tests/integration.

#include "crust/actors/service.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/transport/noise/primitives.hpp"

#include "support/deterministic_fixture.hpp"
#include "support/mem_transport.hpp"

#include <caf/send.hpp>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <vector>

using namespace crust;
using namespace std::chrono_literals;

namespace {

// -- a subscriber that keeps every event --------------------------------------

struct recorder_state {
  static inline const char* name = "recorder";
  std::vector<connect_success> ups;
  std::vector<connect_failure> failures;
  std::vector<lost_peer> lost;
  std::vector<new_message> messages;
  std::vector<peer_misbehaved> bad;
  std::vector<bootstrap_accept> accepts;
  size_t other = 0;
};

service_subscriber_actor::behavior_type
recorder(service_subscriber_actor::stateful_pointer<recorder_state> self,
         std::string label) {
  static_cast<void>(label);
  auto& st = self->state;
  return {
    [&st](listener_started&) {
      ++st.other;
    },
    [&st](listener_failed&) {
      ++st.other;
    },
    [&st](connect_success& x) {
      st.ups.emplace_back(std::move(x));
    },
    [&st](connect_failure& x) {
      st.failures.emplace_back(std::move(x));
    },
    [&st](lost_peer& x) {
      st.lost.emplace_back(std::move(x));
    },
    [&st](new_message& x) {
      st.messages.emplace_back(std::move(x));
    },
    [&st](peer_misbehaved& x) {
      st.bad.emplace_back(std::move(x));
    },
    [&st](message_too_large&) {
      ++st.other;
    },
    [&st](messages_dropped&) {
      ++st.other;
    },
    [&st](connection_info_prepared&) {
      ++st.other;
    },
    [&st](bootstrap_connect&) {
      ++st.other;
    },
    [&st](bootstrap_failed&) {
      ++st.other;
    },
    [&st](bootstrap_accept& x) {
      st.accepts.emplace_back(std::move(x));
    },
  };
}

endpoint ep(const std::string& text) {
  auto res = endpoint::parse(text);
  BOOST_REQUIRE(res);
  return *res;
}

bool has_code(const caf::error& err, errc code) {
  return err && err.category() == error_category
         && err.code() == static_cast<uint8_t>(code);
}

/// One node of the in-memory network: its SERVICE, its subscriber and the
/// endpoint it answers on.
struct node {
  peer_id id;
  service_actor svc;
  service_subscriber_actor rec;
  endpoint addr;
  /// Its responder settings (to answer on more addresses).
  connection_config rc;
};

struct fixture : test::deterministic_fixture {
  std::shared_ptr<test::mem_network> net
    = std::make_shared<test::mem_network>();
  std::vector<node> nodes;

  ~fixture() {
    for (auto& n : nodes) {
      caf::anon_send_exit(n.svc, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(n.rec, caf::exit_reason::user_shutdown);
    }
    run();
  }

  /// A node answering at `addr_text` and telling peers it listens there
  /// (or at `advertise`, when given).
  node& add_node(const std::string& addr_text, node_config nc = {},
                 std::vector<endpoint> advertise = {}) {
    auto keys = noise::keypair::generate();
    BOOST_REQUIRE(keys);
    nc.heartbeat_interval = 1s;
    nc.inactivity_timeout = 5s;
    service_config sc;
    sc.node = nc;
    sc.keys = *keys;
    sc.dial = net->dialer();
    sc.advertise = advertise.empty() ? std::vector<endpoint>{ep(addr_text)}
                                     : std::move(advertise);
    node n;
    n.id = peer_id{keys->pub};
    n.svc = spawn_service(sys, sc);
    n.rec = sys.spawn(recorder, addr_text);
    n.addr = ep(addr_text);
    caf::anon_send(n.svc, atom::subscribe_v, n.rec);
    connection_config rc;
    rc.side = noise::role::responder;
    rc.local_static = *keys;
    rc.network_name = nc.network_name;
    rc.heartbeat_interval = nc.heartbeat_interval;
    rc.inactivity_timeout = nc.inactivity_timeout;
    rc.handshake_timeout = nc.handshake_timeout;
    net->listen(n.addr, n.svc, rc);
    n.rc = rc;
    dispatch();
    nodes.push_back(n);
    return nodes.back();
  }

  recorder_state& events(const node& n) {
    auto ptr = caf::actor_cast<caf::abstract_actor*>(n.rec);
    return dynamic_cast<caf::stateful_actor<recorder_state,
                                            service_subscriber_actor::base>&>(
             *ptr)
      .state;
  }

  std::string contact_of(const node& n) {
    return n.id.to_hex() + "@" + to_string(n.addr);
  }

  /// The error a request fails with (none if it succeeds); `T` is the
  /// type of a successful answer (typed actors need it).
  template<class T, class Handle, class... Ts>
  caf::error failure_of(const Handle& hdl, Ts&&... xs) {
    auto rh = self->request(hdl, caf::infinite, std::forward<Ts>(xs)...);
    dispatch();
    caf::error out;
    rh.receive([](T&) {},
               [&](caf::error& e) {
                 out = e;
               });
    return out;
  }

  service_stats stats(const node& n) {
    return request<service_stats>(n.svc, atom::get_v, atom::stats_v);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(service_tests, fixture)

BOOST_AUTO_TEST_CASE(connect_announces_one_success_on_each_side) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  auto got = request<peer_id>(a.svc, atom::connect_v, contact_of(b));
  BOOST_CHECK(got == b.id);
  dispatch();
  BOOST_REQUIRE_EQUAL(events(a).ups.size(), 1u);
  BOOST_REQUIRE_EQUAL(events(b).ups.size(), 1u);
  BOOST_CHECK(events(a).ups[0].peer == b.id);
  BOOST_CHECK(events(a).ups[0].initiated);
  BOOST_CHECK(events(b).ups[0].peer == a.id);
  BOOST_CHECK(!events(b).ups[0].initiated);
  BOOST_CHECK(request<bool>(a.svc, atom::is_connected_v, b.id));
  BOOST_CHECK(request<bool>(b.svc, atom::is_connected_v, a.id));
  // A second connect answers at once, without a second event.
  BOOST_CHECK(request<peer_id>(a.svc, atom::connect_v, contact_of(b)) == b.id);
  dispatch();
  BOOST_CHECK_EQUAL(events(a).ups.size(), 1u);
  // Messages flow both ways with their priority.
  auto queued = request<uint64_t>(a.svc, atom::send_v, b.id, uint8_t{3},
                                  std::vector<uint8_t>{1, 2, 3});
  BOOST_CHECK_LE(queued, 3u);
  request<uint64_t>(b.svc, atom::send_v, a.id, uint8_t{0},
                    std::vector<uint8_t>{9});
  dispatch();
  BOOST_REQUIRE_EQUAL(events(b).messages.size(), 1u);
  BOOST_CHECK(events(b).messages[0].peer == a.id);
  BOOST_CHECK_EQUAL(events(b).messages[0].priority, 3);
  BOOST_CHECK(events(b).messages[0].payload == (std::vector<uint8_t>{1, 2, 3}));
  BOOST_REQUIRE_EQUAL(events(a).messages.size(), 1u);
  BOOST_CHECK_EQUAL(events(a).messages[0].priority, 0);
  auto peers = request<std::vector<peer_summary>>(a.svc, atom::get_v,
                                                  atom::peers_v);
  BOOST_REQUIRE_EQUAL(peers.size(), 1u);
  BOOST_CHECK(peers[0].peer == b.id);
  BOOST_CHECK_EQUAL(peers[0].transport, "tcp");
  auto st = stats(a);
  BOOST_REQUIRE_EQUAL(st.connections.size(), 1u);
  BOOST_CHECK_EQUAL(st.connections[0].messages_out, 1u);
  BOOST_CHECK_EQUAL(st.connections[0].messages_in, 1u);
  BOOST_CHECK_EQUAL(st.pending_connections, 0u);
}

BOOST_AUTO_TEST_CASE(simultaneous_connects_collapse_to_one_connection) {
  for (int round = 0; round < 20; ++round) {
    auto a = add_node("10.1.0." + std::to_string(round) + ":1000");
    auto b = add_node("10.2.0." + std::to_string(round) + ":2000");
    // Both dial before either runs: two connections authenticate.
    auto ra = self->request(a.svc, caf::infinite, atom::connect_v,
                            contact_of(b));
    auto rb = self->request(b.svc, caf::infinite, atom::connect_v,
                            contact_of(a));
    dispatch();
    peer_id got_a, got_b;
    ra.receive(
      [&](peer_id& x) {
        got_a = x;
      },
      [&](caf::error& e) {
        BOOST_FAIL(sys.render(e));
      });
    rb.receive(
      [&](peer_id& x) {
        got_b = x;
      },
      [&](caf::error& e) {
        BOOST_FAIL(sys.render(e));
      });
    BOOST_CHECK(got_a == b.id);
    BOOST_CHECK(got_b == a.id);
    BOOST_CHECK_EQUAL(events(a).ups.size(), 1u);
    BOOST_CHECK_EQUAL(events(b).ups.size(), 1u);
    BOOST_CHECK(events(a).lost.empty());
    BOOST_CHECK(events(b).lost.empty());
    // Both sides kept the same connection: the one the larger id chose.
    BOOST_REQUIRE_EQUAL(events(a).ups.size(), 1u);
    BOOST_REQUIRE_EQUAL(events(b).ups.size(), 1u);
    BOOST_CHECK_NE(events(a).ups[0].initiated, events(b).ups[0].initiated);
    BOOST_CHECK_EQUAL(stats(a).pending_connections, 0u);
    BOOST_CHECK_EQUAL(stats(b).pending_connections, 0u);
    BOOST_CHECK_EQUAL(stats(a).connections.size(), 1u);
    // And it carries messages.
    request<uint64_t>(a.svc, atom::send_v, b.id, uint8_t{2},
                      std::vector<uint8_t>{7});
    dispatch();
    BOOST_CHECK_EQUAL(events(b).messages.size(), 1u);
  }
}

BOOST_AUTO_TEST_CASE(connect_with_info_dials_every_address_keeps_one) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  // B answers on a second address; a third leads nowhere.
  net->listen(ep("10.0.0.3:2000"), b.svc, b.rc);
  public_connection_info theirs;
  theirs.id = b.id;
  theirs.endpoints = {b.addr, ep("10.0.0.3:2000"), ep("[fd00::2]:2000")};
  private_connection_info ours;
  ours.pub.id = a.id;
  auto got = request<peer_id>(a.svc, atom::connect_v, ours, theirs);
  BOOST_CHECK(got == b.id);
  run();
  BOOST_CHECK_EQUAL(net->dials(), 3u);
  BOOST_CHECK_EQUAL(events(a).ups.size(), 1u);
  BOOST_CHECK_EQUAL(events(b).ups.size(), 1u);
  BOOST_CHECK_EQUAL(stats(a).pending_connections, 0u);
  BOOST_CHECK_EQUAL(stats(b).pending_connections, 0u);
  BOOST_CHECK(events(a).failures.empty());
}

BOOST_AUTO_TEST_CASE(every_address_failing_is_one_connect_failure) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  net->unlisten(b.addr);
  auto err = failure_of<peer_id>(a.svc, atom::connect_v, contact_of(b));
  BOOST_CHECK(has_code(err, errc::socket_failure));
  dispatch();
  BOOST_REQUIRE_EQUAL(events(a).failures.size(), 1u);
  BOOST_CHECK(events(a).failures[0].peer == b.id);
}

BOOST_AUTO_TEST_CASE(wrong_peer_id_is_refused) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  auto c = add_node("10.0.0.3:3000");
  // C's id at B's address.
  auto err = failure_of<peer_id>(a.svc, atom::connect_v,
                                 c.id.to_hex() + "@" + to_string(b.addr));
  BOOST_CHECK(has_code(err, errc::peer_id_mismatch));
  run();
  BOOST_CHECK(events(b).ups.empty());
}

BOOST_AUTO_TEST_CASE(bad_requests_get_clear_errors) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  BOOST_CHECK(has_code(failure_of<peer_id>(a.svc, atom::connect_v,
                                           std::string{"nonsense"}),
                       errc::bad_address));
  BOOST_CHECK(has_code(failure_of<peer_id>(a.svc, atom::connect_v,
                                           "xyz@" + to_string(b.addr)),
                       errc::bad_peer_id));
  BOOST_CHECK(
    has_code(failure_of<peer_id>(a.svc, atom::connect_v, contact_of(a)),
             errc::connect_to_self));
  BOOST_CHECK(
    has_code(failure_of<uint64_t>(a.svc, atom::send_v, b.id, uint8_t{0},
                                  std::vector<uint8_t>{1}),
             errc::peer_not_found));
  BOOST_CHECK(
    has_code(failure_of<std::string>(a.svc, atom::get_v, atom::address_v, b.id),
             errc::peer_not_found));
  BOOST_CHECK(!request<bool>(a.svc, atom::disconnect_v, b.id));
  // No io thread: listening fails with a reason (and an event).
  BOOST_CHECK(
    has_code(failure_of<uint16_t>(a.svc, atom::listen_v), errc::not_listening));
  BOOST_CHECK(has_code(
    failure_of<private_connection_info>(a.svc, atom::prepare_v, uint32_t{7}),
    errc::not_listening));
  dispatch();
  BOOST_CHECK_EQUAL(events(a).other, 2u); // listener_failed, info_prepared
}

BOOST_AUTO_TEST_CASE(disconnect_is_lost_peer_on_both_sides) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  request<peer_id>(a.svc, atom::connect_v, contact_of(b));
  BOOST_CHECK(request<bool>(a.svc, atom::disconnect_v, b.id));
  dispatch();
  BOOST_REQUIRE_EQUAL(events(a).lost.size(), 1u);
  BOOST_CHECK(!events(a).lost[0].reason); // our own doing
  BOOST_REQUIRE_EQUAL(events(b).lost.size(), 1u);
  BOOST_CHECK(has_code(events(b).lost[0].reason, errc::peer_closed));
  BOOST_CHECK(!request<bool>(a.svc, atom::is_connected_v, b.id));
  BOOST_CHECK(!request<bool>(b.svc, atom::is_connected_v, a.id));
}

BOOST_AUTO_TEST_CASE(a_ban_disconnects_a_set_of_peers_at_once) {
  auto a = add_node("10.0.0.1:1000");
  std::vector<node> others;
  std::vector<peer_id> ids;
  for (int i = 0; i < 5; ++i) {
    auto n = add_node("10.0.1." + std::to_string(i) + ":2000");
    request<peer_id>(a.svc, atom::connect_v, contact_of(n));
    others.push_back(n);
    ids.push_back(n.id);
  }
  dispatch();
  BOOST_REQUIRE_EQUAL(events(a).ups.size(), 5u);
  auto bl = request<blacklist_actor>(a.svc, atom::get_v, atom::blacklist_v);
  request<ban_set>(bl, atom::ban_v,
                   std::vector<peer_id>{ids[0], ids[1], ids[2]});
  dispatch();
  BOOST_CHECK_EQUAL(events(a).lost.size(), 3u);
  for (const auto& x : events(a).lost)
    BOOST_CHECK(has_code(x.reason, errc::banned));
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE_EQUAL(events(others[i]).lost.size(), 1u);
    BOOST_CHECK(has_code(events(others[i]).lost[0].reason, errc::banned));
  }
  BOOST_CHECK(events(others[3]).lost.empty());
  BOOST_CHECK(request<bool>(a.svc, atom::is_connected_v, ids[3]));
  // The banned may not come back, from either side.
  auto err = failure_of<peer_id>(others[0].svc, atom::connect_v, contact_of(a));
  BOOST_CHECK(has_code(err, errc::banned));
  err = failure_of<peer_id>(a.svc, atom::connect_v, contact_of(others[1]));
  BOOST_CHECK(has_code(err, errc::banned));
}

BOOST_AUTO_TEST_CASE(heartbeats_keep_idle_peers_and_a_stop_is_lost_peer) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  request<peer_id>(a.svc, atom::connect_v, contact_of(b));
  dispatch();
  // Heartbeats keep an idle connection alive well past the timeout.
  advance_time(30s);
  BOOST_CHECK(events(a).lost.empty());
  BOOST_CHECK(request<bool>(a.svc, atom::is_connected_v, b.id));
  // B's node stops: its connections close with a reason A hears.
  caf::anon_send_exit(b.svc, caf::exit_reason::kill);
  dispatch();
  BOOST_REQUIRE_EQUAL(events(a).lost.size(), 1u);
  BOOST_CHECK(has_code(events(a).lost[0].reason, errc::peer_closed));
}

BOOST_AUTO_TEST_CASE(dead_subscribers_are_dropped) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  auto extra = sys.spawn(recorder, "extra");
  caf::anon_send(a.svc, atom::subscribe_v, extra);
  dispatch();
  caf::anon_send_exit(extra, caf::exit_reason::kill);
  dispatch();
  request<peer_id>(a.svc, atom::connect_v, contact_of(b));
  dispatch();
  BOOST_CHECK_EQUAL(events(a).ups.size(), 1u);
}

// -- discovery: bootstrap grants, gossip, pings
// ---------------------------------

BOOST_AUTO_TEST_CASE(a_node_is_granted_after_the_connect_back) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  auto got = request<bootstrap_connect>(
    a.svc, atom::dial_v,
    bootstrap_candidate{b.id, {to_string(b.addr)}, candidate_source::contact});
  BOOST_CHECK(got.peer == b.id);
  BOOST_CHECK_EQUAL(got.remote, to_string(b.addr));
  dispatch();
  // B dialled A's advertised address to test it before granting.
  BOOST_CHECK_EQUAL(net->dials(), 2u);
  BOOST_REQUIRE_EQUAL(events(b).accepts.size(), 1u);
  BOOST_CHECK(events(b).accepts[0].peer == a.id);
  BOOST_CHECK(!events(b).accepts[0].client);
  // The probe left no trace: one connection each, nobody lost.
  BOOST_CHECK_EQUAL(stats(a).connections.size(), 1u);
  BOOST_CHECK_EQUAL(stats(b).connections.size(), 1u);
  BOOST_CHECK_EQUAL(stats(b).pending_connections, 0u);
  BOOST_CHECK(events(a).lost.empty());
  BOOST_CHECK(events(b).lost.empty());
  BOOST_CHECK_EQUAL(events(a).ups.size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_client_is_granted_without_a_connect_back) {
  node_config nc;
  nc.client = true;
  auto a = add_node("10.0.0.1:1000", nc);
  auto b = add_node("10.0.0.2:2000");
  request<bootstrap_connect>(
    a.svc, atom::dial_v,
    bootstrap_candidate{b.id, {to_string(b.addr)}, candidate_source::contact});
  dispatch();
  BOOST_CHECK_EQUAL(net->dials(), 1u);
  BOOST_REQUIRE_EQUAL(events(b).accepts.size(), 1u);
  BOOST_CHECK(events(b).accepts[0].client);
}

BOOST_AUTO_TEST_CASE(denials_reach_the_bootstrapping_side) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  // Not accepting bootstraps.
  BOOST_CHECK(request<bool>(b.svc, atom::put_v, atom::bootstrap_v, false));
  auto cand
    = bootstrap_candidate{b.id, {to_string(b.addr)}, candidate_source::contact};
  auto err = failure_of<bootstrap_connect>(a.svc, atom::dial_v, cand);
  BOOST_CHECK(has_code(err, errc::not_accepting));
  dispatch();
  BOOST_CHECK(!request<bool>(a.svc, atom::is_connected_v, b.id));
  BOOST_CHECK(events(b).accepts.empty());
  // A node that advertises an address where nobody answers.
  BOOST_CHECK(!request<bool>(b.svc, atom::put_v, atom::bootstrap_v, true));
  auto c = add_node("10.0.0.3:3000", {}, {ep("10.9.9.9:9")});
  err = failure_of<bootstrap_connect>(c.svc, atom::dial_v, cand);
  dispatch();
  BOOST_CHECK(has_code(err, errc::not_reachable));
  BOOST_CHECK(!request<bool>(c.svc, atom::is_connected_v, b.id));
  BOOST_CHECK(events(b).accepts.empty());
  // A client on a client whitelist that leaves it out.
  node_config wl;
  wl.client_whitelist = {"192.0.2.1"};
  auto d = add_node("10.0.0.4:4000", wl);
  node_config cl;
  cl.client = true;
  auto e = add_node("10.0.0.5:5000", cl);
  err = failure_of<bootstrap_connect>(
    e.svc, atom::dial_v,
    bootstrap_candidate{d.id, {to_string(d.addr)}, candidate_source::contact});
  BOOST_CHECK(has_code(err, errc::not_whitelisted));
}

BOOST_AUTO_TEST_CASE(gossip_tells_a_newcomer_about_earlier_peers) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  auto c = add_node("10.0.0.3:3000");
  request<peer_id>(a.svc, atom::connect_v, contact_of(b));
  dispatch();
  request<peer_id>(c.svc, atom::connect_v, contact_of(b));
  dispatch();
  auto learned = request<std::vector<bootstrap_candidate>>(c.svc, atom::get_v,
                                                           atom::gossip_v);
  BOOST_REQUIRE_EQUAL(learned.size(), 1u);
  BOOST_CHECK(learned[0].peer == a.id);
  BOOST_CHECK(learned[0].source == candidate_source::gossip);
  BOOST_REQUIRE_EQUAL(learned[0].endpoints.size(), 1u);
  BOOST_CHECK_EQUAL(learned[0].endpoints[0], to_string(a.addr));
  // A candidate only: dialling it works, and a connected peer drops out.
  auto got = request<peer_id>(c.svc, atom::connect_v,
                              a.id.to_hex() + "@" + learned[0].endpoints[0]);
  BOOST_CHECK(got == a.id);
  dispatch();
  BOOST_CHECK(request<std::vector<bootstrap_candidate>>(c.svc, atom::get_v,
                                                        atom::gossip_v)
                .empty());
  // Nobody learns itself or its gossiping peer.
  BOOST_CHECK(request<std::vector<bootstrap_candidate>>(b.svc, atom::get_v,
                                                        atom::gossip_v)
                .empty());
}

BOOST_AUTO_TEST_CASE(ping_connects_and_closes_again) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  BOOST_CHECK(request<bool>(a.svc, atom::ping_v,
                            cached_peer{b.id, {to_string(b.addr)}, 0}));
  dispatch();
  BOOST_CHECK(!request<bool>(a.svc, atom::is_connected_v, b.id));
  BOOST_CHECK(
    !request<bool>(a.svc, atom::ping_v, cached_peer{b.id, {"10.9.9.9:9"}, 0}));
  BOOST_CHECK(!request<bool>(a.svc, atom::ping_v, cached_peer{b.id, {}, 0}));
}

// -- the rUDP fallback (connects give TCP a head start) -----------------------

namespace {

/// `addr` as a UDP endpoint (the in-memory network keys by protocol).
endpoint udp_of(endpoint addr) {
  addr.protocol = transport_protocol::udp;
  return addr;
}

} // namespace

BOOST_AUTO_TEST_CASE(dropped_tcp_falls_back_to_rudp_after_the_head_start) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  // B's TCP address drops everything; rUDP answers at the same address.
  net->unlisten(b.addr);
  net->blackhole(b.addr);
  net->listen(udp_of(b.addr), b.svc, b.rc);
  auto rh = self->request(a.svc, caf::infinite, atom::connect_v, contact_of(b));
  dispatch();
  BOOST_CHECK_EQUAL(net->dials(), 1u); // TCP only
  advance_time(249ms);
  BOOST_CHECK_EQUAL(net->dials(), 1u);
  BOOST_CHECK(events(a).ups.empty());
  advance_time(1ms);
  BOOST_CHECK_EQUAL(net->dials(), 2u); // now rUDP
  peer_id got;
  rh.receive(
    [&](peer_id& x) {
      got = x;
    },
    [&](caf::error& e) {
      BOOST_FAIL(sys.render(e));
    });
  BOOST_CHECK(got == b.id);
  BOOST_REQUIRE_EQUAL(events(a).ups.size(), 1u);
  BOOST_CHECK_EQUAL(events(a).ups[0].transport, "rudp");
  BOOST_REQUIRE_EQUAL(events(b).ups.size(), 1u);
  // The hanging TCP dial was closed: one connection is left, and it works
  // like any other.
  BOOST_CHECK_EQUAL(stats(a).pending_connections, 0u);
  auto peers = request<std::vector<peer_summary>>(a.svc, atom::get_v,
                                                  atom::peers_v);
  BOOST_REQUIRE_EQUAL(peers.size(), 1u);
  BOOST_CHECK_EQUAL(peers[0].transport, "rudp");
  request<uint64_t>(a.svc, atom::send_v, b.id, uint8_t{1},
                    std::vector<uint8_t>{4, 2});
  dispatch();
  BOOST_REQUIRE_EQUAL(events(b).messages.size(), 1u);
  BOOST_CHECK(events(b).messages[0].payload == (std::vector<uint8_t>{4, 2}));
}

BOOST_AUTO_TEST_CASE(refused_tcp_falls_back_to_rudp_at_once) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  net->unlisten(b.addr);
  net->listen(udp_of(b.addr), b.svc, b.rc);
  // No virtual time passes: the refusal starts rUDP without the head start.
  auto got = request<peer_id>(a.svc, atom::connect_v, contact_of(b));
  BOOST_CHECK(got == b.id);
  BOOST_CHECK_EQUAL(net->dials(), 2u);
  dispatch();
  BOOST_REQUIRE_EQUAL(events(a).ups.size(), 1u);
  BOOST_CHECK_EQUAL(events(a).ups[0].transport, "rudp");
  BOOST_CHECK(events(a).failures.empty());
}

BOOST_AUTO_TEST_CASE(tcp_within_the_head_start_never_dials_rudp) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  net->listen(udp_of(b.addr), b.svc, b.rc);
  auto got = request<peer_id>(a.svc, atom::connect_v, contact_of(b));
  BOOST_CHECK(got == b.id);
  advance_time(1s);
  BOOST_CHECK_EQUAL(net->dials(), 1u);
  BOOST_REQUIRE_EQUAL(events(a).ups.size(), 1u);
  BOOST_CHECK_EQUAL(events(a).ups[0].transport, "tcp");
}

BOOST_AUTO_TEST_CASE(tcp_is_kept_when_both_complete) {
  node_config nc;
  nc.rudp_head_start = caf::timespan{0};
  for (int round = 0; round < 2; ++round) {
    // Either side may be the larger id, the one that chooses.
    auto a = add_node("10.3.0." + std::to_string(round) + ":1000", nc);
    auto b = add_node("10.4.0." + std::to_string(round) + ":2000", nc);
    net->listen(udp_of(b.addr), b.svc, b.rc);
    auto before = net->dials();
    auto got = request<peer_id>(a.svc, atom::connect_v, contact_of(b));
    BOOST_CHECK(got == b.id);
    dispatch();
    BOOST_CHECK_EQUAL(net->dials() - before, 2u); // both at once
    advance_time(3s); // heartbeats keep the one left
    BOOST_REQUIRE_EQUAL(events(a).ups.size(), 1u);
    BOOST_CHECK_EQUAL(events(a).ups[0].transport, "tcp");
    BOOST_REQUIRE_EQUAL(events(b).ups.size(), 1u);
    BOOST_CHECK(events(a).lost.empty());
    BOOST_CHECK(events(b).lost.empty());
    BOOST_CHECK_EQUAL(stats(a).connections.size(), 1u);
    BOOST_CHECK_EQUAL(stats(a).pending_connections, 0u);
    BOOST_CHECK_EQUAL(stats(b).pending_connections, 0u);
  }
}

BOOST_AUTO_TEST_CASE(connection_info_names_the_rudp_endpoints_to_dial) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  net->unlisten(b.addr);
  net->blackhole(b.addr);
  // rUDP on another port, named by the info: no rUDP at the TCP address.
  auto rudp_addr = ep("udp://10.0.0.2:2001");
  net->listen(rudp_addr, b.svc, b.rc);
  net->listen(udp_of(b.addr), b.svc, b.rc); // must not be dialled
  public_connection_info theirs;
  theirs.id = b.id;
  theirs.endpoints = {b.addr, rudp_addr};
  private_connection_info ours;
  ours.pub.id = a.id;
  auto rh = self->request(a.svc, caf::infinite, atom::connect_v, ours, theirs);
  dispatch();
  advance_time(250ms);
  BOOST_CHECK_EQUAL(net->dials(), 2u);
  rh.receive([](peer_id&) {},
             [&](caf::error& e) {
               BOOST_FAIL(sys.render(e));
             });
  BOOST_REQUIRE_EQUAL(events(a).ups.size(), 1u);
  BOOST_CHECK_EQUAL(events(a).ups[0].transport, "rudp");
}

BOOST_AUTO_TEST_CASE(without_rudp_a_refused_tcp_is_the_end) {
  node_config nc;
  nc.rudp = false;
  auto a = add_node("10.0.0.1:1000", nc);
  auto b = add_node("10.0.0.2:2000");
  net->unlisten(b.addr);
  net->listen(udp_of(b.addr), b.svc, b.rc);
  auto err = failure_of<peer_id>(a.svc, atom::connect_v, contact_of(b));
  BOOST_CHECK(has_code(err, errc::socket_failure));
  advance_time(1s);
  BOOST_CHECK_EQUAL(net->dials(), 1u);
}

BOOST_AUTO_TEST_CASE(
  a_dead_rudp_fallback_fails_the_connect_with_the_tcp_reason) {
  auto a = add_node("10.0.0.1:1000");
  auto b = add_node("10.0.0.2:2000");
  auto c = add_node("10.0.0.3:3000");
  // C's id at B's address: TCP proves the wrong key; rUDP is not there.
  auto err = failure_of<peer_id>(a.svc, atom::connect_v,
                                 c.id.to_hex() + "@" + to_string(b.addr));
  BOOST_CHECK(has_code(err, errc::peer_id_mismatch));
  BOOST_CHECK_EQUAL(net->dials(), 2u);
  run();
  BOOST_REQUIRE_EQUAL(events(a).failures.size(), 1u);
}

BOOST_AUTO_TEST_SUITE_END()

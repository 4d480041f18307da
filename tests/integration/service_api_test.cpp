// The SERVICE's requests over real sockets, through blocking_service: the
// listener (events, same port twice, stop and restart, port in use),
// connection info (prepare, text form, both sides connecting with each
// other's info at once over every local address) and the errors of `send`.
// Every wait is bounded.

#include "crust/actors/blocking_service.hpp"
#include "crust/messages/errc.hpp"
#include "crust/transport/codec/connection_info.hpp"

#include "await_connected.hpp"
#include "support/service_test_support.hpp"

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace crust;
using namespace crust::test;

namespace {

bool has_endpoint(const public_connection_info& info, const std::string& text) {
  return std::any_of(info.endpoints.begin(), info.endpoints.end(),
                     [&](const endpoint& ep) {
                       return to_string(ep) == text;
                     });
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(service_api_suite, service_fixture)

BOOST_AUTO_TEST_CASE(listener_reports_its_port_and_restarts) {
  auto& a = add_node();
  auto port = a->listen();
  BOOST_REQUIRE_MESSAGE(port, why(sys, port));
  auto started = a->wait_for<listener_started>(5s);
  BOOST_REQUIRE(started);
  BOOST_CHECK_EQUAL(started->port, *port);
  BOOST_CHECK_MESSAGE(std::find(started->endpoints.begin(),
                                started->endpoints.end(),
                                "127.0.0.1:" + std::to_string(*port))
                        != started->endpoints.end(),
                      "127.0.0.1 missing from the listener's endpoints");
  // Listening again answers the same port.
  auto again = a->listen();
  BOOST_REQUIRE(again);
  BOOST_CHECK_EQUAL(*again, *port);
  // A connection survives stopping the listener; new dials fail.
  a.port = *port;
  auto& b = add_node();
  connect(b, a);
  auto stopped = a->stop_listening();
  BOOST_REQUIRE(stopped);
  BOOST_CHECK(*stopped);
  auto& c = add_node();
  auto refused = c->connect(a.contact(), 15s);
  BOOST_REQUIRE_MESSAGE(!refused, "connected to a stopped listener");
  BOOST_TEST_MESSAGE("dial after stop: " << sys.render(refused.error()));
  BOOST_CHECK(!is(refused.error(), errc::none));
  BOOST_CHECK(await_connected(b, a.id, true));
  auto ping = pattern_bytes(10, 1);
  BOOST_REQUIRE(b->send(a.id, 0, ping));
  auto msg = a->wait_for<new_message>(max_wait);
  BOOST_REQUIRE(msg);
  BOOST_CHECK(msg->payload == ping);
  // Listening again works (on a new random port).
  auto restarted = a->listen();
  BOOST_REQUIRE_MESSAGE(restarted, why(sys, restarted));
  a.port = *restarted;
  connect(c, a);
}

BOOST_AUTO_TEST_CASE(a_port_in_use_is_listener_failed) {
  auto& a = add_listening_node();
  auto conf = test_node_config();
  conf.tcp_port = a.port;
  auto& b = add_node(conf);
  auto res = b->listen();
  BOOST_REQUIRE_MESSAGE(!res, "listened on a port in use");
  BOOST_TEST_MESSAGE("listen on a used port: " << sys.render(res.error()));
  BOOST_CHECK(is(res.error(), errc::socket_failure));
  auto ev = b->wait_for<listener_failed>(5s);
  BOOST_REQUIRE(ev);
  BOOST_CHECK_EQUAL(ev->port, a.port);
  BOOST_CHECK(is(ev->reason, errc::socket_failure));
}

BOOST_AUTO_TEST_CASE(prepare_needs_a_listener) {
  auto& a = add_node();
  auto res = a->prepare(7);
  BOOST_REQUIRE(!res);
  BOOST_CHECK_MESSAGE(is(res.error(), errc::not_listening),
                      sys.render(res.error()));
  auto ev = a->wait_for<connection_info_prepared>(5s);
  BOOST_REQUIRE(ev);
  BOOST_CHECK_EQUAL(ev->token, 7u);
  BOOST_CHECK(is(ev->reason, errc::not_listening));
}

// Both sides prepare their info, swap the text forms and connect with them
// at the same moment: every local address of each side is dialled, and one
// connection survives, several rounds in a row.
BOOST_AUTO_TEST_CASE(connection_info_rendezvous_keeps_one_connection) {
  auto& a = add_listening_node();
  auto& b = add_listening_node();
  const int rounds = under_sanitizer ? 3 : 8;
  for (int round = 0; round < rounds; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      auto token_a = static_cast<uint32_t>(100 + round);
      auto token_b = static_cast<uint32_t>(200 + round);
      auto ours_a = a->prepare(token_a);
      auto ours_b = b->prepare(token_b);
      BOOST_REQUIRE_MESSAGE(ours_a, why(sys, ours_a));
      BOOST_REQUIRE_MESSAGE(ours_b, why(sys, ours_b));
      auto ev_a = a->wait_for<connection_info_prepared>(5s);
      auto ev_b = b->wait_for<connection_info_prepared>(5s);
      BOOST_REQUIRE(ev_a && ev_b);
      BOOST_CHECK_EQUAL(ev_a->token, token_a);
      BOOST_CHECK_EQUAL(ev_b->token, token_b);
      // The text forms travel between the two "shells".
      auto theirs_for_a = public_connection_info::from_text(ev_b->info);
      auto theirs_for_b = public_connection_info::from_text(ev_a->info);
      BOOST_REQUIRE_MESSAGE(theirs_for_a, ev_b->info);
      BOOST_REQUIRE_MESSAGE(theirs_for_b, ev_a->info);
      BOOST_CHECK(*theirs_for_a == ours_b->to_public());
      BOOST_CHECK(*theirs_for_b == ours_a->to_public());
      BOOST_CHECK(theirs_for_a->id == b.id);
      BOOST_CHECK_MESSAGE(has_endpoint(*theirs_for_a,
                                       "127.0.0.1:" + std::to_string(b.port)),
                          ev_b->info);
      if (round == 0) {
        BOOST_TEST_MESSAGE("B's info: " << ev_b->info << " ("
                                        << theirs_for_a->endpoints.size()
                                        << " endpoints)");
        if (has_ipv6_loopback())
          BOOST_CHECK(
            has_endpoint(*theirs_for_a, "[::1]:" + std::to_string(b.port)));
      }
      std::atomic<bool> go{false};
      caf::expected<peer_id> from_a{caf::sec::request_timeout};
      std::thread dialler{[&] {
        while (!go)
          std::this_thread::yield();
        from_a = a->connect(*ours_a, *theirs_for_a);
      }};
      go = true;
      auto from_b = b->connect(*ours_b, *theirs_for_b);
      dialler.join();
      BOOST_REQUIRE_MESSAGE(from_a, "A: " << why(sys, from_a));
      BOOST_REQUIRE_MESSAGE(from_b, "B: " << why(sys, from_b));
      BOOST_CHECK(*from_a == b.id);
      BOOST_CHECK(*from_b == a.id);
      BOOST_REQUIRE(a->wait_for<connect_success>(max_wait));
      BOOST_REQUIRE(b->wait_for<connect_success>(max_wait));
      auto peers_a = a->peers();
      auto peers_b = b->peers();
      BOOST_REQUIRE(peers_a && peers_b);
      BOOST_CHECK_EQUAL(peers_a->size(), 1u);
      BOOST_CHECK_EQUAL(peers_b->size(), 1u);
      // Both sides agree on the surviving connection: one dialled it.
      if (peers_a->size() == 1 && peers_b->size() == 1)
        BOOST_CHECK_NE(peers_a->front().initiated, peers_b->front().initiated);
      auto ping = pattern_bytes(1000, static_cast<uint64_t>(round));
      BOOST_REQUIRE(a->send(b.id, 2, ping));
      auto msg = b->wait_for<new_message>(max_wait);
      BOOST_REQUIRE(msg);
      BOOST_CHECK(msg->payload == ping);
      BOOST_REQUIRE(b->disconnect(a.id));
      BOOST_REQUIRE(a->wait_for<lost_peer>(max_wait));
      BOOST_REQUIRE(b->wait_for<lost_peer>(max_wait));
      BOOST_CHECK(await_connected(a, b.id, false));
      // Nothing else happened: no second success, no failure.
      for (auto* n : {&a, &b}) {
        while (auto ev = (*n)->next_event(0s)) {
          BOOST_CHECK_MESSAGE(
            !std::holds_alternative<connect_success>(*ev)
              && !std::holds_alternative<connect_failure>(*ev),
            "unexpected " << describe(sys, *ev));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(send_errors_are_clear_and_the_connection_stays) {
  auto& b = add_listening_node();
  auto& a = add_node();
  auto stranger = peer_id{fresh_keys().pub};
  auto res = a->send(stranger, 0, pattern_bytes(10, 1));
  BOOST_REQUIRE(!res);
  BOOST_CHECK_MESSAGE(is(res.error(), errc::peer_not_found),
                      sys.render(res.error()));
  connect(a, b);
  // One byte over the limit: refused, handed back, connection kept.
  auto too_big = pattern_bytes(node_config::default_max_message_size + 1, 2);
  res = a->send(b.id, 3, too_big);
  BOOST_REQUIRE_MESSAGE(!res, "a message over the limit was queued");
  BOOST_CHECK_MESSAGE(is(res.error(), errc::message_too_large),
                      sys.render(res.error()));
  auto back = a->wait_for<message_too_large>(5s);
  BOOST_REQUIRE_MESSAGE(back, "no message_too_large event");
  BOOST_CHECK(back->peer == b.id);
  BOOST_CHECK_EQUAL(back->size, too_big.size());
  BOOST_CHECK(back->payload == too_big);
  // Exactly the limit works; so does the empty message.
  auto largest = pattern_bytes(node_config::default_max_message_size, 3);
  BOOST_REQUIRE(a->send(b.id, 3, largest));
  BOOST_REQUIRE(a->send(b.id, 3, {}));
  auto first = b->wait_for<new_message>(max_wait);
  auto second = b->wait_for<new_message>(max_wait);
  BOOST_REQUIRE(first && second);
  BOOST_CHECK(first->payload == largest);
  BOOST_CHECK(second->payload.empty());
  BOOST_CHECK(await_connected(a, b.id, true));
}

BOOST_AUTO_TEST_SUITE_END()

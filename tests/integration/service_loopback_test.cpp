// Services on loopback with real sockets, driven through blocking_service:
// refusals (wrong peer id over IPv4 and IPv6, malformed contacts, network
// name, bans by id in both id orders and by address, rate abuse with an
// automatic ban, whitelist), lost peer within the configured budget
// (disconnect, silence, reset), and duplicate simultaneous connects. Every
// wait is bounded.

#include "crust/actors/blocking_service.hpp"
#include "crust/messages/errc.hpp"
#include "crust/transport/asio_headers.hpp"

#include "await_connected.hpp"
#include "support/service_test_support.hpp"
#include "support/tcp_relay.hpp"

#include <caf/scoped_actor.hpp>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace crust;
using namespace crust::test;

namespace {

/// Every event waiting at `n`, taken out of its queue.
std::vector<service_event> drain(test_node& n) {
  std::vector<service_event> out;
  while (auto ev = n->next_event(0s))
    out.emplace_back(std::move(*ev));
  return out;
}

template<class Event>
size_t count_of(const std::vector<service_event>& events) {
  size_t n = 0;
  for (auto& ev : events)
    if (std::holds_alternative<Event>(ev))
      ++n;
  return n;
}

struct loopback_fixture : service_fixture {
  /// `a` connects to `b`; `b` bans `a`: both lose each other at once, and
  /// neither can connect again.
  void ban_and_reconnect(test_node& b, test_node& a) {
    connect(a, b);
    auto bl = b->blacklist();
    BOOST_REQUIRE(bl);
    auto start = clock_type::now();
    {
      caf::scoped_actor self{sys, true};
      self->request(*bl, max_wait, atom::ban_v, std::vector<peer_id>{a.id})
        .receive([](ban_set&) {},
                 [&](caf::error& err) {
                   BOOST_FAIL(sys.render(err));
                 });
    }
    auto at_a = a->wait_for<lost_peer>(5s);
    auto at_b = b->wait_for<lost_peer>(5s);
    auto elapsed = clock_type::now() - start;
    BOOST_REQUIRE_MESSAGE(at_a, "the banned peer did not lose us");
    BOOST_TEST_MESSAGE("A lost B: " << sys.render(at_a->reason));
    BOOST_CHECK_MESSAGE(is(at_a->reason, errc::banned),
                        "A's reason: " << sys.render(at_a->reason));
    BOOST_CHECK_MESSAGE(at_b, "the banning side has no lost_peer");
    BOOST_TEST_MESSAGE("ban to lost_peer on both sides: " << millis(elapsed)
                                                          << " ms");
    BOOST_CHECK(elapsed < 1s);
    BOOST_CHECK(await_connected(b, a.id, false));
    BOOST_CHECK(await_connected(a, b.id, false));
    // A tries again and hears why it is refused; it never counts as
    // connected, not even for a moment.
    expect_refused(a, b.contact(), errc::banned);
    if (auto ev = a->wait_for<connect_success>(200ms))
      BOOST_ERROR("the banned dialler saw "
                  << describe(sys, service_event{*ev}));
    // B does not dial a peer it banned either.
    auto res = b->connect(a.contact());
    BOOST_REQUIRE(!res);
    BOOST_CHECK_MESSAGE(is(res.error(), errc::banned), sys.render(res.error()));
  }

  /// `from` dials `contact_text` and must fail with `code`; the failure
  /// event must carry the same reason. Returns the rendered error.
  std::string expect_refused(test_node& from, const std::string& contact_text,
                             errc code) {
    auto start = clock_type::now();
    auto res = from->connect(contact_text);
    BOOST_REQUIRE_MESSAGE(!res, "connect to " << contact_text
                                              << " succeeded, expected "
                                              << to_string(code));
    auto text = sys.render(res.error());
    BOOST_TEST_MESSAGE("refused after " << millis(clock_type::now() - start)
                                        << " ms: " << text);
    BOOST_CHECK_MESSAGE(is(res.error(), code),
                        "expected " << to_string(code) << ", got: " << text);
    auto ev = from->wait_for<connect_failure>(5s);
    BOOST_CHECK_MESSAGE(ev, "no connect_failure event");
    if (ev)
      BOOST_CHECK_MESSAGE(is(ev->reason, code),
                          "connect_failure carries " << sys.render(ev->reason));
    return text;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(service_loopback_suite, loopback_fixture)

BOOST_AUTO_TEST_CASE(wrong_peer_id_is_refused_over_ipv4) {
  auto& b = add_listening_node();
  auto& a = add_node();
  auto stranger = peer_id{fresh_keys().pub};
  auto text = expect_refused(a, contact_text(stranger, "127.0.0.1", b.port),
                             errc::peer_id_mismatch);
  BOOST_CHECK_MESSAGE(text.find("does not match") != std::string::npos,
                      "unclear error text: " << text);
  BOOST_CHECK(!b->wait_for<connect_success>(200ms));
  auto connected = b->is_connected(a.id);
  BOOST_REQUIRE(connected);
  BOOST_CHECK(!*connected);
  // The right id still works afterwards.
  connect(a, b);
}

BOOST_AUTO_TEST_CASE(wrong_peer_id_is_refused_over_ipv6) {
  if (!has_ipv6_loopback()) {
    BOOST_TEST_MESSAGE("skipped: this host cannot bind to ::1");
    return;
  }
  auto& b = add_listening_node();
  auto& a = add_node();
  auto stranger = peer_id{fresh_keys().pub};
  expect_refused(a, contact_text(stranger, "[::1]", b.port),
                 errc::peer_id_mismatch);
  BOOST_CHECK(!b->wait_for<connect_success>(200ms));
  // And the right id over ::1 connects.
  connect(a, b, "[::1]");
  auto remote = b->address(a.id);
  BOOST_REQUIRE(remote);
  BOOST_CHECK_MESSAGE(remote->rfind("[::1]:", 0) == 0,
                      "B sees A at " << *remote);
}

BOOST_AUTO_TEST_CASE(malformed_contacts_and_self_are_refused) {
  auto& a = add_listening_node();
  for (auto text : {std::string{"nonsense"}, std::string{"@127.0.0.1:1"},
                    a.id.to_hex() + "@127.0.0.1", a.id.to_hex() + "@[::1:5"}) {
    auto res = a->connect(text);
    BOOST_REQUIRE_MESSAGE(!res, "accepted " << text);
    BOOST_CHECK_MESSAGE(is(res.error(), errc::bad_address)
                          || is(res.error(), errc::bad_peer_id),
                        text << ": " << sys.render(res.error()));
  }
  auto res = a->connect(a.contact());
  BOOST_REQUIRE(!res);
  BOOST_CHECK_MESSAGE(is(res.error(), errc::connect_to_self),
                      sys.render(res.error()));
}

BOOST_AUTO_TEST_CASE(different_network_names_are_refused) {
  auto conf_b = test_node_config();
  conf_b.network_name = "crust-integration-b";
  auto& b = add_listening_node(conf_b);
  auto& a = add_node();
  expect_refused(a, b.contact(), errc::network_mismatch);
  BOOST_CHECK(!b->wait_for<connect_success>(200ms));
}

BOOST_AUTO_TEST_CASE(connection_survives_idle_time_and_disconnect_is_seen) {
  auto& b = add_listening_node(fast_liveness_config());
  auto& a = add_node(fast_liveness_config());
  connect(a, b);
  // Idle for 2.5 inactivity timeouts: heartbeats keep it up.
  auto idle = a->wait_for<lost_peer>(2500ms);
  if (idle)
    BOOST_ERROR(
      "idle connection lost: " << describe(sys, service_event{*idle}));
  BOOST_CHECK(!b->wait_for<lost_peer>(0s));
  // A disconnects: B hears it at once (a close frame, not silence).
  auto start = clock_type::now();
  auto res = a->disconnect(b.id);
  BOOST_REQUIRE(res);
  BOOST_CHECK(*res);
  auto ev = b->wait_for<lost_peer>(5s);
  auto elapsed = clock_type::now() - start;
  BOOST_REQUIRE_MESSAGE(ev, "no lost_peer at B");
  BOOST_CHECK(ev->peer == a.id);
  BOOST_TEST_MESSAGE("lost_peer after disconnect: "
                     << millis(elapsed) << " ms, " << sys.render(ev->reason));
  BOOST_CHECK(elapsed < 1s);
  BOOST_CHECK(await_connected(a, b.id, false));
  BOOST_CHECK(await_connected(b, a.id, false));
  // As in the original Crust, a local disconnect is announced as lost_peer
  // too (with no error).
  auto local = a->wait_for<lost_peer>(1s);
  BOOST_REQUIRE_MESSAGE(local, "no lost_peer for a local disconnect");
  BOOST_CHECK(local->peer == b.id);
  BOOST_CHECK_MESSAGE(!local->reason, sys.render(local->reason));
}

BOOST_AUTO_TEST_CASE(silent_network_yields_lost_peer_within_budget) {
  auto& b = add_listening_node(fast_liveness_config());
  auto& a = add_node(fast_liveness_config());
  tcp_relay relay{b.port};
  auto res = a->connect(contact_text(b.id, "127.0.0.1", relay.port()));
  BOOST_REQUIRE_MESSAGE(res, why(sys, res));
  BOOST_REQUIRE(b->wait_for<connect_success>(max_wait));
  auto start = clock_type::now();
  relay.freeze();
  for (auto* n : {&a, &b}) {
    auto ev = (*n)->wait_for<lost_peer>(5s);
    auto elapsed = clock_type::now() - start;
    BOOST_REQUIRE_MESSAGE(ev, "no lost_peer after the network went silent");
    BOOST_TEST_MESSAGE("lost_peer after silence: " << millis(elapsed) << " ms, "
                                                   << sys.render(ev->reason));
    BOOST_CHECK_MESSAGE(is(ev->reason, errc::peer_silent),
                        sys.render(ev->reason));
    // Budget: the inactivity timeout (1 s) plus the check's granularity.
    BOOST_CHECK(elapsed >= 700ms);
    BOOST_CHECK(elapsed < 2500ms);
  }
}

BOOST_AUTO_TEST_CASE(reset_connection_yields_lost_peer_at_once) {
  auto& b = add_listening_node(fast_liveness_config());
  auto& a = add_node(fast_liveness_config());
  tcp_relay relay{b.port};
  auto res = a->connect(contact_text(b.id, "127.0.0.1", relay.port()));
  BOOST_REQUIRE_MESSAGE(res, why(sys, res));
  BOOST_REQUIRE(b->wait_for<connect_success>(max_wait));
  auto start = clock_type::now();
  relay.reset();
  for (auto* n : {&a, &b}) {
    auto ev = (*n)->wait_for<lost_peer>(5s);
    auto elapsed = clock_type::now() - start;
    BOOST_REQUIRE_MESSAGE(ev, "no lost_peer after a reset");
    BOOST_TEST_MESSAGE("lost_peer after reset: " << millis(elapsed) << " ms, "
                                                 << sys.render(ev->reason));
    BOOST_CHECK(elapsed < 1s);
  }
}

BOOST_AUTO_TEST_CASE(simultaneous_connects_collapse_to_one_connection) {
  auto& a = add_listening_node();
  auto& b = add_listening_node();
  const int rounds = under_sanitizer ? 10 : 25;
  for (int round = 0; round < rounds; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      std::atomic<bool> go{false};
      caf::expected<peer_id> from_a{caf::sec::request_timeout};
      std::thread dialler{[&] {
        while (!go)
          std::this_thread::yield();
        from_a = a->connect(b.contact());
      }};
      go = true;
      auto from_b = b->connect(a.contact());
      dialler.join();
      BOOST_REQUIRE_MESSAGE(from_a, "A's connect: " << why(sys, from_a));
      BOOST_REQUIRE_MESSAGE(from_b, "B's connect: " << why(sys, from_b));
      BOOST_CHECK(*from_a == b.id);
      BOOST_CHECK(*from_b == a.id);
      BOOST_REQUIRE(a->wait_for<connect_success>(max_wait));
      BOOST_REQUIRE(b->wait_for<connect_success>(max_wait));
      BOOST_CHECK(await_connected(a, b.id, true));
      BOOST_CHECK(await_connected(b, a.id, true));
      // Messages flow both ways over the surviving connection.
      auto ping = pattern_bytes(100, static_cast<uint64_t>(round));
      BOOST_REQUIRE(a->send(b.id, 1, ping));
      BOOST_REQUIRE(b->send(a.id, 1, ping));
      auto at_b = b->wait_for<new_message>(max_wait);
      auto at_a = a->wait_for<new_message>(max_wait);
      BOOST_REQUIRE(at_a && at_b);
      BOOST_CHECK(at_a->payload == ping);
      BOOST_CHECK(at_b->payload == ping);
      auto peers_a = a->peers();
      auto peers_b = b->peers();
      BOOST_REQUIRE(peers_a && peers_b);
      BOOST_CHECK_EQUAL(peers_a->size(), 1u);
      BOOST_CHECK_EQUAL(peers_b->size(), 1u);
      auto stats_a = a->stats();
      BOOST_REQUIRE(stats_a);
      BOOST_CHECK_EQUAL(stats_a->connections.size(), 1u);
      // Alternate who ends the round; the other side loses the peer.
      auto& closer = round % 2 == 0 ? a : b;
      auto& other = round % 2 == 0 ? b : a;
      BOOST_REQUIRE(closer->disconnect(other.id));
      BOOST_REQUIRE_MESSAGE(other->wait_for<lost_peer>(max_wait),
                            "no lost_peer after disconnect");
      BOOST_CHECK(await_connected(a, b.id, false));
      BOOST_CHECK(await_connected(b, a.id, false));
      // Nothing else happened: no second success, no failure.
      for (auto* n : {&a, &b}) {
        auto rest = drain(*n);
        for (auto& ev : rest)
          BOOST_TEST_MESSAGE("left over: " << describe(sys, ev));
        BOOST_CHECK_EQUAL(count_of<connect_success>(rest), 0u);
        BOOST_CHECK_EQUAL(count_of<connect_failure>(rest), 0u);
      }
    }
  }
}

// The peer with the larger id chooses the connection, so a ban must work
// whichever of the two is larger: both orders are tested.
BOOST_AUTO_TEST_CASE(ban_disconnects_at_once_and_refuses_reconnects) {
  for (bool banned_is_larger : {false, true}) {
    BOOST_TEST_CONTEXT("the banned peer has the "
                       << (banned_is_larger ? "larger" : "smaller") << " id") {
      auto* x = &add_listening_node();
      auto* y = &add_listening_node();
      if ((x->id > y->id) != banned_is_larger)
        std::swap(x, y);
      ban_and_reconnect(*y, *x);
    }
  }
}

// A ban of the address disconnects every peer there and refuses them in the
// handshake (a refusal, so the dialler never counts as connected).
BOOST_AUTO_TEST_CASE(address_ban_disconnects_and_refuses_in_the_handshake) {
  auto& b = add_listening_node();
  auto& a = add_node();
  connect(a, b);
  auto bl = b->blacklist();
  BOOST_REQUIRE(bl);
  auto start = clock_type::now();
  {
    caf::scoped_actor self{sys, true};
    self->request(*bl, max_wait, atom::ban_v, std::string{"127.0.0.1"})
      .receive([](ban_set&) {},
               [&](caf::error& err) {
                 BOOST_FAIL(sys.render(err));
               });
  }
  auto at_a = a->wait_for<lost_peer>(5s);
  auto at_b = b->wait_for<lost_peer>(5s);
  BOOST_REQUIRE_MESSAGE(at_a, "the banned peer did not lose us");
  BOOST_CHECK_MESSAGE(at_b, "the banning side has no lost_peer");
  BOOST_CHECK_MESSAGE(is(at_a->reason, errc::banned), sys.render(at_a->reason));
  BOOST_TEST_MESSAGE(
    "address ban to lost_peer: " << millis(clock_type::now() - start) << " ms");
  expect_refused(a, b.contact(), errc::banned);
  if (auto ev = a->wait_for<connect_success>(200ms))
    BOOST_ERROR("the banned dialler saw " << describe(sys, service_event{*ev}));
  // IPv6 loopback is another address: not banned.
  if (has_ipv6_loopback())
    connect(a, b, "[::1]");
}

// A peer over the message rate is cut (peer_misbehaved at the receiver,
// lost_peer with the reason at the sender) and, with automatic bans on,
// refused afterwards.
BOOST_AUTO_TEST_CASE(rate_abuse_is_cut_and_banned) {
  auto conf_b = test_node_config();
  conf_b.max_messages_per_second = 50;
  conf_b.ban_after_misbehaviours = 1;
  auto& b = add_listening_node(conf_b);
  auto& a = add_node();
  connect(a, b);
  size_t sent = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    if (!a->send(b.id, 2, pattern_bytes(16, i)))
      break; // the connection is gone
    ++sent;
  }
  auto bad = b->wait_for<peer_misbehaved>(5s);
  BOOST_REQUIRE_MESSAGE(bad,
                        "no peer_misbehaved after " << sent << " messages");
  BOOST_CHECK(bad->peer == a.id);
  BOOST_CHECK_MESSAGE(is(bad->reason, errc::rate_exceeded),
                      sys.render(bad->reason));
  auto lost = a->wait_for<lost_peer>(5s);
  BOOST_REQUIRE(lost);
  BOOST_TEST_MESSAGE("sender cut after at most "
                     << sent << " messages: " << sys.render(lost->reason));
  BOOST_CHECK_MESSAGE(is(lost->reason, errc::rate_exceeded),
                      sys.render(lost->reason));
  BOOST_CHECK(await_connected(b, a.id, false));
  // The automatic ban refuses the next attempt.
  expect_refused(a, b.contact(), errc::banned);
}

BOOST_AUTO_TEST_CASE(whitelist_excluding_loopback_refuses_the_dialler) {
  auto conf_b = test_node_config();
  conf_b.whitelist = {"192.0.2.1"};
  auto& b = add_listening_node(conf_b);
  auto& a = add_node();
  expect_refused(a, b.contact(), errc::not_whitelisted);
  BOOST_CHECK(!b->wait_for<connect_success>(200ms));
  auto stats = b->stats();
  BOOST_REQUIRE(stats);
  BOOST_CHECK_GE(stats->refused_total, 1u);
}

BOOST_AUTO_TEST_SUITE_END()

// The SERVICE's rUDP fallback over real loopback sockets: a connect whose
// TCP address refuses goes over rUDP (named by the connection info, or at
// the contact's own port), says so in `connect_success` and `peers`, and
// every other call works as over TCP: messages both ways (a large one
// checked by hash), an echo (a service frame), address bans, disconnect.
// With rUDP off the refusal is the end. The nftables case (TCP dropped, not
// refused) is tests/netlab/rudp_fallback_test.py. Every wait is bounded.

#include "crust/actors/blocking_service.hpp"
#include "crust/messages/errc.hpp"
#include "crust/transport/asio_headers.hpp"
#include "crust/transport/codec/connection_info.hpp"

#include "support/service_test_support.hpp"

#include <caf/scoped_actor.hpp>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace crust;
using namespace crust::test;

namespace {

/// A loopback TCP port nobody listens on (bound once, then released).
uint16_t closed_tcp_port() {
  asio::io_context ctx;
  asio::ip::tcp::acceptor acc{ctx, {asio::ip::make_address("127.0.0.1"), 0}};
  return acc.local_endpoint().port();
}

/// A UDP port that was free a moment ago.
uint16_t free_udp_port() {
  asio::io_context ctx;
  asio::ip::udp::socket sock{ctx, {asio::ip::make_address("127.0.0.1"), 0}};
  return sock.local_endpoint().port();
}

struct rudp_fixture : service_fixture {
  /// `b`'s connection info on IPv4 loopback only (tests dial nothing
  /// else), with its TCP endpoint moved to a closed port: only rUDP answers.
  public_connection_info refusing_tcp_info(test_node& b) {
    auto info = b->prepare(7);
    BOOST_REQUIRE_MESSAGE(info, "prepare failed: " << why(sys, info));
    auto theirs = info->pub;
    auto& eps = theirs.endpoints;
    eps.erase(std::remove_if(eps.begin(), eps.end(),
                             [](const endpoint& ep) {
                               return ep.ip.to_string() != "127.0.0.1";
                             }),
              eps.end());
    auto dead = closed_tcp_port();
    bool has_udp = false;
    for (auto& ep : eps) {
      if (ep.protocol == transport_protocol::tcp)
        ep.port = dead;
      else
        has_udp = true;
    }
    BOOST_REQUIRE_MESSAGE(has_udp, "the connection info lists no rUDP");
    return theirs;
  }

  /// `a` connects to `b` by `theirs`; requires success over rUDP on both
  /// sides.
  void connect_over_rudp(test_node& a, test_node& b,
                         const public_connection_info& theirs) {
    auto ours = a->prepare(8);
    private_connection_info mine;
    if (ours)
      mine = *ours;
    mine.pub.id = a.id;
    auto start = clock_type::now();
    auto res = a->connect(mine, theirs);
    BOOST_REQUIRE_MESSAGE(res, "connect failed: " << why(sys, res));
    BOOST_TEST_MESSAGE("connected over rUDP in "
                       << millis(clock_type::now() - start) << " ms");
    auto up_a = a->wait_for<connect_success>(max_wait);
    auto up_b = b->wait_for<connect_success>(max_wait);
    BOOST_REQUIRE(up_a && up_b);
    BOOST_CHECK_EQUAL(up_a->transport, "rudp");
    BOOST_CHECK_EQUAL(up_b->transport, "rudp");
    BOOST_CHECK(up_a->initiated);
    BOOST_CHECK(!up_b->initiated);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(service_rudp_suite, rudp_fixture)

BOOST_AUTO_TEST_CASE(connection_info_lists_rudp_endpoints) {
  auto& b = add_listening_node();
  auto info = b->prepare(1);
  BOOST_REQUIRE(info);
  size_t tcp = 0;
  size_t udp = 0;
  for (const auto& ep : info->pub.endpoints) {
    if (ep.protocol == transport_protocol::udp) {
      ++udp;
      // The UDP port takes the TCP port's number when it is free.
      BOOST_CHECK_EQUAL(ep.port, b.port);
    } else {
      ++tcp;
    }
  }
  BOOST_CHECK_GT(tcp, 0u);
  BOOST_CHECK_EQUAL(udp, tcp);
}

BOOST_AUTO_TEST_CASE(refused_tcp_falls_back_to_rudp_and_everything_works) {
  auto& b = add_listening_node();
  auto& a = add_listening_node();
  connect_over_rudp(a, b, refusing_tcp_info(b));
  auto peers = a->peers();
  BOOST_REQUIRE(peers);
  BOOST_REQUIRE_EQUAL(peers->size(), 1u);
  BOOST_CHECK_EQUAL((*peers)[0].transport, "rudp");
  // Messages both ways, one of 1 MiB (many packets), checked by hash.
  auto big = pattern_bytes(1 << 20, 42);
  BOOST_REQUIRE(a->send(b.id, 2, big));
  BOOST_REQUIRE(b->send(a.id, 0, std::vector<uint8_t>{1, 2, 3}));
  auto at_b = b->wait_for<new_message>(max_wait);
  BOOST_REQUIRE_MESSAGE(at_b, "the large message did not arrive");
  BOOST_CHECK_EQUAL(at_b->payload.size(), big.size());
  BOOST_CHECK_EQUAL(content_hash(at_b->payload), content_hash(big));
  BOOST_CHECK_EQUAL(at_b->priority, 2);
  auto at_a = a->wait_for<new_message>(max_wait);
  BOOST_REQUIRE(at_a);
  BOOST_CHECK(at_a->payload == (std::vector<uint8_t>{1, 2, 3}));
  // A service frame each way: the echo names the address B sees us at,
  // our UDP socket.
  std::string seen;
  {
    caf::scoped_actor self{sys, true};
    self->request(a.handle, 10s, atom::get_v, atom::echo_v, b.id)
      .receive(
        [&](std::string& x) {
          seen = std::move(x);
        },
        [&](caf::error& err) {
          BOOST_FAIL("echo failed: " << sys.render(err));
        });
  }
  BOOST_TEST_MESSAGE("B sees A at " << seen);
  BOOST_CHECK_EQUAL(seen.rfind("127.0.0.1:", 0), 0u);
  // The stats name the transport and carry rUDP's own counters.
  auto st = a->stats();
  BOOST_REQUIRE(st);
  BOOST_REQUIRE_EQUAL(st->connections.size(), 1u);
  const auto& cs = st->connections[0];
  BOOST_CHECK_EQUAL(cs.transport, "rudp");
  BOOST_CHECK_GE(cs.messages_out, 1u);
  BOOST_CHECK_GE(cs.service_frames_out, 1u); // the echo request, the gossip
  BOOST_CHECK_GE(cs.service_frames_in, 1u);  // the echo reply
  BOOST_CHECK_GT(cs.smoothed_rtt_us, 0u);
  BOOST_CHECK_GT(cs.bytes_out, big.size());
  auto address = a->address(b.id);
  BOOST_REQUIRE(address);
  BOOST_CHECK_EQUAL(address->rfind("127.0.0.1:", 0), 0u);
  // Too large a message is refused as over TCP.
  auto huge = a->send(
    b.id, 2, std::vector<uint8_t>(test_node_config().max_message_size + 1));
  BOOST_REQUIRE(!huge);
  BOOST_CHECK_MESSAGE(is(huge.error(), errc::message_too_large),
                      sys.render(huge.error()));
  // Disconnect: the peer hears lost_peer.
  BOOST_REQUIRE(a->disconnect(b.id));
  auto lost = b->wait_for<lost_peer>(10s);
  BOOST_REQUIRE_MESSAGE(lost, "B did not lose A");
  auto connected = b->is_connected(a.id);
  BOOST_REQUIRE(connected);
  BOOST_CHECK(!*connected);
}

BOOST_AUTO_TEST_CASE(a_contact_falls_back_to_rudp_at_its_own_port) {
  // B's rUDP on a port where no TCP listens: the contact names that port,
  // TCP is refused there, and rUDP answers at the same number.
  auto conf = test_node_config();
  conf.udp_port = free_udp_port();
  auto& b = add_listening_node(conf);
  auto& a = add_node();
  BOOST_REQUIRE_NE(conf.udp_port, b.port);
  auto res = a->connect(contact_text(b.id, "127.0.0.1", conf.udp_port));
  BOOST_REQUIRE_MESSAGE(res, "connect failed: " << why(sys, res));
  auto up = a->wait_for<connect_success>(max_wait);
  BOOST_REQUIRE(up);
  BOOST_CHECK_EQUAL(up->transport, "rudp");
  BOOST_CHECK_EQUAL(up->remote, "127.0.0.1:" + std::to_string(conf.udp_port));
}

BOOST_AUTO_TEST_CASE(tcp_is_kept_when_it_answers) {
  auto& b = add_listening_node();
  auto& a = add_node();
  connect(a, b);
  auto peers = a->peers();
  BOOST_REQUIRE(peers);
  BOOST_REQUIRE_EQUAL(peers->size(), 1u);
  BOOST_CHECK_EQUAL((*peers)[0].transport, "tcp");
  auto st = a->stats();
  BOOST_REQUIRE(st);
  BOOST_CHECK_EQUAL(st->connections.size(), 1u);
}

BOOST_AUTO_TEST_CASE(an_address_ban_refuses_rudp_too) {
  auto& b = add_listening_node();
  auto& a = add_listening_node();
  auto bl = b->blacklist();
  BOOST_REQUIRE(bl);
  {
    caf::scoped_actor self{sys, true};
    self
      ->request(*bl, max_wait, atom::ban_v, std::string{"127.0.0.1"},
                caf::timespan{10min})
      .receive([](ban_set&) {},
               [&](caf::error& err) {
                 BOOST_FAIL(sys.render(err));
               });
  }
  auto ours = a->prepare(3);
  BOOST_REQUIRE(ours);
  auto res = a->connect(*ours, refusing_tcp_info(b));
  BOOST_REQUIRE_MESSAGE(!res, "a banned address connected over rUDP");
  BOOST_CHECK_MESSAGE(is(res.error(), errc::banned), sys.render(res.error()));
  BOOST_CHECK(!b->wait_for<connect_success>(200ms));
}

BOOST_AUTO_TEST_CASE(without_rudp_a_refused_tcp_is_the_end) {
  auto& b = add_listening_node();
  auto conf = test_node_config();
  conf.rudp = false;
  auto& a = add_node(conf);
  private_connection_info mine;
  mine.pub.id = a.id;
  auto res = a->connect(mine, refusing_tcp_info(b));
  BOOST_REQUIRE(!res);
  BOOST_TEST_MESSAGE("without rUDP: " << sys.render(res.error()));
  BOOST_CHECK(!b->wait_for<connect_success>(200ms));
}

// crust.cipher=aes-gcm: the same calls work over TCP and rUDP; a node of the
// other cipher never connects (the cipher is in the Noise protocol name), so
// an ignored option would fail the second half.
BOOST_AUTO_TEST_CASE(aes_gcm_nodes_connect_over_tcp_and_rudp_not_to_chacha) {
  auto aes = test_node_config();
  aes.cipher = "aes-gcm";
  auto& b = add_listening_node(aes);
  auto& a = add_listening_node(aes);
  connect(a, b);
  auto hello = pattern_bytes(70000, 7);
  BOOST_REQUIRE(a->send(b.id, 1, hello));
  auto at_b = b->wait_for<new_message>(max_wait);
  BOOST_REQUIRE(at_b);
  BOOST_CHECK_EQUAL(content_hash(at_b->payload), content_hash(hello));
  auto& c = add_listening_node(aes);
  connect_over_rudp(c, b, refusing_tcp_info(b));
  BOOST_REQUIRE(c->send(b.id, 1, hello));
  auto over_rudp = b->wait_for<new_message>(max_wait);
  BOOST_REQUIRE(over_rudp);
  BOOST_CHECK(over_rudp->peer == c.id);
  BOOST_CHECK_EQUAL(content_hash(over_rudp->payload), content_hash(hello));
  // A ChaChaPoly node dials the AES-GCM one: over TCP, then over rUDP.
  auto& d = add_node();
  auto tcp = d->connect(b.contact("127.0.0.1"));
  BOOST_REQUIRE_MESSAGE(!tcp, "nodes of different ciphers connected");
  BOOST_TEST_MESSAGE("cipher mismatch over TCP: " << sys.render(tcp.error()));
  private_connection_info mine;
  mine.pub.id = d.id;
  auto rudp = d->connect(mine, refusing_tcp_info(b));
  BOOST_REQUIRE_MESSAGE(!rudp, "nodes of different ciphers connected (rUDP)");
  BOOST_TEST_MESSAGE("cipher mismatch over rUDP: " << sys.render(rudp.error()));
  BOOST_CHECK(!b->wait_for<connect_success>(200ms));
}

BOOST_AUTO_TEST_SUITE_END()

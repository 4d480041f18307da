#include "crust/actors/lan_beacon.hpp"
#include "crust/messages/discovery.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/asio_runtime.hpp"
#include "crust/transport/codec/beacon_packet.hpp"
#include "crust/transport/fd_guard.hpp"

#include "support/deterministic_fixture.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace crust;

namespace {

peer_id pid(uint8_t n) {
  peer_id::bytes_type bytes{};
  bytes.fill(n);
  return peer_id{bytes};
}

endpoint ep(const std::string& text) {
  auto res = endpoint::parse(text);
  BOOST_REQUIRE_MESSAGE(res, text);
  return *res;
}

/// Stands in for the sockets: records what the actor sends.
struct fake_transport : beacon_transport {
  std::vector<byte_buffer> broadcasts;
  std::vector<std::pair<byte_buffer, endpoint>> sent;
  datagram_handler handler;
  bool closed = false;

  void broadcast(byte_buffer bytes) override {
    broadcasts.push_back(std::move(bytes));
  }

  void send_to(byte_buffer bytes, endpoint to) override {
    sent.emplace_back(std::move(bytes), to);
  }

  uint16_t port() const override {
    return 5484;
  }

  void close() override {
    closed = true;
    handler = nullptr;
  }
};

/// Keeps the answer of one discovery.
struct discoverer_state {
  static inline const char* name = "discoverer";
  std::vector<std::vector<beacon_peer>> answers;
  std::vector<caf::error> errors;
};

caf::behavior discoverer(caf::stateful_actor<discoverer_state>* self,
                         lan_beacon_actor beacon) {
  self->request(beacon, caf::infinite, atom::discover_v)
    .then(
      [self](std::vector<beacon_peer>& found) {
        self->state.answers.push_back(std::move(found));
      },
      [self](caf::error& err) {
        self->state.errors.push_back(err);
      });
  return {
    [](atom::ok) {
      // nop
    },
  };
}

discoverer_state& discoverer_of(const caf::actor& hdl) {
  auto ptr = caf::actor_cast<caf::abstract_actor*>(hdl);
  return dynamic_cast<caf::stateful_actor<discoverer_state>&>(*ptr).state;
}

struct fixture : test::deterministic_fixture {
  std::shared_ptr<fake_transport> transport
    = std::make_shared<fake_transport>();
  lan_beacon_config config;
  beacon::network_hash net = beacon::hash_network_name("net");
  std::vector<caf::actor> others;

  fixture() {
    config.network_name = "net";
    config.self = pid(1);
    config.endpoints = {"192.0.2.1:5483", "udp://192.0.2.1:5483"};
    config.open = [t = transport](datagram_handler h) {
      t->handler = std::move(h);
      return expected<std::shared_ptr<beacon_transport>>{t};
    };
  }

  lan_beacon_actor spawn_beacon() {
    auto hdl = sys.spawn(lan_beacon, config);
    dispatch();
    return hdl;
  }

  /// Delivers a datagram as the socket would.
  void feed(const lan_beacon_actor& hdl, const byte_buffer& bytes,
            const std::string& from) {
    caf::anon_send(hdl, atom::received_v, bytes, from);
    dispatch();
  }

  byte_buffer request_bytes(uint64_t nonce,
                            const std::string& network = "net") {
    return beacon::encode(
      beacon::request{beacon::hash_network_name(network), nonce});
  }

  byte_buffer reply_bytes(uint64_t nonce, uint8_t id,
                          const std::string& network = "net") {
    beacon::reply r;
    r.network = beacon::hash_network_name(network);
    r.nonce = nonce;
    r.id = pid(id);
    r.endpoints = {ep("10.0.0." + std::to_string(id) + ":5483")};
    return *beacon::encode(r);
  }

  /// The nonce of the last request the actor broadcast.
  uint64_t last_nonce() {
    BOOST_REQUIRE(!transport->broadcasts.empty());
    auto pkt = beacon::decode(transport->broadcasts.back());
    BOOST_REQUIRE(pkt);
    auto& req = std::get<beacon::request>(*pkt);
    BOOST_CHECK(req.network == net);
    return req.nonce;
  }

  beacon_stats stats(const lan_beacon_actor& hdl) {
    return request<beacon_stats>(hdl, atom::get_v, atom::stats_v);
  }

  void stop(const lan_beacon_actor& hdl) {
    caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    for (auto& x : others)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    run();
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(lan_beacon_suite, fixture)

BOOST_AUTO_TEST_CASE(discover_collects_replies_within_the_window) {
  auto hdl = spawn_beacon();
  auto d = sys.spawn(discoverer, hdl);
  others.push_back(d);
  dispatch();
  BOOST_REQUIRE_EQUAL(transport->broadcasts.size(), 1u);
  BOOST_CHECK_EQUAL(transport->broadcasts[0].size(), beacon::request_size);
  auto nonce = last_nonce();
  feed(hdl, reply_bytes(nonce, 2), "192.0.2.2:40000");
  feed(hdl, reply_bytes(nonce, 3), "192.0.2.3:40000");
  feed(hdl, reply_bytes(nonce, 2), "192.0.2.2:40000");      // heard twice
  feed(hdl, reply_bytes(nonce + 1, 4), "192.0.2.4:40000");  // not ours
  feed(hdl, reply_bytes(nonce, 5, "other"), "192.0.2.5:1"); // other network
  feed(hdl, reply_bytes(nonce, 1), "192.0.2.1:1");          // ourselves
  advance_time(499ms);
  BOOST_CHECK(discoverer_of(d).answers.empty());
  advance_time(1ms);
  auto& st = discoverer_of(d);
  BOOST_REQUIRE_EQUAL(st.answers.size(), 1u);
  auto& found = st.answers[0];
  BOOST_REQUIRE_EQUAL(found.size(), 2u);
  BOOST_CHECK(found[0].peer == pid(2));
  BOOST_CHECK(found[0].endpoints == std::vector<std::string>{"10.0.0.2:5483"});
  BOOST_CHECK_EQUAL(found[0].from, "192.0.2.2:40000");
  BOOST_CHECK(found[1].peer == pid(3));
  // A reply after the window is unsolicited.
  feed(hdl, reply_bytes(nonce, 6), "192.0.2.6:40000");
  auto s = stats(hdl);
  BOOST_CHECK_EQUAL(s.requests_sent, 1u);
  BOOST_CHECK_EQUAL(s.replies_received, 3u);
  BOOST_CHECK_EQUAL(s.unsolicited, 2u);
  BOOST_CHECK_EQUAL(s.other_network, 1u);
  BOOST_CHECK_EQUAL(s.own, 1u);
  stop(hdl);
  BOOST_CHECK(transport->closed);
}

BOOST_AUTO_TEST_CASE(answers_requests_of_its_network_by_unicast) {
  auto hdl = spawn_beacon();
  auto req = request_bytes(77);
  feed(hdl, req, "192.0.2.9:40000");
  BOOST_REQUIRE_EQUAL(transport->sent.size(), 1u);
  auto& [bytes, to] = transport->sent[0];
  BOOST_CHECK(to == ep("192.0.2.9:40000"));
  // No amplification: the reply is at most the factor times the request.
  BOOST_CHECK_LE(static_cast<double>(bytes.size()),
                 beacon::max_amplification * static_cast<double>(req.size()));
  auto pkt = beacon::decode(bytes);
  BOOST_REQUIRE(pkt);
  auto& rep = std::get<beacon::reply>(*pkt);
  BOOST_CHECK(rep.network == net);
  BOOST_CHECK_EQUAL(rep.nonce, 77u);
  BOOST_CHECK(rep.id == pid(1));
  BOOST_CHECK(rep.endpoints
              == (std::vector<endpoint>{ep("192.0.2.1:5483"),
                                        ep("udp://192.0.2.1:5483")}));
  // Another network: ignored.
  feed(hdl, request_bytes(78, "other"), "192.0.2.9:40000");
  BOOST_CHECK_EQUAL(transport->sent.size(), 1u);
  auto s = stats(hdl);
  BOOST_CHECK_EQUAL(s.requests_received, 1u);
  BOOST_CHECK_EQUAL(s.replies_sent, 1u);
  BOOST_CHECK_EQUAL(s.other_network, 1u);
  stop(hdl);
}

BOOST_AUTO_TEST_CASE(malformed_packets_are_ignored_and_counted) {
  auto hdl = spawn_beacon();
  auto req = request_bytes(5);
  feed(hdl, {}, "192.0.2.9:1");
  feed(hdl, byte_buffer(300, 0xff), "192.0.2.9:1");
  feed(hdl, byte_buffer(req.begin(), req.begin() + 100), "192.0.2.9:1");
  auto v2 = req;
  v2[0] = 2;
  feed(hdl, v2, "192.0.2.9:1");
  auto padded = req;
  padded.back() = 1;
  feed(hdl, padded, "192.0.2.9:1");
  BOOST_CHECK(transport->sent.empty());
  BOOST_CHECK_EQUAL(stats(hdl).malformed, 5u);
  BOOST_CHECK_EQUAL(stats(hdl).requests_received, 0u);
  stop(hdl);
}

BOOST_AUTO_TEST_CASE(duplicates_and_rates_are_limited) {
  config.replies_per_source = 2;
  config.burst_per_source = 4;
  auto hdl = spawn_beacon();
  // The same request heard twice (broadcast and multicast): one reply.
  feed(hdl, request_bytes(1), "192.0.2.9:40000");
  feed(hdl, request_bytes(1), "192.0.2.9:40000");
  BOOST_CHECK_EQUAL(transport->sent.size(), 1u);
  // A burst of four per source, then two per second.
  for (uint64_t n = 2; n <= 10; ++n)
    feed(hdl, request_bytes(n), "192.0.2.9:" + std::to_string(40000 + n));
  BOOST_CHECK_EQUAL(transport->sent.size(), 4u);
  advance_time(1s);
  for (uint64_t n = 11; n <= 20; ++n)
    feed(hdl, request_bytes(n), "192.0.2.9:40000");
  BOOST_CHECK_EQUAL(transport->sent.size(), 6u);
  // Another source has its own budget.
  feed(hdl, request_bytes(99), "192.0.2.10:40000");
  BOOST_CHECK_EQUAL(transport->sent.size(), 7u);
  BOOST_CHECK_EQUAL(stats(hdl).rate_limited, 1u + 6u + 8u);
  stop(hdl);
}

BOOST_AUTO_TEST_CASE(the_total_budget_caps_many_sources) {
  config.replies_total = 10;
  config.burst_total = 10;
  auto hdl = spawn_beacon();
  for (int n = 1; n <= 30; ++n)
    feed(hdl, request_bytes(static_cast<uint64_t>(n)),
         "198.51.100." + std::to_string(n) + ":1");
  BOOST_CHECK_EQUAL(transport->sent.size(), 10u);
  advance_time(1s);
  feed(hdl, request_bytes(100), "203.0.113.1:1");
  BOOST_CHECK_EQUAL(transport->sent.size(), 11u);
  stop(hdl);
}

BOOST_AUTO_TEST_CASE(no_endpoints_no_answer_and_own_requests_ignored) {
  config.endpoints.clear();
  auto hdl = spawn_beacon();
  feed(hdl, request_bytes(3), "192.0.2.9:1");
  BOOST_CHECK(transport->sent.empty());
  caf::anon_send(hdl, atom::advertise_v,
                 std::vector<std::string>{"192.0.2.1:7", "not an endpoint"});
  dispatch();
  feed(hdl, request_bytes(4), "192.0.2.9:1");
  BOOST_REQUIRE_EQUAL(transport->sent.size(), 1u);
  auto rep = std::get<beacon::reply>(*beacon::decode(transport->sent[0].first));
  BOOST_CHECK(rep.endpoints == std::vector<endpoint>{ep("192.0.2.1:7")});
  // Our own request, heard back on the LAN, is not answered.
  auto d = sys.spawn(discoverer, hdl);
  others.push_back(d);
  dispatch();
  feed(hdl, transport->broadcasts.back(), "192.0.2.1:50000");
  BOOST_CHECK_EQUAL(transport->sent.size(), 1u);
  BOOST_CHECK_EQUAL(stats(hdl).own, 1u);
  BOOST_CHECK_EQUAL(request<uint16_t>(hdl, atom::get_v, atom::port_v), 5484);
  stop(hdl);
}

BOOST_AUTO_TEST_CASE(windows_are_bounded_and_config_checked) {
  auto hdl = spawn_beacon();
  BOOST_CHECK(request_error(caf::actor_cast<caf::actor>(hdl), atom::discover_v,
                            caf::timespan{0}));
  BOOST_CHECK(request_error(caf::actor_cast<caf::actor>(hdl), atom::discover_v,
                            caf::timespan{11s}));
  stop(hdl);
  for (int broken = 0; broken < 4; ++broken) {
    auto bad = config;
    if (broken == 0)
      bad.self = peer_id{};
    if (broken == 1)
      bad.network_name.clear();
    if (broken == 2)
      bad.window = caf::timespan{0};
    if (broken == 3)
      bad.open = nullptr;
    auto x = sys.spawn(lan_beacon, bad);
    dispatch();
    BOOST_CHECK(request_error(caf::actor_cast<caf::actor>(x), atom::get_v,
                              atom::stats_v));
  }
  auto failing = config;
  failing.open = [](datagram_handler) {
    return expected<std::shared_ptr<beacon_transport>>{
      failure{errc::socket_failure, "no"}};
  };
  auto x = sys.spawn(lan_beacon, failing);
  dispatch();
  BOOST_CHECK(
    request_error(caf::actor_cast<caf::actor>(x), atom::get_v, atom::stats_v));
}

BOOST_AUTO_TEST_SUITE_END()

// -- real sockets on loopback
// ---------------------------------------------------

namespace {

/// A real actor system with an io thread; beacons use loopback only, so no
/// datagram leaves the host.
struct loopback_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  asio_runtime io;
  std::vector<lan_beacon_actor> beacons;

  loopback_fixture() {
    crust::add_message_types(cfg);
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    io.start();
  }

  ~loopback_fixture() {
    for (auto& b : beacons)
      caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
    beacons.clear();
    sys.reset(); // waits for the actors, whose exit closes the sockets
    io.stop();
  }

  lan_beacon_actor spawn(const std::string& network, uint8_t id, uint16_t port,
                         const std::string& advertised) {
    lan_beacon_config config;
    config.network_name = network;
    config.self = pid(id);
    config.endpoints = {advertised};
    config.window = 300ms;
    udp_beacon_config sock;
    sock.port = port;
    sock.interfaces = beacon_interfaces::loopback_only;
    config.open = udp_beacon_factory(io.context(), sock);
    auto hdl = sys->spawn(lan_beacon, config);
    beacons.push_back(hdl);
    return hdl;
  }

  template<class T, class... Ts>
  T ask(const lan_beacon_actor& hdl, Ts&&... xs) {
    caf::scoped_actor self{*sys};
    T out{};
    self->request(hdl, 5s, std::forward<Ts>(xs)...)
      .receive(
        [&](T& x) {
          out = std::move(x);
        },
        [&](caf::error& err) {
          BOOST_FAIL(sys->render(err));
        });
    return out;
  }
};

/// A raw UDP socket on 127.0.0.1 that may broadcast.
int raw_socket() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  BOOST_REQUIRE(fd >= 0);
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof(on));
  return fd;
}

void send_raw(int fd, const byte_buffer& bytes, const char* addr,
              uint16_t port) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, addr, &to.sin_addr);
  auto n = ::sendto(fd, bytes.data(), bytes.size(), 0,
                    reinterpret_cast<sockaddr*>(&to), sizeof(to));
  BOOST_REQUIRE_EQUAL(n, static_cast<ssize_t>(bytes.size()));
}

/// Every datagram arriving on `fd` within `wait` (bounded).
std::vector<byte_buffer> receive_raw(int fd, std::chrono::milliseconds wait) {
  std::vector<byte_buffer> out;
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return out;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return out;
    byte_buffer buf(2048);
    auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n > 0) {
      buf.resize(static_cast<size_t>(n));
      out.push_back(std::move(buf));
    }
  }
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(lan_beacon_loopback, loopback_fixture)

BOOST_AUTO_TEST_CASE(beacons_on_one_host_find_each_other) {
  auto a = spawn("net-a", 1, 0, "127.0.0.1:1111");
  auto port = ask<uint16_t>(a, atom::get_v, atom::port_v);
  BOOST_REQUIRE_NE(port, 0);
  auto b = spawn("net-a", 2, port, "127.0.0.1:2222");
  auto c = spawn("net-b", 3, port, "127.0.0.1:3333");
  // Each answers only once its sockets are open.
  ask<beacon_stats>(b, atom::get_v, atom::stats_v);
  ask<beacon_stats>(c, atom::get_v, atom::stats_v);
  auto from_a = ask<std::vector<beacon_peer>>(a, atom::discover_v);
  BOOST_REQUIRE_EQUAL(from_a.size(), 1u);
  BOOST_CHECK(from_a[0].peer == pid(2));
  BOOST_CHECK(from_a[0].endpoints
              == std::vector<std::string>{"127.0.0.1:2222"});
  auto from_b = ask<std::vector<beacon_peer>>(b, atom::discover_v);
  BOOST_REQUIRE_EQUAL(from_b.size(), 1u);
  BOOST_CHECK(from_b[0].peer == pid(1));
  // The other network hears the requests and ignores them; it finds nobody.
  auto from_c = ask<std::vector<beacon_peer>>(c, atom::discover_v);
  BOOST_CHECK(from_c.empty());
  BOOST_CHECK_GE(ask<beacon_stats>(c, atom::get_v, atom::stats_v).other_network,
                 2u);
  BOOST_CHECK_EQUAL(
    ask<beacon_stats>(c, atom::get_v, atom::stats_v).replies_sent, 0u);
}

BOOST_AUTO_TEST_CASE(replies_are_unicast_and_small_malformed_is_counted) {
  auto a = spawn("net-a", 1, 0, "127.0.0.1:1111");
  auto port = ask<uint16_t>(a, atom::get_v, atom::port_v);
  auto b = spawn("net-a", 2, port, "127.0.0.1:2222");
  auto c = spawn("net-b", 3, port, "127.0.0.1:3333");
  // Each answers only once its sockets are open.
  ask<beacon_stats>(b, atom::get_v, atom::stats_v);
  ask<beacon_stats>(c, atom::get_v, atom::stats_v);
  fd_guard fd{raw_socket()};
  auto req
    = beacon::encode(beacon::request{beacon::hash_network_name("net-a"), 4242});
  send_raw(fd.get(), req, "127.255.255.255", port);
  auto replies = receive_raw(fd.get(), 1000ms);
  // Both nodes of net-a answer, by unicast to our socket; net-b does not.
  BOOST_REQUIRE_EQUAL(replies.size(), 2u);
  std::vector<peer_id> ids;
  for (auto& r : replies) {
    BOOST_CHECK_LE(static_cast<double>(r.size()),
                   beacon::max_amplification * static_cast<double>(req.size()));
    auto pkt = beacon::decode(r);
    BOOST_REQUIRE(pkt);
    BOOST_CHECK_EQUAL(std::get<beacon::reply>(*pkt).nonce, 4242u);
    ids.push_back(std::get<beacon::reply>(*pkt).id);
  }
  std::sort(ids.begin(), ids.end());
  BOOST_CHECK(ids == (std::vector<peer_id>{pid(1), pid(2)}));
  // Garbage reaches every beacon and is counted, never answered.
  send_raw(fd.get(), byte_buffer(100, 0xab), "127.255.255.255", port);
  BOOST_CHECK(receive_raw(fd.get(), 300ms).empty());
  for (auto& x : {a, b, c})
    BOOST_CHECK_EQUAL(
      ask<beacon_stats>(x, atom::get_v, atom::stats_v).malformed, 1u);
}

BOOST_AUTO_TEST_SUITE_END()

// rUDP over real UDP sockets on loopback, with a real actor system and the
// io thread: two UDP ENDPOINTS, an rUDP SESSION each way; a bulk transfer
// checked by hash (64 MiB, 16 under sanitizers; 1 GiB with
// CRUST_RUDP_BIG=1), messages of mixed priorities and sizes complete and in
// order per priority, garbage datagrams counted and harmless, a wrong
// expected peer id refused, a stranger's first datagram answered with at
// most three times its bytes, and IPv6 when ::1 exists. Every wait is
// bounded.

#include "crust/actors/rudp_session.hpp"
#include "crust/actors/udp_endpoint.hpp"
#include "crust/messages/connection_events.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/asio_headers.hpp"
#include "crust/transport/asio_runtime.hpp"
#include "crust/transport/rudp/connection.hpp"

#include "support/loopback.hpp"
#include "support/service_test_support.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <array>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using namespace crust;

using crust::test::has_ipv6_loopback;
using crust::test::under_sanitizer;

namespace {

using clock_type = std::chrono::steady_clock;

/// Longest any single wait may take before the test fails.
constexpr auto max_wait = 30s;

/// Bytes of the bulk transfer: 1 GiB on request, otherwise small enough for
/// a few seconds in release and well inside the CTest timeout under ASan.
size_t bulk_bytes() {
  if (auto* env = std::getenv("CRUST_RUDP_BIG"); env && std::string{env} == "1")
    return size_t{1} << 30;
  return under_sanitizer ? size_t{16} << 20 : size_t{64} << 20;
}

struct real_config : caf::actor_system_config {
  real_config() {
    crust::add_message_types(*this);
    set("scheduler.max-threads", 2);
    set("logger.console-verbosity", caf::atom("quiet"));
    set("logger.file-verbosity", caf::atom("quiet"));
  }
};

noise::keypair make_keys(uint8_t seed) {
  noise::key32 priv{};
  for (size_t i = 0; i < priv.size(); ++i)
    priv[i] = static_cast<uint8_t>(seed * 13 + i + 3);
  auto kp = noise::keypair::from_private(priv);
  BOOST_REQUIRE(kp);
  return *kp;
}

/// FNV-1a, 64 bit: the checksum of each message.
uint64_t fnv1a(const byte_buffer& bytes) {
  uint64_t h = 14695981039346656037ull;
  for (auto b : bytes) {
    h ^= b;
    h *= 1099511628211ull;
  }
  return h;
}

/// Deterministic content of `size` bytes for message `tag`.
byte_buffer payload(size_t size, uint64_t tag) {
  byte_buffer out(size);
  uint64_t x = tag * 0x9e3779b97f4a7c15ull + 1;
  for (auto& byte : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    byte = static_cast<uint8_t>(x);
  }
  return out;
}

bool is(const caf::error& e, errc code) {
  return e.category() == error_category
         && e.code() == static_cast<uint8_t>(code);
}

/// One node: keys, an event sink and its UDP ENDPOINT.
struct node {
  noise::keypair keys;
  peer_id id;
  caf::scoped_actor events;
  udp_endpoint_actor endpoint;
  std::vector<std::string> addresses;

  node(caf::actor_system& sys, uint8_t seed)
    : keys(make_keys(seed)), id(keys.pub), events(sys) {
    // nop
  }

  connection_sink_actor sink() {
    return caf::actor_cast<connection_sink_actor>(events);
  }

  /// Our port on the family of `ip` ("127.0.0.1" or "::1").
  std::string address_for(const std::string& ip) const {
    for (const auto& a : addresses) {
      auto v6 = a.front() == '[';
      if (v6 == (ip.find(':') != std::string::npos)) {
        auto port = a.substr(a.rfind(':') + 1);
        return (v6 ? "[" + ip + "]:" : ip + ":") + port;
      }
    }
    BOOST_FAIL("no socket for " << ip);
    return {};
  }
};

struct rudp_fixture {
  // Destroyed in reverse: the actor system waits for every actor before
  // the io thread stops.
  asio_runtime io;
  real_config cfg;
  caf::actor_system sys{cfg};
  node a{sys, 1};
  node b{sys, 2};
  caf::scoped_actor self{sys};

  rudp_fixture() {
    io.start();
  }

  ~rudp_fixture() {
    for (auto* n : {&a, &b})
      if (n->endpoint)
        caf::anon_send_exit(n->endpoint, caf::exit_reason::user_shutdown);
  }

  void open(node& n, std::vector<std::string> bind) {
    udp_endpoint_config ec;
    ec.bind_addresses = std::move(bind);
    ec.session.connection.local_static = n.keys;
    ec.session.connection.network_name = "crust-rudp-integration";
    ec.accept = true;
    ec.acceptor = n.sink();
    auto ep = spawn_udp_endpoint(sys, io, std::move(ec));
    BOOST_REQUIRE_MESSAGE(ep, (ep ? "" : ep.error().message()));
    n.endpoint = *ep;
    self->request(n.endpoint, max_wait, atom::get_v, atom::address_v)
      .receive(
        [&](std::vector<std::string>& xs) {
          n.addresses = xs;
        },
        [&](caf::error& err) {
          BOOST_FAIL(sys.render(err));
        });
  }

  void open_both(const std::vector<std::string>& bind) {
    open(a, bind);
    open(b, bind);
  }

  /// `from` dials `to` on `ip`, expecting `expected`; the session.
  connection_actor dial(node& from, node& to, const std::string& ip,
                        peer_id expected) {
    connection_actor out;
    self
      ->request(from.endpoint, max_wait, atom::connect_v, to.address_for(ip),
                expected, from.sink())
      .receive(
        [&](connection_actor& s) {
          out = std::move(s);
        },
        [&](caf::error& err) {
          BOOST_FAIL(sys.render(err));
        });
    return out;
  }

  /// Waits for `authenticated` at `n` and answers `choose` (the owner's
  /// part of the choice, wire-protocol.md §5.1); the session.
  connection_actor await_authenticated(node& n, const peer_id& peer) {
    connection_actor session;
    n.events->receive(
      [&](authenticated& x) {
        BOOST_CHECK(x.peer == peer);
        BOOST_CHECK(x.rudp);
        session = caf::actor_cast<connection_actor>(n.events->current_sender());
        n.events->send(session, atom::choose_v);
      },
      caf::after(max_wait) >> [] {});
    BOOST_REQUIRE_MESSAGE(session, "no handshake within the wait");
    return session;
  }

  /// Waits for `established` at `n`.
  void await_established(node& n, const peer_id& peer) {
    bool up = false;
    n.events->receive(
      [&](established& x) {
        BOOST_CHECK(x.peer == peer);
        up = true;
      },
      caf::after(max_wait) >> [] {});
    BOOST_REQUIRE_MESSAGE(up, "not established within the wait");
  }

  /// Both sessions of a dial, `from`'s first.
  std::pair<connection_actor, connection_actor> connect(node& from, node& to,
                                                        const std::string& ip) {
    auto initiator = dial(from, to, ip, to.id);
    auto mine = await_authenticated(from, to.id);
    BOOST_CHECK(mine == initiator);
    auto theirs = await_authenticated(to, from.id);
    await_established(from, to.id);
    await_established(to, from.id);
    return {initiator, theirs};
  }

  udp_endpoint_stats stats(node& n) {
    udp_endpoint_stats out;
    self->request(n.endpoint, max_wait, atom::get_v, atom::stats_v)
      .receive(
        [&](udp_endpoint_stats& x) {
          out = x;
        },
        [&](caf::error& err) {
          BOOST_FAIL(sys.render(err));
        });
    return out;
  }
};

/// Sends `messages` (priority, size) over `session` and checks at `to`
/// that each arrives whole, per priority in order; honours the queue's
/// byte bound by taking deliveries while more than `window` bytes wait.
/// Returns the seconds it took.
double transfer(rudp_fixture& fx, connection_actor session, node& to,
                const std::vector<std::pair<uint8_t, size_t>>& messages) {
  constexpr uint64_t window = uint64_t{8} << 20;
  std::array<std::deque<uint64_t>, 256> expected;
  size_t delivered = 0;
  size_t sent = 0;
  uint64_t queued = 0;
  auto start = clock_type::now();
  auto take_one = [&] {
    bool got = false;
    to.events->receive(
      [&](new_message& m) {
        got = true;
        auto& q = expected[m.priority];
        BOOST_REQUIRE_MESSAGE(!q.empty(), "unexpected message of priority "
                                            << int{m.priority});
        BOOST_REQUIRE_MESSAGE(fnv1a(m.payload) == q.front(),
                              "message " << delivered << " of priority "
                                         << int{m.priority}
                                         << " corrupt or out of order");
        q.pop_front();
        ++delivered;
      },
      [&](lost_peer& x) {
        BOOST_FAIL("lost peer: " << fx.sys.render(x.reason));
      },
      [&](messages_dropped& x) {
        BOOST_FAIL("dropped: " << x.detail);
      },
      caf::after(max_wait) >> [] {});
    BOOST_REQUIRE_MESSAGE(got, "no message within the wait ("
                                 << delivered << " of " << messages.size()
                                 << ")");
  };
  while (delivered < messages.size()) {
    if (sent < messages.size() && queued < window) {
      auto [prio, size] = messages[sent];
      auto bytes = payload(size, sent);
      expected[prio].push_back(fnv1a(bytes));
      bool ok = false;
      fx.self->request(session, max_wait, atom::send_v, prio, std::move(bytes))
        .receive(
          [&](uint64_t q) {
            queued = q;
            ok = true;
          },
          [&](caf::error& err) {
            BOOST_FAIL("send " << sent << ": " << fx.sys.render(err));
          });
      BOOST_REQUIRE(ok);
      ++sent;
    } else {
      take_one();
      queued = queued > window / 8 ? queued - window / 8 : 0;
    }
  }
  std::chrono::duration<double> took = clock_type::now() - start;
  return took.count();
}

/// `n` messages of `size` bytes at priority 1.
std::vector<std::pair<uint8_t, size_t>> bulk(size_t total, size_t size) {
  return std::vector<std::pair<uint8_t, size_t>>(total / size,
                                                 {uint8_t{1}, size});
}

/// 150 messages (60 under sanitizers) of 0 B to 2 MiB, log-uniform, at
/// priorities 0 to 5.
std::vector<std::pair<uint8_t, size_t>> mixed(uint32_t seed) {
  const size_t count = under_sanitizer ? 60 : 150;
  std::mt19937 gen{seed};
  std::uniform_real_distribution<double> exponent{0.0, 21.0};
  std::uniform_int_distribution<int> prio{0, 5};
  std::vector<std::pair<uint8_t, size_t>> out{{0, 0}, {5, 2 << 20}, {3, 1}};
  while (out.size() < count)
    out.emplace_back(static_cast<uint8_t>(prio(gen)),
                     static_cast<size_t>(std::pow(2.0, exponent(gen))));
  return out;
}

/// A plain UDP socket of the test itself.
struct raw_socket {
  asio::io_context ctx;
  asio::ip::udp::socket sock{ctx};

  explicit raw_socket(asio::ip::udp protocol) {
    sock.open(protocol);
  }

  void send(const byte_buffer& bytes, const asio::ip::udp::endpoint& to) {
    sock.send_to(asio::buffer(bytes), to);
  }

  /// Bytes received within `limit`.
  size_t receive_for(clock_type::duration limit) {
    size_t total = 0;
    std::array<uint8_t, 2048> buf;
    asio::ip::udp::endpoint from;
    std::function<void()> more = [&] {
      sock.async_receive_from(asio::buffer(buf), from,
                              [&](std::error_code ec, size_t n) {
                                if (ec)
                                  return;
                                total += n;
                                more();
                              });
    };
    more();
    ctx.run_for(limit);
    return total;
  }
};

asio::ip::udp::endpoint parse(const std::string& text) {
  auto ep = parse_udp_endpoint(text);
  BOOST_REQUIRE(ep);
  return *ep;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(rudp_loopback, rudp_fixture)

BOOST_AUTO_TEST_CASE(bulk_transfer_both_ways_with_checksums) {
  open_both({"127.0.0.1"});
  auto [ab, ba_peer] = connect(a, b, "127.0.0.1");
  auto [ba, ab_peer] = connect(b, a, "127.0.0.1");
  auto bytes = bulk_bytes();
  auto secs = transfer(*this, ab, b, bulk(bytes, 256 << 10));
  BOOST_TEST_MESSAGE("a -> b: " << (bytes >> 20) << " MiB in " << secs << " s: "
                                << static_cast<double>(bytes) * 8 / secs / 1e9
                                << " Gbit/s");
  // The other session carries the other way.
  auto back = transfer(*this, ba, a, bulk(bytes / 4, 64 << 10));
  BOOST_TEST_MESSAGE("b -> a: " << (bytes >> 22) << " MiB in " << back << " s");
  auto sa = stats(a);
  BOOST_CHECK_EQUAL(sa.sessions, 2u);
  BOOST_CHECK_EQUAL(sa.sessions_accepted, 1u);
  BOOST_CHECK_EQUAL(sa.sessions_initiated, 1u);
  BOOST_CHECK_EQUAL(sa.dropped_total(), 0u);
  BOOST_CHECK_EQUAL(stats(b).dropped_total(), 0u);
}

BOOST_AUTO_TEST_CASE(mixed_priorities_and_sizes_arrive_complete_in_order) {
  open_both({"127.0.0.1"});
  auto [ab, theirs] = connect(a, b, "127.0.0.1");
  transfer(*this, ab, b, mixed(7));
  // And the responder's session sends just as well.
  transfer(*this, theirs, a, mixed(8));
}

BOOST_AUTO_TEST_CASE(garbage_is_counted_and_does_not_disturb_a_transfer) {
  open_both({"127.0.0.1"});
  auto [ab, theirs] = connect(a, b, "127.0.0.1");
  auto before = stats(b);
  raw_socket junk{asio::ip::udp::v4()};
  auto target = parse(b.address_for("127.0.0.1"));
  std::mt19937 gen{42};
  constexpr size_t per_kind = 300;
  for (size_t i = 0; i < per_kind; ++i) {
    // Too short.
    junk.send(byte_buffer{1}, target);
    // Another version.
    auto other = payload(100 + i, i);
    other[0] = 7;
    junk.send(other, target);
    // Version 1 data datagrams for connection ids nobody has.
    auto forged = payload(60 + i, i + 1000);
    forged[0] = 1;
    forged[1] = 2;
    junk.send(forged, target);
  }
  transfer(*this, ab, b, bulk(bulk_bytes() / 8, 64 << 10));
  auto after = stats(b);
  auto malformed = after.dropped_malformed - before.dropped_malformed;
  auto unknown
    = (after.dropped_unknown_connection - before.dropped_unknown_connection)
      + (after.dropped_rate_limited - before.dropped_rate_limited);
  BOOST_CHECK_EQUAL(malformed, 2 * per_kind);
  BOOST_CHECK_EQUAL(unknown, per_kind);
  // Beyond the burst, the source's bucket held them back.
  BOOST_CHECK_GT(after.dropped_rate_limited, before.dropped_rate_limited);
  BOOST_CHECK_EQUAL(after.sessions_accepted, before.sessions_accepted);
}

BOOST_AUTO_TEST_CASE(wrong_expected_peer_id_is_refused) {
  open_both({"127.0.0.1"});
  auto wrong = peer_id{make_keys(9).pub};
  auto session = dial(a, b, "127.0.0.1", wrong);
  self->monitor(session);
  std::optional<caf::error> reason;
  self->receive(
    [&](caf::down_msg& dm) {
      reason = dm.reason;
    },
    caf::after(max_wait) >> [] {});
  BOOST_REQUIRE_MESSAGE(reason, "the session did not end");
  BOOST_CHECK_MESSAGE(is(*reason, errc::peer_id_mismatch), sys.render(*reason));
  // Nothing was reported to the dialling side.
  bool heard = false;
  a.events->receive(
    [&](authenticated&) {
      heard = true;
    },
    caf::after(std::chrono::milliseconds{100}) >> [] {});
  BOOST_CHECK(!heard);
}

BOOST_AUTO_TEST_CASE(a_stranger_gets_at_most_three_times_its_bytes) {
  open_both({"127.0.0.1"});
  // A genuine first datagram from an engine of the test, sent from a plain
  // socket several times: every copy is answered by the same responder,
  // and never with more than three times what arrived.
  rudp::connection_config ec;
  ec.channel.side = noise::role::initiator;
  ec.channel.local_static = make_keys(5);
  ec.channel.network_name = "crust-rudp-integration";
  auto engine = rudp::connection::create(ec, clock_type::now());
  BOOST_REQUIRE(engine);
  byte_buffer first;
  BOOST_REQUIRE(engine->poll_datagram(clock_type::now(), first));
  raw_socket stranger{asio::ip::udp::v4()};
  auto target = parse(b.address_for("127.0.0.1"));
  constexpr size_t copies = 5;
  for (size_t i = 0; i < copies; ++i)
    stranger.send(first, target);
  auto answered = stranger.receive_for(std::chrono::milliseconds{500});
  BOOST_CHECK_GT(answered, 0u);
  BOOST_CHECK_LE(answered, 3 * copies * first.size());
  auto s = stats(b);
  BOOST_CHECK_EQUAL(s.sessions_accepted, 1u);
}

BOOST_AUTO_TEST_CASE(ipv6_loopback_transfer) {
  if (!has_ipv6_loopback()) {
    BOOST_TEST_MESSAGE("no ::1 on this host: skipped");
    return;
  }
  open_both({"127.0.0.1", "::1"});
  auto [ab, theirs] = connect(a, b, "::1");
  transfer(*this, ab, b, bulk(bulk_bytes() / 8, 256 << 10));
  transfer(*this, theirs, a, mixed(9));
}

BOOST_AUTO_TEST_SUITE_END()

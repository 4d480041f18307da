// Real sockets on loopback, a real (work-stealing) actor system and the io
// thread: two nodes connect over TCP, run the handshake and exchange
// messages. Every wait is bounded.

#include "crust/actors/connection.hpp"
#include "crust/actors/tcp_pipe.hpp"
#include "crust/messages/connection_events.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/asio_headers.hpp"
#include "crust/transport/asio_listener.hpp"
#include "crust/transport/asio_runtime.hpp"
#include "crust/transport/tcp_stream.hpp"

#include "support/loopback.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

using namespace std::chrono_literals;
using namespace crust;

using crust::test::has_ipv6_loopback;

namespace {

using clock_type = std::chrono::steady_clock;

/// Longest any single wait may take before the test fails.
constexpr auto max_wait = 30s;

/// A real scheduler (two workers: the machine has two cores) with crust's
/// types; CAF's logger quiet.
struct real_config : caf::actor_system_config {
  real_config() {
    crust::add_message_types(*this);
    set("scheduler.max-threads", 2);
    set("logger.console-verbosity", caf::atom("quiet"));
    set("logger.file-verbosity", caf::atom("quiet"));
  }
};

// -- the accepting side
// ---------------------------------------------------------

/// Wires every accepted stream to a CONNECTION (as the SUPERVISOR will),
/// monitors them and tells `observer` each end reason as `(closed, reason)`.
/// `close` closes every connection and quits.
struct acceptor_state {
  static inline const char* name = "acceptor";
  connection_config cfg;
  connection_sink_actor sink;
  caf::actor observer;
  std::vector<connection_actor> conns;
};

caf::behavior acceptor(caf::stateful_actor<acceptor_state>* self,
                       connection_config cfg, connection_sink_actor sink,
                       caf::actor observer) {
  self->state.cfg = std::move(cfg);
  self->state.sink = std::move(sink);
  self->state.observer = std::move(observer);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& conns = self->state.conns;
    for (auto i = conns.begin(); i != conns.end(); ++i) {
      if (caf::actor_cast<caf::actor_addr>(*i) == dm.source) {
        conns.erase(i);
        break;
      }
    }
    self->send(self->state.observer, atom::closed_v, dm.reason);
  });
  return {
    [self](atom::accepted, std::shared_ptr<tcp_stream>& stream) {
      auto conn = spawn_tcp_connection(self->home_system(), std::move(stream),
                                       self->state.cfg, self->state.sink);
      self->monitor(conn);
      self->state.conns.emplace_back(std::move(conn));
    },
    [self](atom::close) {
      for (auto& conn : self->state.conns)
        self->send(conn, atom::close_v);
      self->quit();
    },
  };
}

// -- helpers ------------------------------------------------------------------

noise::keypair make_keys(uint8_t seed) {
  noise::key32 priv{};
  for (size_t i = 0; i < priv.size(); ++i)
    priv[i] = static_cast<uint8_t>(seed * 11 + i + 5);
  auto kp = noise::keypair::from_private(priv);
  BOOST_REQUIRE(kp);
  return *kp;
}

/// Deterministic content: a message of `size` bytes numbered `tag`.
byte_buffer payload(size_t size, uint32_t tag) {
  byte_buffer out(size);
  uint32_t x = 2166136261u ^ (tag * 16777619u);
  for (auto& byte : out) {
    x = x * 1664525u + 1013904223u;
    byte = static_cast<uint8_t>(x >> 24);
  }
  return out;
}

/// 100 sizes from 0 to 2 MiB: a few empty and tiny ones, a few of exactly
/// 2 MiB, frame boundaries, the rest spread over every order of magnitude.
std::vector<size_t> mixed_sizes(uint32_t seed) {
  constexpr size_t max_size = size_t{2} * 1024 * 1024;
  std::vector<size_t> out{0,     1,     2,         23,           65471,
                          65472, 65473, 2 * 65472, max_size - 1, max_size};
  std::mt19937 gen{seed};
  std::uniform_real_distribution<double> exponent{0.0, 21.0};
  while (out.size() < 100) {
    auto size = static_cast<size_t>(std::pow(2.0, exponent(gen)));
    out.push_back(std::min(size, max_size));
  }
  std::shuffle(out.begin(), out.end(), gen);
  return out;
}

size_t total(const std::vector<size_t>& sizes) {
  size_t sum = 0;
  for (auto size : sizes)
    sum += size;
  return sum;
}

/// Any event a CONNECTION SINK gets, or nothing (timeout).
using event = std::variant<std::monostate, authenticated, established,
                           new_message, lost_peer, peer_misbehaved,
                           message_too_large, messages_dropped>;

/// The next event at `sink`; `from` (if given) is set to its sender, the
/// CONNECTION.
event next_event(caf::scoped_actor& sink, caf::timespan timeout = max_wait,
                 connection_actor* from = nullptr) {
  event out;
  sink->receive(
    [&](authenticated& x) {
      out = std::move(x);
      if (from)
        *from = caf::actor_cast<connection_actor>(sink->current_sender());
    },
    [&](established& x) {
      out = std::move(x);
    },
    [&](new_message& x) {
      out = std::move(x);
    },
    [&](lost_peer& x) {
      out = std::move(x);
    },
    [&](peer_misbehaved& x) {
      out = std::move(x);
    },
    [&](message_too_large& x) {
      out = std::move(x);
    },
    [&](messages_dropped& x) {
      out = std::move(x);
    },
    caf::after(timeout) >> [] {});
  return out;
}

std::string describe(caf::actor_system& sys, const event& ev) {
  switch (ev.index()) {
    case 0: return "nothing (timeout)";
    case 1: return "authenticated";
    case 2: return "established";
    case 3: return "new_message";
    case 4: return "lost_peer: " + sys.render(std::get<lost_peer>(ev).reason);
    case 5:
      return "peer_misbehaved: "
             + sys.render(std::get<peer_misbehaved>(ev).reason);
    case 6: return "message_too_large";
    default:
      return "messages_dropped: " + std::get<messages_dropped>(ev).detail;
  }
}

bool is(const caf::error& e, errc code) {
  return e.category() == error_category
         && e.code() == static_cast<uint8_t>(code);
}

/// A raw TCP client: connects to `ep`, writes `junk`, then reads until the
/// server ends the connection. Returns how long that took, or nothing if the
/// connection was still open after `limit`.
std::optional<clock_type::duration>
raw_client(const asio::ip::tcp::endpoint& ep, const byte_buffer& junk,
           clock_type::duration limit) {
  asio::io_context ctx;
  asio::ip::tcp::socket sock{ctx};
  std::error_code ec;
  sock.connect(ep, ec);
  BOOST_REQUIRE_MESSAGE(!ec, "raw client cannot connect: " << ec.message());
  auto start = clock_type::now();
  size_t pos = 0;
  while (pos < junk.size()) {
    auto n = sock.write_some(asio::buffer(junk.data() + pos, junk.size() - pos),
                             ec);
    if (ec)
      break; // cut while writing: what we expect sooner or later
    pos += n;
  }
  bool ended = false;
  std::array<uint8_t, 4096> buf;
  std::function<void()> read_more = [&] {
    sock.async_read_some(asio::buffer(buf), [&](std::error_code rec, size_t) {
      if (rec) {
        ended = true;
        return;
      }
      read_more();
    });
  };
  read_more();
  ctx.run_for(limit);
  if (!ended)
    return std::nullopt;
  return clock_type::now() - start;
}

/// One node: identity, event sink, observer of accepted connections' ends,
/// listener and acceptor.
struct node {
  noise::keypair keys;
  peer_id id;
  caf::scoped_actor events;
  caf::scoped_actor downs;
  std::shared_ptr<tcp_listener> listener;
  caf::actor acceptor;

  node(caf::actor_system& sys, uint8_t seed)
    : keys(make_keys(seed)), id(keys.pub), events(sys), downs(sys) {
    // nop
  }

  connection_config config(noise::role side) const {
    connection_config cfg;
    cfg.side = side;
    cfg.local_static = keys;
    cfg.network_name = "crust-integration";
    return cfg;
  }

  connection_sink_actor sink() {
    return caf::actor_cast<connection_sink_actor>(events);
  }
};

struct tcp_fixture {
  // Destroyed in reverse: the actor system (which waits for every actor)
  // goes before the io thread, so that closing streams still find it.
  asio_runtime io;
  real_config cfg;
  caf::actor_system sys{cfg};
  node a{sys, 1};
  node b{sys, 2};
  std::vector<connection_actor> dialled;

  tcp_fixture() {
    io.start();
  }

  ~tcp_fixture() {
    for (auto* n : {&a, &b}) {
      if (n->listener)
        n->listener->close();
      if (n->acceptor)
        caf::anon_send(n->acceptor, atom::close_v);
    }
    for (auto& conn : dialled)
      caf::anon_send(conn, atom::close_v);
  }

  /// Starts `n` listening on a random port; accepted streams become
  /// responder CONNECTIONS.
  uint16_t listen(node& n, connection_config conf) {
    n.acceptor = sys.spawn(acceptor, std::move(conf), n.sink(),
                           caf::actor{n.downs});
    auto owner = n.acceptor;
    auto lst = tcp_listener::open(
      io.context(), 0, [owner](asio::ip::tcp::socket sock) {
        caf::anon_send(owner, atom::accepted_v,
                       tcp_stream::accepted(std::move(sock)));
      });
    BOOST_REQUIRE_MESSAGE(lst, (lst ? "" : lst.error().message()));
    n.listener = *lst;
    n.listener->start();
    return n.listener->port();
  }

  uint16_t listen(node& n) {
    return listen(n, n.config(noise::role::responder));
  }

  /// `from` dials `to` at `ep`, expecting `to`'s peer id.
  connection_actor dial(node& from, const node& to,
                        const asio::ip::tcp::endpoint& ep) {
    auto conf = from.config(noise::role::initiator);
    conf.expected_peer = to.id;
    auto conn = spawn_tcp_connection(sys,
                                     tcp_stream::connecting(io.context(), ep),
                                     std::move(conf), from.sink());
    dialled.push_back(conn);
    return conn;
  }

  /// Waits for `authenticated` at `n`; returns the peer and sets `conn` to
  /// the CONNECTION that reported it.
  peer_id expect_authenticated(node& n, connection_actor* conn = nullptr) {
    auto ev = next_event(n.events, max_wait, conn);
    BOOST_REQUIRE_MESSAGE(std::holds_alternative<authenticated>(ev),
                          "expected authenticated, got " << describe(sys, ev));
    return std::get<authenticated>(ev).peer;
  }

  void expect_established(node& n, const peer_id& peer) {
    auto ev = next_event(n.events);
    BOOST_REQUIRE_MESSAGE(std::holds_alternative<established>(ev),
                          "expected established, got " << describe(sys, ev));
    BOOST_CHECK(std::get<established>(ev).peer == peer);
  }

  /// Waits until A's connection `ac` and B's `bc` are authenticated, lets
  /// both vet the peer (as the SERVICE does: the larger id picks, the
  /// smaller answers) and waits until both are established. Sets `bc` to the
  /// CONNECTION B's acceptor made.
  void authenticate_and_choose(connection_actor& ac, connection_actor& bc) {
    connection_actor reported;
    BOOST_REQUIRE(expect_authenticated(a, &reported) == b.id);
    BOOST_REQUIRE(reported == ac);
    BOOST_REQUIRE(expect_authenticated(b, &bc) == a.id);
    BOOST_REQUIRE(bc);
    caf::anon_send(ac, atom::choose_v);
    caf::anon_send(bc, atom::choose_v);
    expect_established(a, b.id);
    expect_established(b, a.id);
  }

  /// The priority of message `i` of a batch: a mix of all four.
  static uint8_t priority_of(size_t i) {
    return static_cast<uint8_t>(i % 4);
  }

  /// Receives `sizes.size()` messages at `n` from `from`, numbered from
  /// `first_tag` and sent at `priority_of(i)`, and checks each one's content
  /// and that each priority's messages arrive in the order sent (the
  /// priorities themselves may interleave).
  void expect_messages(node& n, const peer_id& from,
                       const std::vector<size_t>& sizes, uint32_t first_tag) {
    std::array<size_t, 4> next_of{}; // per priority: the index expected next
    auto advance = [&](size_t prio) {
      auto& i = next_of[prio];
      while (i < sizes.size() && priority_of(i) != prio)
        ++i;
    };
    for (size_t prio = 0; prio < 4; ++prio)
      advance(prio);
    for (size_t k = 0; k < sizes.size(); ++k) {
      auto ev = next_event(n.events);
      BOOST_REQUIRE_MESSAGE(std::holds_alternative<new_message>(ev),
                            "message " << k << ": expected new_message, got "
                                       << describe(sys, ev));
      auto& msg = std::get<new_message>(ev);
      BOOST_REQUIRE(msg.peer == from);
      BOOST_REQUIRE_LT(msg.priority, 4);
      auto& i = next_of[msg.priority];
      BOOST_REQUIRE_LT(i, sizes.size());
      BOOST_REQUIRE_EQUAL(msg.payload.size(), sizes[i]);
      BOOST_REQUIRE_MESSAGE(
        msg.payload == payload(sizes[i], first_tag + static_cast<uint32_t>(i)),
        "message " << i << " (" << sizes[i] << " bytes, priority "
                   << int{msg.priority} << ") differs or is out of order");
      ++i;
      advance(msg.priority);
    }
  }

  void send_all(const connection_actor& conn, const std::vector<size_t>& sizes,
                uint32_t first_tag) {
    for (size_t i = 0; i < sizes.size(); ++i)
      caf::anon_send(conn, atom::send_v, priority_of(i),
                     payload(sizes[i], first_tag + static_cast<uint32_t>(i)));
  }

  connection_stats stats_of(const connection_actor& conn) {
    caf::scoped_actor asker{sys};
    connection_stats out;
    asker->request(conn, max_wait, atom::get_v, atom::stats_v)
      .receive(
        [&](connection_stats& x) {
          out = std::move(x);
        },
        [&](caf::error& err) {
          BOOST_FAIL("stats: " << sys.render(err));
        });
    return out;
  }

  /// Connects A to B at `addr`, exchanges 100 messages each way, closes A's
  /// side and checks that B loses A promptly.
  void exchange_over(const asio::ip::address& addr) {
    auto port = listen(b);
    auto conn = dial(a, b, {addr, port});
    connection_actor b_conn; // the one B's acceptor made
    authenticate_and_choose(conn, b_conn);
    auto a_sizes = mixed_sizes(1);
    auto b_sizes = mixed_sizes(2);
    send_all(conn, a_sizes, 1000);
    send_all(b_conn, b_sizes, 2000);
    expect_messages(b, a.id, a_sizes, 1000);
    expect_messages(a, b.id, b_sizes, 2000);
    BOOST_TEST_MESSAGE("exchanged " << total(a_sizes) << " + " << total(b_sizes)
                                    << " bytes");
    // Every byte handed to the socket was reported written: the window is
    // empty again once the peer read everything.
    auto deadline = clock_type::now() + max_wait;
    auto sa = stats_of(conn);
    while (sa.unflushed_bytes > 0 && clock_type::now() < deadline) {
      std::this_thread::sleep_for(10ms);
      sa = stats_of(conn);
    }
    BOOST_CHECK_EQUAL(sa.unflushed_bytes, 0u);
    BOOST_CHECK_EQUAL(sa.queued_messages, 0u);
    BOOST_CHECK_EQUAL(sa.messages_out, a_sizes.size());
    BOOST_CHECK(sa.established && sa.initiated);
    // Disconnect: B sees lost_peer at once.
    auto start = clock_type::now();
    caf::anon_send(conn, atom::close_v);
    auto ev = next_event(b.events);
    auto elapsed = clock_type::now() - start;
    BOOST_REQUIRE_MESSAGE(std::holds_alternative<lost_peer>(ev),
                          "expected lost_peer, got " << describe(sys, ev));
    BOOST_CHECK(std::get<lost_peer>(ev).peer == a.id);
    BOOST_TEST_MESSAGE(
      "lost_peer after "
      << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
      << " ms");
    BOOST_CHECK(elapsed < 2s);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(tcp_connection_suite, tcp_fixture)

BOOST_AUTO_TEST_CASE(exchange_over_ipv4_loopback) {
  exchange_over(asio::ip::address_v4::loopback());
}

BOOST_AUTO_TEST_CASE(exchange_over_ipv6_loopback) {
  if (!has_ipv6_loopback()) {
    BOOST_TEST_MESSAGE("skipped: this host cannot bind to ::1");
    return;
  }
  exchange_over(asio::ip::address_v6::loopback());
}

BOOST_AUTO_TEST_CASE(garbage_client_is_cut_without_disturbing_a_transfer) {
  auto port = listen(b);
  asio::ip::tcp::endpoint ep{asio::ip::address_v4::loopback(), port};
  auto conn = dial(a, b, ep);
  connection_actor b_conn;
  authenticate_and_choose(conn, b_conn);
  // A transfer in flight while the garbage arrives.
  auto sizes = mixed_sizes(3);
  send_all(conn, sizes, 3000);
  auto cut_after = raw_client(ep, payload(256 * 1024, 77), 10s);
  BOOST_REQUIRE_MESSAGE(cut_after, "the garbage client was not cut");
  BOOST_TEST_MESSAGE(
    "garbage client cut after "
    << std::chrono::duration_cast<std::chrono::milliseconds>(*cut_after).count()
    << " ms");
  BOOST_CHECK(*cut_after < 5s); // refused at once, not at the deadline
  // Its CONNECTION died of the junk, before any handshake.
  caf::error reason;
  b.downs->receive(
    [&](atom::closed, caf::error& err) {
      reason = err;
    },
    caf::after(max_wait) >> [] {});
  BOOST_CHECK_MESSAGE(is(reason, errc::unknown_version)
                        || is(reason, errc::malformed_message),
                      "garbage connection ended with " << sys.render(reason));
  // The transfer is complete and intact; no other event came in between.
  expect_messages(b, a.id, sizes, 3000);
}

BOOST_AUTO_TEST_CASE(silent_client_is_cut_at_the_handshake_deadline) {
  auto conf = b.config(noise::role::responder);
  conf.handshake_timeout = 1s;
  auto port = listen(b, std::move(conf));
  auto cut_after = raw_client({asio::ip::address_v4::loopback(), port}, {},
                              10s);
  BOOST_REQUIRE_MESSAGE(cut_after, "the silent client was not cut");
  BOOST_CHECK(*cut_after >= 900ms);
  BOOST_CHECK(*cut_after < 5s);
  caf::error reason;
  b.downs->receive(
    [&](atom::closed, caf::error& err) {
      reason = err;
    },
    caf::after(max_wait) >> [] {});
  BOOST_CHECK_MESSAGE(is(reason, errc::handshake_timeout),
                      "silent connection ended with " << sys.render(reason));
}

BOOST_AUTO_TEST_CASE(refused_address_learns_why) {
  auto conf = b.config(noise::role::responder);
  conf.refusal = noise::channel_refusal{noise::refusal_reason::not_whitelisted,
                                        ""};
  auto port = listen(b, std::move(conf));
  caf::scoped_actor watcher{sys};
  auto conn = dial(a, b, {asio::ip::address_v4::loopback(), port});
  watcher->monitor(conn);
  caf::error reason;
  watcher->receive(
    [&](caf::down_msg& dm) {
      reason = dm.reason;
    },
    caf::after(max_wait) >> [] {});
  BOOST_CHECK_MESSAGE(is(reason, errc::not_whitelisted),
                      "ended with " << sys.render(reason));
  BOOST_TEST_MESSAGE("refused: " << sys.render(reason));
  // Neither side authenticated anything.
  BOOST_CHECK(
    std::holds_alternative<std::monostate>(next_event(a.events, 100ms)));
  BOOST_CHECK(
    std::holds_alternative<std::monostate>(next_event(b.events, 100ms)));
}

BOOST_AUTO_TEST_CASE(connect_to_a_closed_port_fails_with_the_reason) {
  // A port that was free a moment ago: nothing listens there.
  uint16_t port = 0;
  {
    asio::io_context ctx;
    asio::ip::tcp::acceptor acc{ctx, {asio::ip::address_v4::loopback(), 0}};
    port = acc.local_endpoint().port();
  }
  caf::scoped_actor watcher{sys};
  auto conn = dial(a, b, {asio::ip::address_v4::loopback(), port});
  watcher->monitor(conn);
  caf::error reason;
  bool down = false;
  watcher->receive(
    [&](caf::down_msg& dm) {
      down = true;
      reason = dm.reason;
    },
    caf::after(max_wait) >> [] {});
  BOOST_REQUIRE(down);
  BOOST_CHECK_MESSAGE(is(reason, errc::socket_failure),
                      "ended with " << sys.render(reason));
  BOOST_TEST_MESSAGE("connect failure: " << sys.render(reason));
  // Nothing reached the sink: the peer never authenticated.
  auto ev = next_event(a.events, 100ms);
  BOOST_CHECK(std::holds_alternative<std::monostate>(ev));
}

BOOST_AUTO_TEST_CASE(stream_stops_reading_until_the_owner_consumes) {
  // Two bare streams, no actors: the server writes 4 MiB at once; the client
  // delivers at most `max_unconsumed` plus one chunk until it is told that
  // the bytes were consumed.
  std::mutex mtx;
  std::condition_variable cv;
  std::shared_ptr<tcp_stream> server;
  auto lst
    = tcp_listener::open(io.context(), 0, [&](asio::ip::tcp::socket sock) {
        std::lock_guard<std::mutex> guard{mtx};
        server = tcp_stream::accepted(std::move(sock));
        cv.notify_all();
      });
  BOOST_REQUIRE(lst);
  (*lst)->start();
  tcp_stream_config scfg;
  scfg.read_chunk = 16 * 1024;
  scfg.max_unconsumed = 64 * 1024;
  auto client = tcp_stream::connecting(
    io.context(), {asio::ip::address_v4::loopback(), (*lst)->port()}, scfg);
  byte_buffer received;
  bool ended = false;
  tcp_stream::handler h;
  h.on_data = [&](byte_buffer bytes) {
    std::lock_guard<std::mutex> guard{mtx};
    received.insert(received.end(), bytes.begin(), bytes.end());
    cv.notify_all();
  };
  h.on_closed = [&](const failure&) {
    std::lock_guard<std::mutex> guard{mtx};
    ended = true;
    cv.notify_all();
  };
  client->start(std::move(h));
  // Whatever fails below, no socket may outlive the test (the io thread
  // would never run out of work).
  auto cleanup = std::shared_ptr<void>(nullptr, [&](void*) {
    client->close();
    (*lst)->close();
    std::lock_guard<std::mutex> guard{mtx};
    if (server)
      server->close();
  });
  std::unique_lock<std::mutex> lock{mtx};
  BOOST_REQUIRE(cv.wait_for(lock, max_wait, [&] {
    return server != nullptr;
  }));
  server->start({});
  const auto data = payload(4 * 1024 * 1024, 42);
  server->write(data);
  BOOST_REQUIRE(cv.wait_for(lock, max_wait, [&] {
    return received.size() >= scfg.max_unconsumed;
  }));
  // Nothing more arrives while nothing is consumed (the rest waits in the
  // kernel buffers and the server's queue).
  cv.wait_for(lock, 300ms, [] {
    return false;
  });
  BOOST_CHECK_LT(received.size(), scfg.max_unconsumed + scfg.read_chunk);
  BOOST_TEST_MESSAGE("delivered before consuming: " << received.size());
  // Consuming lets it run to the end, intact.
  size_t acked = 0;
  auto deadline = clock_type::now() + max_wait;
  while (received.size() < data.size() && clock_type::now() < deadline) {
    client->consumed(received.size() - acked);
    acked = received.size();
    cv.wait_for(lock, 100ms, [&] {
      return received.size() > acked;
    });
  }
  BOOST_CHECK(received == data);
  // The last chunks are consumed too: with 64 KiB or more of them still
  // unconsumed the client would stop reading and never see the end.
  client->consumed(received.size() - acked);
  // An orderly shutdown of the server ends the client's stream.
  server->shutdown();
  BOOST_CHECK(cv.wait_for(lock, max_wait, [&] {
    return ended;
  }));
  lock.unlock();
}

BOOST_AUTO_TEST_SUITE_END()

#include "crust/actors/connection.hpp"
#include "crust/messages/connection_events.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/type_ids.hpp"

#include "support/deterministic_fixture.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using namespace crust;

namespace {

using time_point = caf::actor_clock::time_point;

// -- an in-memory byte pipe ---------------------------------------------------

/// A BYTE PIPE that hands every write to the other side's CONNECTION as
/// `received`, and its close as `closed` (end of stream). Knobs for tests:
/// `mute` drops writes (the peer hears nothing), `flip_at` corrupts one byte
/// at an offset of the stream.
struct pipe_state {
  static inline const char* name = "mem_pipe";
  /// The CONNECTION at the other end.
  connection_actor target;
  bool mute = false;
  std::optional<size_t> flip_at;
  /// Bytes written so far (the stream offset).
  size_t offset = 0;
  /// Every write: when, and how many bytes.
  std::vector<std::pair<time_point, size_t>> writes;
  uint64_t acked = 0;
  bool closed = false;
};

caf::behavior mem_pipe(caf::stateful_actor<pipe_state>* self,
                       std::string label) {
  static_cast<void>(label); // spawn functions take an argument (UBSan)
  return {
    [self](atom::put, connection_actor target) {
      self->state.target = std::move(target);
    },
    [self](atom::write, std::vector<uint8_t>& bytes) {
      auto& st = self->state;
      st.writes.emplace_back(self->clock().now(), bytes.size());
      if (st.flip_at && *st.flip_at >= st.offset
          && *st.flip_at < st.offset + bytes.size())
        bytes[*st.flip_at - st.offset] ^= 0x01;
      st.offset += bytes.size();
      if (!st.mute && st.target)
        self->send(st.target, atom::received_v, std::move(bytes));
    },
    [self](atom::ack, uint64_t n) {
      self->state.acked += n;
    },
    [self](atom::close) {
      self->state.closed = true;
      if (self->state.target)
        self->send(self->state.target, atom::closed_v, caf::error{});
      self->quit();
    },
  };
}

// -- a sink that keeps every event
// ---------------------------------------------

struct sink_state {
  static inline const char* name = "sink";
  std::vector<connected> ups;
  std::vector<new_message> messages;
  std::vector<lost_peer> lost;
  std::vector<time_point> lost_at;
  std::vector<peer_misbehaved> bad;
  std::vector<message_too_large> too_large;
};

connection_sink_actor::behavior_type
event_sink(connection_sink_actor::stateful_pointer<sink_state> self,
           std::string label) {
  static_cast<void>(label);
  return {
    [self](connected& x) {
      self->state.ups.emplace_back(std::move(x));
    },
    [self](new_message& x) {
      self->state.messages.emplace_back(std::move(x));
    },
    [self](lost_peer& x) {
      self->state.lost.emplace_back(std::move(x));
      self->state.lost_at.emplace_back(self->clock().now());
    },
    [self](peer_misbehaved& x) {
      self->state.bad.emplace_back(std::move(x));
    },
    [self](message_too_large& x) {
      self->state.too_large.emplace_back(std::move(x));
    },
  };
}

// -- helpers ------------------------------------------------------------------

noise::keypair make_keys(uint8_t seed) {
  noise::key32 priv{};
  for (size_t i = 0; i < priv.size(); ++i)
    priv[i] = static_cast<uint8_t>(seed * 7 + i + 1);
  auto kp = noise::keypair::from_private(priv);
  BOOST_REQUIRE(kp);
  return *kp;
}

peer_id id_of(uint8_t seed) {
  return peer_id{make_keys(seed).pub};
}

connection_config make_config(noise::role side, uint8_t seed,
                              std::string network = "crust-test") {
  connection_config cfg;
  cfg.side = side;
  cfg.local_static = make_keys(seed);
  cfg.network_name = std::move(network);
  cfg.remote = side == noise::role::initiator ? "A" : "B";
  return cfg;
}

/// Deterministic content: a message of `size` bytes numbered `tag`.
byte_buffer payload(size_t size, uint8_t tag) {
  byte_buffer out(size);
  uint32_t x = 2166136261u ^ tag;
  for (auto& byte : out) {
    x = x * 16777619u + 0x9e3779b9u;
    byte = static_cast<uint8_t>(x >> 24);
  }
  return out;
}

bool is(const caf::error& e, errc code) {
  return e.category() == error_category
         && e.code() == static_cast<uint8_t>(code);
}

/// One end: its pipe (writes go to the other end), sink and connection, and
/// the connection's exit reason once it terminated.
struct end_point {
  caf::actor pipe;
  connection_sink_actor sink;
  connection_actor conn;
  std::shared_ptr<std::optional<caf::error>> exit
    = std::make_shared<std::optional<caf::error>>();
};

struct connection_fixture : test::deterministic_fixture {
  end_point a; // the initiator, seed 1
  end_point b; // the responder, seed 2

  ~connection_fixture() {
    for (auto* x : {&a, &b}) {
      for (auto hdl : {caf::actor_cast<caf::actor>(x->conn), x->pipe,
                       caf::actor_cast<caf::actor>(x->sink)})
        if (hdl)
          caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    }
    dispatch();
  }

  /// Spawns pipe, sink and connection of one end; the pipe gets no target.
  void spawn_end(end_point& x, connection_config conf, const std::string& tag) {
    x.pipe = sys.spawn(mem_pipe, "pipe-" + tag);
    x.sink = sys.spawn(event_sink, "sink-" + tag);
    x.conn = sys.spawn(connection, std::move(conf),
                       caf::actor_cast<byte_pipe_actor>(x.pipe), x.sink);
    auto exit = x.exit;
    caf::actor_cast<caf::abstract_actor*>(x.conn)->attach_functor(
      [exit](const caf::error& reason) {
        *exit = reason;
      });
  }

  /// Spawns both ends, each pipe delivering to the other connection.
  void spawn_pair(connection_config ca, connection_config cb) {
    spawn_end(a, std::move(ca), "a");
    spawn_end(b, std::move(cb), "b");
    caf::anon_send(a.pipe, atom::put_v, b.conn);
    caf::anon_send(b.pipe, atom::put_v, a.conn);
  }

  /// Spawns a default pair and runs the handshake.
  void connect_pair() {
    spawn_pair(make_config(noise::role::initiator, 1),
               make_config(noise::role::responder, 2));
    dispatch();
    BOOST_REQUIRE_EQUAL(sink(a).ups.size(), 1u);
    BOOST_REQUIRE_EQUAL(sink(b).ups.size(), 1u);
  }

  pipe_state& pipe(end_point& x) {
    auto ptr = caf::actor_cast<caf::abstract_actor*>(x.pipe);
    return dynamic_cast<caf::stateful_actor<pipe_state>&>(*ptr).state;
  }

  sink_state& sink(end_point& x) {
    auto ptr = caf::actor_cast<caf::abstract_actor*>(x.sink);
    return dynamic_cast<connection_sink_actor::stateful_base<sink_state>&>(*ptr)
      .state;
  }

  connection_stats stats(end_point& x) {
    return request<connection_stats>(x.conn, atom::get_v, atom::stats_v);
  }

  bool alive(end_point& x) {
    return !x.exit->has_value();
  }

  void send(end_point& x, byte_buffer msg) {
    self->send(x.conn, atom::send_v, std::move(msg));
  }

  /// Closes both connections (they re-arm timers) and runs to the end.
  void close_both() {
    for (auto* x : {&a, &b})
      if (x->conn && alive(*x))
        self->send(x->conn, atom::close_v);
    dispatch();
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(connection_suite, connection_fixture)

BOOST_AUTO_TEST_CASE(handshake_then_messages_both_ways) {
  connect_pair();
  BOOST_CHECK_EQUAL(sink(a).ups[0].peer, id_of(2));
  BOOST_CHECK_EQUAL(sink(b).ups[0].peer, id_of(1));
  // The handshake is 268 bytes: 100 + 68 from A, 100 from B.
  BOOST_CHECK_EQUAL(pipe(a).offset, 168u);
  BOOST_CHECK_EQUAL(pipe(b).offset, 100u);
  const std::vector<size_t> sizes{0, 1, 64 * 1024, 2 * 1024 * 1024};
  uint8_t tag = 0;
  for (auto size : sizes) {
    send(a, payload(size, tag++));
    send(b, payload(size, tag++));
  }
  dispatch();
  BOOST_REQUIRE_EQUAL(sink(b).messages.size(), sizes.size());
  BOOST_REQUIRE_EQUAL(sink(a).messages.size(), sizes.size());
  tag = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const auto& at_b = sink(b).messages[i];
    const auto& at_a = sink(a).messages[i];
    BOOST_CHECK_EQUAL(at_b.peer, id_of(1));
    BOOST_CHECK_EQUAL(at_a.peer, id_of(2));
    BOOST_CHECK(at_b.payload == payload(sizes[i], tag++));
    BOOST_CHECK(at_a.payload == payload(sizes[i], tag++));
  }
  auto sa = stats(a);
  auto sb = stats(b);
  BOOST_CHECK(sa.connected && sb.connected);
  BOOST_CHECK_EQUAL(sa.messages_out, 4u);
  BOOST_CHECK_EQUAL(sb.messages_in, 4u);
  BOOST_CHECK_EQUAL(sa.bytes_out, sb.bytes_in);
  BOOST_CHECK_EQUAL(sb.bytes_out, sa.bytes_in);
  // Each connection acknowledged every byte it received to its own pipe.
  BOOST_CHECK_EQUAL(pipe(a).acked, sa.bytes_in);
  BOOST_CHECK_EQUAL(pipe(b).acked, sb.bytes_in);
  close_both();
}

BOOST_AUTO_TEST_CASE(too_large_message_is_handed_back_and_connection_stays) {
  connect_pair();
  auto big = payload(2 * 1024 * 1024 + 1, 7);
  auto before = pipe(a).offset;
  send(a, big);
  dispatch();
  BOOST_CHECK_EQUAL(pipe(a).offset, before); // nothing went out
  BOOST_REQUIRE_EQUAL(sink(a).too_large.size(), 1u);
  BOOST_CHECK_EQUAL(sink(a).too_large[0].peer, id_of(2));
  BOOST_CHECK_EQUAL(sink(a).too_large[0].size, big.size());
  BOOST_CHECK(sink(a).too_large[0].payload == big);
  send(a, payload(10, 8));
  dispatch();
  BOOST_REQUIRE_EQUAL(sink(b).messages.size(), 1u);
  BOOST_CHECK(alive(a) && alive(b));
  close_both();
}

BOOST_AUTO_TEST_CASE(sends_before_the_handshake_wait_for_it) {
  spawn_pair(make_config(noise::role::initiator, 1),
             make_config(noise::role::responder, 2));
  send(a, payload(5, 1));
  send(a, payload(6, 2));
  dispatch();
  BOOST_REQUIRE_EQUAL(sink(b).messages.size(), 2u);
  BOOST_CHECK(sink(b).messages[0].payload == payload(5, 1));
  BOOST_CHECK(sink(b).messages[1].payload == payload(6, 2));
  close_both();
}

BOOST_AUTO_TEST_CASE(local_close_tells_the_peer_at_once) {
  connect_pair();
  self->send(a.conn, atom::close_v);
  dispatch();
  BOOST_REQUIRE(a.exit->has_value());
  BOOST_CHECK(!**a.exit); // a local close is a normal exit
  BOOST_CHECK(sink(a).lost.empty());
  BOOST_REQUIRE_EQUAL(sink(b).lost.size(), 1u);
  BOOST_CHECK_EQUAL(sink(b).lost[0].peer, id_of(1));
  BOOST_CHECK(is(sink(b).lost[0].reason, errc::socket_failure));
  BOOST_CHECK(sys.render(sink(b).lost[0].reason).find("closed the connection")
              != std::string::npos);
  BOOST_REQUIRE(b.exit->has_value());
  BOOST_CHECK(is(**b.exit, errc::socket_failure));
  BOOST_CHECK(pipe(a).closed && pipe(b).closed);
}

BOOST_AUTO_TEST_CASE(handshake_deadline_fires_exactly_on_time) {
  // An initiator whose peer never answers (its pipe leads nowhere).
  spawn_end(a, make_config(noise::role::initiator, 1), "a");
  dispatch();
  BOOST_CHECK_EQUAL(pipe(a).offset, 100u); // message 1 went out
  advance_time(10s - 1ns);
  BOOST_CHECK(alive(a));
  advance_time(1ns);
  BOOST_REQUIRE(!alive(a));
  BOOST_CHECK(is(**a.exit, errc::handshake_incomplete));
  BOOST_CHECK(pipe(a).closed);
  BOOST_CHECK(sink(a).ups.empty());
}

BOOST_AUTO_TEST_CASE(handshake_deadline_is_configurable) {
  // A responder whose initiator never speaks, with a 3 s deadline.
  auto conf = make_config(noise::role::responder, 2);
  conf.handshake_timeout = 3s;
  spawn_end(b, std::move(conf), "b");
  dispatch();
  BOOST_CHECK_EQUAL(pipe(b).offset, 0u);
  advance_time(3s - 1ns);
  BOOST_CHECK(alive(b));
  advance_time(1ns);
  BOOST_REQUIRE(!alive(b));
  BOOST_CHECK(is(**b.exit, errc::handshake_incomplete));
  BOOST_CHECK(sys.render(**b.exit).find("3s") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(too_many_bytes_before_authentication_kill) {
  // The genuine handshake sends the responder 168 bytes: above a bound of
  // 150, the responder gives up after message 3 instead of connecting.
  auto cb = make_config(noise::role::responder, 2);
  cb.max_handshake_bytes = 150;
  spawn_pair(make_config(noise::role::initiator, 1), std::move(cb));
  dispatch();
  BOOST_REQUIRE(!alive(b));
  BOOST_CHECK(is(**b.exit, errc::malformed_message));
  BOOST_CHECK(sys.render(**b.exit).find("more than 150 bytes")
              != std::string::npos);
  BOOST_CHECK(sink(b).ups.empty());
  // The initiator was done after writing message 3; the close reaches it.
  BOOST_CHECK_EQUAL(sink(a).ups.size(), 1u);
  BOOST_CHECK_EQUAL(sink(a).lost.size(), 1u);
  BOOST_CHECK(!alive(a));
}

BOOST_AUTO_TEST_CASE(junk_before_authentication_kills_without_connecting) {
  spawn_end(b, make_config(noise::role::responder, 2), "b");
  dispatch();
  self->send(b.conn, atom::received_v, payload(5000, 3));
  dispatch();
  BOOST_REQUIRE(!alive(b));
  BOOST_CHECK(static_cast<bool>(**b.exit)); // an error, not a normal exit
  BOOST_CHECK(sink(b).ups.empty());
  BOOST_CHECK(pipe(b).closed);
  // At most a short refusal (junk starts with a wrong version byte), never
  // more than the junk itself.
  BOOST_CHECK_LE(pipe(b).offset, 64u);
}

BOOST_AUTO_TEST_CASE(heartbeat_after_twenty_idle_seconds_and_not_before) {
  connect_pair();
  auto start = now();
  auto writes_a = pipe(a).writes.size();
  advance_time(20s - 1ns);
  BOOST_CHECK_EQUAL(pipe(a).writes.size(), writes_a);
  BOOST_CHECK_EQUAL(stats(b).keepalives_in, 0u);
  advance_time(1ns);
  BOOST_REQUIRE_EQUAL(pipe(a).writes.size(), writes_a + 1);
  BOOST_CHECK(pipe(a).writes.back().first == start + 20s);
  BOOST_CHECK_EQUAL(pipe(a).writes.back().second, noise::frame_header_len);
  BOOST_CHECK_EQUAL(stats(b).keepalives_in, 1u);
  BOOST_CHECK_EQUAL(stats(a).keepalives_out, 1u);
  // Sending postpones the heartbeat: a message at 25 s moves it to 45 s.
  advance_time(5s);
  send(a, payload(10, 1));
  dispatch();
  writes_a = pipe(a).writes.size();
  advance_time(20s - 1ns);
  BOOST_CHECK_EQUAL(pipe(a).writes.size(), writes_a);
  BOOST_CHECK_EQUAL(stats(a).keepalives_out, 1u);
  advance_time(1ns);
  BOOST_CHECK_EQUAL(pipe(a).writes.size(), writes_a + 1);
  BOOST_CHECK(pipe(a).writes.back().first == start + 45s);
  BOOST_CHECK_EQUAL(stats(a).keepalives_out, 2u);
  close_both();
}

BOOST_AUTO_TEST_CASE(lost_peer_after_120_silent_seconds_and_not_before) {
  connect_pair();
  auto start = now();
  pipe(b).mute = true; // A hears nothing from B from now on
  advance_time(120s - 1ns);
  BOOST_CHECK(sink(a).lost.empty());
  BOOST_CHECK(alive(a));
  advance_time(1ns);
  BOOST_REQUIRE_EQUAL(sink(a).lost.size(), 1u);
  BOOST_CHECK(sink(a).lost_at[0] == start + 120s);
  BOOST_CHECK_EQUAL(sink(a).lost[0].peer, id_of(2));
  BOOST_CHECK(is(sink(a).lost[0].reason, errc::socket_failure));
  BOOST_CHECK(sys.render(sink(a).lost[0].reason).find("120s")
              != std::string::npos);
  BOOST_REQUIRE(!alive(a));
  // A's close frame still reached B, which loses A at the same instant.
  BOOST_REQUIRE_EQUAL(sink(b).lost.size(), 1u);
  BOOST_CHECK(sink(b).lost_at[0] == start + 120s);
  BOOST_CHECK(!alive(b));
}

BOOST_AUTO_TEST_CASE(heartbeats_keep_an_idle_connection_alive) {
  connect_pair();
  advance_time(10min);
  BOOST_CHECK(sink(a).lost.empty() && sink(b).lost.empty());
  BOOST_CHECK(alive(a) && alive(b));
  // One keepalive every 20 s each way, nothing else.
  BOOST_CHECK_EQUAL(stats(a).keepalives_in, 30u);
  BOOST_CHECK_EQUAL(stats(b).keepalives_in, 30u);
  close_both();
}

BOOST_AUTO_TEST_CASE(custom_heartbeat_and_inactivity_timeout) {
  auto ca = make_config(noise::role::initiator, 1);
  ca.heartbeat_interval = 5s;
  ca.inactivity_timeout = 15s;
  spawn_pair(std::move(ca), make_config(noise::role::responder, 2));
  dispatch();
  auto start = now();
  pipe(b).mute = true;
  advance_time(5s);
  BOOST_CHECK_EQUAL(stats(a).keepalives_out, 1u);
  advance_time(10s - 1ns);
  BOOST_CHECK(sink(a).lost.empty());
  advance_time(1ns);
  BOOST_REQUIRE_EQUAL(sink(a).lost.size(), 1u);
  BOOST_CHECK(sink(a).lost_at[0] == start + 15s);
}

BOOST_AUTO_TEST_CASE(flipped_body_byte_is_misbehaviour) {
  connect_pair();
  // 30 bytes into the next write: inside the body of the message frame.
  pipe(a).flip_at = pipe(a).offset + 30;
  send(a, payload(100, 1));
  dispatch();
  BOOST_CHECK(sink(b).messages.empty());
  BOOST_REQUIRE_EQUAL(sink(b).bad.size(), 1u);
  BOOST_CHECK_EQUAL(sink(b).bad[0].peer, id_of(1));
  BOOST_CHECK(is(sink(b).bad[0].reason, errc::decrypt_failed));
  BOOST_REQUIRE(!alive(b));
  BOOST_CHECK(is(**b.exit, errc::decrypt_failed));
  // B's close frame (protocol error) reached A.
  BOOST_REQUIRE_EQUAL(sink(a).lost.size(), 1u);
  BOOST_CHECK(sys.render(sink(a).lost[0].reason).find("reason 1")
              != std::string::npos);
  BOOST_CHECK(!alive(a));
}

BOOST_AUTO_TEST_CASE(flipped_header_byte_is_misbehaviour) {
  connect_pair();
  pipe(b).flip_at = pipe(b).offset + 3;
  send(b, payload(100, 1));
  dispatch();
  BOOST_CHECK(sink(a).messages.empty());
  BOOST_REQUIRE_EQUAL(sink(a).bad.size(), 1u);
  BOOST_CHECK(is(sink(a).bad[0].reason, errc::decrypt_failed));
  BOOST_CHECK(!alive(a));
  BOOST_CHECK(!alive(b));
}

BOOST_AUTO_TEST_CASE(different_networks_both_fail_with_network_mismatch) {
  spawn_pair(make_config(noise::role::initiator, 1, "alpha"),
             make_config(noise::role::responder, 2, "beta"));
  dispatch();
  BOOST_REQUIRE(!alive(a));
  BOOST_REQUIRE(!alive(b));
  BOOST_CHECK(is(**a.exit, errc::network_mismatch));
  BOOST_CHECK(is(**b.exit, errc::network_mismatch));
  BOOST_CHECK(sink(a).ups.empty() && sink(b).ups.empty());
  BOOST_CHECK(sink(a).lost.empty() && sink(b).lost.empty());
}

BOOST_AUTO_TEST_CASE(wrong_expected_peer_id_fails_with_peer_id_mismatch) {
  auto ca = make_config(noise::role::initiator, 1);
  ca.expected_peer = id_of(9); // B is id_of(2)
  spawn_pair(std::move(ca), make_config(noise::role::responder, 2));
  dispatch();
  BOOST_REQUIRE(!alive(a));
  BOOST_CHECK(is(**a.exit, errc::peer_id_mismatch));
  BOOST_REQUIRE(!alive(b));
  BOOST_CHECK(is(**b.exit, errc::peer_refused));
  BOOST_CHECK(sink(a).ups.empty() && sink(b).ups.empty());
}

BOOST_AUTO_TEST_CASE(right_expected_peer_id_connects) {
  auto ca = make_config(noise::role::initiator, 1);
  ca.expected_peer = id_of(2);
  spawn_pair(std::move(ca), make_config(noise::role::responder, 2));
  dispatch();
  BOOST_REQUIRE_EQUAL(sink(a).ups.size(), 1u);
  BOOST_CHECK_EQUAL(sink(a).ups[0].peer, id_of(2));
  close_both();
}

BOOST_AUTO_TEST_CASE(bad_configuration_quits_and_closes_the_pipe) {
  auto conf = make_config(noise::role::initiator, 1);
  conf.inactivity_timeout = conf.heartbeat_interval;
  spawn_end(a, std::move(conf), "a");
  dispatch();
  BOOST_REQUIRE(!alive(a));
  BOOST_CHECK(is(**a.exit, errc::invalid_config));
  BOOST_CHECK(pipe(a).closed);
  BOOST_CHECK_EQUAL(pipe(a).offset, 0u);
}

BOOST_AUTO_TEST_SUITE_END()

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
/// `received`, reports it to its own CONNECTION as `sent` at once (a socket
/// that is never full), and its close as `closed` (end of stream). It stays
/// alive after the close, so that tests can read its state. Knobs
/// for tests: `mute` drops writes (the peer hears nothing), `flip_at`
/// corrupts one byte at an offset of the stream, `hold` keeps the `sent`
/// credit back in `held` (a socket that does not drain), `record` keeps
/// every byte written.
struct pipe_state {
  static inline const char* name = "mem_pipe";
  /// The CONNECTION that writes here, and the one at the other end.
  connection_actor owner;
  connection_actor target;
  bool mute = false;
  std::optional<size_t> flip_at;
  bool hold = false;
  uint64_t held = 0;
  bool record = false;
  byte_buffer recorded;
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
    [self](atom::put, connection_actor owner, connection_actor target) {
      self->state.owner = std::move(owner);
      self->state.target = std::move(target);
    },
    [self](atom::write, std::vector<uint8_t>& bytes) {
      auto& st = self->state;
      if (st.closed)
        return;
      auto n = bytes.size();
      st.writes.emplace_back(self->clock().now(), n);
      if (st.flip_at && *st.flip_at >= st.offset && *st.flip_at < st.offset + n)
        bytes[*st.flip_at - st.offset] ^= 0x01;
      st.offset += n;
      if (st.record)
        st.recorded.insert(st.recorded.end(), bytes.begin(), bytes.end());
      if (!st.mute && st.target)
        self->send(st.target, atom::received_v, std::move(bytes));
      if (st.hold)
        st.held += n;
      else if (st.owner)
        self->send(st.owner, atom::sent_v, uint64_t{n});
    },
    [self](atom::ack, uint64_t n) {
      self->state.acked += n;
    },
    [self](atom::close) {
      auto& st = self->state;
      if (st.closed)
        return;
      st.closed = true;
      if (st.target)
        self->send(st.target, atom::closed_v, caf::error{});
    },
  };
}

// -- a sink that keeps every event
// ---------------------------------------------

struct sink_state {
  static inline const char* name = "sink";
  /// Answer `authenticated` with `choose` (vets the peer, as a SERVICE does).
  bool auto_choose = false;
  std::vector<authenticated> auths;
  std::vector<established> ests;
  std::vector<new_message> messages;
  std::vector<service_frame> services;
  std::vector<lost_peer> lost;
  std::vector<time_point> lost_at;
  std::vector<peer_misbehaved> bad;
  std::vector<message_too_large> too_large;
  std::vector<messages_dropped> dropped;
  std::vector<time_point> dropped_at;
};

connection_sink_actor::behavior_type
event_sink(connection_sink_actor::stateful_pointer<sink_state> self,
           std::string label) {
  static_cast<void>(label);
  return {
    [self](authenticated& x) {
      self->state.auths.emplace_back(std::move(x));
      if (self->state.auto_choose)
        self->send(caf::actor_cast<connection_actor>(self->current_sender()),
                   atom::choose_v);
    },
    [self](established& x) {
      self->state.ests.emplace_back(std::move(x));
    },
    [self](new_message& x) {
      self->state.messages.emplace_back(std::move(x));
    },
    [self](service_frame& x) {
      self->state.services.emplace_back(std::move(x));
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
    [self](messages_dropped& x) {
      self->state.dropped.emplace_back(std::move(x));
      self->state.dropped_at.emplace_back(self->clock().now());
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

const std::string test_network = "crust-test";

connection_config make_config(noise::role side, uint8_t seed,
                              std::string network = test_network) {
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

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Bytes of one message of `size` bytes on the wire (one frame up to 64 KiB).
size_t wire_size(size_t size) {
  return noise::frame_header_len + 1 + size + noise::tag_len;
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

  /// Spawns pipe, sink and connection of one end; the pipe credits its
  /// connection and has no target.
  void spawn_end(end_point& x, connection_config conf, const std::string& tag) {
    x = end_point{};
    x.pipe = sys.spawn(mem_pipe, "pipe-" + tag);
    x.sink = sys.spawn(event_sink, "sink-" + tag);
    x.conn = sys.spawn(connection, std::move(conf),
                       caf::actor_cast<byte_pipe_actor>(x.pipe), x.sink);
    auto exit = x.exit;
    caf::actor_cast<caf::abstract_actor*>(x.conn)->attach_functor(
      [exit](const caf::error& reason) {
        *exit = reason;
      });
    caf::anon_send(x.pipe, atom::put_v, x.conn, connection_actor{});
  }

  /// Spawns both ends, each pipe delivering to the other connection.
  void spawn_pair(connection_config ca, connection_config cb) {
    spawn_end(a, std::move(ca), "a");
    spawn_end(b, std::move(cb), "b");
    caf::anon_send(a.pipe, atom::put_v, a.conn, b.conn);
    caf::anon_send(b.pipe, atom::put_v, b.conn, a.conn);
  }

  /// The end with the larger peer id: its SINK chooses.
  end_point& larger() {
    return id_of(1) > id_of(2) ? a : b;
  }

  end_point& smaller() {
    return id_of(1) > id_of(2) ? b : a;
  }

  /// Spawns a pair and runs the handshake, without choosing.
  void authenticate_pair(connection_config ca, connection_config cb) {
    spawn_pair(std::move(ca), std::move(cb));
    dispatch();
    BOOST_REQUIRE_EQUAL(sink(a).auths.size(), 1u);
    BOOST_REQUIRE_EQUAL(sink(b).auths.size(), 1u);
  }

  void authenticate_pair() {
    authenticate_pair(make_config(noise::role::initiator, 1),
                      make_config(noise::role::responder, 2));
  }

  /// Spawns a pair, runs the handshake and lets both sinks vet the peer
  /// (`choose`): the larger id picks, the smaller answers.
  void connect_pair(connection_config ca, connection_config cb) {
    spawn_pair(std::move(ca), std::move(cb));
    sink(a).auto_choose = true;
    sink(b).auto_choose = true;
    dispatch();
    BOOST_REQUIRE_EQUAL(sink(a).ests.size(), 1u);
    BOOST_REQUIRE_EQUAL(sink(b).ests.size(), 1u);
  }

  void connect_pair() {
    connect_pair(make_config(noise::role::initiator, 1),
                 make_config(noise::role::responder, 2));
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

  /// For `request_error`, which expects any reply type.
  caf::actor untyped(end_point& x) {
    return caf::actor_cast<caf::actor>(x.conn);
  }

  bool alive(end_point& x) {
    return !x.exit->has_value();
  }

  /// Queues a message without waiting for the answer.
  void send(end_point& x, byte_buffer msg, uint8_t prio = 4) {
    caf::anon_send(x.conn, atom::send_v, prio, std::move(msg));
  }

  /// Hands the connection of `x` the `sent` credit its pipe held back.
  void release(end_point& x) {
    auto n = pipe(x).held;
    pipe(x).held = 0;
    caf::anon_send(x.conn, atom::sent_v, n);
    dispatch();
  }

  /// Closes both connections (they re-arm timers) and runs to the end.
  void close_both() {
    for (auto* x : {&a, &b})
      if (x->conn && alive(*x))
        caf::anon_send(x->conn, atom::close_v);
    dispatch();
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(connection_suite, connection_fixture)

// -- handshake and choice -----------------------------------------------------

BOOST_AUTO_TEST_CASE(handshake_then_choice_then_messages_both_ways) {
  authenticate_pair();
  BOOST_CHECK_EQUAL(sink(a).auths[0].peer, id_of(2));
  BOOST_CHECK_EQUAL(sink(a).auths[0].remote, "A");
  BOOST_CHECK(sink(a).auths[0].initiated);
  BOOST_CHECK_EQUAL(sink(b).auths[0].peer, id_of(1));
  BOOST_CHECK(!sink(b).auths[0].initiated);
  // The handshake is 268 bytes: 100 + 68 from A, 100 from B.
  BOOST_CHECK_EQUAL(pipe(a).offset, 168u);
  BOOST_CHECK_EQUAL(pipe(b).offset, 100u);
  // Not established until chosen.
  BOOST_CHECK(sink(a).ests.empty() && sink(b).ests.empty());
  BOOST_CHECK(!stats(a).established && stats(a).connected);
  // Both vet the peer; the larger id picks and the smaller answers: one
  // choose frame each, a header alone.
  auto chooser_offset = pipe(larger()).offset;
  auto answer_offset = pipe(smaller()).offset;
  caf::anon_send(larger().conn, atom::choose_v);
  caf::anon_send(smaller().conn, atom::choose_v);
  dispatch();
  BOOST_CHECK_EQUAL(pipe(larger()).offset,
                    chooser_offset + noise::frame_header_len);
  BOOST_CHECK_EQUAL(pipe(smaller()).offset,
                    answer_offset + noise::frame_header_len);
  BOOST_REQUIRE_EQUAL(sink(a).ests.size(), 1u);
  BOOST_REQUIRE_EQUAL(sink(b).ests.size(), 1u);
  BOOST_CHECK_EQUAL(sink(a).ests[0].peer, id_of(2));
  BOOST_CHECK_EQUAL(sink(b).ests[0].peer, id_of(1));
  const std::vector<size_t> sizes{0, 1, 64 * 1024, 2 * 1024 * 1024};
  uint8_t tag = 0;
  for (auto size : sizes) {
    send(a, payload(size, tag), static_cast<uint8_t>(tag + 1));
    ++tag;
    send(b, payload(size, tag), static_cast<uint8_t>(tag + 1));
    ++tag;
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
    BOOST_CHECK_EQUAL(at_b.priority, tag);
    BOOST_CHECK(at_a.payload == payload(sizes[i], tag++));
    BOOST_CHECK_EQUAL(at_a.priority, tag);
  }
  auto sa = stats(a);
  auto sb = stats(b);
  BOOST_CHECK(sa.connected && sb.connected);
  BOOST_CHECK(sa.established && sb.established);
  BOOST_CHECK_EQUAL(sa.peer, id_of(2));
  BOOST_CHECK_EQUAL(sa.remote, "A");
  BOOST_CHECK(sa.initiated && !sb.initiated);
  BOOST_CHECK_EQUAL(sa.messages_out, 4u);
  BOOST_CHECK_EQUAL(sb.messages_in, 4u);
  BOOST_CHECK_EQUAL(sa.bytes_out, sb.bytes_in);
  BOOST_CHECK_EQUAL(sb.bytes_out, sa.bytes_in);
  BOOST_CHECK_EQUAL(sa.queued_messages, 0u);
  BOOST_CHECK_EQUAL(sa.queued_bytes, 0u);
  BOOST_CHECK_EQUAL(sa.unflushed_bytes, 0u); // every write was credited
  BOOST_CHECK_EQUAL(sa.dropped_messages, 0u);
  // Each connection acknowledged every byte it received to its own pipe.
  BOOST_CHECK_EQUAL(pipe(a).acked, sa.bytes_in);
  BOOST_CHECK_EQUAL(pipe(b).acked, sb.bytes_in);
  close_both();
}

BOOST_AUTO_TEST_CASE(choice_needs_both_sides) {
  authenticate_pair();
  // The larger id picks: its choose frame goes out, but it is not
  // established until the peer answers.
  auto before = pipe(larger()).offset;
  caf::anon_send(larger().conn, atom::choose_v);
  dispatch();
  BOOST_CHECK_GT(pipe(larger()).offset, before);
  BOOST_CHECK(sink(larger()).ests.empty());
  // The smaller side got the choice but its SINK has not vetted the peer
  // yet: no answer, not established.
  auto smaller_before = pipe(smaller()).offset;
  BOOST_CHECK(sink(smaller()).ests.empty());
  BOOST_CHECK(!stats(smaller()).established);
  BOOST_CHECK_EQUAL(pipe(smaller()).offset, smaller_before);
  // Its SINK allows it: the answer establishes both.
  caf::anon_send(smaller().conn, atom::choose_v);
  dispatch();
  BOOST_CHECK_EQUAL(sink(smaller()).ests.size(), 1u);
  BOOST_CHECK_EQUAL(sink(larger()).ests.size(), 1u);
  BOOST_CHECK(stats(smaller()).established);
  BOOST_CHECK(stats(larger()).established);
  // A second `choose` on either side changes nothing.
  before = pipe(larger()).offset;
  smaller_before = pipe(smaller()).offset;
  caf::anon_send(larger().conn, atom::choose_v);
  caf::anon_send(smaller().conn, atom::choose_v);
  dispatch();
  BOOST_CHECK_EQUAL(pipe(larger()).offset, before);
  BOOST_CHECK_EQUAL(pipe(smaller()).offset, smaller_before);
  BOOST_CHECK(alive(a) && alive(b));
  close_both();
}

BOOST_AUTO_TEST_CASE(the_smaller_side_may_vet_before_the_choice_arrives) {
  authenticate_pair();
  // Permission first: nothing goes out from the smaller side.
  auto smaller_before = pipe(smaller()).offset;
  caf::anon_send(smaller().conn, atom::choose_v);
  dispatch();
  BOOST_CHECK_EQUAL(pipe(smaller()).offset, smaller_before);
  BOOST_CHECK(sink(smaller()).ests.empty());
  // Then the larger side picks: the answer comes at once.
  caf::anon_send(larger().conn, atom::choose_v);
  dispatch();
  BOOST_CHECK_EQUAL(sink(smaller()).ests.size(), 1u);
  BOOST_CHECK_EQUAL(sink(larger()).ests.size(), 1u);
  close_both();
}

BOOST_AUTO_TEST_CASE(an_unvetted_choice_runs_into_the_deadline) {
  authenticate_pair();
  // The smaller side never allows the peer (a ban check that closes it
  // would come here): neither side is established, both end at the
  // deadline with handshake_timeout and no events.
  caf::anon_send(larger().conn, atom::choose_v);
  dispatch();
  advance_time(std::chrono::seconds{11});
  BOOST_CHECK(!alive(a) && !alive(b));
  BOOST_CHECK(sink(a).ests.empty() && sink(b).ests.empty());
  BOOST_CHECK(sink(a).lost.empty() && sink(b).lost.empty());
}

BOOST_AUTO_TEST_CASE(choose_before_authentication_is_ignored) {
  spawn_end(a, make_config(noise::role::initiator, 1), "a");
  dispatch();
  caf::anon_send(a.conn, atom::choose_v);
  dispatch();
  BOOST_CHECK_EQUAL(pipe(a).offset, 100u); // message 1 only
  BOOST_CHECK(sink(a).ests.empty());
  BOOST_CHECK(alive(a));
  caf::anon_send(a.conn, atom::close_v);
  dispatch();
}

BOOST_AUTO_TEST_CASE(
  a_second_choose_frame_or_an_early_message_is_misbehaviour) {
  // The test plays the initiator (seed 1) and sends what no genuine
  // CONNECTION sends.
  for (int round = 0; round < 2; ++round) {
    spawn_end(b, make_config(noise::role::responder, 2), "b");
    pipe(b).record = true;
    noise::channel_config hc;
    hc.side = noise::role::initiator;
    hc.local_static = make_keys(1);
    hc.network_name = test_network;
    auto hs = noise::channel_handshake::create(hc);
    BOOST_REQUIRE(hs);
    byte_buffer out;
    BOOST_REQUIRE(hs->start(out));
    caf::anon_send(b.conn, atom::received_v, out);
    dispatch();
    out.clear();
    BOOST_REQUIRE(hs->on_bytes(pipe(b).recorded, out));
    caf::anon_send(b.conn, atom::received_v, out);
    dispatch();
    auto keys = hs->finish();
    BOOST_REQUIRE(keys);
    BOOST_REQUIRE_EQUAL(sink(b).auths.size(), 1u);
    // B's SINK vets the peer; if B has the larger id, it picks at once.
    caf::anon_send(b.conn, atom::choose_v);
    dispatch();
    noise::frame_codec codec{std::move(keys->keys)};
    byte_buffer frames;
    if (round == 0) {
      // A message before anyone chose: B quits quietly (not established).
      BOOST_REQUIRE(codec.encoder.encode_message(payload(10, 1), 3, frames));
      caf::anon_send(b.conn, atom::received_v, frames);
      dispatch();
      BOOST_REQUIRE(!alive(b));
      BOOST_CHECK(is(**b.exit, errc::malformed_message));
      BOOST_CHECK(contains(sys.render(**b.exit), "before the connection was"));
      BOOST_CHECK(sink(b).messages.empty());
      BOOST_CHECK(sink(b).bad.empty()); // never established: no event
    } else {
      // Two choose frames: the second is misbehaviour on an established
      // connection.
      BOOST_REQUIRE(codec.encoder.encode_choose(frames));
      BOOST_REQUIRE(codec.encoder.encode_message(payload(10, 1), 3, frames));
      BOOST_REQUIRE(codec.encoder.encode_choose(frames));
      caf::anon_send(b.conn, atom::received_v, frames);
      dispatch();
      BOOST_CHECK_EQUAL(sink(b).ests.size(), 1u);
      BOOST_CHECK_EQUAL(sink(b).messages.size(), 1u);
      BOOST_REQUIRE_EQUAL(sink(b).bad.size(), 1u);
      BOOST_CHECK(is(sink(b).bad[0].reason, errc::malformed_message));
      BOOST_REQUIRE(!alive(b));
    }
    // Either way B's last words are a close frame with protocol_error.
    // (Its first 100 bytes were handshake message 2.)
    const auto& sent = pipe(b).recorded;
    BOOST_REQUIRE_GT(sent.size(), 100u);
    byte_buffer frames_of_b(sent.begin() + 100, sent.end());
    std::optional<uint16_t> code;
    BOOST_REQUIRE(
      codec.decoder.feed(frames_of_b, [&](const noise::frame_event& ev) {
        if (ev.kind == noise::frame_event_kind::close)
          code = ev.close_reason;
      }));
    BOOST_REQUIRE(code.has_value());
    BOOST_CHECK_EQUAL(*code, static_cast<uint16_t>(close_code::protocol_error));
  }
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
  BOOST_CHECK(is(**a.exit, errc::handshake_timeout));
  BOOST_CHECK(contains(sys.render(**a.exit), "no handshake within 10s"));
  BOOST_CHECK(pipe(a).closed);
  BOOST_CHECK(sink(a).auths.empty());
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
  BOOST_CHECK(is(**b.exit, errc::handshake_timeout));
  BOOST_CHECK(contains(sys.render(**b.exit), "3s"));
}

BOOST_AUTO_TEST_CASE(handshake_deadline_covers_the_choice) {
  // Authenticated, but nobody chooses: A's deadline (10 s) ends it, and its
  // close frame ends B (whose own deadline is later) with peer_closed.
  auto cb = make_config(noise::role::responder, 2);
  cb.handshake_timeout = 30s;
  authenticate_pair(make_config(noise::role::initiator, 1), std::move(cb));
  send(a, payload(10, 1)); // queued, never sent
  advance_time(10s - 1ns);
  BOOST_CHECK(alive(a) && alive(b));
  advance_time(1ns);
  BOOST_REQUIRE(!alive(a));
  BOOST_CHECK(is(**a.exit, errc::handshake_timeout));
  BOOST_CHECK(contains(sys.render(**a.exit), "not chosen within 10s"));
  BOOST_REQUIRE(!alive(b));
  BOOST_CHECK(is(**b.exit, errc::peer_closed));
  BOOST_CHECK(contains(sys.render(**b.exit), "not chosen"));
  // Never established: no lost_peer; the queued message is reported.
  BOOST_CHECK(sink(a).lost.empty() && sink(b).lost.empty());
  BOOST_REQUIRE_EQUAL(sink(a).dropped.size(), 1u);
  BOOST_CHECK_EQUAL(sink(a).dropped[0].messages, 1u);
  BOOST_CHECK(sink(b).messages.empty());
}

BOOST_AUTO_TEST_CASE(a_chosen_connection_outlives_the_deadline) {
  connect_pair();
  advance_time(30s);
  BOOST_CHECK(alive(a) && alive(b));
  close_both();
}

BOOST_AUTO_TEST_CASE(duplicate_close_before_the_choice_is_quiet) {
  // The chooser closes the connection it does not keep.
  authenticate_pair();
  caf::anon_send(larger().conn, atom::close_v,
                 static_cast<uint16_t>(close_code::duplicate),
                 std::string{"kept another connection"});
  dispatch();
  BOOST_REQUIRE(!alive(larger()));
  BOOST_CHECK(!**larger().exit); // a local close is a normal exit
  BOOST_REQUIRE(!alive(smaller()));
  BOOST_CHECK(is(**smaller().exit, errc::duplicate_connection));
  BOOST_CHECK(contains(sys.render(**smaller().exit), "kept another"));
  BOOST_CHECK(sink(a).lost.empty() && sink(b).lost.empty());
  BOOST_CHECK(sink(a).ests.empty() && sink(b).ests.empty());
}

BOOST_AUTO_TEST_CASE(too_many_bytes_before_authentication_kill) {
  // The genuine handshake sends the responder 168 bytes: above a bound of
  // 150, the responder gives up after message 3 instead of authenticating.
  auto cb = make_config(noise::role::responder, 2);
  cb.max_handshake_bytes = 150;
  spawn_pair(make_config(noise::role::initiator, 1), std::move(cb));
  dispatch();
  BOOST_REQUIRE(!alive(b));
  BOOST_CHECK(is(**b.exit, errc::malformed_message));
  BOOST_CHECK(contains(sys.render(**b.exit), "more than 150 bytes"));
  BOOST_CHECK(sink(b).auths.empty());
  // The initiator was done after writing message 3; the end of stream
  // reaches it before anyone chose: it quits quietly.
  BOOST_CHECK_EQUAL(sink(a).auths.size(), 1u);
  BOOST_CHECK(sink(a).lost.empty());
  BOOST_REQUIRE(!alive(a));
  BOOST_CHECK(is(**a.exit, errc::peer_closed));
}

BOOST_AUTO_TEST_CASE(junk_before_authentication_kills_without_connecting) {
  spawn_end(b, make_config(noise::role::responder, 2), "b");
  dispatch();
  caf::anon_send(b.conn, atom::received_v, payload(5000, 3));
  dispatch();
  BOOST_REQUIRE(!alive(b));
  BOOST_CHECK(static_cast<bool>(**b.exit)); // an error, not a normal exit
  BOOST_CHECK(sink(b).auths.empty());
  BOOST_CHECK(pipe(b).closed);
  // At most a short refusal (junk starts with a wrong version byte), never
  // more than the junk itself.
  BOOST_CHECK_LE(pipe(b).offset, 64u);
}

BOOST_AUTO_TEST_CASE(end_of_stream_in_the_handshake_is_peer_closed) {
  spawn_end(b, make_config(noise::role::responder, 2), "b");
  dispatch();
  caf::anon_send(b.conn, atom::closed_v, caf::error{});
  dispatch();
  BOOST_REQUIRE(!alive(b));
  BOOST_CHECK(is(**b.exit, errc::peer_closed));
  BOOST_CHECK(contains(sys.render(**b.exit), "during the handshake"));
}

// -- refusals and handshake failures ------------------------------------------

BOOST_AUTO_TEST_CASE(refusal_option_reaches_the_initiator) {
  struct case_t {
    noise::refusal_reason reason;
    errc expected;
    const char* says;
  };
  for (auto c : {case_t{noise::refusal_reason::banned, errc::banned,
                        "our address is banned"},
                 case_t{noise::refusal_reason::not_whitelisted,
                        errc::not_whitelisted, "not on its whitelist"}}) {
    auto cb = make_config(noise::role::responder, 2);
    cb.refusal = noise::channel_refusal{c.reason, "by policy"};
    spawn_pair(make_config(noise::role::initiator, 1), std::move(cb));
    dispatch();
    BOOST_REQUIRE(!alive(a));
    BOOST_REQUIRE(!alive(b));
    BOOST_CHECK(is(**a.exit, c.expected));
    BOOST_CHECK(is(**b.exit, c.expected));
    BOOST_TEST_MESSAGE("initiator: " << sys.render(**a.exit));
    BOOST_CHECK(contains(sys.render(**a.exit), c.says));
    BOOST_CHECK(contains(sys.render(**a.exit), "by policy"));
    // B answered message 1 with the refusal alone: fewer bytes than it got.
    BOOST_CHECK_LT(pipe(b).offset, 100u);
    BOOST_CHECK(sink(a).auths.empty() && sink(b).auths.empty());
  }
}

BOOST_AUTO_TEST_CASE(refusal_option_is_for_responders) {
  auto ca = make_config(noise::role::initiator, 1);
  ca.refusal = noise::channel_refusal{noise::refusal_reason::banned, ""};
  spawn_end(a, std::move(ca), "a");
  dispatch();
  BOOST_REQUIRE(!alive(a));
  BOOST_CHECK(is(**a.exit, errc::invalid_config));
}

BOOST_AUTO_TEST_CASE(different_networks_both_fail_with_network_mismatch) {
  spawn_pair(make_config(noise::role::initiator, 1, "alpha"),
             make_config(noise::role::responder, 2, "beta"));
  dispatch();
  BOOST_REQUIRE(!alive(a));
  BOOST_REQUIRE(!alive(b));
  BOOST_CHECK(is(**a.exit, errc::network_mismatch));
  BOOST_CHECK(is(**b.exit, errc::network_mismatch));
  BOOST_CHECK(sink(a).auths.empty() && sink(b).auths.empty());
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
  BOOST_CHECK(sink(a).auths.empty() && sink(b).auths.empty());
}

BOOST_AUTO_TEST_CASE(right_expected_peer_id_connects) {
  auto ca = make_config(noise::role::initiator, 1);
  ca.expected_peer = id_of(2);
  BOOST_CHECK_EQUAL(ca.remote, "A");
  connect_pair(std::move(ca), make_config(noise::role::responder, 2));
  BOOST_CHECK_EQUAL(sink(a).ests[0].peer, id_of(2));
  close_both();
}

BOOST_AUTO_TEST_CASE(bad_configuration_quits_and_closes_the_pipe) {
  auto check_bad = [&](connection_config conf, const std::string& what) {
    spawn_end(a, std::move(conf), "a");
    dispatch();
    BOOST_REQUIRE(!alive(a));
    BOOST_CHECK(is(**a.exit, errc::invalid_config));
    BOOST_CHECK_MESSAGE(contains(sys.render(**a.exit), what),
                        sys.render(**a.exit));
    BOOST_CHECK(pipe(a).closed);
    BOOST_CHECK_EQUAL(pipe(a).offset, 0u);
  };
  auto conf = make_config(noise::role::initiator, 1);
  conf.inactivity_timeout = conf.heartbeat_interval;
  check_bad(conf, "inactivity_timeout");
  conf = make_config(noise::role::initiator, 1);
  conf.max_queued_bytes = conf.max_message_size - 1;
  check_bad(conf, "max_queued_bytes");
  conf = make_config(noise::role::initiator, 1);
  conf.max_unflushed_bytes = 0;
  check_bad(conf, "max_unflushed_bytes");
  conf = make_config(noise::role::initiator, 1);
  conf.queue_expiry = 0s;
  check_bad(conf, "queue_expiry");
}

// -- sending ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(send_answers_the_queued_bytes_and_refuses_when_full) {
  auto ca = make_config(noise::role::initiator, 1);
  ca.max_message_size = 4000;
  ca.max_queued_bytes = 8000;
  auto cb = make_config(noise::role::responder, 2);
  cb.max_message_size = 4000;
  // Before the choice everything stays queued.
  authenticate_pair(std::move(ca), std::move(cb));
  BOOST_CHECK_EQUAL(request<uint64_t>(a.conn, atom::send_v, uint8_t{3},
                                      payload(3000, 1)),
                    3000u);
  BOOST_CHECK_EQUAL(request<uint64_t>(a.conn, atom::send_v, uint8_t{0},
                                      payload(3000, 2)),
                    6000u);
  auto err = request_error(untyped(a), atom::send_v, uint8_t{1},
                           payload(3000, 3));
  BOOST_REQUIRE(is(err, errc::queue_full));
  BOOST_TEST_MESSAGE("queue_full: " << sys.render(err));
  BOOST_CHECK(contains(sys.render(err), "8000"));
  // Too large: the message is handed back first, then the error.
  auto big = payload(4001, 4);
  err = request_error(untyped(a), atom::send_v, uint8_t{1}, big);
  BOOST_CHECK(is(err, errc::message_too_large));
  BOOST_REQUIRE_EQUAL(sink(a).too_large.size(), 1u);
  BOOST_CHECK_EQUAL(sink(a).too_large[0].peer, id_of(2));
  BOOST_CHECK_EQUAL(sink(a).too_large[0].size, 4001u);
  BOOST_CHECK(sink(a).too_large[0].payload == big);
  auto sa = stats(a);
  BOOST_CHECK_EQUAL(sa.queued_messages, 2u);
  BOOST_CHECK_EQUAL(sa.queued_bytes, 6000u);
  // Once chosen, the queue drains most urgent first.
  caf::anon_send(larger().conn, atom::choose_v);
  caf::anon_send(smaller().conn, atom::choose_v);
  dispatch();
  BOOST_REQUIRE_EQUAL(sink(b).messages.size(), 2u);
  BOOST_CHECK(sink(b).messages[0].payload == payload(3000, 2));
  BOOST_CHECK_EQUAL(sink(b).messages[0].priority, 0);
  BOOST_CHECK(sink(b).messages[1].payload == payload(3000, 1));
  BOOST_CHECK_EQUAL(sink(b).messages[1].priority, 3);
  // Room again.
  BOOST_CHECK_EQUAL(request<uint64_t>(a.conn, atom::send_v, uint8_t{1},
                                      payload(3000, 3)),
                    3000u);
  dispatch();
  BOOST_CHECK_EQUAL(sink(b).messages.size(), 3u);
  BOOST_CHECK(alive(a) && alive(b));
  close_both();
}

BOOST_AUTO_TEST_CASE(priorities_drain_most_urgent_first) {
  auto ca = make_config(noise::role::initiator, 1);
  ca.max_unflushed_bytes = 1000;
  connect_pair(std::move(ca), make_config(noise::role::responder, 2));
  pipe(a).hold = true;
  // The first message fills the window; the rest wait in the queues.
  send(a, payload(2000, 0), 9);
  dispatch();
  auto writes = pipe(a).writes.size();
  send(a, payload(100, 1), 5);
  send(a, payload(100, 2), 3);
  send(a, payload(100, 3), 200);
  send(a, payload(100, 4), 0);
  send(a, payload(100, 5), 3);
  dispatch();
  BOOST_CHECK_EQUAL(pipe(a).writes.size(), writes);
  BOOST_CHECK_EQUAL(stats(a).queued_messages, 5u);
  pipe(a).hold = false;
  release(a);
  BOOST_REQUIRE_EQUAL(sink(b).messages.size(), 6u);
  const std::vector<std::pair<uint8_t, uint8_t>> order{
    {9, 0}, {0, 4}, {3, 2}, {3, 5}, {5, 1}, {200, 3}};
  for (size_t i = 0; i < order.size(); ++i) {
    BOOST_CHECK_EQUAL(sink(b).messages[i].priority, order[i].first);
    BOOST_CHECK(sink(b).messages[i].payload
                == payload(i == 0 ? 2000 : 100, order[i].second));
  }
  close_both();
}

BOOST_AUTO_TEST_CASE(write_window_holds_back_until_sent) {
  auto ca = make_config(noise::role::initiator, 1);
  ca.max_unflushed_bytes = 4096;
  connect_pair(std::move(ca), make_config(noise::role::responder, 2));
  pipe(a).hold = true;
  auto offset = pipe(a).offset;
  for (uint8_t i = 0; i < 10; ++i)
    send(a, payload(1000, i));
  dispatch();
  // 4 messages of 1040 wire bytes pass a window of 4096: the fourth starts
  // at 3120 < 4096.
  auto one = wire_size(1000);
  BOOST_CHECK_EQUAL(pipe(a).offset - offset, 4 * one);
  auto sa = stats(a);
  BOOST_CHECK_EQUAL(sa.unflushed_bytes, 4 * one);
  BOOST_CHECK_EQUAL(sa.queued_messages, 6u);
  BOOST_CHECK_EQUAL(sa.queued_bytes, 6000u);
  // Credit for one message makes room for exactly one more.
  caf::anon_send(a.conn, atom::sent_v, uint64_t{one});
  pipe(a).held -= one;
  dispatch();
  BOOST_CHECK_EQUAL(pipe(a).offset - offset, 5 * one);
  BOOST_CHECK_EQUAL(stats(a).unflushed_bytes, 4 * one);
  // Credit for less than a message's worth below the window: nothing.
  caf::anon_send(a.conn, atom::sent_v, uint64_t{1});
  pipe(a).held -= 1;
  dispatch();
  BOOST_CHECK_EQUAL(pipe(a).offset - offset, 5 * one);
  // All credit: everything goes.
  pipe(a).hold = false;
  release(a);
  BOOST_CHECK_EQUAL(pipe(a).offset - offset, 10 * one);
  BOOST_CHECK_EQUAL(sink(b).messages.size(), 10u);
  BOOST_CHECK_EQUAL(stats(a).unflushed_bytes, 0u);
  close_both();
}

BOOST_AUTO_TEST_CASE(sixty_second_drop_rule_spares_priorities_0_and_1) {
  auto ca = make_config(noise::role::initiator, 1);
  ca.max_unflushed_bytes = 1000;
  connect_pair(std::move(ca), make_config(noise::role::responder, 2));
  pipe(a).hold = true;
  send(a, payload(2000, 0), 0); // fills the window
  dispatch();
  auto start = now();
  for (uint8_t prio : {0, 1, 2, 3, 7})
    send(a, payload(100, static_cast<uint8_t>(10 + prio)), prio);
  dispatch();
  BOOST_CHECK_EQUAL(stats(a).queued_messages, 5u);
  // Older than 60 s, not at 60 s.
  advance_time(60s);
  BOOST_CHECK(sink(a).dropped.empty());
  advance_time(1ns);
  BOOST_REQUIRE_EQUAL(sink(a).dropped.size(), 1u);
  const auto& d = sink(a).dropped[0];
  BOOST_CHECK(sink(a).dropped_at[0] == start + 60s + 1ns);
  BOOST_CHECK_EQUAL(d.peer, id_of(2));
  BOOST_CHECK_EQUAL(d.messages, 3u);
  BOOST_CHECK_EQUAL(d.bytes, 300u);
  BOOST_CHECK_EQUAL(d.from_priority, 2);
  BOOST_TEST_MESSAGE("dropped: " << d.detail);
  BOOST_CHECK(contains(d.detail, "dropped 3 messages (300 bytes)"));
  BOOST_CHECK(contains(d.detail, "priority 7"));
  auto sa = stats(a);
  BOOST_CHECK_EQUAL(sa.queued_messages, 2u);
  BOOST_CHECK_EQUAL(sa.dropped_messages, 3u);
  BOOST_CHECK_EQUAL(sa.dropped_bytes, 300u);
  // Priorities 0 and 1 wait however long it takes (heartbeats keep both
  // sides alive meanwhile), then arrive.
  advance_time(5min);
  BOOST_CHECK_EQUAL(stats(a).queued_messages, 2u);
  BOOST_CHECK_EQUAL(sink(a).dropped.size(), 1u);
  BOOST_CHECK(alive(a) && alive(b));
  pipe(a).hold = false;
  release(a);
  BOOST_REQUIRE_EQUAL(sink(b).messages.size(), 3u);
  BOOST_CHECK(sink(b).messages[1].payload == payload(100, 10));
  BOOST_CHECK(sink(b).messages[2].payload == payload(100, 11));
  close_both();
}

BOOST_AUTO_TEST_CASE(messages_still_queued_at_the_end_are_reported) {
  auto ca = make_config(noise::role::initiator, 1);
  ca.max_unflushed_bytes = 1000;
  connect_pair(std::move(ca), make_config(noise::role::responder, 2));
  pipe(a).hold = true;
  send(a, payload(2000, 0), 2);
  send(a, payload(10, 1), 0);
  send(a, payload(20, 2), 6);
  dispatch();
  caf::anon_send(a.conn, atom::close_v);
  dispatch();
  BOOST_REQUIRE(!alive(a));
  BOOST_CHECK(!**a.exit);
  BOOST_REQUIRE_EQUAL(sink(a).dropped.size(), 1u);
  BOOST_CHECK_EQUAL(sink(a).dropped[0].messages, 2u);
  BOOST_CHECK_EQUAL(sink(a).dropped[0].bytes, 30u);
  BOOST_CHECK_EQUAL(sink(a).dropped[0].from_priority, 0);
  // The peer got the message that left, and the close.
  BOOST_CHECK_EQUAL(sink(b).messages.size(), 1u);
  BOOST_CHECK_EQUAL(sink(b).lost.size(), 1u);
}

BOOST_AUTO_TEST_CASE(messages_queued_when_the_peer_is_lost_are_reported) {
  auto ca = make_config(noise::role::initiator, 1);
  ca.max_unflushed_bytes = 1000;
  connect_pair(std::move(ca), make_config(noise::role::responder, 2));
  pipe(a).hold = true;
  send(a, payload(2000, 0), 2);
  send(a, payload(10, 1), 3);
  dispatch();
  caf::anon_send(b.conn, atom::close_v);
  dispatch();
  // Dropped first, then lost: the SINK hears both.
  BOOST_REQUIRE_EQUAL(sink(a).dropped.size(), 1u);
  BOOST_CHECK_EQUAL(sink(a).dropped[0].messages, 1u);
  BOOST_REQUIRE_EQUAL(sink(a).lost.size(), 1u);
  BOOST_CHECK(!alive(a));
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

BOOST_AUTO_TEST_CASE(sends_before_the_choice_wait_for_it) {
  spawn_pair(make_config(noise::role::initiator, 1),
             make_config(noise::role::responder, 2));
  send(a, payload(5, 1));
  send(a, payload(6, 2));
  dispatch();
  BOOST_CHECK(sink(b).messages.empty());
  BOOST_CHECK_EQUAL(stats(a).queued_messages, 2u);
  caf::anon_send(larger().conn, atom::choose_v);
  caf::anon_send(smaller().conn, atom::choose_v);
  dispatch();
  BOOST_REQUIRE_EQUAL(sink(b).messages.size(), 2u);
  BOOST_CHECK(sink(b).messages[0].payload == payload(5, 1));
  BOOST_CHECK(sink(b).messages[1].payload == payload(6, 2));
  close_both();
}

// -- rate limits --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(message_rate_limit_allows_a_burst_of_one_second) {
  auto cb = make_config(noise::role::responder, 2);
  cb.max_messages_per_second = 10;
  connect_pair(make_config(noise::role::initiator, 1), std::move(cb));
  for (uint8_t i = 0; i < 10; ++i)
    send(a, payload(10, i));
  dispatch();
  BOOST_CHECK_EQUAL(sink(b).messages.size(), 10u);
  // Half a second refills five.
  advance_time(500ms);
  for (uint8_t i = 0; i < 5; ++i)
    send(a, payload(10, i));
  dispatch();
  BOOST_CHECK_EQUAL(sink(b).messages.size(), 15u);
  BOOST_CHECK(sink(b).bad.empty());
  // One more is one too many.
  send(a, payload(10, 99));
  dispatch();
  BOOST_CHECK_EQUAL(sink(b).messages.size(), 15u);
  BOOST_REQUIRE_EQUAL(sink(b).bad.size(), 1u);
  BOOST_CHECK(is(sink(b).bad[0].reason, errc::rate_exceeded));
  BOOST_CHECK(contains(sys.render(sink(b).bad[0].reason), "10 messages"));
  BOOST_REQUIRE(!alive(b));
  BOOST_CHECK(is(**b.exit, errc::rate_exceeded));
  // The close frame tells A why.
  BOOST_REQUIRE_EQUAL(sink(a).lost.size(), 1u);
  BOOST_CHECK(is(sink(a).lost[0].reason, errc::rate_exceeded));
  BOOST_CHECK(!alive(a));
}

BOOST_AUTO_TEST_CASE(byte_rate_limit_ends_a_flood) {
  auto cb = make_config(noise::role::responder, 2);
  cb.max_bytes_per_second = 10000;
  connect_pair(make_config(noise::role::initiator, 1), std::move(cb));
  send(a, payload(5000, 1));
  dispatch();
  BOOST_CHECK_EQUAL(sink(b).messages.size(), 1u);
  send(a, payload(6000, 2));
  dispatch();
  BOOST_CHECK_EQUAL(sink(b).messages.size(), 1u);
  BOOST_REQUIRE_EQUAL(sink(b).bad.size(), 1u);
  BOOST_CHECK(is(sink(b).bad[0].reason, errc::rate_exceeded));
  BOOST_CHECK(contains(sys.render(sink(b).bad[0].reason), "10000 bytes"));
  BOOST_REQUIRE_EQUAL(sink(a).lost.size(), 1u);
  BOOST_CHECK(is(sink(a).lost[0].reason, errc::rate_exceeded));
}

// -- heartbeat and silence ----------------------------------------------------

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

BOOST_AUTO_TEST_CASE(keepalive_goes_out_while_the_window_is_full) {
  // A send that cannot drain (no credit) must not silence us: the keepalive
  // is written ahead of the queue.
  auto ca = make_config(noise::role::initiator, 1);
  ca.max_unflushed_bytes = 1000;
  connect_pair(std::move(ca), make_config(noise::role::responder, 2));
  pipe(a).hold = true;
  send(a, payload(2000, 1), 0);
  send(a, payload(2000, 2), 0);
  dispatch();
  auto start = now();
  auto writes = pipe(a).writes.size();
  advance_time(20s);
  BOOST_REQUIRE_EQUAL(pipe(a).writes.size(), writes + 1);
  BOOST_CHECK(pipe(a).writes.back().first == start + 20s);
  BOOST_CHECK_EQUAL(pipe(a).writes.back().second, noise::frame_header_len);
  BOOST_CHECK_EQUAL(stats(a).queued_messages, 1u);
  advance_time(3min);
  BOOST_CHECK(alive(a) && alive(b));
  BOOST_CHECK_EQUAL(stats(b).keepalives_in, 10u);
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
  BOOST_CHECK(is(sink(a).lost[0].reason, errc::peer_silent));
  BOOST_CHECK(contains(sys.render(sink(a).lost[0].reason), "120s"));
  BOOST_REQUIRE(!alive(a));
  BOOST_CHECK(is(**a.exit, errc::peer_silent));
  // A's close frame still reached B, which loses A at the same instant.
  BOOST_REQUIRE_EQUAL(sink(b).lost.size(), 1u);
  BOOST_CHECK(sink(b).lost_at[0] == start + 120s);
  BOOST_CHECK(is(sink(b).lost[0].reason, errc::peer_closed));
  BOOST_CHECK(contains(sys.render(sink(b).lost[0].reason), "inactivity"));
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
  connect_pair(std::move(ca), make_config(noise::role::responder, 2));
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

// -- the end ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(local_close_tells_the_peer_at_once) {
  connect_pair();
  caf::anon_send(a.conn, atom::close_v);
  dispatch();
  BOOST_REQUIRE(a.exit->has_value());
  BOOST_CHECK(!**a.exit); // a local close is a normal exit
  BOOST_CHECK(sink(a).lost.empty());
  BOOST_REQUIRE_EQUAL(sink(b).lost.size(), 1u);
  BOOST_CHECK_EQUAL(sink(b).lost[0].peer, id_of(1));
  BOOST_CHECK(is(sink(b).lost[0].reason, errc::peer_closed));
  BOOST_CHECK(contains(sys.render(sink(b).lost[0].reason), "reason 0, normal"));
  BOOST_REQUIRE(b.exit->has_value());
  BOOST_CHECK(is(**b.exit, errc::peer_closed));
  BOOST_CHECK(pipe(a).closed && pipe(b).closed);
}

BOOST_AUTO_TEST_CASE(close_codes_map_to_errors_on_the_other_side) {
  struct case_t {
    close_code code;
    errc expected;
  };
  for (auto c : {case_t{close_code::normal, errc::peer_closed},
                 case_t{close_code::protocol_error, errc::peer_closed},
                 case_t{close_code::inactivity, errc::peer_closed},
                 case_t{close_code::duplicate, errc::duplicate_connection},
                 case_t{close_code::banned, errc::banned},
                 case_t{close_code::not_whitelisted, errc::not_whitelisted},
                 case_t{close_code::rate_exceeded, errc::rate_exceeded},
                 case_t{close_code::shutdown, errc::peer_closed}}) {
    connect_pair();
    caf::anon_send(a.conn, atom::close_v, static_cast<uint16_t>(c.code),
                   std::string{"why\nnot"});
    dispatch();
    BOOST_REQUIRE(!alive(a));
    BOOST_CHECK(!**a.exit);
    BOOST_REQUIRE_EQUAL(sink(b).lost.size(), 1u);
    auto text = sys.render(sink(b).lost[0].reason);
    BOOST_TEST_MESSAGE("code " << static_cast<int>(c.code) << ": " << text);
    BOOST_CHECK_MESSAGE(is(sink(b).lost[0].reason, c.expected), text);
    BOOST_CHECK(
      contains(text, "reason " + std::to_string(static_cast<int>(c.code))));
    BOOST_CHECK(contains(text, "why?not")); // sanitised
    BOOST_CHECK(!alive(b));
  }
}

BOOST_AUTO_TEST_CASE(end_of_stream_of_an_established_connection) {
  connect_pair();
  caf::anon_send(a.conn, atom::closed_v, caf::error{});
  dispatch();
  BOOST_REQUIRE_EQUAL(sink(a).lost.size(), 1u);
  BOOST_CHECK(is(sink(a).lost[0].reason, errc::peer_closed));
  BOOST_CHECK(contains(sys.render(sink(a).lost[0].reason), "end of stream"));
  // A transport error keeps its own code.
  connect_pair();
  caf::anon_send(a.conn, atom::closed_v,
                 to_error(failure{errc::socket_failure, "reset by peer"}));
  dispatch();
  BOOST_REQUIRE_EQUAL(sink(a).lost.size(), 1u);
  BOOST_CHECK(is(sink(a).lost[0].reason, errc::socket_failure));
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
  BOOST_CHECK(
    contains(sys.render(sink(a).lost[0].reason), "reason 1, protocol error"));
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

BOOST_AUTO_TEST_SUITE_END()

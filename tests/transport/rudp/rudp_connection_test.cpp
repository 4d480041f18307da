#include "crust/transport/rudp/connection.hpp"
#include "crust/transport/rudp/packet_format.hpp"

#include "support/engine_test_support.hpp"
#include "support/rudp_null_protection.hpp"
#include "support/rudp_sim.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

using namespace crust;
using namespace crust::test;
using namespace std::chrono_literals;

namespace {

link_config clean_link() {
  link_config cfg;
  cfg.delay = 10ms;
  return cfg;
}

using config_hook
  = std::function<void(rudp::connection_config&, rudp::connection_config&)>;

struct pair_fixture {
  explicit pair_fixture(config_hook hook = {}, link_config fwd = clean_link(),
                        link_config back = clean_link()) {
    auto [a, b] = rudp_config_pair();
    if (hook)
      hook(a, b);
    sim.emplace(1, fwd, back, std::move(a), std::move(b));
  }

  rudp::connection& a() {
    return sim->conn(0);
  }

  rudp::connection& b() {
    return sim->conn(1);
  }

  void connect() {
    BOOST_REQUIRE(sim->run_until(
      [&] {
        return sim->connected();
      },
      15s));
    BOOST_REQUIRE(a().state() == rudp::connection_state::established);
    BOOST_REQUIRE(b().state() == rudp::connection_state::established);
  }

  /// Runs until neither side has anything in flight or to say.
  void settle() {
    sim->run_for(2s);
  }

  /// Messages endpoint `i` received so far, as strings.
  std::vector<std::string> received(int i) {
    std::vector<std::string> out;
    for (auto& ev : sim->events(i))
      if (auto* m = std::get_if<rudp::message_event>(&ev))
        out.emplace_back(m->payload.begin(), m->payload.end());
    return out;
  }

  /// How many messages endpoint `i` received (cheap: no copies).
  size_t count_received(int i) {
    size_t n = 0;
    for (auto& ev : sim->events(i))
      n += std::holds_alternative<rudp::message_event>(ev) ? 1 : 0;
    return n;
  }

  template<class T>
  const T* find_event(int i) {
    for (auto& ev : sim->events(i))
      if (auto* x = std::get_if<T>(&ev))
        return x;
    return nullptr;
  }

  const rudp::closed_event* closed(int i) {
    return find_event<rudp::closed_event>(i);
  }

  std::optional<rudp_sim> sim;
};

/// A data packet as the null protection seals it.
byte_buffer null_packet(uint64_t dst, uint64_t pn, const byte_buffer& frames) {
  byte_buffer out;
  rudp::write_data_header(dst, out);
  byte_buffer ad(out.begin(), out.end());
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<uint8_t>(pn >> shift));
  out.insert(out.end(), frames.begin(), frames.end());
  rudp_null_protection::tag_of(ad, pn, frames, out);
  return out;
}

config_hook with_null_protection() {
  return [](rudp::connection_config& a, rudp::connection_config& b) {
    a.protection = rudp_null_protection_factory();
    b.protection = rudp_null_protection_factory();
  };
}

/// Everything about a connection that bad input must not change.
struct snapshot {
  rudp::connection_state state;
  std::optional<rudp::time_point> timeout;
  uint64_t packets_received;
  uint64_t packets_sent;
  uint64_t messages_received;
  size_t in_flight;
  size_t mtu;
  size_t window;

  explicit snapshot(const rudp::connection& c)
    : state(c.state()), timeout(c.next_timeout()),
      packets_received(c.stats().packets_received),
      packets_sent(c.stats().packets_sent),
      messages_received(c.stats().messages_received),
      in_flight(c.bytes_in_flight()), mtu(c.mtu()),
      window(c.congestion().window()) {
    // nop
  }

  bool operator==(const snapshot& o) const {
    return state == o.state && timeout == o.timeout
           && packets_received == o.packets_received
           && packets_sent == o.packets_sent
           && messages_received == o.messages_received
           && in_flight == o.in_flight && mtu == o.mtu && window == o.window;
  }
};

} // namespace

// -- handshake
// -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(handshake_then_messages_both_ways) {
  pair_fixture f;
  f.connect();
  BOOST_REQUIRE(f.find_event<rudp::connected_event>(0) != nullptr);
  BOOST_REQUIRE(f.find_event<rudp::connected_event>(1) != nullptr);
  BOOST_CHECK(*f.a().peer_id() == rudp_fixed_keys(0x22).pub);
  BOOST_CHECK(*f.b().peer_id() == rudp_fixed_keys(0x11).pub);
  BOOST_CHECK(f.find_event<rudp::connected_event>(0)->peer_id
              == rudp_fixed_keys(0x22).pub);
  BOOST_CHECK_EQUAL(f.a().remote_id(), f.b().local_id());
  BOOST_CHECK_EQUAL(f.b().remote_id(), f.a().local_id());
  BOOST_REQUIRE(f.a().send(1, bytes_of("hello"), f.sim->now()));
  BOOST_REQUIRE(f.b().send(1, bytes_of("world"), f.sim->now()));
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.count_received(0) == 1 && f.count_received(1) == 1;
    },
    5s));
  BOOST_CHECK_EQUAL(f.received(1)[0], "hello");
  BOOST_CHECK_EQUAL(f.received(0)[0], "world");
}

BOOST_AUTO_TEST_CASE(messages_queued_before_the_handshake_go_out_after_it) {
  pair_fixture f;
  for (int i = 0; i < 10; ++i)
    BOOST_REQUIRE(
      f.a().send(1, bytes_of("early " + std::to_string(i)), f.sim->now()));
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.count_received(1) == 10;
    },
    5s));
  BOOST_CHECK_EQUAL(f.received(1)[9], "early 9");
}

BOOST_AUTO_TEST_CASE(a_random_connection_id_is_never_zero) {
  auto [a, b] = rudp_config_pair();
  a.local_id = 0;
  auto c = rudp::connection::create(a, rudp::time_point{});
  BOOST_REQUIRE(c);
  BOOST_CHECK_NE(c->local_id(), 0u);
}

BOOST_AUTO_TEST_CASE(handshake_survives_the_loss_of_each_message) {
  // Drop, in turn, the first copy of message 1, 2 and 3.
  for (int victim = 0; victim < 3; ++victim) {
    BOOST_TEST_CONTEXT("handshake message " << victim + 1 << " lost") {
      pair_fixture f;
      int handshake_datagrams = 0;
      f.sim->tamper = [&](int, byte_buffer& d) {
        if (d.size() > 1 && d[1] == uint8_t(rudp::packet_type::handshake))
          if (handshake_datagrams++ == victim)
            return false;
        return true;
      };
      BOOST_REQUIRE(f.a().send(1, bytes_of("after"), f.sim->now()));
      BOOST_REQUIRE(f.sim->run_until(
        [&] {
          return f.count_received(1) == 1;
        },
        10s));
      BOOST_CHECK_EQUAL(f.received(1)[0], "after");
      auto retransmissions = f.a().stats().handshake_retransmissions
                             + f.b().stats().handshake_retransmissions;
      BOOST_CHECK_GE(retransmissions, 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(handshake_retransmits_with_backoff_then_times_out) {
  link_config dead = clean_link();
  dead.loss = 1.0;
  pair_fixture f({}, dead, dead);
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.closed(0) != nullptr;
    },
    60s));
  BOOST_CHECK_EQUAL(f.closed(0)->reason.code, errc::handshake_timeout);
  // 10 s with a doubling timeout from about 300 ms: about five retries.
  auto retries = f.a().stats().handshake_retransmissions;
  BOOST_CHECK_GE(retries, 3u);
  BOOST_CHECK_LE(retries, 6u);
  BOOST_CHECK(!f.a().next_timeout());
}

BOOST_AUTO_TEST_CASE(a_wrong_peer_key_is_refused) {
  pair_fixture f([](rudp::connection_config& a, rudp::connection_config&) {
    a.channel.expected_remote = rudp_fixed_keys(0x33).pub;
  });
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.closed(0) != nullptr && f.closed(1) != nullptr;
    },
    15s));
  BOOST_CHECK_EQUAL(f.closed(0)->reason.code, errc::peer_id_mismatch);
  BOOST_CHECK_EQUAL(f.closed(1)->reason.code, errc::peer_refused);
  BOOST_CHECK(f.find_event<rudp::connected_event>(0) == nullptr);
}

BOOST_AUTO_TEST_CASE(the_right_peer_key_is_accepted) {
  pair_fixture f([](rudp::connection_config& a, rudp::connection_config&) {
    a.channel.expected_remote = rudp_fixed_keys(0x22).pub;
  });
  f.connect();
}

BOOST_AUTO_TEST_CASE(another_network_is_refused) {
  pair_fixture f([](rudp::connection_config&, rudp::connection_config& b) {
    b.channel.network_name = "another";
  });
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.closed(0) != nullptr && f.closed(1) != nullptr;
    },
    15s));
  BOOST_CHECK_EQUAL(f.closed(0)->reason.code, errc::network_mismatch);
  BOOST_CHECK_EQUAL(f.closed(1)->reason.code, errc::network_mismatch);
}

BOOST_AUTO_TEST_CASE(the_responder_never_sends_more_than_it_received) {
  pair_fixture f;
  f.sim->tamper = [&](int from, byte_buffer&) {
    if (from == 1 && f.b().state() == rudp::connection_state::handshaking)
      BOOST_CHECK_LE(f.b().stats().bytes_sent, f.b().stats().bytes_received);
    return true;
  };
  f.connect();
}

// -- bad input
// -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bad_packets_are_dropped_without_state_change) {
  pair_fixture f;
  f.connect();
  f.settle();
  // Withhold one genuine data packet of A's, and remember one B accepted.
  byte_buffer withheld;
  byte_buffer accepted;
  f.sim->tamper = [&](int from, byte_buffer& d) {
    if (from != 0 || d.size() < 100 || d[1] != uint8_t(rudp::packet_type::data))
      return true;
    if (withheld.empty()) {
      withheld = d;
      return false;
    }
    accepted = d;
    return true;
  };
  BOOST_REQUIRE(f.a().send(1, byte_buffer(500, 1), f.sim->now()));
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.count_received(1) == 1;
    },
    5s));
  f.settle();
  f.sim->tamper = {};
  BOOST_REQUIRE(!withheld.empty() && !accepted.empty());
  const auto& genuine = withheld;
  auto& b = f.b();
  auto feed = [&](const byte_buffer& d,
                  uint64_t rudp::connection_stats::*counter,
                  const std::string& what) {
    BOOST_TEST_CONTEXT(what) {
      snapshot before{b};
      auto dropped = b.stats().*counter;
      auto total = b.stats().dropped_total();
      b.on_datagram(d, f.sim->now());
      BOOST_CHECK(snapshot{b} == before);
      BOOST_CHECK_EQUAL(b.stats().*counter, dropped + 1);
      BOOST_CHECK_EQUAL(b.stats().dropped_total(), total + 1);
      BOOST_CHECK(!b.poll_event());
      byte_buffer out;
      BOOST_CHECK(!b.poll_datagram(f.sim->now(), out));
    }
  };
  using st = rudp::connection_stats;
  feed(accepted, &st::dropped_replayed, "replayed");
  for (size_t n = 0; n < genuine.size(); n += n < 40 ? 1 : 97) {
    byte_buffer cut(genuine.begin(), genuine.begin() + static_cast<long>(n));
    auto counter = n < rudp::data_packet_overhead ? &st::dropped_malformed
                                                  : &st::dropped_decrypt_failed;
    if (n == 1) // only the version byte: too short for any header
      counter = &st::dropped_malformed;
    feed(cut, counter, "truncated to " + std::to_string(n));
  }
  for (size_t i : {size_t{12}, size_t{18}, size_t{30}, genuine.size() - 1}) {
    auto forged = genuine;
    forged[i] ^= 0x40;
    // A flipped packet-number byte makes a fresh number: still forged.
    feed(forged, &st::dropped_decrypt_failed,
         "bit flipped at " + std::to_string(i));
  }
  auto other_id = genuine;
  other_id[9] ^= 1;
  feed(other_id, &st::dropped_wrong_connection, "another connection id");
  auto version = genuine;
  version[0] = 2;
  feed(version, &st::dropped_unknown_version, "unknown version");
  auto type = genuine;
  type[1] = 9;
  feed(type, &st::dropped_malformed, "unknown packet type");
  byte_buffer junk(300);
  for (size_t i = 0; i < junk.size(); ++i)
    junk[i] = static_cast<uint8_t>(i * 37 + 11);
  feed(junk, &st::dropped_unknown_version, "junk");
  // A handshake packet after the handshake.
  byte_buffer late_hs;
  byte_buffer envelope{1, 1, 0, 4, 1, 2, 3, 4};
  rudp::write_handshake_packet(b.local_id(), f.a().local_id(), envelope,
                               late_hs);
  feed(late_hs, &st::dropped_unexpected, "handshake after the handshake");
  // The connection still works.
  BOOST_REQUIRE(f.a().send(1, bytes_of("two"), f.sim->now()));
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.count_received(1) == 2;
    },
    5s));
  BOOST_CHECK_EQUAL(f.received(1)[1], "two");
}

BOOST_AUTO_TEST_CASE(
  a_forged_handshake_datagram_does_not_poison_the_handshake) {
  pair_fixture f;
  // Before anything else arrives, B gets junk that looks like message 1
  // with a length disagreeing with the datagram.
  byte_buffer forged;
  byte_buffer envelope{1, 1, 0, 99, 0, 0};
  rudp::write_handshake_packet(rudp::no_connection_id, 77, envelope, forged);
  f.b().on_datagram(forged, f.sim->now());
  BOOST_CHECK_EQUAL(f.b().stats().dropped_malformed, 1u);
  BOOST_CHECK_EQUAL(f.b().remote_id(), 0u);
  f.connect();
}

BOOST_AUTO_TEST_CASE(datagrams_before_the_keys_are_dropped) {
  pair_fixture f;
  byte_buffer early = null_packet(f.b().local_id(), 0, {1});
  f.b().on_datagram(early, f.sim->now());
  BOOST_CHECK_EQUAL(f.b().stats().dropped_unexpected, 1u);
  BOOST_CHECK(f.b().state() == rudp::connection_state::handshaking);
}

// -- protocol violations by an authenticated peer ----------------------------

BOOST_AUTO_TEST_CASE(an_authenticated_malformed_packet_closes_the_connection) {
  pair_fixture f(with_null_protection());
  f.connect();
  f.settle();
  f.b().on_datagram(null_packet(f.b().local_id(), 1000, {0x3F}), f.sim->now());
  BOOST_REQUIRE(f.b().state() == rudp::connection_state::closed);
  f.sim->pump();
  BOOST_REQUIRE(f.closed(1));
  BOOST_CHECK_EQUAL(f.closed(1)->reason.code, errc::malformed_message);
  // B told A.
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.closed(0) != nullptr;
    },
    5s));
  BOOST_CHECK_EQUAL(f.closed(0)->reason.code, errc::peer_closed);
}

BOOST_AUTO_TEST_CASE(stream_bytes_beyond_the_flow_limit_close_the_connection) {
  pair_fixture f(with_null_protection());
  f.connect();
  f.settle();
  byte_buffer frames;
  rudp::write_stream_frame_header(64 * 1024 * 1024, 1, frames);
  frames.push_back(0);
  f.b().on_datagram(null_packet(f.b().local_id(), 1000, frames), f.sim->now());
  f.sim->pump();
  BOOST_REQUIRE(f.closed(1));
  BOOST_CHECK_EQUAL(f.closed(1)->reason.code, errc::malformed_message);
}

BOOST_AUTO_TEST_CASE(an_oversized_message_header_closes_before_allocating) {
  pair_fixture f(with_null_protection());
  f.connect();
  f.settle();
  byte_buffer frames;
  rudp::write_stream_frame_header(0, 5, frames);
  // Priority 1, length 0xFFFFFFFF.
  frames.insert(frames.end(), {1, 0xFF, 0xFF, 0xFF, 0xFF});
  f.b().on_datagram(null_packet(f.b().local_id(), 1000, frames), f.sim->now());
  f.sim->pump();
  BOOST_REQUIRE(f.closed(1));
  BOOST_CHECK_EQUAL(f.closed(1)->reason.code, errc::message_too_large);
}

BOOST_AUTO_TEST_CASE(the_sender_respects_the_receivers_flow_limit) {
  // A small window, a long path, a lossy link and the null protection so
  // that the test can read every packet: no STREAM byte A sends lies
  // beyond the largest MAX_DATA B had sent before.
  link_config lossy = clean_link();
  lossy.delay = 40ms;
  lossy.loss = 0.02;
  pair_fixture f(
    [](rudp::connection_config& a, rudp::connection_config& b) {
      a.protection = rudp_null_protection_factory();
      b.protection = rudp_null_protection_factory();
      a.queue.max_message_size = 64 * 1024;
      b.queue.max_message_size = 64 * 1024;
      b.receive_window = rudp::initial_flow_credit;
    },
    lossy, lossy);
  uint64_t limit = rudp::initial_flow_credit;
  uint64_t highest_sent = 0;
  uint64_t violations = 0;
  uint64_t raises = 0;
  f.sim->tamper = [&](int from, byte_buffer& d) {
    if (d.size() < rudp::data_packet_overhead
        || d[1] != uint8_t(rudp::packet_type::data))
      return true;
    auto plain = const_byte_span{d}.subspan(18, d.size() - 18 - 16);
    auto frames = rudp::parse_frames(plain);
    BOOST_REQUIRE(frames);
    if (from == 1 && frames->max_data && *frames->max_data > limit) {
      limit = *frames->max_data;
      ++raises;
    }
    if (from == 0)
      for (auto& s : frames->streams) {
        highest_sent = std::max<uint64_t>(highest_sent,
                                          s.offset + s.data.size());
        if (s.offset + s.data.size() > limit)
          ++violations;
      }
    return true;
  };
  for (int i = 0; i < 40; ++i)
    BOOST_REQUIRE(f.a().send(1, byte_buffer(30000, uint8_t(i)), f.sim->now()));
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.count_received(1) == 40;
    },
    120s));
  BOOST_CHECK_EQUAL(violations, 0u);
  BOOST_CHECK_GT(highest_sent, rudp::initial_flow_credit);
  BOOST_CHECK_GT(raises, 2u);
}

// -- liveness and closing
// --------------------------------------------------------

BOOST_AUTO_TEST_CASE(keepalives_keep_an_idle_connection_open) {
  pair_fixture f;
  f.connect();
  auto sent_before = f.a().stats().packets_sent;
  f.sim->run_for(300s);
  BOOST_CHECK(f.a().state() == rudp::connection_state::established);
  BOOST_CHECK(f.b().state() == rudp::connection_state::established);
  // One PING per 15 s from each side, give or take.
  auto pings = f.a().stats().packets_sent - sent_before;
  BOOST_CHECK_GE(pings, 300u / 15 - 2);
  BOOST_CHECK_LE(pings, 2 * (300u / 15) + 2);
}

BOOST_AUTO_TEST_CASE(a_vanished_peer_is_detected_by_the_idle_timeout) {
  pair_fixture f;
  f.connect();
  f.sim->net().link_from(0).config().loss = 1.0;
  f.sim->net().link_from(1).config().loss = 1.0;
  auto cut = f.sim->now();
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.closed(0) != nullptr && f.closed(1) != nullptr;
    },
    120s));
  BOOST_CHECK_EQUAL(f.closed(0)->reason.code, errc::peer_silent);
  BOOST_CHECK_EQUAL(f.closed(1)->reason.code, errc::peer_silent);
  auto took = f.sim->now() - cut;
  BOOST_CHECK(took >= 44s && took <= 46s);
}

BOOST_AUTO_TEST_CASE(keepalive_and_idle_timeout_are_configurable) {
  pair_fixture f([](rudp::connection_config& a, rudp::connection_config& b) {
    for (auto* c : {&a, &b}) {
      c->keepalive_interval = 1s;
      c->idle_timeout = 3s;
    }
  });
  f.connect();
  f.sim->run_for(20s);
  BOOST_CHECK(f.a().state() == rudp::connection_state::established);
  f.sim->net().link_from(1).config().loss = 1.0;
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.closed(0) != nullptr;
    },
    5s));
  BOOST_CHECK_EQUAL(f.closed(0)->reason.code, errc::peer_silent);
}

BOOST_AUTO_TEST_CASE(a_graceful_close_delivers_everything_first) {
  link_config lossy = clean_link();
  lossy.loss = 0.05;
  pair_fixture f({}, lossy, lossy);
  for (int i = 0; i < 50; ++i)
    BOOST_REQUIRE(
      f.a().send(1, byte_buffer(3000, static_cast<uint8_t>(i)), f.sim->now()));
  f.a().close(f.sim->now());
  BOOST_CHECK(f.a().state() == rudp::connection_state::handshaking
              || f.a().state() == rudp::connection_state::closed);
  // Closing during the handshake ends it at once; so connect first.
  pair_fixture g({}, lossy, lossy);
  g.connect();
  for (int i = 0; i < 50; ++i)
    BOOST_REQUIRE(
      g.a().send(1, byte_buffer(3000, static_cast<uint8_t>(i)), g.sim->now()));
  g.a().close(g.sim->now());
  BOOST_CHECK_EQUAL(g.a().send(1, bytes_of("late"), g.sim->now()).code(),
                    errc::shutting_down);
  BOOST_REQUIRE(g.sim->run_until(
    [&] {
      return g.closed(0) != nullptr && g.closed(1) != nullptr;
    },
    60s));
  BOOST_CHECK_EQUAL(g.received(1).size(), 50u);
  BOOST_CHECK_EQUAL(g.closed(0)->reason.code, errc::none);
  BOOST_CHECK_EQUAL(g.closed(1)->reason.code, errc::peer_closed);
  BOOST_CHECK(g.closed(0)->dropped.empty());
  g.sim->run_for(10s);
  BOOST_CHECK(g.a().state() == rudp::connection_state::closed);
  BOOST_CHECK(g.b().state() == rudp::connection_state::closed);
  BOOST_CHECK(!g.a().next_timeout());
  BOOST_CHECK(!g.b().next_timeout());
}

BOOST_AUTO_TEST_CASE(a_graceful_close_gives_up_on_a_silent_peer) {
  pair_fixture f;
  f.connect();
  BOOST_REQUIRE(f.a().send(1, bytes_of("last"), f.sim->now()));
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.count_received(1) == 1;
    },
    5s));
  f.settle();
  // Everything was acknowledged; now the peer goes away.
  f.sim->net().link_from(0).config().loss = 1.0;
  auto start = f.sim->now();
  f.a().close(f.sim->now());
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.closed(0) != nullptr;
    },
    60s));
  BOOST_CHECK_EQUAL(f.closed(0)->reason.code, errc::none);
  BOOST_CHECK(f.sim->now() - start < 30s); // well before the idle timeout
}

BOOST_AUTO_TEST_CASE(abort_tells_the_peer_and_drops_the_queue) {
  pair_fixture f;
  f.connect();
  for (int i = 0; i < 5; ++i)
    BOOST_REQUIRE(f.a().send(3, byte_buffer(1000, 1), f.sim->now()));
  f.a().abort({errc::rate_exceeded, "too fast"}, f.sim->now());
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.closed(1) != nullptr;
    },
    5s));
  BOOST_CHECK_EQUAL(f.closed(0)->reason.code, errc::rate_exceeded);
  BOOST_CHECK_EQUAL(f.closed(0)->dropped.messages(), 5u);
  // A refusal keeps its reason at the peer.
  BOOST_CHECK_EQUAL(f.closed(1)->reason.code, errc::rate_exceeded);
  BOOST_CHECK_NE(f.closed(1)->reason.detail.find("too fast"),
                 std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_abort_for_another_reason_is_peer_closed_at_the_peer) {
  pair_fixture f;
  f.connect();
  f.a().abort({errc::shutting_down, "bye"}, f.sim->now());
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.closed(1) != nullptr;
    },
    5s));
  BOOST_CHECK_EQUAL(f.closed(0)->reason.code, errc::shutting_down);
  BOOST_CHECK_EQUAL(f.closed(1)->reason.code, errc::peer_closed);
  BOOST_CHECK_NE(f.closed(1)->reason.detail.find("bye"), std::string::npos);
}

// -- path MTU
// ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(mtu_probing_finds_the_path_mtu) {
  for (size_t path : {size_t{1200}, size_t{1280}, size_t{1350}, size_t{1500}}) {
    BOOST_TEST_CONTEXT("path MTU " << path) {
      link_config l = clean_link();
      l.mtu = path;
      pair_fixture f({}, l, l);
      f.connect();
      for (int i = 0; i < 20; ++i)
        BOOST_REQUIRE(f.a().send(1, byte_buffer(5000, 7), f.sim->now()));
      BOOST_REQUIRE(f.sim->run_until(
        [&] {
          return f.count_received(1) == 20;
        },
        30s));
      f.sim->run_for(10s);
      auto expected = std::min<size_t>(path, 1452);
      BOOST_CHECK_LE(f.a().mtu(), expected);
      BOOST_CHECK_GE(f.a().mtu() + 8, expected);
      BOOST_CHECK_LE(f.b().mtu(), expected);
      BOOST_CHECK_GE(f.a().mtu(), 1200u);
    }
  }
}

BOOST_AUTO_TEST_CASE(without_probing_the_mtu_stays_at_the_base) {
  pair_fixture f([](rudp::connection_config& a, rudp::connection_config& b) {
    a.mtu_probing = false;
    b.mtu_probing = false;
  });
  f.connect();
  f.sim->run_for(5s);
  BOOST_CHECK_EQUAL(f.a().mtu(), 1200u);
  BOOST_CHECK_EQUAL(f.a().stats().mtu_probes_sent, 0u);
}

// -- congestion --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bytes_in_flight_stay_within_the_congestion_window) {
  for (auto algo : {rudp::congestion_algorithm::new_reno,
                    rudp::congestion_algorithm::loss_tolerant}) {
    BOOST_TEST_CONTEXT(rudp::to_string(algo)) {
      link_config l = clean_link();
      l.bandwidth = 10e6 / 8;
      l.queue_bytes = 64 * 1024;
      l.loss = 0.01;
      pair_fixture f(
        [algo](rudp::connection_config& a, rudp::connection_config& b) {
          a.congestion = algo;
          b.congestion = algo;
        },
        l, l);
      f.connect();
      for (int i = 0; i < 30; ++i)
        BOOST_REQUIRE(f.a().send(1, byte_buffer(60000, 1), f.sim->now()));
      // Checked as each datagram leaves: only a PTO probe may go beyond
      // the window.
      size_t violations = 0;
      size_t max_window = 0;
      f.sim->tamper = [&](int from, byte_buffer& d) {
        if (from == 0 && d[1] == uint8_t(rudp::packet_type::data)) {
          auto window = f.a().congestion().window();
          max_window = std::max(max_window, window);
          if (f.a().bytes_in_flight() > window + d.size())
            ++violations;
        }
        return true;
      };
      BOOST_REQUIRE(f.sim->run_until(
        [&] {
          return f.count_received(1) == 30;
        },
        60s));
      BOOST_CHECK_LE(violations, 2 * f.a().stats().probe_timeouts);

      BOOST_CHECK_GT(max_window, rudp::initial_window(1200));
    }
  }
}

// -- priorities and drops
// ------------------------------------------------------

BOOST_AUTO_TEST_CASE(urgent_messages_overtake_queued_ones) {
  pair_fixture f;
  for (int i = 0; i < 5; ++i)
    BOOST_REQUIRE(f.a().send(5, bytes_of("bulk"), f.sim->now()));
  BOOST_REQUIRE(f.a().send(0, bytes_of("urgent"), f.sim->now()));
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.count_received(1) == 6;
    },
    5s));
  BOOST_CHECK_EQUAL(f.received(1)[0], "urgent");
}

BOOST_AUTO_TEST_CASE(the_drop_rule_drops_stale_low_priority_messages) {
  link_config slow = clean_link();
  slow.bandwidth = 100e3 / 8; // 100 kbit/s
  pair_fixture f(
    [](rudp::connection_config& a, rudp::connection_config&) {
      a.queue.expiry = 2s;
    },
    slow, slow);
  f.connect();
  for (int i = 0; i < 40; ++i)
    BOOST_REQUIRE(f.a().send(4, byte_buffer(5000, 4), f.sim->now()));
  for (int i = 0; i < 3; ++i)
    BOOST_REQUIRE(f.a().send(1, bytes_of("keep"), f.sim->now()));
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.a().queued_messages() == 0 && f.a().bytes_in_flight() == 0;
    },
    120s));
  auto r = f.received(1);
  BOOST_CHECK_EQUAL(std::count(r.begin(), r.end(), "keep"), 3);
  auto* dropped = f.find_event<rudp::dropped_event>(0);
  BOOST_REQUIRE(dropped != nullptr);
  BOOST_CHECK_EQUAL(dropped->report.dropped.front().prio, 4);
  BOOST_CHECK_LT(f.received(1).size(), 43u);
}

BOOST_AUTO_TEST_CASE(sending_checks_size_and_queue_limits) {
  pair_fixture f([](rudp::connection_config& a, rudp::connection_config&) {
    a.queue.max_message_size = 1000;
    a.queue.max_bytes = 1500;
  });
  BOOST_CHECK_EQUAL(f.a().send(1, byte_buffer(1001), f.sim->now()).code(),
                    errc::message_too_large);
  BOOST_CHECK(f.a().send(1, byte_buffer(1000), f.sim->now()));
  BOOST_CHECK_EQUAL(f.a().send(1, byte_buffer(1000), f.sim->now()).code(),
                    errc::queue_full);
  BOOST_CHECK(f.a().send(1, byte_buffer{}, f.sim->now()));
}

BOOST_AUTO_TEST_CASE(a_maximum_size_message_arrives_whole) {
  link_config lossy = clean_link();
  lossy.loss = 0.03;
  lossy.reorder = 0.02;
  pair_fixture f({}, lossy, lossy);
  byte_buffer big(2 * 1024 * 1024);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<uint8_t>(i * 131 + (i >> 12));
  auto copy = big;
  BOOST_REQUIRE(f.a().send(1, std::move(big), f.sim->now()));
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.count_received(1) == 1;
    },
    60s));
  auto* m = f.find_event<rudp::message_event>(1);
  BOOST_REQUIRE(m != nullptr);
  BOOST_CHECK(m->payload == copy);
  BOOST_CHECK_EQUAL(
    f.a().send(1, byte_buffer(2 * 1024 * 1024 + 1), f.sim->now()).code(),
    errc::message_too_large);
}

BOOST_AUTO_TEST_CASE(invalid_configurations_are_refused) {
  auto [a, b] = rudp_config_pair();
  auto bad = a;
  bad.receive_window = 1000;
  BOOST_CHECK_EQUAL(
    rudp::connection::create(bad, rudp::time_point{}).error().code,
    errc::invalid_config);
  bad = a;
  bad.base_mtu = 1000;
  BOOST_CHECK(!rudp::connection::create(bad, rudp::time_point{}));
  bad = a;
  bad.idle_timeout = 1s;
  bad.keepalive_interval = 2s;
  BOOST_CHECK(!rudp::connection::create(bad, rudp::time_point{}));
  bad = a;
  bad.ack_every = 0;
  BOOST_CHECK(!rudp::connection::create(bad, rudp::time_point{}));
}

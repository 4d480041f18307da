// The engine's parts on their own: RTT estimation, loss detection, the two
// congestion controllers, the pacer, the MTU prober and the two halves of
// the stream.

#include "crust/transport/rudp/loss_detector.hpp"
#include "crust/transport/rudp/loss_tolerant_controller.hpp"
#include "crust/transport/rudp/mtu_prober.hpp"
#include "crust/transport/rudp/new_reno_controller.hpp"
#include "crust/transport/rudp/pacer.hpp"
#include "crust/transport/rudp/receive_stream.hpp"
#include "crust/transport/rudp/rtt_estimator.hpp"
#include "crust/transport/rudp/send_stream.hpp"

#include "support/engine_test_support.hpp"
#include "support/sim_network.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

using namespace crust;
using namespace crust::rudp;
using namespace std::chrono_literals;

namespace {

const time_point t0 = time_point{} + std::chrono::hours{1};

ack_frame ack_of(uint64_t low, uint64_t high) {
  ack_frame a;
  a.ranges.push_back({low, high});
  return a;
}

sent_packet data_packet(uint64_t pn, time_point at, size_t size = 1200) {
  sent_packet p;
  p.number = pn;
  p.sent_time = at;
  p.size = size;
  p.ack_eliciting = true;
  p.in_flight = true;
  p.ranges.push_back({pn * 1000, 1000});
  return p;
}

} // namespace

// -- RTT
// -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(rtt_follows_rfc_9002) {
  rtt_estimator rtt{100ms};
  BOOST_CHECK(!rtt.has_sample());
  BOOST_CHECK(rtt.smoothed() == 100ms);
  rtt.on_sample(40ms, 0ms);
  BOOST_CHECK(rtt.smoothed() == 40ms);
  BOOST_CHECK(rtt.variation() == 20ms);
  BOOST_CHECK(rtt.min() == 40ms);
  // ack delay is subtracted only while the sample stays above the minimum.
  rtt.on_sample(60ms, 10ms); // adjusted 50 ms
  BOOST_CHECK(rtt.smoothed() == duration{40ms * 7 + 50ms} / 8);
  BOOST_CHECK(rtt.variation() == duration{20ms * 3 + 10ms} / 4);
  rtt.on_sample(45ms, 30ms); // 45 - 30 < min: not adjusted
  BOOST_CHECK(rtt.min() == 40ms);
  BOOST_CHECK(rtt.latest() == 45ms);
  BOOST_CHECK(rtt.pto(10ms)
              == rtt.smoothed() + std::max<duration>(rtt.variation() * 4, 1ms)
                   + 10ms);
}

// -- loss detection
// ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(packets_are_lost_after_three_later_ones_are_acked) {
  loss_detector ld{100ms, 0ms};
  for (uint64_t pn = 0; pn < 6; ++pn)
    ld.on_sent(data_packet(pn, t0 + 1ms * pn), false);
  BOOST_CHECK_EQUAL(ld.bytes_in_flight(), 6 * 1200u);
  // 1..3 acknowledged: 0 has three later packets acked.
  ack_frame a;
  a.ranges.push_back({1, 3});
  auto res = ld.on_ack(a, t0 + 20ms);
  BOOST_CHECK_EQUAL(res.acked.size(), 3u);
  BOOST_REQUIRE_EQUAL(res.lost.size(), 1u);
  BOOST_CHECK_EQUAL(res.lost[0].number, 0u);
  BOOST_CHECK_EQUAL(res.lost_bytes, 1200u);
  BOOST_CHECK_EQUAL(ld.bytes_in_flight(), 2 * 1200u);
  BOOST_REQUIRE(res.sample);
  BOOST_CHECK_EQUAL(res.sample->acked_bytes, 3 * 1200u);
  BOOST_CHECK(ld.rtt().latest() == 17ms);
  // A duplicate ACK changes nothing.
  auto again = ld.on_ack(a, t0 + 21ms);
  BOOST_CHECK(again.acked.empty() && again.lost.empty());
}

BOOST_AUTO_TEST_CASE(packets_are_lost_after_the_time_threshold) {
  loss_detector ld{100ms, 0ms};
  for (uint64_t pn = 0; pn < 3; ++pn)
    ld.on_sent(data_packet(pn, t0 + 1ms * pn), false);
  auto res = ld.on_ack(ack_of(2, 2), t0 + 30ms); // RTT sample 28 ms
  BOOST_CHECK(res.lost.empty());
  // The loss timer fires 9/8 RTT after packet 0 was sent.
  auto timer = ld.next_timer();
  BOOST_REQUIRE(timer);
  BOOST_CHECK(!ld.pto_due(*timer));
  BOOST_CHECK(*timer == t0 + duration{28ms} * 9 / 8);
  auto lost = ld.detect_lost(*timer);
  BOOST_CHECK_EQUAL(lost.lost.size(), 1u);
  BOOST_CHECK_EQUAL(lost.lost[0].number, 0u);
  // Packet 1 is later; it is lost at its own time.
  lost = ld.detect_lost(*ld.next_timer());
  BOOST_CHECK_EQUAL(lost.lost.size(), 1u);
  BOOST_CHECK(!ld.next_timer()); // nothing in flight: no PTO either
}

BOOST_AUTO_TEST_CASE(the_probe_timeout_backs_off) {
  loss_detector ld{100ms, 10ms};
  ld.on_sent(data_packet(0, t0), false);
  auto first = ld.next_timer();
  BOOST_REQUIRE(first);
  BOOST_CHECK(ld.pto_due(*first));
  // 100 + 4 * 50 + 10 ms.
  BOOST_CHECK(*first == t0 + 310ms);
  ld.on_pto();
  BOOST_CHECK(*ld.next_timer() == t0 + 620ms);
  ld.on_pto();
  BOOST_CHECK(*ld.next_timer() == t0 + 1240ms);
  // An acknowledgement resets the backoff.
  ld.on_sent(data_packet(1, t0 + 2s), false);
  ld.on_ack(ack_of(1, 1), t0 + 2s + 50ms);
  BOOST_CHECK_EQUAL(ld.pto_count(), 0u);
}

BOOST_AUTO_TEST_CASE(acks_for_packets_never_sent_are_ignored) {
  loss_detector ld{100ms, 0ms};
  ld.on_sent(data_packet(0, t0), false);
  auto res = ld.on_ack(ack_of(5, 1000000), t0 + 10ms);
  BOOST_CHECK(res.acked.empty());
  BOOST_CHECK(!ld.largest_acked());
  BOOST_CHECK_EQUAL(ld.bytes_in_flight(), 1200u);
}

BOOST_AUTO_TEST_CASE(delivery_rate_samples_measure_the_ack_clock) {
  loss_detector ld{10ms, 0ms};
  // Packets of 1000 bytes, one per ms, each acked 10 ms later.
  std::optional<ack_sample> last;
  for (uint64_t pn = 0; pn < 40; ++pn) {
    ld.on_sent(data_packet(pn, t0 + 1ms * pn, 1000), false);
    if (pn >= 10) {
      auto res = ld.on_ack(ack_of(pn - 10, pn - 10), t0 + 1ms * pn);
      last = res.sample;
    }
  }
  BOOST_REQUIRE(last);
  // 1000 bytes per ms = 1e6 bytes/s.
  BOOST_CHECK_CLOSE(last->delivery_rate, 1e6, 15);
}

// -- congestion control
// ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(new_reno_grows_halves_once_per_recovery_and_resets) {
  new_reno_controller cc{1200};
  rtt_estimator rtt{50ms};
  auto start = cc.window();
  BOOST_CHECK_EQUAL(start, initial_window(1200));
  ack_sample s;
  s.acked_bytes = 1200;
  s.now = t0;
  s.largest_acked_sent_time = t0;
  cc.on_ack(s, rtt);
  BOOST_CHECK_EQUAL(cc.window(), start + 1200); // slow start
  cc.on_loss(t0 + 1ms, t0, 1200, 0);
  auto halved = cc.window();
  BOOST_CHECK_EQUAL(halved, (start + 1200) / 2);
  // A second loss of a packet sent before the recovery began: no change.
  cc.on_loss(t0 + 2ms, t0 + 500us, 1200, 0);
  BOOST_CHECK_EQUAL(cc.window(), halved);
  // Acks of old packets do not grow the window during recovery.
  s.largest_acked_sent_time = t0;
  cc.on_ack(s, rtt);
  BOOST_CHECK_EQUAL(cc.window(), halved);
  // Congestion avoidance: one datagram per window acknowledged.
  s.largest_acked_sent_time = t0 + 10ms;
  s.acked_bytes = halved;
  cc.on_ack(s, rtt);
  BOOST_CHECK_EQUAL(cc.window(), halved + 1200);
  cc.on_persistent_congestion(t0 + 1s);
  BOOST_CHECK_EQUAL(cc.window(), 2 * 1200u);
  BOOST_CHECK_GT(cc.pacing_rate(rtt), 0);
}

BOOST_AUTO_TEST_CASE(loss_tolerant_tracks_bandwidth_and_ignores_random_loss) {
  loss_tolerant_controller cc{1200};
  rtt_estimator rtt{20ms};
  rtt.on_sample(20ms, 0ms);
  // Feed a steady 1 MB/s path: rounds of 20 ms delivering 20 kB each, with
  // 5 % of the bytes lost.
  uint64_t delivered = 0;
  auto now = t0;
  for (int round = 0; round < 60; ++round) {
    for (int i = 0; i < 10; ++i) {
      ack_sample s;
      now += 2ms;
      s.now = now;
      s.acked_bytes = 2000;
      s.prior_delivered = delivered > 20000 ? delivered - 20000 : 0;
      delivered += 2000;
      s.delivered = delivered;
      s.delivery_rate = 1e6;
      s.largest_acked_sent_time = now - 20ms;
      s.bytes_in_flight = 20000;
      cc.on_ack(s, rtt);
      cc.on_loss(now, now - 20ms, 100, 20000);
    }
  }
  BOOST_CHECK(cc.current_phase() == loss_tolerant_controller::phase::probe_bw);
  BOOST_CHECK_CLOSE(cc.bandwidth(), 1e6, 1);
  // Window about 2 x BDP = 2 x 1e6 x 0.02 = 40 kB.
  BOOST_CHECK_GE(cc.window(), 35000u);
  BOOST_CHECK_LE(cc.window(), 45000u);
  BOOST_CHECK_GE(cc.pacing_rate(rtt), 0.7e6);
  BOOST_CHECK_LE(cc.pacing_rate(rtt), 1.3e6);
}

BOOST_AUTO_TEST_CASE(loss_tolerant_backs_off_under_heavy_loss) {
  loss_tolerant_controller cc{1200};
  rtt_estimator rtt{20ms};
  rtt.on_sample(20ms, 0ms);
  uint64_t delivered = 0;
  auto now = t0;
  auto feed_round = [&](double rate, size_t lost) {
    ack_sample s;
    now += 20ms;
    s.now = now;
    s.acked_bytes = 20000;
    s.prior_delivered = delivered;
    delivered += 20000;
    s.delivered = delivered;
    s.delivery_rate = rate;
    s.largest_acked_sent_time = now - 20ms;
    cc.on_loss(now, now - 20ms, lost, 20000);
    cc.on_ack(s, rtt);
  };
  for (int i = 0; i < 12; ++i)
    feed_round(1e6, 0);
  auto before = cc.bandwidth();
  for (int i = 0; i < 5; ++i)
    feed_round(0, 10000); // a third of the bytes lost per round
  BOOST_CHECK_LT(cc.bandwidth(), before * 0.7);
  cc.on_persistent_congestion(now);
  BOOST_CHECK_EQUAL(cc.window(), 4 * 1200u);
  BOOST_CHECK(cc.current_phase() == loss_tolerant_controller::phase::startup);
}

BOOST_AUTO_TEST_CASE(loss_tolerant_window_is_not_trapped_by_host_delay) {
  // Loopback through actors: a minimum RTT of 130 us seen once, 500 us
  // during the transfer. The window must cover the 500 us at the measured
  // rate, or the rate it measures is bounded by its own window.
  loss_tolerant_controller cc{1452};
  rtt_estimator rtt{100ms};
  rtt.on_sample(130us, 0ms);
  uint64_t delivered = 0;
  auto now = t0;
  const double rate = 250e6; // bytes per second
  for (int i = 0; i < 400; ++i) {
    ack_sample s;
    now += 50us;
    s.now = now;
    s.acked_bytes = 12500; // 250 MB/s in 50 us
    s.prior_delivered = delivered > 125000 ? delivered - 125000 : 0;
    delivered += s.acked_bytes;
    s.delivered = delivered;
    s.delivery_rate = rate;
    s.largest_acked_sent_time = now - 500us;
    s.rtt_sample = 500us;
    s.bytes_in_flight = 125000;
    cc.on_ack(s, rtt);
  }
  BOOST_CHECK_EQUAL(cc.min_rtt().count(),
                    std::chrono::nanoseconds{130us}.count());
  // At least 2 x rate x 1 ms (the model's RTT floor).
  BOOST_CHECK_GE(cc.window(), static_cast<size_t>(2 * rate * 1e-3));
  BOOST_CHECK_GT(static_cast<double>(cc.window()), rate * 500e-6 * 2);
}

BOOST_AUTO_TEST_CASE(loss_tolerant_probes_the_rtt_every_ten_seconds) {
  loss_tolerant_controller cc{1200};
  rtt_estimator rtt{20ms};
  rtt.on_sample(20ms, 0ms);
  uint64_t delivered = 0;
  auto now = t0;
  // A 1 MB/s path whose RTT grew to 30 ms after the first sample of 20 ms.
  auto feed = [&](duration sample, size_t in_flight) {
    ack_sample s;
    now += 2ms;
    s.now = now;
    s.acked_bytes = 2000;
    s.prior_delivered = delivered > 30000 ? delivered - 30000 : 0;
    delivered += 2000;
    s.delivered = delivered;
    s.delivery_rate = 1e6;
    s.largest_acked_sent_time = now - sample;
    s.rtt_sample = sample;
    s.bytes_in_flight = in_flight;
    cc.on_ack(s, rtt);
  };
  feed(20ms, 20000);
  while (now < t0 + 9s)
    feed(30ms, 20000);
  BOOST_CHECK(cc.current_phase() == loss_tolerant_controller::phase::probe_bw);
  BOOST_CHECK_EQUAL(cc.min_rtt().count(),
                    std::chrono::nanoseconds{20ms}.count());
  auto before = cc.window();
  while (now < t0 + 10s + 10ms)
    feed(30ms, 20000);
  // Expired: PROBE_RTT with half the model's window.
  BOOST_CHECK(cc.current_phase() == loss_tolerant_controller::phase::probe_rtt);
  BOOST_CHECK_LT(cc.window(), before / 2);
  // The flight shrinks, 200 ms and a round pass: the new minimum holds.
  while (now < t0 + 10s + 300ms)
    feed(30ms, 10000);
  BOOST_CHECK(cc.current_phase() == loss_tolerant_controller::phase::probe_bw);
  BOOST_CHECK_EQUAL(cc.min_rtt().count(),
                    std::chrono::nanoseconds{30ms}.count());
  BOOST_CHECK_GE(cc.window(), 2 * 30000u);
}

BOOST_AUTO_TEST_CASE(loss_tolerant_window_allows_for_ack_aggregation) {
  // ACKs arrive in bursts every 10 ms covering 10 ms of data each: the
  // window grows by the burst beyond what bandwidth x RTT explains.
  loss_tolerant_controller cc{1200};
  rtt_estimator rtt{20ms};
  rtt.on_sample(20ms, 0ms);
  uint64_t delivered = 0;
  auto now = t0;
  for (int i = 0; i < 100; ++i) {
    ack_sample s;
    now += 10ms;
    s.now = now;
    s.acked_bytes = 10000;
    s.prior_delivered = delivered > 20000 ? delivered - 20000 : 0;
    delivered += s.acked_bytes;
    s.delivered = delivered;
    s.delivery_rate = 1e6;
    s.largest_acked_sent_time = now - 20ms;
    s.rtt_sample = 20ms;
    s.bytes_in_flight = 20000;
    cc.on_ack(s, rtt);
  }
  BOOST_CHECK_GE(cc.extra_acked(), 9000);
  BOOST_CHECK_GE(cc.window(), 2 * 20000u + 9000u);
}

// -- pacer
// ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_pacer_spreads_packets_at_its_rate) {
  pacer p;
  p.configure(1e6, 3000); // 1 MB/s, bursts of 3000 bytes
  auto now = t0;
  int sent = 0;
  // Over 100 ms of polling every 100 us, about 100 kB plus the burst leave.
  size_t bytes = 0;
  for (int i = 0; i < 1000; ++i, now += 100us)
    while (p.can_send(now, 1000)) {
      p.on_sent(1000);
      bytes += 1000;
      ++sent;
    }
  BOOST_CHECK_GE(bytes, 99000u);
  BOOST_CHECK_LE(bytes, 104000u);
  BOOST_CHECK(p.blocked());
  auto next = p.release_time();
  BOOST_CHECK(next > now - 100us);
  BOOST_CHECK(next <= now + 1ms);
  BOOST_CHECK(p.can_send(next, 1000));
}

// -- MTU prober
// ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_mtu_prober_searches_down_from_the_maximum) {
  mtu_prober m{1200, 1452, true};
  const size_t path = 1300;
  int probes = 0;
  while (auto size = m.wanted()) {
    ++probes;
    m.on_probe_sent(*size);
    if (*size <= path)
      m.on_probe_acked(*size);
    else
      m.on_probe_lost(*size);
    BOOST_REQUIRE_LT(probes, 100);
  }
  BOOST_CHECK(m.done());
  BOOST_CHECK_LE(m.current(), path);
  BOOST_CHECK_GE(m.current() + mtu_prober::resolution, path);
  mtu_prober ok{1200, 1452, true};
  ok.on_probe_sent(*ok.wanted());
  ok.on_probe_acked(1452);
  BOOST_CHECK(ok.done());
  BOOST_CHECK_EQUAL(ok.current(), 1452u);
  mtu_prober off{1200, 1452, false};
  BOOST_CHECK(!off.wanted());
}

// -- streams
// -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(send_stream_retransmits_only_lost_unacked_bytes) {
  send_stream s;
  s.append(1, byte_buffer(100, 'x'));
  s.append(2, byte_buffer{});
  BOOST_CHECK_EQUAL(s.end(), 100u + 2 * message_header_len);
  auto r1 = s.take(50, UINT64_MAX);
  auto r2 = s.take(1000, UINT64_MAX);
  BOOST_REQUIRE(r1 && r2);
  BOOST_CHECK_EQUAL(r1->length, 50u);
  BOOST_CHECK_EQUAL(r2->offset, 50u);
  BOOST_CHECK(!s.take(1000, UINT64_MAX));
  // Part of r2 is acked by a later copy, then r2 is declared lost.
  s.on_acked({60, 10});
  s.on_lost(*r2);
  BOOST_CHECK(s.has_retransmission());
  auto again1 = s.take(1000, UINT64_MAX);
  auto again2 = s.take(1000, UINT64_MAX);
  BOOST_REQUIRE(again1 && again2);
  BOOST_CHECK_EQUAL(again1->offset, 50u);
  BOOST_CHECK_EQUAL(again1->length, 10u);
  BOOST_CHECK_EQUAL(again2->offset, 70u);
  BOOST_CHECK_EQUAL(again2->length, s.end() - 70);
  byte_buffer bytes;
  s.copy(*again2, bytes);
  BOOST_CHECK_EQUAL(bytes.size(), again2->length);
  s.on_acked(*r1);
  s.on_acked({50, 10});
  s.on_acked(*again2);
  BOOST_CHECK(s.all_acked());
  BOOST_CHECK_EQUAL(s.buffered_bytes(), 0u);
}

BOOST_AUTO_TEST_CASE(send_stream_respects_the_flow_limit) {
  send_stream s;
  s.append(1, byte_buffer(1000, 'x'));
  auto r = s.take(5000, 300);
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->length, 300u);
  BOOST_CHECK(!s.has_pending(300));
  BOOST_CHECK(!s.take(5000, 300));
  BOOST_CHECK(s.has_pending(301));
}

BOOST_AUTO_TEST_CASE(receive_stream_reorders_and_counts_each_byte_once) {
  send_stream s;
  byte_buffer all;
  test::sim_random rng(5);
  std::vector<byte_buffer> originals;
  for (int i = 0; i < 30; ++i) {
    byte_buffer m(rng.below(3000));
    for (auto& x : m)
      x = static_cast<uint8_t>(rng.next());
    originals.push_back(m);
    s.append(static_cast<uint8_t>(i % 3), std::move(m));
  }
  std::vector<stream_range> pieces;
  while (auto r = s.take(1 + rng.below(1400), UINT64_MAX))
    pieces.push_back(*r);
  // Deliver in random order, with duplicates and overlaps.
  receive_stream rx{1 << 20};
  std::vector<stream_message> got;
  for (size_t i = 0; i < pieces.size() * 3; ++i) {
    auto p = pieces[rng.below(pieces.size())];
    byte_buffer b;
    s.copy(p, b);
    BOOST_REQUIRE(rx.on_data(p.offset, b, got));
  }
  for (auto p : pieces) { // make sure every piece came at least once
    byte_buffer b;
    s.copy(p, b);
    BOOST_REQUIRE(rx.on_data(p.offset, b, got));
  }
  BOOST_REQUIRE_EQUAL(got.size(), originals.size());
  for (size_t i = 0; i < got.size(); ++i) {
    BOOST_CHECK_EQUAL(got[i].prio, i % 3);
    BOOST_CHECK(got[i].payload == originals[i]);
  }
  BOOST_CHECK_EQUAL(rx.contiguous(), s.end());
  BOOST_CHECK_EQUAL(rx.buffered_bytes(), 0u);
}

BOOST_AUTO_TEST_CASE(receive_stream_refuses_oversized_messages) {
  receive_stream rx{100};
  std::vector<stream_message> got;
  byte_buffer header{1, 0, 0, 0, 101};
  auto st = rx.on_data(0, header, got);
  BOOST_CHECK_EQUAL(st.code(), errc::message_too_large);
  receive_stream ok{100};
  byte_buffer exact{1, 0, 0, 0, 100};
  exact.resize(105, 'z');
  BOOST_CHECK(ok.on_data(0, exact, got));
  BOOST_CHECK_EQUAL(got.size(), 1u);
}

BOOST_AUTO_TEST_CASE(receive_stream_bounds_its_out_of_order_pieces) {
  receive_stream rx{1 << 20};
  std::vector<stream_message> got;
  byte_buffer one{7};
  status st;
  size_t offset = 10;
  for (size_t i = 0; st && i <= receive_stream::max_pending_pieces; ++i) {
    st = rx.on_data(offset, one, got);
    offset += 2; // every other byte: nothing merges
  }
  BOOST_CHECK_EQUAL(st.code(), errc::malformed_message);
  BOOST_CHECK_LE(rx.buffered_bytes(), receive_stream::max_pending_pieces);
}

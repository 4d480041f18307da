// Goodput of the engine over a simulated 100 Mbit/s bottleneck with random
// loss, in virtual time (CPU speed does not enter). The report cases are
// disabled by default; run them with
//   rudp_goodput_test --run_test=goodput_report
//   rudp_goodput_test --run_test=engine_cpu_report   (wall clock, printed)
// The default cases only check the behaviour the figures rest on, with
// generous floors that do not depend on the machine.

#include "crust/transport/rudp/connection.hpp"

#include "support/rudp_sim.hpp"
#include "support/sim_network.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

using namespace crust;
using namespace crust::test;
using namespace std::chrono_literals;

namespace {

struct goodput_result {
  double mbit_per_s = 0;
  double retransmitted_ratio = 0;
  double lost_by_time_share = 0;
  uint64_t probe_timeouts = 0;
  size_t mtu = 0;
  bool complete = false;
};

/// Sends `total` bytes in 64 KiB messages from endpoint 0 to 1 over a
/// 100 Mbit/s link (queue of 50 ms, as `tbf latency 50ms`) with `loss` on
/// the data direction only (as the nftables rig drops data, never ACKs).
goodput_result measure(double loss, sim_duration one_way,
                       rudp::congestion_algorithm algo, size_t total,
                       uint64_t seed = 1) {
  link_config fwd;
  fwd.bandwidth = 100e6 / 8;
  fwd.queue_bytes = 625 * 1000;
  fwd.delay = one_way;
  fwd.loss = loss;
  link_config back = fwd;
  back.loss = 0;
  auto [a, b] = rudp_config_pair();
  a.congestion = algo;
  b.congestion = algo;
  a.queue.max_bytes = total + 1024 * 1024;
  rudp_sim sim(seed, fwd, back, std::move(a), std::move(b));
  size_t received = 0;
  sim.on_event([&](int i, rudp::event& ev) {
    if (auto* m = std::get_if<rudp::message_event>(&ev); m && i == 1)
      received += m->payload.size();
  });
  BOOST_REQUIRE(sim.run_until(
    [&] {
      return sim.connected();
    },
    10s));
  auto start = sim.now();
  const size_t chunk = 64 * 1024;
  for (size_t sent = 0; sent < total; sent += chunk)
    BOOST_REQUIRE(sim.conn(0).send(1, byte_buffer(chunk, 0x5A), start));
  goodput_result res;
  res.complete = sim.run_until(
    [&] {
      return received >= total;
    },
    600s);
  auto secs = std::chrono::duration<double>(sim.now() - start).count();
  res.mbit_per_s = static_cast<double>(received) * 8 / secs / 1e6;
  const auto& st = sim.conn(0).stats();
  res.retransmitted_ratio = static_cast<double>(st.stream_bytes_retransmitted)
                            / static_cast<double>(st.stream_bytes_sent);
  res.lost_by_time_share = st.packets_lost == 0
                             ? 0
                             : static_cast<double>(st.packets_lost_by_time)
                                 / static_cast<double>(st.packets_lost);
  res.probe_timeouts = st.probe_timeouts;
  res.mtu = sim.conn(0).mtu();
  return res;
}

} // namespace

BOOST_AUTO_TEST_CASE(clean_link_is_nearly_filled) {
  auto r = measure(0, 1ms, rudp::congestion_algorithm::loss_tolerant,
                   4 * 1024 * 1024);
  BOOST_REQUIRE(r.complete);
  BOOST_CHECK_GT(r.mbit_per_s, 80);
  BOOST_CHECK_EQUAL(r.mtu, 1452u);
}

BOOST_AUTO_TEST_CASE(loss_tolerant_keeps_most_of_a_five_percent_loss_link) {
  auto tolerant = measure(0.05, 1ms, rudp::congestion_algorithm::loss_tolerant,
                          2 * 1024 * 1024);
  auto reno = measure(0.05, 1ms, rudp::congestion_algorithm::new_reno,
                      2 * 1024 * 1024);
  BOOST_REQUIRE(tolerant.complete && reno.complete);
  BOOST_CHECK_GT(tolerant.mbit_per_s, 60);
  BOOST_CHECK_GT(tolerant.mbit_per_s, reno.mbit_per_s);
}

BOOST_AUTO_TEST_CASE(engine_cpu_report, *boost::unit_test::disabled()) {
  // Both engines on this thread over a link without delay or rate limit:
  // the wall-clock time is what the engines (AEAD included) and the
  // simulator cost. Printed, never asserted.
  const size_t total = 256 * 1024 * 1024;
  link_config fast;
  fast.delay = std::chrono::microseconds{50};
  fast.queue_bytes = SIZE_MAX;
  auto [a, b] = rudp_config_pair();
  a.queue.max_bytes = total + 1024 * 1024;
  rudp_sim sim(1, fast, fast, std::move(a), std::move(b));
  size_t received = 0;
  sim.on_event([&](int i, rudp::event& ev) {
    if (auto* m = std::get_if<rudp::message_event>(&ev); m && i == 1)
      received += m->payload.size();
  });
  BOOST_REQUIRE(sim.run_until(
    [&] {
      return sim.connected();
    },
    10s));
  const size_t chunk = 64 * 1024;
  for (size_t sent = 0; sent < total; sent += chunk)
    BOOST_REQUIRE(sim.conn(0).send(1, byte_buffer(chunk, 0x5A), sim.now()));
  auto wall_start = std::chrono::steady_clock::now();
  BOOST_REQUIRE(sim.run_until(
    [&] {
      return received >= total;
    },
    600s));
  auto wall = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - wall_start)
                .count();
  std::printf("engine CPU: %zu MiB through both engines in %.2f s wall "
              "(%.0f Mbit/s, %.1f ns per byte for sender and receiver "
              "together, simulator included), MTU %zu\n",
              total >> 20, wall, static_cast<double>(total) * 8 / wall / 1e6,
              wall * 1e9 / static_cast<double>(total), sim.conn(0).mtu());
}

BOOST_AUTO_TEST_CASE(goodput_report, *boost::unit_test::disabled()) {
  const size_t total = 32 * 1024 * 1024;
  std::printf("rUDP engine goodput, 100 Mbit/s bottleneck (50 ms queue), "
              "%zu MiB, loss on the data direction, virtual time\n",
              total >> 20);
  std::printf("%-14s %-6s %-5s %9s %8s %9s %5s %5s\n", "controller", "RTT",
              "loss", "Mbit/s", "retx/B", "lost@time", "PTOs", "MTU");
  for (auto algo : {rudp::congestion_algorithm::loss_tolerant,
                    rudp::congestion_algorithm::new_reno})
    for (auto one_way : {1ms, 10ms})
      for (double loss : {0.0, 0.01, 0.02, 0.05}) {
        auto r = measure(loss, one_way, algo, total);
        std::printf("%-14s %3lldms %4.0f%% %9.1f %8.4f %9.2f %5llu %5zu%s\n",
                    std::string(rudp::to_string(algo)).c_str(),
                    static_cast<long long>(2 * one_way.count()), loss * 100,
                    r.mbit_per_s, r.retransmitted_ratio, r.lost_by_time_share,
                    static_cast<unsigned long long>(r.probe_timeouts), r.mtu,
                    r.complete ? "" : " (incomplete)");
      }
}

// Seeded transfers under a simulated network: every byte arrives exactly
// once and in order, whatever the loss, reordering, duplication, jitter and
// bandwidth. CRUST_RUDP_SEED=<n> replays one seed; CRUST_RUDP_SEEDS=<count>
// (default 200) and CRUST_RUDP_FIRST_SEED=<n> choose the range.

#include "crust/transport/rudp/connection.hpp"

#include "support/rudp_sim.hpp"
#include "support/sim_network.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using namespace crust;
using namespace crust::test;
using namespace std::chrono_literals;

namespace {

uint64_t env_or(const char* name, uint64_t fallback) {
  if (const char* v = std::getenv(name))
    return std::strtoull(v, nullptr, 10);
  return fallback;
}

/// FNV-1a, 64 bits: enough to tell two byte sequences apart in a test.
struct stream_hash {
  uint64_t h = 0xcbf29ce484222325ull;
  uint64_t bytes = 0;

  void add(const byte_buffer& b) {
    for (auto x : b)
      h = (h ^ x) * 0x100000001b3ull;
    bytes += b.size();
  }
};

struct scenario {
  link_config forward;
  link_config backward;
  rudp::congestion_algorithm algorithm
    = rudp::congestion_algorithm::loss_tolerant;
  size_t target_bytes = 0;

  std::string describe() const {
    std::ostringstream os;
    os << "loss " << forward.loss * 100 << "%, reorder "
       << forward.reorder * 100 << "%, dup " << forward.duplicate * 100
       << "%, delay " << forward.delay.count() / 1000000 << " ms, jitter "
       << forward.jitter.count() / 1000000 << " ms, bandwidth "
       << forward.bandwidth * 8 / 1e6 << " Mbit/s (queue "
       << forward.queue_bytes << " B), " << rudp::to_string(algorithm) << ", "
       << target_bytes << " bytes";
    return os.str();
  }
};

scenario make_scenario(uint64_t seed) {
  sim_random r(seed * 0x2545F4914F6CDD1Dull + 7);
  static const double losses[] = {0, 0.005, 0.01, 0.02, 0.05, 0.1};
  scenario s;
  link_config l;
  l.loss = losses[r.below(6)];
  l.reorder = r.chance(0.5) ? r.unit() * 0.05 : 0;
  l.reorder_delay = std::chrono::milliseconds{1 + r.below(10)};
  l.duplicate = r.chance(0.3) ? r.unit() * 0.03 : 0;
  auto delay_ms = 1 + r.below(40);
  l.delay = std::chrono::milliseconds{delay_ms};
  l.jitter = r.chance(0.5)
               ? std::chrono::milliseconds{r.below(delay_ms / 2 + 1)}
               : sim_duration{0};
  if (r.chance(0.5)) {
    l.bandwidth = static_cast<double>(1 + r.below(100)) * 1e6 / 8;
    l.queue_bytes = 32 * 1024 + r.below(480 * 1024);
  }
  s.forward = l;
  s.backward = l;
  s.algorithm = seed % 3 == 0 ? rudp::congestion_algorithm::new_reno
                              : rudp::congestion_algorithm::loss_tolerant;
  s.target_bytes = 48 * 1024 + r.below(128 * 1024);
  return s;
}

/// A message: its sequence number, then bytes drawn from the seed.
byte_buffer make_message(sim_random& r, uint64_t seq, size_t size) {
  byte_buffer m(size < 8 ? 8 : size);
  for (int i = 0; i < 8; ++i)
    m[i] = static_cast<uint8_t>(seq >> (8 * i));
  for (size_t i = 8; i < m.size(); ++i)
    m[i] = static_cast<uint8_t>(r.next());
  return m;
}

uint64_t sequence_of(const byte_buffer& m) {
  uint64_t seq = 0;
  for (int i = 7; i >= 0; --i)
    seq = (seq << 8) | (m.size() > 8 ? m[i] : (m.size() == 8 ? m[i] : 0));
  return seq;
}

/// What one direction sent and received, per priority (0 and 1, never
/// dropped): FIFO order within a priority is the promise.
struct direction_check {
  stream_hash sent[2];
  stream_hash received[2];
  std::vector<uint64_t> sent_seq[2];
  std::vector<uint64_t> received_seq[2];
  size_t messages_sent = 0;
  size_t messages_received = 0;

  bool complete() const {
    return messages_received == messages_sent;
  }

  std::string verify() const {
    if (messages_received != messages_sent)
      return "received " + std::to_string(messages_received) + " of "
             + std::to_string(messages_sent) + " messages";
    for (int p = 0; p < 2; ++p) {
      if (sent_seq[p] != received_seq[p])
        return "priority " + std::to_string(p)
               + ": messages missing, repeated or out of order";
      if (sent[p].h != received[p].h || sent[p].bytes != received[p].bytes)
        return "priority " + std::to_string(p) + ": byte hash differs";
    }
    return {};
  }
};

struct run_result {
  std::string error;
  rudp::connection_stats a;
  rudp::connection_stats b;
  sim_duration elapsed{0};
};

run_result run_seed(uint64_t seed, const scenario& sc) {
  run_result res;
  auto [ca, cb] = rudp_config_pair();
  ca.congestion = sc.algorithm;
  cb.congestion = sc.algorithm;
  rudp_sim sim(seed, sc.forward, sc.backward, std::move(ca), std::move(cb));
  direction_check dirs[2]; // dirs[i]: messages sent by endpoint i
  bool closed[2] = {false, false};
  std::string close_error;
  sim.on_event([&](int i, rudp::event& ev) {
    if (auto* m = std::get_if<rudp::message_event>(&ev)) {
      auto& d = dirs[1 - i];
      auto p = m->prio & 1;
      d.received[p].add(m->payload);
      d.received_seq[p].push_back(sequence_of(m->payload));
      ++d.messages_received;
    } else if (auto* c = std::get_if<rudp::closed_event>(&ev)) {
      closed[i] = true;
      if (c->reason.code != errc::none && c->reason.code != errc::peer_closed)
        close_error = c->reason.message();
    } else if (std::get_if<rudp::dropped_event>(&ev)) {
      close_error = "a message of priority 0 or 1 was dropped";
    }
  });
  sim_random r(seed ^ 0xD1B54A32D192ED03ull);
  auto start = sim.now();
  // Endpoint 0 sends the bulk, endpoint 1 a little back; both queue before
  // the handshake completes.
  for (int i = 0; i < 2; ++i) {
    size_t budget = i == 0 ? sc.target_bytes : sc.target_bytes / 16;
    uint64_t seq = 0;
    while (budget > 0) {
      auto kind = r.below(100);
      size_t size = kind < 70   ? 1 + r.below(2000)
                    : kind < 95 ? 2000 + r.below(18000)
                                : 20000 + r.below(44000);
      size = std::min(size, budget < 8 ? size_t{8} : budget);
      budget -= std::min(budget, size);
      auto prio = static_cast<uint8_t>(r.below(2));
      auto msg = make_message(r, seq++, size);
      dirs[i].sent[prio].add(msg);
      dirs[i].sent_seq[prio].push_back(sequence_of(msg));
      ++dirs[i].messages_sent;
      auto st = sim.conn(i).send(prio, std::move(msg), sim.now());
      if (!st) {
        res.error = "send refused: " + st.error().message();
        return res;
      }
    }
  }
  bool done = sim.run_until(
    [&] {
      return (dirs[0].complete() && dirs[1].complete()) || !close_error.empty()
             || closed[0] || closed[1];
    },
    600s);
  res.elapsed = sim.now() - start;
  res.a = sim.conn(0).stats();
  res.b = sim.conn(1).stats();
  if (!close_error.empty()) {
    res.error = close_error;
    return res;
  }
  if (!done) {
    res.error = "transfer incomplete after 600 s of virtual time: "
                + dirs[0].verify() + " / " + dirs[1].verify();
    return res;
  }
  for (auto& d : dirs)
    if (auto e = d.verify(); !e.empty()) {
      res.error = e;
      return res;
    }
  // A graceful close over the same impaired path.
  sim.conn(0).close(sim.now());
  if (!sim.run_until(
        [&] {
          return closed[0] && closed[1];
        },
        120s))
    res.error = "graceful close did not complete";
  else if (!close_error.empty())
    res.error = "close: " + close_error;
  return res;
}

} // namespace

BOOST_AUTO_TEST_CASE(every_byte_once_and_in_order_over_many_seeds) {
  auto single = std::getenv("CRUST_RUDP_SEED");
  uint64_t first = single ? env_or("CRUST_RUDP_SEED", 0)
                          : env_or("CRUST_RUDP_FIRST_SEED", 1);
  uint64_t count = single ? 1 : env_or("CRUST_RUDP_SEEDS", 200);
  size_t failures = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    auto sc = make_scenario(seed);
    auto res = run_seed(seed, sc);
    if (!res.error.empty()) {
      ++failures;
      BOOST_ERROR("seed " << seed << " failed (" << sc.describe()
                          << "): " << res.error
                          << "; replay with CRUST_RUDP_SEED=" << seed);
    } else if (single) {
      BOOST_TEST_MESSAGE("seed " << seed << " (" << sc.describe() << ") took "
                                 << res.elapsed.count() / 1e6
                                 << " ms of virtual time");
    }
    if (failures >= 5)
      break;
  }
  BOOST_CHECK_EQUAL(failures, 0u);
}

BOOST_AUTO_TEST_CASE(a_seed_replays_identically) {
  auto sc = make_scenario(42);
  auto x = run_seed(42, sc);
  auto y = run_seed(42, sc);
  BOOST_REQUIRE(x.error.empty());
  BOOST_CHECK(x.elapsed == y.elapsed);
  BOOST_CHECK_EQUAL(x.a.packets_sent, y.a.packets_sent);
  BOOST_CHECK_EQUAL(x.a.packets_lost, y.a.packets_lost);
  BOOST_CHECK_EQUAL(x.b.packets_sent, y.b.packets_sent);
  BOOST_CHECK_EQUAL(x.a.bytes_sent, y.a.bytes_sent);
}

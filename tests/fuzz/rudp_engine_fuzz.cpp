// libFuzzer target: a whole rUDP connection pair (transport/rudp/connection)
// driven by the input, with the AEAD replaced by a null cipher in this target
// only (tests/support/rudp_null_protection.hpp, put in through
// connection_config::protection; its tag is a keyless checksum the target
// computes), so that fuzzed bytes reach everything
// behind packet authentication: frames, ACK processing, loss recovery,
// congestion control, flow control, reassembly and closing.
//
// Each run: A (initiator) and B (responder) with fixed keys and ephemerals
// complete a handshake over a perfect in-memory link, then a script runs.
// Ops (one byte, then arguments from the input):
//   send        A or B queues a message (size, priority, fill byte);
//   deliver     the oldest datagram in flight one way arrives;
//   drop        it is lost; duplicate: it arrives twice; swap: the two
//               oldest change places;
//   inject      B receives a data packet for its id with a fuzzed packet
//               number and fuzzed frames (authenticated under the null
//               cipher);
//   raw         B receives the raw input bytes;
//   corrupt     the oldest datagram one way is bit-flipped before arriving
//               (the checksum tag makes the receiver drop it);
//   time        the clock moves forward (up to about 70 s) and timers fire;
//   close/abort A closes gracefully or aborts.
// Invariants (a broken one traps):
//   - polling datagrams and events always ends; a connection that is not
//     closed always has a next timeout;
//   - counters only grow; nothing crashes or leaks (ASan, UBSan);
//   - while nothing was injected, every message B delivers is the next one
//     A sent at that priority, byte for byte (and likewise towards A).
//
// To regenerate the seed corpus:
//   CRUST_FUZZ_WRITE_SEEDS=tests/fuzz/corpus/rudp_engine \
//     ./build/fuzz/tests/fuzz/rudp_engine_fuzz -runs=0

#include "crust/transport/rudp/connection.hpp"
#include "crust/transport/rudp/packet_format.hpp"

#include "../support/rudp_null_protection.hpp"
#include "fuzz_support.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace crust;
using namespace crust::fuzz;

namespace {

using clock_time = rudp::time_point;

rudp::connection_config make_config(noise::role side) {
  rudp::connection_config cfg;
  bool init = side == noise::role::initiator;
  cfg.channel.side = side;
  cfg.channel.local_static = fixed_pair(init ? 0x11 : 0x22);
  cfg.channel.network_name = "fuzz";
  auto eph = fixed_pair(init ? 0x33 : 0x44);
  cfg.channel.ephemeral_source = [eph]() -> expected<noise::keypair> {
    return eph;
  };
  cfg.local_id = init ? 0xA : 0xB;
  cfg.queue.max_message_size = 64 * 1024;
  cfg.queue.max_bytes = 1024 * 1024;
  cfg.receive_window = 256 * 1024;
  cfg.protection = test::rudp_null_protection_factory();
  return cfg;
}

struct endpoint {
  std::optional<rudp::connection> conn;
  /// Per priority (two of them): messages sent, and how many arrived.
  std::array<std::deque<byte_buffer>, 2> expected;
  bool closed = false;
  uint64_t last_dropped = 0;
};

struct harness {
  clock_time now = clock_time{} + std::chrono::hours{1};
  endpoint ep[2];
  /// Datagrams in flight towards endpoint i.
  std::deque<byte_buffer> wire[2];
  bool injected = false;

  bool create() {
    auto a = rudp::connection::create(make_config(noise::role::initiator), now);
    auto b = rudp::connection::create(make_config(noise::role::responder), now);
    require(a && b);
    ep[0].conn.emplace(std::move(*a));
    ep[1].conn.emplace(std::move(*b));
    return true;
  }

  void pump() {
    for (int round = 0; round < 64; ++round) {
      bool any = false;
      for (int i = 0; i < 2; ++i) {
        auto& c = *ep[i].conn;
        int n = 0;
        byte_buffer buf;
        while (c.poll_datagram(now, buf)) {
          require(++n < 100000);
          if (wire[1 - i].size() < 4096)
            wire[1 - i].push_back(buf);
          any = true;
        }
        while (auto ev = c.poll_event()) {
          any = true;
          on_event(i, *ev);
        }
        auto total = c.stats().dropped_total();
        require(total >= ep[i].last_dropped);
        ep[i].last_dropped = total;
        if (c.state() != rudp::connection_state::closed)
          require(c.next_timeout().has_value());
      }
      if (!any)
        return;
    }
  }

  void on_event(int i, rudp::event& ev) {
    if (auto* m = std::get_if<rudp::message_event>(&ev)) {
      auto& exp = ep[1 - i].expected[m->prio & 1];
      if (!injected && m->prio < 2) {
        require(!exp.empty() && exp.front() == m->payload);
        exp.pop_front();
      }
    } else if (std::get_if<rudp::closed_event>(&ev)) {
      ep[i].closed = true;
    }
  }

  void deliver(int to) {
    if (wire[to].empty())
      return;
    auto d = std::move(wire[to].front());
    wire[to].pop_front();
    ep[to].conn->on_datagram(d, now);
  }

  void fire_timers() {
    for (auto& e : ep)
      if (auto t = e.conn->next_timeout(); t && *t <= now)
        e.conn->on_timeout(now);
  }

  /// Completes the handshake over a perfect link.
  void handshake() {
    for (int i = 0; i < 20; ++i) {
      pump();
      deliver(1);
      deliver(0);
    }
    pump();
    require(ep[0].conn->state() == rudp::connection_state::established);
    require(ep[1].conn->state() == rudp::connection_state::established);
  }
};

void run(reader& in) {
  harness h;
  h.create();
  h.handshake();
  for (int step = 0; step < 4000 && !in.empty(); ++step) {
    auto op = in.u8();
    int side = op & 1;
    switch ((op >> 1) % 12) {
      case 0: { // send
        size_t size = in.u16() % 4096;
        auto prio = static_cast<uint8_t>(in.u8() % 4);
        byte_buffer msg(size, in.u8());
        auto copy = msg;
        if (h.ep[side].conn->send(prio, std::move(msg), h.now) && prio < 2)
          h.ep[side].expected[prio].push_back(std::move(copy));
        break;
      }
      case 1:
      case 2: h.deliver(side); break;
      case 3:
        if (!h.wire[side].empty())
          h.wire[side].pop_front();
        break;
      case 4:
        if (!h.wire[side].empty()) {
          h.wire[side].push_back(h.wire[side].front());
          h.deliver(side);
        }
        break;
      case 5:
        if (h.wire[side].size() >= 2)
          std::swap(h.wire[side][0], h.wire[side][1]);
        break;
      case 6: { // inject authenticated frames into B
        byte_buffer pkt;
        rudp::write_data_header(h.ep[1].conn->local_id(), pkt);
        byte_buffer ad(pkt.begin(), pkt.end());
        auto pn = in.u8() < 128 ? in.u16() : in.u64();
        for (int shift = 56; shift >= 0; shift -= 8)
          pkt.push_back(static_cast<uint8_t>(pn >> shift));
        auto frames = in.take(in.u8() % 200);
        pkt.insert(pkt.end(), frames.begin(), frames.end());
        test::rudp_null_protection::tag_of(ad, pn, frames, pkt);
        h.injected = true;
        h.ep[1].conn->on_datagram(pkt, h.now);
        break;
      }
      case 7: { // raw bytes
        auto raw = in.take(in.u8());
        h.injected = true;
        h.ep[1].conn->on_datagram(raw, h.now);
        break;
      }
      case 8: // corrupt
        if (!h.wire[side].empty() && !h.wire[side].front().empty()) {
          auto& d = h.wire[side].front();
          d[in.u16() % d.size()] ^= static_cast<uint8_t>(1 | in.u8());
          h.deliver(side);
        }
        break;
      case 9:
      case 10: { // time
        auto ms = in.u8();
        auto step_ms = ms < 200 ? ms : (ms - 199) * 1000;
        h.now += std::chrono::milliseconds{step_ms};
        h.fire_timers();
        break;
      }
      case 11:
        if (side == 0)
          h.ep[0].conn->close(h.now);
        else
          h.ep[0].conn->abort({errc::rate_exceeded, "fuzz"}, h.now);
        break;
    }
    h.pump();
  }
}

void write_all_seeds(const std::string& dir) {
  // send, deliver both ways a few times, time, close.
  byte_buffer s1{0x00, 0x10, 0x00, 0x01, 0x41};
  for (int i = 0; i < 30; ++i)
    s1.insert(s1.end(), {0x02, 0x03});
  s1.insert(s1.end(), {0x12, 50});
  for (int i = 0; i < 10; ++i)
    s1.insert(s1.end(), {0x02, 0x03});
  s1.push_back(0x16);
  for (int i = 0; i < 10; ++i)
    s1.insert(s1.end(), {0x02, 0x03, 0x12, 20});
  write_file(dir, "send_deliver_close", s1);
  // Loss, duplication, reordering and timers.
  byte_buffer s2{0x00, 0x40, 0x00, 0x01, 0x42};
  for (int i = 0; i < 40; ++i)
    s2.insert(s2.end(), {0x06, 0x02, 0x08, 0x0A, 0x03, 0x12, 30});
  write_file(dir, "impaired", s2);
  // Injected frames: an ACK, a STREAM, a PING.
  byte_buffer s3{0x0C, 0x10, 0x00, 0x64, 12,  2,   5, 0, 0, 2,
                 3,    0,    3,    'x',  'y', 'z', 1, 0, 0};
  write_file(dir, "inject", s3);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return write_seeds_if_asked(write_all_seeds);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reader in{data, size};
  run(in);
  return 0;
}

// libFuzzer target: the per-connection send queue
// (transport/codec/send_queue), checked against a slow, obvious model.
//
// Input layout: a configuration, then a script.
//   config   u16 BE max_bytes (mod 8192), u16 BE max_message_size
//            (mod 2048), u16 BE expiry in milliseconds read as a signed
//            int16 (zero and negative expiries included: the queue must
//            stay consistent with any configuration).
//   script   one byte per op (mod 8), then its arguments:
//     0, 1   push: u8 priority selector (bit 7 set: the next byte is the
//            priority; else selector % 6), u16 BE size modulo
//            max_message_size + 32 (so oversize messages happen)
//     2, 3   pop
//     4      expire
//     5      time += u16 BE milliseconds
//     6      time -= u16 BE % 5000 milliseconds (a clock stepping back)
//     7      u8: bit 0 clears the queue; else time jumps to next_expiry,
//            minus 1 ns if bit 1 is set (the deadline must be exact)
//
// Invariants (a broken one traps): every push verdict, every popped message
// (priority, payload, time), every drop report and the totals equal the
// model's; sizes and bytes per priority agree; next_expiry agrees; the bytes
// never exceed the limit; a refused message is handed back untouched.
//
// To regenerate the seed corpus:
//   CRUST_FUZZ_WRITE_SEEDS=tests/fuzz/corpus/send_queue \
//     ./build/fuzz/tests/fuzz/send_queue_fuzz -runs=0

#include "crust/transport/codec/send_queue.hpp"

#include "../support/send_queue_model.hpp"
#include "fuzz_support.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace crust;
using namespace crust::codec;
using namespace crust::fuzz;
using namespace std::chrono_literals;

namespace {

using model = crust::test::send_queue_model;

// -- the run ------------------------------------------------------------------

/// An arbitrary origin, far enough from the epoch for steps back.
const time_point origin = time_point{} + 1000h;

/// A payload that names its push: the serial, repeated.
byte_buffer payload(size_t n, uint32_t serial) {
  byte_buffer out(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<uint8_t>(serial >> (8 * (i % 4)));
  return out;
}

void check_same(const send_queue& q, const model& ref) {
  require(q.size() == ref.size());
  require(q.bytes() == ref.bytes());
  require(q.bytes() <= ref.cfg.max_bytes);
  require(q.empty() == (ref.size() == 0));
  auto queued = q.queued();
  require(queued == ref.queued());
  for (auto& c : queued) {
    require(q.size(c.prio) == c.messages);
    require(q.bytes(c.prio) == c.bytes);
  }
  require(q.next_expiry() == ref.next_expiry());
  require(q.dropped_messages() == ref.dropped_messages);
  require(q.dropped_bytes() == ref.dropped_bytes);
}

void run(const uint8_t* data, size_t size) {
  reader in{data, size};
  send_queue_config cfg;
  cfg.max_bytes = in.u16() % 8192;
  cfg.max_message_size = in.u16() % 2048;
  cfg.expiry = std::chrono::milliseconds{static_cast<int16_t>(in.u16())};
  send_queue q{cfg};
  model ref;
  ref.cfg = cfg;
  auto now = origin;
  uint32_t serial = 0;
  while (!in.empty()) {
    switch (in.u8() % 8) {
      case 0:
      case 1: {
        auto sel = in.u8();
        auto p = static_cast<priority>((sel & 0x80) != 0 ? in.u8() : sel % 6);
        auto n = in.u16() % (cfg.max_message_size + 32);
        auto m = payload(n, serial++);
        auto copy = m;
        auto want = ref.push(p, m, now);
        auto got = q.push(p, std::move(m), now);
        require(got.code() == want);
        if (!got)
          require(m == copy);
        break;
      }
      case 2:
      case 3: {
        drop_report want_dropped;
        auto want = ref.pop(now, want_dropped);
        drop_report dropped;
        auto got = q.pop(now, dropped);
        require(dropped.dropped == want_dropped.dropped);
        require(got.has_value() == want.has_value());
        if (got) {
          require(got->prio == want->prio);
          require(got->payload == want->payload);
          require(got->enqueued == want->enqueued);
        }
        break;
      }
      case 4: {
        drop_report want;
        ref.expire(now, want);
        auto got = q.expire(now);
        require(got.dropped == want.dropped);
        require(got.messages() == want.messages());
        require(got.bytes() == want.bytes());
        break;
      }
      case 5: now += std::chrono::milliseconds{in.u16()}; break;
      case 6: now -= std::chrono::milliseconds{in.u16() % 5000}; break;
      default: {
        auto sel = in.u8();
        if ((sel & 1) != 0) {
          auto want = ref.clear();
          auto got = q.clear();
          require(got.dropped == want.dropped);
          require(q.empty());
        } else if (auto next = q.next_expiry()) {
          now = (sel & 2) != 0 ? *next - 1ns : *next;
        }
        break;
      }
    }
    check_same(q, ref);
  }
  // Draining empties it, priorities 0 and 1 included.
  drop_report dropped;
  while (q.pop(now, dropped)) {
    // nop
  }
  require(q.empty());
  require(q.bytes() == 0);
  require(q.queued().empty());
}

// -- seeds --------------------------------------------------------------------

/// Builds a script.
struct script {
  byte_buffer bytes;

  script(uint16_t max_bytes, uint16_t max_message, int16_t expiry_ms) {
    u16(max_bytes);
    u16(max_message);
    u16(static_cast<uint16_t>(expiry_ms));
  }

  void u8(uint8_t x) {
    bytes.push_back(x);
  }

  void u16(uint16_t x) {
    bytes.push_back(static_cast<uint8_t>(x >> 8));
    bytes.push_back(static_cast<uint8_t>(x));
  }

  script& push(uint8_t prio, uint16_t n) {
    u8(0);
    if (prio < 6) {
      u8(prio);
    } else {
      u8(0x80);
      u8(prio);
    }
    u16(n);
    return *this;
  }

  script& pop() {
    u8(2);
    return *this;
  }

  script& expire() {
    u8(4);
    return *this;
  }

  script& advance(uint16_t ms) {
    u8(5);
    u16(ms);
    return *this;
  }

  script& back(uint16_t ms) {
    u8(6);
    u16(ms);
    return *this;
  }

  script& to_next_expiry(bool minus_one) {
    u8(7);
    u8(minus_one ? 2 : 0);
    return *this;
  }

  script& clear() {
    u8(7);
    u8(1);
    return *this;
  }
};

void write_seeds(const std::string& dir) {
  {
    script s{4096, 512, 30000};
    for (uint8_t p : {5, 0, 200, 5, 1, 63, 64, 0, 2})
      s.push(p, 10 + p);
    for (int i = 0; i < 9; ++i)
      s.pop();
    write_file(dir, "order", s.bytes);
  }
  {
    script s{4096, 512, 1000};
    s.push(3, 10).push(3, 20).push(1, 5).advance(500);
    s.push(0, 1).push(2, 40).push(5, 7).push(9, 3);
    s.advance(500).expire().advance(1).expire();
    s.pop().pop().pop().pop();
    write_file(dir, "expiry", s.bytes);
  }
  {
    script s{1000, 300, 10000};
    s.push(3, 300).push(3, 300).push(0, 300).push(7, 99);
    s.push(0, 2).push(200, 1).push(7, 0).pop().push(7, 300).push(7, 301);
    write_file(dir, "full_and_oversize", s.bytes);
  }
  {
    script s{8000, 1000, 2000};
    s.push(9, 1).advance(700).push(3, 1).push(3, 1);
    s.to_next_expiry(true).expire().to_next_expiry(false).expire();
    s.to_next_expiry(false).pop().pop();
    write_file(dir, "next_expiry", s.bytes);
  }
  {
    script s{8000, 1000, 1500};
    s.push(4, 5).advance(1000).push(4, 6).back(3000).push(6, 7);
    s.back(100).pop().advance(600).expire().push(0, 1).clear();
    s.push(2, 3).pop();
    write_file(dir, "clock_back_and_clear", s.bytes);
  }
  {
    // Zero expiry and a zero maximum size.
    script s{100, 0, 0};
    s.push(2, 0).push(3, 1).advance(1).pop().push(1, 0).expire().pop();
    write_file(dir, "zero_limits", s.bytes);
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return write_seeds_if_asked(write_seeds);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  run(data, size);
  return 0;
}

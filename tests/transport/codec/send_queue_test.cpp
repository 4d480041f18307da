#include "crust/transport/codec/send_queue.hpp"

#include "support/send_queue_model.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace crust;
using namespace crust::codec;
using namespace std::chrono_literals;

namespace {

/// An arbitrary origin; the queue never reads a clock.
const time_point t0 = time_point{} + 1000h;

/// Readable codes in failure messages without an errc printer.
std::string_view code_of(const status& res) {
  return to_string(res.code());
}

/// `n` bytes, all `tag`, so that a popped message names its origin.
byte_buffer msg(size_t n, uint8_t tag = 0) {
  return byte_buffer(n, tag);
}

/// Pushes a message of `n` bytes tagged `tag`; requires success.
void put(send_queue& q, priority p, size_t n, uint8_t tag, time_point now) {
  auto res = q.push(p, msg(n, tag), now);
  BOOST_REQUIRE_MESSAGE(res, res.error().message());
}

/// Pops and returns the tag of the message (its first byte), or -1.
int pop_tag(send_queue& q, time_point now, drop_report& dropped) {
  auto m = q.pop(now, dropped);
  if (!m)
    return -1;
  BOOST_REQUIRE(!m->payload.empty());
  return m->payload.front();
}

send_queue_config small_config() {
  send_queue_config cfg;
  cfg.max_bytes = 1000;
  cfg.max_message_size = 300;
  cfg.expiry = 60s;
  return cfg;
}

using model = crust::test::send_queue_model;

bool same(const std::vector<priority_count>& x,
          const std::vector<priority_count>& y) {
  return x == y;
}

} // namespace

BOOST_AUTO_TEST_SUITE(send_queue_suite)

// -- ordering -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(most_urgent_first_and_fifo_within_a_priority) {
  send_queue q{small_config()};
  // Tags: priority * 10 + rank within the priority.
  put(q, 5, 1, 50, t0);
  put(q, 0, 1, 0, t0);
  put(q, 255, 1, 250, t0);
  put(q, 5, 1, 51, t0);
  put(q, 1, 1, 10, t0);
  put(q, 0, 1, 1, t0);
  put(q, 5, 1, 52, t0);
  put(q, 1, 1, 11, t0);
  put(q, 64, 1, 64, t0); // Word boundaries of the busy mask.
  put(q, 63, 1, 63, t0);
  BOOST_TEST(q.size() == 10u);
  drop_report dropped;
  std::vector<int> order;
  for (int tag; (tag = pop_tag(q, t0 + 1s, dropped)) >= 0;)
    order.push_back(tag);
  BOOST_TEST(order == (std::vector<int>{0, 1, 10, 11, 50, 51, 52, 63, 64, 250}),
             boost::test_tools::per_element());
  BOOST_TEST(dropped.empty());
  BOOST_TEST(q.empty());
  BOOST_TEST(q.bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(urgent_messages_overtake_queued_ones) {
  send_queue q{small_config()};
  drop_report dropped;
  put(q, 7, 1, 70, t0);
  put(q, 7, 1, 71, t0);
  BOOST_TEST(pop_tag(q, t0, dropped) == 70);
  put(q, 3, 1, 30, t0);
  BOOST_TEST(pop_tag(q, t0, dropped) == 30);
  put(q, 9, 1, 90, t0);
  BOOST_TEST(pop_tag(q, t0, dropped) == 71);
  BOOST_TEST(pop_tag(q, t0, dropped) == 90);
  BOOST_TEST(pop_tag(q, t0, dropped) == -1);
  BOOST_TEST(!q.pop(t0, dropped).has_value());
}

BOOST_AUTO_TEST_CASE(popped_message_carries_priority_payload_and_time) {
  send_queue q{small_config()};
  byte_buffer m{1, 2, 3};
  BOOST_REQUIRE(q.push(4, std::move(m), t0 + 5s));
  drop_report dropped;
  auto out = q.pop(t0 + 6s, dropped);
  BOOST_REQUIRE(out.has_value());
  BOOST_TEST(out->prio == 4);
  BOOST_TEST(out->payload == (byte_buffer{1, 2, 3}));
  BOOST_TEST((out->enqueued == t0 + 5s));
}

BOOST_AUTO_TEST_CASE(empty_messages_are_queued) {
  send_queue q{small_config()};
  BOOST_REQUIRE(q.push(3, byte_buffer{}, t0));
  BOOST_TEST(q.size() == 1u);
  BOOST_TEST(q.bytes() == 0u);
  drop_report dropped;
  auto out = q.pop(t0, dropped);
  BOOST_REQUIRE(out.has_value());
  BOOST_TEST(out->payload.empty());
  BOOST_TEST(q.empty());
}

// -- the drop rule ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(priorities_0_and_1_survive_any_age) {
  send_queue q{small_config()};
  put(q, 0, 10, 0, t0);
  put(q, 1, 20, 10, t0);
  put(q, 1, 30, 11, t0);
  BOOST_TEST(!q.next_expiry().has_value());
  auto later = t0 + 24h * 365 * 10;
  BOOST_TEST(q.expire(later).empty());
  BOOST_TEST(q.size() == 3u);
  drop_report dropped;
  BOOST_TEST(pop_tag(q, later, dropped) == 0);
  BOOST_TEST(pop_tag(q, later, dropped) == 10);
  BOOST_TEST(pop_tag(q, later, dropped) == 11);
  BOOST_TEST(dropped.empty());
  BOOST_TEST(q.dropped_messages() == 0u);
}

BOOST_AUTO_TEST_CASE(aged_queue_goes_with_every_less_urgent_one) {
  send_queue q{small_config()};
  // Old: priority 3 (2 messages) and the never-dropped 1.
  put(q, 3, 10, 30, t0);
  put(q, 3, 20, 31, t0 + 1s);
  put(q, 1, 5, 10, t0);
  // Fresh, 30 s later: 0, 2 (more urgent than 3), 5 and 9 (less urgent).
  auto t30 = t0 + 30s;
  put(q, 0, 1, 0, t30);
  put(q, 2, 40, 20, t30);
  put(q, 5, 7, 50, t30);
  put(q, 5, 8, 51, t30);
  put(q, 5, 9, 52, t30);
  put(q, 9, 3, 90, t30);
  BOOST_TEST(q.size() == 9u);
  BOOST_TEST(q.bytes() == 103u);
  // Exactly 60 s is not older than the expiry.
  BOOST_TEST(q.expire(t0 + 60s).empty());
  BOOST_TEST(q.size() == 9u);
  auto report = q.expire(t0 + 60s + 1ns);
  BOOST_TEST(same(report.dropped, {{3, 2, 30}, {5, 3, 24}, {9, 1, 3}}),
             to_string(report));
  BOOST_TEST(report.messages() == 6u);
  BOOST_TEST(report.bytes() == 57u);
  BOOST_TEST(q.size() == 3u);
  BOOST_TEST(q.bytes() == 46u);
  BOOST_TEST(q.size(3) == 0u);
  BOOST_TEST(q.size(5) == 0u);
  BOOST_TEST(q.size(9) == 0u);
  BOOST_TEST(q.size(2) == 1u);
  BOOST_TEST(q.dropped_messages() == 6u);
  BOOST_TEST(q.dropped_bytes() == 57u);
  // What is left: 0, 1, 2, in that order; nothing more to drop yet.
  drop_report dropped;
  BOOST_TEST(pop_tag(q, t0 + 61s, dropped) == 0);
  BOOST_TEST(pop_tag(q, t0 + 61s, dropped) == 10);
  BOOST_TEST(pop_tag(q, t0 + 61s, dropped) == 20);
  BOOST_TEST(dropped.empty());
}

BOOST_AUTO_TEST_CASE(fresh_less_urgent_queues_go_with_an_aged_one) {
  // The original's "insufficient bandwidth" rule: an aged priority 2 takes
  // priority 200 with it even though 200 was queued a moment ago.
  send_queue q{small_config()};
  put(q, 2, 1, 20, t0);
  put(q, 200, 1, 200, t0 + 61s);
  auto report = q.expire(t0 + 61s);
  BOOST_TEST(same(report.dropped, {{2, 1, 1}, {200, 1, 1}}), to_string(report));
  BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(an_aged_less_urgent_queue_spares_fresh_urgent_ones) {
  send_queue q{small_config()};
  put(q, 200, 4, 200, t0);
  put(q, 2, 1, 20, t0 + 50s);
  put(q, 100, 2, 100, t0 + 50s);
  auto report = q.expire(t0 + 61s);
  BOOST_TEST(same(report.dropped, {{200, 1, 4}}), to_string(report));
  BOOST_TEST(q.size() == 2u);
  report = q.expire(t0 + 111s);
  BOOST_TEST(same(report.dropped, {{2, 1, 1}, {100, 1, 2}}), to_string(report));
}

BOOST_AUTO_TEST_CASE(pop_applies_the_drop_rule_and_accumulates_reports) {
  send_queue q{small_config()};
  put(q, 4, 10, 40, t0);
  put(q, 1, 10, 10, t0);
  put(q, 6, 10, 60, t0 + 100s);
  drop_report dropped;
  // At t0 + 61 s priority 4 is aged: it goes, and 6 (fresh) with it.
  BOOST_TEST(pop_tag(q, t0 + 61s, dropped) == 10);
  BOOST_TEST(same(dropped.dropped, {{4, 1, 10}, {6, 1, 10}}),
             to_string(dropped));
  put(q, 4, 5, 41, t0 + 70s);
  put(q, 8, 5, 80, t0 + 70s);
  BOOST_TEST(pop_tag(q, t0 + 200s, dropped) == -1);
  // Added to the same report: priority 4 now counts two messages.
  BOOST_TEST(same(dropped.dropped, {{4, 2, 15}, {6, 1, 10}, {8, 1, 5}}),
             to_string(dropped));
  BOOST_TEST(dropped.messages() == 4u);
  BOOST_TEST(dropped.bytes() == 30u);
  BOOST_TEST(q.dropped_messages() == 4u);
}

BOOST_AUTO_TEST_CASE(popping_the_aged_message_in_time_saves_the_queue) {
  send_queue q{small_config()};
  put(q, 3, 1, 30, t0);
  put(q, 3, 1, 31, t0 + 59s);
  drop_report dropped;
  BOOST_TEST(pop_tag(q, t0 + 59s, dropped) == 30);
  // The oldest is now 31, queued at t0 + 59 s.
  BOOST_TEST(q.expire(t0 + 100s).empty());
  BOOST_TEST(q.size() == 1u);
  BOOST_TEST(!q.expire(t0 + 120s).empty());
}

BOOST_AUTO_TEST_CASE(time_never_goes_back_for_the_queue) {
  send_queue q{small_config()};
  put(q, 3, 1, 30, t0 + 10s);
  // A caller's clock stepping back: stamped t0 + 10 s, not t0 + 1 s.
  put(q, 3, 1, 31, t0 + 1s);
  put(q, 4, 1, 40, t0 + 2s);
  BOOST_TEST((q.next_expiry() == t0 + 70s + 1ns));
  BOOST_TEST(q.expire(t0 + 70s).empty());
  // Nor does expire or pop go back behind t0 + 70 s.
  drop_report dropped;
  auto m = q.pop(t0, dropped);
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST((m->enqueued == t0 + 10s));
  m = q.pop(t0, dropped);
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST((m->enqueued == t0 + 10s));
  BOOST_TEST(q.size() == 1u);
  BOOST_TEST(same(q.expire(t0 + 70s + 1ns).dropped, {{4, 1, 1}}));
}

BOOST_AUTO_TEST_CASE(expiry_is_configurable) {
  auto cfg = small_config();
  cfg.expiry = 250ms;
  send_queue q{cfg};
  put(q, 2, 1, 20, t0);
  BOOST_TEST(q.expire(t0 + 250ms).empty());
  BOOST_TEST(q.expire(t0 + 251ms).messages() == 1u);
}

BOOST_AUTO_TEST_CASE(clear_drops_every_priority_and_reports_it) {
  send_queue q{small_config()};
  put(q, 0, 1, 0, t0);
  put(q, 1, 2, 10, t0);
  put(q, 9, 3, 90, t0);
  put(q, 9, 4, 91, t0);
  auto report = q.clear();
  BOOST_TEST(same(report.dropped, {{0, 1, 1}, {1, 1, 2}, {9, 2, 7}}),
             to_string(report));
  BOOST_TEST(q.empty());
  BOOST_TEST(q.bytes() == 0u);
  BOOST_TEST(q.dropped_messages() == 4u);
  BOOST_TEST(q.dropped_bytes() == 10u);
  BOOST_TEST(!q.next_expiry().has_value());
  // Still usable.
  put(q, 9, 1, 92, t0);
  drop_report dropped;
  BOOST_TEST(pop_tag(q, t0, dropped) == 92);
}

BOOST_AUTO_TEST_CASE(drop_reports_read_well) {
  drop_report r;
  BOOST_TEST(to_string(r) == "nothing dropped");
  r.add(5, 2, 200);
  r.add(2, 1, 1);
  r.add(7, 0, 0); // Nothing to report: no entry.
  BOOST_TEST(to_string(r)
             == "dropped 3 messages (201 bytes): 1 of priority 2 (1 byte), 2 "
                "of priority 5 (200 bytes)");
  r.add(5, 1, 10);
  BOOST_TEST(same(r.dropped, {{2, 1, 1}, {5, 3, 210}}));
}

// -- limits -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(byte_limit_refuses_and_changes_nothing) {
  send_queue q{small_config()}; // 1000 bytes, 300 per message.
  put(q, 3, 300, 30, t0);
  put(q, 3, 300, 31, t0);
  put(q, 0, 300, 0, t0);
  put(q, 7, 99, 70, t0);
  BOOST_TEST(q.bytes() == 999u);
  auto before = q.queued();
  auto next = q.next_expiry();
  for (priority p : {0, 1, 3, 200}) {
    auto m = msg(2, 0xAB);
    auto res = q.push(p, std::move(m), t0 + 1s);
    BOOST_TEST(code_of(res) == to_string(errc::queue_full));
    // The sizes, so that the sender can act on them.
    auto detail = res.error().detail;
    BOOST_TEST(detail.find("2 bytes") != std::string::npos, detail);
    BOOST_TEST(detail.find("999 of 1000") != std::string::npos, detail);
    BOOST_TEST(detail.find("4 messages") != std::string::npos, detail);
    // Refused messages stay with the caller.
    BOOST_TEST(m == msg(2, 0xAB));
  }
  BOOST_TEST(same(q.queued(), before));
  BOOST_TEST(q.size() == 4u);
  BOOST_TEST(q.bytes() == 999u);
  BOOST_TEST((q.next_expiry() == next));
  // Exactly up to the limit fits; popping makes room again.
  put(q, 7, 1, 71, t0);
  BOOST_TEST(q.bytes() == 1000u);
  BOOST_TEST(code_of(q.push(7, msg(1), t0)) == to_string(errc::queue_full));
  BOOST_CHECK(q.push(7, msg(0), t0)); // Nothing is always room.
  drop_report dropped;
  BOOST_TEST(pop_tag(q, t0, dropped) == 0);
  put(q, 7, 300, 72, t0);
  BOOST_TEST(q.bytes() == 1000u);
}

BOOST_AUTO_TEST_CASE(expiry_makes_room) {
  send_queue q{small_config()};
  put(q, 3, 300, 30, t0);
  put(q, 3, 300, 31, t0);
  put(q, 3, 300, 32, t0);
  BOOST_TEST(code_of(q.push(4, msg(300), t0 + 61s))
             == to_string(errc::queue_full));
  BOOST_TEST(q.expire(t0 + 61s).bytes() == 900u);
  put(q, 4, 300, 40, t0 + 61s);
}

BOOST_AUTO_TEST_CASE(oversize_messages_are_refused) {
  send_queue q{small_config()};
  for (priority p : {0, 1, 2, 255}) {
    auto m = msg(301, 7);
    auto res = q.push(p, std::move(m), t0);
    BOOST_TEST(code_of(res) == to_string(errc::message_too_large));
    auto detail = res.error().detail;
    BOOST_TEST(detail.find("301") != std::string::npos, detail);
    BOOST_TEST(detail.find("300") != std::string::npos, detail);
    BOOST_TEST(m == msg(301, 7));
  }
  BOOST_TEST(q.empty());
  BOOST_TEST(q.queued().empty());
  put(q, 2, 300, 20, t0);
  BOOST_TEST(q.bytes() == 300u);
}

BOOST_AUTO_TEST_CASE(oversize_wins_over_full) {
  send_queue q{small_config()};
  for (int i = 0; i < 3; ++i)
    put(q, 3, 300, 30, t0);
  BOOST_TEST(code_of(q.push(3, msg(301), t0))
             == to_string(errc::message_too_large));
}

BOOST_AUTO_TEST_CASE(queue_full_reads_well) {
  auto text = to_string(errc::queue_full);
  BOOST_TEST(text.find("send queue is full") != std::string_view::npos);
  BOOST_TEST(to_string(errc::queue_full) != to_string(errc::socket_failure));
}

BOOST_AUTO_TEST_CASE(configuration_is_validated) {
  BOOST_CHECK(validate(send_queue_config{}));
  BOOST_CHECK(validate(small_config()));
  send_queue_config defaults;
  BOOST_TEST(defaults.max_message_size == 2u * 1024 * 1024);
  BOOST_TEST((defaults.expiry == 60s));
  auto cfg = small_config();
  cfg.max_message_size = 0;
  BOOST_TEST(code_of(validate(cfg)) == to_string(errc::invalid_config));
  cfg = small_config();
  cfg.max_bytes = cfg.max_message_size - 1;
  BOOST_TEST(code_of(validate(cfg)) == to_string(errc::invalid_config));
  cfg.max_bytes = cfg.max_message_size;
  BOOST_CHECK(validate(cfg));
  cfg.expiry = 0s;
  BOOST_TEST(code_of(validate(cfg)) == to_string(errc::invalid_config));
  cfg.expiry = -1s;
  BOOST_TEST(code_of(validate(cfg)) == to_string(errc::invalid_config));
}

// -- next_expiry --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(next_expiry_is_the_first_instant_that_drops) {
  send_queue q{small_config()};
  BOOST_TEST(!q.next_expiry().has_value());
  put(q, 0, 1, 0, t0);
  put(q, 1, 1, 10, t0);
  BOOST_TEST(!q.next_expiry().has_value());
  // The oldest droppable message decides, whatever its priority.
  put(q, 9, 1, 90, t0 + 5s);
  put(q, 3, 1, 30, t0 + 10s);
  put(q, 3, 1, 31, t0 + 20s);
  auto next = q.next_expiry();
  BOOST_REQUIRE(next.has_value());
  BOOST_TEST((*next == t0 + 65s + 1ns));
  BOOST_TEST(q.expire(*next - 1ns).empty());
  BOOST_TEST(q.size() == 5u);
  BOOST_TEST(same(q.expire(*next).dropped, {{9, 1, 1}}));
  // Then priority 3's front (t0 + 10 s) decides.
  next = q.next_expiry();
  BOOST_REQUIRE(next.has_value());
  BOOST_TEST((*next == t0 + 70s + 1ns));
  // Popping the front moves it on to the next message of the lane.
  drop_report dropped;
  BOOST_TEST(pop_tag(q, t0 + 69s, dropped) == 0);
  BOOST_TEST(pop_tag(q, t0 + 69s, dropped) == 10);
  BOOST_TEST(pop_tag(q, t0 + 69s, dropped) == 30);
  BOOST_TEST(dropped.empty());
  next = q.next_expiry();
  BOOST_REQUIRE(next.has_value());
  BOOST_TEST((*next == t0 + 80s + 1ns));
  BOOST_TEST(same(q.expire(*next).dropped, {{3, 1, 1}}));
  BOOST_TEST(!q.next_expiry().has_value());
}

// -- statistics ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(statistics_per_priority) {
  send_queue q{small_config()};
  put(q, 0, 4, 0, t0);
  put(q, 2, 10, 20, t0);
  put(q, 2, 20, 21, t0);
  put(q, 130, 7, 130, t0);
  BOOST_TEST(same(q.queued(), {{0, 1, 4}, {2, 2, 30}, {130, 1, 7}}));
  BOOST_TEST(q.size(2) == 2u);
  BOOST_TEST(q.bytes(2) == 30u);
  BOOST_TEST(q.size(1) == 0u);
  BOOST_TEST(q.bytes(1) == 0u);
  BOOST_TEST(q.size(131) == 0u);
  BOOST_TEST(q.size() == 4u);
  BOOST_TEST(q.bytes() == 41u);
  drop_report dropped;
  q.pop(t0, dropped);
  BOOST_TEST(same(q.queued(), {{2, 2, 30}, {130, 1, 7}}));
  BOOST_TEST(q.size(0) == 0u);
}

BOOST_AUTO_TEST_CASE(queues_move) {
  send_queue q{small_config()};
  put(q, 3, 5, 30, t0);
  send_queue r{std::move(q)};
  BOOST_TEST(r.size() == 1u);
  BOOST_TEST(r.config().max_bytes == 1000u);
  drop_report dropped;
  BOOST_TEST(pop_tag(r, t0, dropped) == 30);
}

// -- randomized model test ----------------------------------------------------

// A sanitized Debug build runs the model about 30 times slower: fewer steps
// keep the suite well inside its CTest timeout there.
#if defined(__SANITIZE_ADDRESS__)
constexpr int model_steps = 4'000;
#else
constexpr int model_steps = 20'000;
#endif

BOOST_AUTO_TEST_CASE(matches_the_reference_model) {
  // Bytes, largest message, expiry.
  const send_queue_config shapes[] = {
    {2000, 300, 60s},
    {6000, 600, 1s},
    {500, 100, 10s},
    {4096, 4096, 250ms},
  };
  for (int round = 0; round < 4; ++round) {
    std::mt19937_64 rng{0x5E9D'0000u + static_cast<uint64_t>(round)};
    auto below = [&rng](uint64_t n) {
      return rng() % n;
    };
    auto cfg = shapes[round];
    send_queue q{cfg};
    model ref;
    ref.cfg = cfg;
    auto now = t0;
    uint32_t serial = 0;
    bool saw_drops = false;
    bool saw_full = false;
    BOOST_TEST_CONTEXT("round " << round) {
      for (int step = 0; step < model_steps; ++step) {
        auto op = below(100);
        // Odd rounds read slowly, so that the byte limit is reached.
        auto pop_end = round % 2 == 0 ? 80u : 60u;
        if (op < 45) {
          // Mostly a few priorities; sometimes any.
          auto p = static_cast<priority>(below(8) == 0 ? below(256) : below(6));
          auto n = static_cast<size_t>(below(cfg.max_message_size + 20));
          byte_buffer m(n);
          for (size_t i = 0; i < n; ++i)
            m[i] = static_cast<uint8_t>(serial >> (8 * (i % 4)));
          ++serial;
          auto want = ref.push(p, m, now);
          auto copy = m;
          auto got = q.push(p, std::move(m), now);
          BOOST_REQUIRE_EQUAL(code_of(got), to_string(want));
          if (!got)
            BOOST_REQUIRE(m == copy);
          if (got.code() == errc::queue_full)
            saw_full = true;
        } else if (op < pop_end) {
          drop_report want_dropped;
          auto want = ref.pop(now, want_dropped);
          drop_report dropped;
          auto got = q.pop(now, dropped);
          BOOST_REQUIRE(same(dropped.dropped, want_dropped.dropped));
          BOOST_REQUIRE_EQUAL(got.has_value(), want.has_value());
          if (got) {
            BOOST_REQUIRE_EQUAL(int{got->prio}, int{want->prio});
            BOOST_REQUIRE(got->payload == want->payload);
            BOOST_REQUIRE(got->enqueued == want->enqueued);
          }
        } else if (op < pop_end + 5) {
          auto want = ref.expire(now);
          BOOST_REQUIRE(same(q.expire(now).dropped, want.dropped));
        } else if (op == 98) {
          // Time points from a clock that steps back must not break it.
          now -= std::chrono::milliseconds{below(5'000)};
        } else if (op < 98) {
          now += std::chrono::milliseconds{
            below(cfg.expiry.count() / 1'000'000 / 40 + 2)};
        } else {
          auto want = ref.clear();
          BOOST_REQUIRE(same(q.clear().dropped, want.dropped));
        }
        BOOST_REQUIRE_EQUAL(q.size(), ref.size());
        BOOST_REQUIRE_EQUAL(q.bytes(), ref.bytes());
        BOOST_REQUIRE(same(q.queued(), ref.queued()));
        BOOST_REQUIRE(q.next_expiry() == ref.next_expiry());
        BOOST_REQUIRE_EQUAL(q.dropped_messages(), ref.dropped_messages);
        BOOST_REQUIRE_EQUAL(q.dropped_bytes(), ref.dropped_bytes);
        if (auto next = ref.next_expiry()) {
          // The model's deadline is the first instant that drops.
          // (It may be due already when pushes moved time past it.)
          auto before = ref;
          if (*next - 1ns >= ref.latest)
            BOOST_REQUIRE(before.expire(*next - 1ns).empty());
          auto at = ref;
          BOOST_REQUIRE(!at.expire(*next).empty());
        }
        if (q.dropped_messages() > 0)
          saw_drops = true;
      }
      // The run must have exercised the drop rule and the byte limit.
      BOOST_TEST(saw_drops);
      BOOST_TEST(saw_full);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

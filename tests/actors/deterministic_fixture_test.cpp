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

using namespace std::chrono_literals;
using namespace crust;

namespace {

/// A counter starting at `initial`: `add` increments, `get` answers the
/// count. (Spawn functions take an argument: see the fixture's sanitizer
/// note.)
using counter_actor
  = caf::typed_actor<caf::reacts_to<atom::add, int32_t>,
                     caf::replies_to<atom::get>::with<int32_t>>;

struct counter_state {
  static inline const char* name = "counter";
  int32_t value = 0;
};

counter_actor::behavior_type
counter(counter_actor::stateful_pointer<counter_state> self, int32_t initial) {
  self->state.value = initial;
  return {
    [self](atom::add, int32_t x) {
      self->state.value += x;
    },
    [self](atom::get) {
      return self->state.value;
    },
  };
}

/// A ticker: after `start`, sends itself `tick` every `interval` and reports
/// each tick number to `sink`. The timer lives only in `delayed_send`.
struct ticker_state {
  static inline const char* name = "ticker";
  caf::actor sink;
  caf::timespan interval{0};
  int32_t ticks = 0;
};

caf::behavior ticker(caf::stateful_actor<ticker_state>* self, caf::actor sink,
                     caf::timespan interval) {
  self->state.sink = std::move(sink);
  self->state.interval = interval;
  self->delayed_send(self, interval, atom::tick_v);
  return {
    [self](atom::tick) {
      self->delayed_send(self, self->state.interval, atom::tick_v);
      ++self->state.ticks;
      self->send(self->state.sink, atom::tick_v, self->state.ticks);
    },
    [self](atom::get) {
      return self->state.ticks;
    },
  };
}

/// Collects the tick numbers the ticker reports.
struct collector_state {
  static inline const char* name = "collector";
  std::vector<int32_t> seen;
  std::vector<caf::actor_clock::time_point> at;
};

caf::behavior collector(caf::stateful_actor<collector_state>* self,
                        size_t expected) {
  self->state.seen.reserve(expected);
  self->state.at.reserve(expected);
  return {
    [self](atom::tick, int32_t n) {
      self->state.seen.push_back(n);
      self->state.at.push_back(self->clock().now());
    },
  };
}

collector_state& state_of(const caf::actor& hdl) {
  auto ptr = caf::actor_cast<caf::abstract_actor*>(hdl);
  return dynamic_cast<caf::stateful_actor<collector_state>&>(*ptr).state;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(deterministic_fixture_suite,
                         crust::test::deterministic_fixture)

BOOST_AUTO_TEST_CASE(nothing_runs_until_dispatched) {
  auto c = sys.spawn(counter, int32_t{0});
  self->send(c, atom::add_v, int32_t{2});
  self->send(c, atom::add_v, int32_t{3});
  // The first message is still in the mailbox: inspect it, then process it.
  const auto& msg = next_message_to<atom::add, int32_t>(c);
  BOOST_CHECK_EQUAL(msg.get_as<int32_t>(1), 2);
  sched.run_once();
  next_message_to<atom::add, int32_t>(c);
  BOOST_CHECK_EQUAL(dispatch(), 1u);
  BOOST_CHECK_EQUAL(request<int32_t>(c, atom::get_v), 5);
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(delayed_send_fires_exactly_at_its_virtual_time) {
  auto sink = sys.spawn(collector, size_t{8});
  auto start = now();
  auto t = sys.spawn(ticker, sink, caf::timespan{20s});
  dispatch();
  auto& seen = state_of(sink).seen;
  // Nothing fires before the due time, however long the mailboxes run.
  BOOST_CHECK_EQUAL(advance_time(20s - 1ns), 0u);
  BOOST_CHECK(seen.empty());
  BOOST_CHECK_EQUAL(dispatch(), 0u);
  // Exactly at 20 s the first tick is delivered.
  BOOST_CHECK_EQUAL(advance_time(1ns), 1u);
  BOOST_REQUIRE_EQUAL(seen.size(), 1u);
  BOOST_CHECK_EQUAL(seen[0], 1);
  BOOST_CHECK(state_of(sink).at[0] == start + 20s);
  // The timer re-arms relative to when it fired: 39.999 s is too early.
  BOOST_CHECK_EQUAL(advance_time(20s - 1ns), 0u);
  BOOST_CHECK_EQUAL(seen.size(), 1u);
  BOOST_CHECK_EQUAL(advance_time(1ns), 1u);
  BOOST_CHECK_EQUAL(seen.size(), 2u);
  // One long step fires every tick due within it, each at its own time.
  BOOST_CHECK_EQUAL(advance_time(60s), 3u);
  BOOST_REQUIRE_EQUAL(seen.size(), 5u);
  for (size_t i = 0; i < seen.size(); ++i) {
    BOOST_CHECK_EQUAL(seen[i], static_cast<int32_t>(i + 1));
    BOOST_CHECK(state_of(sink).at[i] == start + 20s * (i + 1));
  }
  BOOST_CHECK_EQUAL(request<int32_t>(t, atom::get_v), 5);
  // Stop the ticker: its pending timer would keep run() going forever.
  caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  dispatch();
}

BOOST_AUTO_TEST_CASE(run_fires_pending_timers) {
  auto sink = sys.spawn(collector, size_t{8});
  self->delayed_send(sink, 10min, atom::tick_v, int32_t{7});
  dispatch();
  BOOST_CHECK(state_of(sink).seen.empty());
  BOOST_CHECK(sched.has_pending_timeout());
  run();
  BOOST_REQUIRE_EQUAL(state_of(sink).seen.size(), 1u);
  BOOST_CHECK_EQUAL(state_of(sink).seen[0], 7);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_SUITE_END()

#pragma once

#include "crust/messages/type_ids.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/type_erased_tuple.hpp>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstddef>
#include <utility>

namespace crust::test {

/// Actor system configuration for deterministic tests: crust's types and
/// error category, CAF's testing scheduler, CAF's logger silent.
struct test_config : caf::actor_system_config {
  test_config();
};

/// Runs actors on CAF's `test_coordinator` under Boost.Test (caf-0.17.md
/// section 6): nothing runs unless the test says so, and time is virtual.
///
/// CAF's own `dsl.hpp` macros report to CAF's test engine and crash under
/// Boost.Test, hence this fixture. Actors that re-arm timers forever must be
/// stopped before the fixture ends, or `run()` could never finish; it gives
/// up (and fails the test) after `max_run_rounds` rounds.
///
/// Sanitizer trap (CAF 0.17.6, CRUST_SANITIZE=ON): spawning a function that
/// takes no argument besides `self` makes CAF's init_fun_factory bind a
/// reference to a null `shared_ptr<std::tuple<>>`, which UBSan aborts on.
/// Give spawn functions at least one argument.
struct deterministic_fixture {
  /// Rounds of "dispatch, then fire timers" before `run()` gives up.
  static constexpr size_t max_run_rounds = 10000;

  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  /// Hidden blocking actor for requests and as a message sink; not counted
  /// by the actor system.
  caf::scoped_actor self{sys, true};

  /// Starts virtual time one hour after the epoch, so that "time zero" bugs
  /// show.
  deterministic_fixture();

  /// Runs to quiescence.
  ~deterministic_fixture();

  /// Dispatches messages until no actor has work, firing all pending timers
  /// whenever the mailboxes drain, until neither work nor timers remain.
  void run();

  /// Dispatches messages only; timers do not fire. Returns the number of
  /// messages (jobs) processed.
  size_t dispatch();

  /// Moves virtual time forward by `d`, firing timers in order of their due
  /// time (the clock stands at each due time while its messages are
  /// dispatched) and dispatching after each; a timer re-armed within `d`
  /// fires again. Returns the number of timers fired.
  size_t advance_time(caf::timespan d);

  /// Current virtual time.
  caf::actor_clock::time_point now() const;

  /// Sends `xs...` to `hdl` as a request, dispatches, and returns the reply.
  /// Fails the test with the rendered error if the request fails.
  template<class T, class Handle, class... Ts>
  T request(const Handle& hdl, Ts&&... xs) {
    auto rh = self->request(hdl, caf::infinite, std::forward<Ts>(xs)...);
    dispatch(); // must run BEFORE receive: receive blocks until a reply
    T out{};
    rh.receive(
      [&](T& x) {
        out = std::move(x);
      },
      [&](caf::error& e) {
        BOOST_FAIL(sys.render(e));
      });
    return out;
  }

  /// Like `request`, but returns the error the request fails with (none if
  /// it succeeds).
  template<class Handle, class... Ts>
  caf::error request_error(const Handle& hdl, Ts&&... xs) {
    auto rh = self->request(hdl, caf::infinite, std::forward<Ts>(xs)...);
    dispatch();
    caf::error out;
    rh.receive([](const caf::message&) {},
               [&](caf::error& e) {
                 out = e;
               });
    return out;
  }

  /// Checks that the next message `dst` would process has the types `Ts...`
  /// and returns it for inspection without consuming it; consume it with
  /// `sched.run_once()`.
  template<class... Ts, class Handle>
  const caf::type_erased_tuple& next_message_to(const Handle& dst) {
    BOOST_REQUIRE_MESSAGE(sched.prioritize(dst), "actor has no pending job");
    // Not `mailbox().peek()`: inlined from CAF's headers, its intrusive
    // queue casts a sentinel node, which UBSan (CRUST_SANITIZE) reports.
    auto* e
      = sched.next_job<caf::scheduled_actor>().peek_at_next_mailbox_element();
    BOOST_REQUIRE(e != nullptr);
    BOOST_REQUIRE_MESSAGE(e->content().template match_elements<Ts...>(),
                          "unexpected: " << to_string(e->content()));
    return e->content();
  }

private:
  /// `run()` without failing: false if it did not reach quiescence.
  bool run_to_quiescence();
};

} // namespace crust::test

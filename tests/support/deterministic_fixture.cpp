#include "support/deterministic_fixture.hpp"

#include <caf/atom.hpp>

namespace crust::test {

test_config::test_config() {
  crust::add_message_types(*this);
  set("scheduler.policy", caf::atom("testing"));
  set("logger.console-verbosity", caf::atom("quiet"));
  set("logger.file-verbosity", caf::atom("quiet"));
}

deterministic_fixture::deterministic_fixture() {
  sched.clock().current_time += std::chrono::hours(1);
}

deterministic_fixture::~deterministic_fixture() {
  if (!run_to_quiescence())
    BOOST_ERROR("actors still busy at the end of the test: stop actors that "
                "re-arm timers before the fixture ends");
}

bool deterministic_fixture::run_to_quiescence() {
  for (size_t round = 0; round < max_run_rounds; ++round) {
    if (!sched.has_job() && !sched.has_pending_timeout())
      return true;
    sched.run();
    sched.trigger_timeouts();
  }
  return !sched.has_job() && !sched.has_pending_timeout();
}

void deterministic_fixture::run() {
  if (!run_to_quiescence())
    BOOST_FAIL("run() did not reach quiescence after "
               << max_run_rounds << " rounds: an actor re-arms a timer "
               << "forever; use advance_time() instead");
}

size_t deterministic_fixture::dispatch() {
  return sched.run();
}

size_t deterministic_fixture::advance_time(caf::timespan d) {
  auto& clock = sched.clock();
  auto target = clock.current_time + d;
  size_t fired = 0;
  // Step from due time to due time so that a timer re-armed by a handler
  // fires again if its new due time is still within `d`.
  dispatch();
  for (;;) {
    const auto& schedule = clock.schedule();
    if (schedule.empty() || schedule.begin()->first > target)
      break;
    if (schedule.begin()->first > clock.current_time)
      clock.current_time = schedule.begin()->first;
    fired += clock.advance_time(caf::timespan{0});
    dispatch();
  }
  clock.current_time = target;
  return fired;
}

caf::actor_clock::time_point deterministic_fixture::now() const {
  return sched.clock().current_time;
}

} // namespace crust::test

#pragma once

// A bounded poll over real sockets, for tests/integration only: the
// deterministic suites use virtual time instead.

#include "support/service_test_support.hpp"

#include <chrono>
#include <thread>

namespace crust::test {

/// Polls (bounded) until `n` reports `peer` as (not) connected.
inline bool await_connected(test_node& n, const peer_id& peer, bool expected,
                            caf::timespan timeout = std::chrono::seconds{5}) {
  using namespace std::chrono_literals;
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto res = n->is_connected(peer);
    if (res && *res == expected)
      return true;
    if (clock_type::now() >= deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
}

} // namespace crust::test

#include "crust/transport/noise/replay_window.hpp"

#include "support/engine_test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <random>
#include <set>

using namespace crust;
using namespace crust::noise;

namespace {

constexpr uint64_t w = replay_window::window_size;

errc verdict(const replay_window& win, uint64_t n) {
  return win.check(n).code();
}

} // namespace

BOOST_AUTO_TEST_CASE(window_is_large_enough) {
  BOOST_TEST(w >= 2048u);
  BOOST_TEST(replay_window::ring_bits == 8192u);
}

BOOST_AUTO_TEST_CASE(fresh_window_accepts_anything) {
  replay_window win;
  BOOST_TEST(win.empty());
  BOOST_CHECK_EQUAL(verdict(win, 0), errc::none);
  BOOST_CHECK_EQUAL(verdict(win, UINT64_MAX - 8193), errc::none);
}

BOOST_AUTO_TEST_CASE(in_order_and_duplicates) {
  replay_window win;
  for (uint64_t n = 0; n < 20000; ++n) {
    BOOST_REQUIRE_EQUAL(verdict(win, n), errc::none);
    win.accept(n);
    BOOST_REQUIRE_EQUAL(verdict(win, n), errc::replayed_packet);
  }
  BOOST_TEST(win.highest() == 19999u);
  BOOST_CHECK_EQUAL(verdict(win, 19999 - 100), errc::replayed_packet);
}

BOOST_AUTO_TEST_CASE(check_changes_nothing) {
  replay_window win;
  win.accept(10);
  BOOST_CHECK_EQUAL(verdict(win, 500), errc::none);
  BOOST_CHECK_EQUAL(verdict(win, 500), errc::none);
  BOOST_TEST(win.highest() == 10u);
  BOOST_CHECK_EQUAL(verdict(win, 9), errc::none);
  BOOST_CHECK_EQUAL(verdict(win, 10), errc::replayed_packet);
}

BOOST_AUTO_TEST_CASE(out_of_order_within_window) {
  replay_window win;
  win.accept(5000);
  for (uint64_t n : {4999u, 100u, 4000u, 1u, 0u, 4998u}) {
    BOOST_CHECK_EQUAL(verdict(win, n), errc::none);
    win.accept(n);
    BOOST_CHECK_EQUAL(verdict(win, n), errc::replayed_packet);
  }
  BOOST_CHECK_EQUAL(verdict(win, 2), errc::none);
  BOOST_TEST(win.highest() == 5000u);
}

BOOST_AUTO_TEST_CASE(too_old_is_rejected) {
  replay_window win;
  uint64_t top = 100000;
  win.accept(top);
  BOOST_CHECK_EQUAL(verdict(win, top - w), errc::packet_too_old);
  BOOST_CHECK_EQUAL(verdict(win, 0), errc::packet_too_old);
  BOOST_CHECK_EQUAL(verdict(win, top - w + 1), errc::none);
  // Accepting a too-old number anyway must not disturb newer state.
  win.accept(top - w - 64);
  BOOST_CHECK_EQUAL(verdict(win, top - 64), errc::none);
  BOOST_CHECK_EQUAL(verdict(win, top), errc::replayed_packet);
}

BOOST_AUTO_TEST_CASE(sliding_across_large_jumps) {
  replay_window win;
  for (uint64_t n = 0; n < 8192; ++n)
    win.accept(n);
  // Jumps of less than a ring clear only the blocks slid into.
  win.accept(8191 + 300);
  for (uint64_t n = 8192; n < 8191 + 300; ++n)
    BOOST_REQUIRE_EQUAL(verdict(win, n), errc::none);
  BOOST_CHECK_EQUAL(verdict(win, 8191), errc::replayed_packet);
  BOOST_CHECK_EQUAL(verdict(win, 8191 + 300 - w + 1), errc::replayed_packet);
  // A jump of several rings: nothing old may look like a replay.
  uint64_t far = 8191 + 300 + 5 * 8192 + 17;
  win.accept(far);
  for (uint64_t n = far - w + 1; n < far; ++n)
    BOOST_REQUIRE_EQUAL(verdict(win, n), errc::none);
  BOOST_CHECK_EQUAL(verdict(win, far - w), errc::packet_too_old);
  BOOST_CHECK_EQUAL(verdict(win, far), errc::replayed_packet);
}

BOOST_AUTO_TEST_CASE(near_the_top_of_the_number_space) {
  replay_window win;
  uint64_t top = UINT64_MAX - 8193;
  win.accept(top - 1);
  win.accept(top);
  BOOST_CHECK_EQUAL(verdict(win, top), errc::replayed_packet);
  BOOST_CHECK_EQUAL(verdict(win, top - 1), errc::replayed_packet);
  BOOST_CHECK_EQUAL(verdict(win, top - 2), errc::none);
  BOOST_CHECK_EQUAL(verdict(win, 0), errc::packet_too_old);
}

BOOST_AUTO_TEST_CASE(check_and_accept_and_reset) {
  replay_window win;
  BOOST_TEST(static_cast<bool>(win.check_and_accept(7)));
  BOOST_CHECK_EQUAL(win.check_and_accept(7).code(), errc::replayed_packet);
  win.reset();
  BOOST_TEST(win.empty());
  BOOST_TEST(static_cast<bool>(win.check_and_accept(7)));
}

// Differential test against an obviously correct model: a set of every
// accepted number plus the rule "older than the window is too old".
BOOST_AUTO_TEST_CASE(matches_a_reference_model) {
  std::mt19937_64 rng{42};
  replay_window win;
  std::set<uint64_t> seen;
  uint64_t highest = 0;
  bool any = false;
  for (int i = 0; i < 200000; ++i) {
    uint64_t n;
    auto pick = rng() % 100;
    if (!any || pick < 2)
      n = highest + rng() % 30000; // big jumps now and then
    else if (pick < 60)
      n = highest + rng() % 4;
    else
      n = highest - std::min<uint64_t>(highest, rng() % (w + 200));
    errc expect = errc::none;
    if (any && n <= highest) {
      if (highest - n >= w)
        expect = errc::packet_too_old;
      else if (seen.count(n) > 0)
        expect = errc::replayed_packet;
    }
    BOOST_REQUIRE_EQUAL(verdict(win, n), expect);
    if (expect == errc::none && rng() % 4 != 0) {
      win.accept(n);
      seen.insert(n);
      if (!any || n > highest)
        highest = n;
      any = true;
    }
  }
}

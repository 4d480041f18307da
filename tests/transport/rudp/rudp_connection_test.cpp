#include "crust/transport/rudp/connection.hpp"
#include "crust/transport/rudp/packet_format.hpp"

#include "support/engine_test_support.hpp"
#include "support/rudp_sim.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

using namespace crust;
using namespace crust::test;
using namespace std::chrono_literals;

namespace {

link_config clean_link() {
  link_config cfg;
  cfg.delay = 10ms;
  return cfg;
}

struct pair_fixture {
  explicit pair_fixture(link_config fwd = clean_link(),
                        link_config back = clean_link()) {
    auto [a, b] = rudp_config_pair();
    adjust(a, b);
    sim.emplace(1, fwd, back, std::move(a), std::move(b));
  }

  virtual ~pair_fixture() = default;

  virtual void adjust(rudp::connection_config&, rudp::connection_config&) {
    // nop
  }

  rudp::connection& a() {
    return sim->conn(0);
  }

  rudp::connection& b() {
    return sim->conn(1);
  }

  /// Messages endpoint `i` received so far, as strings.
  std::vector<std::string> received(int i) {
    std::vector<std::string> out;
    for (auto& ev : sim->events(i))
      if (auto* m = std::get_if<rudp::message_event>(&ev))
        out.emplace_back(m->payload.begin(), m->payload.end());
    return out;
  }

  template<class T>
  const T* find_event(int i) {
    for (auto& ev : sim->events(i))
      if (auto* x = std::get_if<T>(&ev))
        return x;
    return nullptr;
  }

  std::optional<rudp_sim> sim;
};

} // namespace

BOOST_AUTO_TEST_CASE(handshake_then_messages_both_ways) {
  pair_fixture f;
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.sim->connected();
    },
    5s));
  BOOST_REQUIRE(f.find_event<rudp::connected_event>(0) != nullptr);
  BOOST_REQUIRE(f.find_event<rudp::connected_event>(1) != nullptr);
  BOOST_CHECK(*f.a().peer_id() == rudp_fixed_keys(0x22).pub);
  BOOST_CHECK(*f.b().peer_id() == rudp_fixed_keys(0x11).pub);
  BOOST_CHECK_EQUAL(f.a().remote_id(), f.b().local_id());
  BOOST_CHECK_EQUAL(f.b().remote_id(), f.a().local_id());
  BOOST_REQUIRE(f.a().send(1, bytes_of("hello"), f.sim->now()));
  BOOST_REQUIRE(f.b().send(1, bytes_of("world"), f.sim->now()));
  BOOST_REQUIRE(f.sim->run_until(
    [&] {
      return f.received(0).size() == 1 && f.received(1).size() == 1;
    },
    5s));
  BOOST_CHECK_EQUAL(f.received(1)[0], "hello");
  BOOST_CHECK_EQUAL(f.received(0)[0], "world");
}

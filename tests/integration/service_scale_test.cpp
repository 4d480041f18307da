// 1,000 concurrent connections to one service on loopback, with real
// sockets: 1,000 client services (distinct identities, one actor system, one
// io thread) connect at once, each sends a message, then all go away; the
// server loses every peer and the process holds no more file descriptors
// than before. Every wait is bounded.

#include "crust/actors/blocking_service.hpp"
#include "crust/messages/errc.hpp"

#include "support/service_test_support.hpp"

#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace crust;
using namespace crust::test;

namespace {

/// Clients: 1,000; `CRUST_TEST_CLIENTS` overrides (e.g. fewer under a slow
/// sanitizer build).
size_t client_count() {
  if (auto* env = std::getenv("CRUST_TEST_CLIENTS"))
    return static_cast<size_t>(std::strtoul(env, nullptr, 10));
  return 1000;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(service_scale_suite, service_fixture)

BOOST_AUTO_TEST_CASE(thousand_concurrent_connections_close_without_fd_leak) {
  auto limit = raise_fd_limit();
  auto n = client_count();
  // Two descriptors per connection (both ends live in this process).
  if (limit < 2 * n + 256) {
    n = limit > 512 ? (limit - 256) / 2 : 0;
    BOOST_TEST_MESSAGE("open-file limit " << limit << ": only " << n
                                          << " clients");
  }
  BOOST_REQUIRE_GT(n, 0u);
  auto conf = test_node_config();
  conf.handshake_timeout = 60s;
  auto& server = add_listening_node(conf);
  auto fds_before = count_open_fds();
  auto start = clock_type::now();
  // The clients: services without a facade, driven by one blocking actor.
  std::vector<service_actor> clients;
  std::vector<peer_id> client_ids;
  clients.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto keys = fresh_keys();
    client_ids.emplace_back(keys.pub);
    // TCP at scale: under this load a TCP connect may outlast the rUDP head
    // start, and the fallback's extra sessions (and UDP sockets) are not
    // what these counts measure.
    auto client_conf = conf;
    client_conf.rudp = false;
    clients.push_back(start_service(sys, io, keys, client_conf));
  }
  auto spawned = clock_type::now();
  caf::scoped_actor self{sys, true};
  size_t connected = 0;
  std::string first_error;
  {
    using handle_type = decltype(self->request(clients[0], caf::infinite,
                                               atom::connect_v, std::string{}));
    std::vector<handle_type> pending;
    pending.reserve(n);
    for (auto& client : clients)
      pending.push_back(
        self->request(client, 90s, atom::connect_v, server.contact()));
    for (auto& rh : pending)
      rh.receive(
        [&](const peer_id& peer) {
          if (peer == server.id)
            ++connected;
        },
        [&](caf::error& err) {
          if (first_error.empty())
            first_error = sys.render(err);
        });
  }
  auto connect_time = clock_type::now() - spawned;
  BOOST_TEST_MESSAGE(n << " services spawned in " << millis(spawned - start)
                       << " ms; " << connected << " connected in "
                       << millis(connect_time) << " ms");
  BOOST_CHECK_MESSAGE(first_error.empty(), "first failure: " << first_error);
  BOOST_REQUIRE_EQUAL(connected, n);
  // The server announced each client exactly once.
  std::set<peer_id> announced;
  auto deadline = clock_type::now() + 30s;
  while (announced.size() < n && clock_type::now() < deadline) {
    auto ev = server->wait_for<connect_success>(deadline - clock_type::now());
    if (!ev)
      break;
    BOOST_CHECK_MESSAGE(announced.insert(ev->peer).second,
                        "second connect_success for " << ev->peer.short_hex());
  }
  BOOST_CHECK_EQUAL(announced.size(), n);
  auto peers = server->peers();
  BOOST_REQUIRE(peers);
  BOOST_CHECK_EQUAL(peers->size(), n);
  BOOST_TEST_MESSAGE("open descriptors: " << fds_before << " before, "
                                          << count_open_fds() << " connected");
  // Every client sends one message; the server gets them all.
  size_t sent = 0;
  for (size_t i = 0; i < n; ++i)
    self
      ->request(clients[i], 30s, atom::send_v, server.id, uint8_t{1},
                pattern_bytes(64, i))
      .receive(
        [&](uint64_t) {
          ++sent;
        },
        [&](caf::error& err) {
          BOOST_ERROR("send " << i << ": " << sys.render(err));
        });
  BOOST_CHECK_EQUAL(sent, n);
  std::set<peer_id> heard;
  deadline = clock_type::now() + 30s;
  while (heard.size() < n && clock_type::now() < deadline) {
    auto ev = server->wait_for<new_message>(deadline - clock_type::now());
    if (!ev)
      break;
    heard.insert(ev->peer);
  }
  BOOST_CHECK_EQUAL(heard.size(), n);
  // All clients go away; the server loses each of them.
  auto closing = clock_type::now();
  for (auto& client : clients) {
    self->monitor(client);
    self->send_exit(client, caf::exit_reason::user_shutdown);
  }
  size_t down = 0;
  bool timed_out = false;
  while (down < n && !timed_out)
    self->receive(
      [&](caf::down_msg&) {
        ++down;
      },
      caf::after(30s) >>
        [&] {
          timed_out = true;
        });
  BOOST_CHECK_EQUAL(down, n);
  clients.clear();
  std::set<peer_id> lost;
  deadline = clock_type::now() + 30s;
  while (lost.size() < n && clock_type::now() < deadline) {
    auto ev = server->wait_for<lost_peer>(deadline - clock_type::now());
    if (!ev)
      break;
    lost.insert(ev->peer);
  }
  BOOST_CHECK_EQUAL(lost.size(), n);
  BOOST_TEST_MESSAGE("all clients lost after "
                     << millis(clock_type::now() - closing) << " ms");
  // Every socket is closed again: poll (bounded) the descriptor count.
  size_t fds_after = 0;
  deadline = clock_type::now() + 20s;
  for (;;) {
    fds_after = count_open_fds();
    if (fds_after <= fds_before + 4 || clock_type::now() >= deadline)
      break;
    std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST_MESSAGE("open descriptors after closing: " << fds_after);
  BOOST_CHECK_LE(fds_after, fds_before + 4);
  auto stats = server->stats();
  BOOST_REQUIRE(stats);
  BOOST_CHECK_EQUAL(stats->connections.size(), 0u);
  BOOST_CHECK_EQUAL(stats->pending_connections, 0u);
  BOOST_CHECK_EQUAL(stats->accepted_total, n);
  auto remaining = server->peers();
  BOOST_REQUIRE(remaining);
  BOOST_CHECK(remaining->empty());
}

BOOST_AUTO_TEST_SUITE_END()

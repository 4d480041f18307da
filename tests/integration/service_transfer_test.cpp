// Bulk transfer between two services on loopback with real sockets: 10,000
// messages of mixed sizes and priorities arrive complete and in order per
// priority (checked by hash) while the sender honours `queue_full` (the path
// stalls now and then); a stalled path fills the queue to its byte limit
// and loses nothing; a broken one reports the dropped queue; garbage on the
// listening port (random bytes, a half-open handshake, 200 silent sockets)
// neither disturbs a concurrent transfer nor outlives the handshake
// deadline; the pending-connection cap holds. Every wait is bounded.

#include "crust/actors/blocking_service.hpp"
#include "crust/messages/errc.hpp"
#include "crust/transport/asio_headers.hpp"

#include "support/service_test_support.hpp"
#include "support/tcp_relay.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace crust;
using namespace crust::test;

namespace {

constexpr uint8_t priority_count = 6;

/// One message of a transfer plan.
struct planned_message {
  uint8_t priority = 0;
  size_t size = 0;
  uint64_t seed = 0;
  uint64_t hash = 0;
};

/// How many messages of 64 KiB to 2 MiB a plan holds: a few hundred, fewer
/// under sanitizers; `CRUST_TEST_LARGE_MESSAGES` overrides.
size_t large_message_count() {
  if (auto* env = std::getenv("CRUST_TEST_LARGE_MESSAGES"))
    return static_cast<size_t>(std::strtoul(env, nullptr, 10));
  return under_sanitizer ? 100 : 200;
}

/// `count` messages: `large` of them between 64 KiB and 2 MiB (log-uniform,
/// the first two exactly 2 MiB), a tenth between 1 KiB and 64 KiB, the rest
/// between 1 byte and 1 KiB; priorities 0 to 5 at random; shuffled.
std::vector<planned_message> make_plan(size_t count, size_t large,
                                       uint32_t seed) {
  constexpr size_t max_size = size_t{2} << 20;
  std::mt19937_64 gen{seed};
  auto log_uniform = [&gen](double lo, double hi) {
    std::uniform_real_distribution<double> exp{std::log2(lo), std::log2(hi)};
    return static_cast<size_t>(std::pow(2.0, exp(gen)));
  };
  std::vector<planned_message> plan(count);
  for (size_t i = 0; i < count; ++i) {
    auto& msg = plan[i];
    if (i < 2)
      msg.size = max_size;
    else if (i < large)
      msg.size = std::min(max_size, log_uniform(65536, max_size));
    else if (i < large + count / 10)
      msg.size = log_uniform(1024, 65536);
    else
      msg.size = log_uniform(1, 1024);
    msg.size = std::max<size_t>(msg.size, 1);
  }
  std::shuffle(plan.begin(), plan.end(), gen);
  std::uniform_int_distribution<int> prio{0, priority_count - 1};
  for (size_t i = 0; i < count; ++i) {
    plan[i].priority = static_cast<uint8_t>(prio(gen));
    plan[i].seed = (uint64_t{seed} << 32) + i;
    plan[i].hash = content_hash(pattern_bytes(plan[i].size, plan[i].seed));
  }
  return plan;
}

size_t total_bytes(const std::vector<planned_message>& plan) {
  size_t sum = 0;
  for (auto& msg : plan)
    sum += msg.size;
  return sum;
}

/// What a sender did.
struct send_report {
  size_t sent = 0;
  size_t queue_full = 0;
  std::string failure; // empty unless a send failed for another reason
};

/// Sends every message of `plan` from `from` to `to` in order. On
/// `queue_full` it polls (bounded) and retries the same message, so nothing
/// is skipped; any other error ends the transfer.
///
/// With a `relay` on the path, it stalls the path now and then (every
/// `stall_every` messages) and lets it move again at the first `queue_full`,
/// so that a fast sender really meets full queues.
send_report send_plan(test_node& from, const peer_id& to,
                      const std::vector<planned_message>& plan,
                      caf::timespan deadline_after, tcp_relay* relay = nullptr,
                      size_t stall_every = 1000) {
  send_report out;
  auto deadline = clock_type::now() + deadline_after;
  bool stalled = false;
  for (size_t i = 0; i < plan.size(); ++i) {
    auto& msg = plan[i];
    if (relay != nullptr && !stalled && i % stall_every == stall_every / 2) {
      relay->pause_upstream();
      stalled = true;
    }
    auto bytes = pattern_bytes(msg.size, msg.seed);
    for (;;) {
      auto res = from->send(to, msg.priority, bytes);
      if (res)
        break;
      if (!is(res.error(), errc::queue_full)) {
        out.failure = from->system().render(res.error());
        return out;
      }
      ++out.queue_full;
      if (stalled) {
        relay->resume_upstream();
        stalled = false;
      }
      if (clock_type::now() >= deadline) {
        out.failure = "queue stayed full until the deadline";
        return out;
      }
      // The receiver drains the queue; look again shortly.
      std::this_thread::sleep_for(2ms);
    }
    ++out.sent;
  }
  if (stalled)
    relay->resume_upstream();
  return out;
}

/// Receives `plan` at `at` from `from`: checks each message against the next
/// expected one of its priority (size and hash). Returns false on the first
/// mismatch or timeout (after reporting it).
bool receive_plan(test_node& at, const peer_id& from,
                  const std::vector<planned_message>& plan,
                  caf::timespan idle_limit) {
  std::array<std::vector<const planned_message*>, priority_count> expected;
  for (auto& msg : plan)
    expected[msg.priority].push_back(&msg);
  std::array<size_t, priority_count> next{};
  size_t received = 0;
  auto& sys = at->system();
  while (received < plan.size()) {
    auto ev = at->wait_for<new_message>(idle_limit);
    if (!ev) {
      BOOST_ERROR("no message for " << millis(idle_limit) << " ms after "
                                    << received << " of " << plan.size());
      return false;
    }
    if (ev->peer != from) {
      BOOST_ERROR("message from an unexpected peer");
      return false;
    }
    auto prio = ev->priority;
    if (prio >= priority_count || next[prio] >= expected[prio].size()) {
      BOOST_ERROR("unexpected message at priority " << int{prio});
      return false;
    }
    auto& want = *expected[prio][next[prio]];
    if (ev->payload.size() != want.size
        || content_hash(ev->payload) != want.hash) {
      BOOST_ERROR("priority "
                  << int{prio} << " message " << next[prio] << ": got "
                  << ev->payload.size() << " bytes, expected " << want.size
                  << (ev->payload.size() == want.size ? " (content differs)"
                                                      : ""));
      return false;
    }
    ++next[prio];
    ++received;
  }
  (void)sys;
  return true;
}

/// Settings for bulk transfers: a 4 MiB queue.
node_config transfer_config() {
  auto cfg = test_node_config();
  cfg.max_queued_bytes = size_t{4} << 20;
  return cfg;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(service_transfer_suite, service_fixture)

BOOST_AUTO_TEST_CASE(ten_thousand_mixed_messages_arrive_in_order_per_priority) {
  auto& b = add_listening_node(transfer_config());
  auto& a = add_node(transfer_config());
  // Through a relay that stalls the path now and then: see send_plan.
  tcp_relay relay{b.port};
  auto res = a->connect(contact_text(b.id, "127.0.0.1", relay.port()));
  BOOST_REQUIRE_MESSAGE(res, why(sys, res));
  BOOST_REQUIRE(b->wait_for<connect_success>(max_wait));
  auto plan = make_plan(10000, large_message_count(), 7);
  BOOST_TEST_MESSAGE("plan: " << plan.size() << " messages, "
                              << total_bytes(plan) / 1024 << " KiB");
  auto start = clock_type::now();
  send_report report;
  std::thread sender{[&] {
    report = send_plan(a, b.id, plan, 100s, &relay);
  }};
  bool ok = receive_plan(b, a.id, plan, 20s);
  sender.join();
  auto elapsed = clock_type::now() - start;
  BOOST_CHECK_MESSAGE(report.failure.empty(), "sender: " << report.failure);
  BOOST_CHECK_EQUAL(report.sent, plan.size());
  BOOST_CHECK(ok);
  BOOST_TEST_MESSAGE(
    "transfer: " << millis(elapsed) << " ms, "
                 << (static_cast<double>(total_bytes(plan))
                     / std::max<long long>(1, millis(elapsed)) / 1000.0)
                 << " MB/s, " << report.queue_full << " queue_full answers");
  // Nothing was dropped or refused on the sending side.
  while (auto ev = a->next_event(0s)) {
    BOOST_CHECK_MESSAGE(!std::holds_alternative<messages_dropped>(*ev)
                          && !std::holds_alternative<message_too_large>(*ev)
                          && !std::holds_alternative<lost_peer>(*ev),
                        "sender saw " << describe(sys, *ev));
  }
  auto stats = a->stats();
  BOOST_REQUIRE(stats);
  BOOST_REQUIRE_EQUAL(stats->connections.size(), 1u);
  BOOST_CHECK_EQUAL(stats->connections[0].dropped_messages, 0u);
  BOOST_CHECK_EQUAL(stats->connections[0].messages_out, plan.size());
}

// The path to the receiver stalls (a relay stops reading): the sender's
// queue fills up to its byte limit and `send` answers `queue_full`; once the
// path moves again every accepted message arrives, in order per priority.
BOOST_AUTO_TEST_CASE(queue_full_when_the_path_stalls_and_nothing_is_lost) {
  auto conf = transfer_config();
  auto& b = add_listening_node(conf);
  auto& a = add_node(conf);
  tcp_relay relay{b.port};
  auto res = a->connect(contact_text(b.id, "127.0.0.1", relay.port()));
  BOOST_REQUIRE_MESSAGE(res, why(sys, res));
  BOOST_REQUIRE(b->wait_for<connect_success>(max_wait));
  relay.pause_upstream();
  // 64 KiB messages at priorities 0 and 3 until the queue is full (socket
  // buffers take some first); at most 1 GiB.
  std::vector<planned_message> accepted;
  bool full = false;
  for (uint64_t i = 0; i < 16384 && !full; ++i) {
    planned_message msg;
    msg.priority = i % 2 == 0 ? 0 : 3;
    msg.size = 65536;
    msg.seed = i;
    auto bytes = pattern_bytes(msg.size, msg.seed);
    msg.hash = content_hash(bytes);
    auto sent = a->send(b.id, msg.priority, std::move(bytes));
    if (sent) {
      accepted.push_back(msg);
    } else {
      BOOST_REQUIRE_MESSAGE(is(sent.error(), errc::queue_full),
                            sys.render(sent.error()));
      full = true;
    }
  }
  BOOST_REQUIRE_MESSAGE(full, "no queue_full after 1 GiB");
  BOOST_TEST_MESSAGE("queue_full after " << accepted.size()
                                         << " messages of 64 KiB");
  auto stats = a->stats();
  BOOST_REQUIRE(stats);
  BOOST_REQUIRE_EQUAL(stats->connections.size(), 1u);
  BOOST_CHECK_LE(stats->connections[0].queued_bytes, conf.max_queued_bytes);
  BOOST_CHECK_GT(stats->connections[0].queued_bytes,
                 conf.max_queued_bytes - 65536);
  relay.resume_upstream();
  BOOST_CHECK(receive_plan(b, a.id, accepted, 20s));
  // The queue drained: sending works again.
  auto again = a->send(b.id, 3, pattern_bytes(65536, 99));
  BOOST_CHECK_MESSAGE(again, why(sys, again));
  BOOST_CHECK(b->wait_for<new_message>(max_wait));
  BOOST_CHECK(!a->wait_for<messages_dropped>(0s));
}

// The connection breaks while the sender's queue is full: the sender loses
// the peer and hears how many queued messages were dropped.
BOOST_AUTO_TEST_CASE(a_broken_connection_reports_the_dropped_queue) {
  auto conf = transfer_config();
  auto& b = add_listening_node(conf);
  auto& a = add_node(conf);
  tcp_relay relay{b.port};
  auto res = a->connect(contact_text(b.id, "127.0.0.1", relay.port()));
  BOOST_REQUIRE_MESSAGE(res, why(sys, res));
  BOOST_REQUIRE(b->wait_for<connect_success>(max_wait));
  relay.pause_upstream();
  size_t accepted = 0;
  for (uint64_t i = 0; i < 16384; ++i) {
    if (!a->send(b.id, 4, pattern_bytes(65536, i)))
      break;
    ++accepted;
  }
  auto stats = a->stats();
  BOOST_REQUIRE(stats);
  BOOST_REQUIRE_EQUAL(stats->connections.size(), 1u);
  auto queued = stats->connections[0].queued_messages;
  BOOST_TEST_MESSAGE(accepted << " accepted, " << queued << " queued");
  BOOST_REQUIRE_GT(queued, 0u);
  relay.reset();
  auto lost = a->wait_for<lost_peer>(5s);
  BOOST_REQUIRE_MESSAGE(lost, "no lost_peer after the reset");
  auto dropped = a->wait_for<messages_dropped>(5s);
  BOOST_REQUIRE_MESSAGE(dropped, "queued messages vanished without a word");
  BOOST_TEST_MESSAGE(dropped->detail);
  BOOST_CHECK(dropped->peer == b.id);
  BOOST_CHECK_GE(dropped->messages, queued);
  BOOST_CHECK_LE(dropped->messages, accepted);
  BOOST_CHECK_EQUAL(dropped->from_priority, 4u);
}

namespace {

/// Garbage clients on their own io context and thread: each connects to the
/// port and (optionally) writes some bytes, then reads until the server ends
/// the connection, noting when.
class garbage_clients {
public:
  garbage_clients(uint16_t port, size_t silent, caf::timespan limit)
    : port_(port), limit_(limit) {
    std::mt19937 gen{42};
    std::vector<uint8_t> random_bytes(64 * 1024);
    for (auto& byte : random_bytes)
      byte = static_cast<uint8_t>(gen());
    add(std::move(random_bytes)); // a client sending random bytes
    // A half-open handshake: a valid envelope header announcing message 1
    // (version 1, kind 1, 100 bytes) and only 10 of its bytes.
    std::vector<uint8_t> half_open{0x01, 0x01, 0x00, 0x64};
    half_open.resize(14, 0);
    add(std::move(half_open));
    for (size_t i = 0; i < silent; ++i)
      add({});
  }

  void start() {
    start_ = clock_type::now();
    for (auto& c : clients_)
      run(*c);
    thread_ = std::thread{[this] {
      ctx_.run_for(limit_);
    }};
  }

  /// Waits for every client to be cut or the limit to pass.
  void join() {
    thread_.join();
  }

  size_t connected() const {
    size_t n = 0;
    for (auto& c : clients_)
      n += c->connected ? 1 : 0;
    return n;
  }

  /// Clients the server has not cut.
  size_t still_open() const {
    size_t n = 0;
    for (auto& c : clients_)
      n += c->ended ? 0 : 1;
    return n;
  }

  /// The longest time from the start to a cut.
  clock_type::duration slowest_cut() const {
    clock_type::duration out{};
    for (auto& c : clients_)
      if (c->ended)
        out = std::max(out, c->ended_at - start_);
    return out;
  }

  clock_type::duration cut_of(size_t i) const {
    return clients_[i]->ended ? clients_[i]->ended_at - start_
                              : clock_type::duration::max();
  }

private:
  struct client {
    explicit client(asio::io_context& ctx) : sock(ctx) {
      // nop
    }
    asio::ip::tcp::socket sock;
    std::vector<uint8_t> junk;
    std::array<uint8_t, 4096> buf;
    bool connected = false;
    bool ended = false;
    clock_type::time_point ended_at;
  };

  void add(std::vector<uint8_t> junk) {
    auto c = std::make_unique<client>(ctx_);
    c->junk = std::move(junk);
    clients_.emplace_back(std::move(c));
  }

  void run(client& c) {
    asio::ip::tcp::endpoint ep{asio::ip::address_v4::loopback(), port_};
    c.sock.async_connect(ep, [this, &c](std::error_code ec) {
      if (ec) {
        end(c);
        return;
      }
      c.connected = true;
      if (!c.junk.empty())
        async_write_all(c.sock, c.junk.data(), c.junk.size(),
                        [](std::error_code) {});
      read(c);
    });
  }

  void read(client& c) {
    c.sock.async_read_some(asio::buffer(c.buf),
                           [this, &c](std::error_code ec, size_t) {
                             if (ec) {
                               end(c);
                               return;
                             }
                             read(c);
                           });
  }

  void end(client& c) {
    if (c.ended)
      return;
    c.ended = true;
    c.ended_at = clock_type::now();
    std::error_code ec;
    c.sock.close(ec);
  }

  uint16_t port_;
  caf::timespan limit_;
  asio::io_context ctx_;
  std::vector<std::unique_ptr<client>> clients_;
  clock_type::time_point start_;
  std::thread thread_;
};

} // namespace

BOOST_AUTO_TEST_CASE(garbage_on_the_listening_port_does_not_disturb_transfer) {
  auto conf = transfer_config();
  conf.handshake_timeout = 500ms;
  auto& b = add_listening_node(conf);
  auto& a = add_node(conf);
  connect(a, b);
  auto plan = make_plan(2000, under_sanitizer ? 10 : 40, 11);
  constexpr size_t silent = 200;
  garbage_clients garbage{b.port, silent, 10s};
  send_report report;
  auto start = clock_type::now();
  std::thread sender{[&] {
    report = send_plan(a, b.id, plan, 60s);
  }};
  garbage.start();
  bool ok = receive_plan(b, a.id, plan, 20s);
  sender.join();
  auto transfer_time = clock_type::now() - start;
  garbage.join();
  BOOST_CHECK_MESSAGE(report.failure.empty(), "sender: " << report.failure);
  BOOST_CHECK(ok);
  BOOST_TEST_MESSAGE("transfer beside garbage: " << millis(transfer_time)
                                                 << " ms");
  BOOST_CHECK_EQUAL(garbage.connected(), silent + 2);
  BOOST_CHECK_EQUAL(garbage.still_open(), 0u);
  BOOST_TEST_MESSAGE("random bytes cut after "
                     << millis(garbage.cut_of(0)) << " ms; half-open after "
                     << millis(garbage.cut_of(1)) << " ms; slowest cut "
                     << millis(garbage.slowest_cut()) << " ms");
  // Random bytes are refused as soon as they are read; the silent ones at
  // the deadline (500 ms) plus scheduling slack.
  BOOST_CHECK(garbage.cut_of(1) >= 400ms);
  BOOST_CHECK(garbage.slowest_cut() < 3s);
  // The transfer's connection is the only one left.
  auto stats = b->stats();
  BOOST_REQUIRE(stats);
  BOOST_CHECK_EQUAL(stats->connections.size(), 1u);
  BOOST_CHECK_EQUAL(stats->pending_connections, 0u);
  BOOST_CHECK(!b->wait_for<connect_success>(0s));
  BOOST_CHECK(!b->wait_for<lost_peer>(0s));
}

BOOST_AUTO_TEST_CASE(pending_connections_are_capped) {
  auto conf = test_node_config();
  conf.handshake_timeout = 2s;
  conf.max_pending_connections = 20;
  auto& b = add_listening_node(conf);
  garbage_clients silent{b.port, 100, 10s};
  silent.start();
  // Poll (bounded) until every client connected and the cap shows.
  auto deadline = clock_type::now() + 5s;
  service_stats last;
  for (;;) {
    auto stats = b->stats();
    BOOST_REQUIRE(stats);
    last = *stats;
    BOOST_CHECK_LE(last.pending_connections, 20u);
    // Every client was either taken into the handshake or refused.
    if (last.accepted_total + last.refused_total >= 102
        || clock_type::now() >= deadline)
      break;
    std::this_thread::sleep_for(10ms);
  }
  silent.join();
  BOOST_TEST_MESSAGE("accepted " << last.accepted_total << ", refused "
                                 << last.refused_total);
  BOOST_CHECK_GE(last.refused_total, 80u);
  BOOST_CHECK_EQUAL(silent.still_open(), 0u);
  // Those over the cap are closed at once, the others at the deadline.
  BOOST_CHECK(silent.slowest_cut() < 5s);
}

BOOST_AUTO_TEST_SUITE_END()

#pragma once

// Helpers for the real-socket SERVICE suites (tests/integration/service_*):
// a real actor system and io thread, services with fresh in-memory keys
// driven through `blocking_service`, and small tools (fd counting, raw
// sockets, content hashes). Header-only: only those suites include it.

#include "crust/actors/blocking_service.hpp"
#include "crust/actors/service.hpp"
#include "crust/messages/config.hpp"
#include "crust/messages/errc.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/log.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/asio_headers.hpp"
#include "crust/transport/asio_runtime.hpp"
#include "crust/transport/noise/primitives.hpp"

#include "support/loopback.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <dirent.h>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace crust::test {

using namespace std::chrono_literals;

using clock_type = std::chrono::steady_clock;

/// True in sanitizer builds, where everything runs several times slower.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool under_sanitizer = true;
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
constexpr bool under_sanitizer = true;
#  else
constexpr bool under_sanitizer = false;
#  endif
#else
constexpr bool under_sanitizer = false;
#endif

/// Longest any single wait may take before a test fails.
constexpr caf::timespan max_wait = std::chrono::seconds{30};

/// Milliseconds of a duration, for messages.
template<class Duration>
long long millis(Duration d) {
  return static_cast<long long>(
    std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

/// A real (work-stealing) scheduler, polled as crust's system_config does,
/// with two workers (the machine has two cores), crust's types and error
/// category, CAF's logger silent.
struct service_test_config : system_config {
  service_test_config() {
    set("scheduler.max-threads", 2);
    set("logger.console-verbosity", caf::atom("quiet"));
    set("logger.file-verbosity", caf::atom("quiet"));
  }
};

/// True if `err` is the crust error `code`.
inline bool is(const caf::error& err, errc code) {
  return err.category() == error_category
         && err.code() == static_cast<uint8_t>(code);
}

/// The rendered error of `x`, or "ok": safe in assertion messages, which
/// Boost.Test may render for passing checks too.
template<class T>
std::string why(caf::actor_system& sys, const caf::expected<T>& x) {
  return x ? std::string{"ok"} : sys.render(x.error());
}

/// One line per event, for failure messages.
inline std::string describe(caf::actor_system& sys, const service_event& ev) {
  std::ostringstream out;
  std::visit(
    [&](const auto& x) {
      using type = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<type, listener_started>)
        out << "listener_started " << x.port;
      else if constexpr (std::is_same_v<type, listener_failed>)
        out << "listener_failed: " << sys.render(x.reason);
      else if constexpr (std::is_same_v<type, connect_success>)
        out << "connect_success " << x.peer.short_hex() << " " << x.remote;
      else if constexpr (std::is_same_v<type, connect_failure>)
        out << "connect_failure " << x.peer.short_hex() << ": "
            << sys.render(x.reason);
      else if constexpr (std::is_same_v<type, lost_peer>)
        out << "lost_peer " << x.peer.short_hex() << ": "
            << sys.render(x.reason);
      else if constexpr (std::is_same_v<type, new_message>)
        out << "new_message " << x.peer.short_hex() << " " << x.payload.size()
            << " bytes, priority " << int{x.priority};
      else if constexpr (std::is_same_v<type, peer_misbehaved>)
        out << "peer_misbehaved " << x.peer.short_hex() << ": "
            << sys.render(x.reason);
      else if constexpr (std::is_same_v<type, message_too_large>)
        out << "message_too_large " << x.size;
      else if constexpr (std::is_same_v<type, messages_dropped>)
        out << "messages_dropped: " << x.detail;
      else
        out << "event #" << service_event{x}.index();
    },
    ev);
  return out.str();
}

inline std::string describe(caf::actor_system& sys,
                            const std::optional<service_event>& ev) {
  return ev ? describe(sys, *ev) : std::string{"nothing (timeout)"};
}

/// A fresh random static key pair.
inline noise::keypair fresh_keys() {
  auto kp = noise::keypair::generate();
  BOOST_REQUIRE(kp);
  return *kp;
}

/// `PEERID@host:port`; `host` is "127.0.0.1" or "[::1]".
inline std::string contact_text(const peer_id& id, const std::string& host,
                                uint16_t port) {
  return id.to_hex() + "@" + host + ":" + std::to_string(port);
}

/// Open file descriptors of this process.
inline size_t count_open_fds() {
  size_t n = 0;
  if (auto* dir = opendir("/proc/self/fd")) {
    while (auto* entry = readdir(dir))
      if (entry->d_name[0] != '.')
        ++n;
    closedir(dir);
  }
  return n > 0 ? n - 1 : 0; // minus the directory itself
}

/// Raises the soft limit of open files to the hard limit; returns it.
inline rlim_t raise_fd_limit() {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  getrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

/// Writes `size` bytes at `data` (which must stay valid) to `sock`, then
/// calls `done` (on the socket's io thread). Asio's composed `async_write`
/// is not among the headers crust uses, hence this loop.
template<class Done>
void async_write_all(asio::ip::tcp::socket& sock, const uint8_t* data,
                     size_t size, Done done) {
  if (size == 0) {
    done(std::error_code{});
    return;
  }
  sock.async_write_some(
    asio::buffer(data, size),
    [&sock, data, size, done](std::error_code ec, size_t n) mutable {
      if (ec) {
        done(ec);
        return;
      }
      async_write_all(sock, data + n, size - n, std::move(done));
    });
}

/// Deterministic content: `size` bytes derived from `seed`.
inline std::vector<uint8_t> pattern_bytes(size_t size, uint64_t seed) {
  std::vector<uint8_t> out(size);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& byte : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    byte = static_cast<uint8_t>(x >> 32);
  }
  return out;
}

/// FNV-1a, 64 bits: a cheap content hash for comparing payloads.
inline uint64_t content_hash(const std::vector<uint8_t>& bytes) {
  uint64_t h = 14695981039346656037ull;
  for (auto byte : bytes) {
    h ^= byte;
    h *= 1099511628211ull;
  }
  return h;
}

/// Settings for test nodes: a network of their own and a short handshake
/// deadline, defaults otherwise.
inline node_config test_node_config() {
  node_config cfg;
  cfg.network_name = "crust-integration";
  cfg.handshake_timeout = std::chrono::seconds{5};
  return cfg;
}

/// One SERVICE with a fresh identity and its facade.
struct test_node {
  noise::keypair keys;
  peer_id id;
  service_actor handle;
  std::unique_ptr<blocking_service> api;
  /// The listening port, 0 unless `listen` was called.
  uint16_t port = 0;

  /// Our contact on IPv4 (or, with "[::1]", IPv6) loopback.
  std::string contact(const std::string& host = "127.0.0.1") const {
    return contact_text(id, host, port);
  }

  blocking_service* operator->() {
    return api.get();
  }
};

/// Starts a SERVICE on `io` with `keys` and `cfg`.
inline service_actor start_service(caf::actor_system& sys, asio_runtime& io,
                                   const noise::keypair& keys,
                                   const node_config& cfg) {
  service_config conf;
  conf.node = cfg;
  conf.keys = keys;
  conf.io = &io;
  return spawn_service(sys, std::move(conf));
}

/// Ends a SERVICE and waits (bounded) until it is gone; false on timeout.
inline bool stop_service(caf::actor_system& sys, const service_actor& hdl,
                         caf::timespan timeout = max_wait) {
  if (!hdl)
    return true;
  caf::scoped_actor self{sys, true};
  self->monitor(hdl);
  self->send_exit(hdl, caf::exit_reason::user_shutdown);
  bool down = false;
  self->receive(
    [&](caf::down_msg&) {
      down = true;
    },
    caf::after(timeout) >> [] {});
  return down;
}

/// An io thread, a real actor system and the nodes of one test. Destroyed in
/// reverse order: nodes first, then the actor system (which waits for every
/// actor), then the io thread, so closing sockets still find it.
struct service_fixture {
  asio_runtime io;
  service_test_config cfg;
  caf::actor_system sys{cfg};
  std::vector<std::unique_ptr<test_node>> nodes;

  /// crust's log shows warnings only, unless CRUST_TEST_LOG_LEVEL names
  /// another level (e.g. debug, to see why a test failed).
  service_fixture() {
    auto* level = std::getenv("CRUST_TEST_LOG_LEVEL");
    BOOST_REQUIRE(log::set_level(level != nullptr ? level : "warn"));
    io.start();
  }

  ~service_fixture() {
    for (auto& n : nodes)
      stop_node(*n);
  }

  /// A node that does not listen.
  test_node& add_node(const node_config& conf = test_node_config()) {
    auto n = std::make_unique<test_node>();
    n->keys = fresh_keys();
    n->id = peer_id{n->keys.pub};
    n->handle = start_service(sys, io, n->keys, conf);
    n->api = std::make_unique<blocking_service>(sys, n->handle);
    nodes.emplace_back(std::move(n));
    return *nodes.back();
  }

  /// A node listening on a random port.
  test_node& add_listening_node(const node_config& conf = test_node_config()) {
    auto& n = add_node(conf);
    auto port = n->listen();
    BOOST_REQUIRE_MESSAGE(port, "listen failed: " << why(sys, port));
    n.port = *port;
    return n;
  }

  /// Stops the node's SERVICE (its connections end); idempotent.
  void stop_node(test_node& n) {
    n.api.reset();
    if (n.handle) {
      BOOST_CHECK_MESSAGE(stop_service(sys, n.handle),
                          "service did not stop within " << millis(max_wait)
                                                         << " ms");
      n.handle = nullptr;
    }
  }

  /// `from` connects to `to` at `host`; requires success and takes both
  /// sides' `connect_success` out of their queues.
  void connect(test_node& from, test_node& to,
               const std::string& host = "127.0.0.1") {
    auto res = from->connect(to.contact(host));
    BOOST_REQUIRE_MESSAGE(res, "connect failed: " << why(sys, res));
    BOOST_REQUIRE(*res == to.id);
    auto at_to = to->wait_for<connect_success>(
      [&](const connect_success& x) {
        return x.peer == from.id;
      },
      max_wait);
    BOOST_REQUIRE_MESSAGE(at_to, "no connect_success at the listener");
    auto at_from = from->wait_for<connect_success>(
      [&](const connect_success& x) {
        return x.peer == to.id;
      },
      max_wait);
    BOOST_REQUIRE_MESSAGE(at_from, "no connect_success at the dialler");
  }
};

/// Settings with a short heartbeat (200 ms) and inactivity timeout (1 s).
inline node_config fast_liveness_config() {
  using namespace std::chrono_literals;
  auto cfg = test_node_config();
  cfg.heartbeat_interval = 200ms;
  cfg.inactivity_timeout = 1s;
  return cfg;
}

} // namespace crust::test

// crust rUDP ends of the namespace section: one `rudp::connection` (the
// engine of transport/rudp, real Noise handshake and AEAD) on one UDP
// socket, driven by a small poll loop: datagrams in, datagrams out, the
// engine's next timeout as the poll timeout. The sender keeps at most
// `max_queued` bytes queued in 16 KiB messages of the pattern.

#include "crust/transport/noise/primitives.hpp"
#include "crust/transport/rudp/connection.hpp"

#include "bench_identity.hpp"
#include "netns_posix.hpp"
#include "netns_role.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <time.h>
#include <type_traits>
#include <unistd.h>
#include <variant>
#include <vector>

namespace crust::bench::netns {

namespace {

constexpr size_t message_size = 16 * 1024;
constexpr size_t max_queued = size_t{2} << 20;
const char* network = "crust-bench-netns";

rudp::connection_config make_config(bool initiator, const std::string& cc) {
  rudp::connection_config cfg;
  cfg.channel.side = initiator ? noise::role::initiator
                               : noise::role::responder;
  cfg.channel.local_static = seeded_keys(initiator ? 1 : 2);
  cfg.channel.expected_remote = seeded_keys(initiator ? 2 : 1).pub;
  cfg.channel.network_name = network;
  if (cc == "new_reno")
    cfg.congestion = rudp::congestion_algorithm::new_reno;
  else if (cc.empty() || cc == "loss_tolerant")
    cfg.congestion = rudp::congestion_algorithm::loss_tolerant;
  else
    throw std::runtime_error{"unknown rUDP congestion control " + cc};
  return cfg;
}

void big_buffers(int fd) {
  int size = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/// One connection on one connected UDP socket.
struct driver {
  int fd;
  std::optional<rudp::connection> conn;
  bool connected = false;
  bool closed = false;
  std::string close_reason;
  byte_buffer out;
  std::vector<uint8_t> in = std::vector<uint8_t>(65536);

  explicit driver(int x) : fd(x) {
    // nop
  }

  /// Datagrams the socket holds (at most 512 per call).
  void receive() {
    for (int i = 0; i < 512; ++i) {
      auto n = ::recv(fd, in.data(), in.size(), 0);
      if (n < 0)
        return;
      conn->on_datagram(const_byte_span{in.data(), static_cast<size_t>(n)},
                        clock_type::now());
    }
  }

  /// Datagrams the engine lets out now.
  void transmit() {
    for (int i = 0; i < 1024 && conn->poll_datagram(clock_type::now(), out);
         ++i) {
      for (int attempt = 0; attempt < 50; ++attempt) {
        if (::send(fd, out.data(), out.size(), 0) >= 0)
          break;
        if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
          break; // e.g. ECONNREFUSED: the peer is gone; the engine times out
        wait_fd(fd, POLLOUT, 0.001);
      }
    }
  }

  /// Waits for input or the engine's timer, at most `limit` seconds.
  void wait(double limit) {
    auto now = clock_type::now();
    auto until = now
                 + std::chrono::duration_cast<clock_type::duration>(
                   std::chrono::duration<double>{limit});
    if (auto t = conn->next_timeout(); t && *t < until)
      until = *t;
    if (until <= now) {
      conn->on_timeout(now);
      return;
    }
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(until - now);
    timespec ts{static_cast<time_t>(ns.count() / 1000000000),
                static_cast<long>(ns.count() % 1000000000)};
    pollfd p{fd, POLLIN, 0};
    ::ppoll(&p, 1, &ts, nullptr);
    if (auto t = conn->next_timeout(); t && *t <= clock_type::now())
      conn->on_timeout(clock_type::now());
  }

  /// Handles the engine's events with `on_message`.
  template<class F>
  void events(F&& on_message) {
    while (auto ev = conn->poll_event()) {
      std::visit(
        [&](auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, rudp::connected_event>) {
            connected = true;
          } else if constexpr (std::is_same_v<T, rudp::message_event>) {
            on_message(e.payload);
          } else if constexpr (std::is_same_v<T, rudp::closed_event>) {
            closed = true;
            close_reason = e.reason.message();
          }
        },
        *ev);
    }
  }

  void step(double limit) {
    receive();
    transmit();
    wait(limit);
  }
};

} // namespace

int crust_receive(const role_args& args) {
  fd_guard sock{::socket(AF_INET, SOCK_DGRAM, 0)};
  check(sock.fd >= 0, "socket");
  big_buffers(sock.fd);
  auto addr = ipv4(args.address, args.port);
  check(::bind(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0,
        "bind");
  say("ready");
  auto start = clock_type::now();
  // The first datagram names the sender; the socket then talks to it only.
  while (!stop_requested() && since(start) < args.bound - 2
         && !wait_fd(sock.fd, POLLIN, 0.1)) {
    // nop
  }
  if (!wait_fd(sock.fd, POLLIN, 0))
    throw std::runtime_error{"no datagram from the sender"};
  std::vector<uint8_t> first(65536);
  sockaddr_in from{};
  socklen_t from_len = sizeof(from);
  auto n = ::recvfrom(sock.fd, first.data(), first.size(), 0,
                      reinterpret_cast<sockaddr*>(&from), &from_len);
  check(n >= 0, "recvfrom");
  check(::connect(sock.fd, reinterpret_cast<sockaddr*>(&from), from_len) == 0,
        "connect");
  set_nonblocking(sock.fd);
  driver d{sock.fd};
  auto created = rudp::connection::create(make_config(false, args.cc),
                                          clock_type::now());
  if (!created)
    throw std::runtime_error{"rUDP: " + created.error().message()};
  d.conn.emplace(std::move(*created));
  d.conn->on_datagram(const_byte_span{first.data(), static_cast<size_t>(n)},
                      clock_type::now());
  receive_meter meter{args.warmup, args.seconds};
  // Counts until the window is over, then serves until the sender closes.
  while (!d.closed && !stop_requested() && since(start) < args.bound - 1) {
    d.events([&](const byte_buffer& payload) {
      meter.add(payload.data(), payload.size());
    });
    if (d.closed)
      break;
    d.step(0.05);
  }
  auto& s = d.conn->stats();
  std::string out = "result " + meter.summary();
  out += " " + field("datagrams_received", s.datagrams_received);
  out += " " + field("dropped_total", s.dropped_total());
  say(out);
  return 0;
}

int crust_send(const role_args& args) {
  fd_guard sock{::socket(AF_INET, SOCK_DGRAM, 0)};
  check(sock.fd >= 0, "socket");
  big_buffers(sock.fd);
  auto addr = ipv4(args.address, args.port);
  check(::connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
          == 0,
        "connect");
  set_nonblocking(sock.fd);
  driver d{sock.fd};
  auto created = rudp::connection::create(make_config(true, args.cc),
                                          clock_type::now());
  if (!created)
    throw std::runtime_error{"rUDP: " + created.error().message()};
  d.conn.emplace(std::move(*created));
  stream_pattern pattern;
  uint64_t offset = 0;
  auto start = clock_type::now();
  auto ignore = [](const byte_buffer&) {};
  while (!d.closed && since(start) < args.send_seconds) {
    d.events(ignore);
    for (int i = 0;
         i < 256 && d.connected && d.conn->queued_bytes() < max_queued; ++i) {
      byte_buffer msg(pattern.at(offset), pattern.at(offset) + message_size);
      if (!d.conn->send(1, std::move(msg), clock_type::now()))
        break;
      offset += message_size;
    }
    d.step(0.05);
  }
  if (!d.connected)
    throw std::runtime_error{"rUDP: no handshake"
                             + (d.closed ? ": " + d.close_reason : "")};
  auto s = d.conn->stats();
  std::string out = "result " + field("sent_bytes", offset);
  out += " " + field("unique_bytes", s.stream_bytes_sent);
  out += " " + field("retransmitted_bytes", s.stream_bytes_retransmitted);
  out += " " + field("packets_sent", s.packets_sent);
  out += " " + field("packets_lost", s.packets_lost);
  out += " " + field("packets_lost_by_time", s.packets_lost_by_time);
  out += " " + field("probe_timeouts", s.probe_timeouts);
  out += " " + field("mtu", static_cast<uint64_t>(d.conn->mtu()));
  // PTOs per lost packet, at most 1: the engine does not count which losses
  // a PTO found (it detects every loss by the packet or time threshold).
  double share = s.packets_lost > 0 ? static_cast<double>(s.probe_timeouts)
                                        / static_cast<double>(s.packets_lost)
                                    : 0.0;
  out += " " + field("timeout_share", share > 1 ? 1.0 : share);
  if (d.closed)
    out += " early_close=1";
  say(out);
  // A graceful close, bounded: the receiver learns that we are done.
  if (!d.closed) {
    d.conn->close(clock_type::now());
    auto t = clock_type::now();
    while (!d.closed && since(t) < 1.0) {
      d.events(ignore);
      d.step(0.02);
    }
  }
  return 0;
}

} // namespace crust::bench::netns

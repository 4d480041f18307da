#include "rudp_loopback_pair.hpp"

#include "crust/actors/udp_endpoint.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/asio_runtime.hpp"

#include "bench_identity.hpp"
#include "stream_baselines.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace crust::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// No single step of the benchmark waits longer.
constexpr auto max_wait = std::chrono::seconds{30};

/// The sender stops queuing while the session holds more than this.
constexpr uint64_t max_queued = uint64_t{8} << 20;

const char* network = "crust-bench-rudp";

/// The choices both ends share.
struct pair_settings {
  rudp::congestion_algorithm congestion;
  noise::cipher_kind cipher;
};

udp_endpoint_config endpoint_config(const noise::keypair& keys,
                                    const pair_settings& both) {
  udp_endpoint_config ec;
  ec.bind_addresses = {"127.0.0.1"};
  ec.session.connection.local_static = keys;
  ec.session.connection.network_name = network;
  // Both ends alike (the fork copies the choice).
  ec.session.engine.congestion = both.congestion;
  ec.session.connection.cipher = both.cipher;
  // CRUST_BENCH_UDP_GSO=1: UDP GSO on the sockets, for a figure reported
  // apart from the default one (docs/performance.md section 2.5).
  if (const char* gso = std::getenv("CRUST_BENCH_UDP_GSO"))
    ec.socket.gso = std::string{gso} == "1";
  return ec;
}

void write_line(int fd, const std::string& line) {
  auto text = line + "\n";
  size_t pos = 0;
  while (pos < text.size()) {
    auto n = ::write(fd, text.data() + pos, text.size() - pos);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    pos += static_cast<size_t>(n);
  }
}

/// One line from `fd` within `limit`; none on timeout or end of file.
std::optional<std::string> read_line(int fd, std::chrono::seconds limit) {
  std::string out;
  auto deadline = clock_type::now() + limit;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (left.count() <= 0)
      return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    auto r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return std::nullopt;
    char c = 0;
    auto n = ::read(fd, &c, 1);
    if (n <= 0)
      return std::nullopt;
    if (c == '\n')
      return out;
    out += c;
  }
}

/// The child: accepts one session and reports, per round, the payload
/// bytes that arrived before the empty end marker and its CPU time since
/// the last report.
int serve(int to_parent, int rounds, const pair_settings& both) {
  asio_runtime io;
  io.start();
  quiet_system_config cfg;
  int rc = 0;
  {
    caf::actor_system sys{cfg};
    caf::scoped_actor sink{sys};
    auto ec = endpoint_config(seeded_keys(2), both);
    ec.accept = true;
    ec.acceptor = caf::actor_cast<connection_sink_actor>(sink);
    auto ep = spawn_udp_endpoint(sys, io, std::move(ec));
    if (!ep) {
      write_line(to_parent, "error " + ep.error().message());
      return 1;
    }
    std::string address;
    sink->request(*ep, max_wait, atom::get_v, atom::address_v)
      .receive(
        [&](std::vector<std::string>& xs) {
          address = xs.at(0);
        },
        [&](caf::error&) {});
    write_line(to_parent, "address " + address);
    uint64_t bytes = 0;
    auto cpu = process_cpu_seconds();
    for (int round = 0; round < rounds && rc == 0;) {
      bool got = false;
      sink->receive(
        [&](new_message& m) {
          got = true;
          if (!m.payload.empty()) {
            bytes += m.payload.size();
            return;
          }
          auto now_cpu = process_cpu_seconds();
          write_line(to_parent, "round " + std::to_string(bytes) + " "
                                  + std::to_string(now_cpu - cpu));
          bytes = 0;
          cpu = now_cpu;
          ++round;
        },
        [&](authenticated&) {
          // The owner's part of the choice (wire-protocol.md §5.1).
          sink->send(caf::actor_cast<connection_actor>(sink->current_sender()),
                     atom::choose_v);
          got = true;
        },
        [&](established&) {
          got = true;
        },
        [&](lost_peer&) {
          rc = 1;
        },
        [&](messages_dropped&) {
          got = true;
        },
        caf::after(std::chrono::seconds{60}) >>
          [&] {
            rc = 1;
          });
      if (!got && rc == 0)
        rc = 1;
    }
    caf::anon_send_exit(*ep, caf::exit_reason::user_shutdown);
  }
  io.stop();
  return rc;
}

} // namespace

struct rudp_loopback_pair::impl {
  pid_t child = -1;
  int from_child = -1;
  int rounds_left = 0;
  bool finished = false;
  std::optional<asio_runtime> io;
  std::optional<quiet_system_config> cfg;
  std::optional<caf::actor_system> sys;
  std::optional<caf::scoped_actor> self;
  udp_endpoint_actor endpoint;
  connection_actor session;

  ~impl() {
    if (endpoint)
      caf::anon_send_exit(endpoint, caf::exit_reason::user_shutdown);
    self.reset();
    sys.reset();
    if (io)
      io->stop();
    if (from_child >= 0)
      ::close(from_child);
    if (child > 0) {
      // A failed run leaves the receiver waiting for rounds that never
      // come.
      if (!finished)
        ::kill(child, SIGTERM);
      int status = 0;
      ::waitpid(child, &status, 0);
    }
  }
};

rudp_loopback_pair::rudp_loopback_pair(int rounds,
                                       rudp::congestion_algorithm congestion,
                                       noise::cipher_kind cipher)
  : impl_(std::make_unique<impl>()) {
  pair_settings both{congestion, cipher};
  int fds[2];
  if (::pipe(fds) != 0)
    throw std::runtime_error{std::string{"pipe: "} + std::strerror(errno)};
  auto pid = ::fork();
  if (pid < 0)
    throw std::runtime_error{std::string{"fork: "} + std::strerror(errno)};
  if (pid == 0) {
    ::close(fds[0]);
    auto rc = serve(fds[1], rounds, both);
    ::close(fds[1]);
    std::_Exit(rc);
  }
  ::close(fds[1]);
  impl_->child = pid;
  impl_->from_child = fds[0];
  impl_->rounds_left = rounds;
  auto line = read_line(fds[0], max_wait);
  if (!line || line->rfind("address ", 0) != 0)
    throw std::runtime_error{"the rUDP receiver did not start: "
                             + line.value_or("no answer")};
  auto remote = line->substr(8);
  auto& d = *impl_;
  d.io.emplace();
  d.io->start();
  d.cfg.emplace();
  d.sys.emplace(*d.cfg);
  d.self.emplace(*d.sys);
  auto ep = spawn_udp_endpoint(*d.sys, *d.io,
                               endpoint_config(seeded_keys(1), both));
  if (!ep)
    throw std::runtime_error{"UDP endpoint: " + ep.error().message()};
  d.endpoint = *ep;
  auto& self = *d.self;
  auto sink = caf::actor_cast<connection_sink_actor>(self);
  std::string failure;
  self
    ->request(d.endpoint, max_wait, atom::connect_v, remote,
              peer_id{seeded_keys(2).pub}, sink)
    .receive(
      [&](connection_actor& s) {
        d.session = s;
      },
      [&](caf::error& err) {
        failure = d.sys->render(err);
      });
  if (!d.session)
    throw std::runtime_error{"rUDP connect: " + failure};
  bool up = false;
  while (!up) {
    bool got = false;
    self->receive(
      [&](authenticated&) {
        // The owner's part of the choice (wire-protocol.md §5.1).
        self->send(caf::actor_cast<connection_actor>(self->current_sender()),
                   atom::choose_v);
        got = true;
      },
      [&](established&) {
        got = up = true;
      },
      caf::after(max_wait) >> [] {});
    if (!got)
      throw std::runtime_error{"rUDP handshake: no answer"};
  }
}

rudp_loopback_pair::~rudp_loopback_pair() {
  // nop: impl's destructor ends the actors, then waits for the child
}

side_figures
rudp_loopback_pair::transfer(size_t message_size,
                             std::chrono::duration<double> budget) {
  auto& d = *impl_;
  auto& self = *d.self;
  byte_buffer message(message_size, 0x5a);
  auto cpu = process_cpu_seconds();
  auto start = clock_type::now();
  auto send = [&](byte_buffer bytes) {
    uint64_t queued = 0;
    bool ok = false;
    std::string why;
    self->request(d.session, max_wait, atom::send_v, uint8_t{1}, bytes)
      .receive(
        [&](uint64_t q) {
          queued = q;
          ok = true;
        },
        [&](caf::error& err) {
          why = d.sys->render(err);
        });
    if (!ok)
      throw std::runtime_error{"rUDP send: " + why};
    return queued;
  };
  auto queued_now = [&] {
    uint64_t queued = 0;
    self->request(d.session, max_wait, atom::get_v, atom::stats_v)
      .receive(
        [&](connection_stats& s) {
          queued = s.queued_bytes;
        },
        [&](caf::error&) {});
    return queued;
  };
  while (clock_type::now() - start < budget) {
    auto queued = send(message);
    while (queued > max_queued && clock_type::now() - start < budget) {
      // A benchmark may pause: the session drains meanwhile.
      std::this_thread::sleep_for(std::chrono::microseconds{200});
      queued = queued_now();
    }
  }
  send(byte_buffer{});
  auto line = read_line(d.from_child, max_wait);
  std::chrono::duration<double> took = clock_type::now() - start;
  if (!line || line->rfind("round ", 0) != 0)
    throw std::runtime_error{"the rUDP receiver did not report: "
                             + line.value_or("no answer")};
  side_figures out;
  unsigned long long bytes = 0;
  double child_cpu = 0;
  if (std::sscanf(line->c_str(), "round %llu %lf", &bytes, &child_cpu) != 2)
    throw std::runtime_error{"the rUDP receiver said: " + *line};
  out.bytes = bytes;
  out.seconds = took.count();
  d.finished = --d.rounds_left == 0;
  out.sender_cpu_seconds = process_cpu_seconds() - cpu;
  out.receiver_cpu_seconds = child_cpu;
  queued_now();
  return out;
}

} // namespace crust::bench

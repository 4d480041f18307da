// Linux TCP ends of the namespace section: one connection, the congestion
// control set per socket (TCP_CONGESTION), 64 KiB writes of the pattern.

#include "netns_posix.hpp"
#include "netns_role.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace crust::bench::netns {

namespace {

/// TCP counters of this network namespace (/proc/net is the reader's).
struct tcp_counters {
  uint64_t retrans_segs = 0;
  uint64_t timeouts = 0;
  uint64_t fast_retrans = 0;
  uint64_t loss_probes = 0;
  uint64_t slow_start_retrans = 0;
};

tcp_counters read_tcp_counters() {
  auto snmp = read_proc_table("/proc/net/snmp");
  auto ext = read_proc_table("/proc/net/netstat");
  auto get = [](const proc_table& t, const char* key) -> uint64_t {
    auto i = t.find(key);
    return i == t.end() ? 0 : i->second;
  };
  tcp_counters out;
  out.retrans_segs = get(snmp, "Tcp.RetransSegs");
  out.timeouts = get(ext, "TcpExt.TCPTimeouts");
  out.fast_retrans = get(ext, "TcpExt.TCPFastRetrans");
  out.loss_probes = get(ext, "TcpExt.TCPLossProbes");
  out.slow_start_retrans = get(ext, "TcpExt.TCPSlowStartRetrans");
  return out;
}

} // namespace

int tcp_receive(const role_args& args) {
  fd_guard listener{::socket(AF_INET, SOCK_STREAM, 0)};
  check(listener.fd >= 0, "socket");
  int one = 1;
  ::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  auto addr = ipv4(args.address, args.port);
  check(::bind(listener.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
          == 0,
        "bind");
  check(::listen(listener.fd, 4) == 0, "listen");
  say("ready");
  auto start = clock_type::now();
  while (!stop_requested() && since(start) < args.bound - 2
         && !wait_fd(listener.fd, POLLIN, 0.1)) {
    // nop
  }
  if (!wait_fd(listener.fd, POLLIN, 0))
    throw std::runtime_error{"no connection"};
  fd_guard conn{::accept(listener.fd, nullptr, nullptr)};
  check(conn.fd >= 0, "accept");
  set_nonblocking(conn.fd);
  receive_meter meter{args.warmup, args.seconds};
  std::vector<uint8_t> buf(256 * 1024);
  bool eof = false;
  // Counts until the window is over, then drains until the sender is done.
  while (!eof && !stop_requested() && since(start) < args.bound - 1) {
    if (!wait_fd(conn.fd, POLLIN, 0.1))
      continue;
    for (int i = 0; i < 64; ++i) {
      auto n = ::recv(conn.fd, buf.data(), buf.size(), 0);
      if (n > 0) {
        meter.add(buf.data(), static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR))
        eof = true;
      break;
    }
  }
  say("result " + meter.summary());
  return 0;
}

int tcp_send(const role_args& args) {
  fd_guard sock{::socket(AF_INET, SOCK_STREAM, 0)};
  check(sock.fd >= 0, "socket");
  if (!args.cc.empty()
      && ::setsockopt(sock.fd, IPPROTO_TCP, TCP_CONGESTION, args.cc.data(),
                      static_cast<socklen_t>(args.cc.size()))
           != 0)
    throw std::runtime_error{"TCP_CONGESTION " + args.cc + ": "
                             + std::strerror(errno)};
  auto before = read_tcp_counters();
  set_nonblocking(sock.fd);
  auto addr = ipv4(args.address, args.port);
  auto rc = ::connect(sock.fd, reinterpret_cast<sockaddr*>(&addr),
                      sizeof(addr));
  check(rc == 0 || errno == EINPROGRESS, "connect");
  if (!wait_fd(sock.fd, POLLOUT, 10))
    throw std::runtime_error{"connect: timeout"};
  int err = 0;
  socklen_t len = sizeof(err);
  ::getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0)
    throw std::runtime_error{std::string{"connect: "} + std::strerror(err)};
  stream_pattern pattern;
  uint64_t offset = 0;
  auto start = clock_type::now();
  while (since(start) < args.send_seconds) {
    if (!wait_fd(sock.fd, POLLOUT, 0.1))
      continue;
    auto n = ::send(sock.fd, pattern.at(offset), stream_pattern::max_piece,
                    MSG_NOSIGNAL);
    if (n > 0)
      offset += static_cast<uint64_t>(n);
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
      break; // the receiver is gone
  }
  tcp_info info{};
  len = sizeof(info);
  ::getsockopt(sock.fd, IPPROTO_TCP, TCP_INFO, &info, &len);
  auto after = read_tcp_counters();
  auto retrans = after.retrans_segs - before.retrans_segs;
  auto fast = after.fast_retrans - before.fast_retrans;
  std::string out = "result " + field("sent_bytes", offset);
  out += " "
         + field("unique_bytes",
                 static_cast<uint64_t>(info.tcpi_bytes_sent
                                       - info.tcpi_bytes_retrans));
  out += " "
         + field("retransmitted_bytes",
                 static_cast<uint64_t>(info.tcpi_bytes_retrans));
  out += " " + field("retransmitted_packets", retrans);
  // Segments resent by a timer (RTO and what followed in the Loss state, or
  // a tail loss probe) rather than by fast retransmit / RACK.
  out += " "
         + field("timer_retransmitted_packets",
                 retrans > fast ? retrans - fast : uint64_t{0});
  out += " "
         + field("timeout_share",
                 retrans > 0
                   ? static_cast<double>(retrans > fast ? retrans - fast : 0)
                       / static_cast<double>(retrans)
                   : 0.0);
  out += " " + field("rto_count", after.timeouts - before.timeouts);
  out += " " + field("loss_probes", after.loss_probes - before.loss_probes);
  out += " " + field("fast_retransmits", fast);
  say(out);
  ::shutdown(sock.fd, SHUT_WR);
  return 0;
}

} // namespace crust::bench::netns

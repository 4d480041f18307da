#include "rudp_udp_blast.hpp"

#include "loopback_socket.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <time.h>
#include <vector>

namespace crust::bench {

namespace {

using clock_type = std::chrono::steady_clock;

socket_fd bound_udp_socket(sockaddr_in& addr) {
  socket_fd fd{::socket(AF_INET, SOCK_DGRAM, 0)};
  if (!fd)
    throw std::runtime_error{std::string{"UDP socket: "}
                             + std::strerror(errno)};
  int size = 4 * 1024 * 1024; // as crust's UDP sockets ask for
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error{std::string{"UDP bind: "} + std::strerror(errno)};
  return fd;
}

} // namespace

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

side_figures udp_blast(size_t datagram_size,
                       std::chrono::duration<double> budget) {
  sockaddr_in rx_addr{};
  sockaddr_in tx_addr{};
  auto rx = bound_udp_socket(rx_addr);
  auto tx = bound_udp_socket(tx_addr);
  // The receiver stops once nothing arrived for this long after the end.
  timeval idle{0, 200000};
  ::setsockopt(rx.get(), SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
  side_figures out;
  std::atomic<bool> sending{true};
  clock_type::time_point last_arrival;
  std::thread receiver{[&] {
    std::vector<char> buf(65536);
    auto cpu = thread_cpu_seconds();
    for (;;) {
      auto n = ::recv(rx.get(), buf.data(), buf.size(), 0);
      if (n > 0) {
        out.bytes += static_cast<uint64_t>(n);
        last_arrival = clock_type::now();
        continue;
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (!sending.load())
        break; // timed out after the sender stopped
    }
    out.receiver_cpu_seconds = thread_cpu_seconds() - cpu;
  }};
  std::vector<char> datagram(datagram_size, 'x');
  auto cpu = thread_cpu_seconds();
  auto start = clock_type::now();
  while (clock_type::now() - start < budget)
    for (int i = 0; i < 64; ++i)
      ::sendto(tx.get(), datagram.data(), datagram.size(), 0,
               reinterpret_cast<const sockaddr*>(&rx_addr), sizeof(rx_addr));
  out.sender_cpu_seconds = thread_cpu_seconds() - cpu;
  sending = false;
  receiver.join();
  std::chrono::duration<double> took = last_arrival - start;
  out.seconds = took.count();
  return out;
}

} // namespace crust::bench

#include "loopback_socket.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace crust::bench {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

sockaddr_in loopback_address(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

bool is_tcp_socket(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
    return false;
  int protocol = 0;
  socklen_t len = sizeof(protocol);
  return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) == 0
         && protocol == IPPROTO_TCP;
}

/// Calls `f(fd)` for every open descriptor of this process that is a TCP
/// socket. Descriptors may close meanwhile (other threads own them): `f`
/// must tolerate failing calls.
template<class F>
void for_each_tcp_socket(F&& f) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr)
    fail("opendir /proc/self/fd");
  int own = dirfd(dir);
  while (auto* entry = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == own)
      continue;
    if (is_tcp_socket(static_cast<int>(fd)))
      f(static_cast<int>(fd));
  }
  closedir(dir);
}

} // namespace

socket_fd& socket_fd::operator=(socket_fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

socket_fd::~socket_fd() {
  if (fd_ >= 0)
    ::close(fd_);
}

void set_congestion_control(int fd, const std::string& algorithm) {
  if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, algorithm.data(),
                 static_cast<socklen_t>(algorithm.size()))
      != 0)
    fail("setsockopt TCP_CONGESTION " + algorithm);
}

std::string congestion_control(int fd) {
  char name[32] = {};
  socklen_t len = sizeof(name) - 1;
  if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len) != 0)
    return {};
  return std::string{name, strnlen(name, len)};
}

loopback_listener listen_loopback(const std::string& algorithm) {
  socket_fd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (!fd)
    fail("socket");
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  set_congestion_control(fd.get(), algorithm);
  auto addr = loopback_address(0);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    fail("bind 127.0.0.1:0");
  if (::listen(fd.get(), 1024) != 0)
    fail("listen");
  socklen_t len = sizeof(addr);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    fail("getsockname");
  return {std::move(fd), ntohs(addr.sin_port)};
}

socket_fd accept_pinned(const loopback_listener& listener,
                        const std::string& algorithm) {
  for (;;) {
    socket_fd fd{::accept4(listener.fd.get(), nullptr, nullptr, SOCK_CLOEXEC)};
    if (fd) {
      set_congestion_control(fd.get(), algorithm);
      return fd;
    }
    if (errno != EINTR)
      fail("accept");
  }
}

socket_fd connect_loopback(uint16_t port, const std::string& algorithm) {
  socket_fd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (!fd)
    fail("socket");
  set_congestion_control(fd.get(), algorithm);
  auto addr = loopback_address(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
      != 0)
    fail("connect 127.0.0.1:" + std::to_string(port));
  return fd;
}

size_t pin_process_tcp_sockets(const std::string& algorithm) {
  for_each_tcp_socket([&](int fd) {
    if (congestion_control(fd) != algorithm)
      setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, algorithm.data(),
                 static_cast<socklen_t>(algorithm.size()));
  });
  return census_process_tcp_sockets(algorithm).pinned;
}

socket_census census_process_tcp_sockets(const std::string& algorithm) {
  socket_census result;
  for_each_tcp_socket([&](int fd) {
    ++result.tcp;
    if (congestion_control(fd) == algorithm)
      ++result.pinned;
  });
  return result;
}

bool write_all(int fd, const void* data, size_t len) {
  auto* p = static_cast<const char*>(data);
  while (len > 0) {
    auto n = ::send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

} // namespace crust::bench

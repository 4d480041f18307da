#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

/// Blocking loopback TCP sockets for the baselines of `crust-bench tcp`, with
/// the congestion control pinned on every socket (TCP_CONGESTION): on this
/// kind of host the default (BBR) paces loopback to a third of what CUBIC
/// reaches, so an unpinned figure says more about the host than about crust.
namespace crust::bench {

/// Owns one file descriptor.
class socket_fd {
public:
  socket_fd() = default;
  explicit socket_fd(int fd) noexcept : fd_(fd) {
  }
  socket_fd(socket_fd&& other) noexcept : fd_(other.release()) {
  }
  socket_fd& operator=(socket_fd&& other) noexcept;
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  ~socket_fd();

  int get() const noexcept {
    return fd_;
  }

  explicit operator bool() const noexcept {
    return fd_ >= 0;
  }

  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

private:
  int fd_ = -1;
};

/// Sets TCP_CONGESTION on `fd`; throws `std::runtime_error` naming the
/// algorithm and the reason if the kernel refuses (e.g. not loaded, or not
/// allowed without CAP_NET_ADMIN).
void set_congestion_control(int fd, const std::string& algorithm);

/// The congestion control `fd` uses.
std::string congestion_control(int fd);

/// A listening socket on 127.0.0.1 with a random port; the congestion control
/// is set on it, so accepted sockets inherit it (and get it set again).
struct loopback_listener {
  socket_fd fd;
  uint16_t port = 0;
};

loopback_listener listen_loopback(const std::string& algorithm);

/// Accepts one connection (blocking) and pins its congestion control.
socket_fd accept_pinned(const loopback_listener& listener,
                        const std::string& algorithm);

/// Connects to 127.0.0.1:`port` (blocking); the congestion control is set
/// before the SYN goes out.
socket_fd connect_loopback(uint16_t port, const std::string& algorithm);

/// Sets the congestion control on every TCP socket this process has open
/// (found through /proc/self/fd). crust's sockets are created inside its
/// transport, which offers no hook for the option; this reaches them from
/// outside. Returns the number of TCP sockets that now use `algorithm`.
size_t pin_process_tcp_sockets(const std::string& algorithm);

/// Counts this process's TCP sockets, and those using `algorithm`.
struct socket_census {
  size_t tcp = 0;
  size_t pinned = 0;
};

socket_census census_process_tcp_sockets(const std::string& algorithm);

/// Writes all of `len` bytes (blocking); false if the peer is gone.
bool write_all(int fd, const void* data, size_t len);

} // namespace crust::bench

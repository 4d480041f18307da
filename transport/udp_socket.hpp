#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/asio_headers.hpp"
#include "crust/transport/byte_span.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace crust {

/// Datagrams with their peer addresses: what a `udp_socket` receives in one
/// go, or what a session sends in one go. Moved between the io thread and
/// actors as `std::shared_ptr<datagram_batch>` (one message per batch).
struct datagram_batch {
  struct datagram {
    asio::ip::udp::endpoint peer;
    byte_buffer bytes;
  };
  std::vector<datagram> items;
};

/// Settings of one UDP socket.
struct udp_socket_config {
  /// Datagrams a receive hands over in one batch at most.
  size_t max_batch = 64;
  /// SO_RCVBUF and SO_SNDBUF asked for (the kernel may cap them): a burst
  /// of a paced window must fit, or it is lost before the engine sees it.
  int buffer_bytes = 4 * 1024 * 1024;
  /// Hand runs of equal-sized datagrams to one peer to the kernel as one
  /// UDP GSO super-packet (Linux UDP_SEGMENT), cutting the sender's cost per
  /// datagram. Off by default: on loopback the super-packet is never split
  /// and would flatter a benchmark (docs/performance.md section 2.5). Turned
  /// off by itself when the kernel refuses.
  bool gso = false;
};

/// One bound UDP socket on the io thread (caf-0.17.md section 5). It reads
/// datagrams and hands them, batched, to a callback on the io thread (which
/// should only `caf::anon_send` them to the owning actor); `send` is
/// thread-safe and posts to the io thread. On Linux a batch costs one
/// `recvmmsg` or `sendmmsg` call rather than one call per datagram. Held by
/// `shared_ptr`: pending operations keep it alive.
class udp_socket : public std::enable_shared_from_this<udp_socket> {
public:
  using receive_handler = std::function<void(std::shared_ptr<datagram_batch>)>;

  /// Binds `local` (port 0 picks one). IPv6 sockets are IPv6 only, so that
  /// an IPv4 socket can share the port number. Fails with
  /// `errc::socket_failure`. Call before the io thread runs or from any
  /// thread before `start`.
  static expected<std::shared_ptr<udp_socket>>
  open(asio::io_context& ctx, const asio::ip::udp::endpoint& local,
       udp_socket_config cfg = {});

  udp_socket(asio::io_context& ctx, udp_socket_config cfg);
  ~udp_socket();
  udp_socket(const udp_socket&) = delete;
  udp_socket& operator=(const udp_socket&) = delete;

  /// The bound address and port.
  const asio::ip::udp::endpoint& local() const noexcept {
    return local_;
  }

  /// Starts reading. Call once.
  void start(receive_handler on_receive);

  /// Sends every datagram of `batch` to its peer, in order. A full socket
  /// buffer drops the datagram (the sender's loss recovery resends it).
  void send(std::shared_ptr<datagram_batch> batch);

  /// What was sent so far (any thread).
  uint64_t datagrams_sent() const noexcept {
    return datagrams_sent_.load(std::memory_order_relaxed);
  }
  uint64_t bytes_sent() const noexcept {
    return bytes_sent_.load(std::memory_order_relaxed);
  }
  uint64_t send_errors() const noexcept {
    return send_errors_.load(std::memory_order_relaxed);
  }

  /// Whether sends currently use UDP GSO (any thread).
  bool gso_active() const noexcept {
    return gso_.load(std::memory_order_relaxed);
  }

  /// Stops reading and closes the socket; drops the handler.
  void close();

private:
  struct batch_io;

  status bind(const asio::ip::udp::endpoint& local);
  void receive();
  void on_readable(const std::error_code& ec);
  void read_batch(datagram_batch& out);
  void write_batch(const datagram_batch& batch);

  asio::ip::udp::socket sock_;
  asio::ip::udp::endpoint local_;
  udp_socket_config cfg_;
  receive_handler handler_;
  /// System-call scratch space (io thread only).
  std::unique_ptr<batch_io> io_;
  bool closed_ = false;
  std::atomic<bool> gso_{false};
  std::atomic<uint64_t> datagrams_sent_{0};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> send_errors_{0};
};

/// Parses "a.b.c.d:port" or "[v6]:port" (numeric addresses only); fails
/// with `errc::bad_address`.
expected<asio::ip::udp::endpoint> parse_udp_endpoint(std::string_view text);

/// "a.b.c.d:port" or "[v6]:port".
std::string to_text(const asio::ip::udp::endpoint& ep);

} // namespace crust

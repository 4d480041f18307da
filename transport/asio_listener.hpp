#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/asio_headers.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace crust {

/// "a.b.c.d:port" or "[v6]:port"; IPv4-mapped IPv6 addresses (what a
/// dual-stack socket reports for IPv4 peers) are shown as IPv4.
std::string to_string(const asio::ip::tcp::endpoint& ep);

/// A TCP acceptor on every local address: dual-stack `[::]:port` where the
/// system allows, else `0.0.0.0:port`. Hands every accepted socket to a
/// callback on the io thread (the callback typically `anon_send`s to the
/// owning actor). Held by `shared_ptr`: pending operations keep it alive.
class tcp_listener : public std::enable_shared_from_this<tcp_listener> {
public:
  /// Receives each accepted connection, on the io thread.
  using accept_handler = std::function<void(asio::ip::tcp::socket)>;

  /// Opens, binds and listens at once (so `port()` is known on return), on
  /// the calling thread: call it before the io thread runs or from the io
  /// thread. `port` 0 picks a free port. Fails with `errc::socket_failure`
  /// naming the port and the reason (e.g. "address already in use").
  static expected<std::shared_ptr<tcp_listener>>
  open(asio::io_context& ctx, uint16_t port, accept_handler on_accept);

  tcp_listener(asio::io_context& ctx, accept_handler on_accept);

  /// The bound port.
  uint16_t port() const noexcept {
    return port_;
  }

  /// True if bound to `[::]` accepting IPv4 as well.
  bool dual_stack() const noexcept {
    return dual_stack_;
  }

  /// Starts accepting (posted to the io thread). Thread-safe.
  void start();

  /// Stops accepting and closes the acceptor (posted to the io thread);
  /// pending accepts complete with `operation_aborted`. Thread-safe.
  void close();

private:
  void do_accept();

  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  accept_handler on_accept_;
  uint16_t port_ = 0;
  bool dual_stack_ = false;
  bool closed_ = false;
};

} // namespace crust

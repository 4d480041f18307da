#include "crust/transport/asio_listener.hpp"

#include "crust/messages/log.hpp"

#include <chrono>
#include <system_error>

namespace crust {

namespace {

/// Pause before accepting again after a failure such as "too many open
/// files", so that the loop does not spin.
constexpr auto accept_retry_delay = std::chrono::milliseconds(100);

failure listen_error(uint16_t port, const std::string& what,
                     const std::error_code& ec) {
  return {errc::socket_failure, "cannot listen on TCP port "
                                  + std::to_string(port) + " (" + what
                                  + "): " + ec.message()};
}

/// Opens, binds and listens on `ep`; `dual` asks for IPv4 on an IPv6 socket.
std::error_code bind_and_listen(asio::ip::tcp::acceptor& acc,
                                const asio::ip::tcp::endpoint& ep, bool dual,
                                std::string& step) {
  std::error_code ec;
  step = "open";
  acc.open(ep.protocol(), ec);
  if (ec)
    return ec;
  if (dual) {
    step = "dual-stack";
    acc.set_option(asio::ip::v6_only(false), ec);
    if (ec) {
      acc.close();
      return ec;
    }
  }
  step = "reuse address";
  acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) {
    step = "bind";
    acc.bind(ep, ec);
  }
  if (!ec) {
    step = "listen";
    acc.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    std::error_code ignored;
    acc.close(ignored);
  }
  return ec;
}

} // namespace

std::string to_string(const asio::ip::tcp::endpoint& ep) {
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  auto port = std::to_string(ep.port());
  if (addr.is_v6())
    return "[" + addr.to_string() + "]:" + port;
  return addr.to_string() + ":" + port;
}

tcp_listener::tcp_listener(asio::io_context& ctx, accept_handler on_accept)
  : acceptor_(ctx), retry_timer_(ctx), on_accept_(std::move(on_accept)) {
  // nop
}

expected<std::shared_ptr<tcp_listener>>
tcp_listener::open(asio::io_context& ctx, uint16_t port,
                   accept_handler on_accept) {
  auto result = std::make_shared<tcp_listener>(ctx, std::move(on_accept));
  auto& acc = result->acceptor_;
  std::string step;
  // Dual-stack first; IPv4 only where IPv6 is missing or cannot take IPv4.
  auto ec = bind_and_listen(acc, {asio::ip::tcp::v6(), port}, true, step);
  if (!ec) {
    result->dual_stack_ = true;
  } else {
    auto v6_error = ec;
    auto v6_step = step;
    ec = bind_and_listen(acc, {asio::ip::tcp::v4(), port}, false, step);
    if (ec) {
      // Report the IPv6 failure if IPv6 exists at all: it is the primary.
      if (v6_error != asio::error::address_family_not_supported)
        return listen_error(port, v6_step, v6_error);
      return listen_error(port, step, ec);
    }
    log::debug("TCP listener: no dual-stack socket ({}: {}), IPv4 only",
               v6_step, v6_error.message());
  }
  std::error_code local_ec;
  auto local = acc.local_endpoint(local_ec);
  if (local_ec)
    return listen_error(port, "local endpoint", local_ec);
  result->port_ = local.port();
  return result;
}

void tcp_listener::start() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    self->do_accept();
  });
}

void tcp_listener::close() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    self->closed_ = true;
    std::error_code ignored;
    self->retry_timer_.cancel();
    self->acceptor_.close(ignored);
  });
}

void tcp_listener::do_accept() {
  if (closed_)
    return;
  acceptor_.async_accept([self = shared_from_this()](
                           std::error_code ec, asio::ip::tcp::socket sock) {
    if (ec == asio::error::operation_aborted || self->closed_)
      return; // the normal end of a close()
    if (ec) {
      log::warn("TCP listener on port {}: accept failed: {}", self->port_,
                ec.message());
      self->retry_timer_.expires_after(accept_retry_delay);
      self->retry_timer_.async_wait([self](std::error_code timer_ec) {
        if (!timer_ec)
          self->do_accept();
      });
      return;
    }
    self->on_accept_(std::move(sock));
    self->do_accept();
  });
}

} // namespace crust

#include "crust/transport/udp_socket.hpp"

#include <charconv>
#include <system_error>
#include <utility>

namespace crust {

namespace {

using udp = asio::ip::udp;

/// Largest UDP payload; rUDP datagrams are at most 1452 bytes, but a
/// datagram of any size must be read whole to be counted and dropped.
constexpr size_t max_datagram = 65536;

failure socket_error(const std::string& step, const std::error_code& ec) {
  return {errc::socket_failure, "UDP socket: " + step + ": " + ec.message()};
}

} // namespace

udp_socket::udp_socket(asio::io_context& ctx, udp_socket_config cfg)
  : sock_(ctx), cfg_(cfg), buf_(max_datagram) {
  // nop
}

expected<std::shared_ptr<udp_socket>>
udp_socket::open(asio::io_context& ctx, const udp::endpoint& local,
                 udp_socket_config cfg) {
  auto result = std::make_shared<udp_socket>(ctx, cfg);
  if (auto st = result->bind(local); !st)
    return st.error();
  return result;
}

status udp_socket::bind(const udp::endpoint& local) {
  std::error_code ec;
  sock_.open(local.protocol(), ec);
  if (ec)
    return socket_error("open", ec);
  if (local.address().is_v6()) {
    sock_.set_option(asio::ip::v6_only(true), ec);
    if (ec)
      return socket_error("IPV6_V6ONLY", ec);
  }
  // Best effort: the kernel caps these at net.core.[rw]mem_max.
  sock_.set_option(asio::socket_base::receive_buffer_size(cfg_.buffer_bytes),
                   ec);
  sock_.set_option(asio::socket_base::send_buffer_size(cfg_.buffer_bytes), ec);
  sock_.bind(local, ec);
  if (ec)
    return socket_error("bind " + to_text(local), ec);
  // Sends never block the io thread; receives drain what is queued.
  sock_.non_blocking(true, ec);
  if (ec)
    return socket_error("non-blocking mode", ec);
  local_ = sock_.local_endpoint(ec);
  if (ec)
    return socket_error("local endpoint", ec);
  return {};
}

void udp_socket::start(receive_handler on_receive) {
  asio::post(sock_.get_executor(),
             [self = shared_from_this(), h = std::move(on_receive)]() mutable {
               if (self->closed_)
                 return;
               self->handler_ = std::move(h);
               self->receive();
             });
}

void udp_socket::receive() {
  sock_.async_receive_from(asio::buffer(buf_), from_,
                           [self = shared_from_this()](std::error_code ec,
                                                       size_t n) {
                             self->on_receive(ec, n);
                           });
}

void udp_socket::on_receive(const std::error_code& ec, size_t n) {
  if (closed_ || ec == asio::error::operation_aborted)
    return;
  auto batch = std::make_shared<datagram_batch>();
  if (!ec)
    batch->items.push_back(
      {from_, byte_buffer(buf_.begin(), buf_.begin() + n)});
  // Whatever else is queued goes in the same batch: one actor message for
  // many datagrams.
  while (batch->items.size() < cfg_.max_batch) {
    std::error_code more;
    auto len = sock_.receive_from(asio::buffer(buf_), from_, 0, more);
    if (more == asio::error::would_block || more == asio::error::try_again)
      break;
    if (more) // e.g. ICMP port unreachable of an earlier send: skip it
      continue;
    batch->items.push_back(
      {from_, byte_buffer(buf_.begin(), buf_.begin() + len)});
  }
  if (!batch->items.empty() && handler_)
    handler_(std::move(batch));
  receive();
}

void udp_socket::send(std::shared_ptr<datagram_batch> batch) {
  asio::post(sock_.get_executor(), [self = shared_from_this(),
                                    batch = std::move(batch)] {
    if (self->closed_)
      return;
    uint64_t sent = 0;
    uint64_t bytes = 0;
    uint64_t failed = 0;
    for (const auto& d : batch->items) {
      std::error_code ec;
      auto n = self->sock_.send_to(asio::buffer(d.bytes), d.peer, 0, ec);
      if (ec) {
        ++failed;
        continue;
      }
      ++sent;
      bytes += n;
    }
    self->datagrams_sent_.fetch_add(sent, std::memory_order_relaxed);
    self->bytes_sent_.fetch_add(bytes, std::memory_order_relaxed);
    self->send_errors_.fetch_add(failed, std::memory_order_relaxed);
  });
}

void udp_socket::close() {
  asio::post(sock_.get_executor(), [self = shared_from_this()] {
    self->closed_ = true;
    self->handler_ = nullptr; // drops the owner's handle
    std::error_code ignored;
    self->sock_.close(ignored);
  });
}

expected<udp::endpoint> parse_udp_endpoint(std::string_view text) {
  auto bad = [&] {
    return failure{errc::bad_address,
                   "not an address:port: '" + std::string{text} + "'"};
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= text.size())
    return bad();
  auto host = text.substr(0, colon);
  auto port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos)
    return bad(); // IPv6 needs brackets
  unsigned port = 0;
  auto [end, err] = std::from_chars(port_text.data(),
                                    port_text.data() + port_text.size(), port);
  if (err != std::errc{} || end != port_text.data() + port_text.size()
      || port == 0 || port > 65535)
    return bad();
  std::error_code ec;
  auto addr = asio::ip::make_address(std::string{host}, ec);
  if (ec)
    return bad();
  return udp::endpoint{addr, static_cast<uint16_t>(port)};
}

std::string to_text(const udp::endpoint& ep) {
  if (ep.address().is_v6())
    return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

} // namespace crust

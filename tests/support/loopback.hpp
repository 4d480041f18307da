#pragma once

#include "crust/transport/asio_headers.hpp"

#include <system_error>

namespace crust::test {

/// True if this host can bind a socket to ::1.
inline bool has_ipv6_loopback() {
  asio::io_context ctx;
  asio::ip::tcp::acceptor acc{ctx};
  std::error_code ec;
  acc.open(asio::ip::tcp::v6(), ec);
  if (!ec)
    acc.bind({asio::ip::address_v6::loopback(), 0}, ec);
  return !ec;
}

} // namespace crust::test

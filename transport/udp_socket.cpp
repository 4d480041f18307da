#include "crust/transport/udp_socket.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>
#include <utility>

#if defined(__linux__)
#  include <netinet/in.h>
#  include <netinet/udp.h>
#  include <sys/socket.h>
#endif

namespace crust {

namespace {

using udp = asio::ip::udp;

/// Largest UDP payload; rUDP datagrams are at most 1452 bytes, but a
/// datagram of any size must be read whole to be counted and dropped.
constexpr size_t max_datagram = 65536;

#if defined(__linux__)
/// Most segments one GSO super-packet may carry (the kernel's UDP_MAX_SEGMENTS)
/// and most bytes it may hold (an IPv4 datagram's limit, headers aside).
constexpr size_t max_gso_segments = 64;
constexpr size_t max_gso_bytes = 65000;
#endif

failure socket_error(const std::string& step, const std::error_code& ec) {
  return {errc::socket_failure, "UDP socket: " + step + ": " + ec.message()};
}

} // namespace

/// Scratch space for the batched system calls, allocated once per socket.
/// The receive buffers are one allocation left uninitialised: the kernel
/// touches only the pages datagrams land in, so 64 KiB per slot costs
/// little memory for 1.5 KB datagrams.
struct udp_socket::batch_io {
  explicit batch_io(size_t count)
    : slots(std::max<size_t>(count, 1)),
      buffers(new uint8_t[slots * max_datagram]) {
#if defined(__linux__)
    rx_msgs.resize(slots);
    rx_iov.resize(slots);
    rx_names.resize(slots);
#endif
  }

  size_t slots;
  std::unique_ptr<uint8_t[]> buffers;
#if defined(__linux__)
  std::vector<mmsghdr> rx_msgs;
  std::vector<iovec> rx_iov;
  std::vector<sockaddr_storage> rx_names;
  // Send side, grown to the largest batch seen.
  std::vector<mmsghdr> tx_msgs;
  std::vector<iovec> tx_iov;
  /// Per message: the datagrams it carries and its GSO control data.
  std::vector<size_t> tx_count;
  struct gso_control {
    alignas(cmsghdr) char data[CMSG_SPACE(sizeof(uint16_t))];
  };
  std::vector<gso_control> tx_control;
#endif
};

udp_socket::udp_socket(asio::io_context& ctx, udp_socket_config cfg)
  : sock_(ctx), cfg_(cfg), io_(std::make_unique<batch_io>(cfg.max_batch)) {
  // nop
}

udp_socket::~udp_socket() = default;

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
#if defined(__linux__)
  if (cfg_.gso) {
    // A kernel without UDP GSO (before Linux 4.18) refuses the option.
    int zero = 0;
    gso_ = ::setsockopt(sock_.native_handle(), SOL_UDP, UDP_SEGMENT, &zero,
                        sizeof(zero))
           == 0;
  }
#endif
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
  sock_.async_wait(asio::socket_base::wait_read,
                   [self = shared_from_this()](std::error_code ec) {
                     self->on_readable(ec);
                   });
}

void udp_socket::on_readable(const std::error_code& ec) {
  if (closed_ || ec == asio::error::operation_aborted)
    return;
  // Whatever is queued goes in one batch: one actor message for many
  // datagrams.
  auto batch = std::make_shared<datagram_batch>();
  read_batch(*batch);
  if (!batch->items.empty() && handler_)
    handler_(std::move(batch));
  receive();
}

void udp_socket::read_batch(datagram_batch& out) {
  auto& b = *io_;
  // Errors such as an ICMP port unreachable of an earlier send are
  // reported once each; a few in a row end this batch.
  int errors = 0;
  out.items.reserve(cfg_.max_batch);
#if defined(__linux__)
  auto fd = sock_.native_handle();
  while (out.items.size() < cfg_.max_batch && errors < 8) {
    auto want = std::min(b.slots, cfg_.max_batch - out.items.size());
    for (size_t i = 0; i < want; ++i) {
      b.rx_iov[i] = {b.buffers.get() + i * max_datagram, max_datagram};
      auto& h = b.rx_msgs[i].msg_hdr;
      h = msghdr{};
      h.msg_name = &b.rx_names[i];
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_iov = &b.rx_iov[i];
      h.msg_iovlen = 1;
      b.rx_msgs[i].msg_len = 0;
    }
    auto n = ::recvmmsg(fd, b.rx_msgs.data(), static_cast<unsigned>(want),
                        MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      if (errno != EINTR)
        ++errors;
      continue;
    }
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      udp::endpoint from;
      auto len = std::min<size_t>(b.rx_msgs[i].msg_hdr.msg_namelen,
                                  from.capacity());
      std::memcpy(from.data(), &b.rx_names[i], len);
      from.resize(len);
      const auto* data = b.buffers.get() + i * max_datagram;
      out.items.push_back(
        {from, byte_buffer(data, data + b.rx_msgs[i].msg_len)});
    }
    if (static_cast<size_t>(n) < want)
      break; // the queue is empty
  }
#else
  while (out.items.size() < cfg_.max_batch && errors < 8) {
    std::error_code ec;
    udp::endpoint from;
    auto len = sock_.receive_from(asio::buffer(b.buffers.get(), max_datagram),
                                  from, 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again)
      break;
    if (ec) {
      ++errors;
      continue;
    }
    out.items.push_back(
      {from, byte_buffer(b.buffers.get(), b.buffers.get() + len)});
  }
#endif
}

void udp_socket::send(std::shared_ptr<datagram_batch> batch) {
  asio::post(sock_.get_executor(),
             [self = shared_from_this(), batch = std::move(batch)] {
               if (!self->closed_ && !batch->items.empty())
                 self->write_batch(*batch);
             });
}

void udp_socket::write_batch(const datagram_batch& batch) {
  const auto& items = batch.items;
  uint64_t sent = 0;
  uint64_t bytes = 0;
  uint64_t failed = 0;
#if defined(__linux__)
  auto& b = *io_;
  auto n = items.size();
  if (b.tx_msgs.size() < n) {
    b.tx_msgs.resize(n);
    b.tx_iov.resize(n);
    b.tx_count.resize(n);
    b.tx_control.resize(n);
  }
  bool gso = gso_.load(std::memory_order_relaxed);
  // One message per datagram, or with GSO per run of datagrams of one size
  // to one peer (only the run's last may be shorter).
  size_t msgs = 0;
  for (size_t i = 0; i < n;) {
    auto seg = items[i].bytes.size();
    auto j = i + 1;
    if (gso && seg > 0) {
      auto total = seg;
      while (j < n && j - i < max_gso_segments && items[j].peer == items[i].peer
             && items[j].bytes.size() <= seg
             && total + items[j].bytes.size() <= max_gso_bytes) {
        total += items[j].bytes.size();
        if (items[j++].bytes.size() < seg)
          break;
      }
    }
    for (auto k = i; k < j; ++k)
      b.tx_iov[k] = {const_cast<uint8_t*>(items[k].bytes.data()),
                     items[k].bytes.size()};
    auto& h = b.tx_msgs[msgs].msg_hdr;
    h = msghdr{};
    h.msg_name = const_cast<sockaddr*>(items[i].peer.data());
    h.msg_namelen = static_cast<socklen_t>(items[i].peer.size());
    h.msg_iov = &b.tx_iov[i];
    h.msg_iovlen = j - i;
    if (j - i > 1) {
      h.msg_control = b.tx_control[msgs].data;
      h.msg_controllen = sizeof(b.tx_control[msgs].data);
      auto* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      auto size = static_cast<uint16_t>(seg);
      std::memcpy(CMSG_DATA(c), &size, sizeof(size));
    }
    b.tx_count[msgs++] = j - i;
    i = j;
  }
  auto fd = sock_.native_handle();
  size_t done = 0;  // messages
  size_t first = 0; // the first datagram of message `done`
  auto skip = [&](size_t count) {
    for (size_t k = 0; k < count; ++k)
      first += b.tx_count[done++];
  };
  while (done < msgs) {
    auto r = ::sendmmsg(fd, &b.tx_msgs[done],
                        static_cast<unsigned>(msgs - done), MSG_DONTWAIT);
    if (r > 0) {
      for (size_t k = done; k < done + static_cast<size_t>(r); ++k) {
        sent += b.tx_count[k];
        for (size_t d = 0; d < b.tx_count[k]; ++d)
          bytes += items[first + d].bytes.size();
        first += b.tx_count[k];
      }
      done += static_cast<size_t>(r);
      continue;
    }
    int err = r < 0 ? errno : EAGAIN;
    if (err == EINTR)
      continue;
    if (b.tx_count[done] > 1
        && (err == EIO || err == EINVAL || err == EOPNOTSUPP
            || err == ENOPROTOOPT)) {
      // The kernel or the device refuses GSO: send the rest one by one,
      // now and from now on.
      gso_ = false;
      datagram_batch rest;
      rest.items.assign(items.begin() + static_cast<ptrdiff_t>(first),
                        items.end());
      datagrams_sent_.fetch_add(sent, std::memory_order_relaxed);
      bytes_sent_.fetch_add(bytes, std::memory_order_relaxed);
      send_errors_.fetch_add(failed, std::memory_order_relaxed);
      write_batch(rest);
      return;
    }
    if (err == EAGAIN || err == EWOULDBLOCK) {
      // A full send buffer drops the rest (loss recovery resends it).
      failed += items.size() - first;
      break;
    }
    // This message failed (e.g. an unreachable peer); the next may not.
    failed += b.tx_count[done];
    skip(1);
  }
#else
  for (const auto& d : items) {
    std::error_code ec;
    auto n = sock_.send_to(asio::buffer(d.bytes), d.peer, 0, ec);
    if (ec) {
      ++failed;
      continue;
    }
    ++sent;
    bytes += n;
  }
#endif
  datagrams_sent_.fetch_add(sent, std::memory_order_relaxed);
  bytes_sent_.fetch_add(bytes, std::memory_order_relaxed);
  send_errors_.fetch_add(failed, std::memory_order_relaxed);
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

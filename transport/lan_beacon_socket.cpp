#include "crust/transport/lan_beacon_socket.hpp"

#include "crust/messages/log.hpp"

#include <array>
#include <cstring>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <system_error>
#include <utility>
#include <vector>

namespace crust {

namespace {

using udp = asio::ip::udp;

/// Largest datagram read; beacon packets are far smaller.
constexpr size_t receive_buffer_size = 2048;

/// One IPv4 interface the beacon uses.
struct beacon_interface {
  in_addr address{};
  /// Directed broadcast address; loopback uses 127.255.255.255.
  in_addr broadcast{};
  bool has_broadcast = false;
};

bool wanted(beacon_interfaces which, bool loopback) {
  switch (which) {
    case beacon_interfaces::lan: return !loopback;
    case beacon_interfaces::lan_and_loopback: return true;
    case beacon_interfaces::loopback_only: return loopback;
  }
  return false;
}

/// The up IPv4 interfaces the configuration asks for (read anew at every
/// broadcast: interfaces come and go).
std::vector<beacon_interface> interfaces(beacon_interfaces which) {
  std::vector<beacon_interface> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0)
    return out;
  for (auto* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET
        || (it->ifa_flags & IFF_UP) == 0)
      continue;
    auto loopback = (it->ifa_flags & IFF_LOOPBACK) != 0;
    if (!wanted(which, loopback))
      continue;
    beacon_interface x;
    x.address = reinterpret_cast<const sockaddr_in*>(it->ifa_addr)->sin_addr;
    if (loopback) {
      x.broadcast.s_addr = htonl(0x7fffffff);
      x.has_broadcast = true;
    } else if ((it->ifa_flags & IFF_BROADCAST) != 0
               && it->ifa_broadaddr != nullptr
               && it->ifa_broadaddr->sa_family == AF_INET) {
      x.broadcast
        = reinterpret_cast<const sockaddr_in*>(it->ifa_broadaddr)->sin_addr;
      x.has_broadcast = true;
    }
    out.push_back(x);
  }
  freeifaddrs(list);
  return out;
}

failure socket_error(const std::string& step, const std::error_code& ec) {
  return {errc::socket_failure, "LAN beacon: " + step + ": " + ec.message()};
}

failure socket_error(const std::string& step, int err) {
  return socket_error(step, std::error_code{err, std::generic_category()});
}

template<class T>
int set_ip_option(udp::socket& sock, int name, const T& value) {
  return ::setsockopt(sock.native_handle(), IPPROTO_IP, name, &value,
                      sizeof(value));
}

std::string to_text(const udp::endpoint& ep) {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

class udp_beacon : public beacon_transport,
                   public std::enable_shared_from_this<udp_beacon> {
public:
  udp_beacon(asio::io_context& ctx, udp_beacon_config config,
             datagram_handler on_datagram)
    : listen_(ctx), query_(ctx), config_(std::move(config)),
      on_datagram_(std::move(on_datagram)) {
    // nop
  }

  status open() {
    std::error_code ec;
    group_ = asio::ip::make_address_v4(config_.multicast_group, ec);
    if (ec || !group_.is_multicast())
      return failure{errc::invalid_config,
                     "LAN beacon: '" + config_.multicast_group
                       + "' is not an IPv4 multicast group"};
    if (auto st = open_listener(); !st)
      return st;
    query_.open(udp::v4(), ec);
    if (!ec)
      query_.set_option(asio::socket_base::broadcast(true), ec);
    if (!ec)
      query_.bind({asio::ip::address_v4::any(), 0}, ec);
    if (ec)
      return socket_error("query socket", ec);
    unsigned char ttl = 1;  // never beyond the LAN
    unsigned char loop = 1; // other nodes on this host must hear us
    if (set_ip_option(query_, IP_MULTICAST_TTL, ttl) != 0
        || set_ip_option(query_, IP_MULTICAST_LOOP, loop) != 0)
      return socket_error("multicast options", errno);
    join_groups();
    return {};
  }

  void start() {
    asio::post(listen_.get_executor(), [self = shared_from_this()] {
      self->receive(self->listen_, self->listen_buf_, self->listen_from_);
      self->receive(self->query_, self->query_buf_, self->query_from_);
    });
  }

  void broadcast(byte_buffer bytes) override {
    asio::post(listen_.get_executor(), [self = shared_from_this(),
                                        bytes = std::move(bytes)] {
      if (self->closed_)
        return;
      self->join_groups();
      std::error_code ec;
      for (const auto& iface : interfaces(self->config_.interfaces)) {
        if (iface.has_broadcast) {
          udp::endpoint to{asio::ip::address_v4{ntohl(iface.broadcast.s_addr)},
                           self->port_};
          self->query_.send_to(asio::buffer(bytes), to, 0, ec);
          if (ec)
            log::debug("LAN beacon: broadcast to {} failed: {}", to_text(to),
                       ec.message());
        }
        if (set_ip_option(self->query_, IP_MULTICAST_IF, iface.address) != 0)
          continue;
        self->query_.send_to(asio::buffer(bytes), {self->group_, self->port_},
                             0, ec);
        if (ec)
          log::debug("LAN beacon: multicast failed: {}", ec.message());
      }
    });
  }

  void send_to(byte_buffer bytes, endpoint to) override {
    if (!to.ip.is_v4())
      return;
    asio::ip::address_v4::bytes_type addr;
    std::memcpy(addr.data(), to.ip.data(), addr.size());
    udp::endpoint dst{asio::ip::address_v4{addr}, to.port};
    asio::post(listen_.get_executor(),
               [self = shared_from_this(), bytes = std::move(bytes), dst] {
                 if (self->closed_)
                   return;
                 std::error_code ec;
                 self->listen_.send_to(asio::buffer(bytes), dst, 0, ec);
                 if (ec)
                   log::debug("LAN beacon: reply to {} failed: {}",
                              to_text(dst), ec.message());
               });
  }

  uint16_t port() const override {
    return port_;
  }

  void close() override {
    asio::post(listen_.get_executor(), [self = shared_from_this()] {
      self->closed_ = true;
      self->on_datagram_ = nullptr; // drops the owner's handle
      std::error_code ignored;
      self->listen_.close(ignored);
      self->query_.close(ignored);
    });
  }

private:
  status open_listener() {
    std::error_code ec;
    listen_.open(udp::v4(), ec);
    if (ec)
      return socket_error("open", ec);
    listen_.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec)
      return socket_error("SO_REUSEADDR", ec);
    int on = 1;
    if (::setsockopt(listen_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on,
                     sizeof(on))
        != 0)
      return socket_error("SO_REUSEPORT", errno);
    listen_.bind({asio::ip::address_v4::any(), config_.port}, ec);
    if (ec)
      return socket_error("bind UDP port " + std::to_string(config_.port), ec);
    port_ = listen_.local_endpoint(ec).port();
    if (ec)
      return socket_error("local endpoint", ec);
    return {};
  }

  /// Joins the group on every interface; one already joined says
  /// EADDRINUSE, which is fine.
  void join_groups() {
    for (const auto& iface : interfaces(config_.interfaces)) {
      ip_mreq req{};
      req.imr_multiaddr.s_addr = htonl(group_.to_uint());
      req.imr_interface = iface.address;
      if (set_ip_option(listen_, IP_ADD_MEMBERSHIP, req) != 0
          && errno != EADDRINUSE)
        log::debug("LAN beacon: cannot join the multicast group: {}",
                   std::strerror(errno));
    }
  }

  void receive(udp::socket& sock, std::array<uint8_t, receive_buffer_size>& buf,
               udp::endpoint& from) {
    if (closed_)
      return;
    sock.async_receive_from(
      asio::buffer(buf), from,
      [self = shared_from_this(), &sock, &buf, &from](std::error_code ec,
                                                      size_t n) {
        if (self->closed_ || ec == asio::error::operation_aborted)
          return;
        if (!ec && self->on_datagram_)
          self->on_datagram_(byte_buffer(buf.begin(), buf.begin() + n),
                             to_text(from));
        self->receive(sock, buf, from);
      });
  }

  udp::socket listen_;
  udp::socket query_;
  udp_beacon_config config_;
  datagram_handler on_datagram_;
  asio::ip::address_v4 group_;
  uint16_t port_ = 0;
  bool closed_ = false;
  std::array<uint8_t, receive_buffer_size> listen_buf_{};
  std::array<uint8_t, receive_buffer_size> query_buf_{};
  udp::endpoint listen_from_;
  udp::endpoint query_from_;
};

} // namespace

expected<std::shared_ptr<beacon_transport>>
open_udp_beacon(asio::io_context& ctx, const udp_beacon_config& config,
                datagram_handler on_datagram) {
  auto result = std::make_shared<udp_beacon>(ctx, config,
                                             std::move(on_datagram));
  if (auto st = result->open(); !st)
    return st.error();
  result->start();
  return std::shared_ptr<beacon_transport>{std::move(result)};
}

} // namespace crust

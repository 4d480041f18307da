#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/asio_headers.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/codec/endpoint.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace crust {

/// The socket seam of the LAN BEACON (actors/lan_beacon.hpp): the actor
/// talks to this interface only, so that tests can replace the sockets and
/// feed datagrams with virtual time. Every member is thread-safe.
class beacon_transport {
public:
  virtual ~beacon_transport() = default;

  /// Sends a request datagram to every beacon on the chosen interfaces:
  /// to each one's directed broadcast address and to the multicast group.
  virtual void broadcast(byte_buffer bytes) = 0;

  /// Sends one datagram to `to` (address and port; the transport field is
  /// ignored): a unicast reply.
  virtual void send_to(byte_buffer bytes, endpoint to) = 0;

  /// The port requests are answered on.
  virtual uint16_t port() const = 0;

  /// Stops receiving and closes the sockets; no handler runs afterwards.
  virtual void close() = 0;
};

/// Receives every datagram with its source (`a.b.c.d:port`), on the io
/// thread; typically `anon_send`s both to the owning actor.
using datagram_handler = std::function<void(byte_buffer, std::string)>;

/// Which interfaces the beacon uses.
enum class beacon_interfaces : uint8_t {
  /// Every up, non-loopback IPv4 interface.
  lan,
  /// Same plus loopback.
  lan_and_loopback,
  /// Loopback only: tests, so that no datagram leaves the host.
  loopback_only,
};

/// Settings of the UDP beacon sockets.
struct udp_beacon_config {
  /// Default beacon port (the original Crust's discovery port).
  static constexpr uint16_t default_port = 5484;

  /// Where requests are received: bound with SO_REUSEADDR and SO_REUSEPORT,
  /// so several nodes on one host share it (broadcast and multicast reach
  /// them all; replies go by unicast to each requester's own socket). 0
  /// picks a free port (tests).
  uint16_t port = default_port;

  /// IPv4 multicast group (administratively scoped, RFC 2365).
  std::string multicast_group = "239.255.84.84";

  beacon_interfaces interfaces = beacon_interfaces::lan;
};

/// Opens the two sockets of a beacon on `ctx` and starts receiving: the
/// beacon port (requests in, replies out) and an ephemeral query socket
/// (requests out, replies in). Fails with `errc::socket_failure` naming the
/// step and the reason. Call before the io thread runs or from it.
expected<std::shared_ptr<beacon_transport>>
open_udp_beacon(asio::io_context& ctx, const udp_beacon_config& config,
                datagram_handler on_datagram);

} // namespace crust

#pragma once

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>

/// The NAT mapper's vocabulary: a port mapping a gateway granted us.
namespace crust {

/// A TCP port of ours forwarded by the gateway (UPnP IGD or NAT-PMP), so
/// that peers on the internet reach `external_address:external_port`.
struct port_mapping {
  /// How it was obtained: "upnp" or "natpmp".
  std::string method;

  /// The gateway's address on the internet (dotted IPv4).
  std::string external_address;

  /// The port the gateway forwards to us.
  uint16_t external_port = 0;

  /// Our address on the gateway's LAN.
  std::string internal_address;

  /// Our listening port.
  uint16_t internal_port = 0;

  /// Seconds the gateway keeps the mapping unless refreshed (0: until
  /// removed).
  uint32_t lease_seconds = 0;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, port_mapping& x) {
  return f(caf::meta::type_name("port_mapping"), x.method, x.external_address,
           x.external_port, x.internal_address, x.internal_port,
           x.lease_seconds);
}

} // namespace crust

#pragma once

#include "crust/nat/port_mapping.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace crust {

/// A UPnP IGD on our LAN, through miniupnpc. Every call blocks (SSDP
/// discovery, then HTTP/SOAP to the gateway): use it off the CAF scheduler,
/// from a detached actor or a worker thread (the PORT MAPPER does).
class upnp_gateway {
public:
  upnp_gateway();
  upnp_gateway(const upnp_gateway&) = delete;
  upnp_gateway& operator=(const upnp_gateway&) = delete;
  ~upnp_gateway();

  /// Looks for a connected IGD for up to `timeout`. False (see `error`) if
  /// none answered.
  bool discover(std::chrono::milliseconds timeout);

  /// Asks the IGD for its external IPv4 address.
  bool external_address(std::string& out);

  /// Maps `external_port` (0: the same as `internal_port`) to our
  /// `internal_port` over TCP for `lease`; falls back to any free external
  /// port when the gateway has that one taken. Fills `out` on success.
  bool add_tcp(uint16_t internal_port, uint16_t external_port,
               std::chrono::seconds lease, const std::string& description,
               port_mapping& out);

  /// Removes a mapping `add_tcp` made.
  bool remove_tcp(const port_mapping& mapping);

  /// Why the last call failed.
  const std::string& error() const {
    return error_;
  }

private:
  struct igd;
  std::unique_ptr<igd> igd_;
  std::string error_;
};

} // namespace crust

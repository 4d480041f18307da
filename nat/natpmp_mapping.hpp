#pragma once

#include "crust/nat/port_mapping.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace crust {

/// The NAT-PMP gateway (RFC 6886) at our default route, through libnatpmp.
/// Every call blocks up to its timeout (libnatpmp's own retries would take a
/// minute): use it off the CAF scheduler, as the PORT MAPPER does.
class natpmp_gateway {
public:
  natpmp_gateway();
  natpmp_gateway(const natpmp_gateway&) = delete;
  natpmp_gateway& operator=(const natpmp_gateway&) = delete;
  ~natpmp_gateway();

  /// Asks for the gateway's external IPv4 address.
  bool external_address(std::string& out, std::chrono::milliseconds timeout);

  /// Maps our TCP `internal_port` for `lease`, asking for `external_port`
  /// (0: the same port). Fills `out` with what the gateway granted.
  bool add_tcp(uint16_t internal_port, uint16_t external_port,
               std::chrono::seconds lease, std::chrono::milliseconds timeout,
               port_mapping& out);

  /// Removes a mapping `add_tcp` made (a request with lifetime 0).
  bool remove_tcp(const port_mapping& mapping,
                  std::chrono::milliseconds timeout);

  /// Why the last call failed.
  const std::string& error() const {
    return error_;
  }

private:
  bool open();
  // Sends nothing: waits for the answer to the pending request.
  bool await_response(void* response, std::chrono::milliseconds timeout);

  struct state;
  std::unique_ptr<state> state_;
  std::string error_;
};

} // namespace crust

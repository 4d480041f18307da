#pragma once

#include "crust/transport/codec/endpoint.hpp"

#include <vector>

namespace crust {

/// The IP addresses of every up interface (getifaddrs): IPv4 and IPv6
/// global and private ones first, loopback last; IPv6 link-local addresses
/// are left out (they need a scope id, which connection info cannot carry).
/// With `ipv6` false, IPv4 only.
std::vector<ip_address> local_addresses(bool ipv6 = true);

} // namespace crust

#pragma once

#include "crust/messages/type_ids.hpp"
#include "crust/nat/natpmp_mapping.hpp"
#include "crust/nat/port_mapping.hpp"
#include "crust/nat/upnp_mapping.hpp"

#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <vector>

namespace crust {

/// The PORT MAPPER, first piece of the NAT mapper: asks the gateway to
/// forward our TCP listening port (UPnP IGD first, then NAT-PMP) and
/// refreshes the lease until the actor ends, which removes the mappings.
/// miniupnpc and libnatpmp block, so spawn it `caf::detached`.
using port_mapper_actor = caf::typed_actor<
  // Maps a TCP listening port; replies with what the gateway granted, or
  // `sec::runtime_error` with the reason neither protocol worked.
  caf::replies_to<atom::add, uint16_t>::with<port_mapping>,
  // Removes the mapping of a listening port; true if there was one.
  caf::replies_to<atom::remove, uint16_t>::with<bool>,
  // INTERNAL: renew every lease.
  caf::reacts_to<atom::tick>>;

/// How the PORT MAPPER works.
struct port_mapper_config {
  bool use_upnp = true;
  bool use_natpmp = true;

  /// Lease asked for; renewed at half of what the gateway granted.
  std::chrono::seconds lease{3600};

  /// Longest wait for the SSDP search, and for each NAT-PMP request.
  std::chrono::milliseconds timeout{2000};
};

/// The PORT MAPPER's state: the gateways found and the mappings held.
struct port_mapper_state {
  static inline const char* name = "crust.port_mapper";

  port_mapper_config cfg;
  upnp_gateway upnp;
  bool upnp_discovered = false;
  natpmp_gateway natpmp;
  std::vector<port_mapping> mappings;

  port_mapper_state() = default;
  port_mapper_state(const port_mapper_state&) = delete;
  port_mapper_state& operator=(const port_mapper_state&) = delete;

  /// Gives the mappings back to the gateway.
  ~port_mapper_state();

  /// Maps `port` by the first protocol that works; the reasons otherwise.
  bool map(uint16_t port, port_mapping& out, std::string& why);

  bool unmap(const port_mapping& mapping);
};

port_mapper_actor::behavior_type
port_mapper(port_mapper_actor::stateful_pointer<port_mapper_state> self,
            port_mapper_config cfg);

} // namespace crust

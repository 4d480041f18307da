#include "crust/nat/port_mapper.hpp"

#include <caf/sec.hpp>

#include <algorithm>
#include <string>

namespace crust {

namespace {

constexpr const char* mapping_description = "crust";

// A renewal comes at half the lease, and not more often than this.
constexpr std::chrono::seconds min_renewal{30};

} // namespace

port_mapper_state::~port_mapper_state() {
  for (const auto& mapping : mappings)
    unmap(mapping);
}

bool port_mapper_state::map(uint16_t port, port_mapping& out,
                            std::string& why) {
  why.clear();
  if (cfg.use_upnp) {
    if (!upnp_discovered)
      upnp_discovered = upnp.discover(cfg.timeout);
    if (upnp_discovered
        && upnp.add_tcp(port, 0, cfg.lease, mapping_description, out))
      return true;
    why = "UPnP: " + upnp.error();
    // The gateway may have rebooted or changed: search again next time.
    upnp_discovered = false;
  }
  if (cfg.use_natpmp) {
    if (natpmp.add_tcp(port, 0, cfg.lease, cfg.timeout, out))
      return true;
    why += (why.empty() ? "" : "; ") + natpmp.error();
  }
  if (why.empty())
    why = "no port-mapping protocol enabled";
  return false;
}

bool port_mapper_state::unmap(const port_mapping& mapping) {
  if (mapping.method == "upnp")
    return upnp.remove_tcp(mapping);
  return natpmp.remove_tcp(mapping, cfg.timeout);
}

port_mapper_actor::behavior_type
port_mapper(port_mapper_actor::stateful_pointer<port_mapper_state> self,
            port_mapper_config cfg) {
  self->state.cfg = cfg;
  auto schedule_renewal = [self](uint32_t lease_seconds) {
    if (lease_seconds == 0)
      return; // permanent
    auto half = std::chrono::seconds{lease_seconds / 2};
    self->delayed_send(self, std::max(half, min_renewal), atom::tick_v);
  };
  return {
    [self, schedule_renewal](atom::add,
                             uint16_t port) -> caf::result<port_mapping> {
      auto& st = self->state;
      port_mapping mapping;
      std::string why;
      if (!st.map(port, mapping, why))
        return caf::make_error(caf::sec::runtime_error,
                               "port mapping failed: " + why);
      auto same_port = [port](const port_mapping& m) {
        return m.internal_port == port;
      };
      st.mappings.erase(std::remove_if(st.mappings.begin(), st.mappings.end(),
                                       same_port),
                        st.mappings.end());
      // One chain of renewals (ticks) serves every mapping.
      auto first = st.mappings.empty();
      st.mappings.push_back(mapping);
      if (first)
        schedule_renewal(mapping.lease_seconds);
      return mapping;
    },
    [self](atom::remove, uint16_t port) {
      auto& st = self->state;
      auto i = std::find_if(st.mappings.begin(), st.mappings.end(),
                            [port](const port_mapping& m) {
                              return m.internal_port == port;
                            });
      if (i == st.mappings.end())
        return false;
      st.unmap(*i);
      st.mappings.erase(i);
      return true;
    },
    [self, schedule_renewal](atom::tick) {
      // Renews each mapping; one that fails is retried at the next tick.
      auto& st = self->state;
      uint32_t shortest = 0;
      for (auto& mapping : st.mappings) {
        port_mapping renewed;
        std::string why;
        if (st.map(mapping.internal_port, renewed, why))
          mapping = renewed;
        if (shortest == 0 || mapping.lease_seconds < shortest)
          shortest = mapping.lease_seconds;
      }
      schedule_renewal(shortest);
    },
  };
}

} // namespace crust

#pragma once

#include "crust/actors/connection.hpp"
#include "crust/actors/service.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/transport/codec/endpoint.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>

namespace crust::test {

/// An in-memory network for SERVICES under the deterministic scheduler:
/// services "listen" on made-up endpoints; a dial spawns both CONNECTIONS
/// joined by two in-memory BYTE PIPES (writes arrive as `received` at the
/// other end and are credited back as `sent` at once). The responding
/// CONNECTION reports to the listening SERVICE, which adopts it when it
/// authenticates.
class mem_network : public std::enable_shared_from_this<mem_network> {
public:
  /// `svc` answers dials to `addr`, with connections configured by `cfg`
  /// (the responder side of `svc`'s own settings).
  void listen(const endpoint& addr, service_actor svc, connection_config cfg);

  /// Stops answering dials to `addr` (they fail as a refused TCP connect
  /// would: the CONNECTION ends with `socket_failure`).
  void unlisten(const endpoint& addr);

  /// Dials to `addr` go nowhere: nothing arrives and nothing fails, as
  /// with a firewall that drops a TCP SYN (the handshake times out).
  void blackhole(const endpoint& addr);

  /// The dial function for a service_config. It sees the endpoint's
  /// protocol: `udp://` endpoints are separate addresses (the rUDP
  /// fallback dials them).
  dial_function dialer();

  /// Dials made so far.
  size_t dials() const noexcept {
    return dials_;
  }

private:
  struct listener {
    service_actor svc;
    connection_config cfg;
  };

  std::map<endpoint, listener, std::less<>> listeners_;
  std::set<endpoint> blackholes_;
  size_t dials_ = 0;
};

/// State of an in-memory BYTE PIPE.
struct mem_pipe_state {
  static inline const char* name = "mem_pipe";
  /// Its own CONNECTION (gets `sent` credit).
  connection_actor owner;
  /// The CONNECTION at the other end (gets `received`, `closed`).
  connection_actor target;
  bool closed = false;
};

/// An in-memory BYTE PIPE; `(put, owner, target)` wires it.
caf::behavior mem_pipe(caf::stateful_actor<mem_pipe_state>* self,
                       std::string label);

} // namespace crust::test

#pragma once

#include "crust/messages/interfaces.hpp"
#include "crust/messages/peer_id.hpp"

#include <cstdint>

namespace crust {

/// State of the NODE (messages/interfaces.hpp): the root actor of
/// crust-node until the SUPERVISOR exists.
struct node_state {
  /// Name in logs.
  static inline const char* name = "node";

  /// The node's identity.
  peer_id id;

  /// Connections the LISTENER reported so far.
  uint64_t accepted = 0;
};

/// Spawn function of the NODE.
/// @param self The actor.
/// @param id The node's peer id (from its key file).
node_actor::behavior_type node(node_actor::stateful_pointer<node_state> self,
                               peer_id id);

} // namespace crust

#pragma once

#include "crust/messages/peer_id.hpp"
#include "crust/messages/type_ids.hpp"

#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_behavior.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <string>

/// Every typed actor interface of crust. Roles are named in upper case in the
/// comments; each handler line says what it does.
namespace crust {

/// The NODE: the root actor of crust-node until the SUPERVISOR exists. Knows
/// the node's identity and takes the reports of the TCP LISTENER (which runs
/// on the Asio thread and reaches the node by `anon_send`).
using node_actor = caf::typed_actor<
  // Returns the node's peer id.
  caf::replies_to<atom::get, atom::id>::with<peer_id>,
  // The LISTENER accepted a TCP connection from `remote` ("address:port").
  caf::reacts_to<atom::accepted, std::string>,
  // Returns how many connections the LISTENER reported so far.
  caf::replies_to<atom::get, atom::stats>::with<uint64_t>>;

} // namespace crust

// Actor handles, chained after the `crust` block.
CAF_BEGIN_TYPE_ID_BLOCK(crust_actors, caf::id_block::crust::end)

  CAF_ADD_TYPE_ID(crust_actors, (crust::node_actor))

CAF_END_TYPE_ID_BLOCK(crust_actors)

#include "crust/actors/node.hpp"

#include "crust/messages/log.hpp"

namespace crust {

node_actor::behavior_type node(node_actor::stateful_pointer<node_state> self,
                               peer_id id) {
  self->state.id = id;
  log::info("node {} started", id.short_hex());
  return {
    [self](atom::get, atom::id) {
      return self->state.id;
    },
    [self](atom::accepted, const std::string& remote) {
      ++self->state.accepted;
      log::info("accepted a TCP connection from {}", remote);
    },
    [self](atom::get, atom::stats) {
      return self->state.accepted;
    },
  };
}

} // namespace crust

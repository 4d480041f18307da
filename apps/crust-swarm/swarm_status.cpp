#include "swarm_status.hpp"

namespace crust_swarm {

const char* to_string(swarm_outcome outcome) {
  switch (outcome) {
    case swarm_outcome::running: return "running";
    case swarm_outcome::passed: return "passed";
    case swarm_outcome::not_connected: return "not_connected";
    case swarm_outcome::messages_missing: return "messages_missing";
    case swarm_outcome::node_failed: return "node_failed";
    case swarm_outcome::launch_failed: return "launch_failed";
    case swarm_outcome::interrupted: return "interrupted";
  }
  return "?";
}

std::string short_id(const std::string& peer_id) {
  if (peer_id.size() < 8)
    return "--------";
  return peer_id.substr(0, 8);
}

} // namespace crust_swarm

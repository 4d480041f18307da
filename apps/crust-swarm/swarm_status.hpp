#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace crust_swarm {

/// How a run ended.
enum class swarm_outcome {
  /// Still running.
  running,
  /// Fully connected and every message delivered within the budget.
  passed,
  /// The budget ran out before every node was connected to every other.
  not_connected,
  /// Fully connected, but messages were missing when the budget ran out.
  messages_missing,
  /// A crust-node exited or failed to start while the swarm ran.
  node_failed,
  /// The swarm could not be set up (no crust-node, a missing feature).
  launch_failed,
  /// SIGINT or SIGTERM.
  interrupted,
};

const char* to_string(swarm_outcome outcome);

/// One node as the view and the report show it.
struct node_status {
  int index = 0;
  /// Full peer id; empty until crust-node printed it.
  std::string peer_id;
  int port = 0;
  /// "starting", "running", "stopped" or what ended it.
  std::string state;
  int peers = 0;
  /// Connected peers by how they were found (found_by::all() kinds).
  std::map<std::string, int> found;
  int sent = 0;
  int received = 0;
  int expected_received = 0;
  int send_errors = 0;
  int lost_peers = 0;
  /// How the process ended ("exit code 0", "killed by SIGKILL"); empty
  /// while it runs.
  std::string exit_status;
  /// The last step of the shutdown it needed: quit, SIGTERM or SIGKILL.
  std::string stopped_by;
};

/// The whole swarm at one moment: what the live view draws and the report
/// records.
struct swarm_status {
  int nodes = 0;
  std::string mode;
  std::string phase;
  swarm_outcome outcome = swarm_outcome::running;
  /// Why it failed, for people; empty if it passed.
  std::string failure;
  std::chrono::milliseconds elapsed{0};
  std::chrono::milliseconds budget{0};
  /// Pairs of nodes connected both ways, and how many pairs there are.
  int links = 0;
  int links_expected = 0;
  /// Nodes connected to every other node.
  int complete_nodes = 0;
  bool fully_connected = false;
  std::optional<std::chrono::milliseconds> time_to_full_connectivity;
  std::optional<std::chrono::milliseconds> time_to_all_delivered;
  int messages_expected = 0;
  int messages_sent = 0;
  int messages_delivered = 0;
  std::vector<node_status> node_rows;
  /// Things worth telling while it runs (a node exited, a retry), oldest
  /// first.
  std::vector<std::string> notes;
};

/// 8 hex characters of a peer id, or dashes while unknown.
std::string short_id(const std::string& peer_id);

} // namespace crust_swarm

#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace crust_swarm {

/// What the crust-node binary offers, from `crust-node --help` (options)
/// and the answer to its `help` command (commands). The discovery flow
/// needs `--crust.contacts` and the commands `bootstrap`, `learned` and
/// `connect-learned`; without them the launcher connects nodes directly.
struct node_capabilities {
  bool contacts_option = false;
  bool beacon_option = false;
  /// `--crust.beacon` takes lan, loopback or off (else it is a switch).
  bool beacon_takes_mode = false;

  /// True if `verbs` (from `help`) has every discovery command.
  static bool has_discovery_commands(const std::vector<std::string>& verbs);
};

/// Runs `binary --help` in `work_dir` and reads the options it lists.
/// Waits at most `timeout`; returns early with `interrupted` set when
/// SIGINT or SIGTERM arrives (interrupt_signal). An error text, or empty.
std::string probe_node_options(const std::string& binary,
                               const std::string& work_dir,
                               std::chrono::milliseconds timeout,
                               node_capabilities& out, int& interrupted);

} // namespace crust_swarm

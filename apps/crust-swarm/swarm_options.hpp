#pragma once

#include <chrono>
#include <string>
#include <variant>

namespace crust_swarm {

/// How the nodes find each other.
enum class connect_mode {
  /// Discovery when crust-node offers it, else direct.
  automatic,
  /// The launcher hands every node the address of every other node.
  direct,
  /// Seed contact, bootstrap, gossip (`bootstrap`, `learned`,
  /// `connect-learned`); fails if crust-node lacks them.
  discovery,
};

/// The command line of crust-swarm (docs/crust-swarm.md).
struct swarm_options {
  int nodes = 8;
  std::chrono::milliseconds budget = std::chrono::seconds{60};
  int messages_per_peer = 3;
  std::string json_report_path;
  /// Empty: crust-node next to crust-swarm, else on PATH.
  std::string node_binary;
  connect_mode mode = connect_mode::automatic;
  /// crust-node's beacon: "off" (default), "loopback" or "lan" (the only
  /// mode that sends beyond loopback).
  std::string beacon = "off";
  /// Plain progress lines even when stdout is a terminal.
  bool live_view = true;
  /// Keep the temporary directory (key files, stderr of every node).
  bool keep_dir = false;
};

/// `--help` was given: print the usage and exit 0.
struct help_requested {};

/// A bad command line: the message to print before exiting with 2.
struct option_error {
  std::string message;
};

using parse_result = std::variant<swarm_options, help_requested, option_error>;

/// Reads the command line (argv[0] excluded). Every value is checked.
parse_result parse_options(int argc, char** argv);

/// The text `--help` prints.
std::string usage_text();

const char* to_string(connect_mode mode);

} // namespace crust_swarm

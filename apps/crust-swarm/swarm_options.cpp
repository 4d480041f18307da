#include "swarm_options.hpp"

#include "duration_text.hpp"

#include <string_view>
#include <vector>

namespace crust_swarm {

namespace {

constexpr int min_nodes = 2;
constexpr int max_nodes = 64;
constexpr int max_messages_per_peer = 1000;
constexpr auto min_budget = std::chrono::seconds{1};
constexpr auto max_budget = std::chrono::hours{1};

/// Options that take a value, given as `--name VALUE` or `--name=VALUE`.
const std::vector<std::string_view> valued_options
  = {"--nodes",       "--budget", "--messages", "--json",
     "--node-binary", "--mode",   "--beacon"};

bool takes_value(std::string_view name) {
  for (auto known : valued_options)
    if (known == name)
      return true;
  return false;
}

/// A whole decimal number within [low, high], or nothing.
bool parse_int(std::string_view text, int low, int high, int& out) {
  if (text.empty() || text.size() > 9)
    return false;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + (c - '0');
  }
  if (value < low || value > high)
    return false;
  out = value;
  return true;
}

std::string range_text(int low, int high) {
  return std::to_string(low) + " to " + std::to_string(high);
}

/// Applies one option with its value; an error text or empty.
std::string apply(swarm_options& opts, std::string_view name,
                  const std::string& value) {
  if (name == "--nodes") {
    if (!parse_int(value, min_nodes, max_nodes, opts.nodes))
      return "--nodes: must be a whole number from "
             + range_text(min_nodes, max_nodes) + ", got '" + value + "'";
  } else if (name == "--messages") {
    if (!parse_int(value, 1, max_messages_per_peer, opts.messages_per_peer))
      return "--messages: must be a whole number from "
             + range_text(1, max_messages_per_peer) + ", got '" + value + "'";
  } else if (name == "--budget") {
    auto budget = parse_duration(value);
    if (!budget)
      return "--budget: not a duration (e.g. 500ms, 60s, 2min): '" + value
             + "'";
    if (*budget < min_budget || *budget > max_budget)
      return "--budget: must be from 1s to 1h, got '" + value + "'";
    opts.budget = *budget;
  } else if (name == "--json") {
    if (value.empty())
      return "--json: needs a file name";
    opts.json_report_path = value;
  } else if (name == "--node-binary") {
    if (value.empty())
      return "--node-binary: needs a path";
    opts.node_binary = value;
  } else if (name == "--beacon") {
    if (value != "off" && value != "loopback" && value != "lan")
      return "--beacon: must be off, loopback or lan, got '" + value + "'";
    opts.beacon = value;
  } else if (name == "--mode") {
    if (value == "auto")
      opts.mode = connect_mode::automatic;
    else if (value == "direct")
      opts.mode = connect_mode::direct;
    else if (value == "discovery")
      opts.mode = connect_mode::discovery;
    else
      return "--mode: must be auto, direct or discovery, got '" + value + "'";
  }
  return {};
}

} // namespace

parse_result parse_options(int argc, char** argv) {
  swarm_options opts;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg == "-h" || arg == "--help")
      return help_requested{};
    if (arg.size() < 3 || arg.substr(0, 2) != "--")
      return option_error{"unexpected argument '" + std::string{arg}
                          + "' (crust-swarm takes only options)"};
    auto eq = arg.find('=');
    auto name = arg.substr(0, eq);
    if (takes_value(name)) {
      std::string value;
      if (eq != std::string_view::npos) {
        value = std::string{arg.substr(eq + 1)};
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return option_error{std::string{name} + ": needs a value"};
      }
      if (auto err = apply(opts, name, value); !err.empty())
        return option_error{err};
      continue;
    }
    if (eq != std::string_view::npos)
      return option_error{std::string{name} + ": takes no value"};
    if (name == "--no-live")
      opts.live_view = false;
    else if (name == "--keep-dir")
      opts.keep_dir = true;
    else
      return option_error{"unknown option '" + std::string{name} + "'"};
  }
  return opts;
}

std::string usage_text() {
  return R"(crust-swarm: launches a swarm of crust-node processes on loopback,
connects every node to every other one, has each node send messages to every
peer, and reports (docs/crust-swarm.md).

usage: crust-swarm [OPTIONS]

  --nodes N            nodes to launch, 2 to 64 (default 8)
  --budget DURATION    time for the swarm to connect fully and deliver every
                       message: 500ms, 60s, 2min, ... 1s to 1h (default 60s)
  --messages K         messages each node sends to each peer, 1 to 1000
                       (default 3)
  --json FILE          write a JSON report to FILE
  --node-binary PATH   the crust-node to run (default: the one next to
                       crust-swarm, else crust-node on PATH)
  --mode MODE          auto (default): discovery if crust-node offers it,
                       else direct; direct: every node dials the others by
                       address; discovery: seed contact, bootstrap, gossip
  --beacon MODE        the nodes' beacon in discovery mode: off (default),
                       loopback (discovery by beacon on 127.0.0.1) or lan
                       (broadcasts beyond loopback)
  --no-live            plain progress lines even on a terminal
  --keep-dir           keep the temporary directory (keys, node stderr)
  -h, --help           print this text

exit codes: 0 fully connected and every message delivered within the budget;
1 not (or a node failed); 2 bad options; 3 the swarm could not be launched;
130/143 interrupted by SIGINT/SIGTERM.
)";
}

const char* to_string(connect_mode mode) {
  switch (mode) {
    case connect_mode::automatic: return "auto";
    case connect_mode::direct: return "direct";
    case connect_mode::discovery: return "discovery";
  }
  return "?";
}

} // namespace crust_swarm

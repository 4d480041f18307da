#pragma once

#include <caf/timespan.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// crust-node's commands: one per line on stdin or per positional argument
/// (docs/crust-node.md). Parsing is pure; executing is the console's job.
namespace crust_node {

enum class command_kind {
  listen,
  stop_listen,
  connect,
  connect_info,
  info,
  send,
  send_file,
  peers,
  disconnect,
  ban,
  unban,
  bans,
  stats,
  bootstrap,
  learned,
  connect_learned,
  echo,
  help,
  quit,
};

/// The verb as typed, e.g. "send-file".
std::string_view to_string(command_kind x) noexcept;

/// Priority of `send` and `send-file` without `-p`: never dropped (the drop
/// rule spares 0 and 1).
constexpr uint8_t default_priority = 1;

/// One parsed command.
struct command {
  command_kind kind = command_kind::help;

  /// PEER (a peer id or a unique hex prefix of a connected one) for send,
  /// send-file, disconnect; PEER or IP address for ban and unban.
  std::string target;

  /// The rest: the contact of `connect`, the crustinfo: text of
  /// `connect-info`, the message of `send` (verbatim, spaces kept), the path
  /// of `send-file`.
  std::string argument;

  /// Priority of send and send-file (lower is more urgent).
  uint8_t priority = default_priority;

  /// How long a ban lasts; none means for the session.
  std::optional<caf::timespan> duration;
};

/// What one input line holds.
struct parsed_line {
  /// Blank or a comment (`#` first): nothing to do.
  bool empty = false;

  /// The command, unless the line is empty or wrong.
  std::optional<command> cmd;

  /// Why the line is wrong, e.g. "send: missing PEER (usage: send [-p N]
  /// PEER TEXT)".
  std::string error;
};

/// Parses one line (without its newline; a trailing carriage return and
/// surrounding spaces are ignored).
parsed_line parse_line(std::string_view line);

/// Parses a duration such as 500ms, 30s, 10min, 2h or 1d (a positive
/// integer and a unit).
std::optional<caf::timespan> parse_duration(std::string_view text);

/// True if `text` is 1 to 64 hex characters: a peer id or a prefix of one.
bool is_peer_prefix(std::string_view text) noexcept;

/// One line per command with its arguments, for `help`.
const std::vector<std::string>& command_usage();

} // namespace crust_node

#pragma once

#include "crust/messages/interfaces.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/nat/port_mapper.hpp"
#include "crust/transport/codec/connection_info.hpp"

#include "command.hpp"
#include "event_format.hpp"
#include "stop_waiter.hpp"

#include <caf/actor_system.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace crust_node {

/// The CONSOLE: crust-node's actor between the SERVICE and the terminal. A
/// SUBSCRIBER that prints every event, and the executor of commands: one at
/// a time, each after the previous one completed, so the commands of a
/// script take effect in order. App-local, so not in messages/interfaces.hpp.
using console_actor = crust::service_subscriber_actor::extend<
  // One line of stdin.
  caf::reacts_to<std::string>,
  // stdin ended: quit once every queued command has run.
  caf::reacts_to<crust::atom::close>,
  // INTERNAL: check again whether the send queues are empty (at quit).
  caf::reacts_to<crust::atom::tick>>;

/// How the CONSOLE runs.
struct console_config {
  crust::service_actor service;

  output_mode mode = output_mode::human;

  /// Where received files go; empty means print their size and hash only.
  std::string recv_dir;

  /// Longest wait for the SERVICE's answer to one request.
  caf::timespan command_timeout = std::chrono::seconds{30};

  /// Longest wait at `quit` for the send queues to empty.
  caf::timespan flush_timeout = std::chrono::seconds{5};

  /// crust.max-message-size: the largest file `send-file` can send.
  size_t max_message_size = 0;

  /// Start listening before anything else; failing to is fatal.
  bool listen_first = true;

  /// Commands from the command line, run first.
  std::vector<std::string> commands;

  /// Maps each port we listen on through the gateway (--crust.nat.upnp);
  /// none: no mapping.
  crust::port_mapper_actor port_mapper;

  /// Ends the node (wakes the main thread). Thread-safe.
  std::function<void(stop_reason)> stop;
};

/// Where a command came from: its failure counts differently.
enum class command_origin {
  /// Typed on stdin: a failure is printed, nothing more.
  input,
  /// Given on the command line: a failure makes the exit code 1.
  argument,
  /// The implicit first `listen`: a failure stops the node.
  startup,
};

struct queued_command {
  std::string line;
  command_origin origin = command_origin::input;
};

/// State of the CONSOLE.
struct console_state {
  static inline const char* name = "console";

  console_actor::stateful_pointer<console_state> self = nullptr;

  console_config cfg;

  /// Turns events into lines.
  std::optional<event_format> format;

  /// Commands waiting for the running one.
  std::deque<queued_command> queue;

  /// The running command, if any.
  std::optional<queued_command> current;
  std::optional<command_kind> current_kind;

  /// `quit` ran: further input is ignored.
  bool stopping = false;

  /// A command from the command line failed.
  bool argument_failed = false;

  /// The port last printed as `listening tcp N` (0: none), so that people
  /// see it once whether the event or the reply comes first.
  uint16_t announced_port = 0;

  /// The port last given to the PORT MAPPER.
  uint16_t mapped_port = 0;

  /// Tokens of our `prepare` requests (their events repeat the reply).
  uint32_t next_token = 1;
  std::set<uint32_t> own_tokens;

  /// How we found the peers we dialled ("contact", "lan", "cache",
  /// "gossip", "manual"), for the `found` of connect_success.
  std::map<crust::peer_id, std::string> found_by;

  /// True while a `bootstrap` runs: its dials are found by "bootstrap".
  bool bootstrapping = false;

  /// Our connection info from the last `info`, used by `connect-info` so
  /// that it matches what the peer was given.
  std::optional<crust::private_connection_info> prepared;

  /// The BLACKLIST, once asked for.
  crust::blacklist_actor blacklist;

  /// When the running `quit` stops waiting for the send queues.
  caf::timestamp flush_deadline;

  // -- output ---------------------------------------------------------------

  /// Writes `text` and a newline to stdout at once.
  void print(const std::string& text);

  // -- the command queue ----------------------------------------------------

  void enqueue(queued_command cmd);

  /// Starts the next queued command unless one runs.
  void run_next();

  /// The running command succeeded and printed `text`.
  void succeed(const std::string& text);

  /// The running command failed.
  void fail(const caf::error& err);
  void fail(const error_text& err);

  // -- commands -------------------------------------------------------------

  void execute(const command& cmd);

  /// Calls `then` with the peer `prefix` names: a full id as is, a prefix
  /// if exactly one connected peer starts with it. Fails the command
  /// otherwise.
  void with_peer(const std::string& prefix,
                 std::function<void(const crust::peer_id&)> then);

  /// Calls `then` with the BLACKLIST.
  void with_blacklist(std::function<void(crust::blacklist_actor)> then);

  void do_listen();
  void do_connect_info(const std::string& text);
  void do_info();
  void do_send(const command& cmd);
  void do_send_file(const command& cmd);
  void do_ban(const command& cmd);
  void do_unban(const command& cmd);

  /// `quit`: waits (bounded) until no connection has anything queued.
  void flush_then_stop();

  // -- events ---------------------------------------------------------------

  /// A message arrived: a file (saved if there is a receive directory) or
  /// anything else.
  void on_message(const crust::new_message& x);
};

/// Spawn function of the CONSOLE.
console_actor::behavior_type
console(console_actor::stateful_pointer<console_state> self,
        console_config cfg);

/// Writes `content` to a new file in `dir` named after `name`
/// (`safe_file_name`, with ".1", ".2", ... added if taken; mode 0600, never
/// overwriting or following a link). Sets `path`; returns why it failed
/// (empty on success).
std::string save_received_file(const std::string& dir, const std::string& name,
                               crust::const_byte_span content,
                               std::string& path);

/// Sets `size` to the size of the regular file at `path` and, if it has at
/// most `max_size` bytes, reads it into `out`. Returns why it failed (empty
/// on success; a larger file is no failure here).
std::string read_file(const std::string& path, size_t max_size,
                      std::vector<uint8_t>& out, uint64_t& size);

} // namespace crust_node

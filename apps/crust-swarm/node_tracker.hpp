#pragma once

#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace crust_swarm {

/// How a connected peer was found, as the report names it.
namespace found_by {
constexpr const char* beacon = "beacon";
constexpr const char* contact = "contact";
constexpr const char* cache = "cache";
constexpr const char* gossip = "gossip";
constexpr const char* inbound = "inbound";
/// Dialled by a plain `connect` the launcher sent (direct mode).
constexpr const char* manual = "manual";
/// Every kind, in the order the view and the report list them.
const std::vector<std::string>& all();
} // namespace found_by

/// The crust-node commands the launcher sends.
enum class command_kind {
  /// The `listen` crust-node runs at startup (its result comes first).
  listen,
  help,
  connect,
  bootstrap,
  learned,
  connect_learned,
  disconnect,
  send,
  quit,
};

/// A command sent and not answered yet; `target` is the node index a
/// `connect` or `send` is for.
struct pending_command {
  command_kind kind;
  int target = -1;
  /// The peer a `disconnect` closes (crust-node reports no lost_peer for
  /// connections we close).
  std::string peer = {};
  /// How a `connect` finds its peer if not "manual" (a reconnection to the
  /// hard-coded contact).
  std::string found = {};
};

/// The `ok` or `error` event answering a command.
struct command_result {
  pending_command command;
  bool ok = false;
  nlohmann::json event;
};

/// What one crust-node has told us through its JSON events
/// (docs/crust-node.md): its identity and port, its connected peers and how
/// each was found, peers learned by gossip, messages sent and received.
/// crust-node answers commands in order, one `ok` or `error` each, so the
/// n-th result belongs to the n-th command.
class node_tracker {
public:
  node_tracker();

  /// Records that `cmd` was written to the node's stdin.
  void command_sent(pending_command cmd);

  /// Takes one event; the result it carries if it answers a command.
  std::optional<command_result> on_event(const nlohmann::json& event);

  /// Takes one output line; lines that are not JSON objects are counted.
  std::optional<command_result> on_line(const std::string& line);

  const std::string& peer_id() const {
    return peer_id_;
  }

  /// 0 until the listener started.
  int port() const {
    return port_;
  }

  bool started() const {
    return !peer_id_.empty() && port_ != 0;
  }

  /// Connected peers (full ids) and how each was found.
  const std::map<std::string, std::string>& connected() const {
    return connected_;
  }

  /// Connected peers counted by how they were found (every kind present).
  std::map<std::string, int> found_counts() const;

  /// Peers crust-node learned by gossip and has not connected to, from its
  /// latest `learned` answer.
  const std::set<std::string>& learned() const {
    return learned_;
  }

  bool bootstrapped() const {
    return bootstrapped_;
  }

  /// Command verbs from the answer to `help`; empty before it.
  const std::vector<std::string>& command_verbs() const {
    return command_verbs_;
  }

  bool answered_help() const {
    return answered_help_;
  }

  int messages_sent() const {
    return messages_sent_;
  }

  int messages_received() const {
    return messages_received_;
  }

  int send_errors() const {
    return send_errors_;
  }

  int bad_lines() const {
    return bad_lines_;
  }

  int lost_peers() const {
    return lost_peers_;
  }

  /// Commands not answered yet.
  size_t unanswered() const {
    return pending_.size();
  }

  bool has_pending(command_kind kind) const;

  /// The most recent error crust-node reported, as its sentence.
  const std::string& last_error() const {
    return last_error_;
  }

private:
  /// How a connection we did not learn the origin of was found: inbound if
  /// the peer dialled, else by the command running when it came up.
  std::string derive_found(const nlohmann::json& event) const;

  void on_connected(const nlohmann::json& event);
  void on_learned(const nlohmann::json& peers);
  void on_bootstrap_result(const nlohmann::json& event);
  void resolve_bootstrap_source(const std::string& peer,
                                const std::string& source);
  std::optional<command_result> on_result(const nlohmann::json& event, bool ok);

  std::string peer_id_;
  int port_ = 0;
  std::deque<pending_command> pending_;
  std::map<std::string, std::string> connected_;
  std::set<std::string> learned_;
  /// Peers connected by a bootstrap whose candidate kind is not known yet.
  std::set<std::string> source_unknown_;
  bool bootstrapped_ = false;
  bool answered_help_ = false;
  std::vector<std::string> command_verbs_;
  int messages_sent_ = 0;
  int messages_received_ = 0;
  int send_errors_ = 0;
  int bad_lines_ = 0;
  int lost_peers_ = 0;
  std::string last_error_;
};

/// The text of the `k`-th message from node `from` to node `to`; received
/// messages starting with `message_prefix` are the swarm's.
std::string swarm_message_text(int from, int to, int k);
extern const std::string message_prefix;

} // namespace crust_swarm
